# media/sdp: SDP parser and generator (owned by the SDP work)
src_media_libchorus_media_a_SOURCES += src/media/sdp.h src/media/sdp_private.h \
	src/media/sdp.c src/media/sdp_parse.c src/media/sdp_write.c src/media/sdp_candidate.c \
	src/media/sdp_answer.h src/media/sdp_answer.c

check_PROGRAMS += tests/unit/test_sdp
TESTS += tests/unit/test_sdp
tests_unit_test_sdp_SOURCES = tests/unit/test_sdp.c
tests_unit_test_sdp_LDADD = src/media/libchorus-media.a src/util/libchorus-util.a $(JANSSON_LIBS) $(GLIB_LIBS)

EXTRA_DIST += tests/fuzz/corpus/sdp
tests_unit_test_sdp_CPPFLAGS = $(AM_CPPFLAGS) -DSDP_CORPUS_DIR=\"$(abs_top_srcdir)/tests/fuzz/corpus/sdp\"
