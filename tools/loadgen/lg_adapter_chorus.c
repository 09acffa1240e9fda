/* chorus-loadgen adapters for Chorus:
 *
 * chorus (chorus.plugin.voice, README "Voice channels"): the controller creates one
 * channel per --channels (request "create"); each participant joins its channel with
 * one PeerConnection offering a sendonly microphone m-line plus K recvonly slots.
 * Expected-delivery rule: listener L gets every packet of every other speaker of its
 * channel when L's accepted slots K_L >= the number of other speakers S_L; with fewer
 * slots the server forwards the K_L loudest, so L is expected to get K_L / S_L of each
 * other speaker's packets (equal levels: an approximation, documented as such).
 *
 * echo (chorus.plugin.echo): each participant sends and receives its own audio back on
 * one sendrecv m-line; expected = its own packets. For checking the media stack. */
#include <string.h>

#include "lg_adapter.h"

#define VOICE_PLUGIN "chorus.plugin.voice"
#define ECHO_PLUGIN  "chorus.plugin.echo"

/* ---- controller: channels --------------------------------------------------------- */

static char *channel_secret(const LgRun *run)
{
    return g_strdup_printf("lg-%08x", run->run_id);
}

static gboolean voice_prepare(LgRun *run, GMainContext *ctx, LgJanus *j, GError **error)
{
    if (!lg_control_attach(run, ctx, j, error))
        return FALSE;
    g_autofree char *secret = channel_secret(run);
    for (guint c = 0; c < run->opt.channels; c++) {
        g_autofree char *name = lg_channel_name(run, c);
        json_t *body =
            json_pack("{s:s,s:s,s:s,s:i}", "request", "create", "channel", name, "secret", secret,
                      "max_participants", (json_int_t)run->opt.participants);
        if (run->opt.admin_key)
            json_object_set_new(body, "admin_key", json_string(run->opt.admin_key));
        json_t *data = lg_control_request(run, ctx, j, body, error);
        gboolean ok =
            data && g_strcmp0(json_string_value(json_object_get(data, "voice")), "created") == 0;
        json_decref(data);
        if (!ok) {
            g_prefix_error(error, "create channel %s: ", name);
            return FALSE;
        }
    }
    return TRUE;
}

static void voice_cleanup(LgRun *run, GMainContext *ctx, LgJanus *j)
{
    g_autofree char *secret = channel_secret(run);
    for (guint c = 0; run->ctl_handle && c < run->opt.channels; c++) {
        g_autofree char *name = lg_channel_name(run, c);
        json_t *body =
            json_pack("{s:s,s:s,s:s}", "request", "destroy", "channel", name, "secret", secret);
        lg_control_cleanup(run, ctx, j, body);
    }
    if (run->ctl_session)
        lg_janus_send(j, lg_janus_msg("destroy", run->ctl_session, 0));
}

/* ---- participants ----------------------------------------------------------------- */

static void on_event(LgParticipant *p, json_t *msg)
{
    lg_handle_common_event(p, p->pc, msg); /* voice/echo events need no action here */
}

static void on_joined(LgParticipant *p, json_t *msg)
{
    const char *err = lg_reply_error(msg);
    json_t *data = lg_janus_plugin_data(msg);
    const char *kind = json_string_value(json_object_get(data, "voice"));
    if (err || g_strcmp0(kind, "joined") != 0) {
        g_autofree char *why = g_strdup_printf("join: %s", err    ? err
                                                           : kind ? kind
                                                                  : "unexpected answer");
        lg_participant_done(p, FALSE, why);
        return;
    }
    if (lg_apply_answer(p, p->pc, msg))
        p->slots = lg_pc_recv_mlines(p->pc);
    /* lg_participant_pc_callbacks.on_up ends the phase */
}

static void voice_join(LgParticipant *p)
{
    g_autofree char *sdp = lg_offer(p, LG_DIR_SENDONLY, p->run->opt.slots);
    if (!sdp)
        return;
    g_autofree char *name = lg_channel_name(p->run, p->channel);
    g_autofree char *display = g_strdup_printf("lg-%u", p->id);
    json_t *body =
        json_pack("{s:s,s:s,s:s}", "request", "join", "channel", name, "display", display);
    lg_step_message(p, p->handle, body, "offer", sdp, on_joined);
}

static void voice_attach(LgParticipant *p)
{
    lg_step_attach(p, VOICE_PLUGIN, &p->handle, on_event, voice_join);
}

static void voice_start(LgParticipant *p)
{
    lg_step_session(p, voice_attach);
}

static double voice_hears(const LgRun *run, const LgParticipant *l, const LgParticipant *s)
{
    if (l == s || l->channel != s->channel || !s->speaker)
        return 0;
    guint others = run->chan_senders[l->channel] - (l->published ? 1u : 0u);
    if (others == 0 || l->slots == 0)
        return 0;
    return l->slots >= others ? 1.0 : (double)l->slots / others;
}

static void session_stop(LgParticipant *p)
{
    lg_janus_remove_session(p->janus, p->session);
    lg_janus_send(p->janus, lg_janus_msg("destroy", p->session, 0));
}

const LgAdapter lg_adapter_chorus = {
    .name = "chorus",
    .plugin = VOICE_PLUGIN,
    .prepare = voice_prepare,
    .start = voice_start,
    .hears = voice_hears,
    .stop = session_stop,
    .cleanup = voice_cleanup,
};

/* ---- echo ------------------------------------------------------------------------- */

static void on_echoed(LgParticipant *p, json_t *msg)
{
    const char *err = lg_reply_error(msg);
    if (err) {
        g_autofree char *why = g_strdup_printf("echo: %s", err);
        lg_participant_done(p, FALSE, why);
        return;
    }
    if (lg_apply_answer(p, p->pc, msg))
        p->slots = lg_pc_recv_mlines(p->pc);
}

static void echo_offer(LgParticipant *p)
{
    g_autofree char *sdp = lg_offer(p, LG_DIR_SENDRECV, 0);
    if (!sdp)
        return;
    json_t *body = json_pack("{s:b,s:b,s:b}", "audio", 1, "video", 0, "data", 0);
    lg_step_message(p, p->handle, body, "offer", sdp, on_echoed);
}

static void echo_attach(LgParticipant *p)
{
    lg_step_attach(p, ECHO_PLUGIN, &p->handle, on_event, echo_offer);
}

static void echo_start(LgParticipant *p)
{
    lg_step_session(p, echo_attach);
}

static double echo_hears(const LgRun *run, const LgParticipant *l, const LgParticipant *s)
{
    return l == s && s->speaker ? 1.0 : 0.0;
}

const LgAdapter lg_adapter_echo = {
    .name = "echo",
    .plugin = ECHO_PLUGIN,
    .start = echo_start,
    .hears = echo_hears,
    .stop = session_stop,
};
