/* HS256 JSON Web Tokens: see auth.h. */
#include "signal/auth.h"

#include <stdarg.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- base64url ---- */

char *chorus_base64url_encode(const guint8 *data, gsize len)
{
    char *out = g_malloc(len / 3 * 4 + 5);
    gsize n = 0;
    guint32 acc = 0;
    int bits = 0;
    for (gsize i = 0; i < len; i++) {
        acc = (acc << 8) | data[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = b64url_alphabet[(acc >> bits) & 63];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0)
        out[n++] = b64url_alphabet[(acc << (6 - bits)) & 63];
    out[n] = '\0';
    return out;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

guint8 *chorus_base64url_decode(const char *text, gsize len, gsize *out_len)
{
    if (text == NULL || len % 4 == 1)
        return NULL;
    guint8 *out = g_malloc(len / 4 * 3 + 3);
    gsize n = 0;
    guint32 acc = 0;
    int bits = 0;
    for (gsize i = 0; i < len; i++) {
        int v = b64url_value(text[i]);
        if (v < 0) {
            g_free(out);
            return NULL;
        }
        acc = (acc << 6) | (guint32)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (guint8)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) { /* the unused low bits of the last character must be zero */
        g_free(out);
        return NULL;
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

/* ---- verification ---- */

typedef struct {
    const char *part[3]; /* header, claims, signature (borrowed from the token) */
    gsize len[3];
} Parts;

static ChorusTokenStatus refuse(char **why, ChorusTokenStatus status, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static ChorusTokenStatus refuse(char **why, ChorusTokenStatus status, const char *fmt, ...)
{
    if (why != NULL) {
        va_list ap;
        va_start(ap, fmt);
        *why = g_strdup_vprintf(fmt, ap);
        va_end(ap);
    }
    return status;
}

/* Exactly three parts separated by dots; header and claims not empty (an empty
 * signature is left for the algorithm and signature checks to refuse). */
static gboolean split(const char *token, Parts *p)
{
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
        return FALSE;
    p->part[0] = token;
    p->len[0] = (gsize)(dot1 - token);
    p->part[1] = dot1 + 1;
    p->len[1] = (gsize)(dot2 - dot1 - 1);
    p->part[2] = dot2 + 1;
    p->len[2] = strlen(dot2 + 1);
    return p->len[0] > 0 && p->len[1] > 0;
}

/* A base64url part holding a JSON object: a new reference, or NULL. */
static json_t *decode_object(const char *text, gsize len)
{
    gsize n = 0;
    g_autofree guint8 *raw = chorus_base64url_decode(text, len, &n);
    if (raw == NULL)
        return NULL;
    json_t *obj = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
    if (obj != NULL && !json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static ChorusTokenStatus check_header(const Parts *p, char **why)
{
    json_t *header = decode_object(p->part[0], p->len[0]);
    if (header == NULL)
        return refuse(why, CHORUS_TOKEN_MALFORMED, "malformed token: header");
    const char *alg = json_string_value(json_object_get(header, "alg"));
    ChorusTokenStatus st = CHORUS_TOKEN_OK;
    if (alg == NULL)
        st = refuse(why, CHORUS_TOKEN_MALFORMED, "malformed token: no alg in the header");
    else if (strcmp(alg, "HS256") != 0)
        st = refuse(why, CHORUS_TOKEN_BAD_ALG, "token algorithm '%.32s' not accepted: only HS256",
                    alg);
    else if (json_object_get(header, "crit") != NULL)
        st = refuse(why, CHORUS_TOKEN_MALFORMED, "malformed token: unsupported crit header");
    json_decref(header);
    return st;
}

static ChorusTokenStatus check_signature(const Parts *p, const char *secret, char **why)
{
    gsize sig_len = 0;
    g_autofree guint8 *sig = chorus_base64url_decode(p->part[2], p->len[2], &sig_len);
    if (sig == NULL)
        return refuse(why, CHORUS_TOKEN_MALFORMED, "malformed token: signature");
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    gsize signed_len = p->len[0] + 1 + p->len[1]; /* "header.claims" as sent */
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)p->part[0],
             signed_len, mac, &mac_len) == NULL)
        return refuse(why, CHORUS_TOKEN_BAD_SIGNATURE, "bad token signature: HMAC failed");
    gboolean match = sig_len == mac_len && CRYPTO_memcmp(sig, mac, mac_len) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    return match ? CHORUS_TOKEN_OK : refuse(why, CHORUS_TOKEN_BAD_SIGNATURE, "bad token signature");
}

static ChorusTokenStatus check_times(json_t *claims, gint64 now_s, char **why)
{
    json_t *exp = json_object_get(claims, "exp");
    json_t *nbf = json_object_get(claims, "nbf");
    if (!json_is_number(exp))
        return refuse(why, CHORUS_TOKEN_NO_EXP, "token has no numeric exp claim: exp is required");
    if (nbf != NULL && !json_is_number(nbf))
        return refuse(why, CHORUS_TOKEN_MALFORMED, "malformed token: nbf is not a number");
    double now = (double)now_s;
    if (now >= json_number_value(exp) + CHORUS_TOKEN_LEEWAY_S)
        return refuse(why, CHORUS_TOKEN_EXPIRED, "token expired");
    if (nbf != NULL && now + CHORUS_TOKEN_LEEWAY_S < json_number_value(nbf))
        return refuse(why, CHORUS_TOKEN_NOT_YET_VALID, "token not yet valid");
    return CHORUS_TOKEN_OK;
}

/* NULL, or an array of strings. */
static gboolean grant_well_formed(json_t *grant)
{
    if (grant == NULL)
        return TRUE;
    if (!json_is_array(grant))
        return FALSE;
    size_t i;
    json_t *v;
    json_array_foreach(grant, i, v)
    {
        if (!json_is_string(v))
            return FALSE;
    }
    return TRUE;
}

static ChorusTokenStatus check_claims(json_t *claims, gint64 now_s, char **why)
{
    ChorusTokenStatus st = check_times(claims, now_s, why);
    if (st != CHORUS_TOKEN_OK)
        return st;
    static const char *const grants[] = {"plugins", "channels"};
    for (guint i = 0; i < G_N_ELEMENTS(grants); i++) {
        if (!grant_well_formed(json_object_get(claims, grants[i])))
            return refuse(why, CHORUS_TOKEN_MALFORMED,
                          "malformed token: %s should be an array of strings", grants[i]);
    }
    return CHORUS_TOKEN_OK;
}

ChorusTokenStatus chorus_token_verify(const char *token, const char *secret, gint64 now_s,
                                      json_t **claims, char **why)
{
    if (claims != NULL)
        *claims = NULL;
    if (why != NULL)
        *why = NULL;
    if (secret == NULL || *secret == '\0')
        return refuse(why, CHORUS_TOKEN_BAD_SIGNATURE, "no token secret configured");
    Parts p;
    if (token == NULL || strlen(token) > CHORUS_TOKEN_MAX_LEN || !split(token, &p))
        return refuse(why, CHORUS_TOKEN_MALFORMED, "malformed token: not header.claims.signature");
    ChorusTokenStatus st = check_header(&p, why);
    if (st == CHORUS_TOKEN_OK)
        st = check_signature(&p, secret, why);
    if (st != CHORUS_TOKEN_OK)
        return st;
    json_t *body = decode_object(p.part[1], p.len[1]);
    if (body == NULL)
        return refuse(why, CHORUS_TOKEN_MALFORMED, "malformed token: claims");
    st = check_claims(body, now_s, why);
    if (st == CHORUS_TOKEN_OK && claims != NULL)
        *claims = json_incref(body);
    json_decref(body);
    return st;
}

/* ---- grants ---- */

static gboolean granted(json_t *claims, const char *key, const char *name)
{
    json_t *list = claims ? json_object_get(claims, key) : NULL;
    if (list == NULL)
        return TRUE; /* no token, or no such grant: not restricted */
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (s != NULL && name != NULL && (strcmp(s, name) == 0 || strcmp(s, "*") == 0))
            return TRUE;
    }
    return FALSE;
}

gboolean chorus_token_grants_plugin(json_t *claims, const char *package)
{
    return granted(claims, "plugins", package);
}

gboolean chorus_token_grants_channel(json_t *claims, const char *channel)
{
    return granted(claims, "channels", channel);
}

/* ---- signing (tests and tools) ---- */

char *chorus_token_sign(json_t *claims, const char *secret)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    g_autofree char *body = json_dumps(claims, JSON_COMPACT);
    if (body == NULL || secret == NULL)
        return NULL;
    g_autofree char *h64 = chorus_base64url_encode((const guint8 *)header, strlen(header));
    g_autofree char *b64 = chorus_base64url_encode((const guint8 *)body, strlen(body));
    g_autofree char *signing = g_strconcat(h64, ".", b64, NULL);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)signing,
             strlen(signing), mac, &mac_len) == NULL)
        return NULL;
    g_autofree char *s64 = chorus_base64url_encode(mac, mac_len);
    return g_strconcat(signing, ".", s64, NULL);
}
