/* Unit tests: signal/http_static (path resolution under an html root, MIME types). */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signal/http_static.h"

typedef struct {
    char *dir;  /* temp dir: holds root/ and secret.txt next to it */
    char *root; /* the html root */
} Fixture;

static void write_file(const char *dir, const char *name, const char *text)
{
    char *path = g_build_filename(dir, name, NULL);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    g_free(path);
}

static void fixture_set_up(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("chorus-static-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->root = g_build_filename(f->dir, "root", NULL);
    g_assert_cmpint(g_mkdir(f->root, 0700), ==, 0);
    char *sub = g_build_filename(f->root, "sub", NULL);
    char *empty = g_build_filename(f->root, "empty", NULL);
    g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
    g_assert_cmpint(g_mkdir(empty, 0700), ==, 0);
    write_file(f->dir, "secret.txt", "secret");
    write_file(f->root, "index.html", "<html>root</html>");
    write_file(f->root, "app.js", "js");
    write_file(f->root, "a b.txt", "space");
    write_file(sub, "index.html", "<html>sub</html>");
    /* a symlink escaping the root, and one staying inside */
    char *out = g_build_filename(f->root, "out.txt", NULL);
    char *in = g_build_filename(f->root, "in.js", NULL);
    char *outdir = g_build_filename(f->root, "outdir", NULL);
    g_assert_cmpint(symlink("../secret.txt", out), ==, 0);
    g_assert_cmpint(symlink("app.js", in), ==, 0);
    g_assert_cmpint(symlink("..", outdir), ==, 0);
    g_free(out);
    g_free(in);
    g_free(outdir);
    g_free(sub);
    g_free(empty);
}

static void rm_rf(const char *path)
{
    GDir *d = g_file_test(path, G_FILE_TEST_IS_SYMLINK) ? NULL : g_dir_open(path, 0, NULL);
    if (d) {
        const char *name;
        while ((name = g_dir_read_name(d))) {
            char *child = g_build_filename(path, name, NULL);
            rm_rf(child);
            g_free(child);
        }
        g_dir_close(d);
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
    rm_rf(f->dir);
    g_free(f->root);
    g_free(f->dir);
}

/* Resolves a raw URI and returns the result; *rel gets the path relative to the root. */
static ChorusStaticResult resolve(Fixture *f, const char *uri, char **rel)
{
    char *path = NULL;
    ChorusStaticResult r = chorus_http_static_resolve_uri(f->root, uri, &path);
    *rel = NULL;
    if (r == CHORUS_STATIC_OK) {
        char *real_root = realpath(f->root, NULL);
        g_assert_true(g_str_has_prefix(path, real_root));
        *rel = g_strdup(path + strlen(real_root));
        free(real_root);
    } else {
        g_assert_null(path);
    }
    g_free(path);
    return r;
}

static void assert_serves(Fixture *f, const char *uri, const char *want_rel)
{
    char *rel;
    ChorusStaticResult r = resolve(f, uri, &rel);
    if (r != CHORUS_STATIC_OK)
        g_error("%s: expected %s, got result %d", uri, want_rel, r);
    g_assert_cmpstr(rel, ==, want_rel);
    g_free(rel);
}

static void assert_refused(Fixture *f, const char *uri)
{
    char *rel;
    ChorusStaticResult r = resolve(f, uri, &rel);
    if (r == CHORUS_STATIC_OK)
        g_error("%s: should be refused, resolved to %s", uri, rel);
}

static void test_traversal(Fixture *f, gconstpointer data)
{
    const char *attempts[] = {
        "/../secret.txt",
        "/../root/index.html",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/index.html%00.png",
        "/index.html%00",
        "//etc/passwd",
        "//secret.txt",
        "/sub//index.html",
        "/..\\secret.txt",
        "/%5c..%5csecret.txt",
        "/sub\\index.html",
        "etc/passwd",
        "",
        "/out.txt",
        "/outdir/secret.txt",
        "/outdir/",
        "/./index.html",
        "/%",
        "/%zz",
        "/%4",
        "/\x01index.html",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(attempts); i++)
        assert_refused(f, attempts[i]);
    /* The traversal ones are FORBIDDEN rather than NOT_FOUND. */
    char *path = NULL;
    g_assert_cmpint(chorus_http_static_resolve_uri(f->root, "/../secret.txt", &path), ==,
                    CHORUS_STATIC_FORBIDDEN);
    g_assert_cmpint(chorus_http_static_resolve_uri(f->root, "/%2e%2e/secret.txt", &path), ==,
                    CHORUS_STATIC_FORBIDDEN);
    g_assert_cmpint(chorus_http_static_resolve_uri(f->root, "/out.txt", &path), ==,
                    CHORUS_STATIC_FORBIDDEN);
    g_assert_cmpint(chorus_http_static_resolve_path(f->root, "/a\\b", &path), ==,
                    CHORUS_STATIC_FORBIDDEN);
    g_assert_null(path);
}

static void test_index_and_files(Fixture *f, gconstpointer data)
{
    assert_serves(f, "/", "/index.html");
    assert_serves(f, "/index.html", "/index.html");
    assert_serves(f, "/sub/", "/sub/index.html");
    assert_serves(f, "/sub", "/sub/index.html");
    assert_serves(f, "/app.js", "/app.js");
    assert_serves(f, "/a%20b.txt", "/a b.txt");
    assert_serves(f, "/in.js", "/app.js"); /* symlink inside the root is fine */

    char *path = NULL;
    g_assert_cmpint(chorus_http_static_resolve_uri(f->root, "/missing.html", &path), ==,
                    CHORUS_STATIC_NOT_FOUND);
    g_assert_cmpint(chorus_http_static_resolve_uri(f->root, "/empty/", &path), ==,
                    CHORUS_STATIC_NOT_FOUND);
    g_assert_cmpint(chorus_http_static_resolve_uri(f->root, "/app.js/x", &path), ==,
                    CHORUS_STATIC_NOT_FOUND);
    g_assert_cmpint(chorus_http_static_resolve_uri("/nonexistent-root-dir", "/", &path), ==,
                    CHORUS_STATIC_NOT_FOUND);
    g_assert_null(path);
    /* resolve_path takes an already-decoded path: "%20" is literal there */
    g_assert_cmpint(chorus_http_static_resolve_path(f->root, "/a%20b.txt", &path), ==,
                    CHORUS_STATIC_NOT_FOUND);
    g_assert_cmpint(chorus_http_static_resolve_path(f->root, "/a b.txt", &path), ==,
                    CHORUS_STATIC_OK);
    g_assert_true(g_str_has_suffix(path, "/a b.txt"));
    g_free(path);
}

static void test_query_strings(Fixture *f, gconstpointer data)
{
    assert_serves(f, "/?x=1", "/index.html");
    assert_serves(f, "/app.js?v=3&y=../../secret.txt", "/app.js");
    assert_serves(f, "/app.js#frag", "/app.js");
    assert_serves(f, "/sub/?a", "/sub/index.html");
    assert_refused(f, "/../secret.txt?x=1");
    char *rel;
    g_assert_cmpint(resolve(f, "/nothing?index.html", &rel), ==, CHORUS_STATIC_NOT_FOUND);
}

static void test_url_decode(void)
{
    char *s = chorus_http_url_decode("/a%20b%2Fc+d", 12);
    g_assert_cmpstr(s, ==, "/a b/c+d");
    g_free(s);
    s = chorus_http_url_decode("/abc%41", 7);
    g_assert_cmpstr(s, ==, "/abcA");
    g_free(s);
    g_assert_null(chorus_http_url_decode("/abc%41", 5)); /* length-limited: escape cut off */
    g_assert_null(chorus_http_url_decode("/x%00y", 6));
    g_assert_null(chorus_http_url_decode("/x%4", 4));
    g_assert_null(chorus_http_url_decode("/x%g1", 5));
    s = chorus_http_url_decode("", 0);
    g_assert_cmpstr(s, ==, "");
    g_free(s);
}

static void test_mime_types(void)
{
    static const struct {
        const char *name, *prefix;
    } cases[] = {
        {"index.html", "text/html"},
        {"/x/INDEX.HTM", "text/html"},
        {"app.js", "text/javascript"},
        {"mod.mjs", "text/javascript"},
        {"style.css", "text/css"},
        {"data.json", "application/json"},
        {"app.js.map", "application/json"},
        {"a.png", "image/png"},
        {"a.jpg", "image/jpeg"},
        {"a.JPEG", "image/jpeg"},
        {"a.svg", "image/svg+xml"},
        {"favicon.ico", "image/x-icon"},
        {"a.wav", "audio/wav"},
        {"a.ogg", "audio/ogg"},
        {"a.webm", "video/webm"},
        {"a.mp4", "video/mp4"},
        {"a.wasm", "application/wasm"},
        {"readme.txt", "text/plain"},
        {"archive.tar.gz", "application/octet-stream"},
        {"noext", "application/octet-stream"},
        {".html", "application/octet-stream"}, /* a dotfile, not an extension */
        {"/dir.js/file", "application/octet-stream"},
        {"trailing.", "application/octet-stream"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *type = chorus_http_static_mime_type(cases[i].name);
        if (!g_str_has_prefix(type, cases[i].prefix))
            g_error("%s: expected %s, got %s", cases[i].name, cases[i].prefix, type);
    }
    g_assert_cmpstr(chorus_http_static_mime_type("index.html"), ==, "text/html; charset=utf-8");
    g_assert_cmpstr(chorus_http_static_mime_type(NULL), ==, "application/octet-stream");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/http_static/traversal", Fixture, NULL, fixture_set_up, test_traversal,
               fixture_tear_down);
    g_test_add("/http_static/index-and-files", Fixture, NULL, fixture_set_up, test_index_and_files,
               fixture_tear_down);
    g_test_add("/http_static/query-strings", Fixture, NULL, fixture_set_up, test_query_strings,
               fixture_tear_down);
    g_test_add_func("/http_static/url-decode", test_url_decode);
    g_test_add_func("/http_static/mime-types", test_mime_types);
    return g_test_run();
}
