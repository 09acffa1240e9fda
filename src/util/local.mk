# util/: logging, locks and small helpers; depends on nothing but glib.
noinst_LIBRARIES += src/util/libchorus-util.a
src_util_libchorus_util_a_SOURCES = src/util/log.c src/util/log.h src/util/mutex.h \
	src/util/ctxmux.c src/util/ctxmux.h
src_util_libchorus_util_a_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -fPIC
