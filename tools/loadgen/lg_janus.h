/* chorus-loadgen: a Janus API v1 client on one WebSocket (subprotocol janus-protocol).
 * Many sessions may share one connection (servers cap connections per address);
 * answers are matched by transaction, other messages are routed by their "sender"
 * (handle id). Keepalives are sent for every registered session.
 *
 * Threading: one GMainContext (the caller's shard); not thread-safe. */
#ifndef LG_JANUS_H
#define LG_JANUS_H

#include <glib.h>
#include <jansson.h>

typedef struct LgJanus LgJanus;

/* The final answer to a request (msg borrowed), or NULL when the connection ended first.
 * For "message" requests the final answer is the plugin's "event" (or a synchronous
 * "success"/"error"), the "ack" before it is skipped. */
typedef void (*LgJanusReplyFn)(void *user, json_t *msg);
/* A message for a watched handle that answers no pending request: "event", "webrtcup",
 * "media", "hangup", "trickle", "slowlink", "detached" (msg borrowed). */
typedef void (*LgJanusEventFn)(void *user, json_t *msg);

LgJanus *lg_janus_new(GMainContext *ctx, const char *url, GError **error);
/* Pending callbacks are dropped (not called). */
void lg_janus_free(LgJanus *j);
gboolean lg_janus_closed(const LgJanus *j);

/* A new request object {"janus": kind, "session_id"?, "handle_id"?} (0: omitted). */
json_t *lg_janus_msg(const char *kind, guint64 session, guint64 handle);
/* Sends req (stolen) with a fresh transaction. ack_final: the "ack" is the answer
 * (keepalive, trickle). fn may be NULL. */
void lg_janus_request(LgJanus *j, json_t *req, gboolean ack_final, LgJanusReplyFn fn, void *user);
/* Sends req (stolen) without waiting for anything. */
void lg_janus_send(LgJanus *j, json_t *req);

void lg_janus_watch_handle(LgJanus *j, guint64 handle, LgJanusEventFn fn, void *user);
void lg_janus_unwatch_handle(LgJanus *j, guint64 handle);
/* Sessions kept alive (a keepalive every 20 s). */
void lg_janus_add_session(LgJanus *j, guint64 session);
void lg_janus_remove_session(LgJanus *j, guint64 session);

/* Small JSON helpers for answers. */
/* plugindata.data of an event/success, or NULL. */
json_t *lg_janus_plugin_data(json_t *msg);
/* The error text of an answer ("error" member or plugin error), or NULL if none. */
const char *lg_janus_error(json_t *msg);
/* jsep.sdp of a message, or NULL. */
const char *lg_janus_jsep_sdp(json_t *msg, const char *type);

#endif
