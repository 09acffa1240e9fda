/* chorus-loadgen: signalling steps shared by the adapters (see lg_adapter.h). */
#include "lg_adapter.h"

#include <string.h>

/* One pending step: who, and what comes next. Freed when the answer arrives. */
typedef struct {
    LgParticipant *p;
    LgStepFn next;
    LgReplyFn reply;
    guint64 *handle;
    void (*on_event)(LgParticipant *p, json_t *msg);
} Step;

static Step *step_new(LgParticipant *p)
{
    Step *s = g_new0(Step, 1);
    s->p = p;
    return s;
}

const char *lg_reply_error(json_t *msg)
{
    return lg_janus_error(msg);
}

static gboolean step_check(Step *s, json_t *msg, const char *what)
{
    const char *err = lg_janus_error(msg);
    if (!err)
        return TRUE;
    g_autofree char *why = g_strdup_printf("%s: %s", what, err);
    lg_participant_done(s->p, FALSE, why);
    g_free(s);
    return FALSE;
}

static void on_session(void *user, json_t *msg)
{
    Step *s = user;
    if (!step_check(s, msg, "create"))
        return;
    s->p->session =
        (guint64)json_integer_value(json_object_get(json_object_get(msg, "data"), "id"));
    lg_janus_add_session(s->p->janus, s->p->session);
    LgStepFn next = s->next;
    LgParticipant *p = s->p;
    g_free(s);
    next(p);
}

void lg_step_session(LgParticipant *p, LgStepFn next)
{
    Step *s = step_new(p);
    s->next = next;
    lg_janus_request(p->janus, lg_janus_msg("create", 0, 0), FALSE, on_session, s);
}

static void on_main_event(void *user, json_t *msg)
{
    LgParticipant *p = user;
    p->on_event(p, msg);
}

static void on_sub_event(void *user, json_t *msg)
{
    LgParticipant *p = user;
    p->on_sub_event(p, msg);
}

static void on_attached(void *user, json_t *msg)
{
    Step *s = user;
    if (!step_check(s, msg, "attach"))
        return;
    LgParticipant *p = s->p;
    *s->handle = (guint64)json_integer_value(json_object_get(json_object_get(msg, "data"), "id"));
    if (s->handle == &p->sub_handle) {
        p->on_sub_event = s->on_event;
        lg_janus_watch_handle(p->janus, *s->handle, on_sub_event, p);
    } else {
        p->on_event = s->on_event;
        lg_janus_watch_handle(p->janus, *s->handle, on_main_event, p);
    }
    LgStepFn next = s->next;
    g_free(s);
    next(p);
}

void lg_step_attach(LgParticipant *p, const char *plugin, guint64 *handle,
                    void (*on_event)(LgParticipant *p, json_t *msg), LgStepFn next)
{
    Step *s = step_new(p);
    s->next = next;
    s->handle = handle;
    s->on_event = on_event;
    json_t *req = lg_janus_msg("attach", p->session, 0);
    json_object_set_new(req, "plugin", json_string(plugin));
    g_autofree char *opaque = g_strdup_printf("chorus-loadgen-%u", p->id);
    json_object_set_new(req, "opaque_id", json_string(opaque));
    lg_janus_request(p->janus, req, FALSE, on_attached, s);
}

static void on_message_reply(void *user, json_t *msg)
{
    Step *s = user;
    if (!msg) {
        lg_participant_done(s->p, FALSE, "signalling connection lost");
        g_free(s);
        return;
    }
    LgReplyFn fn = s->reply;
    LgParticipant *p = s->p;
    g_free(s);
    fn(p, msg);
}

void lg_step_message(LgParticipant *p, guint64 handle, json_t *body, const char *jsep_type,
                     const char *sdp, LgReplyFn fn)
{
    Step *s = step_new(p);
    s->reply = fn;
    json_t *req = lg_janus_msg("message", p->session, handle);
    json_object_set_new(req, "body", body);
    if (jsep_type && sdp)
        json_object_set_new(req, "jsep", json_pack("{s:s,s:s}", "type", jsep_type, "sdp", sdp));
    lg_janus_request(p->janus, req, FALSE, on_message_reply, s);
}

gboolean lg_handle_common_event(LgParticipant *p, LgPc *pc, json_t *msg)
{
    const char *kind = json_string_value(json_object_get(msg, "janus"));
    if (g_strcmp0(kind, "trickle") == 0) {
        json_t *c = json_object_get(msg, "candidate");
        if (pc && json_is_true(json_object_get(c, "completed")))
            lg_pc_add_remote_candidate(pc, NULL);
        else if (pc && json_is_string(json_object_get(c, "candidate")))
            lg_pc_add_remote_candidate(pc, json_string_value(json_object_get(c, "candidate")));
        return TRUE;
    }
    if (g_strcmp0(kind, "webrtcup") == 0) {
        if (pc && pc == p->sub_pc)
            p->sub_webrtcup = TRUE;
        else
            p->webrtcup = TRUE;
        lg_participant_check_up(p);
        return TRUE;
    }
    if (g_strcmp0(kind, "hangup") == 0 || g_strcmp0(kind, "detached") == 0) {
        const char *reason = json_string_value(json_object_get(msg, "reason"));
        g_autofree char *why = g_strdup_printf("%s (%s)", kind, reason ? reason : "no reason");
        if (p->state == 0)
            lg_participant_done(p, FALSE, why);
        else if (!p->run->opt.quiet)
            g_printerr("participant %u: %s\n", p->id, why);
        return TRUE;
    }
    return FALSE;
}

char *lg_offer(LgParticipant *p, LgDirection dir, guint n_recv)
{
    GError *error = NULL;
    p->pc = lg_pc_new(lg_participant_pc_env(p), TRUE, &lg_participant_pc_callbacks, p, &error);
    char *sdp = p->pc ? lg_pc_create_offer(p->pc, dir, n_recv, &error) : NULL;
    if (!sdp) {
        g_autofree char *why = g_strdup_printf("offer: %s", error ? error->message : "?");
        g_clear_error(&error);
        lg_participant_done(p, FALSE, why);
    }
    return sdp;
}

gboolean lg_apply_answer(LgParticipant *p, LgPc *pc, json_t *msg)
{
    const char *sdp = lg_janus_jsep_sdp(msg, "answer");
    GError *error = NULL;
    if (!sdp) {
        lg_participant_done(p, FALSE, "no JSEP answer");
        return FALSE;
    }
    if (!lg_pc_apply_answer(pc, sdp, &error)) {
        g_autofree char *why = g_strdup_printf("answer: %s", error->message);
        g_error_free(error);
        lg_participant_done(p, FALSE, why);
        return FALSE;
    }
    return TRUE;
}

/* ---- the controller's connection ------------------------------------------------ */

guint64 lg_control_attach(LgRun *run, GMainContext *ctx, LgJanus *j, GError **error)
{
    json_t *r = lg_request_sync(ctx, j, lg_janus_msg("create", 0, 0), 10);
    guint64 session =
        (guint64)json_integer_value(json_object_get(json_object_get(r, "data"), "id"));
    json_decref(r);
    if (!session) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot create a session",
                    run->opt.server);
        return 0;
    }
    lg_janus_add_session(j, session);
    json_t *req = lg_janus_msg("attach", session, 0);
    json_object_set_new(req, "plugin", json_string(run->adapter->plugin));
    r = lg_request_sync(ctx, j, req, 10);
    guint64 handle = (guint64)json_integer_value(json_object_get(json_object_get(r, "data"), "id"));
    if (!handle)
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot attach %s: %s",
                    run->adapter->plugin, r ? lg_reply_error(r) : "no answer");
    json_decref(r);
    run->ctl_session = session;
    run->ctl_handle = handle;
    return handle;
}

/* Sends a plugin request on the control handle; the plugin's data (new ref) or NULL. */
json_t *lg_control_request(LgRun *run, GMainContext *ctx, LgJanus *j, json_t *body, GError **error)
{
    json_t *req = lg_janus_msg("message", run->ctl_session, run->ctl_handle);
    json_object_set_new(req, "body", body);
    json_t *r = lg_request_sync(ctx, j, req, 10);
    const char *err = r ? lg_reply_error(r) : "no answer";
    json_t *data = r && !err ? json_incref(lg_janus_plugin_data(r)) : NULL;
    if (!data)
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err ? err : "no plugin data");
    json_decref(r);
    return data;
}

void lg_control_cleanup(LgRun *run, GMainContext *ctx, LgJanus *j, json_t *body)
{
    GError *error = NULL;
    json_t *data = lg_control_request(run, ctx, j, body, &error);
    if (!data && !run->opt.quiet)
        g_printerr("chorus-loadgen: cleanup: %s\n", error ? error->message : "?");
    g_clear_error(&error);
    json_decref(data);
}
