/* Unit tests: DTLS-SRTP between two ChorusDtls (client and server) on one GMainContext,
 * wired back to back through their send callbacks (delivered from an idle source,
 * never recursively); certificates generated and loaded from PEM files. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "net/dtls.h"
#include "net/gsource.h"
#include "net/srtp.h"

#define RUN_TIMEOUT_MS 10000

typedef struct Net Net;

typedef struct Side {
    Net *net;
    ChorusDtls *dtls;
    struct Side *peer;
    int drop_nth; /* 1-based number of the one datagram to lose; 0: none */
    int dropped;
    int sent;         /* datagrams handed to send */
    int max_datagram; /* largest datagram sent */
    int connected;    /* on_connected calls */
    int state_calls;  /* on_state calls */
    gboolean free_on_connected;
    ChorusSrtpKeys keys;
    ChorusDtlsState last_state;
    char reason[256];
    GByteArray *data; /* application data received, concatenated */
    int messages;
} Side;

struct Net {
    GMainContext *ctx;
    GQueue queue; /* Packet */
    GSource *idle;
    Side a, b; /* a: client, b: server (unless a test says otherwise) */
};

typedef struct {
    Side *to;
    size_t len;
    uint8_t data[];
} Packet;

static ChorusDtlsCert *cert_a, *cert_b, *cert_c; /* c: nobody's */

/* ---- the wire ---------------------------------------------------------------------- */

static gboolean deliver(gpointer user)
{
    Net *net = user;
    guint n = g_queue_get_length(&net->queue); /* only what was queued before */
    for (guint i = 0; i < n; i++) {
        Packet *p = g_queue_pop_head(&net->queue);
        if (p->to->dtls)
            chorus_dtls_incoming(p->to->dtls, p->data, p->len);
        g_free(p);
    }
    if (!g_queue_is_empty(&net->queue))
        return G_SOURCE_CONTINUE;
    g_source_unref(net->idle);
    net->idle = NULL;
    return G_SOURCE_REMOVE;
}

static int side_send(void *user, const uint8_t *buf, size_t len)
{
    Side *s = user;
    g_assert_cmpuint(len, >, 0);
    s->sent++;
    if ((int)len > s->max_datagram)
        s->max_datagram = (int)len;
    if (s->sent == s->drop_nth) {
        s->dropped++;
        return (int)len;
    }
    Packet *p = g_malloc(sizeof(Packet) + len);
    p->to = s->peer;
    p->len = len;
    memcpy(p->data, buf, len);
    g_queue_push_tail(&s->net->queue, p);
    if (!s->net->idle) {
        s->net->idle = g_idle_source_new();
        g_source_set_callback(s->net->idle, deliver, s->net, NULL);
        g_source_attach(s->net->idle, s->net->ctx);
    }
    return (int)len;
}

static void side_on_connected(void *user, const ChorusSrtpKeys *keys)
{
    Side *s = user;
    s->connected++;
    s->keys = *keys;
    g_assert_cmpint(chorus_dtls_state(s->dtls), ==, CHORUS_DTLS_CONNECTED);
    if (s->free_on_connected) {
        chorus_dtls_free(s->dtls); /* from inside a callback */
        s->dtls = NULL;
    }
}

static void side_on_data(void *user, const uint8_t *buf, size_t len)
{
    Side *s = user;
    g_byte_array_append(s->data, buf, (guint)len);
    s->messages++;
}

static void side_on_state(void *user, ChorusDtlsState state, const char *reason)
{
    Side *s = user;
    g_assert_true(state == CHORUS_DTLS_FAILED || state == CHORUS_DTLS_CLOSED);
    g_assert_nonnull(reason);
    s->state_calls++;
    s->last_state = state;
    g_strlcpy(s->reason, reason, sizeof(s->reason));
}

static const ChorusDtlsCallbacks side_cb = {
    .send = side_send,
    .on_connected = side_on_connected,
    .on_data = side_on_data,
    .on_state = side_on_state,
};

static void net_init(Net *net)
{
    memset(net, 0, sizeof(*net));
    net->ctx = g_main_context_new();
    g_queue_init(&net->queue);
    net->a.net = net->b.net = net;
    net->a.peer = &net->b;
    net->b.peer = &net->a;
    net->a.data = g_byte_array_new();
    net->b.data = g_byte_array_new();
}

/* Creates a side; expected: the fingerprint it checks the peer against. */
static void side_new(Side *s, ChorusDtlsCert *cert, ChorusDtlsRole role, const char *expected,
                     const ChorusSrtpProfile *profiles)
{
    s->dtls = chorus_dtls_new(cert, role, expected, profiles, s->net->ctx, &side_cb, s);
    g_assert_nonnull(s->dtls);
    g_assert_cmpint(chorus_dtls_state(s->dtls), ==, CHORUS_DTLS_NEW);
}

static void net_clear(Net *net)
{
    chorus_dtls_free(net->a.dtls);
    chorus_dtls_free(net->b.dtls);
    net->a.dtls = net->b.dtls = NULL;
    if (net->idle) {
        g_source_destroy(net->idle);
        g_source_unref(net->idle);
    }
    g_queue_clear_full(&net->queue, g_free);
    g_byte_array_unref(net->a.data);
    g_byte_array_unref(net->b.data);
    /* Nothing of ours may be left on the context. */
    for (int i = 0; i < 100 && g_main_context_iteration(net->ctx, FALSE); i++)
        ;
    g_main_context_unref(net->ctx);
}

static gboolean on_guard(gpointer user)
{
    *(gboolean *)user = TRUE;
    return G_SOURCE_REMOVE;
}

typedef gboolean (*NetPred)(Net *net);

/* Runs the context until pred holds (TRUE) or timeout_ms pass (FALSE). */
static gboolean run_until(Net *net, NetPred pred, guint timeout_ms)
{
    gboolean expired = FALSE;
    GSource *guard = g_timeout_source_new(timeout_ms);
    g_source_set_callback(guard, on_guard, &expired, NULL);
    g_source_attach(guard, net->ctx);
    while (!pred(net) && !expired)
        g_main_context_iteration(net->ctx, TRUE);
    g_source_destroy(guard);
    g_source_unref(guard);
    return pred(net);
}

static gboolean side_done(Side *s)
{
    if (!s->dtls)
        return TRUE;
    ChorusDtlsState st = chorus_dtls_state(s->dtls);
    return st != CHORUS_DTLS_NEW && st != CHORUS_DTLS_CONNECTING;
}

static gboolean both_done(Net *net)
{
    return side_done(&net->a) && side_done(&net->b);
}

static gboolean queue_drained(Net *net)
{
    return net->idle == NULL;
}

static void handshake(Net *net)
{
    chorus_dtls_start(net->a.dtls);
    chorus_dtls_start(net->b.dtls);
    g_assert_true(run_until(net, both_done, RUN_TIMEOUT_MS));
    run_until(net, queue_drained, RUN_TIMEOUT_MS); /* last flight and alerts */
}

static void assert_keys_pair(const Side *client, const Side *server, ChorusSrtpProfile profile)
{
    size_t salt = profile == CHORUS_SRTP_AEAD_AES_128_GCM ? 12 : 14;
    g_assert_cmpint(client->keys.profile, ==, profile);
    g_assert_cmpint(server->keys.profile, ==, profile);
    g_assert_cmpuint(client->keys.key_len, ==, 16);
    g_assert_cmpuint(client->keys.salt_len, ==, salt);
    g_assert_cmpuint(server->keys.key_len, ==, 16);
    g_assert_cmpuint(server->keys.salt_len, ==, salt);
    size_t n = 16 + salt;
    g_assert_cmpmem(client->keys.local_key, n, server->keys.remote_key, n);
    g_assert_cmpmem(client->keys.remote_key, n, server->keys.local_key, n);
    g_assert_true(memcmp(client->keys.local_key, client->keys.remote_key, n) != 0);
}

/* ---- tests ------------------------------------------------------------------------- */

static gboolean data_arrived(Net *net)
{
    return net->a.messages >= 3 && net->b.messages >= 3;
}

typedef struct {
    const char *name;
    guint n;
} NamedCount;

static void count_named(GSource *src, gpointer user)
{
    NamedCount *c = user;
    c->n += g_strcmp0(g_source_get_name(src), c->name) == 0;
}

/* Sources named name attached to ctx. */
static guint count_named_sources(GMainContext *ctx, const char *name)
{
    NamedCount c = {name, 0};
    chorus_gsource_foreach(ctx, 0, count_named, &c);
    return c.n;
}

static void test_handshake_and_data(void)
{
    Net net;
    net_init(&net);
    side_new(&net.a, cert_a, CHORUS_DTLS_ROLE_CLIENT, chorus_dtls_cert_fingerprint(cert_b), NULL);
    side_new(&net.b, cert_b, CHORUS_DTLS_ROLE_SERVER, chorus_dtls_cert_fingerprint(cert_a), NULL);
    g_assert_cmpint(chorus_dtls_send(net.a.dtls, (const uint8_t *)"x", 1), ==, -1); /* not yet */
    g_assert_cmpuint(count_named_sources(net.ctx, "chorus-dtls-timer"), ==, 2);
    handshake(&net);
    /* Connected: the handshake timers are gone (one source less per PeerConnection for
     * the worker's loop to walk). */
    g_assert_cmpuint(count_named_sources(net.ctx, "chorus-dtls-timer"), ==, 0);
    g_assert_cmpint(chorus_dtls_state(net.a.dtls), ==, CHORUS_DTLS_CONNECTED);
    g_assert_cmpint(chorus_dtls_state(net.b.dtls), ==, CHORUS_DTLS_CONNECTED);
    g_assert_cmpint(net.a.connected, ==, 1);
    g_assert_cmpint(net.b.connected, ==, 1);
    g_assert_cmpint(net.a.state_calls, ==, 0);
    g_assert_cmpint(net.b.state_calls, ==, 0);
    assert_keys_pair(&net.a, &net.b, CHORUS_SRTP_AEAD_AES_128_GCM);
    g_assert_cmpint(net.a.max_datagram, <=, 1200);
    g_assert_cmpint(net.b.max_datagram, <=, 1200);
    g_test_message("handshake: client sent %d datagrams (max %d bytes), server %d (max %d)",
                   net.a.sent, net.a.max_datagram, net.b.sent, net.b.max_datagram);
    /* Records are packed: a flight goes out in few datagrams, not one per record. */
    g_assert_cmpint(net.a.sent, <=, 3);
    g_assert_cmpint(net.b.sent, <=, 3);

    /* Application data both ways, including an SCTP-sized packet. */
    uint8_t big[1100];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 31 + 7);
    const char *m1 = "hello from the client", *m2 = "hello from the server";
    g_assert_cmpint(chorus_dtls_send(net.a.dtls, (const uint8_t *)m1, strlen(m1)), ==,
                    (int)strlen(m1));
    g_assert_cmpint(chorus_dtls_send(net.a.dtls, big, sizeof(big)), ==, (int)sizeof(big));
    g_assert_cmpint(chorus_dtls_send(net.a.dtls, (const uint8_t *)"!", 1), ==, 1);
    g_assert_cmpint(chorus_dtls_send(net.b.dtls, (const uint8_t *)m2, strlen(m2)), ==,
                    (int)strlen(m2));
    g_assert_cmpint(chorus_dtls_send(net.b.dtls, big, sizeof(big)), ==, (int)sizeof(big));
    g_assert_cmpint(chorus_dtls_send(net.b.dtls, (const uint8_t *)"?", 1), ==, 1);
    g_assert_true(run_until(&net, data_arrived, RUN_TIMEOUT_MS));
    g_assert_cmpint(net.a.messages, ==, 3);
    g_assert_cmpint(net.b.messages, ==, 3);
    GByteArray *want = g_byte_array_new();
    g_byte_array_append(want, (const uint8_t *)m1, (guint)strlen(m1));
    g_byte_array_append(want, big, sizeof(big));
    g_byte_array_append(want, (const uint8_t *)"!", 1);
    g_assert_cmpmem(net.b.data->data, net.b.data->len, want->data, want->len);
    g_byte_array_set_size(want, 0);
    g_byte_array_append(want, (const uint8_t *)m2, (guint)strlen(m2));
    g_byte_array_append(want, big, sizeof(big));
    g_byte_array_append(want, (const uint8_t *)"?", 1);
    g_assert_cmpmem(net.a.data->data, net.a.data->len, want->data, want->len);
    g_byte_array_unref(want);

    /* The exported keys drive SRTP: what the client protects, the server opens. */
    GError *error = NULL;
    ChorusSrtp *sc = chorus_srtp_new(&net.a.keys, &error);
    g_assert_no_error(error);
    ChorusSrtp *ss = chorus_srtp_new(&net.b.keys, &error);
    g_assert_no_error(error);
    uint8_t pkt[64 + CHORUS_SRTP_MAX_TRAILER] = {0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9};
    memset(pkt + 12, 0xab, 52);
    size_t len = 64;
    g_assert_cmpint(chorus_srtp_protect_rtp(sc, pkt, &len, sizeof(pkt)), ==, 0);
    g_assert_cmpint(chorus_srtp_unprotect_rtp(ss, pkt, &len), ==, 0);
    g_assert_cmpuint(len, ==, 64);
    g_assert_cmpuint(pkt[63], ==, 0xab);
    chorus_srtp_free(sc);
    chorus_srtp_free(ss);
    net_clear(&net);
}

/* checker: which side expects a wrong fingerprint (the other one is right). */
static void test_fingerprint_mismatch(gconstpointer data)
{
    gboolean client_checks = GPOINTER_TO_INT(data);
    Net net;
    net_init(&net);
    const char *fp_b =
        client_checks ? chorus_dtls_cert_fingerprint(cert_c) : chorus_dtls_cert_fingerprint(cert_b);
    const char *fp_a =
        client_checks ? chorus_dtls_cert_fingerprint(cert_a) : chorus_dtls_cert_fingerprint(cert_c);
    side_new(&net.a, cert_a, CHORUS_DTLS_ROLE_CLIENT, fp_b, NULL);
    side_new(&net.b, cert_b, CHORUS_DTLS_ROLE_SERVER, fp_a, NULL);
    handshake(&net);
    Side *checker = client_checks ? &net.a : &net.b;
    g_assert_cmpint(chorus_dtls_state(checker->dtls), ==, CHORUS_DTLS_FAILED);
    g_assert_cmpint(checker->state_calls, ==, 1);
    g_assert_cmpint(checker->last_state, ==, CHORUS_DTLS_FAILED);
    g_assert_nonnull(strstr(checker->reason, "fingerprint mismatch"));
    g_assert_cmpint(checker->connected, ==, 0);
    /* A failed connection neither sends nor delivers. */
    g_assert_cmpint(chorus_dtls_send(checker->dtls, (const uint8_t *)"x", 1), ==, -1);
    net_clear(&net);
}

/* A fingerprint in lower case, with another hash (sha-1), still matches. */
static void test_fingerprint_other_forms(void)
{
    Net net;
    net_init(&net);
    char *lower = g_ascii_strdown(chorus_dtls_cert_fingerprint(cert_b), -1);
    side_new(&net.a, cert_a, CHORUS_DTLS_ROLE_CLIENT, lower, NULL);
    side_new(&net.b, cert_b, CHORUS_DTLS_ROLE_SERVER, chorus_dtls_cert_fingerprint(cert_a), NULL);
    handshake(&net);
    g_assert_cmpint(net.a.connected, ==, 1);
    g_assert_cmpint(net.b.connected, ==, 1);
    g_free(lower);
    net_clear(&net);

    /* Unusable fingerprints are refused up front. */
    g_assert_false(chorus_dtls_fingerprint_valid(NULL));
    g_assert_false(chorus_dtls_fingerprint_valid(""));
    g_assert_false(chorus_dtls_fingerprint_valid("md5 AB:CD"));
    g_assert_false(chorus_dtls_fingerprint_valid("sha-256 AB:CD"));
    g_assert_false(chorus_dtls_fingerprint_valid("sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
                                                 "EE:FF:00:11:22:3G"));
    g_assert_true(chorus_dtls_fingerprint_valid("SHA-1 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:"
                                                "ee:ff:00:11:22:33"));
    GMainContext *ctx = g_main_context_new();
    Side dummy = {0};
    g_assert_null(chorus_dtls_new(cert_a, CHORUS_DTLS_ROLE_CLIENT, "sha-256 nonsense", NULL, ctx,
                                  &side_cb, &dummy));
    g_main_context_unref(ctx);
}

static void test_profile_fallback(gconstpointer data)
{
    gboolean server_limits = GPOINTER_TO_INT(data);
    static const ChorusSrtpProfile only_cm[] = {CHORUS_SRTP_AES128_CM_SHA1_80, CHORUS_SRTP_NONE};
    Net net;
    net_init(&net);
    side_new(&net.a, cert_a, CHORUS_DTLS_ROLE_CLIENT, chorus_dtls_cert_fingerprint(cert_b),
             server_limits ? NULL : only_cm);
    side_new(&net.b, cert_b, CHORUS_DTLS_ROLE_SERVER, chorus_dtls_cert_fingerprint(cert_a),
             server_limits ? only_cm : NULL);
    handshake(&net);
    g_assert_cmpint(net.a.connected, ==, 1);
    g_assert_cmpint(net.b.connected, ==, 1);
    assert_keys_pair(&net.a, &net.b, CHORUS_SRTP_AES128_CM_SHA1_80);
    net_clear(&net);
}

/* The server prefers AES-CM, the client prefers GCM: the server's order wins. */
static void test_profile_server_order(void)
{
    static const ChorusSrtpProfile cm_first[] = {CHORUS_SRTP_AES128_CM_SHA1_80,
                                                 CHORUS_SRTP_AEAD_AES_128_GCM, CHORUS_SRTP_NONE};
    Net net;
    net_init(&net);
    side_new(&net.a, cert_a, CHORUS_DTLS_ROLE_CLIENT, chorus_dtls_cert_fingerprint(cert_b), NULL);
    side_new(&net.b, cert_b, CHORUS_DTLS_ROLE_SERVER, chorus_dtls_cert_fingerprint(cert_a),
             cm_first);
    handshake(&net);
    assert_keys_pair(&net.a, &net.b, CHORUS_SRTP_AES128_CM_SHA1_80);
    net_clear(&net);
}

typedef struct {
    gboolean server; /* whose datagram is lost */
    int nth;
} LossCase;

static const LossCase loss_client_hello = {FALSE, 1}; /* flight 1 */
static const LossCase loss_server_hello = {TRUE, 1};  /* flight 2 */
static const LossCase loss_client_final = {FALSE, 2}; /* flight 5: Certificate..Finished */
static const LossCase loss_server_final = {TRUE, 2};  /* flight 6: CCS, Finished */

/* One datagram of the handshake is lost; the retransmission timer recovers. */
static void test_retransmission(gconstpointer data)
{
    const LossCase *loss = data;
    Net net;
    net_init(&net);
    side_new(&net.a, cert_a, CHORUS_DTLS_ROLE_CLIENT, chorus_dtls_cert_fingerprint(cert_b), NULL);
    side_new(&net.b, cert_b, CHORUS_DTLS_ROLE_SERVER, chorus_dtls_cert_fingerprint(cert_a), NULL);
    Side *loser = loss->server ? &net.b : &net.a;
    loser->drop_nth = loss->nth;
    gint64 t0 = g_get_monotonic_time();
    handshake(&net);
    gint64 elapsed_ms = (g_get_monotonic_time() - t0) / 1000;
    g_assert_cmpint(loser->dropped, ==, 1);
    g_assert_cmpint(chorus_dtls_state(net.a.dtls), ==, CHORUS_DTLS_CONNECTED);
    g_assert_cmpint(chorus_dtls_state(net.b.dtls), ==, CHORUS_DTLS_CONNECTED);
    g_assert_cmpint(net.a.connected, ==, 1);
    g_assert_cmpint(net.b.connected, ==, 1);
    assert_keys_pair(&net.a, &net.b, CHORUS_SRTP_AEAD_AES_128_GCM);
    /* Recovery waited for a retransmission timeout (0.5 s), not for luck. */
    g_assert_cmpint(elapsed_ms, >=, 400);
    g_assert_cmpint(elapsed_ms, <, 5000);
    /* And the connection works afterwards. */
    g_assert_cmpint(chorus_dtls_send(net.b.dtls, (const uint8_t *)"ok", 2), ==, 2);
    g_assert_true(run_until(&net, queue_drained, RUN_TIMEOUT_MS));
    g_assert_cmpmem(net.a.data->data, net.a.data->len, "ok", 2);
    net_clear(&net);
}

static gboolean b_closed(Net *net)
{
    return net->b.state_calls > 0;
}

/* Freeing a connected side sends close_notify: the peer goes CLOSED. */
static void test_close_notify(void)
{
    Net net;
    net_init(&net);
    side_new(&net.a, cert_a, CHORUS_DTLS_ROLE_CLIENT, chorus_dtls_cert_fingerprint(cert_b), NULL);
    side_new(&net.b, cert_b, CHORUS_DTLS_ROLE_SERVER, chorus_dtls_cert_fingerprint(cert_a), NULL);
    handshake(&net);
    int sent_before = net.a.sent;
    chorus_dtls_free(net.a.dtls);
    net.a.dtls = NULL;
    g_assert_cmpint(net.a.sent, ==, sent_before + 1);
    g_assert_cmpint(net.a.state_calls, ==, 0); /* no callback after free */
    g_assert_true(run_until(&net, b_closed, RUN_TIMEOUT_MS));
    g_assert_cmpint(chorus_dtls_state(net.b.dtls), ==, CHORUS_DTLS_CLOSED);
    g_assert_cmpint(net.b.last_state, ==, CHORUS_DTLS_CLOSED);
    g_assert_nonnull(strstr(net.b.reason, "close_notify"));
    g_assert_cmpint(chorus_dtls_send(net.b.dtls, (const uint8_t *)"x", 1), ==, -1);
    net_clear(&net);
}

/* A callback may free its own connection; nothing runs on it afterwards. */
static void test_free_in_callback(void)
{
    Net net;
    net_init(&net);
    side_new(&net.a, cert_a, CHORUS_DTLS_ROLE_CLIENT, chorus_dtls_cert_fingerprint(cert_b), NULL);
    side_new(&net.b, cert_b, CHORUS_DTLS_ROLE_SERVER, chorus_dtls_cert_fingerprint(cert_a), NULL);
    net.b.free_on_connected = TRUE;
    handshake(&net);
    g_assert_null(net.b.dtls);
    g_assert_cmpint(net.b.connected, ==, 1);
    g_assert_cmpint(net.b.state_calls, ==, 0);
    g_assert_cmpint(net.a.connected, ==, 1);
    net_clear(&net);
}

/* Two clients: the first gets a ClientHello where it expects a ServerHello, so it
 * sends a fatal alert; the second receives it. Both reasons name the alert. */
static void test_fatal_alert(void)
{
    Net net;
    net_init(&net);
    side_new(&net.a, cert_a, CHORUS_DTLS_ROLE_CLIENT, chorus_dtls_cert_fingerprint(cert_b), NULL);
    side_new(&net.b, cert_b, CHORUS_DTLS_ROLE_CLIENT, chorus_dtls_cert_fingerprint(cert_a), NULL);
    chorus_dtls_start(net.a.dtls); /* its ClientHello reaches b, which ignores it: not started */
    g_assert_true(run_until(&net, queue_drained, RUN_TIMEOUT_MS));
    g_assert_cmpint(chorus_dtls_state(net.b.dtls), ==, CHORUS_DTLS_NEW);
    chorus_dtls_start(net.b.dtls);
    g_assert_true(run_until(&net, both_done, RUN_TIMEOUT_MS));
    run_until(&net, queue_drained, RUN_TIMEOUT_MS);
    g_assert_cmpint(chorus_dtls_state(net.a.dtls), ==, CHORUS_DTLS_FAILED);
    g_assert_cmpint(chorus_dtls_state(net.b.dtls), ==, CHORUS_DTLS_FAILED);
    g_assert_cmpstr(net.a.reason, ==, "DTLS alert sent: unexpected_message");
    g_assert_cmpstr(net.b.reason, ==, "DTLS alert received: unexpected_message");
    g_assert_cmpint(net.a.state_calls, ==, 1);
    g_assert_cmpint(net.b.state_calls, ==, 1);
    g_assert_cmpint(net.a.connected + net.b.connected, ==, 0);
    net_clear(&net);
}

/* No SRTP profile in common: the handshake completes but neither side has keys. */
static void test_no_common_profile(void)
{
    static const ChorusSrtpProfile only_cm[] = {CHORUS_SRTP_AES128_CM_SHA1_80, CHORUS_SRTP_NONE};
    static const ChorusSrtpProfile only_gcm[] = {CHORUS_SRTP_AEAD_AES_128_GCM, CHORUS_SRTP_NONE};
    Net net;
    net_init(&net);
    side_new(&net.a, cert_a, CHORUS_DTLS_ROLE_CLIENT, chorus_dtls_cert_fingerprint(cert_b),
             only_gcm);
    side_new(&net.b, cert_b, CHORUS_DTLS_ROLE_SERVER, chorus_dtls_cert_fingerprint(cert_a),
             only_cm);
    handshake(&net);
    g_assert_cmpint(chorus_dtls_state(net.a.dtls), ==, CHORUS_DTLS_FAILED);
    g_assert_cmpint(chorus_dtls_state(net.b.dtls), ==, CHORUS_DTLS_FAILED);
    g_assert_nonnull(strstr(net.a.reason, "no SRTP profile"));
    g_assert_nonnull(strstr(net.b.reason, "no SRTP profile"));
    g_assert_cmpint(net.a.connected + net.b.connected, ==, 0);
    net_clear(&net);
}

static void test_garbage_ignored(void)
{
    Net net;
    net_init(&net);
    side_new(&net.a, cert_a, CHORUS_DTLS_ROLE_CLIENT, chorus_dtls_cert_fingerprint(cert_b), NULL);
    side_new(&net.b, cert_b, CHORUS_DTLS_ROLE_SERVER, chorus_dtls_cert_fingerprint(cert_a), NULL);
    /* Not a DTLS record: dropped silently, the server does not fail. */
    static const uint8_t junk[] = {23, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40, 1, 2, 3};
    chorus_dtls_incoming(net.b.dtls, junk, sizeof(junk));
    g_assert_cmpint(chorus_dtls_state(net.b.dtls), ==, CHORUS_DTLS_CONNECTING);
    chorus_dtls_incoming(net.a.dtls, junk, sizeof(junk)); /* client not started: ignored */
    g_assert_cmpint(chorus_dtls_state(net.a.dtls), ==, CHORUS_DTLS_NEW);
    handshake(&net);
    g_assert_cmpint(net.a.connected, ==, 1);
    g_assert_cmpint(net.b.connected, ==, 1);
    chorus_dtls_incoming(net.b.dtls, junk, sizeof(junk));
    g_assert_cmpint(chorus_dtls_state(net.b.dtls), ==, CHORUS_DTLS_CONNECTED);
    g_assert_cmpint(net.b.messages, ==, 0);
    net_clear(&net);
}

static void test_fingerprint_format(void)
{
    GRegex *re = g_regex_new("^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$", 0, 0, NULL);
    g_assert_nonnull(re);
    ChorusDtlsCert *certs[] = {cert_a, cert_b, cert_c};
    for (size_t i = 0; i < G_N_ELEMENTS(certs); i++) {
        const char *fp = chorus_dtls_cert_fingerprint(certs[i]);
        g_assert_true(g_regex_match(re, fp, 0, NULL));
        g_assert_true(chorus_dtls_fingerprint_valid(fp));
    }
    g_assert_cmpstr(chorus_dtls_cert_fingerprint(cert_a), !=, chorus_dtls_cert_fingerprint(cert_b));
    g_regex_unref(re);
    /* Refcounting: a ref keeps the fingerprint alive. */
    ChorusDtlsCert *r = chorus_dtls_cert_ref(cert_a);
    g_assert_true(r == cert_a);
    chorus_dtls_cert_unref(r);
    g_assert_true(g_regex_match_simple("^sha-256 ", chorus_dtls_cert_fingerprint(cert_a), 0, 0));
}

/* ---- PEM files --------------------------------------------------------------------- */

/* A self-signed P-256 certificate for pkey, made here with plain OpenSSL. */
static X509 *test_self_signed(EVP_PKEY *pkey, const char *cn)
{
    X509 *x = X509_new();
    g_assert_nonnull(x);
    X509_NAME *name = X509_get_subject_name(x);
    g_assert_cmpint(X509_set_version(x, X509_VERSION_3), ==, 1);
    g_assert_cmpint(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), g_random_int()), ==, 1);
    g_assert_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), 0));
    g_assert_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
    g_assert_cmpint(X509_set_pubkey(x, pkey), ==, 1);
    g_assert_cmpint(
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0),
        ==, 1);
    g_assert_cmpint(X509_set_issuer_name(x, name), ==, 1);
    g_assert_cmpint(X509_sign(x, pkey, EVP_sha256()), >, 0);
    return x;
}

/* Writes x (cert.pem) and pkey (key.pem) under dir. */
static void write_pem(const char *dir, const char *cert_name, X509 *x, const char *key_name,
                      EVP_PKEY *pkey)
{
    char *cp = g_build_filename(dir, cert_name, NULL);
    char *kp = g_build_filename(dir, key_name, NULL);
    BIO *b = BIO_new_file(cp, "w");
    g_assert_nonnull(b);
    g_assert_cmpint(PEM_write_bio_X509(b, x), ==, 1);
    BIO_free(b);
    b = BIO_new_file(kp, "w");
    g_assert_nonnull(b);
    g_assert_cmpint(PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL), ==, 1);
    BIO_free(b);
    g_free(cp);
    g_free(kp);
}

static char *sha256_fingerprint(X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    g_assert_cmpint(X509_digest(x, EVP_sha256(), md, &n), ==, 1);
    g_assert_cmpuint(n, ==, 32);
    GString *s = g_string_new("sha-256 ");
    for (unsigned int i = 0; i < n; i++)
        g_string_append_printf(s, i ? ":%02X" : "%02X", md[i]);
    return g_string_free(s, FALSE);
}

static void test_pem_load(void)
{
    GError *error = NULL;
    char *dir = g_dir_make_tmp("chorus-dtls-XXXXXX", &error);
    g_assert_no_error(error);
    EVP_PKEY *k1 = EVP_EC_gen("P-256"), *k2 = EVP_EC_gen("P-256");
    g_assert_nonnull(k1);
    g_assert_nonnull(k2);
    X509 *x1 = test_self_signed(k1, "one");
    write_pem(dir, "cert.pem", x1, "key.pem", k1);
    write_pem(dir, "cert.pem", x1, "other-key.pem", k2);

    char *cp = g_build_filename(dir, "cert.pem", NULL);
    char *kp = g_build_filename(dir, "key.pem", NULL);
    char *okp = g_build_filename(dir, "other-key.pem", NULL);
    char *missing = g_build_filename(dir, "missing.pem", NULL);

    ChorusDtlsCert *loaded = chorus_dtls_cert_load(cp, kp, &error);
    g_assert_no_error(error);
    g_assert_nonnull(loaded);
    char *want = sha256_fingerprint(x1);
    g_assert_cmpstr(chorus_dtls_cert_fingerprint(loaded), ==, want);
    g_free(want);

    /* The loaded certificate works in a handshake. */
    Net net;
    net_init(&net);
    side_new(&net.a, loaded, CHORUS_DTLS_ROLE_CLIENT, chorus_dtls_cert_fingerprint(cert_b), NULL);
    side_new(&net.b, cert_b, CHORUS_DTLS_ROLE_SERVER, chorus_dtls_cert_fingerprint(loaded), NULL);
    chorus_dtls_cert_unref(loaded); /* the connection keeps its own reference */
    handshake(&net);
    g_assert_cmpint(net.a.connected, ==, 1);
    g_assert_cmpint(net.b.connected, ==, 1);
    net_clear(&net);

    /* A key that is not the certificate's is refused. */
    g_assert_null(chorus_dtls_cert_load(cp, okp, &error));
    g_assert_error(error, CHORUS_DTLS_ERROR, CHORUS_DTLS_ERROR_KEY);
    g_clear_error(&error);
    /* Missing or non-PEM files are refused. */
    g_assert_null(chorus_dtls_cert_load(missing, kp, &error));
    g_assert_error(error, CHORUS_DTLS_ERROR, CHORUS_DTLS_ERROR_FILE);
    g_clear_error(&error);
    g_assert_null(chorus_dtls_cert_load(cp, cp, &error)); /* a certificate is not a key */
    g_assert_error(error, CHORUS_DTLS_ERROR, CHORUS_DTLS_ERROR_FILE);
    g_clear_error(&error);

    g_remove(cp);
    g_remove(kp);
    g_remove(okp);
    g_rmdir(dir);
    g_free(cp);
    g_free(kp);
    g_free(okp);
    g_free(missing);
    g_free(dir);
    X509_free(x1);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
}

/* An RSA-2048 server certificate makes the server's first flight bigger than one
 * datagram: handshake messages are fragmented, no datagram exceeds 1200 bytes. */
static void test_fragmented_flight(void)
{
    GError *error = NULL;
    char *dir = g_dir_make_tmp("chorus-dtls-XXXXXX", &error);
    g_assert_no_error(error);
    EVP_PKEY *k = EVP_RSA_gen(2048);
    g_assert_nonnull(k);
    X509 *x = test_self_signed(k, "a rather long common name for a bigger certificate");
    write_pem(dir, "rsa.pem", x, "rsa-key.pem", k);
    char *cp = g_build_filename(dir, "rsa.pem", NULL);
    char *kp = g_build_filename(dir, "rsa-key.pem", NULL);
    ChorusDtlsCert *rsa = chorus_dtls_cert_load(cp, kp, &error);
    g_assert_no_error(error);

    Net net;
    net_init(&net);
    side_new(&net.a, cert_a, CHORUS_DTLS_ROLE_CLIENT, chorus_dtls_cert_fingerprint(rsa), NULL);
    side_new(&net.b, rsa, CHORUS_DTLS_ROLE_SERVER, chorus_dtls_cert_fingerprint(cert_a), NULL);
    handshake(&net);
    g_assert_cmpint(net.a.connected, ==, 1);
    g_assert_cmpint(net.b.connected, ==, 1);
    assert_keys_pair(&net.a, &net.b, CHORUS_SRTP_AEAD_AES_128_GCM);
    g_test_message("RSA server sent %d datagrams (max %d bytes)", net.b.sent, net.b.max_datagram);
    g_assert_cmpint(net.b.sent, >=, 3); /* flight 2 took two datagrams, then flight 4 */
    g_assert_cmpint(net.b.max_datagram, <=, 1200);
    g_assert_cmpint(net.b.max_datagram, >, 1000); /* the first one was filled up */
    net_clear(&net);

    chorus_dtls_cert_unref(rsa);
    g_remove(cp);
    g_remove(kp);
    g_rmdir(dir);
    g_free(cp);
    g_free(kp);
    g_free(dir);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void test_profile_names(void)
{
    g_assert_cmpstr(chorus_srtp_profile_name(CHORUS_SRTP_AEAD_AES_128_GCM), ==, "AEAD_AES_128_GCM");
    g_assert_cmpstr(chorus_srtp_profile_name(CHORUS_SRTP_AES128_CM_SHA1_80), ==,
                    "AES128_CM_SHA1_80");
    g_assert_cmpint(chorus_srtp_profile_parse("aead_aes_128_gcm"), ==,
                    CHORUS_SRTP_AEAD_AES_128_GCM);
    g_assert_cmpint(chorus_srtp_profile_parse("AES128_CM_SHA1_80"), ==,
                    CHORUS_SRTP_AES128_CM_SHA1_80);
    g_assert_cmpint(chorus_srtp_profile_parse("SRTP_AEAD_AES_128_GCM"), ==,
                    CHORUS_SRTP_AEAD_AES_128_GCM);
    g_assert_cmpint(chorus_srtp_profile_parse("aes128_cm_sha1_32"), ==, CHORUS_SRTP_NONE);
    g_assert_cmpint(chorus_srtp_profile_parse(NULL), ==, CHORUS_SRTP_NONE);
    g_assert_cmpint(chorus_srtp_profile_parse(""), ==, CHORUS_SRTP_NONE);
}

static ChorusDtlsCert *make_cert(void)
{
    GError *error = NULL;
    ChorusDtlsCert *c = chorus_dtls_cert_generate(&error);
    g_assert_no_error(error);
    g_assert_nonnull(c);
    return c;
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    cert_a = make_cert();
    cert_b = make_cert();
    cert_c = make_cert();
    g_test_add_func("/dtls/fingerprint-format", test_fingerprint_format);
    g_test_add_func("/dtls/profile-names", test_profile_names);
    g_test_add_func("/dtls/handshake-and-data", test_handshake_and_data);
    g_test_add_data_func("/dtls/fingerprint-mismatch/client", GINT_TO_POINTER(TRUE),
                         test_fingerprint_mismatch);
    g_test_add_data_func("/dtls/fingerprint-mismatch/server", GINT_TO_POINTER(FALSE),
                         test_fingerprint_mismatch);
    g_test_add_func("/dtls/fingerprint-other-forms", test_fingerprint_other_forms);
    g_test_add_data_func("/dtls/profile-fallback/server-cm-only", GINT_TO_POINTER(TRUE),
                         test_profile_fallback);
    g_test_add_data_func("/dtls/profile-fallback/client-cm-only", GINT_TO_POINTER(FALSE),
                         test_profile_fallback);
    g_test_add_func("/dtls/profile-server-order", test_profile_server_order);
    g_test_add_data_func("/dtls/retransmission/client-hello-lost", &loss_client_hello,
                         test_retransmission);
    g_test_add_data_func("/dtls/retransmission/server-hello-lost", &loss_server_hello,
                         test_retransmission);
    g_test_add_data_func("/dtls/retransmission/client-final-lost", &loss_client_final,
                         test_retransmission);
    g_test_add_data_func("/dtls/retransmission/server-final-lost", &loss_server_final,
                         test_retransmission);
    g_test_add_func("/dtls/close-notify", test_close_notify);
    g_test_add_func("/dtls/free-in-callback", test_free_in_callback);
    g_test_add_func("/dtls/fatal-alert", test_fatal_alert);
    g_test_add_func("/dtls/no-common-profile", test_no_common_profile);
    g_test_add_func("/dtls/garbage-ignored", test_garbage_ignored);
    g_test_add_func("/dtls/pem-load", test_pem_load);
    g_test_add_func("/dtls/fragmented-flight", test_fragmented_flight);
    int rc = g_test_run();
    chorus_dtls_cert_unref(cert_a);
    chorus_dtls_cert_unref(cert_b);
    chorus_dtls_cert_unref(cert_c);
    return rc;
}
