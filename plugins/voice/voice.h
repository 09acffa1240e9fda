/* chorus.plugin.voice internals: channels, participants, slots. Not an ABI.
 *
 * Threading. A channel belongs to a group; every participant handle of a group is
 * placed on the group's worker (host->place_handle), so a channel's membership and all
 * its forwarding are touched by that one worker thread. The plugin-wide lock guards
 * the channel registry and every field other threads read (membership lists, the
 * participants' public state); the worker takes it only to change those, never per
 * packet. Work on a participant requested from another handle (kick, moderate,
 * destroy) is handed to the participant's worker with host->handle_call. */
#ifndef CHORUS_VOICE_H
#define CHORUS_VOICE_H

#include <glib.h>
#include <pthread.h>

#include "chorus/plugin.h"

#define VOICE_PACKAGE   "chorus.plugin.voice"
#define VOICE_TAG       "voice"
#define VOICE_MAX_SLOTS 32

enum {
    VOICE_ERR_INVALID = 440,
    VOICE_ERR_NO_CHANNEL = 441,
    VOICE_ERR_EXISTS = 442,
    VOICE_ERR_UNAUTHORIZED = 443,
    VOICE_ERR_PIN = 444,
    VOICE_ERR_FULL = 445,
    VOICE_ERR_STATE = 446,
    VOICE_ERR_NO_PARTICIPANT = 447,
    VOICE_ERR_OFFER = 448,
    VOICE_ERR_GROUP = 449,
    VOICE_ERR_LIMIT = 450,
    VOICE_ERR_UNKNOWN = 451,
};

typedef struct {
    int max_slots;
    int max_channels;
    int max_participants;
    char *admin_key;
    int speaking_threshold; /* dBov magnitude: level <= this is speech (0 loud, 127 silent) */
    int speaking_on_ms;
    int speaking_off_ms;
    int hysteresis; /* loudness units an outsider must beat a slot's occupant by */
    gboolean create_requires_admin;
} VoiceConfig;

typedef struct VoiceChannel VoiceChannel;
typedef struct VoiceParticipant VoiceParticipant;

typedef struct {
    int mindex;
    char mid[32];
    VoiceParticipant *speaker; /* borrowed (cleared before the speaker goes), or NULL */
    chorus_rtp_rewriter *rw;   /* one continuous stream per slot */
} VoiceSlot;

struct VoiceParticipant {
    chorus_handle *handle; /* borrowed: the participant is the handle's plugin state */
    guint64 id;
    guint32 source; /* small id for the rewriters */
    char *display;
    VoiceChannel *channel; /* a reference while joined */
    char *group;           /* the group this handle was placed for, once placed */
    gboolean muted, deafened, server_muted, speaking;
    /* media layout from the offer */
    int mic_mindex;
    char mic_mid[32];
    VoiceSlot slots[VOICE_MAX_SLOTS];
    int n_slots;
    /* levels (worker only) */
    int loudness; /* smoothed 0 (silent) .. 127*16 (loud) */
    gint64 last_rtp_us;
    gint64 loud_since_us, quiet_since_us;
    unsigned tick_timer;
    /* a join in flight */
    char *join_channel, *join_transaction, *join_pin;
    json_t *join_reject; /* mids to reject in the answer */
    gboolean joining;
};

struct VoiceChannel {
    gint ref;
    char *name, *description, *group, *secret, *pin;
    int max_participants;
    gboolean permanent, destroyed;
    GPtrArray *participants; /* VoiceParticipant* (borrowed; see the threading note) */
    gint64 last_rank_us;
};

/* voice.c */
extern const chorus_host *voice_host;
extern VoiceConfig voice_config;
extern pthread_mutex_t voice_lock;

/* channels.c (registry; callers hold voice_lock unless said otherwise) */
void voice_channels_init(void);
void voice_channels_cleanup(void);
VoiceChannel *voice_channel_find(const char *name);
VoiceChannel *voice_channel_create(const char *name, const char *description, const char *group,
                                   const char *secret, const char *pin, int max_participants,
                                   gboolean permanent, int *error);
/* Unregisters (participants are the caller's business). */
void voice_channel_remove(VoiceChannel *ch);
guint voice_channels_count(void);
GList *voice_channels_list(void); /* borrowed channels, sorted by name (g_list_free) */
VoiceChannel *voice_channel_ref(VoiceChannel *ch);
void voice_channel_unref(VoiceChannel *ch);
gboolean voice_channels_load_config(const char *path);
gboolean voice_secret_ok(const VoiceChannel *ch, json_t *body);

/* events.c */
json_t *voice_participant_json(const VoiceParticipant *p); /* caller holds voice_lock */
json_t *voice_participants_json(const VoiceChannel *ch);   /* caller holds voice_lock */
json_t *voice_slots_json(const VoiceParticipant *p);
json_t *voice_error(int code, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* {"voice":"event","channel":..., key: value} to every participant but skip (may be
 * NULL); steals value. */
void voice_broadcast(VoiceChannel *ch, const VoiceParticipant *skip, const char *key,
                     json_t *value);
void voice_notify(VoiceParticipant *p, json_t *data); /* steals data */

/* forward.c (worker of the channel) */
void voice_incoming_rtp(VoiceParticipant *p, chorus_packet *pkt);
/* Re-chooses every listener's slots; tells those whose map changed (but quiet, which
 * may be NULL: it hears of its slots in an answer). */
void voice_assign_slots(VoiceChannel *ch, gint64 now_us, const VoiceParticipant *quiet);
void voice_clear_speaker(VoiceChannel *ch, VoiceParticipant *gone);
/* Forwarding to l paused (deafened): its slot streams continue without a gap. */
void voice_reset_slots(VoiceParticipant *l);
bool voice_tick(chorus_handle *h, void *user);
/* Changes the speaking state and tells the channel. */
void voice_set_speaking(VoiceParticipant *p, gboolean speaking);

/* membership.c (worker of the channel) */
/* Joins: the others are told and get new slots; p's own slots are chosen but not sent
 * (the caller answers with them), then call voice_announce. */
void voice_add_to_channel(VoiceParticipant *p, VoiceChannel *ch);
void voice_announce(VoiceParticipant *p);
/* Leaves the channel: others told "left" (or kind), slots recomputed. */
void voice_leave_channel(VoiceParticipant *p, const char *kind);

/* requests.c */
chorus_plugin_result voice_handle_request(chorus_handle *h, VoiceParticipant *p,
                                          const char *transaction, json_t *body, json_t *jsep);

#endif
