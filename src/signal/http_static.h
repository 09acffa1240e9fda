/* Static files over HTTP: pure functions that map a request path to a file under an
 * html root, refusing anything that could escape it, and a MIME type table.
 *
 * Threading: every function is reentrant and touches no shared state.
 * Ownership: returned paths are new strings (g_free); MIME strings are static. */
#ifndef CHORUS_SIGNAL_HTTP_STATIC_H
#define CHORUS_SIGNAL_HTTP_STATIC_H

#include <glib.h>

typedef enum {
    CHORUS_STATIC_OK = 0,
    CHORUS_STATIC_NOT_FOUND, /* no such regular file under the root */
    CHORUS_STATIC_FORBIDDEN, /* malformed, or names something outside the root */
} ChorusStaticResult;

/* Decodes %XX escapes of len bytes of in ('+' stays '+': this is a path, not a form).
 * Returns a new NUL-terminated string, or NULL when an escape is malformed or decodes
 * to NUL. */
char *chorus_http_url_decode(const char *in, gsize len);

/* Resolves an already-decoded request path ("/", "/js/app.js", "/demo/") under root.
 * Refused (FORBIDDEN): paths not starting with '/', empty segments ("//"), "." and ".."
 * segments, backslashes, control characters, and anything whose real path (symlinks
 * followed) is not inside the real root. "/" and directories map to index.html.
 * On OK, *path_out is the real absolute path of a regular file (g_free). */
ChorusStaticResult chorus_http_static_resolve_path(const char *root, const char *path,
                                                   char **path_out);

/* The same for a raw request target: strips "?query" and "#fragment", URL-decodes
 * (a malformed escape or %00 is FORBIDDEN), then resolves as above. */
ChorusStaticResult chorus_http_static_resolve_uri(const char *root, const char *uri,
                                                  char **path_out);

/* Content-Type for a file name, by extension (case-insensitive);
 * "application/octet-stream" when unknown. Never NULL. */
const char *chorus_http_static_mime_type(const char *path);

#endif
