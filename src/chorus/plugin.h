/*
 * Chorus plugin ABI: the one header a plugin includes.
 *
 * A plugin is a shared object that exports one symbol, CHORUS_PLUGIN_ENTRY_SYMBOL,
 * a function returning a pointer to a const chorus_plugin descriptor. The core checks
 * abi_version and struct_size before it calls anything else; a mismatch is refused.
 *
 * Threading: every call about one handle (create_session, handle_message, media
 * callbacks, hangup_media, destroy_session, timers) is made on that handle's worker
 * thread, one at a time. Calls about different handles may run concurrently on
 * different workers; state a plugin shares between handles needs its own lock.
 * init and shutdown run on the main thread.
 *
 * Ownership: json_t arguments given to a plugin are borrowed for the call (json_incref
 * to keep them). json_t results returned to the core are references the core takes.
 * Packets are borrowed for the call only.
 */
#ifndef CHORUS_PLUGIN_H
#define CHORUS_PLUGIN_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below changes layout or meaning. */
#define CHORUS_PLUGIN_ABI_VERSION 1

/* place_handle errors. */
#define CHORUS_PLACE_HAS_PEER   1
#define CHORUS_PLACE_HAS_TIMERS 2

#define CHORUS_PLUGIN_ENTRY_SYMBOL "chorus_plugin_entry"
#define CHORUS_PLUGIN_EXPORT       __attribute__((visibility("default")))

/* A handle: one plugin attachment of one session. Opaque, owned by the core. The
 * pointer stays valid for the plugin from create_session until destroy_session
 * returns; to use it beyond that (from another thread, a timer), take a reference
 * with host->handle_ref and drop it with host->handle_unref. */
typedef struct chorus_handle chorus_handle;

typedef enum {
    CHORUS_LOG_FATAL = 0,
    CHORUS_LOG_ERROR = 1,
    CHORUS_LOG_WARN = 2,
    CHORUS_LOG_INFO = 3,
    CHORUS_LOG_VERB = 4,
    CHORUS_LOG_DEBUG = 5,
} chorus_log_level;

typedef enum {
    CHORUS_PLUGIN_OK = 0, /* synchronous answer: content goes back as "success" */
    CHORUS_PLUGIN_ASYNC,  /* "ack" now; the plugin answers later with push_event */
    CHORUS_PLUGIN_ERROR,  /* the request could not be handled at all (Janus 462) */
} chorus_plugin_result_type;

typedef struct {
    chorus_plugin_result_type type;
    json_t *content;   /* OK: the response data (the core takes this reference) */
    const char *error; /* ERROR: a static or plugin-owned reason string */
} chorus_plugin_result;

/* A media packet, borrowed for the duration of the callback.
 *
 * Incoming RTP: data is the decrypted packet as the sender sent it; the fields below
 * are what the core read from it with the sender's negotiated header extensions.
 * Outgoing RTP (send_rtp): the core takes the sequence number, timestamp, marker and
 * payload from data, and writes its own header for the receiver: the SSRC and payload
 * type of the receiver's m-line (mindex), and header extensions with the receiver's
 * ids (mid, audio level from audio_level/voice, abs-send-time, transport-cc).
 * So a plugin forwarding a packet sets seq/timestamp and mindex in its own copy of
 * the struct; data is never modified. */
typedef struct {
    bool video;      /* media kind of the m-line it belongs to */
    int mindex;      /* m-line index in the negotiated SDP, -1 if unknown */
    const char *mid; /* mid of the m-line, may be NULL */
    uint8_t *data;   /* plain (decrypted) RTP or RTCP */
    size_t len;
    /* RTP: the header's sequence number, timestamp and SSRC as received. For send_rtp
     * the core takes seq and timestamp from here (not from data), so a plugin
     * rewrites them in a copy of this struct and leaves the shared bytes alone. */
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;
    int audio_level; /* RFC 6464 level, 0 (loud) .. 127 (silent) -dBov; -1: absent */
    bool voice;      /* RFC 6464 voice activity flag */
    const char *rid; /* simulcast rid (RTP), NULL if absent */
    /* Incoming RTCP, digested by the core: the receiver asked for a keyframe
     * (PLI or FIR) on mindex; its REMB estimate in bits per second (0: none). */
    bool keyframe_request;
    uint64_t remb_bps;
} chorus_packet;

/* A data-channel message, borrowed for the duration of the callback. */
typedef struct {
    const char *label; /* channel label, may be NULL */
    bool binary;
    const uint8_t *data;
    size_t len;
} chorus_data;

typedef bool (*chorus_timer_fn)(chorus_handle *handle, void *user); /* true: run again */
typedef void (*chorus_continue_fn)(chorus_handle *handle, void *user);

/* Keeps an RTP stream continuous while its source changes (a voice slot carrying one
 * speaker, then another): opaque, owned by the plugin, one worker only. */
typedef struct chorus_rtp_rewriter chorus_rtp_rewriter;

/* What the core offers to plugins. Every function may be called from the handle's
 * worker thread; push_event and end_session may be called from any thread. */
typedef struct chorus_host {
    uint32_t abi_version;
    uint32_t struct_size;

    /* Sends an "event" to the handle's session. data is borrowed (the core copies
     * what it needs); jsep may be NULL. transaction may be NULL for unsolicited events.
     * Returns 0 on success, a Janus error code otherwise.
     * An answer to the client's offer is asked for with jsep {"type":"answer"} (call
     * from the handle's worker): the core writes the SDP (ICE, DTLS, codecs) and sends
     * it with the event. Optional members shape it: "directions": {"<mid>":
     * "sendrecv"|"sendonly"|"recvonly"|"inactive"} (the server's view), "reject":
     * ["<mid>", ...], "data": false (refuse data channels). Without a trickle-capable
     * offer the event waits until ICE gathering is done, so the SDP has every
     * candidate. */
    int (*push_event)(chorus_handle *h, const char *transaction, json_t *data, json_t *jsep);

    /* Media out (to this handle's PeerConnection). Packets are borrowed; the core
     * encrypts a copy. No-ops when no PeerConnection is up. */
    void (*send_rtp)(chorus_handle *h, const chorus_packet *pkt);
    void (*send_rtcp)(chorus_handle *h, const chorus_packet *pkt);
    void (*send_data)(chorus_handle *h, const chorus_data *msg);
    /* Asks the sender of this handle's video to send a keyframe (PLI). */
    void (*request_keyframe)(chorus_handle *h, int mindex);

    /* Closes the PeerConnection (the client gets "hangup"); the handle remains. */
    void (*close_pc)(chorus_handle *h, const char *reason);
    /* Detaches the handle (the client gets "detached"); destroy_session follows. */
    void (*end_session)(chorus_handle *h);

    /* Timers run on the handle's worker. Return an id > 0; timer_remove with that id.
     * A handle's timers are removed when the handle is destroyed. Timers of one interval
     * on a worker are batched (they run together at multiples of the interval), so the
     * first call comes within interval_ms, later ones every interval_ms; 0 runs on every
     * iteration of the worker's loop until fn returns false. */
    unsigned (*timer_add)(chorus_handle *h, unsigned interval_ms, chorus_timer_fn fn, void *user);
    void (*timer_remove)(chorus_handle *h, unsigned id);

    /* References keep a handle pointer valid (not the session behind it). */
    void (*handle_ref)(chorus_handle *h);
    void (*handle_unref)(chorus_handle *h);
    /* Ids as the client sees them. */
    uint64_t (*handle_id)(const chorus_handle *h);
    uint64_t (*session_id)(const chorus_handle *h);
    /* True once destroy_session has begun: drop late work for this handle. */
    bool (*handle_is_gone)(const chorus_handle *h);

    /* Moves the handle to the worker that owns key (the same key always maps to the
     * same worker while the server runs), so handles sharing a key (a voice group)
     * forward to each other without crossing threads. Call from handle_message,
     * before the handle has a PeerConnection and before adding timers; the move
     * happens when handle_message returns, then fn(h, user) runs on the new worker
     * (continue there: e.g. push the answer). Returns 0, or CHORUS_PLACE_* errors:
     * the handle already has a PeerConnection or timers. If the handle is already on
     * that worker, fn still runs (soon, on it). */
    int (*place_handle)(chorus_handle *h, const char *key, chorus_continue_fn fn, void *user);
    /* Runs fn(h, user) on h's worker soon (after what is already queued there). Any
     * thread; h is referenced until fn ran. fn does not run if h is destroyed first.
     * For control work on another participant (a moderator's kick). */
    void (*handle_call)(chorus_handle *h, chorus_continue_fn fn, void *user);
    /* The index of the handle's worker (for logs and affinity checks). */
    int (*worker_index)(const chorus_handle *h);

    /* A summary of an SDP offer's m-lines: a JSON array of {"index", "mid", "type"
     * ("audio"|"video"|"application"), "direction" (the client's view)}, a new
     * reference; NULL if jsep has no parsable SDP. jsep is borrowed. */
    json_t *(*describe_sdp)(json_t *jsep);

    /* RTP rewriting for continuous output streams (see chorus_rtp_rewriter). map
     * returns false when the packet must be dropped (an old packet of a source that
     * was switched away). now_us: a monotonic clock in microseconds. */
    chorus_rtp_rewriter *(*rewriter_new)(uint32_t clock_rate);
    void (*rewriter_free)(chorus_rtp_rewriter *rw);
    /* The next packet starts a new source even from the same one: call it whenever
     * forwarding into the stream paused (a slot emptied, a listener deafened), so the
     * output continues at the next sequence number instead of skipping the gap. */
    void (*rewriter_reset)(chorus_rtp_rewriter *rw);
    bool (*rewriter_map)(chorus_rtp_rewriter *rw, uint32_t source, uint16_t seq, uint32_t ts,
                         uint64_t now_us, uint16_t *out_seq, uint32_t *out_ts);

    /* The core's logger, tagged with the plugin's name. */
    void (*log)(chorus_log_level level, const char *tag, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Members below were appended after ABI version 1 shipped: a plugin that may run
     * on an older core checks CHORUS_HOST_HAS(host, member) before calling them. */

    /* The claims of the token (an HS256 JWT, see the README's "Authentication and
     * limits") the handle's session was created with: a new reference the plugin
     * owns (json_decref it; a copy, so it may be kept and read on any thread), or NULL
     * when the session has no token (tokens off, or optional and not given). The
     * claims were verified (signature, exp, nbf); grants in them are the plugin's to
     * apply, e.g. "channels": ["lobby", "*"] for chorus.plugin.voice. Any thread. */
    json_t *(*token_claims)(chorus_handle *h);
} chorus_host;

/* True when host provides member (a core built with a header that has it). */
#define CHORUS_HOST_HAS(host, member)                                                              \
    ((host)->struct_size >= offsetof(chorus_host, member) + sizeof((host)->member) &&              \
     (host)->member != NULL)

typedef struct chorus_plugin {
    uint32_t abi_version; /* CHORUS_PLUGIN_ABI_VERSION */
    uint32_t struct_size; /* sizeof(chorus_plugin) */
    const char *package;  /* "chorus.plugin.echo": what clients attach to */
    const char *name;
    const char *description;
    const char *version_string;
    int version;

    /* host stays valid until shutdown returns. config_dir holds
     * "<package>.conf". Returns 0, or a negative value to refuse loading. */
    int (*init)(const chorus_host *host, const char *config_dir);
    void (*shutdown)(void);

    /* A client attached. Returns the plugin's state for the handle (may be NULL).
     * Sets *error to a non-zero code to refuse the attach. */
    void *(*create_session)(chorus_handle *h, int *error);
    /* The handle is going away (detach, session destroy or timeout). Free state. */
    void (*destroy_session)(chorus_handle *h, void *state);
    /* Admin API handle_info: a JSON object describing the handle (a new reference). */
    json_t *(*query_session)(chorus_handle *h, void *state);

    /* A "message" request. body is always an object; jsep may be NULL. transaction
     * is borrowed; copy it to answer asynchronously. */
    chorus_plugin_result (*handle_message)(chorus_handle *h, void *state, const char *transaction,
                                           json_t *body, json_t *jsep);
    /* Admin API message_plugin: returns the response (a new reference), or NULL. */
    json_t *(*handle_admin_message)(json_t *request);

    /* Media (may be NULL when a plugin carries no media). */
    void (*setup_media)(chorus_handle *h, void *state);
    void (*incoming_rtp)(chorus_handle *h, void *state, chorus_packet *pkt);
    void (*incoming_rtcp)(chorus_handle *h, void *state, chorus_packet *pkt);
    void (*incoming_data)(chorus_handle *h, void *state, const chorus_data *msg);
    void (*hangup_media)(chorus_handle *h, void *state);
    void (*slow_link)(chorus_handle *h, void *state, int mindex, bool video, bool uplink);
} chorus_plugin;

typedef const chorus_plugin *(*chorus_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif
