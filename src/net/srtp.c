/* SRTP/SRTCP for one PeerConnection: one inbound and one outbound session. GCM runs on
 * OpenSSL directly (srtp_gcm.c), because Debian's libsrtp2 is built on NSS, which sets
 * up a PK11 context and makes five heap allocations per packet and direction (about
 * 3.4x the CPU, bench/srtp_bench.c). AES-CM-80 runs on libsrtp2 (2.x int-length API),
 * and so does GCM when CHORUS_SRTP_BACKEND=libsrtp2 (for comparison). The code here
 * neither allocates per packet (libsrtp clones its template once per new SSRC; NSS
 * inside libsrtp2 does allocate) nor logs. */
#include <pthread.h>
#include <limits.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "net/srtp.h"
#include "net/srtp_gcm.h"
#include "util/log.h"

#define TAG "srtp"

G_DEFINE_QUARK(chorus - srtp - error, chorus_srtp_error)

#define SRTP_REPLAY_WINDOW 1024
#define SRTCP_INDEX_LEN    4 /* E flag + 31-bit SRTCP index after the payload */

G_STATIC_ASSERT(CHORUS_SRTP_MAX_TRAILER >= SRTP_MAX_TRAILER_LEN + SRTCP_INDEX_LEN);
G_STATIC_ASSERT(CHORUS_SRTP_MAX_KEY + CHORUS_SRTP_MAX_SALT >= SRTP_AES_ICM_128_KEY_LEN_WSALT);
G_STATIC_ASSERT(CHORUS_SRTP_MAX_TRAILER >= CHORUS_SRTP_GCM_TAG_LEN + CHORUS_SRTP_GCM_SRTCP_INDEX);
G_STATIC_ASSERT(CHORUS_SRTP_GCM_SALT_LEN == SRTP_AEAD_SALT_LEN);

/* Either the two libsrtp2 sessions or the two OpenSSL GCM directions are set. */
struct ChorusSrtp {
    srtp_t in;  /* remote key, any inbound SSRC */
    srtp_t out; /* local key, any outbound SSRC */
    ChorusSrtpGcm *gcm_in;
    ChorusSrtpGcm *gcm_out;
    ChorusSrtpProfile profile;
};

static srtp_err_status_t srtp_init_status;

static void srtp_init_once(void)
{
    srtp_init_status = srtp_init();
}

gboolean chorus_srtp_global_init(GError **error)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT; /* visible to TSan, unlike g_once */
    pthread_once(&once, srtp_init_once);
    if (srtp_init_status != srtp_err_status_ok) {
        g_set_error(error, CHORUS_SRTP_ERROR, CHORUS_SRTP_ERROR_INIT, "srtp_init failed: %d",
                    (int)srtp_init_status);
        return FALSE;
    }
    return TRUE;
}

/* Fills the crypto policies for a profile; FALSE if the key sizes do not fit it. */
static gboolean policy_for(const ChorusSrtpKeys *keys, srtp_policy_t *p)
{
    switch (keys->profile) {
    case CHORUS_SRTP_AEAD_AES_128_GCM: /* RFC 7714: 16-byte key, 12-byte salt, 16-byte tag */
        if (keys->key_len != SRTP_AES_128_KEY_LEN || keys->salt_len != SRTP_AEAD_SALT_LEN)
            return FALSE;
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
        return TRUE;
    case CHORUS_SRTP_AES128_CM_SHA1_80: /* RFC 3711 default: 16-byte key, 14-byte salt */
        if (keys->key_len != SRTP_AES_128_KEY_LEN || keys->salt_len != SRTP_SALT_LEN)
            return FALSE;
        srtp_crypto_policy_set_rtp_default(&p->rtp);
        srtp_crypto_policy_set_rtcp_default(&p->rtcp);
        return TRUE;
    default:
        return FALSE;
    }
}

static srtp_err_status_t session_new(srtp_t *session, const srtp_policy_t *base,
                                     srtp_ssrc_type_t type, uint8_t *key)
{
    srtp_policy_t p = *base;
    p.ssrc.type = type;
    p.ssrc.value = 0;
    p.key = key;
    return srtp_create(session, &p);
}

/* CHORUS_SRTP_BACKEND: unset or "openssl" (GCM on OpenSSL), "libsrtp2" (everything on
 * libsrtp2). Read at each creation, so a process can hold both (tests, benchmarks). */
static gboolean gcm_on_openssl(void)
{
    static gint warned;
    const char *v = g_getenv("CHORUS_SRTP_BACKEND");
    if (!v || !*v || g_ascii_strcasecmp(v, "openssl") == 0)
        return TRUE;
    if (g_ascii_strcasecmp(v, "libsrtp2") == 0 || g_ascii_strcasecmp(v, "libsrtp") == 0)
        return FALSE;
    if (g_atomic_int_compare_and_exchange(&warned, 0, 1))
        LOG_W(TAG, "CHORUS_SRTP_BACKEND=%s is neither openssl nor libsrtp2: using openssl", v);
    return TRUE;
}

static ChorusSrtp *gcm_new(const ChorusSrtpKeys *keys, GError **error)
{
    const uint8_t *lk = keys->local_key, *rk = keys->remote_key;
    ChorusSrtp *s = g_new0(ChorusSrtp, 1);
    s->profile = keys->profile;
    s->gcm_out = chorus_srtp_gcm_new(CHORUS_SRTP_GCM_OUTBOUND, lk, lk + keys->key_len);
    s->gcm_in = chorus_srtp_gcm_new(CHORUS_SRTP_GCM_INBOUND, rk, rk + keys->key_len);
    if (!s->gcm_out || !s->gcm_in) {
        g_set_error(error, CHORUS_SRTP_ERROR, CHORUS_SRTP_ERROR_CREATE,
                    "OpenSSL AES-128-GCM context setup failed");
        chorus_srtp_free(s);
        return NULL;
    }
    return s;
}

ChorusSrtp *chorus_srtp_new(const ChorusSrtpKeys *keys, GError **error)
{
    g_return_val_if_fail(keys, NULL);
    if (!chorus_srtp_global_init(error))
        return NULL;
    srtp_policy_t policy;
    memset(&policy, 0, sizeof(policy));
    if (!policy_for(keys, &policy)) {
        g_set_error(error, CHORUS_SRTP_ERROR, CHORUS_SRTP_ERROR_KEYS,
                    "SRTP profile %d with a %zu-byte key and %zu-byte salt is not supported",
                    (int)keys->profile, keys->key_len, keys->salt_len);
        return NULL;
    }
    if (keys->profile == CHORUS_SRTP_AEAD_AES_128_GCM && gcm_on_openssl())
        return gcm_new(keys, error); /* lengths checked by policy_for: 16 + 12 */
    policy.window_size = SRTP_REPLAY_WINDOW;
    policy.allow_repeat_tx = 1; /* NACK retransmissions re-protect the same packet */
    policy.next = NULL;

    /* libsrtp reads key || salt from one buffer; it derives session keys at create. */
    uint8_t local[CHORUS_SRTP_MAX_KEY + CHORUS_SRTP_MAX_SALT];
    uint8_t remote[CHORUS_SRTP_MAX_KEY + CHORUS_SRTP_MAX_SALT];
    memcpy(local, keys->local_key, sizeof(local));
    memcpy(remote, keys->remote_key, sizeof(remote));

    ChorusSrtp *s = g_new0(ChorusSrtp, 1);
    s->profile = keys->profile;
    srtp_err_status_t st = session_new(&s->in, &policy, ssrc_any_inbound, remote);
    const char *which = "inbound";
    if (st == srtp_err_status_ok) {
        st = session_new(&s->out, &policy, ssrc_any_outbound, local);
        which = "outbound";
    }
    explicit_bzero(local, sizeof(local));
    explicit_bzero(remote, sizeof(remote));
    if (st != srtp_err_status_ok) {
        g_set_error(error, CHORUS_SRTP_ERROR, CHORUS_SRTP_ERROR_CREATE,
                    "srtp_create (%s) failed: %d", which, (int)st);
        chorus_srtp_free(s);
        return NULL;
    }
    return s;
}

void chorus_srtp_free(ChorusSrtp *s)
{
    if (!s)
        return;
    if (s->in)
        srtp_dealloc(s->in);
    if (s->out)
        srtp_dealloc(s->out);
    chorus_srtp_gcm_free(s->gcm_in);
    chorus_srtp_gcm_free(s->gcm_out);
    g_free(s);
}

ChorusSrtpProfile chorus_srtp_profile(const ChorusSrtp *s)
{
    return s ? s->profile : CHORUS_SRTP_NONE;
}

const char *chorus_srtp_backend_name(const ChorusSrtp *s)
{
    if (!s)
        return "none";
    return s->gcm_out ? "openssl-gcm" : "libsrtp2";
}

/* ---- per packet: no allocation, no logging ----------------------------------------- */

static int status_to_ret(srtp_err_status_t st)
{
    return st == srtp_err_status_ok ? 0 : -(int)st;
}

int chorus_srtp_protect_rtp(ChorusSrtp *s, uint8_t *buf, size_t *len, size_t cap)
{
    if (!s || !buf || !len || *len > INT_MAX - SRTP_MAX_TRAILER_LEN ||
        cap < *len + SRTP_MAX_TRAILER_LEN)
        return -(int)srtp_err_status_bad_param;
    if (s->gcm_out)
        return chorus_srtp_gcm_protect_rtp(s->gcm_out, buf, len, cap);
    int n = (int)*len;
    srtp_err_status_t st = srtp_protect(s->out, buf, &n);
    if (st == srtp_err_status_ok)
        *len = (size_t)n;
    return status_to_ret(st);
}

int chorus_srtp_protect_rtcp(ChorusSrtp *s, uint8_t *buf, size_t *len, size_t cap)
{
    if (!s || !buf || !len || *len > INT_MAX - CHORUS_SRTP_MAX_TRAILER ||
        cap < *len + CHORUS_SRTP_MAX_TRAILER)
        return -(int)srtp_err_status_bad_param;
    if (s->gcm_out)
        return chorus_srtp_gcm_protect_rtcp(s->gcm_out, buf, len, cap);
    int n = (int)*len;
    srtp_err_status_t st = srtp_protect_rtcp(s->out, buf, &n);
    if (st == srtp_err_status_ok)
        *len = (size_t)n;
    return status_to_ret(st);
}

int chorus_srtp_unprotect_rtp(ChorusSrtp *s, uint8_t *buf, size_t *len)
{
    if (!s || !buf || !len || *len > INT_MAX)
        return -(int)srtp_err_status_bad_param;
    if (s->gcm_in)
        return chorus_srtp_gcm_unprotect_rtp(s->gcm_in, buf, len);
    int n = (int)*len;
    srtp_err_status_t st = srtp_unprotect(s->in, buf, &n);
    if (st == srtp_err_status_ok)
        *len = (size_t)n;
    return status_to_ret(st);
}

int chorus_srtp_unprotect_rtcp(ChorusSrtp *s, uint8_t *buf, size_t *len)
{
    if (!s || !buf || !len || *len > INT_MAX)
        return -(int)srtp_err_status_bad_param;
    if (s->gcm_in)
        return chorus_srtp_gcm_unprotect_rtcp(s->gcm_in, buf, len);
    int n = (int)*len;
    srtp_err_status_t st = srtp_unprotect_rtcp(s->in, buf, &n);
    if (st == srtp_err_status_ok)
        *len = (size_t)n;
    return status_to_ret(st);
}
