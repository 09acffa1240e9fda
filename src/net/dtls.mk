# net/dtls: DTLS-SRTP (OpenSSL) and SRTP (AEAD_AES_128_GCM on OpenSSL, AES-CM on
# libsrtp2), owned by the dtls work
src_net_libchorus_net_a_SOURCES += \
	src/net/dtls.c src/net/dtls_cert.c src/net/dtls.h \
	src/net/srtp.c src/net/srtp.h src/net/srtp_gcm.c src/net/srtp_gcm.h

DTLS_TEST_CFLAGS = $(AM_CFLAGS) $(SSL_CFLAGS) $(SRTP_CFLAGS)
DTLS_TEST_LDADD = src/net/libchorus-net.a src/media/libchorus-media.a \
	src/util/libchorus-util.a $(SRTP_LIBS) $(SSL_LIBS) $(NICE_LIBS) $(GLIB_LIBS)
check_PROGRAMS += tests/unit/test_dtls tests/unit/test_srtp
TESTS += tests/unit/test_dtls tests/unit/test_srtp
tests_unit_test_dtls_SOURCES = tests/unit/test_dtls.c
tests_unit_test_dtls_CFLAGS = $(DTLS_TEST_CFLAGS)
tests_unit_test_dtls_LDADD = $(DTLS_TEST_LDADD)
tests_unit_test_srtp_SOURCES = tests/unit/test_srtp.c
tests_unit_test_srtp_CFLAGS = $(DTLS_TEST_CFLAGS)
tests_unit_test_srtp_LDADD = $(DTLS_TEST_LDADD)
