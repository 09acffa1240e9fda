/* The host side of the plugin ABI: the chorus_host table given to plugins, and the
 * jobs that run a handle's plugin calls on its worker (attach, message, hangup,
 * detach). Jobs answer the client themselves, so the API thread never waits. */
#ifndef CHORUS_CORE_PLUGIN_HOST_H
#define CHORUS_CORE_PLUGIN_HOST_H

#include <glib.h>
#include <jansson.h>

#include "core/session.h"

/* The table handed to every plugin's init (static storage). */
const chorus_host *chorus_host_table(void);

/* conn (borrowed, may be NULL) is the socket the request came on: the direct answer
 * (ack, success, error) goes there; events go to the session's connection. */

/* Assigns h to a worker and runs create_session there; answers "success" with the
 * handle id, or error 461 (and unregisters h). transaction is copied. */
void chorus_handle_start(chorus_handle *h, ChorusConn *conn, const char *transaction);
/* Runs handle_message on h's worker and answers success (with plugindata), ack or
 * error 462. body and jsep are borrowed (copied as needed); jsep may be NULL. */
void chorus_handle_message(chorus_handle *h, ChorusConn *conn, const char *transaction,
                           json_t *body, json_t *jsep);
/* Tells the plugin the PeerConnection is gone (hangup_media) and answers success. */
void chorus_handle_hangup(chorus_handle *h, ChorusConn *conn, const char *transaction,
                          const char *reason);
/* Destroys h on its worker: destroy_session, timers removed, then "success" (when
 * transaction is not NULL) and a "detached" event. h must be unregistered already.
 * Takes the caller's reference to h. */
void chorus_handle_detach(chorus_handle *h, ChorusConn *conn, const char *transaction);
/* The plugin's handle_info view, run on the handle's worker (waits for it). A new
 * reference or NULL; *webrtc gets the PeerConnection's view (new reference or NULL). */
json_t *chorus_handle_query(chorus_handle *h, json_t **webrtc);
/* Trickled candidates (an object or an array; borrowed) to h's PeerConnection. */
void chorus_handle_trickle(chorus_handle *h, json_t *candidates);

#endif
