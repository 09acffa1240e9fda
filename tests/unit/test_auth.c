/* Token authentication: HS256 JWT verification, base64url, grants (signal/auth.c). */
#include <glib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "signal/auth.h"

#define SECRET "test-secret-0123456789"
#define NOW    ((gint64)1700000000)

/* A token from raw header and claims texts, signed with secret (NULL: signature "sig"). */
static char *make_token(const char *header, const char *claims, const char *secret)
{
    g_autofree char *h = chorus_base64url_encode((const guint8 *)header, strlen(header));
    g_autofree char *c = chorus_base64url_encode((const guint8 *)claims, strlen(claims));
    g_autofree char *signing = g_strconcat(h, ".", c, NULL);
    if (secret == NULL)
        return g_strconcat(signing, ".c2ln", NULL);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)signing, strlen(signing),
         mac, &n);
    g_autofree char *s = chorus_base64url_encode(mac, n);
    return g_strconcat(signing, ".", s, NULL);
}

static char *hs256(const char *claims)
{
    return make_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, SECRET);
}

/* Verifies and checks the status and that the reason mentions want (if not NULL). */
static json_t *expect(const char *token, ChorusTokenStatus want_status, const char *want)
{
    json_t *claims = NULL;
    g_autofree char *why = NULL;
    ChorusTokenStatus st = chorus_token_verify(token, SECRET, NOW, &claims, &why);
    if (st != want_status)
        g_error("token %.60s...: status %d, wanted %d (%s)", token, st, want_status,
                why ? why : "no reason");
    if (want_status == CHORUS_TOKEN_OK) {
        g_assert_nonnull(claims);
        g_assert_null(why);
    } else {
        g_assert_null(claims);
        g_assert_nonnull(why);
        if (want && strstr(why, want) == NULL)
            g_error("reason '%s' lacks '%s'", why, want);
    }
    return claims;
}

static void test_base64url(void)
{
    /* RFC 4648 test vectors, unpadded and in the URL alphabet. */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (guint i = 0; i < G_N_ELEMENTS(plain); i++) {
        g_autofree char *enc = chorus_base64url_encode((const guint8 *)plain[i], strlen(plain[i]));
        g_assert_cmpstr(enc, ==, coded[i]);
        gsize n = 99;
        g_autofree guint8 *dec = chorus_base64url_decode(coded[i], strlen(coded[i]), &n);
        g_assert_nonnull(dec);
        g_assert_cmpuint(n, ==, strlen(plain[i]));
        g_assert_cmpmem(dec, n, plain[i], strlen(plain[i]));
    }
    const guint8 high[] = {0xfb, 0xff, 0xbf};
    g_autofree char *enc = chorus_base64url_encode(high, sizeof high);
    g_assert_cmpstr(enc, ==, "-_-_");
    gsize n = 0;
    g_assert_null(chorus_base64url_decode("Zm9v+", 5, &n));    /* standard alphabet */
    g_assert_null(chorus_base64url_decode("Zm9vYg==", 8, &n)); /* padding */
    g_assert_null(chorus_base64url_decode("Zm9vY", 5, &n));    /* impossible length */
    g_assert_null(chorus_base64url_decode("Zh", 2, &n));       /* non-zero spare bits */
    g_assert_null(chorus_base64url_decode("Zm 9", 4, &n));
}

static void test_valid(void)
{
    g_autofree char *t = hs256("{\"sub\":\"alice\",\"exp\":1700003600,\"nbf\":1699999000}");
    json_t *claims = expect(t, CHORUS_TOKEN_OK, NULL);
    g_assert_cmpstr(json_string_value(json_object_get(claims, "sub")), ==, "alice");
    json_decref(claims);
    /* A real number exp, and a header without typ. */
    g_autofree char *t2 = make_token("{\"alg\":\"HS256\"}", "{\"exp\":1700000100.5}", SECRET);
    json_decref(expect(t2, CHORUS_TOKEN_OK, NULL));
    /* chorus_token_sign makes tokens this verifies. */
    json_t *body = json_pack("{s:s,s:I}", "sub", "bob", "exp", (json_int_t)NOW + 60);
    g_autofree char *t3 = chorus_token_sign(body, SECRET);
    json_decref(body);
    json_decref(expect(t3, CHORUS_TOKEN_OK, NULL));
    /* The README's example (made by its Python snippet) verifies here. */
    static const char readme[] =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTg5MzQ1NjAwMCwicGx1Z2l"
        "ucyI6WyJjaG9ydXMucGx1Z2luLnZvaWNlIl0sImNoYW5uZWxzIjpbImxvYmJ5IiwiZ2FtaW5nIl19.6QQRlXyUZ1"
        "s4Mloz3eAkNWxCakuvcKElMP8zDDj0HPs";
    json_t *rc = NULL;
    g_assert_cmpint(chorus_token_verify(readme, "change-me", NOW, &rc, NULL), ==, CHORUS_TOKEN_OK);
    g_assert_cmpstr(json_string_value(json_object_get(rc, "sub")), ==, "alice");
    g_assert_true(chorus_token_grants_channel(rc, "gaming"));
    g_assert_false(chorus_token_grants_plugin(rc, "chorus.plugin.echo"));
    json_decref(rc);
    /* claims may be NULL when the caller only wants the verdict. */
    g_assert_cmpint(chorus_token_verify(t3, SECRET, NOW, NULL, NULL), ==, CHORUS_TOKEN_OK);
}

static void test_expired(void)
{
    g_autofree char *old = hs256("{\"exp\":1699990000}");
    expect(old, CHORUS_TOKEN_EXPIRED, "expired");
    /* Within the leeway it still passes; at exp + leeway it does not. */
    g_autofree char *edge =
        g_strdup_printf("{\"exp\":%" G_GINT64_FORMAT "}", NOW - CHORUS_TOKEN_LEEWAY_S + 1);
    g_autofree char *t1 = hs256(edge);
    json_decref(expect(t1, CHORUS_TOKEN_OK, NULL));
    g_autofree char *past =
        g_strdup_printf("{\"exp\":%" G_GINT64_FORMAT "}", NOW - CHORUS_TOKEN_LEEWAY_S);
    g_autofree char *t2 = hs256(past);
    expect(t2, CHORUS_TOKEN_EXPIRED, "token expired");
}

static void test_not_yet_valid(void)
{
    g_autofree char *t = hs256("{\"exp\":1700090000,\"nbf\":1700003600}");
    expect(t, CHORUS_TOKEN_NOT_YET_VALID, "not yet valid");
    g_autofree char *soon = g_strdup_printf("{\"exp\":1700090000,\"nbf\":%" G_GINT64_FORMAT "}",
                                            NOW + CHORUS_TOKEN_LEEWAY_S);
    g_autofree char *t2 = hs256(soon);
    json_decref(expect(t2, CHORUS_TOKEN_OK, NULL));
    g_autofree char *t3 = hs256("{\"exp\":1700090000,\"nbf\":\"tomorrow\"}");
    expect(t3, CHORUS_TOKEN_MALFORMED, "nbf");
}

static void test_wrong_signature(void)
{
    g_autofree char *other = make_token("{\"alg\":\"HS256\"}", "{\"exp\":1700003600}", "other");
    expect(other, CHORUS_TOKEN_BAD_SIGNATURE, "bad token signature");
    /* Claims changed after signing (exp pushed later): the signature no longer matches. */
    g_autofree char *good = hs256("{\"exp\":1700003600}");
    g_autofree char *forged_claims = chorus_base64url_encode((const guint8 *)"{\"exp\":1800003600}",
                                                             strlen("{\"exp\":1800003600}"));
    char **parts = g_strsplit(good, ".", 3);
    g_autofree char *forged = g_strjoin(".", parts[0], forged_claims, parts[2], NULL);
    expect(forged, CHORUS_TOKEN_BAD_SIGNATURE, "signature");
    /* A truncated signature, an empty one, and one flipped character. */
    g_autofree char *shorter = g_strjoin(".", parts[0], parts[1], "c2ln", NULL);
    expect(shorter, CHORUS_TOKEN_BAD_SIGNATURE, "signature");
    g_autofree char *empty = g_strjoin(".", parts[0], parts[1], "", NULL);
    expect(empty, CHORUS_TOKEN_BAD_SIGNATURE, "signature");
    parts[2][0] = parts[2][0] == 'A' ? 'B' : 'A';
    g_autofree char *flipped = g_strjoin(".", parts[0], parts[1], parts[2], NULL);
    expect(flipped, CHORUS_TOKEN_BAD_SIGNATURE, "signature");
    g_strfreev(parts);
    /* No secret configured: nothing verifies. */
    g_assert_cmpint(chorus_token_verify(good, "", NOW, NULL, NULL), ==, CHORUS_TOKEN_BAD_SIGNATURE);
}

static void test_bad_alg(void)
{
    /* alg none with no signature (the classic forgery) and with one. */
    g_autofree char *none = make_token("{\"alg\":\"none\"}", "{\"exp\":1700003600}", NULL);
    char *dot = strrchr(none, '.');
    dot[1] = '\0';
    expect(none, CHORUS_TOKEN_BAD_ALG, "'none' not accepted");
    g_autofree char *none_signed = make_token("{\"alg\":\"none\"}", "{\"exp\":1700003600}", SECRET);
    expect(none_signed, CHORUS_TOKEN_BAD_ALG, "only HS256");
    static const char *const others[] = {"{\"alg\":\"HS512\"}", "{\"alg\":\"RS256\"}",
                                         "{\"alg\":\"hs256\"}", "{\"alg\":\"NONE\"}"};
    for (guint i = 0; i < G_N_ELEMENTS(others); i++) {
        g_autofree char *t = make_token(others[i], "{\"exp\":1700003600}", SECRET);
        expect(t, CHORUS_TOKEN_BAD_ALG, "not accepted");
    }
    g_autofree char *no_alg = make_token("{\"typ\":\"JWT\"}", "{\"exp\":1700003600}", SECRET);
    expect(no_alg, CHORUS_TOKEN_MALFORMED, "no alg");
    g_autofree char *num_alg = make_token("{\"alg\":256}", "{\"exp\":1700003600}", SECRET);
    expect(num_alg, CHORUS_TOKEN_MALFORMED, "no alg");
    g_autofree char *crit =
        make_token("{\"alg\":\"HS256\",\"crit\":[\"x\"]}", "{\"exp\":1700003600}", SECRET);
    expect(crit, CHORUS_TOKEN_MALFORMED, "crit");
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        ".eyJleHAiOjF9.c2ln",
        "eyJhbGciOiJIUzI1NiJ9..c2ln",
        "eyJhbGciOiJIUzI1NiJ9+.eyJleHAiOjF9.c2ln", /* '+' is not base64url */
        "eyJhbGciOiJIUzI1NiJ9==.eyJleHAiOjF9.c2ln",
        "bm90IGpzb24.eyJleHAiOjF9.c2ln", /* "not json" */
        "WzFd.eyJleHAiOjF9.c2ln",        /* [1]: not an object */
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
        expect(bad[i], CHORUS_TOKEN_MALFORMED, "malformed token");
    /* Claims that are not JSON, or not an object, behind a good signature. */
    g_autofree char *t1 = hs256("{\"exp\":");
    expect(t1, CHORUS_TOKEN_MALFORMED, "claims");
    g_autofree char *t2 = hs256("[\"exp\",1700003600]");
    expect(t2, CHORUS_TOKEN_MALFORMED, "claims");
    g_autofree char *t3 = hs256("{\"exp\":1700003600,\"exp\":1800000000}"); /* duplicate */
    expect(t3, CHORUS_TOKEN_MALFORMED, "claims");
    /* A signature that is not base64url. */
    g_autofree char *good = hs256("{\"exp\":1700003600}");
    g_autofree char *t4 = g_strconcat(good, "!", NULL);
    expect(t4, CHORUS_TOKEN_MALFORMED, "signature");
    /* Far too long. */
    g_autofree char *huge = g_strnfill(CHORUS_TOKEN_MAX_LEN + 1, 'a');
    expect(huge, CHORUS_TOKEN_MALFORMED, NULL);
    g_assert_cmpint(chorus_token_verify(NULL, SECRET, NOW, NULL, NULL), ==, CHORUS_TOKEN_MALFORMED);
}

static void test_missing_exp(void)
{
    g_autofree char *t = hs256("{\"sub\":\"alice\"}");
    expect(t, CHORUS_TOKEN_NO_EXP, "exp");
    g_autofree char *t2 = hs256("{\"exp\":\"1700003600\"}");
    expect(t2, CHORUS_TOKEN_NO_EXP, "exp");
    g_autofree char *t3 = hs256("{\"exp\":null}");
    expect(t3, CHORUS_TOKEN_NO_EXP, "exp");
}

static void test_plugins_grant(void)
{
    g_autofree char *t = hs256("{\"exp\":1700003600,\"plugins\":[\"chorus.plugin.voice\"]}");
    json_t *claims = expect(t, CHORUS_TOKEN_OK, NULL);
    g_assert_true(chorus_token_grants_plugin(claims, "chorus.plugin.voice"));
    g_assert_false(chorus_token_grants_plugin(claims, "chorus.plugin.echo"));
    g_assert_false(chorus_token_grants_plugin(claims, "chorus.plugin.voice2"));
    g_assert_true(chorus_token_grants_channel(claims, "anything")); /* no channels grant */
    json_decref(claims);
    g_autofree char *none = hs256("{\"exp\":1700003600,\"plugins\":[]}");
    claims = expect(none, CHORUS_TOKEN_OK, NULL);
    g_assert_false(chorus_token_grants_plugin(claims, "chorus.plugin.echo"));
    json_decref(claims);
    /* No claims at all (no token): nothing restricted. */
    g_assert_true(chorus_token_grants_plugin(NULL, "chorus.plugin.echo"));
    g_autofree char *bad = hs256("{\"exp\":1700003600,\"plugins\":\"chorus.plugin.voice\"}");
    expect(bad, CHORUS_TOKEN_MALFORMED, "plugins");
    g_autofree char *bad2 = hs256("{\"exp\":1700003600,\"plugins\":[\"a\",1]}");
    expect(bad2, CHORUS_TOKEN_MALFORMED, "plugins");
}

static void test_channels_grant(void)
{
    g_autofree char *t = hs256("{\"exp\":1700003600,\"channels\":[\"lobby\",\"games\"]}");
    json_t *claims = expect(t, CHORUS_TOKEN_OK, NULL);
    g_assert_true(chorus_token_grants_channel(claims, "lobby"));
    g_assert_true(chorus_token_grants_channel(claims, "games"));
    g_assert_false(chorus_token_grants_channel(claims, "staff"));
    g_assert_false(chorus_token_grants_channel(claims, "Lobby"));
    g_assert_true(chorus_token_grants_plugin(claims, "chorus.plugin.voice")); /* no plugins */
    json_decref(claims);
    g_autofree char *any = hs256("{\"exp\":1700003600,\"channels\":[\"*\"]}");
    claims = expect(any, CHORUS_TOKEN_OK, NULL);
    g_assert_true(chorus_token_grants_channel(claims, "staff"));
    json_decref(claims);
    g_autofree char *bad = hs256("{\"exp\":1700003600,\"channels\":{\"lobby\":true}}");
    expect(bad, CHORUS_TOKEN_MALFORMED, "channels");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/auth/base64url", test_base64url);
    g_test_add_func("/auth/valid", test_valid);
    g_test_add_func("/auth/expired", test_expired);
    g_test_add_func("/auth/not-yet-valid", test_not_yet_valid);
    g_test_add_func("/auth/wrong-signature", test_wrong_signature);
    g_test_add_func("/auth/alg", test_bad_alg);
    g_test_add_func("/auth/malformed", test_malformed);
    g_test_add_func("/auth/missing-exp", test_missing_exp);
    g_test_add_func("/auth/plugins-grant", test_plugins_grant);
    g_test_add_func("/auth/channels-grant", test_channels_grant);
    return g_test_run();
}
