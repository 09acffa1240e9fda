/* chorus.plugin.voice: Discord-like voice channels on one PeerConnection per
 * participant. The API is documented in the README ("Voice channels"). */
#include <string.h>

#include "voice.h"

const chorus_host *voice_host;
VoiceConfig voice_config;
pthread_mutex_t voice_lock = PTHREAD_MUTEX_INITIALIZER;
static gint next_source;
static guint64 next_id;

static void config_defaults(void)
{
    voice_config = (VoiceConfig){
        .max_slots = 8,
        .max_channels = 1000,
        .max_participants = 100,
        .speaking_threshold = 50,
        .speaking_on_ms = 200,
        .speaking_off_ms = 800,
        .hysteresis = 12,
    };
}

static int voice_init(const chorus_host *host, const char *config_dir)
{
    voice_host = host;
    config_defaults();
    voice_channels_init();
    g_autofree char *path = g_build_filename(config_dir, VOICE_PACKAGE ".conf", NULL);
    if (!voice_channels_load_config(path))
        return -1;
    next_id = (guint64)g_random_int_range(1, 1 << 20) << 20;
    host->log(CHORUS_LOG_INFO, VOICE_TAG, "voice channels ready: %u configured, up to %d slots",
              voice_channels_count(), voice_config.max_slots);
    return 0;
}

static void voice_shutdown(void)
{
    voice_channels_cleanup();
    g_clear_pointer(&voice_config.admin_key, g_free);
}

static void *voice_create(chorus_handle *h, int *error)
{
    VoiceParticipant *p = g_new0(VoiceParticipant, 1);
    p->handle = h;
    p->mic_mindex = -1;
    p->source = (guint32)g_atomic_int_add(&next_source, 1) + 1;
    pthread_mutex_lock(&voice_lock);
    p->id = ++next_id;
    pthread_mutex_unlock(&voice_lock);
    return p;
}

static void voice_destroy(chorus_handle *h, void *state)
{
    VoiceParticipant *p = state;
    voice_leave_channel(p, "left");
    if (p->tick_timer)
        voice_host->timer_remove(h, p->tick_timer);
    for (int i = 0; i < VOICE_MAX_SLOTS; i++) {
        if (p->slots[i].rw)
            voice_host->rewriter_free(p->slots[i].rw);
    }
    if (p->join_reject)
        json_decref(p->join_reject);
    g_free(p->display);
    g_free(p->group);
    g_free(p->join_channel);
    g_free(p->join_pin);
    g_free(p->join_transaction);
    g_free(p);
}

static json_t *voice_query(chorus_handle *h, void *state)
{
    VoiceParticipant *p = state;
    pthread_mutex_lock(&voice_lock);
    json_t *info = voice_participant_json(p);
    json_object_set_new(info, "channel", p->channel ? json_string(p->channel->name) : json_null());
    json_object_set_new(info, "group", p->group ? json_string(p->group) : json_null());
    pthread_mutex_unlock(&voice_lock);
    json_object_set_new(info, "slots", voice_slots_json(p));
    json_object_set_new(info, "worker", json_integer(voice_host->worker_index(h)));
    return info;
}

static chorus_plugin_result voice_message(chorus_handle *h, void *state, const char *transaction,
                                          json_t *body, json_t *jsep)
{
    return voice_handle_request(h, state, transaction, body, jsep);
}

/* Admin API message_plugin: {"request":"list"} and the other read-only requests. */
static json_t *voice_admin(json_t *request)
{
    const char *name = json_string_value(json_object_get(request, "request"));
    if (g_strcmp0(name, "list") != 0 && g_strcmp0(name, "participants") != 0 &&
        g_strcmp0(name, "exists") != 0)
        return voice_error(VOICE_ERR_UNKNOWN, "admin requests: list, participants, exists");
    chorus_plugin_result r = voice_handle_request(NULL, NULL, NULL, request, NULL);
    return r.content;
}

static void voice_rtp(chorus_handle *h, void *state, chorus_packet *pkt)
{
    voice_incoming_rtp(state, pkt);
}

static void voice_hangup(chorus_handle *h, void *state)
{
    VoiceParticipant *p = state;
    voice_leave_channel(p, "left");
    p->joining = FALSE;
    /* Without a PeerConnection the handle may be placed again (any group). */
    if (p->tick_timer)
        voice_host->timer_remove(h, p->tick_timer);
    p->tick_timer = 0;
    g_clear_pointer(&p->group, g_free);
}

static const chorus_plugin voice_plugin = {
    .abi_version = CHORUS_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(chorus_plugin),
    .package = VOICE_PACKAGE,
    .name = "Voice channels",
    .description = "Discord-like voice channels: slots, loudest speakers, mute, deafen, switch",
    .version_string = "0.1.0",
    .version = 1,
    .init = voice_init,
    .shutdown = voice_shutdown,
    .create_session = voice_create,
    .destroy_session = voice_destroy,
    .query_session = voice_query,
    .handle_message = voice_message,
    .handle_admin_message = voice_admin,
    .incoming_rtp = voice_rtp,
    .hangup_media = voice_hangup,
};

CHORUS_PLUGIN_EXPORT const chorus_plugin *chorus_plugin_entry(void);
const chorus_plugin *chorus_plugin_entry(void)
{
    return &voice_plugin;
}
