/* Janus API v1 dispatch: requests arriving on a WebSocket (or, in tests, any
 * ChorusConn) are parsed, checked and dispatched through a table of
 * {name, what it needs, handler}. Answers go back through chorus_conn_send; answers
 * that need the plugin are sent from the handle's worker. */
#ifndef CHORUS_SIGNAL_API_H
#define CHORUS_SIGNAL_API_H

#include <glib.h>

#include "core/config.h"
#include "signal/transport.h"

/* cfg is borrowed and must outlive the API. */
void chorus_api_init(const ChorusConfig *cfg);

/* One text message from conn (the Janus API or, if conn is an admin connection,
 * the admin API). text is borrowed. */
void chorus_api_handle(ChorusConn *conn, const char *text, gsize len);
/* conn closed: its sessions wait reclaim_timeout for a claim, then go. */
void chorus_api_conn_closed(ChorusConn *conn);
/* Once a second: times out idle sessions and removes unclaimed orphans. */
void chorus_api_watchdog(void);
/* Destroys every session (shutdown): each handle is detached, clients told. */
void chorus_api_destroy_all(void);

/* Admin API (signal/admin.c), given a parsed request that passed the common checks.
 * Returns the response (a new reference). */
#include <jansson.h>
json_t *chorus_admin_handle(const ChorusConfig *cfg, json_t *root, const char *request,
                            const char *transaction);
/* {"janus":"server_info", ...} for the info request (both APIs). */
json_t *chorus_api_server_info(const ChorusConfig *cfg, const char *transaction);

#endif
