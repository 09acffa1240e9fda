/* SRTP/SRTCP AEAD_AES_128_GCM (RFC 7714) on OpenSSL EVP: see srtp_gcm.h. The packet
 * index logic mirrors libsrtp2's (rdbx for SRTP, rdb for SRTCP) so that both ends of a
 * session, whichever library they use, pick the same rollover counter and call the
 * same packets replays. Per-packet functions: no allocation, no lock, no log. */
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_MAJOR >= 3
#include <openssl/core_names.h>
#include <openssl/params.h>
#endif
#include <srtp2/srtp.h> /* the srtp_err_status_t values only; no libsrtp call here */

#include "net/srtp_gcm.h"

#define RTP_HDR_LEN     12
#define RTCP_HDR_LEN    8
#define IV_LEN          12
#define TAG_LEN         CHORUS_SRTP_GCM_TAG_LEN
#define TRAILER_LEN     CHORUS_SRTP_GCM_SRTCP_INDEX
#define SEQ_MEDIAN      0x8000      /* half the 16-bit sequence space */
#define SRTCP_E_FLAG    0x80000000u /* the E (encrypted) bit of the SRTCP trailer */
#define SRTCP_INDEX_MAX 0x7fffffffu
#define MAX_PACKET      ((size_t)INT_MAX / 2) /* keeps every length an int for EVP */
#define MAX_KDF_OUT     64
#define PRF_SALT_LEN    14 /* the AES-CM PRF's 112-bit salt field */
#define RTP_WORDS       (CHORUS_SRTP_GCM_RTP_WINDOW / 64)
#define RTCP_WORDS      (CHORUS_SRTP_GCM_RTCP_WINDOW / 64)

G_STATIC_ASSERT(CHORUS_SRTP_GCM_RTP_WINDOW % 64 == 0 && CHORUS_SRTP_GCM_RTCP_WINDOW % 64 == 0);
G_STATIC_ASSERT((CHORUS_SRTP_GCM_RTP_WINDOW & (CHORUS_SRTP_GCM_RTP_WINDOW - 1)) == 0);
G_STATIC_ASSERT((CHORUS_SRTP_GCM_RTCP_WINDOW & (CHORUS_SRTP_GCM_RTCP_WINDOW - 1)) == 0);

/* RFC 3711 section 4.3.1 labels (RFC 7714 section 11 uses the same). */
enum {
    LABEL_RTP_KEY = 0x00,
    LABEL_RTP_SALT = 0x02,
    LABEL_RTCP_KEY = 0x03,
    LABEL_RTCP_SALT = 0x05,
};

#define ERR(name) (-(int)srtp_err_status_##name)

/* One SSRC's state. SRTP indexes are ROC << 16 | SEQ (48 bits). A replay window holds
 * one bit per index in (top - W, top], bit (index mod W), like a ring. */
typedef struct {
    uint64_t rtp_top;  /* highest SRTP index received (inbound) or sent (outbound) */
    uint64_t rtcp_top; /* inbound: highest SRTCP index received; starts at W - 1 */
    uint64_t last_use; /* least-recently-used stamp */
    uint64_t rtp_seen[RTP_WORDS];
    uint64_t rtcp_seen[RTCP_WORDS];
} Stream;

struct ChorusSrtpGcm {
    EVP_CIPHER_CTX *rtp;  /* keyed with the SRTP session key, re-IV'd per packet */
    EVP_CIPHER_CTX *rtcp; /* keyed with the SRTCP session key */
    uint8_t rtp_salt[CHORUS_SRTP_GCM_SALT_LEN];
    uint8_t rtcp_salt[CHORUS_SRTP_GCM_SALT_LEN];
    ChorusSrtpGcmDirection dir;
    uint32_t rtcp_next; /* outbound: SRTCP index of the next packet */
    uint64_t clock;     /* LRU clock, one tick per packet */
    unsigned n_streams;
    unsigned hint; /* the stream the last packet used */
    uint32_t ssrcs[CHORUS_SRTP_GCM_MAX_SSRCS];
    Stream streams[CHORUS_SRTP_GCM_MAX_SSRCS];
};

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- key derivation (creation time only) ------------------------------------------ */

gboolean chorus_srtp_kdf(const uint8_t master_key[CHORUS_SRTP_GCM_KEY_LEN],
                         const uint8_t *master_salt, size_t salt_len, uint8_t label, uint8_t *out,
                         size_t out_len)
{
    if (!master_key || !master_salt || !out || salt_len > PRF_SALT_LEN || out_len == 0 ||
        out_len > MAX_KDF_OUT)
        return FALSE;
    /* AES-CM keystream with IV = x * 2^16, x = (label || r) XOR salt right-aligned in
     * 112 bits (r = 0 for rate 0): label lands on byte 7; block j has j in bytes 14-15.
     * A 12-byte GCM salt is zero-padded on the right to 14, as libsrtp2 does. */
    uint8_t in[MAX_KDF_OUT], stream[MAX_KDF_OUT];
    size_t blocks = (out_len + 15) / 16;
    memset(in, 0, sizeof(in));
    for (size_t b = 0; b < blocks; b++) {
        uint8_t *x = in + 16 * b;
        memcpy(x, master_salt, salt_len);
        x[7] ^= label;
        x[14] = (uint8_t)(b >> 8);
        x[15] = (uint8_t)b;
    }
    gboolean ok = FALSE;
    int n = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c && EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, master_key, NULL) == 1 &&
        EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
        EVP_EncryptUpdate(c, stream, &n, in, (int)(16 * blocks)) == 1 && n == (int)(16 * blocks)) {
        memcpy(out, stream, out_len);
        ok = TRUE;
    }
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(in, sizeof(in));
    OPENSSL_cleanse(stream, sizeof(stream));
    return ok;
}

/* ---- contexts ------------------------------------------------------------------------ */

static EVP_CIPHER_CTX *gcm_ctx_new(ChorusSrtpGcmDirection dir, const uint8_t *key)
{
    int enc = dir == CHORUS_SRTP_GCM_OUTBOUND;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c && EVP_CipherInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL, enc) == 1 &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, IV_LEN, NULL) == 1 &&
        EVP_CipherInit_ex(c, NULL, NULL, key, NULL, enc) == 1)
        return c;
    EVP_CIPHER_CTX_free(c);
    return NULL;
}

ChorusSrtpGcm *chorus_srtp_gcm_new_session(ChorusSrtpGcmDirection dir,
                                           const uint8_t rtp_key[CHORUS_SRTP_GCM_KEY_LEN],
                                           const uint8_t rtp_salt[CHORUS_SRTP_GCM_SALT_LEN],
                                           const uint8_t rtcp_key[CHORUS_SRTP_GCM_KEY_LEN],
                                           const uint8_t rtcp_salt[CHORUS_SRTP_GCM_SALT_LEN])
{
    if (!rtp_key || !rtp_salt || !rtcp_key || !rtcp_salt ||
        (dir != CHORUS_SRTP_GCM_OUTBOUND && dir != CHORUS_SRTP_GCM_INBOUND))
        return NULL;
    ChorusSrtpGcm *g = g_new0(ChorusSrtpGcm, 1);
    g->dir = dir;
    g->rtcp_next = 1; /* libsrtp2 numbers SRTCP packets from 1 */
    memcpy(g->rtp_salt, rtp_salt, sizeof(g->rtp_salt));
    memcpy(g->rtcp_salt, rtcp_salt, sizeof(g->rtcp_salt));
    g->rtp = gcm_ctx_new(dir, rtp_key);
    g->rtcp = gcm_ctx_new(dir, rtcp_key);
    if (!g->rtp || !g->rtcp) {
        chorus_srtp_gcm_free(g);
        return NULL;
    }
    return g;
}

ChorusSrtpGcm *chorus_srtp_gcm_new(ChorusSrtpGcmDirection dir,
                                   const uint8_t master_key[CHORUS_SRTP_GCM_KEY_LEN],
                                   const uint8_t master_salt[CHORUS_SRTP_GCM_SALT_LEN])
{
    if (!master_key || !master_salt)
        return NULL;
    enum { K = CHORUS_SRTP_GCM_KEY_LEN, S = CHORUS_SRTP_GCM_SALT_LEN };
    uint8_t rtp_key[K], rtp_salt[S], rtcp_key[K], rtcp_salt[S];
    ChorusSrtpGcm *g = NULL;
    if (chorus_srtp_kdf(master_key, master_salt, S, LABEL_RTP_KEY, rtp_key, K) &&
        chorus_srtp_kdf(master_key, master_salt, S, LABEL_RTP_SALT, rtp_salt, S) &&
        chorus_srtp_kdf(master_key, master_salt, S, LABEL_RTCP_KEY, rtcp_key, K) &&
        chorus_srtp_kdf(master_key, master_salt, S, LABEL_RTCP_SALT, rtcp_salt, S))
        g = chorus_srtp_gcm_new_session(dir, rtp_key, rtp_salt, rtcp_key, rtcp_salt);
    OPENSSL_cleanse(rtp_key, sizeof(rtp_key));
    OPENSSL_cleanse(rtp_salt, sizeof(rtp_salt));
    OPENSSL_cleanse(rtcp_key, sizeof(rtcp_key));
    OPENSSL_cleanse(rtcp_salt, sizeof(rtcp_salt));
    return g;
}

void chorus_srtp_gcm_free(ChorusSrtpGcm *g)
{
    if (!g)
        return;
    EVP_CIPHER_CTX_free(g->rtp); /* clears the key schedule */
    EVP_CIPHER_CTX_free(g->rtcp);
    OPENSSL_cleanse(g, sizeof(*g));
    g_free(g);
}

void chorus_srtp_gcm_set_next_rtcp_index(ChorusSrtpGcm *g, uint32_t index)
{
    if (g && index <= SRTCP_INDEX_MAX)
        g->rtcp_next = index;
}

/* ---- per packet: no allocation, no lock, no log -------------------------------------- */

/* The SSRC's stream, or -1. */
static int stream_find(ChorusSrtpGcm *g, uint32_t ssrc)
{
    if (g->hint < g->n_streams && g->ssrcs[g->hint] == ssrc)
        return (int)g->hint;
    for (unsigned i = 0; i < g->n_streams; i++) {
        if (g->ssrcs[i] == ssrc) {
            g->hint = i;
            return (int)i;
        }
    }
    return -1;
}

static void stream_reset(Stream *s)
{
    memset(s, 0, sizeof(*s));
    s->rtcp_top = CHORUS_SRTP_GCM_RTCP_WINDOW - 1; /* libsrtp's rdb: window [0, W-1] */
}

/* A fresh stream for ssrc: a free entry, else the least recently used one. */
static Stream *stream_claim(ChorusSrtpGcm *g, uint32_t ssrc)
{
    unsigned i;
    if (g->n_streams < CHORUS_SRTP_GCM_MAX_SSRCS) {
        i = g->n_streams++;
    } else {
        i = 0;
        for (unsigned j = 1; j < g->n_streams; j++)
            if (g->streams[j].last_use < g->streams[i].last_use)
                i = j;
    }
    g->ssrcs[i] = ssrc;
    g->hint = i;
    stream_reset(&g->streams[i]);
    return &g->streams[i];
}

/* RFC 3711 appendix A as libsrtp2 computes it: the index of seq nearest to top. While
 * top is in the first half of ROC 0, the ROC is taken as 0 (never 0xffffffff). */
static uint64_t estimate_index(uint64_t top, uint16_t seq)
{
    if (top <= SEQ_MEDIAN)
        return seq;
    uint32_t roc = (uint32_t)(top >> 16);
    int top_seq = (uint16_t)top;
    if (top_seq < SEQ_MEDIAN) {
        if ((int)seq - top_seq > SEQ_MEDIAN)
            roc--;
    } else if (top_seq - SEQ_MEDIAN > (int)seq) {
        roc++;
    }
    return (uint64_t)roc << 16 | seq;
}

static inline unsigned bit_of(uint64_t index, unsigned window)
{
    return (unsigned)(index & (window - 1));
}

/* 0 if index may be accepted, else the negative replay status. */
static int window_check(const uint64_t *seen, unsigned window, uint64_t top, uint64_t index)
{
    if (index > top)
        return 0;
    if (top - index >= window)
        return ERR(replay_old);
    unsigned b = bit_of(index, window);
    return (seen[b / 64] >> (b % 64)) & 1 ? ERR(replay_fail) : 0;
}

static void window_add(uint64_t *seen, unsigned window, uint64_t *top, uint64_t index)
{
    if (index > *top) {
        if (index - *top >= window) {
            memset(seen, 0, window / 8);
        } else {
            /* The slots of the indexes now skipped held bits from a window ago. */
            for (uint64_t i = *top + 1; i < index; i++) {
                unsigned b = bit_of(i, window);
                seen[b / 64] &= ~(UINT64_C(1) << (b % 64));
            }
        }
        *top = index;
    }
    unsigned b = bit_of(index, window);
    seen[b / 64] |= UINT64_C(1) << (b % 64);
}

/* RFC 7714 section 8.1: (00 00 || SSRC || ROC || SEQ) XOR salt. */
static void rtp_iv(uint8_t iv[IV_LEN], const uint8_t salt[IV_LEN], const uint8_t *ssrc,
                   uint64_t index)
{
    uint8_t in[IV_LEN] = {0};
    memcpy(in + 2, ssrc, 4);
    wr32(in + 6, (uint32_t)(index >> 16));
    in[10] = (uint8_t)(index >> 8);
    in[11] = (uint8_t)index;
    for (int i = 0; i < IV_LEN; i++)
        iv[i] = in[i] ^ salt[i];
}

/* RFC 7714 section 9.1: (00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR salt. */
static void rtcp_iv(uint8_t iv[IV_LEN], const uint8_t salt[IV_LEN], const uint8_t *ssrc,
                    uint32_t index)
{
    uint8_t in[IV_LEN] = {0};
    memcpy(in + 2, ssrc, 4);
    wr32(in + 8, index & SRTCP_INDEX_MAX);
    for (int i = 0; i < IV_LEN; i++)
        iv[i] = in[i] ^ salt[i];
}

/* The tag after EVP_EncryptFinal_ex, and the expected one before EVP_DecryptFinal_ex.
 * With OpenSSL 3 the parameter is passed directly: EVP_CIPHER_CTX_ctrl would build the
 * same OSSL_PARAM and dispatch it (about 30 ns more per packet here). */
static int gcm_get_tag(EVP_CIPHER_CTX *c, uint8_t *tag)
{
#if OPENSSL_VERSION_MAJOR >= 3
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, TAG_LEN),
                       OSSL_PARAM_construct_end()};
    return EVP_CIPHER_CTX_get_params(c, p) == 1;
#else
    return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) == 1;
#endif
}

static int gcm_set_tag(EVP_CIPHER_CTX *c, uint8_t *tag)
{
#if OPENSSL_VERSION_MAJOR >= 3
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, TAG_LEN),
                       OSSL_PARAM_construct_end()};
    return EVP_CIPHER_CTX_set_params(c, p) == 1;
#else
    return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) == 1;
#endif
}

/* Encrypts data in place after authenticating aad1 || aad2; writes the tag. */
static int gcm_seal(EVP_CIPHER_CTX *c, const uint8_t *iv, const uint8_t *aad1, size_t aad1_len,
                    const uint8_t *aad2, size_t aad2_len, uint8_t *data, size_t data_len,
                    uint8_t *tag)
{
    int n;
    if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1 ||
        (aad1_len && EVP_EncryptUpdate(c, NULL, &n, aad1, (int)aad1_len) != 1) ||
        (aad2_len && EVP_EncryptUpdate(c, NULL, &n, aad2, (int)aad2_len) != 1) ||
        (data_len && EVP_EncryptUpdate(c, data, &n, data, (int)data_len) != 1) ||
        EVP_EncryptFinal_ex(c, data + data_len, &n) != 1 || !gcm_get_tag(c, tag))
        return ERR(cipher_fail);
    return 0;
}

/* Decrypts data in place; auth_fail unless the tag (compared by OpenSSL in constant
 * time) matches aad1 || aad2 || data. */
static int gcm_open(EVP_CIPHER_CTX *c, const uint8_t *iv, const uint8_t *aad1, size_t aad1_len,
                    const uint8_t *aad2, size_t aad2_len, uint8_t *data, size_t data_len,
                    const uint8_t *tag)
{
    uint8_t t[TAG_LEN];
    int n;
    memcpy(t, tag, TAG_LEN);
    if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) != 1 ||
        (aad1_len && EVP_DecryptUpdate(c, NULL, &n, aad1, (int)aad1_len) != 1) ||
        (aad2_len && EVP_DecryptUpdate(c, NULL, &n, aad2, (int)aad2_len) != 1) ||
        (data_len && EVP_DecryptUpdate(c, data, &n, data, (int)data_len) != 1) ||
        !gcm_set_tag(c, t))
        return ERR(cipher_fail);
    return EVP_DecryptFinal_ex(c, data + data_len, &n) == 1 ? 0 : ERR(auth_fail);
}

/* The RTP header's length: 12 bytes, the CSRCs and the header extension. */
static int rtp_header_len(const uint8_t *buf, size_t len, size_t *hlen)
{
    if (len < RTP_HDR_LEN)
        return ERR(bad_param);
    size_t h = RTP_HDR_LEN + 4u * (buf[0] & 0x0f);
    if (buf[0] & 0x10) {
        if (h + 4 > len)
            return ERR(parse_err);
        h += 4 + 4u * rd16(buf + h + 2);
    }
    if (h > len)
        return ERR(parse_err);
    *hlen = h;
    return 0;
}

int chorus_srtp_gcm_protect_rtp(ChorusSrtpGcm *g, uint8_t *buf, size_t *len, size_t cap)
{
    size_t hlen;
    if (!g || !buf || !len || g->dir != CHORUS_SRTP_GCM_OUTBOUND || *len > MAX_PACKET ||
        cap < *len + TAG_LEN)
        return ERR(bad_param);
    int r = rtp_header_len(buf, *len, &hlen);
    if (r)
        return r;
    uint32_t ssrc = rd32(buf + 8);
    int i = stream_find(g, ssrc);
    Stream *s = i >= 0 ? &g->streams[i] : stream_claim(g, ssrc);
    /* No replay check: a retransmission re-protects the same index (same bytes). */
    uint64_t index = estimate_index(s->rtp_top, rd16(buf + 2));
    uint8_t iv[IV_LEN];
    rtp_iv(iv, g->rtp_salt, buf + 8, index);
    r = gcm_seal(g->rtp, iv, buf, hlen, NULL, 0, buf + hlen, *len - hlen, buf + *len);
    if (r)
        return r;
    if (index > s->rtp_top)
        s->rtp_top = index;
    s->last_use = ++g->clock;
    *len += TAG_LEN;
    return 0;
}

int chorus_srtp_gcm_unprotect_rtp(ChorusSrtpGcm *g, uint8_t *buf, size_t *len)
{
    size_t hlen;
    if (!g || !buf || !len || g->dir != CHORUS_SRTP_GCM_INBOUND || *len > MAX_PACKET)
        return ERR(bad_param);
    int r = rtp_header_len(buf, *len, &hlen);
    if (r)
        return r;
    if (*len - hlen < TAG_LEN)
        return ERR(parse_err);
    uint32_t ssrc = rd32(buf + 8);
    int i = stream_find(g, ssrc);
    /* An unknown SSRC is looked at as a fresh stream, but only takes a table entry
     * once its packet authenticates: forged SSRCs cannot evict real ones. */
    uint64_t index = estimate_index(i >= 0 ? g->streams[i].rtp_top : 0, rd16(buf + 2));
    if (i >= 0) {
        r = window_check(g->streams[i].rtp_seen, CHORUS_SRTP_GCM_RTP_WINDOW, g->streams[i].rtp_top,
                         index);
        if (r)
            return r;
    }
    uint8_t iv[IV_LEN];
    rtp_iv(iv, g->rtp_salt, buf + 8, index);
    size_t data_len = *len - hlen - TAG_LEN;
    r = gcm_open(g->rtp, iv, buf, hlen, NULL, 0, buf + hlen, data_len, buf + hlen + data_len);
    if (r)
        return r;
    Stream *s = i >= 0 ? &g->streams[i] : stream_claim(g, ssrc);
    window_add(s->rtp_seen, CHORUS_SRTP_GCM_RTP_WINDOW, &s->rtp_top, index);
    s->last_use = ++g->clock;
    *len -= TAG_LEN;
    return 0;
}

int chorus_srtp_gcm_protect_rtcp(ChorusSrtpGcm *g, uint8_t *buf, size_t *len, size_t cap)
{
    if (!g || !buf || !len || g->dir != CHORUS_SRTP_GCM_OUTBOUND || *len < RTCP_HDR_LEN ||
        *len > MAX_PACKET || cap < *len + TAG_LEN + TRAILER_LEN)
        return ERR(bad_param);
    if (g->rtcp_next > SRTCP_INDEX_MAX)
        return ERR(key_expired);
    /* RFC 7714 section 9: header (8) || ciphertext || tag || E=1 || index; the AAD is
     * the header and the trailer word. */
    uint8_t trailer[TRAILER_LEN], iv[IV_LEN];
    wr32(trailer, SRTCP_E_FLAG | g->rtcp_next);
    rtcp_iv(iv, g->rtcp_salt, buf + 4, g->rtcp_next);
    size_t n = *len;
    int r = gcm_seal(g->rtcp, iv, buf, RTCP_HDR_LEN, trailer, TRAILER_LEN, buf + RTCP_HDR_LEN,
                     n - RTCP_HDR_LEN, buf + n);
    if (r)
        return r;
    memcpy(buf + n + TAG_LEN, trailer, TRAILER_LEN);
    g->rtcp_next++;
    *len = n + TAG_LEN + TRAILER_LEN;
    return 0;
}

int chorus_srtp_gcm_unprotect_rtcp(ChorusSrtpGcm *g, uint8_t *buf, size_t *len)
{
    if (!g || !buf || !len || g->dir != CHORUS_SRTP_GCM_INBOUND || *len > MAX_PACKET ||
        *len < RTCP_HDR_LEN + TAG_LEN + TRAILER_LEN)
        return ERR(bad_param);
    size_t body = *len - TAG_LEN - TRAILER_LEN; /* header + (cipher)text */
    const uint8_t *trailer = buf + *len - TRAILER_LEN;
    uint32_t word = rd32(trailer);
    uint32_t index = word & SRTCP_INDEX_MAX;
    uint32_t ssrc = rd32(buf + 4);
    int i = stream_find(g, ssrc);
    if (i >= 0) {
        int r = window_check(g->streams[i].rtcp_seen, CHORUS_SRTP_GCM_RTCP_WINDOW,
                             g->streams[i].rtcp_top, index);
        if (r)
            return r;
    }
    uint8_t iv[IV_LEN];
    rtcp_iv(iv, g->rtcp_salt, buf + 4, index);
    int r;
    if (word & SRTCP_E_FLAG)
        r = gcm_open(g->rtcp, iv, buf, RTCP_HDR_LEN, trailer, TRAILER_LEN, buf + RTCP_HDR_LEN,
                     body - RTCP_HDR_LEN, buf + body);
    else /* E=0 (RFC 7714 section 9.2): the whole packet is authenticated, in clear */
        r = gcm_open(g->rtcp, iv, buf, body, trailer, TRAILER_LEN, buf + body, 0, buf + body);
    if (r)
        return r;
    Stream *s = i >= 0 ? &g->streams[i] : stream_claim(g, ssrc);
    window_add(s->rtcp_seen, CHORUS_SRTP_GCM_RTCP_WINDOW, &s->rtcp_top, index);
    s->last_use = ++g->clock;
    *len = body;
    return 0;
}
