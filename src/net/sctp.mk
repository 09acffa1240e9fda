# net/sctp: SCTP over DTLS on usrsctp + DCEP data channels (owned by the sctp work)
src_net_libchorus_net_a_SOURCES += src/net/sctp.c src/net/sctp.h
src_media_libchorus_media_a_SOURCES += src/media/dcep.c src/media/dcep.h

check_PROGRAMS += tests/unit/test_dcep tests/unit/test_sctp
TESTS += tests/unit/test_dcep tests/unit/test_sctp
tests_unit_test_dcep_SOURCES = tests/unit/test_dcep.c
tests_unit_test_dcep_LDADD = src/media/libchorus-media.a src/util/libchorus-util.a $(GLIB_LIBS)
tests_unit_test_dcep_CPPFLAGS = $(AM_CPPFLAGS) -DDCEP_CORPUS_DIR=\"$(abs_top_srcdir)/tests/fuzz/corpus/dcep\"
tests_unit_test_sctp_SOURCES = tests/unit/test_sctp.c
tests_unit_test_sctp_LDADD = src/net/libchorus-net.a src/media/libchorus-media.a \
	src/util/libchorus-util.a $(SCTP_LIBS) $(SSL_LIBS) $(SRTP_LIBS) $(NICE_LIBS) $(GLIB_LIBS)
EXTRA_DIST += tests/fuzz/corpus/dcep
