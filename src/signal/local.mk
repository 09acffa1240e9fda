# signal/: the Janus API v1 and admin API dispatch (the transport has its own fragment).
src_core_libchorus_core_a_SOURCES += \
	src/signal/api.c src/signal/api.h \
	src/signal/admin.c \
	src/signal/auth.c src/signal/auth.h \
	src/signal/transport.h
