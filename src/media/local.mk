# media/: pure packet code (no event loop, no glib main context): each part is fuzzable.
# Sources are appended by the fragments below (sdp.mk, rtp.mk, ...).
noinst_LIBRARIES += src/media/libchorus-media.a
src_media_libchorus_media_a_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -fPIC
src_media_libchorus_media_a_SOURCES = src/media/media_version.c
