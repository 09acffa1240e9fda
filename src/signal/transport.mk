# signal/transport: libwebsockets server and static HTTP (owned by the transport work)
src_core_libchorus_core_a_SOURCES += \
	src/signal/transport.c src/signal/transport.h src/signal/transport_priv.h \
	src/signal/transport_ws.c src/signal/transport_http.c \
	src/signal/http_static.c src/signal/http_static.h

check_PROGRAMS += tests/unit/test_http_static tests/unit/test_transport
TESTS += tests/unit/test_http_static tests/unit/test_transport

tests_unit_test_http_static_SOURCES = tests/unit/test_http_static.c
tests_unit_test_http_static_LDADD = $(CHORUS_CORE_LIBS)

tests_unit_test_transport_SOURCES = tests/unit/test_transport.c
tests_unit_test_transport_LDADD = $(CHORUS_CORE_LIBS)
