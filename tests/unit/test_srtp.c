/* Unit tests: SRTP/SRTCP round trips, authentication, replay and trailer sizes for
 * both DTLS-SRTP profiles, with keys as DTLS would export them. */
#include <glib.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "net/srtp.h"

#define PAYLOAD_LEN 100
#define RTP_HDR_LEN 12
#define BUF_CAP     (RTP_HDR_LEN + PAYLOAD_LEN + CHORUS_SRTP_MAX_TRAILER)

typedef struct {
    ChorusSrtp *sender;
    ChorusSrtp *receiver;
} Pair;

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
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

static void pair_init(Pair *p, ChorusSrtpProfile profile)
{
    ChorusSrtpKeys a, b;
    GError *error = NULL;
    make_keys(profile, &a, &b);
    p->sender = chorus_srtp_new(&a, &error);
    g_assert_no_error(error);
    p->receiver = chorus_srtp_new(&b, &error);
    g_assert_no_error(error);
    g_assert_nonnull(p->sender);
    g_assert_nonnull(p->receiver);
    g_assert_cmpint(chorus_srtp_profile(p->sender), ==, profile);
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
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    buf[6] = 0x10;
    buf[8] = (uint8_t)(ssrc >> 24);
    buf[9] = (uint8_t)(ssrc >> 16);
    buf[10] = (uint8_t)(ssrc >> 8);
    buf[11] = (uint8_t)ssrc;
    fill(buf + RTP_HDR_LEN, PAYLOAD_LEN, (uint8_t)seq);
    return RTP_HDR_LEN + PAYLOAD_LEN;
}

/* An RTCP sender report (28 bytes) from ssrc. */
static size_t make_rtcp(uint8_t *buf, uint32_t ssrc)
{
    memset(buf, 0, BUF_CAP);
    buf[0] = 0x80;
    buf[1] = 200;
    buf[3] = 6;
    buf[4] = (uint8_t)(ssrc >> 24);
    buf[5] = (uint8_t)(ssrc >> 16);
    buf[6] = (uint8_t)(ssrc >> 8);
    buf[7] = (uint8_t)ssrc;
    fill(buf + 8, 20, 0x33);
    return 28;
}

static ChorusSrtpProfile profile_of(gconstpointer data)
{
    return (ChorusSrtpProfile)GPOINTER_TO_INT(data);
}

static size_t tag_len(ChorusSrtpProfile profile)
{
    return profile == CHORUS_SRTP_AEAD_AES_128_GCM ? 16 : 10;
}

static void test_rtp_roundtrip(gconstpointer data)
{
    ChorusSrtpProfile profile = profile_of(data);
    Pair p;
    pair_init(&p, profile);
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
    ChorusSrtpProfile profile = profile_of(data);
    Pair p;
    pair_init(&p, profile);
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
    pair_init(&p, profile_of(data));
    uint8_t buf[BUF_CAP];
    size_t len = make_rtp(buf, 7, 0xabcdef01);
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, buf, &len, sizeof(buf)), ==, 0);
    uint8_t copy[BUF_CAP];
    memcpy(copy, buf, len);
    /* One flipped bit in the payload, then in the header: both fail. */
    buf[RTP_HDR_LEN + 5] ^= 0x01;
    size_t l1 = len;
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &l1), ==,
                    -(int)srtp_err_status_auth_fail);
    memcpy(buf, copy, len);
    buf[1] ^= 0x01; /* payload type */
    size_t l2 = len;
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &l2), ==,
                    -(int)srtp_err_status_auth_fail);
    /* The untouched packet still passes: failures do not poison the stream. */
    size_t l3 = len;
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, copy, &l3), ==, 0);
    g_assert_cmpuint(l3, ==, RTP_HDR_LEN + PAYLOAD_LEN);
    pair_clear(&p);
}

static void test_replay(gconstpointer data)
{
    Pair p;
    pair_init(&p, profile_of(data));
    uint8_t buf[BUF_CAP], copy[BUF_CAP];
    size_t len = make_rtp(buf, 500, 0x55);
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, buf, &len, sizeof(buf)), ==, 0);
    memcpy(copy, buf, len);
    size_t l1 = len, l2 = len;
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, buf, &l1), ==, 0);
    g_assert_cmpint(chorus_srtp_unprotect_rtp(p.receiver, copy, &l2), ==,
                    -(int)srtp_err_status_replay_fail);

    /* RTCP: the same SRTCP index twice is a replay too. */
    len = make_rtcp(buf, 0x55);
    g_assert_cmpint(chorus_srtp_protect_rtcp(p.sender, buf, &len, sizeof(buf)), ==, 0);
    memcpy(copy, buf, len);
    l1 = l2 = len;
    g_assert_cmpint(chorus_srtp_unprotect_rtcp(p.receiver, buf, &l1), ==, 0);
    g_assert_cmpint(chorus_srtp_unprotect_rtcp(p.receiver, copy, &l2), <, 0);
    pair_clear(&p);
}

/* A retransmission (NACK) protects the same RTP packet again: allowed on send. */
static void test_repeat_tx(gconstpointer data)
{
    Pair p;
    pair_init(&p, profile_of(data));
    uint8_t a[BUF_CAP], b[BUF_CAP];
    size_t la = make_rtp(a, 9, 0x77), lb = make_rtp(b, 9, 0x77);
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, a, &la, sizeof(a)), ==, 0);
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, b, &lb, sizeof(b)), ==, 0);
    g_assert_cmpmem(a, la, b, lb);
    pair_clear(&p);
}

static void test_rtcp_roundtrip(gconstpointer data)
{
    Pair p;
    pair_init(&p, profile_of(data));
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
    pair_init(&p, profile_of(data));
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

static void test_cap_too_small(void)
{
    Pair p;
    pair_init(&p, CHORUS_SRTP_AEAD_AES_128_GCM);
    uint8_t buf[BUF_CAP], plain[BUF_CAP];
    size_t len = make_rtp(buf, 1, 1);
    memcpy(plain, buf, len);
    size_t cap = len + SRTP_MAX_TRAILER_LEN - 1;
    g_assert_cmpint(chorus_srtp_protect_rtp(p.sender, buf, &len, cap), ==,
                    -(int)srtp_err_status_bad_param);
    g_assert_cmpuint(len, ==, RTP_HDR_LEN + PAYLOAD_LEN);
    g_assert_cmpmem(buf, len, plain, len);
    len = make_rtcp(buf, 1);
    g_assert_cmpint(
        chorus_srtp_protect_rtcp(p.sender, buf, &len, len + CHORUS_SRTP_MAX_TRAILER - 1), ==,
        -(int)srtp_err_status_bad_param);
    g_assert_cmpuint(len, ==, 28);
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
    chorus_srtp_free(NULL);
}

static void add_both(const char *name, GTestDataFunc fn)
{
    char *gcm = g_strdup_printf("/srtp/gcm/%s", name);
    char *cm = g_strdup_printf("/srtp/cm80/%s", name);
    g_test_add_data_func(gcm, GINT_TO_POINTER(CHORUS_SRTP_AEAD_AES_128_GCM), fn);
    g_test_add_data_func(cm, GINT_TO_POINTER(CHORUS_SRTP_AES128_CM_SHA1_80), fn);
    g_free(gcm);
    g_free(cm);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    GError *error = NULL;
    g_assert_true(chorus_srtp_global_init(&error));
    g_assert_no_error(error);
    g_assert_true(chorus_srtp_global_init(NULL)); /* idempotent */
    add_both("rtp-roundtrip", test_rtp_roundtrip);
    add_both("trailer-len", test_trailer_len);
    add_both("tampered", test_tampered);
    add_both("replay", test_replay);
    add_both("repeat-tx", test_repeat_tx);
    add_both("rtcp-roundtrip", test_rtcp_roundtrip);
    add_both("both-directions", test_both_directions);
    g_test_add_func("/srtp/cap-too-small", test_cap_too_small);
    g_test_add_func("/srtp/bad-keys", test_bad_keys);
    return g_test_run();
}
