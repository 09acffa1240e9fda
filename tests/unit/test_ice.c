/* Unit tests: ICE on libnice. A ChorusIce (controlled) talks to a plain libnice agent
 * playing the controlling client (the browser's role), both on one GMainContext, over
 * loopback only. Every wait is bounded by a deadline. */
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <nice/agent.h>

#include "net/gsource.h"
#include "net/ice.h"

#define WAIT_MS 10000

typedef struct {
    GMainContext *ctx;
    ChorusIce *ice;
    /* what the ChorusIce reported */
    GPtrArray *local_cands;
    gboolean gathering_done;
    GArray *states; /* ChorusIceState, in order */
    char *last_reason;
    GByteArray *server_rx;
    guint rx_stamped;    /* datagrams delivered with a kernel receive time */
    gint64 rx_stamp_min; /* the earliest of those times (CLOCK_REALTIME, us) */
    gboolean freed;
    guint calls_after_free;
    gboolean free_on_candidate; /* chorus_ice_free from the first on_local_candidate */
    gboolean free_on_failed;    /* chorus_ice_free from on_state(FAILED) */
    /* the libnice client */
    NiceAgent *client;
    guint cstream;
    NiceComponentState cstate;
    gboolean client_gathered;
    GByteArray *client_rx;
    gboolean trickle_to_client;    /* hand the server's candidates to the client */
    gboolean trickle_to_server;    /* hand the client's candidates to the server */
    gboolean relay_only_to_client; /* ... only the relayed ones */
    gboolean relay_only_to_server;
    gboolean tcp_only_to_client; /* ... only the ICE-TCP ones */
    gboolean client_turn;        /* the client has TURN allocations to release */
    gboolean client_closed;
    guint want_client_rx, want_server_rx; /* bytes expected (exchange_datagrams) */
} Fixture;

/* The libnice client's options (client_new_with). */
typedef struct {
    gboolean tcp_only; /* ICE-TCP candidates only (no UDP) */
    guint turn_port;   /* > 0: relay only, through the TURN server on 127.0.0.1:turn_port */
    gboolean consent;  /* RFC 7675 consent freshness (so it can revoke consent) */
} ClientOpts;

#define TURN_USER  "chorus"
#define TURN_PASS  "turn-secret"
#define TURN_REALM "chorus.test"

/* ---- bounded waiting -------------------------------------------------------------- */

static gboolean tick(gpointer data)
{
    return G_SOURCE_CONTINUE;
}

typedef gboolean (*Cond)(Fixture *f);

/* Iterates the context until cond holds or ms pass; a 20 ms tick bounds each iteration. */
static gboolean wait_for(Fixture *f, Cond cond, guint ms)
{
    GSource *t = g_timeout_source_new(20);
    gint64 deadline = g_get_monotonic_time() + (gint64)ms * 1000;
    gboolean ok;

    g_source_set_callback(t, tick, NULL, NULL);
    g_source_attach(t, f->ctx);
    while (!(ok = cond ? cond(f) : FALSE) && g_get_monotonic_time() < deadline)
        g_main_context_iteration(f->ctx, TRUE);
    g_source_destroy(t);
    g_source_unref(t);
    return ok;
}

static void pump(Fixture *f, guint ms)
{
    wait_for(f, NULL, ms);
}

/* ---- the ChorusIce's callbacks ---------------------------------------------------- */

static void note_call(Fixture *f)
{
    if (f->freed)
        f->calls_after_free++;
}

static void on_recv(void *user, uint8_t *buf, size_t len)
{
    Fixture *f = user;
    note_call(f);
    g_byte_array_append(f->server_rx, buf, (guint)len);
    gint64 stamp = chorus_ice_rx_walltime(f->ice);
    if (stamp > 0) {
        g_assert_cmpint(stamp, <=, g_get_real_time()); /* received before it is delivered */
        f->rx_stamped++;
        f->rx_stamp_min = f->rx_stamp_min ? MIN(f->rx_stamp_min, stamp) : stamp;
    }
}

static void give_candidate_to_client(Fixture *f, const char *candidate)
{
    char *line = g_strdup_printf("a=%s", candidate);
    NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(f->client, f->cstream, line);
    g_assert_nonnull(c);
    GSList one = {.data = c, .next = NULL};
    g_assert_cmpint(nice_agent_set_remote_candidates(f->client, f->cstream, 1, &one), ==, 1);
    nice_candidate_free(c);
    g_free(line);
}

static void on_local_candidate(void *user, const char *candidate)
{
    Fixture *f = user;
    note_call(f);
    g_assert_true(g_str_has_prefix(candidate, "candidate:"));
    g_assert_null(strchr(candidate, '\r'));
    g_ptr_array_add(f->local_cands, g_strdup(candidate));
    if (f->client && f->trickle_to_client &&
        (!f->relay_only_to_client || strstr(candidate, " typ relay")) &&
        (!f->tcp_only_to_client || strstr(candidate, " tcp ") || strstr(candidate, " TCP ")))
        give_candidate_to_client(f, candidate);
    if (f->free_on_candidate && !f->freed) {
        chorus_ice_free(f->ice);
        f->ice = NULL;
        f->freed = TRUE;
    }
}

static void on_gathering_done(void *user)
{
    Fixture *f = user;
    note_call(f);
    f->gathering_done = TRUE;
}

static void on_state(void *user, ChorusIceState state, const char *reason)
{
    Fixture *f = user;
    note_call(f);
    g_array_append_val(f->states, state);
    g_free(f->last_reason);
    f->last_reason = g_strdup(reason);
    if (state == CHORUS_ICE_FAILED)
        g_assert_nonnull(reason);
    if (state == CHORUS_ICE_FAILED && f->free_on_failed && !f->freed) {
        chorus_ice_free(f->ice);
        f->ice = NULL;
        f->freed = TRUE;
    }
}

static const ChorusIceCallbacks callbacks = {
    .on_recv = on_recv,
    .on_local_candidate = on_local_candidate,
    .on_gathering_done = on_gathering_done,
    .on_state = on_state,
};

/* ---- the libnice client ----------------------------------------------------------- */

static void client_recv(NiceAgent *agent, guint stream_id, guint component_id, guint len,
                        gchar *buf, gpointer data)
{
    Fixture *f = data;
    g_byte_array_append(f->client_rx, (const guint8 *)buf, len);
}

static void client_candidate(NiceAgent *agent, NiceCandidate *cand, gpointer data)
{
    Fixture *f = data;
    if (!f->trickle_to_server || f->freed || !f->ice ||
        (f->relay_only_to_server && cand->type != NICE_CANDIDATE_TYPE_RELAYED))
        return;
    /* libnice's own "a=candidate:..." form: exercises the "a=" path. */
    char *sdp = nice_agent_generate_local_candidate_sdp(agent, cand);
    GError *error = NULL;
    g_assert_true(chorus_ice_add_remote_candidate(f->ice, sdp, &error));
    g_assert_no_error(error);
    g_free(sdp);
}

static void client_gathered(NiceAgent *agent, guint stream_id, gpointer data)
{
    ((Fixture *)data)->client_gathered = TRUE;
}

static void client_state(NiceAgent *agent, guint stream_id, guint component_id, guint state,
                         gpointer data)
{
    ((Fixture *)data)->cstate = state;
}

static void client_new_with(Fixture *f, const ClientOpts *o)
{
    NiceAddress lo;

    f->client = nice_agent_new_full(f->ctx, NICE_COMPATIBILITY_RFC5245,
                                    NICE_AGENT_OPTION_ICE_TRICKLE |
                                        (o->consent ? NICE_AGENT_OPTION_CONSENT_FRESHNESS : 0));
    g_object_set(f->client, "controlling-mode", TRUE, "upnp", FALSE, "ice-udp", !o->tcp_only,
                 "ice-tcp", o->tcp_only, "force-relay", o->turn_port > 0, NULL);
    nice_address_init(&lo);
    g_assert_true(nice_address_set_from_string(&lo, "127.0.0.1"));
    g_assert_true(nice_agent_add_local_address(f->client, &lo));
    f->cstream = nice_agent_add_stream(f->client, 1);
    g_assert_cmpuint(f->cstream, >, 0);
    f->client_turn = o->turn_port > 0;
    f->tcp_only_to_client = o->tcp_only;
    if (o->turn_port > 0)
        g_assert_true(nice_agent_set_relay_info(f->client, f->cstream, 1, "127.0.0.1", o->turn_port,
                                                TURN_USER, TURN_PASS, NICE_RELAY_TYPE_TURN_UDP));
    g_signal_connect(f->client, "new-candidate-full", G_CALLBACK(client_candidate), f);
    g_signal_connect(f->client, "candidate-gathering-done", G_CALLBACK(client_gathered), f);
    g_signal_connect(f->client, "component-state-changed", G_CALLBACK(client_state), f);
    g_assert_true(nice_agent_attach_recv(f->client, f->cstream, 1, f->ctx, client_recv, f));
}

static void client_new(Fixture *f)
{
    static const ClientOpts plain = {0};
    client_new_with(f, &plain);
}

/* Gives each side the other's credentials. */
static void exchange_credentials(Fixture *f, gboolean to_server, gboolean to_client)
{
    char *ufrag = NULL, *pwd = NULL;
    GError *error = NULL;

    g_assert_true(nice_agent_get_local_credentials(f->client, f->cstream, &ufrag, &pwd));
    if (to_server) {
        g_assert_true(chorus_ice_set_remote_credentials(f->ice, ufrag, pwd, &error));
        g_assert_no_error(error);
    }
    if (to_client)
        g_assert_true(nice_agent_set_remote_credentials(
            f->client, f->cstream, chorus_ice_local_ufrag(f->ice), chorus_ice_local_pwd(f->ice)));
    g_free(ufrag);
    g_free(pwd);
}

/* ---- fixture ---------------------------------------------------------------------- */

static char *lo_only[] = {"lo", NULL};

static ChorusIceConfig loopback_config(void)
{
    ChorusIceConfig cfg = {0};
    cfg.interfaces = lo_only;
    cfg.loopback = TRUE;
    cfg.timeout_s = 10;
    return cfg;
}

static void fixture_init(Fixture *f, const ChorusIceConfig *cfg)
{
    memset(f, 0, sizeof *f);
    f->ctx = g_main_context_new();
    f->local_cands = g_ptr_array_new_with_free_func(g_free);
    f->states = g_array_new(FALSE, FALSE, sizeof(ChorusIceState));
    f->server_rx = g_byte_array_new();
    f->client_rx = g_byte_array_new();
    f->cstate = NICE_COMPONENT_STATE_DISCONNECTED;
    f->ice = chorus_ice_new(f->ctx, cfg, &callbacks, f);
    g_assert_nonnull(f->ice);
    g_assert_cmpint(chorus_ice_state(f->ice), ==, CHORUS_ICE_NEW);
}

static void client_closed(GObject *source, GAsyncResult *res, gpointer data)
{
    ((Fixture *)data)->client_closed = TRUE;
}

static gboolean client_is_closed(Fixture *f)
{
    return f->client_closed;
}

static void fixture_clear(Fixture *f)
{
    if (f->ice)
        chorus_ice_free(f->ice);
    f->ice = NULL;
    f->freed = TRUE;
    if (f->client && f->client_turn) { /* libnice wants its TURN refreshes pruned first */
        g_main_context_push_thread_default(f->ctx);
        nice_agent_close_async(f->client, client_closed, f);
        g_main_context_pop_thread_default(f->ctx);
        g_assert_true(wait_for(f, client_is_closed, WAIT_MS));
    }
    if (f->client)
        g_object_unref(f->client);
    pump(f, 50); /* deferred unrefs, closing sockets */
    while (g_main_context_iteration(f->ctx, FALSE))
        ;
    g_main_context_unref(f->ctx);
    g_ptr_array_unref(f->local_cands);
    g_array_unref(f->states);
    g_byte_array_unref(f->server_rx);
    g_byte_array_unref(f->client_rx);
    g_free(f->last_reason);
}

static guint count_state(Fixture *f, ChorusIceState s)
{
    guint n = 0;
    for (guint i = 0; i < f->states->len; i++)
        n += g_array_index(f->states, ChorusIceState, i) == s;
    return n;
}

static gboolean server_connected(Fixture *f)
{
    return f->ice && chorus_ice_state(f->ice) == CHORUS_ICE_CONNECTED;
}

static gboolean both_connected(Fixture *f)
{
    return server_connected(f) && f->cstate == NICE_COMPONENT_STATE_READY;
}

static gboolean server_failed(Fixture *f)
{
    return count_state(f, CHORUS_ICE_FAILED) > 0;
}

static gboolean gathered(Fixture *f)
{
    return f->gathering_done;
}

static gboolean client_done(Fixture *f)
{
    return f->client_gathered;
}

static gboolean server_got_data(Fixture *f)
{
    return f->server_rx->len > 0;
}

static gboolean client_got_data(Fixture *f)
{
    return f->client_rx->len > 0;
}

/* Field 4 (0-based) of "candidate:f c transport prio ADDRESS port typ ...". */
static char *candidate_address(const char *cand)
{
    char **fields = g_strsplit(cand, " ", 0);
    g_assert_cmpuint(g_strv_length(fields), >=, 8);
    char *addr = g_strdup(fields[4]);
    g_strfreev(fields);
    return addr;
}

static void assert_all_loopback(char **cands)
{
    g_assert_cmpuint(g_strv_length(cands), >, 0);
    for (char **c = cands; *c; c++) {
        char *addr = candidate_address(*c);
        g_assert_cmpstr(addr, ==, "127.0.0.1");
        g_free(addr);
    }
}

/* ---- tests ------------------------------------------------------------------------ */

/* Both reach CONNECTED with trickle both ways, and a datagram crosses each way intact. */
static void test_connect_and_exchange(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    static const char ping[] = "ping from chorus \x01\x02\x00\xff";
    static const char pong[] = "pong from the client";

    fixture_init(&f, &cfg);
    client_new(&f);
    f.trickle_to_client = TRUE;
    f.trickle_to_server = TRUE;
    g_assert_cmpint(chorus_ice_send(f.ice, (const uint8_t *)ping, sizeof ping), ==, -1);
    exchange_credentials(&f, TRUE, TRUE);
    g_assert_cmpint(chorus_ice_state(f.ice), ==, CHORUS_ICE_CHECKING);
    g_assert_true(chorus_ice_gather(f.ice, NULL));
    g_assert_true(nice_agent_gather_candidates(f.client, f.cstream));

    g_assert_true(wait_for(&f, both_connected, WAIT_MS));
    g_assert_true(wait_for(&f, gathered, WAIT_MS));
    g_assert_cmpuint(f.local_cands->len, >, 0);

    g_assert_cmpint(chorus_ice_send(f.ice, (const uint8_t *)ping, sizeof ping), ==, sizeof ping);
    g_assert_true(wait_for(&f, client_got_data, WAIT_MS));
    g_assert_cmpmem(f.client_rx->data, f.client_rx->len, ping, sizeof ping);

    g_assert_cmpint(nice_agent_send(f.client, f.cstream, 1, sizeof pong, pong), ==, sizeof pong);
    g_assert_true(wait_for(&f, server_got_data, WAIT_MS));
    g_assert_cmpmem(f.server_rx->data, f.server_rx->len, pong, sizeof pong);

    char *pair = chorus_ice_selected_pair(f.ice);
    g_assert_nonnull(pair);
    g_assert_nonnull(strstr(pair, "127.0.0.1:"));
    g_assert_nonnull(strstr(pair, " <-> "));
    g_free(pair);

    pump(&f, 300); /* READY after CONNECTED must not be reported again */
    g_assert_cmpuint(count_state(&f, CHORUS_ICE_CHECKING), ==, 1);
    g_assert_cmpuint(count_state(&f, CHORUS_ICE_CONNECTED), ==, 1);
    g_assert_cmpuint(count_state(&f, CHORUS_ICE_FAILED), ==, 0);
    fixture_clear(&f);
}

/* interfaces = {"lo"} with loopback: only 127.0.0.1 candidates, UDP and ICE-TCP. */
static void test_allow_list_loopback(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    cfg.tcp = TRUE;

    fixture_init(&f, &cfg);
    g_assert_true(chorus_ice_gather(f.ice, NULL));
    g_assert_true(wait_for(&f, gathered, WAIT_MS));
    g_assert_true(chorus_ice_gathering_done(f.ice));
    g_ptr_array_add(f.local_cands, NULL);
    assert_all_loopback((char **)f.local_cands->pdata);
    g_ptr_array_remove_index(f.local_cands, f.local_cands->len - 1);

    char **cands = chorus_ice_local_candidates(f.ice);
    assert_all_loopback(cands);
    gboolean udp = FALSE, tcp = FALSE;
    for (char **c = cands; *c; c++) {
        udp |= strstr(*c, " udp ") != NULL || strstr(*c, " UDP ") != NULL;
        tcp |= strstr(*c, " tcp ") != NULL || strstr(*c, " TCP ") != NULL;
    }
    g_assert_true(udp);
    g_assert_true(tcp);
    g_strfreev(cands);
    fixture_clear(&f);
}

/* interfaces = {"lo"} without loopback: nothing to gather on, reported as an error. */
static void test_allow_list_no_loopback(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    GError *error = NULL;
    cfg.loopback = FALSE;

    fixture_init(&f, &cfg);
    g_assert_false(chorus_ice_gather(f.ice, &error));
    g_assert_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_NO_ADDRESS);
    g_clear_error(&error);
    pump(&f, 200);
    g_assert_cmpuint(f.local_cands->len, ==, 0);
    char **cands = chorus_ice_local_candidates(f.ice);
    g_assert_cmpuint(g_strv_length(cands), ==, 0);
    g_strfreev(cands);
    fixture_clear(&f);
}

/* An allow-list naming no interface still offers loopback when loopback is on ("too"). */
static void test_allow_list_unknown_interface(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    char *none[] = {"no-such-if0", NULL};
    cfg.interfaces = none;

    fixture_init(&f, &cfg);
    g_assert_true(chorus_ice_gather(f.ice, NULL));
    g_assert_true(wait_for(&f, gathered, WAIT_MS));
    char **cands = chorus_ice_local_candidates(f.ice);
    assert_all_loopback(cands);
    g_strfreev(cands);
    fixture_clear(&f);
}

/* mDNS and RTCP candidates are ignored with a reason; garbage is invalid; the accepted
 * spellings all parse. */
static void test_remote_candidate_forms(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    GError *error = NULL;

    fixture_init(&f, &cfg);
    g_assert_false(chorus_ice_add_remote_candidate(
        f.ice,
        "candidate:3 1 udp 2122260223 4f0f0a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6.local 54321 "
        "typ host generation 0 ufrag Ab12 network-id 1",
        &error));
    g_assert_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_IGNORED);
    g_assert_nonnull(strstr(error->message, "mDNS"));
    g_clear_error(&error);

    g_assert_false(chorus_ice_add_remote_candidate(
        f.ice, "candidate:3 2 udp 2122260222 192.0.2.9 54322 typ host", &error));
    g_assert_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_IGNORED);
    g_clear_error(&error);

    /* TCP without tcptype (or with a bogus one): libnice would assert on it. */
    g_assert_false(chorus_ice_add_remote_candidate(
        f.ice, "candidate:5 1 tcp 1518280447 192.0.2.9 9 typ host", &error));
    g_assert_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "tcptype"));
    g_clear_error(&error);
    g_assert_false(chorus_ice_add_remote_candidate(
        f.ice, "candidate:5 1 TCP 1518280447 192.0.2.9 9 typ host tcptype bogus", &error));
    g_assert_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_INVALID);
    g_clear_error(&error);

    g_assert_false(chorus_ice_add_remote_candidate(f.ice, "candidate:garbage", &error));
    g_assert_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(chorus_ice_add_remote_candidate(f.ice, "", &error));
    g_assert_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_cmpuint(chorus_ice_queued_remote_candidates(f.ice), ==, 0);

    g_assert_true(chorus_ice_add_remote_candidate(
        f.ice, "a=candidate:1 1 udp 2122260223 192.0.2.9 5000 typ host\r\n", NULL));
    g_assert_true(chorus_ice_add_remote_candidate(
        f.ice,
        "candidate:2 1 udp 1686052607 203.0.113.7 5001 typ srflx raddr 192.0.2.9 "
        "rport 5000 generation 0 ufrag Ab12 network-cost 999",
        NULL));
    g_assert_true(chorus_ice_add_remote_candidate(
        f.ice, "4 1 tcp 1518280447 192.0.2.9 9 typ host tcptype active", NULL));
    g_assert_cmpuint(chorus_ice_queued_remote_candidates(f.ice), ==, 3);
    g_assert_cmpuint(f.states->len, ==, 0);
    fixture_clear(&f);
}

/* Trickled candidates that beat the credentials are kept and applied with them, before
 * the server even gathers (the offer-first order). The client never learns the server's
 * candidates, so only the server's checks to the queued candidates can connect the two. */
static void test_queued_before_credentials(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();

    fixture_init(&f, &cfg);
    client_new(&f);
    f.trickle_to_server = TRUE;
    exchange_credentials(&f, FALSE, TRUE);
    g_assert_true(nice_agent_gather_candidates(f.client, f.cstream));
    g_assert_true(wait_for(&f, client_done, WAIT_MS));
    guint queued = chorus_ice_queued_remote_candidates(f.ice);
    g_assert_cmpuint(queued, >, 0);
    pump(&f, 300);
    g_assert_cmpint(chorus_ice_state(f.ice), ==, CHORUS_ICE_NEW);
    g_assert_cmpuint(f.states->len, ==, 0);

    exchange_credentials(&f, TRUE, FALSE);
    g_assert_cmpuint(chorus_ice_queued_remote_candidates(f.ice), ==, 0);
    g_assert_true(chorus_ice_gather(f.ice, NULL));
    g_assert_true(wait_for(&f, both_connected, WAIT_MS));
    g_assert_cmpuint(count_state(&f, CHORUS_ICE_CONNECTED), ==, 1);
    fixture_clear(&f);
}

/* Control for the test above: without the server's credentials the queued candidates
 * stay queued and nothing connects. */
static void test_queued_not_applied_without_credentials(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();

    fixture_init(&f, &cfg);
    client_new(&f);
    f.trickle_to_server = TRUE;
    exchange_credentials(&f, FALSE, TRUE);
    g_assert_true(chorus_ice_gather(f.ice, NULL));
    g_assert_true(nice_agent_gather_candidates(f.client, f.cstream));
    g_assert_true(wait_for(&f, client_done, WAIT_MS));
    g_assert_false(wait_for(&f, server_connected, 1500));
    g_assert_cmpuint(chorus_ice_queued_remote_candidates(f.ice), >, 0);
    g_assert_cmpint(f.cstate, !=, NICE_COMPONENT_STATE_READY);
    fixture_clear(&f);
}

/* Sets credentials and one candidate on a port where no one answers. */
static void point_at_nobody(Fixture *f)
{
    GError *error = NULL;
    g_assert_true(chorus_ice_gather(f->ice, NULL));
    g_assert_true(
        chorus_ice_set_remote_credentials(f->ice, "Zq9x", "nobodyanswers0123456789", &error));
    g_assert_no_error(error);
    g_assert_true(chorus_ice_add_remote_candidate(
        f->ice, "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", &error));
    g_assert_no_error(error);
    g_assert_cmpint(chorus_ice_state(f->ice), ==, CHORUS_ICE_CHECKING);
}

/* A peer that never answers ends in FAILED (timeout or libnice's own failure). */
static void test_unanswered_fails(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    cfg.timeout_s = 2;

    fixture_init(&f, &cfg);
    point_at_nobody(&f);
    g_assert_true(wait_for(&f, server_failed, WAIT_MS));
    g_assert_cmpint(chorus_ice_state(f.ice), ==, CHORUS_ICE_FAILED);
    g_assert_true(g_strcmp0(f.last_reason, "ICE timeout") == 0 ||
                  g_strcmp0(f.last_reason, "ICE failed") == 0);
    g_assert_cmpint(chorus_ice_send(f.ice, (const uint8_t *)"x", 1), ==, -1);
    pump(&f, 300);
    g_assert_cmpuint(count_state(&f, CHORUS_ICE_FAILED), ==, 1);
    fixture_clear(&f);
}

/* With the end of remote candidates signalled, libnice itself gives up: "ICE failed". */
static void test_unanswered_end_of_candidates(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    cfg.timeout_s = 60;

    fixture_init(&f, &cfg);
    point_at_nobody(&f);
    chorus_ice_remote_gathering_done(f.ice);
    g_assert_true(wait_for(&f, server_failed, 20000));
    g_assert_cmpstr(f.last_reason, ==, "ICE failed");
    fixture_clear(&f);
}

/* The client vanishes after connecting: libnice's consent freshness fails the pair (about
 * 10 s with libnice 0.1.21) and, timeout_s after the last datagram, Chorus reports it. */
static void test_consent_lost(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    cfg.timeout_s = 2;

    fixture_init(&f, &cfg);
    client_new(&f);
    f.trickle_to_client = TRUE;
    f.trickle_to_server = TRUE;
    exchange_credentials(&f, TRUE, TRUE);
    g_assert_true(chorus_ice_gather(f.ice, NULL));
    g_assert_true(nice_agent_gather_candidates(f.client, f.cstream));
    g_assert_true(wait_for(&f, both_connected, WAIT_MS));
    g_object_unref(f.client); /* closes its socket: no more consent responses */
    f.client = NULL;
    f.trickle_to_client = FALSE;
    g_assert_true(wait_for(&f, server_failed, 45000));
    g_assert_cmpstr(f.last_reason, ==, "ICE consent lost");
    g_assert_cmpuint(count_state(&f, CHORUS_ICE_CONNECTED), ==, 1);
    g_assert_cmpint(chorus_ice_send(f.ice, (const uint8_t *)"x", 1), ==, -1);
    fixture_clear(&f);
}

/* chorus_ice_free during CHECKING: nothing is reported afterwards, not even the
 * watchdog's FAILED that would have fired within the wait. */
static void test_free_while_checking(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    cfg.timeout_s = 1;

    fixture_init(&f, &cfg);
    client_new(&f);
    f.trickle_to_server = TRUE;
    point_at_nobody(&f);
    g_assert_true(nice_agent_gather_candidates(f.client, f.cstream));
    chorus_ice_free(f.ice);
    f.ice = NULL;
    f.freed = TRUE;
    f.trickle_to_server = FALSE;
    pump(&f, 2500);
    g_assert_cmpuint(f.calls_after_free, ==, 0);
    fixture_clear(&f);
}

/* chorus_ice_free from inside callbacks: during gathering (a synchronous emission inside
 * chorus_ice_gather) and from on_state(FAILED). */
static void test_free_from_callbacks(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();

    fixture_init(&f, &cfg);
    f.free_on_candidate = TRUE;
    chorus_ice_gather(f.ice, NULL); /* may free the object before it returns */
    pump(&f, 300);
    g_assert_true(f.freed);
    g_assert_cmpuint(f.local_cands->len, ==, 1);
    g_assert_cmpuint(f.calls_after_free, ==, 0);
    fixture_clear(&f);

    cfg.timeout_s = 1;
    fixture_init(&f, &cfg);
    f.free_on_failed = TRUE;
    point_at_nobody(&f);
    g_assert_true(wait_for(&f, server_failed, WAIT_MS));
    g_assert_true(f.freed);
    pump(&f, 300);
    g_assert_cmpuint(f.calls_after_free, ==, 0);
    fixture_clear(&f);
}

/* A restart gives new local credentials and waits for new remote ones. */
static void test_restart(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    cfg.timeout_s = 1;

    fixture_init(&f, &cfg);
    point_at_nobody(&f);
    g_assert_true(wait_for(&f, server_failed, WAIT_MS));
    char *ufrag = g_strdup(chorus_ice_local_ufrag(f.ice));
    char *pwd = g_strdup(chorus_ice_local_pwd(f.ice));
    chorus_ice_restart(f.ice);
    g_assert_cmpstr(chorus_ice_local_ufrag(f.ice), !=, ufrag);
    g_assert_cmpstr(chorus_ice_local_pwd(f.ice), !=, pwd);
    g_assert_cmpint(chorus_ice_state(f.ice), ==, CHORUS_ICE_NEW);
    g_assert_true(chorus_ice_add_remote_candidate(
        f.ice, "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", NULL));
    g_assert_cmpuint(chorus_ice_queued_remote_candidates(f.ice), ==, 1);
    g_assert_true(
        chorus_ice_set_remote_credentials(f.ice, "Yw8v", "stillnobodyanswers01234", NULL));
    g_assert_cmpint(chorus_ice_state(f.ice), ==, CHORUS_ICE_CHECKING);
    g_free(ufrag);
    g_free(pwd);
    fixture_clear(&f);
}

/* ---- direct send path ------------------------------------------------------------- */

static gboolean exchanged(Fixture *f)
{
    return f->client_rx->len >= f->want_client_rx && f->server_rx->len >= f->want_server_rx;
}

/* Sends n datagrams of different sizes and contents each way, one pair at a time (a
 * relay may reorder), and checks that every byte arrived intact. */
static void exchange_datagrams(Fixture *f, guint n)
{
    GByteArray *to_client = g_byte_array_new(), *to_server = g_byte_array_new();
    guint8 buf[1200];

    g_byte_array_set_size(f->client_rx, 0);
    g_byte_array_set_size(f->server_rx, 0);
    for (guint i = 0; i < n; i++) {
        guint len = 1 + (i * 397u + 100u) % (guint)sizeof buf;
        for (guint j = 0; j < len; j++)
            buf[j] = (guint8)(i * 31u + j * 7u + (j >> 8));
        g_assert_cmpint(chorus_ice_send(f->ice, buf, len), ==, (int)len);
        g_byte_array_append(to_client, buf, len);
        buf[0] ^= 0xff; /* the other way carries other bytes */
        g_assert_cmpint(nice_agent_send(f->client, f->cstream, 1, len, (const gchar *)buf), ==,
                        (int)len);
        g_byte_array_append(to_server, buf, len);
        f->want_client_rx = to_client->len;
        f->want_server_rx = to_server->len;
        g_assert_true(wait_for(f, exchanged, WAIT_MS));
    }
    g_assert_cmpmem(f->client_rx->data, f->client_rx->len, to_client->data, to_client->len);
    g_assert_cmpmem(f->server_rx->data, f->server_rx->len, to_server->data, to_server->len);
    g_byte_array_unref(to_client);
    g_byte_array_unref(to_server);
}

/* Creates the ChorusIce and the client, trickles both ways and waits for both ends. */
static void connect_pair(Fixture *f, const ChorusIceConfig *cfg, const ClientOpts *o)
{
    fixture_init(f, cfg);
    client_new_with(f, o);
    f->trickle_to_client = TRUE;
    f->trickle_to_server = TRUE;
    exchange_credentials(f, TRUE, TRUE);
    g_assert_true(chorus_ice_gather(f->ice, NULL));
    g_assert_true(nice_agent_gather_candidates(f->client, f->cstream));
    g_assert_true(wait_for(f, both_connected, WAIT_MS));
}

static gboolean direct_active(Fixture *f)
{
    return f->ice && chorus_ice_direct_active(f->ice);
}

static void count_recursable_socket(GSource *src, gpointer user)
{
    if (chorus_gsource_is_socket(src) && g_source_get_can_recurse(src))
        (*(guint *)user)++;
}

/* Socket sources of the server agent's context marked can-recurse (GLib then neither
 * blocks nor unblocks them around a dispatch, which would wake the loop once more each
 * time). */
static guint recursable_socket_sources(Fixture *f)
{
    guint n = 0;
    chorus_gsource_foreach(chorus_ice_agent_context(f->ice), 0, count_recursable_socket, &n);
    return n;
}

/* How many of exchange_datagrams' first n client datagrams look like media (RFC 7983),
 * which the server's direct path reads itself. */
static guint64 fast_datagrams(guint n)
{
    guint64 fast = 0;
    for (guint i = 0; i < n; i++) {
        guint8 b = (guint8)(i * 31u) ^ 0xff; /* exchange_datagrams' first byte */
        fast += (b >= 20 && b <= 63) || (b >= 128 && b <= 191);
    }
    return fast;
}

/* A connected UDP host pair sends with sendto on libnice's socket, not through
 * nice_agent_send; the data arrives intact both ways; the debug switch forces libnice's
 * path and back. */
static void test_direct_connected(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    static const ClientOpts plain = {0};

    connect_pair(&f, &cfg, &plain);
    g_assert_true(chorus_ice_direct_active(f.ice));
    char *pair = chorus_ice_selected_pair(f.ice);
    g_assert_true(g_str_has_prefix(pair, "host 127.0.0.1:"));
    g_free(pair);

    /* The server's sockets are marked (at least the selected one); the test's own
     * libnice client is not, so a count of 0 means the marking is broken. */
    g_assert_cmpuint(recursable_socket_sources(&f), >=, 1);

    exchange_datagrams(&f, 12);
    g_assert_cmpuint(chorus_ice_direct_sends(f.ice), ==, 12);
    g_assert_cmpuint(chorus_ice_fallback_sends(f.ice), ==, 0);
    /* The server read the media-looking datagrams (RFC 7983: first byte 20..63 or
     * 128..191) from its peer itself and left the others to libnice; all arrived, in
     * order (exchange_datagrams compares the bytes). */
    guint64 fast = fast_datagrams(12);
    g_assert_cmpuint(fast, >, 0);
    g_assert_cmpuint(fast, <, 12);
    g_assert_cmpuint(chorus_ice_fast_recvs(f.ice), ==, fast);

    chorus_ice_set_direct_send(f.ice, FALSE);
    g_assert_false(chorus_ice_direct_active(f.ice));
    exchange_datagrams(&f, 5);
    g_assert_cmpuint(chorus_ice_direct_sends(f.ice), ==, 12);
    g_assert_cmpuint(chorus_ice_fallback_sends(f.ice), ==, 5);
    g_assert_cmpuint(chorus_ice_fast_recvs(f.ice), ==, fast); /* all through libnice now */
    g_assert_cmpuint(f.rx_stamped, ==, 0);                    /* no receive times unless asked */

    chorus_ice_set_direct_send(f.ice, TRUE);
    g_assert_true(chorus_ice_direct_active(f.ice));
    exchange_datagrams(&f, 3);
    g_assert_cmpuint(chorus_ice_direct_sends(f.ice), ==, 15);
    g_assert_cmpuint(chorus_ice_fallback_sends(f.ice), ==, 5);

    /* Receive times on request: each datagram the direct path reads carries the kernel's
     * (taken after the exchange began), the ones libnice reads none. */
    chorus_ice_set_rx_timestamps(f.ice, TRUE);
    gint64 begin = g_get_real_time();
    exchange_datagrams(&f, 12);
    g_assert_cmpuint(f.rx_stamped, ==, fast);
    g_assert_cmpint(f.rx_stamp_min, >=, begin);

    /* Closed or failed: no path at all. */
    chorus_ice_free(f.ice);
    f.ice = NULL;
    f.freed = TRUE;
    g_assert_false(chorus_ice_direct_active(NULL));
    fixture_clear(&f);
}

static gboolean direct_inactive(Fixture *f)
{
    return f->ice && !chorus_ice_direct_active(f->ice);
}

/* The peer revokes consent (RFC 7675: it answers the consent checks with 403): the
 * direct path stops at once libnice notices, and nothing more reaches the peer. */
static void test_direct_consent_revoked(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    static const ClientOpts consent = {.consent = TRUE};
    cfg.timeout_s = 30; /* the watchdog must not be what stops the sends */

    connect_pair(&f, &cfg, &consent);
    exchange_datagrams(&f, 2);
    g_assert_cmpuint(chorus_ice_direct_sends(f.ice), ==, 2);
    g_assert_true(nice_agent_consent_lost(f.client, f.cstream, 1));
    g_assert_true(wait_for(&f, direct_inactive, 20000));
    g_test_message("state after the revocation: %d", chorus_ice_state(f.ice));
    guint64 direct = chorus_ice_direct_sends(f.ice);
    g_byte_array_set_size(f.client_rx, 0);
    for (int i = 0; i < 5; i++)
        chorus_ice_send(f.ice, (const uint8_t *)"after consent", 13);
    pump(&f, 300);
    g_assert_cmpuint(chorus_ice_direct_sends(f.ice), ==, direct);
    g_assert_cmpuint(f.client_rx->len, ==, 0);
    fixture_clear(&f);
}

/* Hands each side's current local candidates to the other (after an ICE restart libnice
 * keeps its candidates and does not announce them again). */
static void exchange_candidates_again(Fixture *f)
{
    char **server = chorus_ice_local_candidates(f->ice);
    for (char **c = server; *c; c++)
        give_candidate_to_client(f, *c);
    g_strfreev(server);
    GSList *client = nice_agent_get_local_candidates(f->client, f->cstream, 1);
    for (GSList *l = client; l; l = l->next) {
        char *sdp = nice_agent_generate_local_candidate_sdp(f->client, l->data);
        g_assert_true(chorus_ice_add_remote_candidate(f->ice, sdp, NULL));
        g_free(sdp);
    }
    g_slist_free_full(client, (GDestroyNotify)nice_candidate_free);
}

/* An ICE restart drops the cached socket at once: the datagrams go through libnice on
 * the old pair meanwhile; once the restarted checks select a pair, the direct path is
 * back. The session stays CONNECTED throughout. */
static void test_direct_restart(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    static const ClientOpts plain = {0};

    connect_pair(&f, &cfg, &plain);
    exchange_datagrams(&f, 3);
    g_assert_cmpuint(chorus_ice_direct_sends(f.ice), ==, 3);

    chorus_ice_restart(f.ice);
    g_assert_false(chorus_ice_direct_active(f.ice));
    g_assert_cmpint(chorus_ice_state(f.ice), ==, CHORUS_ICE_CONNECTED);
    exchange_datagrams(&f, 4);
    g_assert_cmpuint(chorus_ice_direct_sends(f.ice), ==, 3);
    g_assert_cmpuint(chorus_ice_fallback_sends(f.ice), ==, 4);

    g_assert_true(nice_agent_restart_stream(f.client, f.cstream));
    exchange_credentials(&f, TRUE, TRUE);
    exchange_candidates_again(&f);
    g_assert_true(wait_for(&f, direct_active, WAIT_MS));
    exchange_datagrams(&f, 3);
    g_assert_cmpuint(chorus_ice_direct_sends(f.ice), ==, 6);
    g_assert_cmpuint(chorus_ice_fallback_sends(f.ice), ==, 4);
    g_assert_cmpuint(count_state(&f, CHORUS_ICE_CONNECTED), ==, 1);
    g_assert_cmpuint(count_state(&f, CHORUS_ICE_FAILED), ==, 0);
    fixture_clear(&f);
}

/* An ICE-TCP pair has no datagram socket to share (RFC 4571 framing): libnice sends. */
static void test_direct_tcp_fallback(void)
{
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    static const ClientOpts tcp = {.tcp_only = TRUE};
    cfg.tcp = TRUE;

    connect_pair(&f, &cfg, &tcp);
    char *pair = chorus_ice_selected_pair(f.ice);
    g_assert_nonnull(pair);
    g_test_message("selected pair: %s", pair);
    g_free(pair);
    g_assert_false(chorus_ice_direct_active(f.ice));
    exchange_datagrams(&f, 8);
    g_assert_cmpuint(chorus_ice_direct_sends(f.ice), ==, 0);
    g_assert_cmpuint(chorus_ice_fallback_sends(f.ice), ==, 8);
    fixture_clear(&f);
}

/* In the child: coturn ends with this test program, even if an assertion aborts it. */
static void turn_child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
}

/* coturn (Debian's turnserver) on 127.0.0.1:port, relaying from 127.0.0.2; 0 if absent. */
static GPid turn_start(guint *port, char **dir)
{
    char *bin = g_find_program_in_path("turnserver");
    GPid pid = 0;

    if (!bin)
        return 0;
    *dir = g_dir_make_tmp("chorus-turn-XXXXXX", NULL);
    g_assert_nonnull(*dir);
    GSocket *probe =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
    GSocketAddress *any = g_inet_socket_address_new_from_string("127.0.0.1", 0);
    g_assert_true(g_socket_bind(probe, any, FALSE, NULL));
    GSocketAddress *bound = g_socket_get_local_address(probe, NULL);
    *port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound);
    g_object_unref(any);
    g_object_unref(probe); /* freed for coturn: a race with other programs is unlikely */
    char *port_arg = g_strdup_printf("--listening-port=%u", *port);
    char *log_arg = g_strdup_printf("--log-file=%s/turn.log", *dir);
    char *db_arg = g_strdup_printf("--userdb=%s/turndb", *dir);
    char *pid_arg = g_strdup_printf("--pidfile=%s/turn.pid", *dir);
    char *argv[] = {bin,
                    "-n",
                    "--listening-ip=127.0.0.1",
                    port_arg,
                    "--relay-ip=127.0.0.2",
                    "--lt-cred-mech",
                    "--user=" TURN_USER ":" TURN_PASS,
                    "--realm=" TURN_REALM,
                    "--no-tls",
                    "--no-dtls",
                    "--no-tcp-relay",
                    "--no-cli",
                    "--allow-loopback-peers",
                    "--no-stdout-log",
                    "--simple-log",
                    log_arg,
                    db_arg,
                    pid_arg,
                    NULL};
    GError *error = NULL;
    if (!g_spawn_async(NULL, argv, NULL,
                       G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                           G_SPAWN_STDERR_TO_DEV_NULL,
                       turn_child_setup, NULL, &pid, &error)) {
        g_test_message("turnserver: %s", error->message);
        g_clear_error(&error);
        pid = 0;
    }
    g_free(port_arg);
    g_free(log_arg);
    g_free(db_arg);
    g_free(pid_arg);
    g_free(bin);
    /* Ready once it wrote its pid file (after the relay ports are set up). */
    char *pidfile = g_build_filename(*dir, "turn.pid", NULL);
    for (int i = 0; pid && i < 100 && !g_file_test(pidfile, G_FILE_TEST_EXISTS); i++)
        g_usleep(20000);
    g_usleep(100000);
    g_free(pidfile);
    return pid;
}

static void turn_stop(GPid pid, char *dir)
{
    if (pid) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        g_spawn_close_pid(pid);
    }
    if (dir) { /* its files: log (coturn may add a dated one), user db, pid file */
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
            char *p = g_build_filename(dir, name, NULL);
            g_remove(p);
            g_free(p);
        }
        if (d)
            g_dir_close(d);
        g_rmdir(dir);
        g_free(dir);
    }
}

/* The server's side of the selected pair is its TURN relay: libnice must wrap every
 * datagram (ChannelData / Send indications), so chorus_ice_send falls back to it. Only
 * relay-relay can work: the client relays everything (force-relay) and learns only the
 * server's relayed candidate, and the relay (127.0.0.2) holds permissions for 127.0.0.2
 * only, so the server's host candidate (127.0.0.1) cannot reach the client's relay. */
static void test_direct_relay_fallback(void)
{
    guint port = 0;
    char *dir = NULL;
    GPid turn = turn_start(&port, &dir);
    if (!turn) {
        turn_stop(0, dir);
        g_test_skip("no turnserver (Debian's coturn) to relay through");
        return;
    }
    Fixture f;
    ChorusIceConfig cfg = loopback_config();
    cfg.turn_host = "127.0.0.1";
    cfg.turn_port = port;
    cfg.turn_transport = "udp";
    cfg.turn_user = TURN_USER;
    cfg.turn_password = TURN_PASS;
    ClientOpts relay = {.turn_port = port};

    fixture_init(&f, &cfg);
    client_new_with(&f, &relay);
    f.trickle_to_client = TRUE;
    f.trickle_to_server = TRUE;
    f.relay_only_to_client = TRUE;
    f.relay_only_to_server = TRUE;
    exchange_credentials(&f, TRUE, TRUE);
    g_assert_true(chorus_ice_gather(f.ice, NULL));
    g_assert_true(nice_agent_gather_candidates(f.client, f.cstream));
    g_assert_true(wait_for(&f, both_connected, WAIT_MS));
    char *pair = chorus_ice_selected_pair(f.ice);
    g_test_message("selected pair: %s", pair);
    g_assert_true(g_str_has_prefix(pair, "relay 127.0.0.2:"));
    g_free(pair);
    g_assert_false(chorus_ice_direct_active(f.ice));
    exchange_datagrams(&f, 6);
    g_assert_cmpuint(chorus_ice_direct_sends(f.ice), ==, 0);
    g_assert_cmpuint(chorus_ice_fallback_sends(f.ice), ==, 6);
    fixture_clear(&f);

    /* The client relays, the server does not: the server's side is a host candidate and
     * it sends straight to the client's relayed address, which is plain UDP. */
    cfg = loopback_config();
    fixture_init(&f, &cfg);
    client_new_with(&f, &relay);
    f.trickle_to_client = TRUE;
    f.trickle_to_server = TRUE;
    f.relay_only_to_server = TRUE;
    exchange_credentials(&f, TRUE, TRUE);
    g_assert_true(chorus_ice_gather(f.ice, NULL));
    g_assert_true(nice_agent_gather_candidates(f.client, f.cstream));
    g_assert_true(wait_for(&f, both_connected, WAIT_MS));
    pair = chorus_ice_selected_pair(f.ice);
    g_test_message("selected pair: %s", pair);
    g_assert_true(g_str_has_prefix(pair, "host 127.0.0.1:"));
    g_assert_nonnull(strstr(pair, "<-> relay 127.0.0.2:"));
    g_free(pair);
    g_assert_true(chorus_ice_direct_active(f.ice));
    exchange_datagrams(&f, 6);
    g_assert_cmpuint(chorus_ice_direct_sends(f.ice), ==, 6);
    g_assert_cmpuint(chorus_ice_fallback_sends(f.ice), ==, 0);
    fixture_clear(&f);
    turn_stop(turn, dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ice/connect-and-exchange", test_connect_and_exchange);
    g_test_add_func("/ice/allow-list/loopback", test_allow_list_loopback);
    g_test_add_func("/ice/allow-list/no-loopback", test_allow_list_no_loopback);
    g_test_add_func("/ice/allow-list/unknown-interface", test_allow_list_unknown_interface);
    g_test_add_func("/ice/remote-candidate/forms", test_remote_candidate_forms);
    g_test_add_func("/ice/remote-candidate/queued", test_queued_before_credentials);
    g_test_add_func("/ice/remote-candidate/queued-control",
                    test_queued_not_applied_without_credentials);
    g_test_add_func("/ice/failure/timeout", test_unanswered_fails);
    g_test_add_func("/ice/failure/end-of-candidates", test_unanswered_end_of_candidates);
    g_test_add_func("/ice/failure/consent-lost", test_consent_lost);
    g_test_add_func("/ice/free/while-checking", test_free_while_checking);
    g_test_add_func("/ice/free/from-callbacks", test_free_from_callbacks);
    g_test_add_func("/ice/restart", test_restart);
    g_test_add_func("/ice/direct/connected", test_direct_connected);
    g_test_add_func("/ice/direct/restart", test_direct_restart);
    g_test_add_func("/ice/direct/tcp-fallback", test_direct_tcp_fallback);
    g_test_add_func("/ice/direct/consent-revoked", test_direct_consent_revoked);
    g_test_add_func("/ice/direct/relay", test_direct_relay_fallback);
    return g_test_run();
}
