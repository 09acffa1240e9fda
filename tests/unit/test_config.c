/* Config parsing: defaults, good and bad files, --set overrides, the shipped file. */
#include <glib.h>
#include <string.h>

#include "core/config.h"

static void test_defaults(void)
{
    ChorusConfig *cfg = chorus_config_new_defaults();
    g_assert_cmpint(cfg->ws_port, ==, 8188);
    g_assert_cmpint(cfg->admin_port, ==, 7188);
    g_assert_cmpint(cfg->http_port, ==, 8088);
    g_assert_cmpint(cfg->session_timeout, ==, 60);
    g_assert_cmpstr(cfg->admin_interface, ==, "127.0.0.1");
    g_assert_cmpint(cfg->log_level, ==, 3);
    g_assert_false(cfg->log_json);
    g_assert_nonnull(cfg->disable);
    g_assert_null(cfg->disable[0]);
    chorus_config_free(cfg);
}

static void test_good_file(void)
{
    ChorusConfig *cfg = chorus_config_new_defaults();
    GError *error = NULL;
    const char *ini = "[general]\nlog_level = debug\nsession_timeout=5\nlog_json=yes\n"
                      "disable = a.so; chorus.plugin.x ,\napi_secret = s3cret\n"
                      "[transport]\nws_port = 9000\nmax_message_size=2048\n";
    g_assert_true(chorus_config_load_data(cfg, ini, "good.conf", &error));
    g_assert_no_error(error);
    g_assert_cmpint(cfg->log_level, ==, 5);
    g_assert_cmpint(cfg->session_timeout, ==, 5);
    g_assert_true(cfg->log_json);
    g_assert_cmpint(cfg->ws_port, ==, 9000);
    g_assert_cmpint(cfg->max_message_size, ==, 2048);
    g_assert_cmpstr(cfg->api_secret, ==, "s3cret");
    g_assert_cmpuint(g_strv_length(cfg->disable), ==, 2);
    g_assert_cmpstr(cfg->disable[0], ==, "a.so");
    g_assert_cmpstr(cfg->disable[1], ==, "chorus.plugin.x");
    g_assert_cmpint(cfg->http_port, ==, 8088); /* untouched keep defaults */
    chorus_config_free(cfg);
}

typedef struct {
    const char *ini;
    const char *expect; /* substring of the error message */
} BadCase;

static void test_bad_files(void)
{
    static const BadCase cases[] = {
        {"[general]\nsession_timeout = soon\n", "bad.conf: [general] session_timeout: 'soon'"},
        {"[general]\nsession_timeout = -1\n", "out of range"},
        {"[transport]\nws_port = 70000\n", "[transport] ws_port: 70000 is out of range"},
        {"[general]\nlog_json = maybe\n", "not a boolean"},
        {"[general]\nlog_level = loud\n", "not a log level"},
        {"[general]\nsesion_timeout = 5\n", "[general] sesion_timeout: unknown option"},
        {"[genral]\nx = 1\n", "[genral]: unknown section"},
        {"this is not ini\n", "bad.conf:"},
        {"[transport]\nmax_message_size = 12\n", "out of range"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        ChorusConfig *cfg = chorus_config_new_defaults();
        GError *error = NULL;
        g_assert_false(chorus_config_load_data(cfg, cases[i].ini, "bad.conf", &error));
        g_assert_nonnull(error);
        if (strstr(error->message, cases[i].expect) == NULL)
            g_error("case %u: '%s' lacks '%s'", i, error->message, cases[i].expect);
        g_error_free(error);
        chorus_config_free(cfg);
    }
}

static void test_missing_file(void)
{
    ChorusConfig *cfg = chorus_config_new_defaults();
    GError *error = NULL;
    g_assert_false(chorus_config_load_file(cfg, "/nonexistent/chorus.conf", &error));
    g_assert_nonnull(strstr(error->message, "/nonexistent/chorus.conf"));
    g_error_free(error);
    chorus_config_free(cfg);
}

static void test_set(void)
{
    ChorusConfig *cfg = chorus_config_new_defaults();
    GError *error = NULL;
    g_assert_true(chorus_config_set(cfg, "general.session_timeout=3", &error));
    g_assert_cmpint(cfg->session_timeout, ==, 3);
    g_assert_true(chorus_config_set(cfg, "general.admin_secret=a=b", &error));
    g_assert_cmpstr(cfg->admin_secret, ==, "a=b");
    g_assert_false(chorus_config_set(cfg, "general.nope=1", &error));
    g_assert_nonnull(strstr(error->message, "unknown option"));
    g_clear_error(&error);
    g_assert_false(chorus_config_set(cfg, "session_timeout=1", &error));
    g_assert_nonnull(strstr(error->message, "section.key=value"));
    g_clear_error(&error);
    g_assert_false(chorus_config_set(cfg, "transport.ws_port=x", &error));
    g_clear_error(&error);
    chorus_config_free(cfg);
}

/* The shipped conf/chorus.conf parses (commented defaults), and documents every option;
 * uncommenting every option gives the built-in defaults back. */
static void test_shipped_file(void)
{
    g_autofree char *path = g_test_build_filename(G_TEST_DIST, "conf", "chorus.conf", NULL);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    ChorusConfig *cfg = chorus_config_new_defaults();
    GError *error = NULL;
    g_assert_true(chorus_config_load_file(cfg, path, &error));
    g_assert_no_error(error);
    chorus_config_free(cfg);

    GRegex *re = g_regex_new("^#([a-z0-9_]+ =.*)$", G_REGEX_MULTILINE, 0, NULL);
    g_autofree char *uncommented = g_regex_replace(re, text, -1, 0, "\\1", 0, NULL);
    g_regex_unref(re);
    for (guint i = 0; chorus_config_option(i) != NULL; i++) {
        const ChorusConfigOptionInfo *o = chorus_config_option(i);
        g_autofree char *needle = g_strdup_printf("\n%s =", o->key);
        if (strstr(uncommented, needle) == NULL)
            g_error("conf/chorus.conf does not document [%s] %s", o->section, o->key);
    }
    cfg = chorus_config_new_defaults();
    g_assert_true(chorus_config_load_data(cfg, uncommented, "uncommented", &error));
    g_assert_no_error(error);
    ChorusConfig *def = chorus_config_new_defaults();
    g_assert_cmpint(cfg->ws_port, ==, def->ws_port);
    g_assert_cmpint(cfg->session_timeout, ==, def->session_timeout);
    g_assert_cmpint(cfg->max_message_size, ==, def->max_message_size);
    g_assert_cmpstr(cfg->server_name, ==, def->server_name);
    chorus_config_free(def);
    chorus_config_free(cfg);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/config/defaults", test_defaults);
    g_test_add_func("/config/good-file", test_good_file);
    g_test_add_func("/config/bad-files", test_bad_files);
    g_test_add_func("/config/missing-file", test_missing_file);
    g_test_add_func("/config/set", test_set);
    g_test_add_func("/config/shipped-file", test_shipped_file);
    return g_test_run();
}
