/* Media: audio levels, speaking state, loudest-K slot assignment and forwarding. Runs
 * on the channel's worker; the per-packet path takes no lock and allocates nothing
 * (events are sent only when a state changes). */
#include "voice.h"

#define RANK_INTERVAL_US (100 * 1000) /* slots are re-chosen at most this often */
#define SILENT_AFTER_US  (300 * 1000) /* no packet this long: loudness counts as 0 */
#define LOUDNESS_SCALE   16

void voice_set_speaking(VoiceParticipant *p, gboolean speaking)
{
    pthread_mutex_lock(&voice_lock);
    p->speaking = speaking;
    pthread_mutex_unlock(&voice_lock);
    if (p->channel)
        voice_broadcast(p->channel, NULL, speaking ? "speaking" : "stopped-speaking",
                        json_integer((json_int_t)p->id));
}

/* level: RFC 6464 -dBov, 0 loud .. 127 silent; -1 when the packet carries none. */
static void update_levels(VoiceParticipant *p, int level, gint64 now)
{
    int sample = level >= 0 ? (127 - level) * LOUDNESS_SCALE : 0;
    p->loudness += (sample - p->loudness) / 4;
    gboolean speech = level >= 0 && level <= voice_config.speaking_threshold;
    if (speech) {
        p->quiet_since_us = 0;
        if (p->loud_since_us == 0)
            p->loud_since_us = now;
        if (!p->speaking && now - p->loud_since_us >= voice_config.speaking_on_ms * 1000LL)
            voice_set_speaking(p, TRUE);
    } else {
        p->loud_since_us = 0;
        if (p->quiet_since_us == 0)
            p->quiet_since_us = now;
        if (p->speaking && now - p->quiet_since_us >= voice_config.speaking_off_ms * 1000LL)
            voice_set_speaking(p, FALSE);
    }
}

static int score(const VoiceParticipant *p, gint64 now)
{
    return now - p->last_rtp_us > SILENT_AFTER_US ? 0 : p->loudness;
}

static gboolean is_candidate(const VoiceParticipant *listener, const VoiceParticipant *p)
{
    return p != listener && !p->muted && !p->server_muted;
}

/* Every change of a slot's speaker (to another, to none, or back) starts a new source
 * epoch in its rewriter, so the stream never skips sequence numbers over a pause. */
static void set_slot(VoiceSlot *s, VoiceParticipant *speaker)
{
    s->speaker = speaker;
    if (s->rw)
        voice_host->rewriter_reset(s->rw);
}

void voice_reset_slots(VoiceParticipant *l)
{
    for (int i = 0; i < l->n_slots; i++) {
        if (l->slots[i].rw)
            voice_host->rewriter_reset(l->slots[i].rw);
    }
}

static VoiceSlot *slot_of(VoiceParticipant *listener, const VoiceParticipant *speaker)
{
    for (int i = 0; i < listener->n_slots; i++) {
        if (listener->slots[i].speaker == speaker)
            return &listener->slots[i];
    }
    return NULL;
}

/* The loudest candidate not in a slot, or NULL. */
static VoiceParticipant *best_outsider(VoiceChannel *ch, VoiceParticipant *l, gint64 now)
{
    VoiceParticipant *best = NULL;
    for (guint i = 0; i < ch->participants->len; i++) {
        VoiceParticipant *p = g_ptr_array_index(ch->participants, i);
        if (is_candidate(l, p) && slot_of(l, p) == NULL &&
            (best == NULL || score(p, now) > score(best, now)))
            best = p;
    }
    return best;
}

/* An empty slot, else the slot with the quietest speaker. */
static VoiceSlot *weakest_slot(VoiceParticipant *l, gint64 now)
{
    VoiceSlot *weakest = NULL;
    for (int i = 0; i < l->n_slots; i++) {
        VoiceSlot *s = &l->slots[i];
        if (s->speaker == NULL)
            return s;
        if (weakest == NULL || score(s->speaker, now) < score(weakest->speaker, now))
            weakest = s;
    }
    return weakest;
}

/* Fills l's slots with the loudest candidates; an occupant keeps its slot unless an
 * outsider is louder by the hysteresis margin. Returns TRUE if anything changed. */
static gboolean assign_listener(VoiceChannel *ch, VoiceParticipant *l, gint64 now)
{
    gboolean changed = FALSE;
    for (int i = 0; i < l->n_slots; i++) {
        VoiceSlot *s = &l->slots[i];
        if (s->speaker && (!is_candidate(l, s->speaker) || s->speaker->channel != ch)) {
            set_slot(s, NULL);
            changed = TRUE;
        }
    }
    int margin = voice_config.hysteresis * LOUDNESS_SCALE;
    for (int round = 0; round < l->n_slots; round++) {
        VoiceParticipant *out = best_outsider(ch, l, now);
        VoiceSlot *weak = out ? weakest_slot(l, now) : NULL;
        if (weak == NULL ||
            (weak->speaker != NULL && score(out, now) <= score(weak->speaker, now) + margin))
            break;
        set_slot(weak, out);
        changed = TRUE;
    }
    return changed;
}

void voice_assign_slots(VoiceChannel *ch, gint64 now_us, const VoiceParticipant *quiet)
{
    ch->last_rank_us = now_us;
    for (guint i = 0; i < ch->participants->len; i++) {
        VoiceParticipant *l = g_ptr_array_index(ch->participants, i);
        if (l->n_slots > 0 && assign_listener(ch, l, now_us) && l != quiet)
            voice_notify(l, json_pack("{s:s,s:s,s:o}", "voice", "event", "channel", ch->name,
                                      "slots", voice_slots_json(l)));
    }
}

void voice_clear_speaker(VoiceChannel *ch, VoiceParticipant *gone)
{
    for (guint i = 0; i < ch->participants->len; i++) {
        VoiceParticipant *l = g_ptr_array_index(ch->participants, i);
        VoiceSlot *s = slot_of(l, gone);
        if (s != NULL)
            set_slot(s, NULL);
    }
}

void voice_incoming_rtp(VoiceParticipant *p, chorus_packet *pkt)
{
    VoiceChannel *ch = p->channel;
    if (ch == NULL || pkt->mindex != p->mic_mindex)
        return;
    gint64 now = g_get_monotonic_time();
    if (p->muted || p->server_muted)
        return;
    gboolean onset = now - p->last_rtp_us > SILENT_AFTER_US; /* starts after silence */
    p->last_rtp_us = now;
    if (onset)
        p->loudness = 0;
    update_levels(p, pkt->audio_level, now);
    if (onset && pkt->audio_level >= 0)
        p->loudness = (127 - pkt->audio_level) * LOUDNESS_SCALE; /* decisive at once */
    /* A speaker that starts gets its slots now, not at the next ranking. */
    if (onset || now - ch->last_rank_us >= RANK_INTERVAL_US)
        voice_assign_slots(ch, now, NULL);
    for (guint i = 0; i < ch->participants->len; i++) {
        VoiceParticipant *l = g_ptr_array_index(ch->participants, i);
        VoiceSlot *s = l != p && !l->deafened ? slot_of(l, p) : NULL;
        if (s == NULL)
            continue;
        chorus_packet out = *pkt;
        if (!voice_host->rewriter_map(s->rw, p->source, pkt->seq, pkt->timestamp, (uint64_t)now,
                                      &out.seq, &out.timestamp))
            continue;
        out.mindex = s->mindex;
        out.mid = s->mid;
        voice_host->send_rtp(l->handle, &out);
    }
}

/* Every 200 ms per participant: speech that stopped without packets (DTX, a dropped
 * uplink) ends, and a channel with no packets at all still gets its slots right. */
bool voice_tick(chorus_handle *h, void *user)
{
    VoiceParticipant *p = user;
    gint64 now = g_get_monotonic_time();
    if (p->speaking && now - p->last_rtp_us >= voice_config.speaking_off_ms * 1000LL)
        voice_set_speaking(p, FALSE);
    if (p->channel && now - p->channel->last_rank_us >= 5 * RANK_INTERVAL_US)
        voice_assign_slots(p->channel, now, NULL);
    return true;
}
