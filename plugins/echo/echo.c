/* chorus.plugin.echo: sends a participant's audio, video and data-channel messages
 * back to them. A diagnostics plugin.
 *
 * Requests: any JSON object, optionally with "audio", "video", "data" (booleans: echo
 * that kind or not; default true) and a jsep offer. Answer: "ack", then an event
 *   {"echo":"event","result":"ok","body":<the request body>}
 * carrying the SDP answer when the message had an offer.
 * A body with "request":"info" gets a synchronous "success" with
 *   {"echo":"info","messages":<count so far>}. */
#include <glib.h>
#include <string.h>

#include "chorus/plugin.h"

#define ECHO_PACKAGE "chorus.plugin.echo"
#define TAG          "echo"

static const chorus_host *host;

typedef struct {
    GQueue pending;   /* Pending*: answers waiting for the next worker turn */
    guint64 messages; /* messages handled on this handle */
    unsigned flush_timer;
    bool audio, video, data; /* what is echoed */
    guint32 video_seen;      /* m-lines whose video started (bit per mindex < 32) */
    guint64 rtp_echoed, data_echoed;
} EchoState;

typedef struct {
    char *transaction;
    json_t *body;
    bool answer; /* the message carried an offer */
} Pending;

static void pending_free(gpointer data)
{
    Pending *p = data;
    g_free(p->transaction);
    json_decref(p->body);
    g_free(p);
}

static int echo_init(const chorus_host *h, const char *config_dir)
{
    host = h;
    host->log(CHORUS_LOG_INFO, TAG, "echo plugin ready");
    return 0;
}

static void echo_shutdown(void)
{
    host = NULL;
}

static void *echo_create(chorus_handle *h, int *error)
{
    EchoState *st = g_new0(EchoState, 1);
    g_queue_init(&st->pending);
    st->audio = st->video = st->data = true;
    return st;
}

static void echo_destroy(chorus_handle *h, void *state)
{
    EchoState *st = state;
    if (st->flush_timer)
        host->timer_remove(h, st->flush_timer);
    g_queue_clear_full(&st->pending, pending_free);
    g_free(st);
}

static json_t *echo_query(chorus_handle *h, void *state)
{
    EchoState *st = state;
    return json_pack("{s:I,s:i,s:b,s:b,s:b,s:I,s:I}", "messages", (json_int_t)st->messages,
                     "pending", (int)g_queue_get_length(&st->pending), "audio", st->audio, "video",
                     st->video, "data", st->data, "rtp_echoed", (json_int_t)st->rtp_echoed,
                     "data_echoed", (json_int_t)st->data_echoed);
}

/* Runs on the worker after the "ack" went out: answers each pending message. */
static bool echo_flush(chorus_handle *h, void *user)
{
    EchoState *st = user;
    Pending *p;
    while ((p = g_queue_pop_head(&st->pending)) != NULL) {
        json_t *data = json_pack("{s:s,s:s,s:O}", "echo", "event", "result", "ok", "body", p->body);
        json_t *jsep = p->answer ? json_pack("{s:s}", "type", "answer") : NULL;
        host->push_event(h, p->transaction, data, jsep);
        json_decref(data);
        if (jsep)
            json_decref(jsep);
        pending_free(p);
    }
    st->flush_timer = 0;
    return false;
}

static chorus_plugin_result echo_message(chorus_handle *h, void *state, const char *transaction,
                                         json_t *body, json_t *jsep)
{
    EchoState *st = state;
    st->messages++;
    const char *request = json_string_value(json_object_get(body, "request"));
    if (request != NULL && strcmp(request, "info") == 0) {
        json_t *info = json_pack("{s:s,s:I}", "echo", "info", "messages", (json_int_t)st->messages);
        return (chorus_plugin_result){CHORUS_PLUGIN_OK, info, NULL};
    }
    json_t *v;
    if ((v = json_object_get(body, "audio")) != NULL && json_is_boolean(v))
        st->audio = json_is_true(v);
    if ((v = json_object_get(body, "video")) != NULL && json_is_boolean(v))
        st->video = json_is_true(v);
    if ((v = json_object_get(body, "data")) != NULL && json_is_boolean(v))
        st->data = json_is_true(v);
    Pending *p = g_new0(Pending, 1);
    p->transaction = g_strdup(transaction);
    p->body = json_incref(body);
    p->answer = jsep != NULL;
    g_queue_push_tail(&st->pending, p);
    if (st->flush_timer == 0)
        st->flush_timer = host->timer_add(h, 0, echo_flush, st);
    return (chorus_plugin_result){CHORUS_PLUGIN_ASYNC, NULL, NULL};
}

static void echo_rtp(chorus_handle *h, void *state, chorus_packet *pkt)
{
    EchoState *st = state;
    if (pkt->video ? !st->video : !st->audio)
        return;
    if (pkt->video && pkt->mindex >= 0 && pkt->mindex < 32 &&
        !(st->video_seen & (1u << pkt->mindex))) {
        st->video_seen |= 1u << pkt->mindex; /* video starts: ask for a keyframe */
        host->request_keyframe(h, pkt->mindex);
    }
    host->send_rtp(h, pkt); /* same m-line: our SSRC and ids are written by the core */
    st->rtp_echoed++;
}

static void echo_rtcp(chorus_handle *h, void *state, chorus_packet *pkt)
{
    if (pkt->keyframe_request) /* the receiver (the same client) wants a keyframe */
        host->request_keyframe(h, pkt->mindex);
}

static void echo_data(chorus_handle *h, void *state, const chorus_data *msg)
{
    EchoState *st = state;
    if (!st->data)
        return;
    host->send_data(h, msg);
    st->data_echoed++;
}

static void echo_hangup(chorus_handle *h, void *state)
{
    EchoState *st = state;
    st->video_seen = 0;
}

static const chorus_plugin echo_plugin = {
    .abi_version = CHORUS_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(chorus_plugin),
    .package = ECHO_PACKAGE,
    .name = "Echo",
    .description = "Sends a participant's messages and media back, for diagnostics",
    .version_string = "0.1.0",
    .version = 1,
    .init = echo_init,
    .shutdown = echo_shutdown,
    .create_session = echo_create,
    .destroy_session = echo_destroy,
    .query_session = echo_query,
    .handle_message = echo_message,
    .incoming_rtp = echo_rtp,
    .incoming_rtcp = echo_rtcp,
    .incoming_data = echo_data,
    .hangup_media = echo_hangup,
};

CHORUS_PLUGIN_EXPORT const chorus_plugin *chorus_plugin_entry(void);
const chorus_plugin *chorus_plugin_entry(void)
{
    return &echo_plugin;
}
