/* Janus sessions and handles: ids, lifetime, the connection a session talks through.
 *
 * A session is owned by the registry until removed; lookups return a new reference.
 * A handle (chorus_handle) belongs to one session and one plugin, lives on one worker,
 * and holds a reference to its session. Handles are refcounted too. */
#ifndef CHORUS_CORE_SESSION_H
#define CHORUS_CORE_SESSION_H

#include <glib.h>
#include <jansson.h>

#include "chorus/plugin.h"
#include "core/worker.h"
#include "signal/transport.h"

typedef struct ChorusSession ChorusSession;
typedef struct ChorusPluginEntry ChorusPluginEntry; /* core/plugin_host.h */

struct chorus_handle {
    guint64 id;
    gint ref;
    gint gone;                  /* set once destroy has begun (atomic) */
    ChorusSession *session;     /* a reference */
    ChorusPluginEntry *plugin;  /* borrowed: plugins outlive handles */
    ChorusWorker *worker;       /* borrowed (workers outlive handles); read it with
                                   chorus_handle_worker: placement may move it once */
    void *plugin_state;         /* worker thread only */
    gboolean created;           /* create_session succeeded (worker thread only) */
    GHashTable *timers;         /* id -> ChorusTick*, worker thread only */
    guint next_timer_id;        /* worker thread only */
    struct ChorusPeer *peer;    /* the PeerConnection, worker thread only (core/peer.h) */
    char *pending_offer;        /* the client's offer, applied when the plugin answers */
    json_t *pending_trickle;    /* candidates that came before the PeerConnection */
    ChorusWorker *place_target; /* a placement asked for in handle_message */
    chorus_continue_fn place_fn;
    void *place_user;
    char *opaque_id;
    gint64 created_us;
};

/* ---- sessions ---- */
void chorus_sessions_init(void);
void chorus_sessions_cleanup(void);

/* A new session bound to conn (may be NULL); registered, returned with a reference
 * for the caller. Returns NULL if max_sessions is reached. */
ChorusSession *chorus_session_create(ChorusConn *conn, guint max_sessions);
/* The same with the id the client asked for; *in_use is set (and NULL returned) when a
 * session already has it. */
ChorusSession *chorus_session_create_with_id(ChorusConn *conn, guint max_sessions, guint64 id,
                                             gboolean *in_use);
/* A new reference, or NULL if no such (live) session. */
ChorusSession *chorus_session_lookup(guint64 id);
ChorusSession *chorus_session_ref(ChorusSession *s);
void chorus_session_unref(ChorusSession *s);
guint64 chorus_session_id(const ChorusSession *s);
/* Unregisters the session; returns its handles (each a reference) so the caller can
 * detach them. Returns NULL if it was already destroyed. */
GPtrArray *chorus_session_destroy(ChorusSession *s);
gboolean chorus_session_is_destroyed(ChorusSession *s);

/* Marks activity (any request): resets the timeout clock. */
void chorus_session_touch(ChorusSession *s);
/* Makes conn the session's connection (claim); takes no ownership of conn. */
void chorus_session_set_conn(ChorusSession *s, ChorusConn *conn);
/* Forgets conn if it is the session's connection (the socket closed). */
gboolean chorus_session_drop_conn(ChorusSession *s, ChorusConn *conn);
/* TRUE if the session speaks through conn. */
gboolean chorus_session_has_conn(ChorusSession *s, ChorusConn *conn);
/* Sends a message to the session's current connection; steals msg. While the session
 * waits for a claim (its socket closed), events are kept (up to 512) and sent to the
 * claiming socket first. FALSE if not sent now. Thread-safe. */
gboolean chorus_session_send(ChorusSession *s, json_t *msg);

/* The verified claims of the token the session was created with (signal/auth.h);
 * takes the reference; NULL: no token. Set once, right after creation. */
void chorus_session_set_claims(ChorusSession *s, json_t *claims);
/* A copy of those claims (a new reference the caller owns: nothing is shared between
 * threads), or NULL when the session has no token. Thread-safe. */
json_t *chorus_session_claims(ChorusSession *s);

/* Every live session (references), for the watchdog and admin API. */
GPtrArray *chorus_sessions_list(void);
guint chorus_sessions_count(void);
/* Seconds since the last request; seconds since the socket closed (-1: connected). */
gint64 chorus_session_idle_seconds(ChorusSession *s);
gint64 chorus_session_orphan_seconds(ChorusSession *s);

/* ---- handles ---- */
/* Registers a new handle in s (not yet created in the plugin). Returns a reference,
 * or NULL if the session is destroyed or has max_handles already. */
chorus_handle *chorus_handle_new(ChorusSession *s, ChorusPluginEntry *plugin, const char *opaque_id,
                                 guint max_handles);
/* A new reference to a handle of s, or NULL. */
chorus_handle *chorus_handle_lookup(ChorusSession *s, guint64 handle_id);
/* Removes the handle from its session's table; FALSE if it was not there. */
gboolean chorus_handle_unregister(chorus_handle *h);
/* Handles of a session (references). */
GPtrArray *chorus_session_handles(ChorusSession *s);
chorus_handle *chorus_handle_ref(chorus_handle *h);
/* The handle's current worker (atomic read: placement may move a handle once). */
ChorusWorker *chorus_handle_worker(const chorus_handle *h);
void chorus_handle_unref(chorus_handle *h);

#endif
