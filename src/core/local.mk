# core/ and signal/: the server proper, as a library the unit tests link too.
noinst_LIBRARIES += src/core/libchorus-core.a
src_core_libchorus_core_a_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -fPIC $(CHORUS_PATH_DEFS) \
	$(LWS_CFLAGS) $(NICE_CFLAGS) $(SSL_CFLAGS) $(SRTP_CFLAGS)
src_core_libchorus_core_a_SOURCES = \
	src/chorus/plugin.h \
	src/core/config.c src/core/config.h

# Everything a binary linking the core needs, in link order.
CHORUS_CORE_LIBS = src/core/libchorus-core.a src/media/libchorus-media.a src/util/libchorus-util.a \
	$(LWS_LIBS) $(NICE_LIBS) $(SRTP_LIBS) $(SSL_LIBS) $(SCTP_LIBS) $(JANSSON_LIBS) $(GLIB_LIBS) -ldl -lm

bin_PROGRAMS += src/chorus
src_chorus_SOURCES = src/core/main.c
src_chorus_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(CHORUS_PATH_DEFS)
src_chorus_LDADD = $(CHORUS_CORE_LIBS)
