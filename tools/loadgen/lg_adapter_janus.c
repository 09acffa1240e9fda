/* chorus-loadgen adapter for Janus 1.x VideoRoom (janus.plugin.videoroom), the same
 * load as the Chorus voice adapter:
 *
 *   prepare  the controller creates one room per channel;
 *   phase 1  every participant joins its room as a publisher; speakers publish one
 *            sendonly Opus m-line ("joinandconfigure" with the offer);
 *   phase 2  (every publisher exists now) every participant subscribes, on a second
 *            handle and PeerConnection, to all the other speakers of its room at once
 *            (multistream "join" as subscriber with a "streams" list; Janus offers,
 *            we answer with "start"). No renegotiation afterwards.
 *
 * Expected-delivery rule: every listener gets every packet of every other speaker of
 * its room (Janus has no slots; compare with Chorus at K >= speakers). */
#include <string.h>

#include "lg_adapter.h"

#define VIDEOROOM "janus.plugin.videoroom"

static guint64 room_id(const LgRun *run, guint channel)
{
    return run->opt.room_base + channel;
}

static gboolean janus_prepare(LgRun *run, GMainContext *ctx, LgJanus *j, GError **error)
{
    if (run->opt.room_base == 0)
        run->opt.room_base = (guint64)(run->run_id % 100000u) * 1000u + 1u;
    if (!lg_control_attach(run, ctx, j, error))
        return FALSE;
    for (guint c = 0; c < run->opt.channels; c++) {
        json_t *body =
            json_pack("{s:s,s:I,s:i,s:s,s:b,s:b}", "request", "create", "room",
                      (json_int_t)room_id(run, c), "publishers", (int)run->opt.participants,
                      "audiocodec", "opus", "permanent", 0, "notify_joining", 0);
        if (run->opt.admin_key)
            json_object_set_new(body, "admin_key", json_string(run->opt.admin_key));
        json_t *data = lg_control_request(run, ctx, j, body, error);
        gboolean ok = data && g_strcmp0(json_string_value(json_object_get(data, "videoroom")),
                                        "created") == 0;
        json_decref(data);
        if (!ok) {
            g_prefix_error(error, "create room %" G_GUINT64_FORMAT ": ", room_id(run, c));
            return FALSE;
        }
    }
    return TRUE;
}

static void janus_cleanup(LgRun *run, GMainContext *ctx, LgJanus *j)
{
    for (guint c = 0; run->ctl_handle && c < run->opt.channels; c++) {
        json_t *body =
            json_pack("{s:s,s:I}", "request", "destroy", "room", (json_int_t)room_id(run, c));
        lg_control_cleanup(run, ctx, j, body);
    }
    if (run->ctl_session)
        lg_janus_send(j, lg_janus_msg("destroy", run->ctl_session, 0));
}

/* ---- phase 1: publishers ---------------------------------------------------------- */

static void on_pub_event(LgParticipant *p, json_t *msg)
{
    lg_handle_common_event(p, p->pc, msg); /* room notifications need no action */
}

static gboolean check_videoroom(LgParticipant *p, json_t *msg, const char *what, const char *want)
{
    const char *err = lg_reply_error(msg);
    const char *kind = json_string_value(json_object_get(lg_janus_plugin_data(msg), "videoroom"));
    if (!err && g_strcmp0(kind, want) == 0)
        return TRUE;
    g_autofree char *why = g_strdup_printf("%s: %s", what,
                                           err    ? err
                                           : kind ? kind
                                                  : "unexpected answer");
    lg_participant_done(p, FALSE, why);
    return FALSE;
}

static void on_pub_joined(LgParticipant *p, json_t *msg)
{
    if (!check_videoroom(p, msg, "join", "joined"))
        return;
    if (!p->speaker) {
        lg_participant_done(p, TRUE, NULL); /* a listener only: nothing to publish */
        return;
    }
    lg_apply_answer(p, p->pc, msg); /* the PeerConnection coming up ends the phase */
}

static void pub_join(LgParticipant *p)
{
    g_autofree char *display = g_strdup_printf("lg-%u", p->id);
    json_t *body = json_pack("{s:s,s:I,s:I,s:s}", "ptype", "publisher", "room",
                             (json_int_t)room_id(p->run, p->channel), "id", (json_int_t)p->feed,
                             "display", display);
    if (!p->speaker) {
        json_object_set_new(body, "request", json_string("join"));
        lg_step_message(p, p->handle, body, NULL, NULL, on_pub_joined);
        return;
    }
    g_autofree char *sdp = lg_offer(p, LG_DIR_SENDONLY, 0);
    if (!sdp) {
        json_decref(body);
        return;
    }
    json_object_set_new(body, "request", json_string("joinandconfigure"));
    lg_step_message(p, p->handle, body, "offer", sdp, on_pub_joined);
}

static void pub_attach(LgParticipant *p)
{
    lg_step_attach(p, VIDEOROOM, &p->handle, on_pub_event, pub_join);
}

static void janus_start(LgParticipant *p)
{
    lg_step_session(p, pub_attach);
}

/* ---- phase 2: one subscription to every other speaker ----------------------------- */

static void on_sub_event(LgParticipant *p, json_t *msg)
{
    lg_handle_common_event(p, p->sub_pc, msg);
}

static void on_started(LgParticipant *p, json_t *msg)
{
    const char *err = lg_reply_error(msg);
    if (err) {
        g_autofree char *why = g_strdup_printf("start: %s", err);
        lg_participant_done(p, FALSE, why);
    } /* else the subscriber PeerConnection coming up ends the phase */
}

static void sub_join(LgParticipant *p);

static gboolean sub_retry(gpointer data)
{
    sub_join(data);
    return G_SOURCE_REMOVE;
}

/* "No such feed" (428): a publisher Janus has not finished setting up; try again. */
static gboolean sub_should_retry(LgParticipant *p, json_t *msg)
{
    json_t *data = lg_janus_plugin_data(msg);
    if (json_integer_value(json_object_get(data, "error_code")) != 428 || p->retries >= 25)
        return FALSE;
    p->retries++;
    GSource *t = g_timeout_source_new(200);
    g_source_set_callback(t, sub_retry, p, NULL);
    g_source_attach(t, lg_participant_context(p));
    g_source_unref(t);
    return TRUE;
}

static void on_attached(LgParticipant *p, json_t *msg)
{
    if (sub_should_retry(p, msg) || !check_videoroom(p, msg, "subscribe", "attached"))
        return;
    const char *offer = lg_janus_jsep_sdp(msg, "offer");
    GError *error = NULL;
    p->sub_pc = lg_pc_new(lg_participant_pc_env(p), FALSE, &lg_participant_pc_callbacks, p, &error);
    char *answer = p->sub_pc && offer ? lg_pc_answer_offer(p->sub_pc, offer, &error) : NULL;
    if (!answer) {
        g_autofree char *why =
            g_strdup_printf("subscription answer: %s", error ? error->message : "no offer");
        g_clear_error(&error);
        lg_participant_done(p, FALSE, why);
        return;
    }
    p->slots = lg_pc_recv_mlines(p->sub_pc);
    json_t *body = json_pack("{s:s}", "request", "start");
    lg_step_message(p, p->sub_handle, body, "answer", answer, on_started);
    g_free(answer);
}

static void sub_join(LgParticipant *p)
{
    const LgRun *run = p->run;
    if (!p->janus || p->state != 0)
        return; /* torn down or timed out meanwhile */
    json_t *streams = json_array();
    const LgParticipant *members = &run->parts[p->channel * run->opt.participants];
    for (guint k = 0; k < run->opt.participants; k++) {
        const LgParticipant *s = &members[k];
        if (s != p && s->published)
            json_array_append_new(streams, json_pack("{s:I}", "feed", (json_int_t)s->feed));
    }
    if (json_array_size(streams) == 0) {
        json_decref(streams);
        lg_participant_done(p, TRUE, NULL); /* nobody to hear */
        return;
    }
    json_t *body = json_pack("{s:s,s:s,s:I,s:o}", "request", "join", "ptype", "subscriber", "room",
                             (json_int_t)room_id(run, p->channel), "streams", streams);
    lg_step_message(p, p->sub_handle, body, NULL, NULL, on_attached);
}

static void janus_start_phase2(LgParticipant *p)
{
    lg_step_attach(p, VIDEOROOM, &p->sub_handle, on_sub_event, sub_join);
}

static double janus_hears(const LgRun *run, const LgParticipant *l, const LgParticipant *s)
{
    return l != s && l->channel == s->channel && s->speaker ? 1.0 : 0.0;
}

static void janus_stop(LgParticipant *p)
{
    lg_janus_remove_session(p->janus, p->session);
    lg_janus_send(p->janus, lg_janus_msg("destroy", p->session, 0));
}

const LgAdapter lg_adapter_janus = {
    .name = "janus",
    .plugin = VIDEOROOM,
    .prepare = janus_prepare,
    .start = janus_start,
    .start_phase2 = janus_start_phase2,
    .hears = janus_hears,
    .stop = janus_stop,
    .cleanup = janus_cleanup,
};
