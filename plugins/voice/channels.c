/* The channel registry: configured (permanent) and API-created channels. */
#include <string.h>

#include "voice.h"

static GHashTable *channels; /* name -> VoiceChannel* (the registry's reference) */

void voice_channels_init(void)
{
    channels =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)voice_channel_unref);
}

void voice_channels_cleanup(void)
{
    g_clear_pointer(&channels, g_hash_table_destroy);
}

VoiceChannel *voice_channel_ref(VoiceChannel *ch)
{
    g_atomic_int_inc(&ch->ref);
    return ch;
}

void voice_channel_unref(VoiceChannel *ch)
{
    if (ch == NULL || !g_atomic_int_dec_and_test(&ch->ref))
        return;
    g_free(ch->name);
    g_free(ch->description);
    g_free(ch->group);
    g_free(ch->secret);
    g_free(ch->pin);
    g_ptr_array_free(ch->participants, TRUE);
    g_free(ch);
}

VoiceChannel *voice_channel_find(const char *name)
{
    return name && channels ? g_hash_table_lookup(channels, name) : NULL;
}

static gboolean name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 128 || !g_utf8_validate(name, -1, NULL))
        return FALSE;
    for (const char *c = name; *c; c++) {
        if ((unsigned char)*c < 0x20)
            return FALSE;
    }
    return TRUE;
}

VoiceChannel *voice_channel_create(const char *name, const char *description, const char *group,
                                   const char *secret, const char *pin, int max_participants,
                                   gboolean permanent, int *error)
{
    if (!name_ok(name) || (group && !name_ok(group))) {
        *error = VOICE_ERR_INVALID;
        return NULL;
    }
    if (voice_channel_find(name) != NULL) {
        *error = VOICE_ERR_EXISTS;
        return NULL;
    }
    if ((int)g_hash_table_size(channels) >= voice_config.max_channels) {
        *error = VOICE_ERR_LIMIT;
        return NULL;
    }
    VoiceChannel *ch = g_new0(VoiceChannel, 1);
    ch->ref = 1;
    ch->name = g_strdup(name);
    ch->description = g_strdup(description ? description : "");
    ch->group = g_strdup(group && *group ? group : "default");
    ch->secret = secret && *secret ? g_strdup(secret) : NULL;
    ch->pin = pin && *pin ? g_strdup(pin) : NULL;
    ch->max_participants = max_participants > 0
                               ? MIN(max_participants, voice_config.max_participants)
                               : voice_config.max_participants;
    ch->permanent = permanent;
    ch->participants = g_ptr_array_new();
    g_hash_table_insert(channels, ch->name, ch);
    return ch;
}

void voice_channel_remove(VoiceChannel *ch)
{
    ch->destroyed = TRUE;
    if (channels && g_hash_table_lookup(channels, ch->name) == ch)
        g_hash_table_remove(channels, ch->name);
}

guint voice_channels_count(void)
{
    return channels ? g_hash_table_size(channels) : 0;
}

static gint by_name(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(((const VoiceChannel *)a)->name, ((const VoiceChannel *)b)->name);
}

GList *voice_channels_list(void)
{
    GList *list = channels ? g_hash_table_get_values(channels) : NULL;
    return g_list_sort(list, by_name);
}

/* The channel's secret or the plugin's admin key, given as "secret" or "admin_key". */
gboolean voice_secret_ok(const VoiceChannel *ch, json_t *body)
{
    const char *secret = json_string_value(json_object_get(body, "secret"));
    const char *admin = json_string_value(json_object_get(body, "admin_key"));
    if (voice_config.admin_key && admin && strcmp(admin, voice_config.admin_key) == 0)
        return TRUE;
    if (voice_config.admin_key && secret && strcmp(secret, voice_config.admin_key) == 0)
        return TRUE;
    return ch && ch->secret && secret && strcmp(secret, ch->secret) == 0;
}

static int key_int(GKeyFile *kf, const char *group, const char *key, int def)
{
    GError *error = NULL;
    int v = g_key_file_get_integer(kf, group, key, &error);
    if (error) {
        g_error_free(error);
        return def;
    }
    return v;
}

static void load_channel(GKeyFile *kf, const char *section)
{
    const char *name = section + strlen("channel ");
    g_autofree char *description = g_key_file_get_string(kf, section, "description", NULL);
    g_autofree char *group = g_key_file_get_string(kf, section, "group", NULL);
    g_autofree char *secret = g_key_file_get_string(kf, section, "secret", NULL);
    g_autofree char *pin = g_key_file_get_string(kf, section, "pin", NULL);
    int max = key_int(kf, section, "max_participants", 0);
    int error = 0;
    if (voice_channel_create(name, description, group, secret, pin, max, TRUE, &error) == NULL)
        voice_host->log(CHORUS_LOG_ERROR, VOICE_TAG, "channel '%s' from the config: error %d", name,
                        error);
}

gboolean voice_channels_load_config(const char *path)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    GError *error = NULL;
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error)) {
        gboolean missing = g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
        if (!missing)
            voice_host->log(CHORUS_LOG_ERROR, VOICE_TAG, "%s: %s", path, error->message);
        g_error_free(error);
        return missing;
    }
    VoiceConfig *c = &voice_config;
    c->max_slots = CLAMP(key_int(kf, "general", "max_slots", c->max_slots), 1, VOICE_MAX_SLOTS);
    c->max_channels = MAX(1, key_int(kf, "general", "max_channels", c->max_channels));
    c->max_participants = MAX(1, key_int(kf, "general", "max_participants", c->max_participants));
    c->speaking_threshold =
        CLAMP(key_int(kf, "general", "speaking_threshold", c->speaking_threshold), 0, 127);
    c->speaking_on_ms = MAX(0, key_int(kf, "general", "speaking_on_ms", c->speaking_on_ms));
    c->speaking_off_ms = MAX(0, key_int(kf, "general", "speaking_off_ms", c->speaking_off_ms));
    c->hysteresis = CLAMP(key_int(kf, "general", "hysteresis", c->hysteresis), 0, 127);
    c->create_requires_admin = g_key_file_get_boolean(kf, "general", "create_requires_admin", NULL);
    g_autofree char *admin = g_key_file_get_string(kf, "general", "admin_key", NULL);
    if (admin && *admin) {
        g_free(c->admin_key);
        c->admin_key = g_strdup(admin);
    }
    g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
    for (guint i = 0; groups[i]; i++) {
        if (g_str_has_prefix(groups[i], "channel "))
            load_channel(kf, groups[i]);
    }
    return TRUE;
}
