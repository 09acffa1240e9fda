/* Token authentication: HS256 JSON Web Tokens (RFC 7519) checked against the configured
 * secret. Pure functions (no global state, no clock of their own), so they are unit
 * tested directly and fuzzable.
 *
 * A token is base64url(header) "." base64url(claims) "." base64url(HMAC-SHA256(secret,
 * header "." claims)), unpadded. Accepted only with {"alg":"HS256"} ("none" and every
 * other algorithm are refused), a valid signature (compared in constant time), an
 * "exp" claim (required) that is not past and an "nbf" claim (optional) that is not
 * ahead, each with CHORUS_TOKEN_LEEWAY_S seconds of leeway for clock skew.
 *
 * Optional grants in the claims:
 *   "plugins":  ["chorus.plugin.voice", ...]  packages the session may attach to
 *   "channels": ["lobby", "*", ...]            voice channels it may join ("*": any)
 * An absent grant allows everything; a present one must be an array of strings. */
#ifndef CHORUS_SIGNAL_AUTH_H
#define CHORUS_SIGNAL_AUTH_H

#include <glib.h>
#include <jansson.h>

#define CHORUS_TOKEN_LEEWAY_S 30
#define CHORUS_TOKEN_MAX_LEN  8192 /* longer tokens are malformed */

typedef enum {
    CHORUS_TOKEN_OK = 0,
    CHORUS_TOKEN_MALFORMED,     /* not three base64url parts of JSON objects, bad claims */
    CHORUS_TOKEN_BAD_ALG,       /* alg is not HS256 (e.g. "none") */
    CHORUS_TOKEN_BAD_SIGNATURE, /* HMAC does not match the secret */
    CHORUS_TOKEN_NO_EXP,        /* no numeric "exp" claim */
    CHORUS_TOKEN_EXPIRED,       /* exp + leeway <= now */
    CHORUS_TOKEN_NOT_YET_VALID, /* nbf - leeway > now */
} ChorusTokenStatus;

/* Verifies token with secret at now_s (seconds since the epoch). On CHORUS_TOKEN_OK,
 * *claims (if not NULL) gets the claims object (a new reference). Otherwise *why (if
 * not NULL) gets a short reason for the client, e.g. "token expired" (g_free it). */
ChorusTokenStatus chorus_token_verify(const char *token, const char *secret, gint64 now_s,
                                      json_t **claims, char **why);

/* Whether verified claims grant a plugin package / a voice channel. */
gboolean chorus_token_grants_plugin(json_t *claims, const char *package);
gboolean chorus_token_grants_channel(json_t *claims, const char *channel);

/* base64url without padding (RFC 4648 section 5). encode returns a NUL-terminated
 * string; decode returns NULL on a character outside the alphabet, '=' padding, or an
 * impossible length. Both g_free. */
char *chorus_base64url_encode(const guint8 *data, gsize len);
guint8 *chorus_base64url_decode(const char *text, gsize len, gsize *out_len);

/* Signs claims (compact JSON) into an HS256 token: for tests and tools. g_free. */
char *chorus_token_sign(json_t *claims, const char *secret);

#endif
