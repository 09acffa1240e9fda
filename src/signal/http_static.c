/* Static files over HTTP: safe path resolution and MIME types. See http_static.h. */
#include "signal/http_static.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *chorus_http_url_decode(const char *in, gsize len)
{
    GString *out = g_string_sized_new(len + 1);
    for (gsize i = 0; i < len; i++) {
        char c = in[i];
        if (c == '\0')
            goto bad;
        if (c != '%') {
            g_string_append_c(out, c);
            continue;
        }
        if (i + 2 >= len)
            goto bad;
        int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            goto bad;
        g_string_append_c(out, (char)(hi * 16 + lo));
        i += 2;
    }
    return g_string_free(out, FALSE);
bad:
    g_string_free(out, TRUE);
    return NULL;
}

/* TRUE when path is a syntactically acceptable request path (see the header). */
static gboolean path_is_clean(const char *path)
{
    if (path[0] != '/' || strlen(path) >= PATH_MAX / 2)
        return FALSE;
    for (const char *c = path; *c; c++) {
        if (*c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f)
            return FALSE;
    }
    /* Segments between slashes; the last may be empty ("/dir/"). */
    const char *seg = path + 1;
    for (;;) {
        const char *slash = strchr(seg, '/');
        gsize n = slash ? (gsize)(slash - seg) : strlen(seg);
        if (slash && n == 0)
            return FALSE; /* "//" */
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return FALSE;
        if (!slash)
            return TRUE;
        seg = slash + 1;
    }
}

static gboolean is_inside(const char *real_root, const char *real)
{
    gsize n = strlen(real_root);
    if (n == 1 && real_root[0] == '/')
        return real[0] == '/';
    return strncmp(real, real_root, n) == 0 && real[n] == '/';
}

ChorusStaticResult chorus_http_static_resolve_path(const char *root, const char *path,
                                                   char **path_out)
{
    *path_out = NULL;
    if (!root || !path || !path_is_clean(path))
        return CHORUS_STATIC_FORBIDDEN;
    char *real_root = realpath(root, NULL);
    if (!real_root)
        return CHORUS_STATIC_NOT_FOUND;

    GString *want = g_string_new(real_root);
    if (strcmp(path, "/") != 0)
        g_string_append(want, path);
    struct stat st;
    if (want->str[want->len - 1] == '/' || (stat(want->str, &st) == 0 && S_ISDIR(st.st_mode)))
        g_string_append(want, want->str[want->len - 1] == '/' ? "index.html" : "/index.html");

    ChorusStaticResult res = CHORUS_STATIC_NOT_FOUND;
    char *real = realpath(want->str, NULL);
    if (!real) {
        res = (errno == ENOENT || errno == ENOTDIR) ? CHORUS_STATIC_NOT_FOUND
                                                    : CHORUS_STATIC_FORBIDDEN;
    } else if (!is_inside(real_root, real)) {
        res = CHORUS_STATIC_FORBIDDEN;
    } else if (stat(real, &st) == 0 && S_ISREG(st.st_mode)) {
        res = CHORUS_STATIC_OK;
        *path_out = g_strdup(real);
    }
    free(real);
    free(real_root);
    g_string_free(want, TRUE);
    return res;
}

ChorusStaticResult chorus_http_static_resolve_uri(const char *root, const char *uri,
                                                  char **path_out)
{
    *path_out = NULL;
    if (!uri)
        return CHORUS_STATIC_FORBIDDEN;
    gsize len = strcspn(uri, "?#");
    char *decoded = chorus_http_url_decode(uri, len);
    if (!decoded)
        return CHORUS_STATIC_FORBIDDEN;
    ChorusStaticResult res = chorus_http_static_resolve_path(root, decoded, path_out);
    g_free(decoded);
    return res;
}

typedef struct {
    const char *ext;
    const char *type;
} MimeEntry;

static const MimeEntry mime_table[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"svg", "image/svg+xml"},
    {"ico", "image/x-icon"},
    {"wav", "audio/wav"},
    {"ogg", "audio/ogg"},
    {"webm", "video/webm"},
    {"mp4", "video/mp4"},
    {"wasm", "application/wasm"},
    {"txt", "text/plain; charset=utf-8"},
};

const char *chorus_http_static_mime_type(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    const char *base = slash ? slash + 1 : path;
    const char *dot = base ? strrchr(base, '.') : NULL;
    if (dot && dot != base) {
        for (gsize i = 0; i < G_N_ELEMENTS(mime_table); i++) {
            if (g_ascii_strcasecmp(dot + 1, mime_table[i].ext) == 0)
                return mime_table[i].type;
        }
    }
    return "application/octet-stream";
}
