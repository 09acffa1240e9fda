/* chorus-loadgen: a run. Options, the participant table, shards (threads, each with its
 * GMainContext, its Janus API connections and its participants' PeerConnections), the
 * setup phases, the packet clock, and the adapters' contract.
 *
 * Life of a run (lg_run_execute):
 *   1. the adapter's prepare() creates the channels/rooms from the controller thread;
 *   2. every shard connects its participants (phase 1: adapter->start), a bounded
 *      number at a time; each ends in lg_participant_done(ok or not);
 *   3. when every participant finished phase 1, adapters with a phase 2 (Janus:
 *      subscriptions need every publisher to exist) run it the same way;
 *   4. the controller computes every sender's fan-out (how many listeners should get
 *      its packets: adapter->hears), starts the clock, and the shards send for
 *      `warmup` seconds (not counted: streams start, servers settle), then for
 *      `duration` measured seconds, then wait `drain` seconds for packets in flight;
 *   5. counting stops, shards are merged, adapter->stop/cleanup tear down.
 * A participant only ever runs on its shard's thread. */
#ifndef LG_RUN_H
#define LG_RUN_H

#include <gio/gio.h>
#include <glib.h>

#include "lg_audio.h"
#include "lg_janus.h"
#include "lg_pc.h"
#include "lg_stats.h"
#include "util/mutex.h"

typedef struct {
    char *server;            /* ws://host:port/ of the Janus API */
    char *adapter;           /* "chorus", "echo", "janus" */
    guint channels;          /* channels (rooms) */
    guint participants;      /* per channel */
    guint speakers;          /* per channel: the first S participants of each channel speak */
    guint slots;             /* K: receive-only m-lines per participant (chorus adapter) */
    double duration;         /* seconds of sending */
    guint rate;              /* packets per second per speaker */
    guint threads;           /* shards */
    guint per_connection;    /* sessions per WebSocket */
    guint concurrency;       /* participants being set up at once, per shard */
    double setup_timeout;    /* seconds for all participants to connect */
    double drain;            /* seconds to wait for packets in flight after sending */
    double warmup;           /* seconds of sending before the measured window (not counted) */
    int bitrate;             /* Opus bit/s */
    char *json;              /* report file */
    char *config;            /* INI file the defaults came from */
    int server_pid;          /* measure this process's CPU and memory during the load */
    char *ice_interface;     /* "auto", "lo", an interface name or an address */
    char *prefix;            /* channel name prefix (chorus) */
    char *admin_key;         /* chorus voice admin_key / janus admin key, if needed */
    guint64 room_base;       /* janus: first room id */
    gboolean allow_failures; /* run the load even if some participants failed to join */
    gboolean verbose;
    gboolean quiet;
} LgOptions;

typedef struct LgRun LgRun;
typedef struct LgShard LgShard;
typedef struct LgParticipant LgParticipant;

struct LgParticipant {
    LgRun *run;
    LgShard *shard;
    guint id;      /* 0..n-1, also the stamp's sender id */
    guint channel; /* 0..channels-1 */
    guint local;   /* index within the channel */
    gboolean speaker;

    /* signalling and media, owned by the adapter */
    LgJanus *janus;
    guint64 session, handle, sub_handle;
    LgPc *pc;     /* the PeerConnection that sends (and receives, chorus/echo) */
    LgPc *sub_pc; /* janus: the subscriber PeerConnection */
    guint64 feed; /* janus: our publisher id */
    void (*on_event)(LgParticipant *p, json_t *msg);     /* events of handle */
    void (*on_sub_event)(LgParticipant *p, json_t *msg); /* events of sub_handle */
    gint state;         /* phase result: 0 pending, 1 ok, -1 failed (atomic across phases) */
    gboolean published; /* phase 1 left us sending (a speaker whose PeerConnection is up) */
    gboolean up;        /* the current phase's PeerConnection is up (our side) */
    gboolean webrtcup, sub_webrtcup; /* the server said "webrtcup" for handle, sub_handle */
    guint retries;                   /* janus: subscription attempts before every feed exists */
    char *error;
    guint slots;   /* receive m-lines the server accepted */
    double fanout; /* listeners that should get each of our packets (may be fractional) */

    /* sending */
    guint32 next_seq;
    guint32 first_counted; /* first sequence number sent inside the measured window */
    gint64 next_due_us;
    /* receiving: one set per member of our channel (index: sender's `local`) */
    LgSeqSet *heard;
};

typedef struct {
    const char *name;
    const char *plugin;
    /* Controller thread, before the shards connect: create what the participants join.
     * Runs its own connection on ctx (iterate it to wait). */
    gboolean (*prepare)(LgRun *run, GMainContext *ctx, LgJanus *janus, GError **error);
    /* Shard thread: phase 1 for one participant; ends with lg_participant_done. */
    void (*start)(LgParticipant *p);
    /* Shard thread: phase 2 (NULL: none). */
    void (*start_phase2)(LgParticipant *p);
    /* Controller: the share of sender's packets listener should receive (0..1). */
    double (*hears)(const LgRun *run, const LgParticipant *listener, const LgParticipant *sender);
    /* Shard thread: leave/hang up (best effort, nothing awaited). */
    void (*stop)(LgParticipant *p);
    /* Controller thread, at the end: destroy the channels/rooms. */
    void (*cleanup)(LgRun *run, GMainContext *ctx, LgJanus *janus);
} LgAdapter;

extern const LgAdapter lg_adapter_chorus;
extern const LgAdapter lg_adapter_echo;
extern const LgAdapter lg_adapter_janus;

struct LgRun {
    LgOptions opt;
    const LgAdapter *adapter;
    LgParticipant *parts;
    guint n_parts;
    LgShard *shards;
    guint n_shards;
    LgOpusRing ring;
    ChorusDtlsCert *cert;
    char **ice_interfaces;
    gboolean ice_loopback;
    guint32 run_id;                  /* random, names channels/rooms of this run */
    guint64 ctl_session, ctl_handle; /* the controller's own session and plugin handle */
    guint *chan_senders;             /* per channel: speakers that published */

    gint phase_done;                 /* participants that finished the current phase (atomic) */
    gint64 warm_us, t0_us, t_end_us; /* warmup start, measured window [t0, t_end) */
    LgStats total;                   /* merged at the end */
    /* setup figures */
    double setup_s;
    guint ready, failed;
    /* resources */
    double gen_cpu_s, server_cpu_s, window_s;
    double machine_cpu_s;  /* every process's CPU over the window (/proc/stat), or -1 */
    double machine_nice_s; /* the part of it in niced processes */
    guint64 server_rss_kb, server_hwm_kb;
    double server_wait_s; /* the server's threads, runnable but waiting for a CPU (sum) */
    gboolean server_measured;
    char *first_error;
    ChorusMutex lock; /* first_error */
};

/* Shard-side helpers for adapters. */
GMainContext *lg_participant_context(const LgParticipant *p);
const LgPcEnv *lg_participant_pc_env(const LgParticipant *p);
/* Ends the phase once the phase's PeerConnection is up on both sides (ours, and the
 * server's "webrtcup" event). */
void lg_participant_check_up(LgParticipant *p);
/* The participant finished its current phase (ok: connected; else reason). */
void lg_participant_done(LgParticipant *p, gboolean ok, const char *reason);
/* PeerConnection callbacks shared by adapters: on_up calls lg_participant_done once the
 * phase's PC is up, on_failed fails it; on_payload records received packets. */
extern const LgPcCallbacks lg_participant_pc_callbacks;
/* Controller thread: sends req (stolen) on j and runs ctx until its answer (a new
 * reference; json_decref) or the timeout (NULL). */
json_t *lg_request_sync(GMainContext *ctx, LgJanus *j, json_t *req, double timeout_s);
/* The name of channel c ("<prefix>-<run id>-<c>"), a new string. */
char *lg_channel_name(const LgRun *run, guint c);

/* Parses options (INI file given with --config first, then the command line). */
gboolean lg_options_parse(LgOptions *opt, int *argc, char ***argv, GError **error);
void lg_options_clear(LgOptions *opt);

/* Runs the scenario; FALSE with *error if it could not run at all. */
gboolean lg_run_execute(LgRun *run, GError **error);
void lg_run_clear(LgRun *run);

/* Report: text to stdout, JSON to opt.json when set. */
void lg_report_print(const LgRun *run);
gboolean lg_report_write_json(const LgRun *run, const char *path, GError **error);

#endif
