# net/ice: ICE on libnice (owned by the ice work)
src_net_libchorus_net_a_SOURCES += src/net/ice.c src/net/ice.h src/net/ice_priv.h \
	src/net/ice_direct.c src/net/gsource.c src/net/gsource.h src/net/udp_batch.c \
	src/net/udp_batch.h

check_PROGRAMS += tests/unit/test_ice
TESTS += tests/unit/test_ice
tests_unit_test_ice_SOURCES = tests/unit/test_ice.c
tests_unit_test_ice_CFLAGS = $(AM_CFLAGS) $(NICE_CFLAGS)
tests_unit_test_ice_LDADD = src/net/libchorus-net.a src/media/libchorus-media.a \
	src/util/libchorus-util.a $(NICE_LIBS) $(SSL_LIBS) $(SRTP_LIBS) $(GLIB_LIBS)

# Batched UDP sends through io_uring (src/net/udp_batch.c).
check_PROGRAMS += tests/unit/test_udp_batch
TESTS += tests/unit/test_udp_batch
tests_unit_test_udp_batch_SOURCES = tests/unit/test_udp_batch.c
tests_unit_test_udp_batch_CFLAGS = $(AM_CFLAGS)
tests_unit_test_udp_batch_LDADD = src/net/libchorus-net.a src/util/libchorus-util.a $(GLIB_LIBS)
