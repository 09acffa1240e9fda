/* Unit tests: SRTP/SRTCP round trips, authentication, replay and trailer sizes for both
 * DTLS-SRTP profiles and both GCM backends, with keys as DTLS would export them; then
 * the OpenSSL AEAD_AES_128_GCM backend (srtp_gcm.c) against the references: the RFC 3711
 * key derivation and RFC 7714 packet vectors, byte-for-byte and two-way interop with
 * libsrtp2, and differential runs where libsrtp2 and the backend see the same packets
 * (reordered, duplicated, late, across sequence wraps) and must give the same verdicts. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <srtp2/srtp.h>

#include "net/srtp.h"
#include "net/srtp_gcm.h"

#define PAYLOAD_LEN 100
#define RTP_HDR_LEN 12
#define BUF_CAP     (RTP_HDR_LEN + PAYLOAD_LEN + CHORUS_SRTP_MAX_TRAILER)
#define BIG_CAP     1500
#define KEY_LEN     16
#define GCM_SALT    12
#define ERR(name)   (-(int)srtp_err_status_##name)

/* ---- variants: a profile and the backend CHORUS_SRTP_BACKEND selects ---------------- */

typedef struct {
    ChorusSrtpProfile profile;
    const char *env;     /* CHORUS_SRTP_BACKEND at creation (NULL: unset) */
    const char *backend; /* what chorus_srtp_backend_name must say */
} Variant;

static const Variant V_GCM = {CHORUS_SRTP_AEAD_AES_128_GCM, NULL, "openssl-gcm"};
static const Variant V_GCM_LIB = {CHORUS_SRTP_AEAD_AES_128_GCM, "libsrtp2", "libsrtp2"};
static const Variant V_CM = {CHORUS_SRTP_AES128_CM_SHA1_80, NULL, "libsrtp2"};

typedef struct {
    ChorusSrtp *sender;
    ChorusSrtp *receiver;
} Pair;

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        g_assert_true(g_ascii_isxdigit(p[0]) && g_ascii_isxdigit(p[1]));
        g_assert_cmpuint(n, <, cap);
        out[n++] = (uint8_t)(g_ascii_xdigit_value(p[0]) << 4 | g_ascii_xdigit_value(p[1]));
        p += 2;
    }
    return n;
}

/* The two ends of one DTLS-SRTP association: the sender's local key is the
 * receiver's remote key and the other way round. */
static void make_keys(ChorusSrtpProfile profile, ChorusSrtpKeys *a, ChorusSrtpKeys *b)
{
    memset(a, 0, sizeof(*a));
    a->profile = profile;
    a->key_len = 16;
    a->salt_len = profile == CHORUS_SRTP_AEAD_AES_128_GCM ? 12 : 14;
    fill(a->local_key, a->key_len + a->salt_len, 0x11);
    fill(a->remote_key, a->key_len + a->salt_len, 0x5a);
    *b = *a;
    memcpy(b->local_key, a->remote_key, sizeof(b->local_key));
    memcpy(b->remote_key, a->local_key, sizeof(b->remote_key));
}

/* A ChorusSrtp on the variant's backend (the variable is read at creation only). */
static ChorusSrtp *srtp_new_as(const ChorusSrtpKeys *keys, const Variant *v)
{
    GError *error = NULL;
    if (v->env)
        g_setenv("CHORUS_SRTP_BACKEND", v->env, TRUE);
    else
        g_unsetenv("CHORUS_SRTP_BACKEND");
    ChorusSrtp *s = chorus_srtp_new(keys, &error);
    g_unsetenv("CHORUS_SRTP_BACKEND");
    g_assert_no_error(error);
    g_assert_nonnull(s);
    g_assert_cmpstr(chorus_srtp_backend_name(s), ==, v->backend);
    g_assert_cmpint(chorus_srtp_profile(s), ==, keys->profile);
    return s;
}

static void pair_init(Pair *p, const Variant *v)
{
    ChorusSrtpKeys a, b;
    make_keys(v->profile, &a, &b);
    p->sender = srtp_new_as(&a, v);
    p->receiver = srtp_new_as(&b, v);
}

static void pair_clear(Pair *p)
{
    chorus_srtp_free(p->sender);
    chorus_srtp_free(p->receiver);
}

/* V=2, PT=111, the given seq, ts 0x1000, ssrc; then PAYLOAD_LEN bytes. */
static size_t make_rtp(uint8_t *buf, uint16_t seq, uint32_t ssrc)
{
    memset(buf, 0, BUF_CAP);
    buf[0] = 0x80;
    buf[1] = 111;
    wr16(buf + 2, seq);
    buf[6] = 0x10;
    wr32(buf + 8, ssrc);
    fill(buf + RTP_HDR_LEN, PAYLOAD_LEN, (uint8_t)seq);
    return RTP_HDR_LEN + PAYLOAD_LEN;
}

/* Any RTP shape: cc CSRCs, a one-byte header extension (RFC 8285) of ext_words words
 * (none if 0), payload_len bytes, and pad bytes of RTP padding (P bit). */
static size_t make_rtp_ex(uint8_t *buf, uint16_t seq, uint32_t ssrc, unsigned cc,
                          unsigned ext_words, size_t payload_len, unsigned pad)
{
    size_t n = 0;
    buf[n++] = (uint8_t)(0x80 | (pad ? 0x20 : 0) | (ext_words ? 0x10 : 0) | cc);
    buf[n++] = 0x80 | 111; /* marker */
    wr16(buf + n, seq);
    wr32(buf + n + 2, 0x12345678u + seq * 960u);
    wr32(buf + n + 6, ssrc);
    n += 10;
    for (unsigned i = 0; i < cc; i++, n += 4)
        wr32(buf + n, 0xc0000000u + i);
    if (ext_words) {
        wr16(buf + n, 0xbede);
        wr16(buf + n + 2, (uint16_t)ext_words);
        n += 4;
        fill(buf + n, 4 * ext_words, 0x21);
        buf[n] = 0x10; /* id 1, len 1: audio level */
        n += 4 * ext_words;
    }
    fill(buf + n, payload_len, (uint8_t)(seq ^ ssrc));
    n += payload_len;
    for (unsigned i = 0; i < pad; i++)
        buf[n++] = i + 1 == pad ? (uint8_t)pad : 0;
    return n;
}

/* An RTCP sender report (28 bytes) from ssrc. */
static size_t make_rtcp(uint8_t *buf, uint32_t ssrc)
{
    memset(buf, 0, BUF_CAP);
    buf[0] = 0x80;
    buf[1] = 200;
    buf[3] = 6;
    wr32(buf + 4, ssrc);
    fill(buf + 8, 20, 0x33);
    return 28;
}

/* A compound RTCP packet: SR with one report block, SDES CNAME, REMB-style PSFB. */
static size_t make_rtcp_compound(uint8_t *buf, uint32_t ssrc, uint8_t seed)
{
    uint8_t *sr = buf, *sdes = buf + 52, *psfb = buf + 72;
    sr[0] = 0x81; /* one report block */
    sr[1] = 200;
    wr16(sr + 2, 12);
    wr32(sr + 4, ssrc);
    fill(sr + 8, 44, seed);
    sdes[0] = 0x81;
    sdes[1] = 202;
    wr16(sdes + 2, 4);
    wr32(sdes + 4, ssrc);
    sdes[8] = 1; /* CNAME */
    sdes[9] = 8;
    memcpy(sdes + 10, "chorus01", 8);
    memset(sdes + 18, 0, 2);
    psfb[0] = 0x8f; /* FMT 15: application layer feedback */
    psfb[1] = 206;
    wr16(psfb + 2, 4);
    wr32(psfb + 4, ssrc);
    fill(psfb + 8, 12, (uint8_t)(seed + 1));
    return 92;
}

static size_t tag_len(ChorusSrtpProfile profile)
{
    return profile == CHORUS_SRTP_AEAD_AES_128_GCM ? 16 : 10;
}

/* ---- libsrtp2 sessions with raw keys (the reference) --------------------------------- */

static srtp_t lib_session(const uint8_t *key_salt, srtp_ssrc_type_t type, gboolean rtcp_clear)
{
    srtp_policy_t p;
    uint8_t key[KEY_LEN + GCM_SALT];
    memcpy(key, key_salt, sizeof(key));
    memset(&p, 0, sizeof(p));
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    if (rtcp_clear)
        p.rtcp.sec_serv = sec_serv_auth; /* SRTCP with E=0 */
    p.ssrc.type = type;
    p.key = key;
    p.window_size = 1024;
    p.allow_repeat_tx = 1;
    srtp_t s = NULL;
    g_assert_cmpint(srtp_create(&s, &p), ==, srtp_err_status_ok);
    return s;
}

static int lib_protect(srtp_t s, uint8_t *buf, size_t *len, gboolean rtcp)
{
    int n = (int)*len;
    srtp_err_status_t st = rtcp ? srtp_protect_rtcp(s, buf, &n) : srtp_protect(s, buf, &n);
    if (st == srtp_err_status_ok)
        *len = (size_t)n;
    return -(int)st;
}

static int lib_unprotect(srtp_t s, uint8_t *buf, size_t *len, gboolean rtcp)
{
    int n = (int)*len;
    srtp_err_status_t st = rtcp ? srtp_unprotect_rtcp(s, buf, &n) : srtp_unprotect(s, buf, &n);
    if (st == srtp_err_status_ok)
        *len = (size_t)n;
    return -(int)st;
}

/* The master key || salt both sides of the GCM tests use. */
static void gcm_master(uint8_t key_salt[KEY_LEN + GCM_SALT], uint8_t seed)
{
    fill(key_salt, KEY_LEN + GCM_SALT, seed);
}

/* ---- tests on every variant ------------------------------------------------------------ */

static const Variant *variant_of(gconstpointer data)
{
    return data;
}

static void test_rtp_roundtrip(gconstpointer data)
{
    ChorusSrtpProfile profile = variant_of(data)->profile;
    Pair p;
    pair_init(&p, variant_of(data));
    for (uint16_t seq = 1000; seq < 1010; seq++) {
        uint8_t buf[BUF_CAP], plain[BUF_CAP];
        size_t len = make_rtp(buf, seq, 0x01020304);
        memcpy(plain, buf, len);
        size_t plain_len = len;
        g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, buf, &len, sizeof(buf)), ==, 0);
        g_assert_cmpuint(len, ==, plain_len + tag_len(profile));
        g_assert_cmpmem(buf, RTP_HDR_LEN, plain, RTP_HDR_LEN); /* header stays clear */
        g_assert_true(memcmp(buf + RTP_HDR_LEN, plain + RTP_HDR_LEN, PAYLOAD_LEN) != 0);
        g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &len), ==, 0);
        g_assert_cmpmem(buf, len, plain, plain_len);
    }
    pair_clear(&p);
}

static void test_trailer_len(gconstpointer data)
{
    ChorusSrtpProfile profile = variant_of(data)->profile;
    Pair p;
    pair_init(&p, variant_of(data));
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, 1, 42);
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, buf, &len, sizeof(buf)), ==, 0);
    g_assert_cmpuint(len - (RTP_HDR_LEN + PAYLOAD_LEN), ==, tag_len(profile));
    len = make_rtcp(buf, 42);
    g_assert_cmpint(chorus_srtp_protect_rtcp(p.sender, buf, &len, sizeof(buf)), ==, 0);
    g_assert_cmpuint(len - 28, ==, tag_len(profile) + 4); /* + E flag and SRTCP index */
    pair_clear(&p);
}

static void test_tampered(gconstpointer data)
{
    Pair p;
    pair_init(&p, variant_of(data));
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, 7, 0xabcdef01);
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, buf, &len, sizeof(buf)), ==, 0);
    uint8_t copy[BUF_CAP];
    memcpy(copy, buf, len);
    /* One flipped bit in the payload, then in the header: both fail. */
    buf[RTP_HDR_LEN + 5] ^= 0x01;
    size_t l1 = len;
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &l1), ==, ERR(auth_fail));
    memcpy(buf, copy, len);
    buf[1] ^= 0x01; /* payload type */
    size_t l2 = len;
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &l2), ==, ERR(auth_fail));
    /* The untouched packet still passes: failures do not poison the stream. */
    size_t l3 = len;
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, copy, &l3), ==, 0);
    g_assert_cmpuint(l3, ==, RTP_HDR_LEN + PAYLOAD_LEN);
    pair_clear(&p);
}

/* Every single-bit change anywhere in an SRTP or SRTCP packet (header, CSRCs,
 * extension, payload, tag, E flag, index) is refused, and refusals change nothing. */
static void test_tampered_every_bit(gconstpointer data)
{
    Pair p;
    pair_init(&p, variant_of(data));
    uint8_t pkt[BIG_CAP], buf[BIG_CAP];
    const size_t hdr_len = RTP_HDR_LEN + 2 * 4 + 4 + 2 * 4; /* 2 CSRCs, 2-word extension */
    size_t len = make_rtp_ex(pkt, 4242, 0x0badcafe, 2, 2, 40, 0);
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, pkt, &len, sizeof(pkt)), ==, 0);
    for (size_t i = 0; i < len * 8; i++) {
        memcpy(buf, pkt, len);
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
        size_t l = len;
        int r = chorus_srtp_unprotect_rtp(p.receiver, buf, &l);
        if (i / 8 >= hdr_len)
            g_assert_cmpint(r, ==, ERR(auth_fail));
        else /* CC, X or the extension length: a parse error or an authentication one */
            g_assert_cmpint(r, <, 0);
    }
    size_t l = len;
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, pkt, &l), ==, 0);

    len = make_rtcp_compound(pkt, 0x0badcafe, 3);
    g_assert_cmpint(chorus_srtp_protect_rtcp(p.sender, pkt, &len, sizeof(pkt)), ==, 0);
    for (size_t i = 0; i < len * 8; i++) {
        memcpy(buf, pkt, len);
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
        size_t lr = len;
        g_assert_cmpint(chorus_srtp_unprotect_rtcp(p.receiver, buf, &lr), <, 0);
    }
    l = len;
    g_assert_cmpint(chorus_srtp_unprotect_rtcp(p.receiver, pkt, &l), ==, 0);
    pair_clear(&p);
}

static void test_replay(gconstpointer data)
{
    Pair p;
    pair_init(&p, variant_of(data));
    uint8_t buf[BUF_CAP], copy[BUF_CAP];
    size_t len = make_rtp(buf, 500, 0x55);
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, buf, &len, sizeof(buf)), ==, 0);
    memcpy(copy, buf, len);
    size_t l1 = len, l2 = len;
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &l1), ==, 0);
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, copy, &l2), ==, ERR(replay_fail));

    /* RTCP: the same SRTCP index twice is a replay too. */
    len = make_rtcp(buf, 0x55);
    g_assert_cmpint(chorus_srtp_protect_rtcp(p.sender, buf, &len, sizeof(buf)), ==, 0);
    memcpy(copy, buf, len);
    l1 = l2 = len;
    g_assert_cmpint(chorus_srtp_unprotect_rtcp(p.receiver, buf, &l1), ==, 0);
    g_assert_cmpint(chorus_srtp_unprotect_rtcp(p.receiver, copy, &l2), ==, ERR(replay_fail));
    pair_clear(&p);
}

/* The windows: 1024 SRTP indexes, 128 SRTCP indexes per SSRC. A packet just inside is
 * accepted once, one just outside is too old, whatever the backend. */
static void test_replay_window(gconstpointer data)
{
    Pair p;
    pair_init(&p, variant_of(data));
    enum { N = 1200, TOP = N - 1 };
    uint8_t(*pkts)[BUF_CAP] = g_malloc(sizeof(*pkts) * N);
    size_t *lens = g_new(size_t, N);
    for (int i = 0; i < N; i++) {
        lens[i] = make_rtp(pkts[i], (uint16_t)(3000 + i), 0x77);
        g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, pkts[i], &lens[i], BUF_CAP), ==, 0);
    }
    uint8_t buf[BUF_CAP];
    size_t l;
#define DELIVER(i, expect)                                                                         \
    do {                                                                                           \
        memcpy(buf, pkts[i], lens[i]);                                                             \
        l = lens[i];                                                                               \
        g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &l), ==, (expect));             \
    } while (0)
    DELIVER(TOP, 0);
    DELIVER(TOP - 1023, 0);                /* oldest index in the window */
    DELIVER(TOP - 1023, ERR(replay_fail)); /* ... once */
    DELIVER(TOP - 1024, ERR(replay_old));  /* just outside */
    DELIVER(TOP - 1100, ERR(replay_old));
    DELIVER(TOP - 500, 0);
    DELIVER(TOP, ERR(replay_fail));
    g_free(pkts);
    g_free(lens);

    /* SRTCP: indexes 1..200 protected; 200 first, then the edge of the window. */
    enum { R = 200 };
    uint8_t(*rtcp)[BUF_CAP] = g_malloc(sizeof(*rtcp) * R);
    size_t *rlen = g_new(size_t, R);
    for (int i = 0; i < R; i++) {
        rlen[i] = make_rtcp(rtcp[i], 0x77);
        g_assert_cmpint(chorus_srtp_protect_rtcp(p.sender, rtcp[i], &rlen[i], BUF_CAP), ==, 0);
    }
#define DELIVER_RTCP(i, expect)                                                                    \
    do {                                                                                           \
        memcpy(buf, rtcp[i], rlen[i]);                                                             \
        l = rlen[i];                                                                               \
        g_assert_cmpint(chorus_srtp_unprotect_rtcp(p.receiver, buf, &l), ==, (expect));            \
    } while (0)
    DELIVER_RTCP(R - 1, 0);
    DELIVER_RTCP(R - 128, 0);
    DELIVER_RTCP(R - 128, ERR(replay_fail));
    DELIVER_RTCP(R - 129, ERR(replay_old));
    DELIVER_RTCP(0, ERR(replay_old));
#undef DELIVER
#undef DELIVER_RTCP
    g_free(rtcp);
    g_free(rlen);
    pair_clear(&p);
}

/* A retransmission (NACK) protects the same RTP packet again: allowed on send. */
static void test_repeat_tx(gconstpointer data)
{
    Pair p;
    pair_init(&p, variant_of(data));
    uint8_t a[BUF_CAP], b[BUF_CAP];
    size_t la = make_rtp(a, 9, 0x77), lb = make_rtp(b, 9, 0x77);
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, a, &la, sizeof(a)), ==, 0);
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, b, &lb, sizeof(b)), ==, 0);
    g_assert_cmpmem(a, la, b, lb);
    pair_clear(&p);
}

/* Retransmitting a packet from before a sequence wrap after the wrap uses the old
 * rollover counter: the same bytes as the first time, accepted by a receiver that lost
 * the original. */
static void test_repeat_tx_across_wrap(gconstpointer data)
{
    Pair p;
    pair_init(&p, variant_of(data));
    uint8_t first[BUF_CAP], buf[BUF_CAP];
    size_t first_len = 0;
    for (uint32_t i = 0; i < 40; i++) {
        uint16_t seq = (uint16_t)(65516 + i); /* 65516 .. 65535, 0 .. 19 */
        size_t len = make_rtp(buf, seq, 0x4321);
        g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, buf, &len, sizeof(buf)), ==, 0);
        if (seq == 65530) { /* lost on the way */
            memcpy(first, buf, len);
            first_len = len;
            continue;
        }
        g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &len), ==, 0);
    }
    size_t len = make_rtp(buf, 65530, 0x4321);
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, buf, &len, sizeof(buf)), ==, 0);
    g_assert_cmpmem(buf, len, first, first_len);
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &len), ==, 0);
    g_assert_cmpuint(len, ==, RTP_HDR_LEN + PAYLOAD_LEN);
    len = make_rtp(buf, 20, 0x4321); /* and the stream goes on with ROC 1 */
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, buf, &len, sizeof(buf)), ==, 0);
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &len), ==, 0);
    pair_clear(&p);
}

static void test_rtcp_roundtrip(gconstpointer data)
{
    Pair p;
    pair_init(&p, variant_of(data));
    for (int i = 0; i < 5; i++) {
        uint8_t buf[BUF_CAP], plain[BUF_CAP];
        size_t len = make_rtcp(buf, 0x10203040u + (uint32_t)i);
        size_t plain_len = len;
        memcpy(plain, buf, len);
        g_assert_cmpint(chorus_srtp_protect_rtcp(p.sender, buf, &len, sizeof(buf)), ==, 0);
        g_assert_cmpuint(len, >, plain_len);
        g_assert_cmpint(chorus_srtp_unprotect_rtcp(p.receiver, buf, &len), ==, 0);
        g_assert_cmpmem(buf, len, plain, plain_len);
    }
    pair_clear(&p);
}

/* Each side decrypts only what the other side's local key protected. */
static void test_both_directions(gconstpointer data)
{
    Pair p;
    pair_init(&p, variant_of(data));
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, 1, 0x99);
    g_assert_cmpint(chorus_srtp_protect_rtp(p.receiver, buf, &len, sizeof(buf)), ==, 0);
    uint8_t copy[BUF_CAP];
    memcpy(copy, buf, len);
    size_t l1 = len;
    /* The receiver's own inbound context has the other key: auth fails. */
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, copy, &l1), <, 0);
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.sender, buf, &len), ==, 0);
    g_assert_cmpuint(len, ==, RTP_HDR_LEN + PAYLOAD_LEN);
    pair_clear(&p);
}

static void test_cap_too_small(gconstpointer data)
{
    Pair p;
    pair_init(&p, variant_of(data));
    uint8_t buf[BUF_CAP], plain[BUF_CAP];
    size_t len = make_rtp(buf, 1, 1);
    memcpy(plain, buf, len);
    size_t cap = len + SRTP_MAX_TRAILER_LEN - 1;
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, buf, &len, cap), ==, ERR(bad_param));
    g_assert_cmpuint(len, ==, RTP_HDR_LEN + PAYLOAD_LEN);
    g_assert_cmpmem(buf, len, plain, len);
    len = make_rtcp(buf, 1);
    g_assert_cmpint(
        chorus_srtp_protect_rtcp(p.sender, buf, &len, len + CHORUS_SRTP_MAX_TRAILER - 1), ==,
        ERR(bad_param));
    g_assert_cmpuint(len, ==, 28);
    pair_clear(&p);
}

/* Truncated and malformed packets are refused without reading past them. */
static void test_malformed(gconstpointer data)
{
    Pair p;
    pair_init(&p, variant_of(data));
    uint8_t buf[BIG_CAP];
    size_t len;
    for (size_t n = 0; n < RTP_HDR_LEN; n++) {
        len = n;
        memset(buf, 0x80, sizeof(buf));
        g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &len), <, 0);
        len = n;
        g_assert_cmpint(chorus_srtp_unprotect_rtcp(p.receiver, buf, &len), <, 0);
    }
    /* A protected packet cut short anywhere, down to its bare header. */
    uint8_t pkt[BIG_CAP];
    size_t full = make_rtp_ex(pkt, 77, 0x3141, 1, 1, 30, 0);
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, pkt, &full, sizeof(pkt)), ==, 0);
    for (size_t n = 0; n < full; n++) {
        uint8_t *cut = g_memdup2(pkt, n ? n : 1); /* exact size: ASan sees overreads */
        len = n;
        g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, cut, &len), <, 0);
        g_free(cut);
    }
    full = make_rtcp_compound(pkt, 0x3141, 1);
    g_assert_cmpint(chorus_srtp_protect_rtcp(p.sender, pkt, &full, sizeof(pkt)), ==, 0);
    for (size_t n = 0; n < full; n++) {
        uint8_t *cut = g_memdup2(pkt, n ? n : 1);
        len = n;
        g_assert_cmpint(chorus_srtp_unprotect_rtcp(p.receiver, cut, &len), <, 0);
        g_free(cut);
    }
    /* Random junk of every length. */
    GRand *rng = g_rand_new_with_seed(7714);
    for (int i = 0; i < 4000; i++) {
        size_t n = (size_t)g_rand_int_range(rng, 0, 200);
        uint8_t *junk = g_malloc(n ? n : 1);
        for (size_t k = 0; k < n; k++)
            junk[k] = (uint8_t)g_rand_int(rng);
        len = n;
        if (i & 1)
            g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, junk, &len), <, 0);
        else
            g_assert_cmpint(chorus_srtp_unprotect_rtcp(p.receiver, junk, &len), <, 0);
        g_free(junk);
    }
    g_rand_free(rng);
    pair_clear(&p);
}

static void test_bad_keys(void)
{
    ChorusSrtpKeys a, b;
    GError *error = NULL;
    make_keys(CHORUS_SRTP_AEAD_AES_128_GCM, &a, &b);
    a.salt_len = 14; /* GCM needs 12 */
    g_assert_null(chorus_srtp_new(&a, &error));
    g_assert_error(error, CHORUS_SRTP_ERROR, CHORUS_SRTP_ERROR_KEYS);
    g_clear_error(&error);
    a.profile = CHORUS_SRTP_NONE;
    g_assert_null(chorus_srtp_new(&a, &error));
    g_assert_error(error, CHORUS_SRTP_ERROR, CHORUS_SRTP_ERROR_KEYS);
    g_clear_error(&error);
    g_assert_cmpint(chorus_srtp_profile(NULL), ==, CHORUS_SRTP_NONE);
    g_assert_cmpstr(chorus_srtp_backend_name(NULL), ==, "none");
    chorus_srtp_free(NULL);
}

/* CHORUS_SRTP_BACKEND picks the GCM implementation; AES-CM is always libsrtp2. */
static void test_backend_choice(void)
{
    ChorusSrtpKeys a, b;
    make_keys(CHORUS_SRTP_AEAD_AES_128_GCM, &a, &b);
    const Variant openssl_named = {CHORUS_SRTP_AEAD_AES_128_GCM, "openssl", "openssl-gcm"};
    const Variant cm_forced = {CHORUS_SRTP_AES128_CM_SHA1_80, "openssl", "libsrtp2"};
    chorus_srtp_free(srtp_new_as(&a, &V_GCM));
    chorus_srtp_free(srtp_new_as(&a, &V_GCM_LIB));
    chorus_srtp_free(srtp_new_as(&a, &openssl_named));
    if (g_test_subprocess()) { /* an unknown value warns once and keeps OpenSSL */
        const Variant junk = {CHORUS_SRTP_AEAD_AES_128_GCM, "nss", "openssl-gcm"};
        chorus_srtp_free(srtp_new_as(&a, &junk));
        chorus_srtp_free(srtp_new_as(&a, &junk));
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*CHORUS_SRTP_BACKEND=nss*");
    make_keys(CHORUS_SRTP_AES128_CM_SHA1_80, &a, &b);
    chorus_srtp_free(srtp_new_as(&a, &cm_forced));
}

/* ---- the OpenSSL GCM backend against references ---------------------------------------- */

/* RFC 3711 appendix B.3 (AES-CM PRF, 14-byte salt). */
static void test_kdf_rfc3711(void)
{
    uint8_t key[16], salt[14], out[64], want[64];
    unhex("E1F97A0D3E018BE0D64FA32C06DE4139", key, sizeof(key));
    unhex("0EC675AD498AFEEBB6960B3AABE6", salt, sizeof(salt));
    g_assert_true(chorus_srtp_kdf(key, salt, 14, 0x00, out, 16));
    g_assert_cmpmem(out, 16, want, unhex("C61E7A93744F39EE10734AFE3FF7A087", want, 64));
    g_assert_true(chorus_srtp_kdf(key, salt, 14, 0x02, out, 14));
    g_assert_cmpmem(out, 14, want, unhex("30CBBC08863D8C85D49DB34A9AE1", want, 64));
    g_assert_true(chorus_srtp_kdf(key, salt, 14, 0x01, out, 20));
    g_assert_cmpmem(out, 20, want, unhex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4", want, 64));
    /* Longer outputs run the counter: the 20 bytes are a prefix of 64. */
    g_assert_true(chorus_srtp_kdf(key, salt, 14, 0x01, out, 64));
    g_assert_cmpmem(out, 20, want, 20);
    g_assert_false(chorus_srtp_kdf(key, salt, 15, 0x00, out, 16));
    g_assert_false(chorus_srtp_kdf(key, salt, 14, 0x00, out, 65));
    g_assert_false(chorus_srtp_kdf(key, salt, 14, 0x00, out, 0));
}

/* RFC 7714 sections 16 and 17: session key 00..0f, salt "Quid pro quo". */
#define V_KEY         "000102030405060708090a0b0c0d0e0f"
#define V_SALT        "517569642070726f2071756f"
#define V_RTP_HDR     "8040f17b 8041f8d3 5501a0b2"
#define V_RTP_PAYLOAD "Gallia est omnis divisa in partes tres"
#define V_SRTP                                                                                     \
    "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f "            \
    "42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce"
#define V_RTCP                                                                                     \
    "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef "            \
    "deadbeef deadbeef deadbeef deadbeef"
#define V_SRTCP                                                                                    \
    "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 "            \
    "730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4"
#define V_SRTCP_CLEAR V_RTCP " 841dd968 3dd78ec9 2ae58790 125f62b3 000005d4"

static ChorusSrtpGcm *vector_ctx(ChorusSrtpGcmDirection dir)
{
    uint8_t key[16], salt[12];
    unhex(V_KEY, key, sizeof(key));
    unhex(V_SALT, salt, sizeof(salt));
    ChorusSrtpGcm *g = chorus_srtp_gcm_new_session(dir, key, salt, key, salt);
    g_assert_nonnull(g);
    return g;
}

static void test_rfc7714_srtp(void)
{
    uint8_t plain[128], want[128], buf[128];
    size_t plain_len = unhex(V_RTP_HDR, plain, sizeof(plain));
    memcpy(plain + plain_len, V_RTP_PAYLOAD, strlen(V_RTP_PAYLOAD));
    plain_len += strlen(V_RTP_PAYLOAD);
    size_t want_len = unhex(V_SRTP, want, sizeof(want));
    g_assert_cmpuint(want_len, ==, plain_len + 16);

    ChorusSrtpGcm *out = vector_ctx(CHORUS_SRTP_GCM_OUTBOUND);
    memcpy(buf, plain, plain_len);
    size_t len = plain_len;
    g_assert_cmpint(chorus_srtp_gcm_protect_rtp(out, buf, &len, sizeof(buf)), ==, 0);
    g_assert_cmpmem(buf, len, want, want_len);
    /* Wrong direction, short buffer. */
    len = plain_len;
    g_assert_cmpint(chorus_srtp_gcm_unprotect_rtp(out, buf, &len), ==, ERR(bad_param));
    memcpy(buf, plain, plain_len);
    g_assert_cmpint(chorus_srtp_gcm_protect_rtp(out, buf, &len, plain_len + 15), ==,
                    ERR(bad_param));
    chorus_srtp_gcm_free(out);

    ChorusSrtpGcm *in = vector_ctx(CHORUS_SRTP_GCM_INBOUND);
    for (size_t i = 0; i < want_len; i += 7) { /* tampered copies first: no state change */
        memcpy(buf, want, want_len);
        buf[i] ^= 0x40;
        len = want_len;
        g_assert_cmpint(chorus_srtp_gcm_unprotect_rtp(in, buf, &len), <, 0);
    }
    memcpy(buf, want, want_len);
    len = want_len;
    g_assert_cmpint(chorus_srtp_gcm_protect_rtp(in, buf, &len, sizeof(buf)), ==, ERR(bad_param));
    g_assert_cmpint(chorus_srtp_gcm_unprotect_rtp(in, buf, &len), ==, 0);
    g_assert_cmpmem(buf, len, plain, plain_len);
    memcpy(buf, want, want_len);
    len = want_len;
    g_assert_cmpint(chorus_srtp_gcm_unprotect_rtp(in, buf, &len), ==, ERR(replay_fail));
    chorus_srtp_gcm_free(in);
}

static void test_rfc7714_srtcp(void)
{
    uint8_t plain[128], want[128], clear[128], buf[128];
    size_t plain_len = unhex(V_RTCP, plain, sizeof(plain));
    size_t want_len = unhex(V_SRTCP, want, sizeof(want));
    size_t clear_len = unhex(V_SRTCP_CLEAR, clear, sizeof(clear));
    g_assert_cmpuint(want_len, ==, plain_len + 20);
    g_assert_cmpuint(clear_len, ==, plain_len + 20);

    ChorusSrtpGcm *out = vector_ctx(CHORUS_SRTP_GCM_OUTBOUND);
    chorus_srtp_gcm_set_next_rtcp_index(out, 0x5d4);
    memcpy(buf, plain, plain_len);
    size_t len = plain_len;
    g_assert_cmpint(chorus_srtp_gcm_protect_rtcp(out, buf, &len, sizeof(buf)), ==, 0);
    g_assert_cmpmem(buf, len, want, want_len);
    /* The last index there is, then no more. */
    chorus_srtp_gcm_set_next_rtcp_index(out, 0x7fffffff);
    memcpy(buf, plain, plain_len);
    len = plain_len;
    g_assert_cmpint(chorus_srtp_gcm_protect_rtcp(out, buf, &len, sizeof(buf)), ==, 0);
    g_assert_cmpmem(buf + len - 4, 4, "\xff\xff\xff\xff", 4);
    memcpy(buf, plain, plain_len);
    len = plain_len;
    g_assert_cmpint(chorus_srtp_gcm_protect_rtcp(out, buf, &len, sizeof(buf)), ==,
                    ERR(key_expired));
    g_assert_cmpuint(len, ==, plain_len);
    chorus_srtp_gcm_free(out);

    ChorusSrtpGcm *in = vector_ctx(CHORUS_SRTP_GCM_INBOUND);
    memcpy(buf, want, want_len);
    buf[want_len - 1] ^= 1; /* another index: the IV and the AAD differ */
    len = want_len;
    g_assert_cmpint(chorus_srtp_gcm_unprotect_rtcp(in, buf, &len), ==, ERR(auth_fail));
    memcpy(buf, want, want_len);
    buf[want_len - 4] ^= 0x80; /* E flag cleared */
    len = want_len;
    g_assert_cmpint(chorus_srtp_gcm_unprotect_rtcp(in, buf, &len), ==, ERR(auth_fail));
    memcpy(buf, want, want_len);
    len = want_len;
    g_assert_cmpint(chorus_srtp_gcm_unprotect_rtcp(in, buf, &len), ==, 0);
    g_assert_cmpmem(buf, len, plain, plain_len);
    chorus_srtp_gcm_free(in);

    /* Section 17.3: E=0, authenticated only. */
    in = vector_ctx(CHORUS_SRTP_GCM_INBOUND);
    memcpy(buf, clear, clear_len);
    buf[20] ^= 1;
    len = clear_len;
    g_assert_cmpint(chorus_srtp_gcm_unprotect_rtcp(in, buf, &len), ==, ERR(auth_fail));
    memcpy(buf, clear, clear_len);
    len = clear_len;
    g_assert_cmpint(chorus_srtp_gcm_unprotect_rtcp(in, buf, &len), ==, 0);
    g_assert_cmpmem(buf, len, plain, plain_len);
    memcpy(buf, clear, clear_len);
    len = clear_len;
    g_assert_cmpint(chorus_srtp_gcm_unprotect_rtcp(in, buf, &len), ==, ERR(replay_fail));
    chorus_srtp_gcm_free(in);
}

/* The DTLS-shaped pair where one side is the OpenSSL backend and the other libsrtp2. */
typedef struct {
    ChorusSrtp *ours;   /* OpenSSL */
    ChorusSrtp *theirs; /* libsrtp2 (CHORUS_SRTP_BACKEND=libsrtp2) */
} Mixed;

static void mixed_init(Mixed *m)
{
    ChorusSrtpKeys a, b;
    make_keys(CHORUS_SRTP_AEAD_AES_128_GCM, &a, &b);
    m->ours = srtp_new_as(&a, &V_GCM);
    m->theirs = srtp_new_as(&b, &V_GCM_LIB);
}

static void mixed_clear(Mixed *m)
{
    chorus_srtp_free(m->ours);
    chorus_srtp_free(m->theirs);
}

static int protect_any(ChorusSrtp *s, uint8_t *buf, size_t *len, gboolean rtcp)
{
    return rtcp ? chorus_srtp_protect_rtcp(s, buf, len, BIG_CAP)
                : chorus_srtp_protect_rtp(s, buf, len, BIG_CAP);
}

static int unprotect_any(ChorusSrtp *s, uint8_t *buf, size_t *len, gboolean rtcp)
{
    return rtcp ? chorus_srtp_unprotect_rtcp(s, buf, len) : chorus_srtp_unprotect_rtp(s, buf, len);
}

/* plain across the mixed pair both ways. With lib_tx (libsrtp2 keyed as ours), what
 * ours protects must also be byte-identical to what libsrtp2 makes of it. */
static void cross(Mixed *m, srtp_t lib_tx, const uint8_t *plain, size_t plen, gboolean rtcp)
{
    uint8_t x[BIG_CAP], y[BIG_CAP];
    size_t lx = plen, ly = plen;
    memcpy(x, plain, plen);
    g_assert_cmpint(protect_any(m->ours, x, &lx, rtcp), ==, 0);
    if (lib_tx) {
        memcpy(y, plain, plen);
        g_assert_cmpint(lib_protect(lib_tx, y, &ly, rtcp), ==, 0);
        g_assert_cmpmem(x, lx, y, ly);
    }
    g_assert_cmpint(unprotect_any(m->theirs, x, &lx, rtcp), ==, 0);
    g_assert_cmpmem(x, lx, plain, plen);
    lx = plen;
    memcpy(x, plain, plen);
    g_assert_cmpint(protect_any(m->theirs, x, &lx, rtcp), ==, 0);
    g_assert_cmpint(unprotect_any(m->ours, x, &lx, rtcp), ==, 0);
    g_assert_cmpmem(x, lx, plain, plen);
}

typedef struct {
    unsigned cc, ext_words, pad;
    size_t payload;
} Shape;

static const Shape shapes[] = {
    {0, 0, 0, 100}, {3, 0, 0, 100}, {0, 2, 0, 100},  {15, 5, 0, 160},
    {2, 1, 4, 57},  {0, 0, 0, 1},   {1, 0, 0, 1200},
};

/* RTP of every shape both ways across a DTLS-shaped pair, several SSRCs interleaved,
 * through a sequence wrap; and each packet our backend protects is byte-identical to
 * what libsrtp2 makes of it with the same key. */
static void test_interop_rtp(void)
{
    Mixed m;
    mixed_init(&m);
    ChorusSrtpKeys a, b;
    make_keys(CHORUS_SRTP_AEAD_AES_128_GCM, &a, &b);
    srtp_t lib_tx = lib_session(a.local_key, ssrc_any_outbound, FALSE); /* = ours */
    const uint32_t ssrcs[] = {0x11111111, 0xfffffffe, 0};
    unsigned n = 0;
    for (uint32_t k = 0; k < 300; k++) {
        for (unsigned si = 0; si < G_N_ELEMENTS(ssrcs); si++, n++) {
            const Shape *sh = &shapes[n % G_N_ELEMENTS(shapes)];
            uint16_t seq = (uint16_t)(65300 + k + 40 * si); /* each wraps */
            uint8_t plain[BIG_CAP];
            size_t plen =
                make_rtp_ex(plain, seq, ssrcs[si], sh->cc, sh->ext_words, sh->payload, sh->pad);
            cross(&m, lib_tx, plain, plen, FALSE);
        }
    }
    srtp_dealloc(lib_tx);
    mixed_clear(&m);
}

/* A header-only RTP packet (no payload) is protected and unprotected by our backend;
 * libsrtp2 decrypts what we make of it. */
static void test_interop_empty_payload(void)
{
    Mixed m;
    mixed_init(&m);
    uint8_t plain[BIG_CAP], x[BIG_CAP];
    for (unsigned ext = 0; ext < 2; ext++) {
        size_t plen = make_rtp_ex(plain, (uint16_t)(10 + ext), 0xabc, 1, ext, 0, 0);
        size_t lx = plen;
        memcpy(x, plain, plen);
        g_assert_cmpint(chorus_srtp_protect_rtp(m.ours, x, &lx, sizeof(x)), ==, 0);
        g_assert_cmpuint(lx, ==, plen + 16);
        g_assert_cmpint(chorus_srtp_unprotect_rtp(m.theirs, x, &lx), ==, 0);
        g_assert_cmpmem(x, lx, plain, plen);
    }
    mixed_clear(&m);
}

/* Compound SRTCP both ways. With one SSRC libsrtp2's per-stream index and our
 * per-context one both count 1, 2, 3...: the bytes match too. */
static void test_interop_rtcp(void)
{
    Mixed m;
    mixed_init(&m);
    ChorusSrtpKeys a, b;
    make_keys(CHORUS_SRTP_AEAD_AES_128_GCM, &a, &b);
    srtp_t lib_tx = lib_session(a.local_key, ssrc_any_outbound, FALSE);
    for (int i = 0; i < 300; i++) {
        uint8_t plain[BIG_CAP];
        size_t plen =
            i % 3 ? make_rtcp_compound(plain, 0x5eed, (uint8_t)i) : make_rtcp(plain, 0x5eed);
        cross(&m, lib_tx, plain, plen, TRUE);
    }
    /* Several sender SSRCs: indexes no longer line up, but both sides still read all. */
    for (uint32_t i = 0; i < 60; i++) {
        uint8_t plain[BIG_CAP];
        size_t plen = make_rtcp_compound(plain, 0x1000 + i % 4, (uint8_t)i);
        cross(&m, NULL, plain, plen, TRUE);
    }
    srtp_dealloc(lib_tx);
    mixed_clear(&m);
}

/* SRTCP that libsrtp2 only authenticates (E=0) is read by our backend. */
static void test_interop_rtcp_unencrypted(void)
{
    uint8_t key[KEY_LEN + GCM_SALT];
    gcm_master(key, 0x42);
    srtp_t lib_tx = lib_session(key, ssrc_any_outbound, TRUE);
    ChorusSrtpGcm *in = chorus_srtp_gcm_new(CHORUS_SRTP_GCM_INBOUND, key, key + KEY_LEN);
    for (int i = 0; i < 5; i++) {
        uint8_t plain[BIG_CAP], x[BIG_CAP];
        size_t plen = make_rtcp_compound(plain, 0xe0, (uint8_t)i), lx = plen;
        memcpy(x, plain, plen);
        g_assert_cmpint(lib_protect(lib_tx, x, &lx, TRUE), ==, 0);
        g_assert_cmpmem(x, plen, plain, plen); /* in clear */
        g_assert_cmpint(x[lx - 4] & 0x80, ==, 0);
        uint8_t bad[BIG_CAP];
        memcpy(bad, x, lx);
        bad[plen - 1] ^= 1;
        size_t lb = lx;
        g_assert_cmpint(chorus_srtp_gcm_unprotect_rtcp(in, bad, &lb), ==, ERR(auth_fail));
        g_assert_cmpint(chorus_srtp_gcm_unprotect_rtcp(in, x, &lx), ==, 0);
        g_assert_cmpmem(x, lx, plain, plen);
    }
    chorus_srtp_gcm_free(in);
    srtp_dealloc(lib_tx);
}

/* ---- differential runs against libsrtp2 ------------------------------------------------- */

typedef struct {
    uint8_t buf[BUF_CAP];
    size_t len;
} Pkt;

/* A delivery order for n packets: neighbours swapped, some lost, some repeated a little
 * or a long while later (beyond the window). Returns the count; order has room for 2n. */
static size_t delivery_order(GRand *rng, size_t n, size_t *order)
{
    size_t *base = g_new(size_t, n);
    for (size_t i = 0; i < n; i++)
        base[i] = i;
    for (size_t i = 0; i + 1 < n; i++) {
        if (g_rand_int_range(rng, 0, 100) < 15) {
            size_t j = i + (size_t)g_rand_int_range(rng, 1, 30);
            if (j < n) {
                size_t t = base[i];
                base[i] = base[j];
                base[j] = t;
            }
        }
    }
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        int dice = g_rand_int_range(rng, 0, 100);
        if (dice < 3)
            continue; /* lost */
        order[out++] = base[i];
        if (dice < 8 && out < 2 * n) { /* a repeat, soon or much later */
            size_t back = (size_t)g_rand_int_range(rng, 0, dice < 6 ? 40 : 3000);
            order[out++] = base[i > back ? i - back : 0];
        }
    }
    g_free(base);
    return out;
}

/* Each packet, in the given order, to both receivers: the same verdict, the same bytes.
 * verdicts[-status] counts them. */
static void both_receivers(const Pkt *pkts, const size_t *order, size_t count, srtp_t lib_rx,
                           ChorusSrtpGcm *rx, gboolean rtcp, unsigned verdicts[32])
{
    for (size_t i = 0; i < count; i++) {
        const Pkt *pk = &pkts[order[i]];
        uint8_t x[BUF_CAP], y[BUF_CAP];
        size_t lx = pk->len, ly = pk->len;
        memcpy(x, pk->buf, pk->len);
        memcpy(y, pk->buf, pk->len);
        int rl = lib_unprotect(lib_rx, x, &lx, rtcp);
        int ro = rtcp ? chorus_srtp_gcm_unprotect_rtcp(rx, y, &ly)
                      : chorus_srtp_gcm_unprotect_rtp(rx, y, &ly);
        if (rl != ro)
            g_error("%s delivery %zu (packet #%zu): libsrtp2 %d, ours %d", rtcp ? "SRTCP" : "SRTP",
                    i, order[i], rl, ro);
        if (rl == 0)
            g_assert_cmpmem(x, lx, y, ly);
        verdicts[-rl < 32 ? -rl : 31]++;
    }
}

/* libsrtp2 protects a stream of several SSRCs whose sequence numbers mostly step by one
 * but also jump (up to 32000, so rollover counters climb past 100); both receivers get
 * the packets in the same shuffled order and must agree on every verdict and byte. */
static void test_diff_rtp_inbound(gconstpointer data)
{
    GRand *rng = g_rand_new_with_seed(GPOINTER_TO_UINT(data));
    uint8_t key[KEY_LEN + GCM_SALT];
    gcm_master(key, (uint8_t)GPOINTER_TO_UINT(data));
    srtp_t lib_tx = lib_session(key, ssrc_any_outbound, FALSE);
    srtp_t lib_rx = lib_session(key, ssrc_any_inbound, FALSE);
    ChorusSrtpGcm *rx = chorus_srtp_gcm_new(CHORUS_SRTP_GCM_INBOUND, key, key + KEY_LEN);
    enum { N = 30000, NSSRC = 5 };
    Pkt *pkts = g_new(Pkt, N);
    uint16_t seq[NSSRC];
    for (int s = 0; s < NSSRC; s++)
        seq[s] = (uint16_t)g_rand_int(rng);
    size_t n = 0;
    while (n < N) {
        int s = g_rand_int_range(rng, 0, NSSRC);
        int dice = g_rand_int_range(rng, 0, 1000);
        seq[s] += dice < 900   ? 1
                  : dice < 990 ? (uint16_t)g_rand_int_range(rng, 2, 100)
                               : (uint16_t)g_rand_int_range(rng, 1000, 32000);
        pkts[n].len = make_rtp(pkts[n].buf, seq[s], 0xa0000000u + (uint32_t)s);
        if (lib_protect(lib_tx, pkts[n].buf, &pkts[n].len, FALSE) == 0)
            n++;
    }
    size_t *order = g_new(size_t, 2 * N);
    size_t count = delivery_order(rng, N, order);
    unsigned verdicts[32] = {0};
    both_receivers(pkts, order, count, lib_rx, rx, FALSE, verdicts);
    g_test_message("accepted %u, replay %u, too old %u, auth fail %u", verdicts[0],
                   verdicts[srtp_err_status_replay_fail], verdicts[srtp_err_status_replay_old],
                   verdicts[srtp_err_status_auth_fail]);
    g_assert_cmpuint(verdicts[0], >, N / 2);
    g_assert_cmpuint(verdicts[srtp_err_status_replay_fail], >, 0);
    g_assert_cmpuint(verdicts[srtp_err_status_replay_old], >, 0);
    g_free(order);
    g_free(pkts);
    chorus_srtp_gcm_free(rx);
    srtp_dealloc(lib_rx);
    srtp_dealloc(lib_tx);
    g_rand_free(rng);
}

/* Both senders protect the same stream, retransmissions included (old sequence numbers,
 * some across wraps): whenever libsrtp2 protects, the bytes are the same. libsrtp2
 * refuses a retransmission older than its window; ours protects it anyway. */
static void test_diff_rtp_outbound(gconstpointer data)
{
    GRand *rng = g_rand_new_with_seed(GPOINTER_TO_UINT(data));
    uint8_t key[KEY_LEN + GCM_SALT];
    gcm_master(key, (uint8_t)(GPOINTER_TO_UINT(data) * 3));
    srtp_t lib_tx = lib_session(key, ssrc_any_outbound, FALSE);
    ChorusSrtpGcm *tx = chorus_srtp_gcm_new(CHORUS_SRTP_GCM_OUTBOUND, key, key + KEY_LEN);
    enum { NSSRC = 3 };
    uint16_t seq[NSSRC];
    for (int s = 0; s < NSSRC; s++)
        seq[s] = (uint16_t)(65000 + 100 * s);
    unsigned same = 0, lib_old = 0;
    for (int i = 0; i < 40000; i++) {
        int s = g_rand_int_range(rng, 0, NSSRC);
        int dice = g_rand_int_range(rng, 0, 1000);
        uint16_t q;
        if (dice < 850) {
            q = ++seq[s];
        } else if (dice < 990) { /* a retransmission */
            q = (uint16_t)(seq[s] - g_rand_int_range(rng, 0, dice < 980 ? 1000 : 5000));
        } else {
            q = seq[s] += (uint16_t)g_rand_int_range(rng, 2, 30000);
        }
        uint8_t x[BUF_CAP], y[BUF_CAP];
        size_t lx = make_rtp(x, q, 0xb0000000u + (uint32_t)s), ly = lx;
        memcpy(y, x, lx);
        int rl = lib_protect(lib_tx, x, &lx, FALSE);
        g_assert_cmpint(chorus_srtp_gcm_protect_rtp(tx, y, &ly, sizeof(y)), ==, 0);
        if (rl == 0) {
            g_assert_cmpmem(x, lx, y, ly);
            same++;
        } else {
            g_assert_cmpint(rl, ==, ERR(replay_old));
            lib_old++;
        }
    }
    g_test_message("identical %u, libsrtp2 refused as too old %u", same, lib_old);
    g_assert_cmpuint(lib_old, >, 0);
    chorus_srtp_gcm_free(tx);
    srtp_dealloc(lib_tx);
    g_rand_free(rng);
}

/* Sequence numbers that step right at the boundaries of the index estimate (half and
 * whole sequence spaces, the window, zero, repeats), from fresh contexts started at
 * edge values: both senders must produce the same bytes (or libsrtp2 refuse one older
 * than its window), and both receivers, fed the same packets in order, agree. */
static void test_diff_rtp_edges(gconstpointer data)
{
    static const int steps[] = {1,     1,      1,      2,      0,     -1,     -2,    1023,
                                1024,  1025,   -1023,  -1024,  -1025, 32766,  32767, 32768,
                                32769, -32767, -32768, -32769, 65535, -65535, 30000, -5000};
    static const uint16_t starts[] = {0, 1, 10, 32766, 32767, 32768, 32769, 65534, 65535};
    GRand *rng = g_rand_new_with_seed(GPOINTER_TO_UINT(data));
    uint8_t key[KEY_LEN + GCM_SALT];
    gcm_master(key, 0x3c);
    unsigned differing = 0, verdicts[32] = {0};
    for (int round = 0; round < 400; round++) {
        srtp_t lib_tx = lib_session(key, ssrc_any_outbound, FALSE);
        srtp_t lib_rx = lib_session(key, ssrc_any_inbound, FALSE);
        ChorusSrtpGcm *tx = chorus_srtp_gcm_new(CHORUS_SRTP_GCM_OUTBOUND, key, key + KEY_LEN);
        ChorusSrtpGcm *rx = chorus_srtp_gcm_new(CHORUS_SRTP_GCM_INBOUND, key, key + KEY_LEN);
        uint16_t seq = round < (int)G_N_ELEMENTS(starts) ? starts[round]
                       : g_rand_boolean(rng)
                           ? starts[g_rand_int_range(rng, 0, G_N_ELEMENTS(starts))]
                           : (uint16_t)g_rand_int(rng);
        for (int k = 0; k < 40; k++) {
            if (k)
                seq = (uint16_t)(seq + steps[g_rand_int_range(rng, 0, G_N_ELEMENTS(steps))]);
            uint8_t x[BUF_CAP], y[BUF_CAP];
            size_t lx = make_rtp(x, seq, 0xed6e), ly = lx;
            memcpy(y, x, lx);
            int rl = lib_protect(lib_tx, x, &lx, FALSE);
            g_assert_cmpint(chorus_srtp_gcm_protect_rtp(tx, y, &ly, sizeof(y)), ==, 0);
            if (rl == 0)
                g_assert_cmpmem(x, lx, y, ly);
            else
                g_assert_cmpint(rl, ==, ERR(replay_old));
            differing += rl != 0;
            memcpy(x, y, ly);
            lx = ly;
            rl = lib_unprotect(lib_rx, x, &lx, FALSE);
            int ro = chorus_srtp_gcm_unprotect_rtp(rx, y, &ly);
            if (rl != ro)
                g_error("round %d step %d seq %u: libsrtp2 %d, ours %d", round, k, seq, rl, ro);
            verdicts[-rl < 32 ? -rl : 31]++;
        }
        chorus_srtp_gcm_free(rx);
        chorus_srtp_gcm_free(tx);
        srtp_dealloc(lib_rx);
        srtp_dealloc(lib_tx);
    }
    g_test_message("libsrtp2 refused %u; verdicts: accepted %u, replay %u, too old %u, auth %u",
                   differing, verdicts[0], verdicts[srtp_err_status_replay_fail],
                   verdicts[srtp_err_status_replay_old], verdicts[srtp_err_status_auth_fail]);
    g_rand_free(rng);
}

/* SRTCP: our sender (with index gaps and several SSRCs), both receivers, one order. */
static void test_diff_rtcp_inbound(gconstpointer data)
{
    GRand *rng = g_rand_new_with_seed(GPOINTER_TO_UINT(data));
    uint8_t key[KEY_LEN + GCM_SALT];
    gcm_master(key, (uint8_t)(GPOINTER_TO_UINT(data) * 5));
    srtp_t lib_rx = lib_session(key, ssrc_any_inbound, FALSE);
    ChorusSrtpGcm *tx = chorus_srtp_gcm_new(CHORUS_SRTP_GCM_OUTBOUND, key, key + KEY_LEN);
    ChorusSrtpGcm *rx = chorus_srtp_gcm_new(CHORUS_SRTP_GCM_INBOUND, key, key + KEY_LEN);
    enum { N = 6000 };
    Pkt *pkts = g_new(Pkt, N);
    uint32_t next = 1;
    for (size_t i = 0; i < N; i++) {
        if (g_rand_int_range(rng, 0, 100) < 2)
            chorus_srtp_gcm_set_next_rtcp_index(tx,
                                                next += (uint32_t)g_rand_int_range(rng, 2, 300));
        pkts[i].len = make_rtcp(pkts[i].buf, 0xc0 + (uint32_t)g_rand_int_range(rng, 0, 3));
        g_assert_cmpint(chorus_srtp_gcm_protect_rtcp(tx, pkts[i].buf, &pkts[i].len, BUF_CAP), ==,
                        0);
        next++;
    }
    size_t *order = g_new(size_t, 2 * N);
    size_t count = delivery_order(rng, N, order);
    unsigned verdicts[32] = {0};
    both_receivers(pkts, order, count, lib_rx, rx, TRUE, verdicts);
    g_test_message("accepted %u, replay %u, too old %u", verdicts[0],
                   verdicts[srtp_err_status_replay_fail], verdicts[srtp_err_status_replay_old]);
    g_assert_cmpuint(verdicts[srtp_err_status_replay_fail], >, 0);
    g_assert_cmpuint(verdicts[srtp_err_status_replay_old], >, 0);
    g_free(order);
    g_free(pkts);
    chorus_srtp_gcm_free(rx);
    chorus_srtp_gcm_free(tx);
    srtp_dealloc(lib_rx);
    g_rand_free(rng);
}

/* ---- the SSRC table ------------------------------------------------------------------- */

static void send_one(ChorusSrtpGcm *tx, ChorusSrtpGcm *rx, uint16_t seq, uint32_t ssrc, int expect)
{
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, seq, ssrc);
    g_assert_cmpint(chorus_srtp_gcm_protect_rtp(tx, buf, &len, sizeof(buf)), ==, 0);
    g_assert_cmpint(chorus_srtp_gcm_unprotect_rtp(rx, buf, &len), ==, expect);
}

/* Packets that do not authenticate never take a table entry, so a flood of forged
 * SSRCs cannot make the receiver forget a stream's rollover counter. The table keeps
 * the 32 most recently used SSRCs: one still in use survives 31 newcomers after it. */
static void test_ssrc_table(void)
{
    uint8_t key[KEY_LEN + GCM_SALT];
    gcm_master(key, 0x99);
    ChorusSrtpGcm *tx = chorus_srtp_gcm_new(CHORUS_SRTP_GCM_OUTBOUND, key, key + KEY_LEN);
    ChorusSrtpGcm *rx = chorus_srtp_gcm_new(CHORUS_SRTP_GCM_INBOUND, key, key + KEY_LEN);
    const uint32_t a = 0xaaaa;
    for (uint32_t i = 0; i < 20; i++) /* A's ROC becomes 1 */
        send_one(tx, rx, (uint16_t)(65530 + i), a, 0);
    for (uint32_t s = 1000; s < 1031; s++) /* the table is full; A is the oldest */
        send_one(tx, rx, 7, s, 0);

    GRand *rng = g_rand_new_with_seed(1);
    for (int i = 0; i < 200; i++) {
        uint8_t buf[BUF_CAP];
        size_t len = make_rtp(buf, (uint16_t)i, g_rand_int(rng));
        for (int k = RTP_HDR_LEN; k < (int)len; k++)
            buf[k] = (uint8_t)g_rand_int(rng);
        len += 16;
        g_assert_cmpint(chorus_srtp_gcm_unprotect_rtp(rx, buf, &len), ==, ERR(auth_fail));
    }
    g_rand_free(rng);
    send_one(tx, rx, 14, a, 0); /* A remembered: ROC 1 */

    /* 31 other streams (evicting 1000..1030), A is used again, 31 more evict them. */
    for (uint32_t s = 1; s <= 31; s++)
        send_one(tx, rx, 100, s, 0);
    send_one(tx, rx, 15, a, 0);
    for (uint32_t s = 101; s <= 131; s++)
        send_one(tx, rx, 100, s, 0);
    send_one(tx, rx, 16, a, 0);
    /* Stream 1 was evicted: its state is gone, so its old packet is no replay now (the
     * price of a bounded table); taking an entry again evicts 101, the oldest. */
    send_one(tx, rx, 100, 1, 0);
    send_one(tx, rx, 100, 131, ERR(replay_fail)); /* 131 is still known */
    /* Oldest first: 102..131, A, 1. 29 newcomers take 102..130; A and 131 stay. */
    for (uint32_t s = 201; s <= 229; s++)
        send_one(tx, rx, 100, s, 0);
    send_one(tx, rx, 17, a, 0);
    send_one(tx, rx, 100, 131, ERR(replay_fail));
    send_one(tx, rx, 100, 102, 0); /* gone */
    chorus_srtp_gcm_free(rx);
    chorus_srtp_gcm_free(tx);
}

/* ---- no allocation per packet ----------------------------------------------------------- */

static gint openssl_allocs;
static gboolean counting_allocs;

static void *count_malloc(size_t n, const char *file, int line)
{
    g_atomic_int_inc(&openssl_allocs);
    return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
    g_atomic_int_inc(&openssl_allocs);
    return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
    free(p);
}

static void test_no_alloc_per_packet(void)
{
    if (!counting_allocs) {
        g_test_skip("OpenSSL allocated before CRYPTO_set_mem_functions");
        return;
    }
    Pair p;
    int at_start = g_atomic_int_get(&openssl_allocs);
    pair_init(&p, &V_GCM);
    g_assert_cmpint(g_atomic_int_get(&openssl_allocs), >, at_start); /* the hook counts */
    uint8_t buf[BIG_CAP];
    size_t len;
    for (int i = 0; i < 50; i++) { /* warm up, a refused packet included */
        len = make_rtp(buf, (uint16_t)i, (uint32_t)i % 4);
        g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, buf, &len, sizeof(buf)), ==, 0);
        buf[20] ^= (uint8_t)(i == 10);
        g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &len), ==,
                        i == 10 ? ERR(auth_fail) : 0);
    }
    int before = g_atomic_int_get(&openssl_allocs);
    for (int i = 50; i < 5050; i++) {
        len = make_rtp_ex(buf, (uint16_t)i, (uint32_t)i % 40, 1, 1, 100, 0);
        g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, buf, &len, sizeof(buf)), ==, 0);
        g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &len), ==, 0);
        buf[20] ^= 1; /* and refused packets */
        len += 16;
        g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &len), <, 0);
        len = make_rtcp_compound(buf, (uint32_t)i, 1);
        g_assert_cmpint(chorus_srtp_protect_rtcp(p.sender, buf, &len, sizeof(buf)), ==, 0);
        g_assert_cmpint(chorus_srtp_unprotect_rtcp(p.receiver, buf, &len), ==, 0);
    }
    g_assert_cmpint(g_atomic_int_get(&openssl_allocs), ==, before);
    g_assert_cmpuint(ERR_peek_error(), ==, 0); /* refusals leave no OpenSSL errors queued */
    pair_clear(&p);
}

static void add_variants(const char *name, GTestDataFunc fn)
{
    static const struct {
        const char *prefix;
        const Variant *v;
    } all[] = {{"gcm", &V_GCM}, {"gcm-libsrtp2", &V_GCM_LIB}, {"cm80", &V_CM}};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
        char *path = g_strdup_printf("/srtp/%s/%s", all[i].prefix, name);
        g_test_add_data_func(path, all[i].v, fn);
        g_free(path);
    }
}

int main(int argc, char **argv)
{
    /* Before anything can make OpenSSL allocate. */
    counting_allocs = CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free) == 1;
    g_test_init(&argc, &argv, NULL);
    GError *error = NULL;
    g_assert_true(chorus_srtp_global_init(&error));
    g_assert_no_error(error);
    g_assert_true(chorus_srtp_global_init(NULL)); /* idempotent */
    add_variants("rtp-roundtrip", test_rtp_roundtrip);
    add_variants("trailer-len", test_trailer_len);
    add_variants("tampered", test_tampered);
    add_variants("tampered-every-bit", test_tampered_every_bit);
    add_variants("replay", test_replay);
    add_variants("replay-window", test_replay_window);
    add_variants("repeat-tx", test_repeat_tx);
    add_variants("repeat-tx-across-wrap", test_repeat_tx_across_wrap);
    add_variants("rtcp-roundtrip", test_rtcp_roundtrip);
    add_variants("both-directions", test_both_directions);
    add_variants("cap-too-small", test_cap_too_small);
    add_variants("malformed", test_malformed);
    g_test_add_func("/srtp/bad-keys", test_bad_keys);
    g_test_add_func("/srtp/backend-choice", test_backend_choice);
    g_test_add_func("/srtp/openssl/kdf-rfc3711", test_kdf_rfc3711);
    g_test_add_func("/srtp/openssl/rfc7714-srtp", test_rfc7714_srtp);
    g_test_add_func("/srtp/openssl/rfc7714-srtcp", test_rfc7714_srtcp);
    g_test_add_func("/srtp/openssl/interop-rtp", test_interop_rtp);
    g_test_add_func("/srtp/openssl/interop-empty-payload", test_interop_empty_payload);
    g_test_add_func("/srtp/openssl/interop-rtcp", test_interop_rtcp);
    g_test_add_func("/srtp/openssl/interop-rtcp-unencrypted", test_interop_rtcp_unencrypted);
    for (unsigned seed = 1; seed <= 3; seed++) {
        char *p1 = g_strdup_printf("/srtp/openssl/diff-rtp-inbound/%u", seed);
        char *p2 = g_strdup_printf("/srtp/openssl/diff-rtp-outbound/%u", seed);
        char *p3 = g_strdup_printf("/srtp/openssl/diff-rtcp-inbound/%u", seed);
        g_test_add_data_func(p1, GUINT_TO_POINTER(seed), test_diff_rtp_inbound);
        g_test_add_data_func(p2, GUINT_TO_POINTER(seed), test_diff_rtp_outbound);
        g_test_add_data_func(p3, GUINT_TO_POINTER(seed), test_diff_rtcp_inbound);
        char *p4 = g_strdup_printf("/srtp/openssl/diff-rtp-edges/%u", seed);
        g_test_add_data_func(p4, GUINT_TO_POINTER(seed), test_diff_rtp_edges);
        g_free(p4);
        g_free(p1);
        g_free(p2);
        g_free(p3);
    }
    g_test_add_func("/srtp/openssl/ssrc-table", test_ssrc_table);
    g_test_add_func("/srtp/openssl/no-alloc-per-packet", test_no_alloc_per_packet);
    return g_test_run();
}
