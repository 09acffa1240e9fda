#include "core/plugin_host.h"

#include <string.h>

#include "core/janus_proto.h"
#include "core/peer.h"
#include "core/placement.h"
#include "core/plugin_loader.h"
#include "media/rtp_rewrite.h"
#include "media/sdp.h"
#include "util/log.h"

#define TAG "host"

/* ---- jobs on the handle's worker ---- */

typedef struct {
    gint ref;
    chorus_handle *h; /* a reference */
    ChorusConn *conn; /* where the direct answer goes (a reference), NULL: the owner */
    char *transaction;
    json_t *body;
    json_t *jsep;
    char *reason;
} Job;

static Job *job_new(chorus_handle *h, ChorusConn *conn, const char *transaction)
{
    Job *job = g_new0(Job, 1);
    job->ref = 1;
    job->h = chorus_handle_ref(h);
    job->conn = conn ? chorus_conn_ref(conn) : NULL;
    job->transaction = g_strdup(transaction);
    return job;
}

static void job_free(gpointer data)
{
    Job *job = data;
    if (!g_atomic_int_dec_and_test(&job->ref))
        return;
    chorus_handle_unref(job->h);
    if (job->conn)
        chorus_conn_unref(job->conn);
    g_free(job->transaction);
    g_free(job->reason);
    if (job->body)
        json_decref(job->body);
    if (job->jsep)
        json_decref(job->jsep);
    g_free(job);
}

/* A job queued before its handle moved to another worker goes after it. Returns FALSE
 * when the job was re-posted (the caller returns at once). */
static gboolean job_at_home(Job *job, GSourceFunc fn)
{
    ChorusWorker *home = chorus_handle_worker(job->h);
    if (chorus_worker_is_current(home))
        return TRUE;
    g_atomic_int_inc(&job->ref);
    chorus_worker_invoke(home, fn, job, job_free);
    return FALSE;
}

static guint64 sid(const chorus_handle *h)
{
    return chorus_session_id(h->session);
}

/* An event: to the session's current connection. */
static void reply(chorus_handle *h, json_t *msg)
{
    chorus_session_send(h->session, msg);
}

/* The direct answer to a request (ack, success, error): to the socket that sent it, as
 * in Janus, even when another socket has claimed the session since. */
static void answer(Job *job, json_t *msg)
{
    if (job->conn == NULL) {
        chorus_session_send(job->h->session, msg);
        return;
    }
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (text != NULL)
        chorus_conn_send(job->conn, text);
}

static gboolean run_start(gpointer data)
{
    Job *job = data;
    chorus_handle *h = job->h;
    int error = 0;
    if (!g_atomic_int_get(&h->gone))
        h->plugin_state = h->plugin->desc->create_session(h, &error);
    else
        error = CHORUS_ERR_HANDLE_NOT_FOUND;
    if (error != 0) {
        LOG_W(TAG, "%s refused attach of handle %" G_GUINT64_FORMAT " (code %d)",
              h->plugin->desc->package, h->id, error);
        g_atomic_int_set(&h->gone, 1);
        chorus_handle_unregister(h);
        chorus_worker_release(h->worker);
        answer(job, chorus_proto_error(job->transaction, sid(h), CHORUS_ERR_PLUGIN_ATTACH,
                                       "Couldn't attach to plugin: error '%d'", error));
        return G_SOURCE_REMOVE;
    }
    h->created = TRUE;
    answer(job, chorus_proto_success_id(job->transaction, sid(h), h->id));
    return G_SOURCE_REMOVE;
}

void chorus_handle_start(chorus_handle *h, ChorusConn *conn, const char *transaction)
{
    h->worker = chorus_worker_assign();
    chorus_worker_invoke(h->worker, run_start, job_new(h, conn, transaction), job_free);
}

/* A client's offer is checked now and kept: the PeerConnection is made when the plugin
 * answers, on the worker the handle lives on then (the plugin may place it). */
static gboolean keep_offer(Job *job)
{
    chorus_handle *h = job->h;
    const char *type = json_string_value(json_object_get(job->jsep, "type"));
    const char *sdp = json_string_value(json_object_get(job->jsep, "sdp"));
    if (g_strcmp0(type, "offer") != 0) {
        answer(job, chorus_proto_error(job->transaction, sid(h), CHORUS_ERR_UNEXPECTED_ANSWER,
                                       "Unexpected ANSWER (did we offer?)"));
        return FALSE;
    }
    GError *error = NULL;
    ChorusSdp *parsed = chorus_sdp_parse(sdp, -1, &error);
    if (parsed == NULL) {
        answer(job, chorus_proto_error(job->transaction, sid(h), CHORUS_ERR_JSEP_INVALID_SDP,
                                       "JSEP error: invalid SDP (%s)", error->message));
        g_error_free(error);
        return FALSE;
    }
    chorus_sdp_free(parsed);
    g_free(h->pending_offer);
    h->pending_offer = g_strdup(sdp);
    return TRUE;
}

static gboolean run_message(gpointer data)
{
    Job *job = data;
    if (!job_at_home(job, run_message))
        return G_SOURCE_REMOVE;
    chorus_handle *h = job->h;
    const chorus_plugin *p = h->plugin->desc;
    if (g_atomic_int_get(&h->gone) || !h->created) {
        answer(job, chorus_proto_error(job->transaction, sid(h), CHORUS_ERR_HANDLE_NOT_FOUND,
                                       "No such handle %" G_GUINT64_FORMAT " in session", h->id));
        return G_SOURCE_REMOVE;
    }
    if (job->jsep != NULL && !keep_offer(job))
        return G_SOURCE_REMOVE;
    chorus_plugin_result r =
        p->handle_message(h, h->plugin_state, job->transaction, job->body, job->jsep);
    switch (r.type) {
    case CHORUS_PLUGIN_OK:
        answer(job, chorus_proto_plugin_msg("success", job->transaction, sid(h), h->id, p->package,
                                            r.content, NULL));
        break;
    case CHORUS_PLUGIN_ASYNC:
        if (r.content)
            json_decref(r.content);
        answer(job, chorus_proto_msg("ack", job->transaction, sid(h)));
        break;
    default:
        if (r.content)
            json_decref(r.content);
        answer(job, chorus_proto_error(job->transaction, sid(h), CHORUS_ERR_PLUGIN_MESSAGE, "%s",
                                       r.error ? r.error : "Plugin could not handle the message"));
        break;
    }
    chorus_placement_finish(h); /* a move the plugin asked for, after the answer */
    return G_SOURCE_REMOVE;
}

void chorus_handle_message(chorus_handle *h, ChorusConn *conn, const char *transaction,
                           json_t *body, json_t *jsep)
{
    Job *job = job_new(h, conn, transaction);
    job->body = json_deep_copy(body);
    job->jsep = jsep ? json_deep_copy(jsep) : NULL;
    chorus_worker_invoke(chorus_handle_worker(h), run_message, job, job_free);
}

static gboolean run_hangup(gpointer data)
{
    Job *job = data;
    if (!job_at_home(job, run_hangup))
        return G_SOURCE_REMOVE;
    chorus_handle *h = job->h;
    chorus_peer_close(h, job->reason);
    if (job->transaction)
        answer(job, chorus_proto_msg("success", job->transaction, sid(h)));
    return G_SOURCE_REMOVE;
}

void chorus_handle_hangup(chorus_handle *h, ChorusConn *conn, const char *transaction,
                          const char *reason)
{
    Job *job = job_new(h, conn, transaction);
    job->reason = g_strdup(reason);
    chorus_worker_invoke(chorus_handle_worker(h), run_hangup, job, job_free);
}

static void remove_timers(chorus_handle *h)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, h->timers);
    while (g_hash_table_iter_next(&it, NULL, &value))
        chorus_worker_tick_remove(value);
    g_hash_table_remove_all(h->timers);
}

static gboolean run_detach(gpointer data)
{
    Job *job = data;
    if (!job_at_home(job, run_detach))
        return G_SOURCE_REMOVE;
    chorus_handle *h = job->h;
    g_atomic_int_set(&h->gone, 1);
    if (h->peer != NULL) {
        json_t *hangup = chorus_proto_msg("hangup", NULL, sid(h));
        json_object_set_new(hangup, "sender", json_integer((json_int_t)h->id));
        json_object_set_new(hangup, "reason", json_string("Detach"));
        reply(h, hangup);
        chorus_peer_destroy(h);
    }
    if (h->created) {
        if (h->plugin->desc->hangup_media)
            h->plugin->desc->hangup_media(h, h->plugin_state);
        h->plugin->desc->destroy_session(h, h->plugin_state);
        h->plugin_state = NULL;
        h->created = FALSE;
        chorus_worker_release(h->worker);
    }
    remove_timers(h);
    if (job->transaction)
        answer(job, chorus_proto_msg("success", job->transaction, sid(h)));
    json_t *ev = chorus_proto_msg("detached", NULL, sid(h));
    json_object_set_new(ev, "sender", json_integer((json_int_t)h->id));
    reply(h, ev);
    return G_SOURCE_REMOVE;
}

void chorus_handle_detach(chorus_handle *h, ChorusConn *conn, const char *transaction)
{
    Job *job = job_new(h, conn, transaction);
    chorus_handle_unref(h); /* the job holds its own reference now */
    chorus_worker_invoke(chorus_handle_worker(h), run_detach, job, job_free);
}

typedef struct {
    chorus_handle *h;
    json_t *info;
    json_t *webrtc;
} Query;

static gboolean run_query(gpointer data)
{
    Query *q = data;
    const chorus_plugin *p = q->h->plugin->desc;
    if (!chorus_worker_is_current(chorus_handle_worker(q->h)))
        return G_SOURCE_REMOVE; /* moved meanwhile: no view this time */
    if (q->h->created && !g_atomic_int_get(&q->h->gone) && p->query_session)
        q->info = p->query_session(q->h, q->h->plugin_state);
    q->webrtc = chorus_peer_info(q->h);
    return G_SOURCE_REMOVE;
}

json_t *chorus_handle_query(chorus_handle *h, json_t **webrtc)
{
    Query q = {.h = h};
    chorus_worker_invoke_sync(chorus_handle_worker(h), run_query, &q);
    *webrtc = q.webrtc;
    return q.info;
}

static gboolean run_trickle(gpointer data)
{
    Job *job = data;
    if (!job_at_home(job, run_trickle))
        return G_SOURCE_REMOVE;
    if (json_is_array(job->body)) {
        size_t i;
        json_t *c;
        json_array_foreach(job->body, i, c) chorus_peer_trickle(job->h, c);
    } else {
        chorus_peer_trickle(job->h, job->body);
    }
    return G_SOURCE_REMOVE;
}

void chorus_handle_trickle(chorus_handle *h, json_t *candidates)
{
    Job *job = job_new(h, NULL, NULL);
    job->body = json_deep_copy(candidates);
    chorus_worker_invoke(chorus_handle_worker(h), run_trickle, job, job_free);
}

/* ---- the host table ---- */

static int host_push_event(chorus_handle *h, const char *transaction, json_t *data, json_t *jsep)
{
    if (h == NULL || data == NULL || !json_is_object(data))
        return CHORUS_ERR_INVALID_JSON_OBJECT;
    if (g_atomic_int_get(&h->gone))
        return CHORUS_ERR_HANDLE_NOT_FOUND;
    json_t *msg = chorus_proto_plugin_msg("event", transaction, sid(h), h->id,
                                          h->plugin->desc->package, json_deep_copy(data), jsep);
    const char *type = jsep ? json_string_value(json_object_get(jsep, "type")) : NULL;
    if (type == NULL)
        return chorus_session_send(h->session, msg) ? 0 : CHORUS_ERR_TRANSPORT_SPECIFIC;
    if (strcmp(type, "answer") != 0 || !chorus_worker_is_current(chorus_handle_worker(h))) {
        json_decref(msg);
        return CHORUS_ERR_WEBRTC_STATE;
    }
    GError *error = NULL;
    if (!chorus_peer_apply_pending(h, &error)) {
        json_object_del(msg, "jsep");
        json_t *pd = json_object_get(json_object_get(msg, "plugindata"), "data");
        json_object_set_new(pd, "jsep_error",
                            json_string(error ? error->message : "no offer to answer"));
        g_clear_error(&error);
        chorus_session_send(h->session, msg);
        return CHORUS_ERR_JSEP_INVALID_SDP;
    }
    chorus_peer_send_when_gathered(h, msg); /* writes the SDP, sends when it is complete */
    return 0;
}

/* Media calls come from the handle's worker (the ABI says so): no lock. */
static void host_send_rtp(chorus_handle *h, const chorus_packet *pkt)
{
    if (h->peer != NULL)
        chorus_peer_send_rtp(h, pkt);
}

static void host_send_rtcp(chorus_handle *h, const chorus_packet *pkt)
{
    if (h->peer != NULL)
        chorus_peer_send_rtcp(h, pkt);
}

static void host_send_data(chorus_handle *h, const chorus_data *msg)
{
    if (h->peer != NULL)
        chorus_peer_send_data(h, msg);
}

static void host_request_keyframe(chorus_handle *h, int mindex)
{
    if (h->peer != NULL)
        chorus_peer_request_keyframe(h, mindex);
}

static void host_close_pc(chorus_handle *h, const char *reason)
{
    if (h != NULL && !g_atomic_int_get(&h->gone))
        chorus_peer_close(h, reason ? reason : "Closed by the plugin");
}

static void host_end_session(chorus_handle *h)
{
    if (h != NULL && chorus_handle_unregister(h))
        chorus_handle_detach(chorus_handle_ref(h), NULL, NULL);
}

typedef struct {
    chorus_handle *h;
    chorus_timer_fn fn;
    void *user;
    guint id;
} Timer;

static gboolean timer_fire(gpointer data)
{
    Timer *t = data;
    if (g_atomic_int_get(&t->h->gone) || !t->fn(t->h, t->user)) {
        g_hash_table_remove(t->h->timers, GUINT_TO_POINTER(t->id)); /* the tick goes */
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void timer_free(gpointer data)
{
    Timer *t = data;
    chorus_handle_unref(t->h);
    g_free(t);
}

static unsigned host_timer_add(chorus_handle *h, unsigned interval_ms, chorus_timer_fn fn,
                               void *user)
{
    if (h == NULL || fn == NULL || g_atomic_int_get(&h->gone))
        return 0;
    g_return_val_if_fail(chorus_worker_is_current(chorus_handle_worker(h)), 0);
    Timer *t = g_new0(Timer, 1);
    t->h = chorus_handle_ref(h);
    t->fn = fn;
    t->user = user;
    t->id = ++h->next_timer_id;
    ChorusTick *tick =
        chorus_worker_tick_add(chorus_handle_worker(h), interval_ms, timer_fire, t, timer_free);
    g_hash_table_insert(h->timers, GUINT_TO_POINTER(t->id), tick);
    return t->id;
}

static void host_timer_remove(chorus_handle *h, unsigned id)
{
    if (h == NULL)
        return;
    ChorusTick *tick = g_hash_table_lookup(h->timers, GUINT_TO_POINTER(id));
    if (tick != NULL) {
        g_hash_table_remove(h->timers, GUINT_TO_POINTER(id));
        chorus_worker_tick_remove(tick);
    }
}

static void host_handle_ref(chorus_handle *h)
{
    chorus_handle_ref(h);
}

static void host_handle_unref(chorus_handle *h)
{
    chorus_handle_unref(h);
}

static uint64_t host_handle_id(const chorus_handle *h)
{
    return h->id;
}

static uint64_t host_session_id(const chorus_handle *h)
{
    return chorus_session_id(h->session);
}

static bool host_handle_is_gone(const chorus_handle *h)
{
    return g_atomic_int_get(&h->gone) != 0;
}

static int host_place_handle(chorus_handle *h, const char *key, chorus_continue_fn fn, void *user)
{
    if (h == NULL || fn == NULL || !chorus_worker_is_current(chorus_handle_worker(h)))
        return CHORUS_ERR_WEBRTC_STATE;
    return chorus_placement_request(h, key, fn, user);
}

static void host_handle_call(chorus_handle *h, chorus_continue_fn fn, void *user)
{
    if (h != NULL && fn != NULL && !g_atomic_int_get(&h->gone))
        chorus_placement_call(h, fn, user);
}

static int host_worker_index(const chorus_handle *h)
{
    return (int)chorus_worker_index(chorus_handle_worker(h));
}

static json_t *host_describe_sdp(json_t *jsep)
{
    const char *text = json_string_value(json_object_get(jsep, "sdp"));
    ChorusSdp *sdp = text ? chorus_sdp_parse(text, -1, NULL) : NULL;
    if (sdp == NULL)
        return NULL;
    static const char *const kinds[] = {"audio", "video", "application", "other"};
    json_t *out = json_array();
    for (guint i = 0; i < sdp->media->len; i++) {
        const ChorusSdpMedia *m = g_ptr_array_index(sdp->media, i);
        json_array_append_new(
            out, json_pack("{s:i,s:s?,s:s,s:s,s:b}", "index", (int)i, "mid", m->mid, "type",
                           kinds[m->kind], "direction",
                           chorus_sdp_direction_name(chorus_sdp_media_direction(sdp, m)),
                           "disabled", m->port == 0));
    }
    chorus_sdp_free(sdp);
    return out;
}

static chorus_rtp_rewriter *host_rewriter_new(uint32_t clock_rate)
{
    chorus_rtp_rewriter *rw = g_new0(chorus_rtp_rewriter, 1);
    chorus_rtp_rewriter_init(rw, 0, clock_rate, (uint16_t)g_random_int(), g_random_int());
    return rw;
}

static void host_rewriter_free(chorus_rtp_rewriter *rw)
{
    g_free(rw);
}

static void host_rewriter_reset(chorus_rtp_rewriter *rw)
{
    chorus_rtp_rewriter_reset_source(rw);
}

static bool host_rewriter_map(chorus_rtp_rewriter *rw, uint32_t source, uint16_t seq, uint32_t ts,
                              uint64_t now_us, uint16_t *out_seq, uint32_t *out_ts)
{
    return chorus_rtp_rewriter_map(rw, source, seq, ts, now_us, out_seq, out_ts) ==
           CHORUS_RTP_REWRITE_FORWARD;
}

static void host_log(chorus_log_level level, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    chorus_logv(level, tag, fmt, ap);
    va_end(ap);
}

static json_t *host_token_claims(chorus_handle *h)
{
    return h != NULL ? chorus_session_claims(h->session) : NULL;
}

static const chorus_host host = {
    .abi_version = CHORUS_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(chorus_host),
    .push_event = host_push_event,
    .send_rtp = host_send_rtp,
    .send_rtcp = host_send_rtcp,
    .send_data = host_send_data,
    .request_keyframe = host_request_keyframe,
    .close_pc = host_close_pc,
    .end_session = host_end_session,
    .timer_add = host_timer_add,
    .timer_remove = host_timer_remove,
    .handle_ref = host_handle_ref,
    .handle_unref = host_handle_unref,
    .handle_id = host_handle_id,
    .session_id = host_session_id,
    .handle_is_gone = host_handle_is_gone,
    .place_handle = host_place_handle,
    .handle_call = host_handle_call,
    .worker_index = host_worker_index,
    .describe_sdp = host_describe_sdp,
    .rewriter_new = host_rewriter_new,
    .rewriter_free = host_rewriter_free,
    .rewriter_reset = host_rewriter_reset,
    .rewriter_map = host_rewriter_map,
    .log = host_log,
    .token_claims = host_token_claims,
};

const chorus_host *chorus_host_table(void)
{
    return &host;
}
