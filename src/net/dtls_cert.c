/* DTLS certificates: an ECDSA P-256 self-signed certificate (or one loaded from PEM
 * files), its fingerprint, and the SSL_CTX every connection using it shares.
 * A ChorusDtlsCert never changes after creation, so any thread may use it. */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/dtls.h"

G_DEFINE_QUARK(chorus - dtls - error, chorus_dtls_error)

#define CERT_CN            "chorus"
#define CERT_NOT_BEFORE_S  (-24L * 3600)     /* a day ago: tolerate clock skew */
#define CERT_NOT_AFTER_S   (30L * 24 * 3600) /* 30 days */
#define CERT_SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
#define CERT_GROUPS        "X25519:P-256"
/* ECDHE with AEAD first; CBC-SHA suites for older stacks; RSA suites for loaded RSA
 * certificates. */
#define CERT_CIPHERS                                                                               \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:"   \
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:"         \
    "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA"

struct ChorusDtlsCert {
    gint refs;
    X509 *x509;
    EVP_PKEY *pkey;
    SSL_CTX *ssl_ctx;
    char fingerprint[CHORUS_DTLS_FINGERPRINT_MAX]; /* "sha-256 AB:..." */
};

/* ---- fingerprints ------------------------------------------------------------------ */

typedef struct {
    const char *name; /* as in a=fingerprint (RFC 8122 hash function textual names) */
    const EVP_MD *(*md)(void);
    size_t len;
} FpHash;

static const FpHash fp_hashes[] = {
    {"sha-1", EVP_sha1, 20},     {"sha-224", EVP_sha224, 28}, {"sha-256", EVP_sha256, 32},
    {"sha-384", EVP_sha384, 48}, {"sha-512", EVP_sha512, 64},
};

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = g_ascii_toupper(c);
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses "<hash> XX:XX:..." into the hash and its digest (64 bytes room). */
static const FpHash *fp_parse(const char *text, uint8_t *digest)
{
    if (!text)
        return NULL;
    while (g_ascii_isspace(*text))
        text++;
    size_t name_len = strcspn(text, " \t");
    const FpHash *hash = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(fp_hashes); i++) {
        if (strlen(fp_hashes[i].name) == name_len &&
            g_ascii_strncasecmp(text, fp_hashes[i].name, name_len) == 0)
            hash = &fp_hashes[i];
    }
    if (!hash)
        return NULL;
    const char *p = text + name_len;
    while (g_ascii_isspace(*p))
        p++;
    for (size_t i = 0; i < hash->len; i++) {
        if (i > 0 && *p++ != ':')
            return NULL;
        int hi = hex_val(p[0]);
        int lo = hi < 0 ? -1 : hex_val(p[1]);
        if (lo < 0)
            return NULL;
        digest[i] = (uint8_t)(hi << 4 | lo);
        p += 2;
    }
    while (g_ascii_isspace(*p))
        p++;
    return *p == '\0' ? hash : NULL;
}

static void fp_format(const FpHash *hash, const uint8_t *digest, char *out, size_t out_size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = (size_t)g_snprintf(out, out_size, "%s ", hash->name);
    for (size_t i = 0; i < hash->len && n + 3 < out_size; i++) {
        if (i > 0)
            out[n++] = ':';
        out[n++] = hex[digest[i] >> 4];
        out[n++] = hex[digest[i] & 0xf];
    }
    out[n < out_size ? n : out_size - 1] = '\0';
}

static gboolean fp_of(X509 *x509, const FpHash *hash, uint8_t *digest)
{
    unsigned int len = 0;
    return X509_digest(x509, hash->md(), digest, &len) == 1 && len == hash->len;
}

gboolean chorus_dtls_fingerprint_valid(const char *text)
{
    uint8_t digest[EVP_MAX_MD_SIZE];
    return fp_parse(text, digest) != NULL;
}

gboolean chorus_dtls_fingerprint_check(struct x509_st *peer, const char *expected, char *actual,
                                       size_t actual_size)
{
    uint8_t want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
    if (actual_size > 0)
        actual[0] = '\0';
    const FpHash *hash = fp_parse(expected, want);
    if (!hash || !peer || !fp_of(peer, hash, got))
        return FALSE;
    if (actual_size > 0)
        fp_format(hash, got, actual, actual_size);
    return memcmp(want, got, hash->len) == 0;
}

/* ---- certificate ------------------------------------------------------------------- */

static void set_ssl_error(GError **error, int code, const char *what)
{
    char buf[256] = "unknown error";
    unsigned long e = ERR_peek_last_error();
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    g_set_error(error, CHORUS_DTLS_ERROR, code, "%s: %s", what, buf);
}

/* Accepts whatever certificate the peer shows: it is self-signed, and what makes it
 * trusted is its fingerprint from the signaled SDP, checked after the handshake. */
static int accept_peer_cert(int preverify_ok, X509_STORE_CTX *store)
{
    return 1;
}

static SSL_CTX *make_ssl_ctx(X509 *x509, EVP_PKEY *pkey, GError **error)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    if (!ctx) {
        set_ssl_error(error, CHORUS_DTLS_ERROR_FAILED, "SSL_CTX_new");
        return NULL;
    }
    const char *step = NULL;
    if (!SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION))
        step = "DTLS 1.2 only";
    else if (SSL_CTX_use_certificate(ctx, x509) != 1 || SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
             SSL_CTX_check_private_key(ctx) != 1)
        step = "certificate and key";
    else if (SSL_CTX_set1_groups_list(ctx, CERT_GROUPS) != 1)
        step = "groups " CERT_GROUPS;
    else if (SSL_CTX_set_cipher_list(ctx, CERT_CIPHERS) != 1)
        step = "cipher list";
    else if (SSL_CTX_set_tlsext_use_srtp(ctx, CERT_SRTP_PROFILES) != 0) /* 0 is success */
        step = "use_srtp";
    if (step) {
        set_ssl_error(error, CHORUS_DTLS_ERROR_FAILED, step);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_peer_cert);
    /* Each connection is new: no session cache (it would grow and lock across
     * workers), no tickets, no renegotiation; the MTU is set, never queried. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_QUERY_MTU |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_read_ahead(ctx, 1);
    return ctx;
}

/* Takes ownership of x509 and pkey (freed on failure). */
static ChorusDtlsCert *cert_new(X509 *x509, EVP_PKEY *pkey, GError **error)
{
    SSL_CTX *ctx = make_ssl_ctx(x509, pkey, error);
    uint8_t digest[EVP_MAX_MD_SIZE];
    const FpHash *sha256 = &fp_hashes[2];
    if (ctx && !fp_of(x509, sha256, digest)) {
        set_ssl_error(error, CHORUS_DTLS_ERROR_FAILED, "certificate digest");
        SSL_CTX_free(ctx);
        ctx = NULL;
    }
    if (!ctx) {
        X509_free(x509);
        EVP_PKEY_free(pkey);
        return NULL;
    }
    ChorusDtlsCert *cert = g_new0(ChorusDtlsCert, 1);
    cert->refs = 1;
    cert->x509 = x509;
    cert->pkey = pkey;
    cert->ssl_ctx = ctx;
    fp_format(sha256, digest, cert->fingerprint, sizeof(cert->fingerprint));
    return cert;
}

static X509 *make_self_signed(EVP_PKEY *pkey)
{
    X509 *x = X509_new();
    X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
    uint64_t serial = 0;
    if (!x || RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
        goto fail;
    serial &= INT64_MAX; /* a positive INTEGER */
    if (serial == 0)
        serial = 1;
    if (X509_set_version(x, X509_VERSION_3) != 1 ||
        ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), CERT_NOT_BEFORE_S) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), CERT_NOT_AFTER_S) ||
        X509_set_pubkey(x, pkey) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)CERT_CN, -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(x, name) != 1 || X509_sign(x, pkey, EVP_sha256()) <= 0)
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

ChorusDtlsCert *chorus_dtls_cert_generate(GError **error)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    if (!pkey) {
        set_ssl_error(error, CHORUS_DTLS_ERROR_FAILED, "P-256 key generation");
        return NULL;
    }
    X509 *x509 = make_self_signed(pkey);
    if (!x509) {
        set_ssl_error(error, CHORUS_DTLS_ERROR_FAILED, "self-signed certificate");
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return cert_new(x509, pkey, error);
}

ChorusDtlsCert *chorus_dtls_cert_load(const char *cert_pem_path, const char *key_pem_path,
                                      GError **error)
{
    g_return_val_if_fail(cert_pem_path && key_pem_path, NULL);
    X509 *x509 = NULL;
    EVP_PKEY *pkey = NULL;
    BIO *bio = BIO_new_file(cert_pem_path, "r");
    if (bio)
        x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!x509) {
        set_ssl_error(error, CHORUS_DTLS_ERROR_FILE, cert_pem_path);
        return NULL;
    }
    bio = BIO_new_file(key_pem_path, "r");
    if (bio)
        pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!pkey) {
        set_ssl_error(error, CHORUS_DTLS_ERROR_FILE, key_pem_path);
        X509_free(x509);
        return NULL;
    }
    if (X509_check_private_key(x509, pkey) != 1) {
        ERR_clear_error();
        g_set_error(error, CHORUS_DTLS_ERROR, CHORUS_DTLS_ERROR_KEY,
                    "%s: the private key does not match the certificate %s", key_pem_path,
                    cert_pem_path);
        X509_free(x509);
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return cert_new(x509, pkey, error);
}

ChorusDtlsCert *chorus_dtls_cert_ref(ChorusDtlsCert *cert)
{
    g_return_val_if_fail(cert, NULL);
    g_atomic_int_inc(&cert->refs);
    return cert;
}

void chorus_dtls_cert_unref(ChorusDtlsCert *cert)
{
    if (!cert || !g_atomic_int_dec_and_test(&cert->refs))
        return;
    SSL_CTX_free(cert->ssl_ctx);
    X509_free(cert->x509);
    EVP_PKEY_free(cert->pkey);
    g_free(cert);
}

const char *chorus_dtls_cert_fingerprint(const ChorusDtlsCert *cert)
{
    g_return_val_if_fail(cert, NULL);
    return cert->fingerprint;
}

struct ssl_ctx_st *chorus_dtls_cert_ssl_ctx(const ChorusDtlsCert *cert)
{
    g_return_val_if_fail(cert, NULL);
    return cert->ssl_ctx;
}
