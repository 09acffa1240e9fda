/* Joining and leaving a channel (on the channel's worker). */
#include "voice.h"

void voice_add_to_channel(VoiceParticipant *p, VoiceChannel *ch)
{
    pthread_mutex_lock(&voice_lock);
    p->channel = voice_channel_ref(ch);
    p->speaking = FALSE;
    p->loudness = 0;
    p->loud_since_us = p->quiet_since_us = 0;
    g_ptr_array_add(ch->participants, p);
    pthread_mutex_unlock(&voice_lock);
    for (int i = 0; i < p->n_slots; i++)
        p->slots[i].speaker = NULL;
    voice_reset_slots(p);
    voice_assign_slots(ch, g_get_monotonic_time(), p);
    voice_host->log(CHORUS_LOG_VERB, VOICE_TAG, "participant %" G_GUINT64_FORMAT " joined '%s'",
                    p->id, ch->name);
}

void voice_announce(VoiceParticipant *p)
{
    if (p->channel)
        voice_broadcast(p->channel, p, "joined", voice_participant_json(p));
}

void voice_leave_channel(VoiceParticipant *p, const char *kind)
{
    VoiceChannel *ch = p->channel;
    if (ch == NULL)
        return;
    pthread_mutex_lock(&voice_lock);
    g_ptr_array_remove(ch->participants, p);
    p->channel = NULL;
    p->speaking = FALSE;
    pthread_mutex_unlock(&voice_lock);
    for (int i = 0; i < p->n_slots; i++)
        p->slots[i].speaker = NULL;
    voice_reset_slots(p);
    voice_clear_speaker(ch, p);
    voice_broadcast(ch, NULL, kind ? kind : "left", json_integer((json_int_t)p->id));
    voice_assign_slots(ch, g_get_monotonic_time(), NULL);
    voice_host->log(CHORUS_LOG_VERB, VOICE_TAG, "participant %" G_GUINT64_FORMAT " left '%s'",
                    p->id, ch->name);
    voice_channel_unref(ch);
}
