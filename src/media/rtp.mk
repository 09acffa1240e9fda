# media/rtp: RTP, header extensions, RTCP (owned by the RTP work)
src_media_libchorus_media_a_SOURCES += \
	src/media/rtp.c src/media/rtp.h \
	src/media/rtp_ext.c src/media/rtp_ext.h \
	src/media/rtcp.c src/media/rtcp.h \
	src/media/demux.c src/media/demux.h \
	src/media/rtp_stats.c src/media/rtp_stats.h \
	src/media/rtp_rewrite.c src/media/rtp_rewrite.h

RTP_TEST_LDADD = src/media/libchorus-media.a src/util/libchorus-util.a $(GLIB_LIBS)
check_PROGRAMS += tests/unit/test_rtp tests/unit/test_rtcp tests/unit/test_rtp_rewrite
TESTS += tests/unit/test_rtp tests/unit/test_rtcp tests/unit/test_rtp_rewrite
tests_unit_test_rtp_SOURCES = tests/unit/test_rtp.c
tests_unit_test_rtp_LDADD = $(RTP_TEST_LDADD)
tests_unit_test_rtcp_SOURCES = tests/unit/test_rtcp.c
tests_unit_test_rtcp_LDADD = $(RTP_TEST_LDADD)
tests_unit_test_rtp_rewrite_SOURCES = tests/unit/test_rtp_rewrite.c
tests_unit_test_rtp_rewrite_LDADD = $(RTP_TEST_LDADD) -lm
EXTRA_DIST += tests/fuzz/corpus/rtp tests/fuzz/corpus/rtcp
