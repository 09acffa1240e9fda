/* DTLS-SRTP for one PeerConnection (RFC 5763/5764, DTLS 1.2 on OpenSSL 3.0).
 *
 * Bytes in: a memory BIO; each datagram from ICE is written to it and the SSL object
 * consumes it at once. Bytes out: a small sink BIO of our own. OpenSSL packs DTLS
 * records into datagrams by asking the BIO how much is pending (BIO_wpending) and
 * flushing it when the next record would not fit the MTU, so the sink keeps one
 * datagram's worth of records and sends it through cb->send on flush or when full:
 * record boundaries are kept, a datagram never exceeds the MTU (except an oversized
 * application record, sent alone), and nothing per connection is bigger than one
 * datagram. (A BIO_s_mem write side would merge every pending record into one byte
 * stream in OpenSSL 3.0, which has no datagram memory BIO.)
 *
 * Everything runs on the worker's GMainContext; a custom GSource with a ready time
 * drives handshake retransmissions and the overall handshake deadline. */
#include <pthread.h>
#include <limits.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/dtls.h"
#include "util/log.h"

#define TAG "dtls"

#define DTLS_MTU              1200 /* UDP payload: fits TURN and IPv6 tunnels */
#define DTLS_HANDSHAKE_US     (30 * G_USEC_PER_SEC)
#define DTLS_RTX_INITIAL_US   500000u
#define DTLS_RTX_MAX_US       8000000u
#define DTLS_MAX_PLAINTEXT    16384 /* a DTLS record carries at most 2^14 bytes */
#define DTLS_MAX_RECORDS_READ 256   /* per incoming datagram, a bound for the loop */
#define SRTP_EXPORT_LABEL     "EXTRACTOR-dtls_srtp"
#define SRTP_KEY_LEN          16

struct ChorusDtls {
    ChorusDtlsCert *cert;
    SSL *ssl;
    BIO *rbio; /* owned by ssl */
    ChorusDtlsRole role;
    ChorusDtlsState state;
    char *remote_fp;
    GSource *timer;
    gint64 deadline; /* monotonic µs: handshake gives up */
    ChorusDtlsCallbacks cb;
    void *user;
    int busy;      /* nesting depth of our entry points */
    gboolean dead; /* chorus_dtls_free was called */
    char alert[96];
    size_t pack_len;
    uint8_t pack[DTLS_MTU];
    uint8_t app[DTLS_MAX_PLAINTEXT];
};

/* ---- SRTP profiles ----------------------------------------------------------------- */

typedef struct {
    ChorusSrtpProfile profile;
    const char *name;    /* ours */
    const char *openssl; /* use_srtp name */
    unsigned long id;    /* RFC 5764 / RFC 7714 profile id */
    size_t salt_len;
} ProfileInfo;

static const ProfileInfo profile_info[] = {
    {CHORUS_SRTP_AEAD_AES_128_GCM, "AEAD_AES_128_GCM", "SRTP_AEAD_AES_128_GCM", 0x0007, 12},
    {CHORUS_SRTP_AES128_CM_SHA1_80, "AES128_CM_SHA1_80", "SRTP_AES128_CM_SHA1_80", 0x0001, 14},
};

static const ProfileInfo *profile_find(ChorusSrtpProfile p)
{
    for (size_t i = 0; i < G_N_ELEMENTS(profile_info); i++)
        if (profile_info[i].profile == p)
            return &profile_info[i];
    return NULL;
}

const char *chorus_srtp_profile_name(ChorusSrtpProfile p)
{
    const ProfileInfo *info = profile_find(p);
    return info ? info->name : "NONE";
}

ChorusSrtpProfile chorus_srtp_profile_parse(const char *name)
{
    if (!name)
        return CHORUS_SRTP_NONE;
    if (g_ascii_strncasecmp(name, "SRTP_", 5) == 0)
        name += 5;
    for (size_t i = 0; i < G_N_ELEMENTS(profile_info); i++)
        if (g_ascii_strcasecmp(name, profile_info[i].name) == 0)
            return profile_info[i].profile;
    if (g_ascii_strcasecmp(name, "AES_CM_128_HMAC_SHA1_80") == 0)
        return CHORUS_SRTP_AES128_CM_SHA1_80;
    return CHORUS_SRTP_NONE;
}

/* "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80" in the given order; NULL if none. */
static char *profiles_to_openssl(const ChorusSrtpProfile *profiles)
{
    static const ChorusSrtpProfile defaults[] = {CHORUS_SRTP_AEAD_AES_128_GCM,
                                                 CHORUS_SRTP_AES128_CM_SHA1_80, CHORUS_SRTP_NONE};
    if (!profiles || profiles[0] == CHORUS_SRTP_NONE)
        profiles = defaults;
    GString *s = g_string_new(NULL);
    for (size_t i = 0; profiles[i] != CHORUS_SRTP_NONE && i < 8; i++) {
        const ProfileInfo *info = profile_find(profiles[i]);
        if (!info || strstr(s->str, info->openssl))
            continue;
        if (s->len)
            g_string_append_c(s, ':');
        g_string_append(s, info->openssl);
    }
    if (s->len == 0) {
        g_string_free(s, TRUE);
        return NULL;
    }
    return g_string_free(s, FALSE);
}

/* ---- lifetime and state ------------------------------------------------------------ */

/* The handshake is over (connected or failed): its timer goes for good, so the worker's
 * loop has one source less to walk per PeerConnection on every wake-up. Safe from the
 * timer's own callback (GLib holds the source while it dispatches). */
static void dtls_drop_timer(ChorusDtls *d)
{
    if (d->timer) {
        g_source_destroy(d->timer);
        g_source_unref(d->timer);
        d->timer = NULL;
    }
}

static void dtls_destroy(ChorusDtls *d)
{
    dtls_drop_timer(d);
    SSL_free(d->ssl);
    chorus_dtls_cert_unref(d->cert);
    g_free(d->remote_fp);
    g_free(d);
}

static void dtls_enter(ChorusDtls *d)
{
    d->busy++;
}

/* Leaves an entry point; d may be gone afterwards. */
static void dtls_leave(ChorusDtls *d)
{
    if (--d->busy == 0 && d->dead)
        dtls_destroy(d);
}

/* FAILED or CLOSED, once; tells the user unless freed. */
static void dtls_finish(ChorusDtls *d, ChorusDtlsState state, const char *reason)
{
    if (d->state == CHORUS_DTLS_FAILED || d->state == CHORUS_DTLS_CLOSED)
        return;
    d->state = state;
    dtls_drop_timer(d);
    LOG_I(TAG, "%s: %s", state == CHORUS_DTLS_FAILED ? "failed" : "closed", reason);
    if (!d->dead && d->cb.on_state)
        d->cb.on_state(d->user, state, reason);
}

/* After an SSL call returned r <= 0: TRUE if it only wants more input. Otherwise the
 * connection FAILS with the alert or OpenSSL's reason. */
static gboolean dtls_check_error(ChorusDtls *d, int r, const char *what)
{
    int e = SSL_get_error(d->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return TRUE;
    if (e == SSL_ERROR_ZERO_RETURN) {
        dtls_finish(d, CHORUS_DTLS_CLOSED, "DTLS close_notify received");
        return FALSE;
    }
    char reason[320];
    if (d->alert[0]) {
        g_strlcpy(reason, d->alert, sizeof(reason));
    } else {
        char err[256] = "no error queued";
        unsigned long code = ERR_peek_last_error();
        if (code)
            ERR_error_string_n(code, err, sizeof(err));
        g_snprintf(reason, sizeof(reason), "DTLS %s failed: %s", what, err);
    }
    ERR_clear_error();
    dtls_finish(d, CHORUS_DTLS_FAILED, reason);
    return FALSE;
}

/* ---- output: a sink BIO packing records into datagrams ------------------------------ */

static void dtls_emit(ChorusDtls *d, const uint8_t *buf, size_t len)
{
    if (d->cb.send)
        d->cb.send(d->user, buf, len);
}

static void dtls_send_pack(ChorusDtls *d)
{
    if (d->pack_len == 0)
        return;
    size_t len = d->pack_len;
    d->pack_len = 0;
    dtls_emit(d, d->pack, len);
}

static int sink_write(BIO *bio, const char *data, int len)
{
    ChorusDtls *d = BIO_get_data(bio);
    if (!d || len <= 0)
        return 0;
    size_t n = (size_t)len;
    if (d->pack_len + n > sizeof(d->pack))
        dtls_send_pack(d);
    if (n > sizeof(d->pack))
        dtls_emit(d, (const uint8_t *)data, n);
    else {
        memcpy(d->pack + d->pack_len, data, n);
        d->pack_len += n;
    }
    return len;
}

static long sink_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
    ChorusDtls *d = BIO_get_data(bio);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        if (d)
            dtls_send_pack(d);
        return 1;
    case BIO_CTRL_WPENDING:
        return d ? (long)d->pack_len : 0;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return DTLS_MTU;
    default:
        return 0; /* PENDING, MTU overhead, timeouts...: nothing to report */
    }
}

static int sink_create(BIO *bio)
{
    BIO_set_init(bio, 1);
    return 1;
}

static BIO_METHOD *sink_method_ptr;

static void sink_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "chorus-dtls");
    if (m && (!BIO_meth_set_write(m, sink_write) || !BIO_meth_set_ctrl(m, sink_ctrl) ||
              !BIO_meth_set_create(m, sink_create))) {
        BIO_meth_free(m);
        m = NULL;
    }
    sink_method_ptr = m;
}

/* pthread_once rather than g_once: ThreadSanitizer sees its ordering (GLib is not
 * instrumented). */
static BIO_METHOD *sink_method(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sink_method_init);
    return sink_method_ptr;
}

/* ---- handshake --------------------------------------------------------------------- */

/* Next wake-up: OpenSSL's retransmission timer or the handshake deadline. */
static void dtls_arm(ChorusDtls *d)
{
    if (d->state != CHORUS_DTLS_CONNECTING || !d->timer)
        return;
    gint64 when = d->deadline;
    struct timeval tv;
    if (DTLSv1_get_timeout(d->ssl, &tv) == 1) {
        gint64 t = g_get_monotonic_time() + (gint64)tv.tv_sec * G_USEC_PER_SEC + tv.tv_usec;
        if (t < when)
            when = t;
    }
    g_source_set_ready_time(d->timer, when);
}

static gboolean dtls_export_keys(ChorusDtls *d, ChorusSrtpKeys *keys, const char **why)
{
    const SRTP_PROTECTION_PROFILE *sp = SSL_get_selected_srtp_profile(d->ssl);
    const ProfileInfo *info = NULL;
    for (size_t i = 0; sp && i < G_N_ELEMENTS(profile_info); i++)
        if (profile_info[i].id == sp->id)
            info = &profile_info[i];
    if (!info) {
        *why = "DTLS-SRTP: no SRTP profile negotiated";
        return FALSE;
    }
    /* RFC 5764 4.2: client key | server key | client salt | server salt */
    const size_t kl = SRTP_KEY_LEN, sl = info->salt_len;
    uint8_t m[2 * (CHORUS_SRTP_MAX_KEY + CHORUS_SRTP_MAX_SALT)];
    if (SSL_export_keying_material(d->ssl, m, 2 * (kl + sl), SRTP_EXPORT_LABEL,
                                   strlen(SRTP_EXPORT_LABEL), NULL, 0, 0) != 1) {
        ERR_clear_error();
        *why = "DTLS-SRTP: key export failed";
        return FALSE;
    }
    memset(keys, 0, sizeof(*keys));
    keys->profile = info->profile;
    keys->key_len = kl;
    keys->salt_len = sl;
    gboolean client = d->role == CHORUS_DTLS_ROLE_CLIENT;
    uint8_t *ck = client ? keys->local_key : keys->remote_key;
    uint8_t *sk = client ? keys->remote_key : keys->local_key;
    memcpy(ck, m, kl);
    memcpy(sk, m + kl, kl);
    memcpy(ck + kl, m + 2 * kl, sl);
    memcpy(sk + kl, m + 2 * kl + sl, sl);
    OPENSSL_cleanse(m, sizeof(m));
    return TRUE;
}

static void dtls_read_app(ChorusDtls *d);

static void dtls_handshake_done(ChorusDtls *d)
{
    dtls_drop_timer(d);
    char actual[CHORUS_DTLS_FINGERPRINT_MAX];
    X509 *peer = SSL_get0_peer_certificate(d->ssl);
    if (!chorus_dtls_fingerprint_check(peer, d->remote_fp, actual, sizeof(actual))) {
        LOG_W(TAG, "peer certificate fingerprint mismatch: expected \"%s\", got \"%s\"",
              d->remote_fp, peer ? actual : "(no certificate)");
        dtls_finish(d, CHORUS_DTLS_FAILED, "DTLS fingerprint mismatch");
        return;
    }
    ChorusSrtpKeys keys;
    const char *why = NULL;
    if (!dtls_export_keys(d, &keys, &why)) {
        dtls_finish(d, CHORUS_DTLS_FAILED, why);
        return;
    }
    d->state = CHORUS_DTLS_CONNECTED;
    LOG_V(TAG, "connected as %s: %s, SRTP %s",
          d->role == CHORUS_DTLS_ROLE_CLIENT ? "client" : "server", SSL_get_cipher_name(d->ssl),
          chorus_srtp_profile_name(keys.profile));
    if (!d->dead && d->cb.on_connected)
        d->cb.on_connected(d->user, &keys);
    OPENSSL_cleanse(&keys, sizeof(keys));
    if (!d->dead && d->state == CHORUS_DTLS_CONNECTED)
        dtls_read_app(d); /* records that came in the same datagram as the last flight */
}

static void dtls_handshake_step(ChorusDtls *d)
{
    ERR_clear_error();
    int r = SSL_do_handshake(d->ssl);
    (void)BIO_flush(SSL_get_wbio(d->ssl));
    if (r == 1)
        dtls_handshake_done(d);
    else if (dtls_check_error(d, r, "handshake"))
        dtls_arm(d);
}

static gboolean dtls_on_timer(gpointer data)
{
    ChorusDtls *d = data;
    dtls_enter(d);
    g_source_set_ready_time(d->timer, -1);
    if (d->state == CHORUS_DTLS_CONNECTING) {
        if (g_get_monotonic_time() >= d->deadline) {
            dtls_finish(d, CHORUS_DTLS_FAILED, "DTLS handshake timeout");
        } else {
            ERR_clear_error();
            int r = DTLSv1_handle_timeout(d->ssl); /* retransmits the last flight */
            (void)BIO_flush(SSL_get_wbio(d->ssl));
            if (r < 0) {
                ERR_clear_error();
                dtls_finish(d, CHORUS_DTLS_FAILED, "DTLS handshake timeout");
            } else {
                dtls_arm(d);
            }
        }
    }
    dtls_leave(d);
    return G_SOURCE_CONTINUE;
}

static gboolean timer_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
    return callback ? callback(data) : G_SOURCE_REMOVE;
}

static GSourceFuncs timer_funcs = {.dispatch = timer_dispatch};

/* Retransmission timeouts: 0.5 s, doubling up to 8 s (OpenSSL's default starts at 1 s
 * and climbs to 60 s, too slow for call setup on a lossy mobile link). */
static unsigned int dtls_rtx_timer(SSL *ssl, unsigned int previous_us)
{
    if (previous_us == 0)
        return DTLS_RTX_INITIAL_US;
    return previous_us >= DTLS_RTX_MAX_US / 2 ? DTLS_RTX_MAX_US : previous_us * 2;
}

static void dtls_info(const SSL *ssl, int where, int ret)
{
    if (!(where & SSL_CB_ALERT) || (ret >> 8) != SSL3_AL_FATAL)
        return;
    ChorusDtls *d = SSL_get_app_data(ssl);
    if (d && !d->alert[0])
        g_snprintf(d->alert, sizeof(d->alert), "DTLS alert %s: %s",
                   (where & SSL_CB_READ) ? "received" : "sent", SSL_alert_desc_string_long(ret));
}

/* ---- connection -------------------------------------------------------------------- */

static SSL *dtls_make_ssl(ChorusDtls *d, const ChorusSrtpProfile *profiles)
{
    BIO_METHOD *method = sink_method();
    char *srtp = profiles_to_openssl(profiles);
    SSL *ssl = srtp && method ? SSL_new(chorus_dtls_cert_ssl_ctx(d->cert)) : NULL;
    BIO *rbio = ssl ? BIO_new(BIO_s_mem()) : NULL;
    BIO *wbio = rbio ? BIO_new(method) : NULL;
    if (!wbio || SSL_set_tlsext_use_srtp(ssl, srtp) != 0 /* 0 is success */) {
        BIO_free(rbio);
        BIO_free(wbio);
        SSL_free(ssl);
        g_free(srtp);
        ERR_clear_error();
        return NULL;
    }
    g_free(srtp);
    BIO_set_mem_eof_return(rbio, -1); /* empty: "try again", not end of file */
    BIO_set_data(wbio, d);
    SSL_set_bio(ssl, rbio, wbio);
    d->rbio = rbio;
    SSL_set_app_data(ssl, d);
    SSL_set_info_callback(ssl, dtls_info);
    DTLS_set_timer_cb(ssl, dtls_rtx_timer);
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(ssl, DTLS_MTU);
    if (d->role == CHORUS_DTLS_ROLE_CLIENT)
        SSL_set_connect_state(ssl);
    else
        SSL_set_accept_state(ssl);
    return ssl;
}

ChorusDtls *chorus_dtls_new(ChorusDtlsCert *cert, ChorusDtlsRole role,
                            const char *remote_fingerprint, const ChorusSrtpProfile *profiles,
                            GMainContext *ctx, const ChorusDtlsCallbacks *cb, void *user)
{
    g_return_val_if_fail(cert && ctx && cb, NULL);
    if (!chorus_dtls_fingerprint_valid(remote_fingerprint)) {
        LOG_W(TAG, "unusable remote fingerprint \"%s\"",
              remote_fingerprint ? remote_fingerprint : "(none)");
        return NULL;
    }
    ChorusDtls *d = g_new0(ChorusDtls, 1);
    d->cert = chorus_dtls_cert_ref(cert);
    d->role = role;
    d->state = CHORUS_DTLS_NEW;
    d->remote_fp = g_strdup(remote_fingerprint);
    d->cb = *cb;
    d->user = user;
    d->ssl = dtls_make_ssl(d, profiles);
    if (!d->ssl) {
        LOG_W(TAG, "cannot create a DTLS connection (SSL setup failed)");
        dtls_destroy(d);
        return NULL;
    }
    d->timer = g_source_new(&timer_funcs, sizeof(GSource));
    g_source_set_name(d->timer, "chorus-dtls-timer");
    g_source_set_callback(d->timer, dtls_on_timer, d, NULL);
    g_source_set_ready_time(d->timer, -1);
    g_source_attach(d->timer, ctx);
    return d;
}

void chorus_dtls_start(ChorusDtls *dtls)
{
    if (!dtls || dtls->dead || dtls->state != CHORUS_DTLS_NEW)
        return;
    dtls->state = CHORUS_DTLS_CONNECTING;
    dtls->deadline = g_get_monotonic_time() + DTLS_HANDSHAKE_US;
    if (dtls->role == CHORUS_DTLS_ROLE_CLIENT) {
        dtls_enter(dtls);
        dtls_handshake_step(dtls); /* ClientHello */
        dtls_leave(dtls);
    } else {
        dtls_arm(dtls);
    }
}

/* Application records, until the memory BIO is empty. */
static void dtls_read_app(ChorusDtls *d)
{
    for (int i = 0; i < DTLS_MAX_RECORDS_READ; i++) {
        ERR_clear_error();
        int n = SSL_read(d->ssl, d->app, sizeof(d->app));
        if (n > 0) {
            if (d->cb.on_data)
                d->cb.on_data(d->user, d->app, (size_t)n);
            if (d->dead || d->state != CHORUS_DTLS_CONNECTED)
                break;
            continue;
        }
        if (!dtls_check_error(d, n, "read") && d->state == CHORUS_DTLS_CLOSED)
            (void)SSL_shutdown(d->ssl); /* answer close_notify with ours */
        break;
    }
    (void)BIO_flush(SSL_get_wbio(d->ssl)); /* retransmitted flights, close_notify */
}

void chorus_dtls_incoming(ChorusDtls *dtls, const uint8_t *buf, size_t len)
{
    if (!dtls || dtls->dead || !buf || len == 0 || len > INT_MAX)
        return;
    if (dtls->state == CHORUS_DTLS_NEW && dtls->role == CHORUS_DTLS_ROLE_SERVER)
        chorus_dtls_start(dtls);
    if (dtls->state != CHORUS_DTLS_CONNECTING && dtls->state != CHORUS_DTLS_CONNECTED)
        return;
    dtls_enter(dtls);
    if (BIO_write(dtls->rbio, buf, (int)len) == (int)len) {
        if (dtls->state == CHORUS_DTLS_CONNECTING)
            dtls_handshake_step(dtls);
        else
            dtls_read_app(dtls);
    }
    /* Whatever a failed or closed connection left unread is dropped. */
    if (dtls->state != CHORUS_DTLS_CONNECTING && dtls->state != CHORUS_DTLS_CONNECTED)
        (void)BIO_reset(dtls->rbio);
    dtls_leave(dtls);
}

int chorus_dtls_send(ChorusDtls *dtls, const uint8_t *buf, size_t len)
{
    if (!dtls || dtls->dead || dtls->state != CHORUS_DTLS_CONNECTED || !buf || len == 0 ||
        len > DTLS_MAX_PLAINTEXT)
        return -1;
    dtls_enter(dtls);
    ERR_clear_error();
    int n = SSL_write(dtls->ssl, buf, (int)len);
    (void)BIO_flush(SSL_get_wbio(dtls->ssl));
    if (n <= 0)
        ERR_clear_error(); /* a refused write does not end the connection */
    dtls_leave(dtls);
    return n > 0 ? n : -1;
}

ChorusDtlsState chorus_dtls_state(ChorusDtls *dtls)
{
    return dtls ? dtls->state : CHORUS_DTLS_CLOSED;
}

void chorus_dtls_free(ChorusDtls *dtls)
{
    if (!dtls || dtls->dead)
        return;
    dtls->dead = TRUE;
    dtls_drop_timer(dtls);
    if (dtls->state == CHORUS_DTLS_CONNECTED) {
        ERR_clear_error();
        (void)SSL_shutdown(dtls->ssl); /* close_notify */
        (void)BIO_flush(SSL_get_wbio(dtls->ssl));
        ERR_clear_error();
        dtls->state = CHORUS_DTLS_CLOSED;
    }
    memset(&dtls->cb, 0, sizeof(dtls->cb));
    if (dtls->busy == 0)
        dtls_destroy(dtls);
}
