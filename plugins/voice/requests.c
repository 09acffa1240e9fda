/* Voice requests, dispatched through a table. Synchronous ones answer with "success";
 * join answers later (ack, then the joined event with the JSEP answer). */
#include <string.h>

#include "voice.h"

typedef struct {
    chorus_handle *h;
    VoiceParticipant *p;
    const char *transaction;
    json_t *body;
    json_t *jsep;
} Req;

typedef struct {
    const char *name;
    chorus_plugin_result (*fn)(Req *r);
} Route;

static chorus_plugin_result ok(json_t *data)
{
    return (chorus_plugin_result){CHORUS_PLUGIN_OK, data, NULL};
}

static chorus_plugin_result fail(int code, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static chorus_plugin_result fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return ok(voice_error(code, "%s", reason));
}

/* A string member: NULL (and *bad set) when present but not a string. */
static const char *opt_string(json_t *body, const char *key, gboolean *bad)
{
    json_t *v = json_object_get(body, key);
    if (v != NULL && !json_is_string(v))
        *bad = TRUE;
    return json_string_value(v);
}

static chorus_plugin_result req_list(Req *r)
{
    json_t *list = json_array();
    pthread_mutex_lock(&voice_lock);
    GList *all = voice_channels_list();
    for (GList *l = all; l; l = l->next) {
        VoiceChannel *ch = l->data;
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:s,s:i,s:i,s:b,s:b}", "channel", ch->name, "description",
                            ch->description, "group", ch->group, "participants",
                            (int)ch->participants->len, "max_participants", ch->max_participants,
                            "pin_required", ch->pin != NULL, "permanent", ch->permanent));
    }
    g_list_free(all);
    pthread_mutex_unlock(&voice_lock);
    return ok(json_pack("{s:s,s:o}", "voice", "list", "channels", list));
}

static chorus_plugin_result req_exists(Req *r)
{
    const char *name = json_string_value(json_object_get(r->body, "channel"));
    if (name == NULL)
        return fail(VOICE_ERR_INVALID, "missing or invalid element: channel (a string)");
    pthread_mutex_lock(&voice_lock);
    gboolean exists = voice_channel_find(name) != NULL;
    pthread_mutex_unlock(&voice_lock);
    return ok(json_pack("{s:s,s:s,s:b}", "voice", "exists", "channel", name, "exists", exists));
}

static chorus_plugin_result req_create(Req *r)
{
    gboolean bad = FALSE;
    const char *name = json_string_value(json_object_get(r->body, "channel"));
    const char *desc = opt_string(r->body, "description", &bad);
    const char *group = opt_string(r->body, "group", &bad);
    const char *secret = opt_string(r->body, "secret", &bad);
    const char *pin = opt_string(r->body, "pin", &bad);
    json_t *max = json_object_get(r->body, "max_participants");
    if (name == NULL || bad || (max && !json_is_integer(max)))
        return fail(VOICE_ERR_INVALID, "missing or invalid element: channel (a string), "
                                       "description/group/secret/pin (strings), "
                                       "max_participants (an integer)");
    if (voice_config.create_requires_admin && !voice_secret_ok(NULL, r->body))
        return fail(VOICE_ERR_UNAUTHORIZED, "creating channels needs the admin_key");
    int error = 0;
    pthread_mutex_lock(&voice_lock);
    VoiceChannel *ch = voice_channel_create(name, desc, group, secret, pin,
                                            max ? (int)json_integer_value(max) : 0, FALSE, &error);
    pthread_mutex_unlock(&voice_lock);
    if (ch == NULL)
        return fail(error,
                    error == VOICE_ERR_EXISTS  ? "channel '%s' exists"
                    : error == VOICE_ERR_LIMIT ? "channel limit reached (%s)"
                                               : "invalid channel or group name '%s'",
                    error == VOICE_ERR_LIMIT ? "max_channels" : name);
    voice_host->log(CHORUS_LOG_INFO, VOICE_TAG, "channel '%s' created", name);
    return ok(json_pack("{s:s,s:s}", "voice", "created", "channel", name));
}

/* Runs on a participant's worker: its channel is gone. */
static void destroyed_fn(chorus_handle *h, void *user)
{
    VoiceParticipant *p = user;
    if (p->channel == NULL)
        return;
    voice_notify(p, json_pack("{s:s,s:s,s:b}", "voice", "event", "channel", p->channel->name,
                              "destroyed", 1));
    voice_leave_channel(p, "left");
    voice_host->close_pc(h, "Channel destroyed");
}

static chorus_plugin_result req_destroy(Req *r)
{
    const char *name = json_string_value(json_object_get(r->body, "channel"));
    if (name == NULL)
        return fail(VOICE_ERR_INVALID, "missing or invalid element: channel (a string)");
    pthread_mutex_lock(&voice_lock);
    VoiceChannel *ch = voice_channel_find(name);
    if (ch == NULL || !voice_secret_ok(ch, r->body)) {
        pthread_mutex_unlock(&voice_lock);
        return ch ? fail(VOICE_ERR_UNAUTHORIZED, "wrong or missing secret")
                  : fail(VOICE_ERR_NO_CHANNEL, "no such channel '%s'", name);
    }
    for (guint i = 0; i < ch->participants->len; i++) {
        VoiceParticipant *p = g_ptr_array_index(ch->participants, i);
        voice_host->handle_call(p->handle, destroyed_fn, p);
    }
    voice_channel_remove(ch);
    pthread_mutex_unlock(&voice_lock);
    voice_host->log(CHORUS_LOG_INFO, VOICE_TAG, "channel '%s' destroyed", name);
    return ok(json_pack("{s:s,s:s}", "voice", "destroyed", "channel", name));
}

static chorus_plugin_result req_participants(Req *r)
{
    const char *name = json_string_value(json_object_get(r->body, "channel"));
    if (name == NULL)
        return fail(VOICE_ERR_INVALID, "missing or invalid element: channel (a string)");
    pthread_mutex_lock(&voice_lock);
    VoiceChannel *ch = voice_channel_find(name);
    json_t *list = ch ? voice_participants_json(ch) : NULL;
    pthread_mutex_unlock(&voice_lock);
    if (list == NULL)
        return fail(VOICE_ERR_NO_CHANNEL, "no such channel '%s'", name);
    return ok(
        json_pack("{s:s,s:s,s:o}", "voice", "participants", "channel", name, "participants", list));
}

/* ---- joining ---- */

/* The session's token (if it has one) grants channel name: no "channels" claim, or
 * one listing the name or "*". */
static gboolean token_grants(chorus_handle *h, const char *name)
{
    json_t *claims = CHORUS_HOST_HAS(voice_host, token_claims) ? voice_host->token_claims(h) : NULL;
    json_t *list = json_object_get(claims, "channels");
    gboolean granted = list == NULL;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (s != NULL && (strcmp(s, name) == 0 || strcmp(s, "*") == 0))
            granted = TRUE;
    }
    if (claims != NULL)
        json_decref(claims);
    return granted;
}

/* Admission to ch (voice_lock held): 0, or an error code. */
static int admit(const VoiceChannel *ch, const char *pin)
{
    if (ch == NULL || ch->destroyed)
        return VOICE_ERR_NO_CHANNEL;
    if (ch->pin && g_strcmp0(pin, ch->pin) != 0)
        return VOICE_ERR_PIN;
    if ((int)ch->participants->len >= ch->max_participants)
        return VOICE_ERR_FULL;
    return 0;
}

static const char *admit_reason(int code)
{
    switch (code) {
    case VOICE_ERR_NO_CHANNEL:
        return "no such channel";
    case VOICE_ERR_PIN:
        return "wrong or missing PIN";
    default:
        return "the channel is full";
    }
}

/* Reads the offer's layout: the mic m-line, the slots (recvonly audio, up to
 * max_slots); everything else goes to p->join_reject. FALSE if there is no mic. */
static gboolean read_layout(VoiceParticipant *p, json_t *jsep)
{
    json_t *lines = voice_host->describe_sdp(jsep);
    if (lines == NULL)
        return FALSE;
    p->mic_mindex = -1;
    p->n_slots = 0;
    if (p->join_reject)
        json_decref(p->join_reject);
    p->join_reject = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(lines, i, m)
    {
        const char *mid = json_string_value(json_object_get(m, "mid"));
        const char *type = json_string_value(json_object_get(m, "type"));
        const char *dir = json_string_value(json_object_get(m, "direction"));
        int index = (int)json_integer_value(json_object_get(m, "index"));
        gboolean audio = g_strcmp0(type, "audio") == 0;
        gboolean sends = !g_strcmp0(dir, "sendrecv") || !g_strcmp0(dir, "sendonly");
        if (mid == NULL || strlen(mid) >= sizeof(p->mic_mid) || g_strcmp0(type, "application") == 0)
            continue;
        if (audio && sends && p->mic_mindex < 0) {
            p->mic_mindex = index;
            g_strlcpy(p->mic_mid, mid, sizeof(p->mic_mid));
        } else if (audio && !g_strcmp0(dir, "recvonly") && p->n_slots < voice_config.max_slots) {
            VoiceSlot *s = &p->slots[p->n_slots++];
            s->mindex = index;
            g_strlcpy(s->mid, mid, sizeof(s->mid));
            s->speaker = NULL;
            if (s->rw == NULL)
                s->rw = voice_host->rewriter_new(48000);
        } else {
            json_array_append_new(p->join_reject, json_string(mid));
        }
    }
    json_decref(lines);
    return p->mic_mindex >= 0;
}

static json_t *answer_jsep(VoiceParticipant *p)
{
    json_t *dirs = json_object();
    json_object_set_new(dirs, p->mic_mid, json_string("recvonly"));
    for (int i = 0; i < p->n_slots; i++)
        json_object_set_new(dirs, p->slots[i].mid, json_string("sendonly"));
    return json_pack("{s:s,s:o,s:O}", "type", "answer", "directions", dirs, "reject",
                     p->join_reject);
}

static void join_failed(VoiceParticipant *p, int code, const char *reason)
{
    json_t *err = voice_error(code, "%s", reason);
    voice_host->push_event(p->handle, p->join_transaction, err, NULL);
    json_decref(err);
}

/* On the group's worker: the participant enters the channel and gets its answer. */
static void join_continue(chorus_handle *h, void *user)
{
    VoiceParticipant *p = user;
    p->joining = FALSE;
    pthread_mutex_lock(&voice_lock);
    VoiceChannel *ch = voice_channel_find(p->join_channel);
    int code = admit(ch, p->join_pin);
    pthread_mutex_unlock(&voice_lock);
    if (code != 0) {
        join_failed(p, code, admit_reason(code));
        return;
    }
    g_free(p->group);
    p->group = g_strdup(ch->group);
    voice_add_to_channel(p, ch);
    if (p->tick_timer == 0)
        p->tick_timer = voice_host->timer_add(h, 200, voice_tick, p);
    pthread_mutex_lock(&voice_lock);
    json_t *participants = voice_participants_json(ch);
    pthread_mutex_unlock(&voice_lock);
    json_t *joined = json_pack("{s:s,s:s,s:I,s:s,s:o,s:o}", "voice", "joined", "channel", ch->name,
                               "id", (json_int_t)p->id, "mic", p->mic_mid, "participants",
                               participants, "slots", voice_slots_json(p));
    json_t *jsep = answer_jsep(p);
    int rc = voice_host->push_event(h, p->join_transaction, joined, jsep);
    json_decref(joined);
    json_decref(jsep);
    voice_announce(p);
    if (rc != 0)
        voice_host->log(CHORUS_LOG_WARN, VOICE_TAG,
                        "participant %" G_GUINT64_FORMAT ": the answer failed (%d)", p->id, rc);
}

static bool join_deferred(chorus_handle *h, void *user)
{
    join_continue(h, user);
    return false;
}

static chorus_plugin_result req_join(Req *r)
{
    VoiceParticipant *p = r->p;
    gboolean bad = FALSE;
    const char *name = json_string_value(json_object_get(r->body, "channel"));
    const char *display = opt_string(r->body, "display", &bad);
    const char *pin = opt_string(r->body, "pin", &bad);
    if (name == NULL || bad)
        return fail(VOICE_ERR_INVALID, "missing or invalid element: channel (a string), "
                                       "display/pin (strings)");
    if (!token_grants(r->h, name))
        return fail(VOICE_ERR_UNAUTHORIZED, "token does not grant channel %s", name);
    if (p->channel != NULL || p->joining)
        return fail(VOICE_ERR_STATE, "already in a channel: use switch or leave");
    if (r->jsep == NULL || !read_layout(p, r->jsep))
        return fail(VOICE_ERR_OFFER, "join needs a JSEP offer with a microphone audio m-line");
    pthread_mutex_lock(&voice_lock);
    VoiceChannel *ch = voice_channel_find(name);
    int code = admit(ch, pin);
    char *group = code == 0 ? g_strdup(ch->group) : NULL;
    pthread_mutex_unlock(&voice_lock);
    if (code != 0)
        return fail(code, "%s", admit_reason(code));
    g_autofree char *group_key = group;
    g_free(p->display);
    p->display = g_strdup(display ? display : "");
    g_free(p->join_channel);
    p->join_channel = g_strdup(name);
    g_free(p->join_pin);
    p->join_pin = g_strdup(pin);
    g_free(p->join_transaction);
    p->join_transaction = g_strdup(r->transaction);
    int placed = voice_host->place_handle(r->h, group_key, join_continue, p);
    if (placed == CHORUS_PLACE_HAS_PEER || placed == CHORUS_PLACE_HAS_TIMERS) {
        /* a participant that left rejoins on its connection: only within its group */
        if (g_strcmp0(p->group, group_key) != 0)
            return fail(VOICE_ERR_GROUP, "channel '%s' is in another group: connect again", name);
        voice_host->timer_add(r->h, 0, join_deferred, p);
    } else if (placed != 0) {
        return fail(VOICE_ERR_STATE, "cannot place the connection (%d)", placed);
    }
    p->joining = TRUE;
    return (chorus_plugin_result){CHORUS_PLUGIN_ASYNC, NULL, NULL};
}

/* ---- in a channel ---- */

static chorus_plugin_result req_configure(Req *r)
{
    VoiceParticipant *p = r->p;
    json_t *muted = json_object_get(r->body, "muted");
    json_t *deafened = json_object_get(r->body, "deafened");
    gboolean bad = (muted && !json_is_boolean(muted)) || (deafened && !json_is_boolean(deafened));
    const char *display = opt_string(r->body, "display", &bad);
    if (bad)
        return fail(VOICE_ERR_INVALID, "invalid element: muted/deafened (booleans), display "
                                       "(a string)");
    if (p->channel == NULL)
        return fail(VOICE_ERR_STATE, "not in a channel");
    gboolean was_silent = p->muted || p->server_muted, was_deaf = p->deafened;
    gboolean changed = FALSE;
    pthread_mutex_lock(&voice_lock);
    if (muted && p->muted != json_is_true(muted)) {
        p->muted = json_is_true(muted);
        changed = TRUE;
    }
    if (deafened && p->deafened != json_is_true(deafened)) {
        p->deafened = json_is_true(deafened);
        changed = TRUE;
    }
    if (display && g_strcmp0(display, p->display) != 0) {
        g_free(p->display);
        p->display = g_strdup(display);
        changed = TRUE;
    }
    pthread_mutex_unlock(&voice_lock);
    if ((p->muted || p->server_muted) && p->speaking)
        voice_set_speaking(p, FALSE);
    if (was_silent != (p->muted || p->server_muted))
        voice_assign_slots(p->channel, g_get_monotonic_time(), NULL);
    if (was_deaf && !p->deafened)
        voice_reset_slots(p);
    pthread_mutex_lock(&voice_lock);
    json_t *self = voice_participant_json(p);
    pthread_mutex_unlock(&voice_lock);
    if (changed)
        voice_broadcast(p->channel, p, "updated", json_incref(self));
    return ok(json_pack("{s:s,s:s,s:o}", "voice", "configured", "channel", p->channel->name,
                        "participant", self));
}

static chorus_plugin_result req_switch(Req *r)
{
    VoiceParticipant *p = r->p;
    gboolean bad = FALSE;
    const char *name = json_string_value(json_object_get(r->body, "channel"));
    const char *pin = opt_string(r->body, "pin", &bad);
    if (name == NULL || bad)
        return fail(VOICE_ERR_INVALID, "missing or invalid element: channel (a string)");
    if (!token_grants(r->h, name))
        return fail(VOICE_ERR_UNAUTHORIZED, "token does not grant channel %s", name);
    if (p->channel == NULL)
        return fail(VOICE_ERR_STATE, "not in a channel: join first");
    if (strcmp(p->channel->name, name) == 0)
        return fail(VOICE_ERR_STATE, "already in '%s'", name);
    pthread_mutex_lock(&voice_lock);
    VoiceChannel *ch = voice_channel_find(name);
    int code = admit(ch, pin);
    if (code == 0 && strcmp(ch->group, p->channel->group) != 0)
        code = VOICE_ERR_GROUP;
    if (code == 0)
        voice_channel_ref(ch);
    pthread_mutex_unlock(&voice_lock);
    if (code == VOICE_ERR_GROUP)
        return fail(code, "channel '%s' is in another group: connect again", name);
    if (code != 0)
        return fail(code, "%s", admit_reason(code));
    voice_leave_channel(p, "left");
    voice_add_to_channel(p, ch);
    voice_channel_unref(ch);
    pthread_mutex_lock(&voice_lock);
    json_t *participants = voice_participants_json(ch);
    pthread_mutex_unlock(&voice_lock);
    voice_announce(p);
    return ok(json_pack("{s:s,s:s,s:o,s:o}", "voice", "switched", "channel", name, "participants",
                        participants, "slots", voice_slots_json(p)));
}

static chorus_plugin_result req_leave(Req *r)
{
    VoiceChannel *ch = r->p->channel;
    if (ch == NULL)
        return fail(VOICE_ERR_STATE, "not in a channel");
    json_t *res = json_pack("{s:s,s:s}", "voice", "left", "channel", ch->name);
    voice_leave_channel(r->p, "left");
    return ok(res);
}

/* ---- moderation (from any handle; the work runs on the target's worker) ---- */

static void kick_fn(chorus_handle *h, void *user)
{
    VoiceParticipant *p = user;
    if (p->channel == NULL)
        return;
    voice_notify(p, json_pack("{s:s,s:s}", "voice", "kicked", "channel", p->channel->name));
    voice_leave_channel(p, "kicked");
    voice_host->close_pc(h, "Kicked");
}

static void moderate_fn(chorus_handle *h, void *user, gboolean muted)
{
    VoiceParticipant *p = user;
    if (p->channel == NULL || p->server_muted == muted)
        return;
    pthread_mutex_lock(&voice_lock);
    p->server_muted = muted;
    pthread_mutex_unlock(&voice_lock);
    if (muted && p->speaking)
        voice_set_speaking(p, FALSE);
    voice_assign_slots(p->channel, g_get_monotonic_time(), NULL);
    pthread_mutex_lock(&voice_lock);
    json_t *self = voice_participant_json(p);
    pthread_mutex_unlock(&voice_lock);
    voice_broadcast(p->channel, NULL, "updated", self);
}

static void server_mute_fn(chorus_handle *h, void *user)
{
    moderate_fn(h, user, TRUE);
}

static void server_unmute_fn(chorus_handle *h, void *user)
{
    moderate_fn(h, user, FALSE);
}

/* Finds participant "id" of channel "channel" for a moderator (voice_lock held). */
static int find_target(json_t *body, VoiceChannel **ch, VoiceParticipant **target)
{
    const char *name = json_string_value(json_object_get(body, "channel"));
    json_t *id = json_object_get(body, "id");
    if (name == NULL || !json_is_integer(id))
        return VOICE_ERR_INVALID;
    *ch = voice_channel_find(name);
    if (*ch == NULL)
        return VOICE_ERR_NO_CHANNEL;
    if (!voice_secret_ok(*ch, body))
        return VOICE_ERR_UNAUTHORIZED;
    for (guint i = 0; i < (*ch)->participants->len; i++) {
        VoiceParticipant *p = g_ptr_array_index((*ch)->participants, i);
        if (p->id == (guint64)json_integer_value(id)) {
            *target = p;
            return 0;
        }
    }
    return VOICE_ERR_NO_PARTICIPANT;
}

static chorus_plugin_result moderation(Req *r, const char *kind, chorus_continue_fn fn)
{
    VoiceChannel *ch = NULL;
    VoiceParticipant *target = NULL;
    pthread_mutex_lock(&voice_lock);
    int code = find_target(r->body, &ch, &target);
    if (code == 0)
        voice_host->handle_call(target->handle, fn, target);
    pthread_mutex_unlock(&voice_lock);
    static const char *const reasons[] = {
        [VOICE_ERR_INVALID - VOICE_ERR_INVALID] = "missing or invalid element: channel (a "
                                                  "string), id (an integer)",
        [VOICE_ERR_NO_CHANNEL - VOICE_ERR_INVALID] = "no such channel",
        [VOICE_ERR_UNAUTHORIZED - VOICE_ERR_INVALID] = "wrong or missing secret",
        [VOICE_ERR_NO_PARTICIPANT - VOICE_ERR_INVALID] = "no such participant in the channel",
    };
    if (code != 0)
        return fail(code, "%s", reasons[code - VOICE_ERR_INVALID]);
    json_t *res = json_pack("{s:s,s:s,s:O}", "voice", kind, "channel", ch->name, "id",
                            json_object_get(r->body, "id"));
    if (fn != kick_fn)
        json_object_set_new(res, "muted", json_boolean(fn == server_mute_fn));
    return ok(res);
}

static chorus_plugin_result req_kick(Req *r)
{
    return moderation(r, "kicked", kick_fn);
}

static chorus_plugin_result req_moderate(Req *r)
{
    json_t *muted = json_object_get(r->body, "muted");
    if (!json_is_boolean(muted))
        return fail(VOICE_ERR_INVALID, "missing or invalid element: muted (a boolean)");
    return moderation(r, "moderated", json_is_true(muted) ? server_mute_fn : server_unmute_fn);
}

static const Route routes[] = {
    {"list", req_list},
    {"exists", req_exists},
    {"create", req_create},
    {"destroy", req_destroy},
    {"participants", req_participants},
    {"join", req_join},
    {"configure", req_configure},
    {"switch", req_switch},
    {"leave", req_leave},
    {"kick", req_kick},
    {"moderate", req_moderate},
};

chorus_plugin_result voice_handle_request(chorus_handle *h, VoiceParticipant *p,
                                          const char *transaction, json_t *body, json_t *jsep)
{
    const char *name = json_string_value(json_object_get(body, "request"));
    if (name == NULL)
        return fail(VOICE_ERR_INVALID, "missing or invalid element: request (a string)");
    Req r = {h, p, transaction, body, jsep};
    for (guint i = 0; i < G_N_ELEMENTS(routes); i++) {
        if (strcmp(routes[i].name, name) == 0)
            return routes[i].fn(&r);
    }
    return fail(VOICE_ERR_UNKNOWN, "unknown request '%.64s'", name);
}
