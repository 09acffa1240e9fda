/* Janus API dispatch: every request and error path, through a fake connection. */
#include <glib.h>
#include <string.h>

#include "core/config.h"
#include "core/peer.h"
#include "core/plugin_host.h"
#include "core/plugin_loader.h"
#include "core/session.h"
#include "core/worker.h"
#include "fake_conn.h"
#include "signal/api.h"

static ChorusConfig *cfg;

static void api_send(ChorusConn *c, const char *text)
{
    chorus_api_handle(c, text, strlen(text));
}

static void api_sendf(ChorusConn *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void api_sendf(ChorusConn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    api_send(c, text);
}

/* The next message, which must be of the given kind. */
static json_t *expect(ChorusConn *c, const char *kind)
{
    json_t *msg = fake_conn_next(c, 5000);
    g_assert_nonnull(msg);
    const char *got = json_string_value(json_object_get(msg, "janus"));
    if (g_strcmp0(got, kind) != 0) {
        char *dump = json_dumps(msg, 0);
        g_error("expected '%s', got %s", kind, dump);
    }
    return msg;
}

static void expect_error(ChorusConn *c, int code)
{
    json_t *msg = expect(c, "error");
    json_t *e = json_object_get(msg, "error");
    g_assert_cmpint(json_integer_value(json_object_get(e, "code")), ==, code);
    g_assert_true(json_is_string(json_object_get(e, "reason")));
    json_decref(msg);
}

static json_int_t create_session(ChorusConn *c)
{
    api_send(c, "{\"janus\":\"create\",\"transaction\":\"c1\"}");
    json_t *msg = expect(c, "success");
    g_assert_cmpstr(json_string_value(json_object_get(msg, "transaction")), ==, "c1");
    json_int_t id = json_integer_value(json_object_get(json_object_get(msg, "data"), "id"));
    g_assert_cmpint(id, >, 0);
    g_assert_cmpint(id, <, (json_int_t)1 << 53);
    json_decref(msg);
    return id;
}

static json_int_t attach_echo(ChorusConn *c, json_int_t sid)
{
    api_sendf(c,
              "{\"janus\":\"attach\",\"transaction\":\"a1\",\"session_id\":%" JSON_INTEGER_FORMAT
              ",\"plugin\":\"chorus.plugin.echo\"}",
              sid);
    json_t *msg = expect(c, "success");
    json_int_t hid = json_integer_value(json_object_get(json_object_get(msg, "data"), "id"));
    g_assert_cmpint(hid, >, 0);
    json_decref(msg);
    return hid;
}

static void test_envelope_errors(void)
{
    ChorusConn *c = fake_conn_new(FALSE);
    api_send(c, "{not json");
    expect_error(c, 454);
    api_send(c, "[1,2]");
    expect_error(c, 455);
    api_send(c, "{\"janus\":\"create\"}");
    expect_error(c, 456);
    api_send(c, "{\"transaction\":\"t\"}");
    expect_error(c, 452);
    api_send(c, "{\"janus\":\"dance\",\"transaction\":\"t\"}");
    expect_error(c, 453);
    api_send(c, "{\"janus\":5,\"transaction\":\"t\"}");
    expect_error(c, 467);
    api_send(c, "{\"janus\":\"keepalive\",\"transaction\":\"t\",\"session_id\":\"x\"}");
    expect_error(c, 467);
    api_send(c, "{\"janus\":\"keepalive\",\"transaction\":\"t\",\"session_id\":12345}");
    expect_error(c, 458);
    api_send(c, "{\"janus\":\"attach\",\"transaction\":\"t\",\"plugin\":\"chorus.plugin.echo\"}");
    expect_error(c, 457);
    g_assert_cmpuint(fake_conn_pending(c), ==, 0);
    chorus_conn_unref(c);
}

static void test_info_ping(void)
{
    ChorusConn *c = fake_conn_new(FALSE);
    api_send(c, "{\"janus\":\"ping\",\"transaction\":\"p\"}");
    json_decref(expect(c, "pong"));
    api_send(c, "{\"janus\":\"info\",\"transaction\":\"i\"}");
    json_t *info = expect(c, "server_info");
    g_assert_nonnull(json_object_get(json_object_get(info, "plugins"), "chorus.plugin.echo"));
    json_decref(info);
    chorus_conn_unref(c);
}

static void test_lifecycle(void)
{
    ChorusConn *c = fake_conn_new(FALSE);
    json_int_t sid = create_session(c);
    api_sendf(c, "{\"janus\":\"keepalive\",\"transaction\":\"k\",\"session_id\":%lld}",
              (long long)sid);
    json_decref(expect(c, "ack"));
    api_sendf(c,
              "{\"janus\":\"attach\",\"transaction\":\"a\",\"session_id\":%lld,\"plugin\":"
              "\"nope\"}",
              (long long)sid);
    expect_error(c, 460);
    api_sendf(c, "{\"janus\":\"attach\",\"transaction\":\"a\",\"session_id\":%lld}",
              (long long)sid);
    expect_error(c, 456);
    json_int_t hid = attach_echo(c, sid);

    /* message: ack then the echo event carrying the body */
    api_sendf(c,
              "{\"janus\":\"message\",\"transaction\":\"m1\",\"session_id\":%lld,"
              "\"handle_id\":%lld,\"body\":{\"hello\":\"world\"}}",
              (long long)sid, (long long)hid);
    json_t *ack = expect(c, "ack");
    g_assert_cmpstr(json_string_value(json_object_get(ack, "transaction")), ==, "m1");
    json_decref(ack);
    json_t *ev = expect(c, "event");
    g_assert_cmpint(json_integer_value(json_object_get(ev, "sender")), ==, hid);
    g_assert_cmpstr(json_string_value(json_object_get(ev, "transaction")), ==, "m1");
    json_t *pd = json_object_get(ev, "plugindata");
    g_assert_cmpstr(json_string_value(json_object_get(pd, "plugin")), ==, "chorus.plugin.echo");
    json_t *body = json_object_get(json_object_get(pd, "data"), "body");
    g_assert_cmpstr(json_string_value(json_object_get(body, "hello")), ==, "world");
    json_decref(ev);

    /* synchronous plugin answer */
    api_sendf(c,
              "{\"janus\":\"message\",\"transaction\":\"m2\",\"session_id\":%lld,"
              "\"handle_id\":%lld,\"body\":{\"request\":\"info\"}}",
              (long long)sid, (long long)hid);
    json_t *ok = expect(c, "success");
    json_t *data = json_object_get(json_object_get(ok, "plugindata"), "data");
    g_assert_cmpint(json_integer_value(json_object_get(data, "messages")), ==, 2);
    json_decref(ok);

    /* handle-level errors */
    api_sendf(c,
              "{\"janus\":\"message\",\"transaction\":\"m\",\"session_id\":%lld,"
              "\"handle_id\":%lld}",
              (long long)sid, (long long)hid);
    expect_error(c, 456);
    api_sendf(c,
              "{\"janus\":\"message\",\"transaction\":\"m\",\"session_id\":%lld,"
              "\"handle_id\":%lld,\"body\":[]}",
              (long long)sid, (long long)hid);
    expect_error(c, 467);
    api_sendf(c,
              "{\"janus\":\"message\",\"transaction\":\"m\",\"session_id\":%lld,"
              "\"handle_id\":%lld,\"body\":{},\"jsep\":{\"type\":\"pranswer\",\"sdp\":\"v=0\"}}",
              (long long)sid, (long long)hid);
    expect_error(c, 464);
    api_sendf(c,
              "{\"janus\":\"message\",\"transaction\":\"m\",\"session_id\":%lld,"
              "\"handle_id\":%lld,\"body\":{},\"jsep\":{\"type\":\"offer\"}}",
              (long long)sid, (long long)hid);
    expect_error(c, 465);
    api_sendf(c,
              "{\"janus\":\"message\",\"transaction\":\"m\",\"session_id\":%lld,"
              "\"handle_id\":99,\"body\":{}}",
              (long long)sid);
    expect_error(c, 459);
    api_sendf(c, "{\"janus\":\"message\",\"transaction\":\"m\",\"session_id\":%lld,\"body\":{}}",
              (long long)sid);
    expect_error(c, 457);
    api_sendf(c,
              "{\"janus\":\"trickle\",\"transaction\":\"t\",\"session_id\":%lld,"
              "\"handle_id\":%lld}",
              (long long)sid, (long long)hid);
    expect_error(c, 456);
    api_sendf(c,
              "{\"janus\":\"trickle\",\"transaction\":\"t\",\"session_id\":%lld,"
              "\"handle_id\":%lld,\"candidate\":{\"completed\":true}}",
              (long long)sid, (long long)hid);
    json_decref(expect(c, "ack"));

    /* detach: success and a detached event; the handle is gone */
    api_sendf(c,
              "{\"janus\":\"detach\",\"transaction\":\"d\",\"session_id\":%lld,"
              "\"handle_id\":%lld}",
              (long long)sid, (long long)hid);
    json_decref(expect(c, "success"));
    json_t *det = expect(c, "detached");
    g_assert_cmpint(json_integer_value(json_object_get(det, "sender")), ==, hid);
    json_decref(det);
    api_sendf(c,
              "{\"janus\":\"detach\",\"transaction\":\"d\",\"session_id\":%lld,"
              "\"handle_id\":%lld}",
              (long long)sid, (long long)hid);
    expect_error(c, 459);

    /* destroy, then the session is unknown */
    api_sendf(c, "{\"janus\":\"destroy\",\"transaction\":\"x\",\"session_id\":%lld}",
              (long long)sid);
    json_decref(expect(c, "success"));
    api_sendf(c, "{\"janus\":\"keepalive\",\"transaction\":\"k\",\"session_id\":%lld}",
              (long long)sid);
    expect_error(c, 458);
    g_assert_cmpuint(chorus_sessions_count(), ==, 0);
    chorus_conn_unref(c);
}

static void test_destroy_detaches_handles(void)
{
    ChorusConn *c = fake_conn_new(FALSE);
    json_int_t sid = create_session(c);
    json_int_t h1 = attach_echo(c, sid);
    json_int_t h2 = attach_echo(c, sid);
    api_sendf(c, "{\"janus\":\"destroy\",\"transaction\":\"x\",\"session_id\":%lld}",
              (long long)sid);
    gboolean seen1 = FALSE, seen2 = FALSE, success = FALSE;
    for (int i = 0; i < 3; i++) {
        json_t *m = fake_conn_next(c, 5000);
        g_assert_nonnull(m);
        const char *kind = json_string_value(json_object_get(m, "janus"));
        json_int_t sender = json_integer_value(json_object_get(m, "sender"));
        if (strcmp(kind, "success") == 0)
            success = TRUE;
        else if (strcmp(kind, "detached") == 0 && sender == h1)
            seen1 = TRUE;
        else if (strcmp(kind, "detached") == 0 && sender == h2)
            seen2 = TRUE;
        json_decref(m);
    }
    g_assert_true(success && seen1 && seen2);
    chorus_conn_unref(c);
}

static void test_timeout(void)
{
    cfg->session_timeout = 1;
    ChorusConn *c = fake_conn_new(FALSE);
    json_int_t sid = create_session(c);
    chorus_api_watchdog(); /* not idle yet */
    g_assert_cmpuint(fake_conn_pending(c), ==, 0);
    g_usleep(1100 * 1000);
    chorus_api_watchdog();
    json_t *t = expect(c, "timeout");
    g_assert_cmpint(json_integer_value(json_object_get(t, "session_id")), ==, sid);
    json_decref(t);
    g_assert_null(chorus_session_lookup((guint64)sid));
    cfg->session_timeout = 60;
    chorus_conn_unref(c);
}

static void test_claim_moves_events(void)
{
    ChorusConn *c1 = fake_conn_new(FALSE);
    ChorusConn *c2 = fake_conn_new(FALSE);
    json_int_t sid = create_session(c1);
    json_int_t hid = attach_echo(c1, sid);
    chorus_conn_close(c1);
    chorus_api_conn_closed(c1);
    chorus_api_watchdog(); /* within reclaim_timeout: the session stays */
    api_sendf(c2, "{\"janus\":\"claim\",\"transaction\":\"cl\",\"session_id\":%lld}",
              (long long)sid);
    json_decref(expect(c2, "success"));
    api_sendf(c2,
              "{\"janus\":\"message\",\"transaction\":\"m\",\"session_id\":%lld,"
              "\"handle_id\":%lld,\"body\":{\"n\":1}}",
              (long long)sid, (long long)hid);
    json_decref(expect(c2, "ack"));
    json_decref(expect(c2, "event"));
    api_sendf(c2, "{\"janus\":\"destroy\",\"transaction\":\"x\",\"session_id\":%lld}",
              (long long)sid);
    json_decref(expect(c2, "success"));
    chorus_conn_unref(c1);
    chorus_conn_unref(c2);
}

/* Events raised while the session has no socket are kept and come first on claim. */
static void test_backlog_on_claim(void)
{
    ChorusConn *c1 = fake_conn_new(FALSE);
    ChorusConn *c2 = fake_conn_new(FALSE);
    json_int_t sid = create_session(c1);
    json_int_t hid = attach_echo(c1, sid);
    chorus_conn_close(c1);
    chorus_api_conn_closed(c1);
    api_sendf(c2,
              "{\"janus\":\"message\",\"transaction\":\"m\",\"session_id\":%lld,"
              "\"handle_id\":%lld,\"body\":{\"n\":2}}",
              (long long)sid, (long long)hid);
    json_decref(expect(c2, "ack")); /* the direct answer goes to the requester */
    g_usleep(200 * 1000);           /* the echo event is raised with nobody listening */
    g_assert_cmpuint(fake_conn_pending(c2), ==, 0);
    api_sendf(c2, "{\"janus\":\"claim\",\"transaction\":\"cl\",\"session_id\":%lld}",
              (long long)sid);
    json_t *ev = expect(c2, "event");
    json_t *body =
        json_object_get(json_object_get(json_object_get(ev, "plugindata"), "data"), "body");
    g_assert_cmpint(json_integer_value(json_object_get(body, "n")), ==, 2);
    json_decref(ev);
    json_decref(expect(c2, "success"));
    api_sendf(c2, "{\"janus\":\"destroy\",\"transaction\":\"x\",\"session_id\":%lld}",
              (long long)sid);
    json_decref(expect(c2, "success"));
    json_decref(expect(c2, "detached"));
    chorus_conn_unref(c1);
    chorus_conn_unref(c2);
}

/* Regression (fuzz_api): a TCP candidate without a valid tcptype made libnice's parser
 * call g_ascii_strcasecmp(NULL) (a critical; fatal under GTest). Trickled or inside the
 * offer, it must be refused quietly, and the server goes on answering. */
static void bad_tcp_candidate(gboolean in_offer)
{
    g_autofree char *path =
        g_test_build_filename(G_TEST_DIST, "tests", "fuzz", "corpus", "sdp", "aiortc_av.sdp", NULL);
    g_autofree char *sdp = NULL;
    g_assert_true(g_file_get_contents(path, &sdp, NULL, NULL));
    if (in_offer) {
        char *at = strstr(sdp, "a=mid:0\r\n");
        g_assert_nonnull(at);
        at += strlen("a=mid:0\r\n");
        char *with =
            g_strdup_printf("%.*sa=candidate:2 1 tcp 1518280447 192.0.2.1 9 typ host\r\n%s",
                            (int)(at - sdp), sdp, at);
        g_free(sdp);
        sdp = with;
    }
    ChorusConn *c = fake_conn_new(FALSE);
    json_int_t sid = create_session(c);
    json_int_t hid = attach_echo(c, sid);
    json_t *msg =
        json_pack("{s:s,s:s,s:I,s:I,s:{},s:{s:s,s:s}}", "janus", "message", "transaction", "m",
                  "session_id", sid, "handle_id", hid, "body", "jsep", "type", "offer", "sdp", sdp);
    g_autofree char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    api_send(c, text);
    json_decref(expect(c, "ack"));
    json_t *ev = expect(c, "event");
    g_assert_nonnull(json_object_get(ev, "jsep")); /* the PeerConnection exists now */
    json_decref(ev);
    if (!in_offer) {
        api_sendf(c,
                  "{\"janus\":\"trickle\",\"transaction\":\"t\",\"session_id\":%lld,"
                  "\"handle_id\":%lld,\"candidates\":[{\"candidate\":\"candidate:2 1 tcp "
                  "1518280447 192.0.2.1 9 typ host tcptyqe active\",\"sdpMid\":\"0\"},"
                  "{\"candidate\":\"candidate:3 1 udp 1 198.51.100.1 40000 typ s?flx\","
                  "\"sdpMid\":\"0\"}]}",
                  (long long)sid, (long long)hid);
        json_decref(expect(c, "ack"));
    }
    api_sendf(c,
              "{\"janus\":\"message\",\"transaction\":\"i\",\"session_id\":%lld,"
              "\"handle_id\":%lld,\"body\":{\"request\":\"info\"}}",
              (long long)sid, (long long)hid);
    json_t *ok = NULL;
    while ((ok = fake_conn_next(c, 5000)) != NULL &&
           g_strcmp0(json_string_value(json_object_get(ok, "janus")), "success") != 0)
        json_decref(ok); /* trickle events of the server's candidates may come first */
    g_assert_nonnull(ok);
    json_decref(ok);
    chorus_api_destroy_all();
    chorus_conn_unref(c);
}

static void test_trickle_bad_tcp_candidate(void)
{
    bad_tcp_candidate(FALSE);
}

static void test_offer_bad_tcp_candidate(void)
{
    bad_tcp_candidate(TRUE);
}

static void test_orphan_expires(void)
{
    cfg->reclaim_timeout = 0;
    ChorusConn *c = fake_conn_new(FALSE);
    json_int_t sid = create_session(c);
    chorus_api_conn_closed(c);
    g_assert_null(chorus_session_lookup((guint64)sid));
    cfg->reclaim_timeout = 20;
    chorus_conn_unref(c);
}

static void test_secrets_and_limits(void)
{
    ChorusConn *c = fake_conn_new(FALSE);
    g_free(cfg->api_secret);
    cfg->api_secret = g_strdup("pw");
    api_send(c, "{\"janus\":\"create\",\"transaction\":\"t\"}");
    expect_error(c, 403);
    api_send(c, "{\"janus\":\"create\",\"transaction\":\"t\",\"apisecret\":\"wrong\"}");
    expect_error(c, 403);
    api_send(c, "{\"janus\":\"ping\",\"transaction\":\"t\"}");
    json_decref(expect(c, "pong"));
    api_send(c, "{\"janus\":\"create\",\"transaction\":\"t\",\"apisecret\":\"pw\"}");
    json_t *ok = expect(c, "success");
    json_int_t sid = json_integer_value(json_object_get(json_object_get(ok, "data"), "id"));
    json_decref(ok);
    g_free(cfg->api_secret);
    cfg->api_secret = g_strdup("");

    cfg->max_sessions = 1;
    api_send(c, "{\"janus\":\"create\",\"transaction\":\"t\"}");
    expect_error(c, 472);
    cfg->max_sessions = 10000;
    cfg->max_handles_per_session = 1;
    attach_echo(c, sid);
    api_sendf(c,
              "{\"janus\":\"attach\",\"transaction\":\"a\",\"session_id\":%lld,"
              "\"plugin\":\"chorus.plugin.echo\"}",
              (long long)sid);
    expect_error(c, 461);
    cfg->max_handles_per_session = 16;
    chorus_api_destroy_all();
    json_decref(expect(c, "detached"));
    chorus_conn_unref(c);
}

static void test_admin(void)
{
    ChorusConn *c = fake_conn_new(FALSE);
    ChorusConn *a = fake_conn_new(TRUE);
    json_int_t sid = create_session(c);
    json_int_t hid = attach_echo(c, sid);
    g_free(cfg->admin_secret);
    cfg->admin_secret = g_strdup("adm");
    api_send(a, "{\"janus\":\"list_sessions\",\"transaction\":\"l\"}");
    expect_error(a, 403);
    api_send(a, "{\"janus\":\"list_sessions\",\"transaction\":\"l\",\"admin_secret\":\"adm\"}");
    json_t *res = expect(a, "success");
    json_t *ids = json_object_get(res, "sessions");
    g_assert_cmpuint(json_array_size(ids), ==, 1);
    g_assert_cmpint(json_integer_value(json_array_get(ids, 0)), ==, sid);
    json_decref(res);
    api_sendf(a,
              "{\"janus\":\"list_handles\",\"transaction\":\"l\",\"admin_secret\":\"adm\","
              "\"session_id\":%lld}",
              (long long)sid);
    res = expect(a, "success");
    g_assert_cmpint(json_integer_value(json_array_get(json_object_get(res, "handles"), 0)), ==,
                    hid);
    json_decref(res);
    api_sendf(a,
              "{\"janus\":\"handle_info\",\"transaction\":\"l\",\"admin_secret\":\"adm\","
              "\"session_id\":%lld,\"handle_id\":%lld}",
              (long long)sid, (long long)hid);
    res = expect(a, "success");
    json_t *info = json_object_get(res, "info");
    g_assert_cmpstr(json_string_value(json_object_get(info, "plugin")), ==, "chorus.plugin.echo");
    g_assert_nonnull(json_object_get(json_object_get(info, "plugin_specific"), "messages"));
    json_decref(res);
    api_send(a, "{\"janus\":\"get_status\",\"transaction\":\"s\",\"admin_secret\":\"adm\"}");
    res = expect(a, "success");
    g_assert_cmpint(json_integer_value(json_object_get(json_object_get(res, "status"), "sessions")),
                    ==, 1);
    json_decref(res);
    api_send(a, "{\"janus\":\"list_things\",\"transaction\":\"s\",\"admin_secret\":\"adm\"}");
    expect_error(a, 453);
    g_free(cfg->admin_secret);
    cfg->admin_secret = g_strdup("");
    chorus_api_destroy_all();
    json_decref(expect(c, "detached"));
    chorus_conn_unref(c);
    chorus_conn_unref(a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    cfg = chorus_config_new_defaults();
    chorus_sessions_init();
    chorus_api_init(cfg);
    GError *init_error = NULL;
    if (!chorus_peers_global_init(cfg, &init_error))
        g_error("media setup: %s", init_error->message);
    chorus_workers_start(2);
    g_autofree char *echo =
        g_test_build_filename(G_TEST_BUILT, "plugins", "build", "chorus_plugin_echo.so", NULL);
    GError *error = NULL;
    if (chorus_plugin_load(echo, chorus_host_table(), ".", NULL, &error) == NULL)
        g_error("cannot load the echo plugin: %s", error->message);

    g_test_add_func("/api/envelope-errors", test_envelope_errors);
    g_test_add_func("/api/info-ping", test_info_ping);
    g_test_add_func("/api/lifecycle", test_lifecycle);
    g_test_add_func("/api/destroy-detaches-handles", test_destroy_detaches_handles);
    g_test_add_func("/api/timeout", test_timeout);
    g_test_add_func("/api/claim-moves-events", test_claim_moves_events);
    g_test_add_func("/api/backlog-on-claim", test_backlog_on_claim);
    g_test_add_func("/api/orphan-expires", test_orphan_expires);
    g_test_add_func("/api/trickle-bad-tcp-candidate", test_trickle_bad_tcp_candidate);
    g_test_add_func("/api/offer-bad-tcp-candidate", test_offer_bad_tcp_candidate);
    g_test_add_func("/api/secrets-and-limits", test_secrets_and_limits);
    g_test_add_func("/api/admin", test_admin);
    int rc = g_test_run();
    chorus_api_destroy_all();
    chorus_workers_stop();
    chorus_plugins_unload_all();
    chorus_sessions_cleanup();
    chorus_peers_global_cleanup();
    chorus_config_free(cfg);
    return rc;
}
