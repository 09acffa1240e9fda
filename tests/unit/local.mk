# tests/unit/: GLib GTest programs for the core (media and transport tests are in their
# folders' fragments). Run by `make check`.
TEST_CORE_LDADD = $(CHORUS_CORE_LIBS)
TEST_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS)

check_PROGRAMS += tests/unit/test_config tests/unit/test_api tests/unit/test_plugin_loader
TESTS += tests/unit/test_config tests/unit/test_api tests/unit/test_plugin_loader

tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_config_LDADD = $(TEST_CORE_LDADD)

# The API test links a fake connection in place of the transport.
tests_unit_test_api_SOURCES = tests/unit/test_api.c tests/unit/fake_conn.c tests/unit/fake_conn.h
tests_unit_test_api_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_api_LDADD = $(TEST_CORE_LDADD)

tests_unit_test_plugin_loader_SOURCES = tests/unit/test_plugin_loader.c tests/unit/fake_conn.c
tests_unit_test_plugin_loader_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_plugin_loader_LDADD = $(TEST_CORE_LDADD)

# Plugins for the loader test: one good, two with broken descriptors.
TEST_PLUGIN_LDFLAGS = -module -avoid-version -shared -rpath /nowhere $(AM_LDFLAGS)
check_LTLIBRARIES += tests/unit/plugin_good.la tests/unit/plugin_bad_abi.la \
	tests/unit/plugin_bad_size.la
tests_unit_plugin_good_la_SOURCES = tests/unit/bad_plugin.c
tests_unit_plugin_good_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_unit_plugin_bad_abi_la_SOURCES = tests/unit/bad_plugin.c
tests_unit_plugin_bad_abi_la_CFLAGS = $(AM_CFLAGS) -DBAD_ABI
tests_unit_plugin_bad_abi_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_unit_plugin_bad_size_la_SOURCES = tests/unit/bad_plugin.c
tests_unit_plugin_bad_size_la_CFLAGS = $(AM_CFLAGS) -DBAD_SIZE
tests_unit_plugin_bad_size_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)

# Token authentication (HS256 JWTs): pure functions of src/signal/auth.c.
check_PROGRAMS += tests/unit/test_auth
TESTS += tests/unit/test_auth
tests_unit_test_auth_SOURCES = tests/unit/test_auth.c
tests_unit_test_auth_CFLAGS = $(TEST_CFLAGS) $(SSL_CFLAGS)
tests_unit_test_auth_LDADD = $(TEST_CORE_LDADD)

# Media workers: jobs and batched ticks (src/core/worker.c).
check_PROGRAMS += tests/unit/test_worker
TESTS += tests/unit/test_worker
tests_unit_test_worker_SOURCES = tests/unit/test_worker.c
tests_unit_test_worker_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_worker_LDADD = $(TEST_CORE_LDADD)

# Child main contexts driven through epoll (src/util/ctxmux.c).
check_PROGRAMS += tests/unit/test_ctxmux
TESTS += tests/unit/test_ctxmux
tests_unit_test_ctxmux_SOURCES = tests/unit/test_ctxmux.c
tests_unit_test_ctxmux_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_ctxmux_LDADD = $(TEST_CORE_LDADD)
