/* The plugin loader refuses wrong ABIs, sizes, duplicates and disabled packages. */
#include <glib.h>
#include <string.h>

#include "core/plugin_host.h"
#include "core/plugin_loader.h"

static char *lib(const char *name)
{
    g_autofree char *file = g_strconcat(name, ".so", NULL);
    return g_test_build_filename(G_TEST_BUILT, "tests", "unit", ".libs", file, NULL);
}

static void expect_refusal(const char *name, int code, const char *why)
{
    g_autofree char *path = lib(name);
    GError *error = NULL;
    g_assert_null(chorus_plugin_load(path, chorus_host_table(), ".", NULL, &error));
    g_assert_error(error, CHORUS_PLUGIN_ERROR, code);
    if (strstr(error->message, why) == NULL)
        g_error("'%s' lacks '%s'", error->message, why);
    g_error_free(error);
}

static void test_wrong_abi(void)
{
    expect_refusal("plugin_bad_abi", 3, "ABI version 2, this server speaks 1");
    g_assert_null(chorus_plugins_find("chorus.plugin.testgood"));
}

static void test_wrong_size(void)
{
    expect_refusal("plugin_bad_size", 3, "descriptor size");
}

static void test_not_a_plugin(void)
{
    GError *error = NULL;
    g_assert_null(chorus_plugin_load("/nonexistent.so", chorus_host_table(), ".", NULL, &error));
    g_assert_error(error, CHORUS_PLUGIN_ERROR, 1);
    g_error_free(error);
}

static void test_disabled_then_good_then_duplicate(void)
{
    g_autofree char *path = lib("plugin_good");
    char *disable[] = {"chorus.plugin.testgood", NULL};
    GError *error = NULL;
    g_assert_null(chorus_plugin_load(path, chorus_host_table(), ".", disable, &error));
    g_assert_error(error, CHORUS_PLUGIN_ERROR, CHORUS_PLUGIN_DISABLED);
    g_clear_error(&error);

    ChorusPluginEntry *e = chorus_plugin_load(path, chorus_host_table(), ".", NULL, &error);
    g_assert_no_error(error);
    g_assert_nonnull(e);
    g_assert_true(chorus_plugins_find("chorus.plugin.testgood") == e);
    g_assert_cmpuint(chorus_plugins_all()->len, ==, 1);

    expect_refusal("plugin_good", 5, "already loaded");
    g_assert_cmpuint(chorus_plugins_all()->len, ==, 1);
}

static void test_folder(void)
{
    chorus_plugins_unload_all();
    g_autofree char *folder = g_test_build_filename(G_TEST_BUILT, "tests", "unit", ".libs", NULL);
    /* Only the good one of the three loads; the broken ones are refused, not fatal. */
    guint n = chorus_plugins_load_folder(folder, chorus_host_table(), ".", NULL);
    g_assert_cmpuint(n, ==, 1);
    chorus_plugins_unload_all();
    char *disable[] = {"plugin_good.so", NULL};
    n = chorus_plugins_load_folder(folder, chorus_host_table(), ".", disable);
    g_assert_cmpuint(n, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/loader/wrong-abi", test_wrong_abi);
    g_test_add_func("/loader/wrong-size", test_wrong_size);
    g_test_add_func("/loader/not-a-plugin", test_not_a_plugin);
    g_test_add_func("/loader/disabled-good-duplicate", test_disabled_then_good_then_duplicate);
    g_test_add_func("/loader/folder", test_folder);
    int rc = g_test_run();
    chorus_plugins_unload_all();
    return rc;
}
