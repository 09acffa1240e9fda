# core/ and signal/: the server proper, as a library the unit tests link too.
noinst_LIBRARIES += src/core/libchorus-core.a
src_core_libchorus_core_a_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -fPIC $(CHORUS_PATH_DEFS) \
	$(LWS_CFLAGS) $(NICE_CFLAGS) $(SSL_CFLAGS) $(SRTP_CFLAGS)
src_core_libchorus_core_a_SOURCES = \
	src/chorus/plugin.h \
	src/core/config.c src/core/config.h \
	src/core/worker.c src/core/worker.h \
	src/core/session.c src/core/session.h \
	src/core/janus_proto.c src/core/janus_proto.h \
	src/core/plugin_loader.c src/core/plugin_loader.h \
	src/core/plugin_host.c src/core/plugin_host.h \
	src/core/peer.c src/core/peer.h src/core/peer_priv.h src/core/peer_rtp.c \
	src/core/placement.c src/core/placement.h

# Everything a binary linking the core needs, in link order.
CHORUS_CORE_LIBS = src/core/libchorus-core.a src/net/libchorus-net.a src/media/libchorus-media.a src/util/libchorus-util.a \
	$(LWS_LIBS) $(NICE_LIBS) $(SRTP_LIBS) $(SSL_LIBS) $(SCTP_LIBS) $(JANSSON_LIBS) $(GLIB_LIBS) -ldl -lm

# The server binary sits at the top of the build tree (src/chorus/ holds the plugin ABI).
bin_PROGRAMS += chorus
chorus_SOURCES = src/core/main.c
chorus_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(CHORUS_PATH_DEFS)
chorus_LDADD = $(CHORUS_CORE_LIBS)
