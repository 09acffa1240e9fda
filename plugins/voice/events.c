/* JSON for participants, slots and errors; events to a channel's participants. */
#include "voice.h"

json_t *voice_participant_json(const VoiceParticipant *p)
{
    return json_pack("{s:I,s:s,s:b,s:b,s:b,s:b}", "id", (json_int_t)p->id, "display",
                     p->display ? p->display : "", "muted", p->muted, "deafened", p->deafened,
                     "server_muted", p->server_muted, "speaking", p->speaking);
}

json_t *voice_participants_json(const VoiceChannel *ch)
{
    json_t *list = json_array();
    for (guint i = 0; i < ch->participants->len; i++)
        json_array_append_new(list, voice_participant_json(g_ptr_array_index(ch->participants, i)));
    return list;
}

json_t *voice_slots_json(const VoiceParticipant *p)
{
    json_t *slots = json_object();
    for (int i = 0; i < p->n_slots; i++) {
        const VoiceParticipant *s = p->slots[i].speaker;
        json_object_set_new(slots, p->slots[i].mid,
                            s ? json_integer((json_int_t)s->id) : json_null());
    }
    return slots;
}

json_t *voice_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:s,s:i,s:s}", "voice", "error", "error_code", code, "error", reason);
    g_free(reason);
    return err;
}

void voice_notify(VoiceParticipant *p, json_t *data)
{
    voice_host->push_event(p->handle, NULL, data, NULL);
    json_decref(data);
}

void voice_broadcast(VoiceChannel *ch, const VoiceParticipant *skip, const char *key, json_t *value)
{
    json_t *ev = json_pack("{s:s,s:s}", "voice", "event", "channel", ch->name);
    json_object_set_new(ev, key, value);
    for (guint i = 0; i < ch->participants->len; i++) {
        VoiceParticipant *p = g_ptr_array_index(ch->participants, i);
        if (p != skip)
            voice_host->push_event(p->handle, NULL, ev, NULL);
    }
    json_decref(ev);
}
