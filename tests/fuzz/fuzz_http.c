/* libFuzzer target: the static-file path handling of the HTTP transport (signal/http_static.h)
 * against a small html root that LLVMFuzzerInitialize makes in a temp dir (removed at a
 * normal exit; an input that crashes leaves it behind):
 *
 *   DIR/secret.txt, DIR/root2/index.html   outside the root (root2 shares its name's prefix)
 *   DIR/root/   index.html app.js "a b.txt" sub/index.html sub/style.css empty/
 *               in.js -> app.js (stays inside); out.txt -> ../secret.txt, outdir -> ..,
 *               prefix -> ../root2 (escape); loop -> loop
 *   DIR/alias -> root                      the same root under another name
 *
 * Input: a raw request target. The decoder gets every byte; the C-string functions see the
 * bytes up to the first NUL. Checks, beyond memory safety and leaks:
 *  - chorus_http_url_decode agrees with a reference decoder (NULL for a malformed escape,
 *    %00 or a NUL byte; otherwise every %XX decoded and nothing else changed);
 *  - resolve_uri is resolve_path of the decoded part before '?' / '#' (FORBIDDEN when that
 *    does not decode), and gives the same answer with the root named through DIR/alias;
 *  - resolve_path, of that decoded path and of the raw input:
 *    . a path that is not clean (not starting with '/', an empty, "." or ".." segment, a
 *      backslash or a control character) is FORBIDDEN: ".." is never served;
 *    . OK comes with a real path inside the real root (prefix and '/'), that realpath
 *      leaves alone and that is one of the five regular files of the root (never
 *      secret.txt nor root2/); any other result leaves *path_out NULL;
 *    . a path of the table below gets exactly its answer (file, NOT_FOUND or FORBIDDEN);
 *  - the MIME type is never NULL or empty and ignores ASCII case. */
#include <ftw.h>
#include <glib.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_check.h"
#include "signal/http_static.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The tree: a directory when text is NULL and link is NULL, a symlink when link is set. */
static const struct {
    const char *name, *text, *link;
} tree[] = {
    {"secret.txt", "secret", NULL},
    {"root2", NULL, NULL},
    {"root2/index.html", "<html>sibling</html>", NULL},
    {"root", NULL, NULL},
    {"alias", NULL, "root"},
    {"root/index.html", "<html>root</html>", NULL},
    {"root/app.js", "js", NULL},
    {"root/a b.txt", "space", NULL},
    {"root/sub", NULL, NULL},
    {"root/sub/index.html", "<html>sub</html>", NULL},
    {"root/sub/style.css", "css", NULL},
    {"root/empty", NULL, NULL},
    {"root/in.js", NULL, "app.js"},
    {"root/out.txt", NULL, "../secret.txt"},
    {"root/outdir", NULL, ".."},
    {"root/prefix", NULL, "../root2"},
    {"root/loop", NULL, "loop"},
};

/* The regular files that may be served, relative to the root. */
static const char *const servable[] = {"index.html", "app.js", "a b.txt", "sub/index.html",
                                       "sub/style.css"};

/* Decoded request paths with a known answer; file is relative to the root. */
static const struct {
    const char *path;
    ChorusStaticResult result;
    const char *file;
} expected[] = {
    {"/", CHORUS_STATIC_OK, "index.html"},
    {"/index.html", CHORUS_STATIC_OK, "index.html"},
    {"/app.js", CHORUS_STATIC_OK, "app.js"},
    {"/a b.txt", CHORUS_STATIC_OK, "a b.txt"},
    {"/in.js", CHORUS_STATIC_OK, "app.js"},
    {"/sub", CHORUS_STATIC_OK, "sub/index.html"},
    {"/sub/", CHORUS_STATIC_OK, "sub/index.html"},
    {"/sub/index.html", CHORUS_STATIC_OK, "sub/index.html"},
    {"/sub/style.css", CHORUS_STATIC_OK, "sub/style.css"},
    {"/outdir/root/app.js", CHORUS_STATIC_OK, "app.js"}, /* leaves and comes back: inside */
    {"/empty", CHORUS_STATIC_NOT_FOUND, NULL},
    {"/empty/", CHORUS_STATIC_NOT_FOUND, NULL},
    {"/missing.html", CHORUS_STATIC_NOT_FOUND, NULL},
    {"/app.js/x", CHORUS_STATIC_NOT_FOUND, NULL},
    {"/out.txt", CHORUS_STATIC_FORBIDDEN, NULL},
    {"/outdir/secret.txt", CHORUS_STATIC_FORBIDDEN, NULL},
    {"/outdir/root2/index.html", CHORUS_STATIC_FORBIDDEN, NULL},
    {"/prefix", CHORUS_STATIC_FORBIDDEN, NULL},
    {"/prefix/index.html", CHORUS_STATIC_FORBIDDEN, NULL},
    {"/loop", CHORUS_STATIC_FORBIDDEN, NULL},
};

static char *dir;                                   /* the temp dir */
static char *root, *alias;                          /* DIR/root, DIR/alias */
static char *real_root;                             /* realpath of the root */
static char *served[G_N_ELEMENTS(servable)];        /* realpath of each servable file */
static char *expected_file[G_N_ELEMENTS(expected)]; /* realpath of each expected file */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void remove_tree(void)
{
    if (dir != NULL)
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *real_file(const char *rel)
{
    char *path = g_build_filename(real_root, rel, NULL);
    char *real = realpath(path, NULL);
    CHECK(real != NULL && strcmp(real, path) == 0); /* the fixture has no link on the way */
    g_free(path);
    return real;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    dir = g_dir_make_tmp("chorus-fuzz-http-XXXXXX", NULL);
    CHECK(dir != NULL);
    atexit(remove_tree);
    for (size_t i = 0; i < G_N_ELEMENTS(tree); i++) {
        char *path = g_build_filename(dir, tree[i].name, NULL);
        if (tree[i].link != NULL)
            CHECK(symlink(tree[i].link, path) == 0);
        else if (tree[i].text != NULL)
            CHECK(g_file_set_contents(path, tree[i].text, -1, NULL));
        else
            CHECK(mkdir(path, 0700) == 0);
        g_free(path);
    }
    root = g_build_filename(dir, "root", NULL);
    alias = g_build_filename(dir, "alias", NULL);
    real_root = realpath(root, NULL);
    CHECK(real_root != NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(servable); i++)
        served[i] = real_file(servable[i]);
    for (size_t i = 0; i < G_N_ELEMENTS(expected); i++)
        expected_file[i] = expected[i].file ? real_file(expected[i].file) : NULL;

    /* What no input reaches. */
    char unset, *out = &unset;
    CHECK(chorus_http_static_resolve_path(root, NULL, &out) == CHORUS_STATIC_FORBIDDEN);
    CHECK(out == NULL);
    CHECK(chorus_http_static_resolve_uri(root, NULL, &out) == CHORUS_STATIC_FORBIDDEN);
    CHECK(chorus_http_static_resolve_path(NULL, "/", &out) == CHORUS_STATIC_FORBIDDEN);
    char *gone = g_build_filename(dir, "no-such-root", NULL);
    CHECK(chorus_http_static_resolve_path(gone, "/", &out) == CHORUS_STATIC_NOT_FOUND);
    CHECK(out == NULL);
    g_free(gone);
    CHECK(strcmp(chorus_http_static_mime_type(NULL), "application/octet-stream") == 0);
    return 0;
}

/* The reference decoder: a new string, or NULL where the input must be refused. */
static char *reference_decode(const uint8_t *in, size_t len)
{
    char *out = malloc(len + 1);
    size_t n = 0;
    CHECK(out != NULL);
    for (size_t i = 0; i < len; i++) {
        int value = in[i];
        if (value == '%') {
            int hi = len - i > 2 ? g_ascii_xdigit_value((char)in[i + 1]) : -1;
            int lo = len - i > 2 ? g_ascii_xdigit_value((char)in[i + 2]) : -1;
            value = hi < 0 || lo < 0 ? 0 : hi << 4 | lo;
            i += 2;
        }
        if (value == 0) {
            free(out);
            return NULL;
        }
        out[n++] = (char)value;
    }
    out[n] = '\0';
    return out;
}

/* A request path the resolver may consider at all (see http_static.h). */
static int is_clean(const char *path)
{
    if (path[0] != '/')
        return 0;
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if (*c == '\\' || *c < 0x20 || *c == 0x7f)
            return 0;
    }
    char **segments = g_strsplit(path + 1, "/", -1);
    guint count = g_strv_length(segments);
    int clean = 1;
    for (guint i = 0; i < count; i++) {
        const char *s = segments[i];
        if ((s[0] == '\0' && i + 1 < count) || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
            clean = 0;
    }
    g_strfreev(segments);
    return clean;
}

/* Checks one answer of resolve_path or resolve_uri for the decoded path (NULL: none). */
static void check_answer(const char *path, ChorusStaticResult r, const char *out)
{
    CHECK(r == CHORUS_STATIC_OK || r == CHORUS_STATIC_NOT_FOUND || r == CHORUS_STATIC_FORBIDDEN);
    CHECK((r == CHORUS_STATIC_OK) == (out != NULL));
    if (path == NULL || !is_clean(path))
        CHECK(r == CHORUS_STATIC_FORBIDDEN);
    if (out != NULL) {
        size_t n = strlen(real_root);
        CHECK(strncmp(out, real_root, n) == 0 && out[n] == '/');
        char *again = realpath(out, NULL);
        CHECK(again != NULL && strcmp(again, out) == 0);
        free(again);
        size_t i = 0;
        while (i < G_N_ELEMENTS(served) && strcmp(out, served[i]) != 0)
            i++;
        CHECK(i < G_N_ELEMENTS(served));
        const char *type = chorus_http_static_mime_type(out);
        CHECK(type != NULL && strcmp(type, "application/octet-stream") != 0);
    }
    for (size_t i = 0; path != NULL && i < G_N_ELEMENTS(expected); i++) {
        if (strcmp(path, expected[i].path) == 0) {
            CHECK(r == expected[i].result);
            CHECK(out == NULL || strcmp(out, expected_file[i]) == 0);
        }
    }
}

static ChorusStaticResult resolve_path(const char *path, char **out)
{
    ChorusStaticResult r = chorus_http_static_resolve_path(root, path, out);
    check_answer(path, r, *out);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly size bytes for the decoder (ASan sees any overread), then a C string. */
    char *raw = malloc(size ? size : 1);
    CHECK(raw != NULL);
    if (size > 0)
        memcpy(raw, data, size);
    char *decoded = chorus_http_url_decode(raw, size);
    char *reference = reference_decode(data, size);
    CHECK((decoded == NULL) == (reference == NULL));
    CHECK(decoded == NULL || strcmp(decoded, reference) == 0);
    g_free(decoded);
    free(reference);
    free(raw);
    char *uri = g_strndup((const char *)data, size);

    /* resolve_uri: strip, decode, resolve. */
    char *target = chorus_http_url_decode(uri, strcspn(uri, "?#"));
    char *by_uri = NULL, *by_path = NULL, *by_alias = NULL;
    ChorusStaticResult r = chorus_http_static_resolve_uri(root, uri, &by_uri);
    check_answer(target, r, by_uri);
    if (target != NULL) {
        CHECK(resolve_path(target, &by_path) == r);
        CHECK(g_strcmp0(by_path, by_uri) == 0);
    }
    CHECK(chorus_http_static_resolve_uri(alias, uri, &by_alias) == r);
    CHECK(g_strcmp0(by_alias, by_uri) == 0);
    g_free(by_uri);
    g_free(by_path);
    g_free(by_alias);
    g_free(target);

    /* resolve_path on the raw bytes, as if they had been decoded already. */
    char *out = NULL;
    resolve_path(uri, &out);
    g_free(out);

    const char *type = chorus_http_static_mime_type(uri);
    CHECK(type != NULL && *type != '\0');
    char *upper = g_ascii_strup(uri, -1);
    CHECK(strcmp(chorus_http_static_mime_type(upper), type) == 0);
    g_free(upper);
    g_free(uri);
    return 0;
}
