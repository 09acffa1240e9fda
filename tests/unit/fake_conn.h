/* A ChorusConn stand-in for unit tests and fuzz targets: what the core sends is queued
 * for the test. Links in place of the transport (signal/transport.h's ChorusConn part). */
#ifndef CHORUS_TEST_FAKE_CONN_H
#define CHORUS_TEST_FAKE_CONN_H

#include <jansson.h>

#include "signal/transport.h"

/* Ids count up from 1; the peer IP is "127.0.0.1" unless fake_conn_set_peer_ip says. */
ChorusConn *fake_conn_new(gboolean admin);
/* The next message sent to conn, parsed (a new reference), or NULL after timeout_ms. */
json_t *fake_conn_next(ChorusConn *conn, guint timeout_ms);
/* The next message sent to conn as sent (g_free), or NULL at once when there is none. */
char *fake_conn_pop_text(ChorusConn *conn);
guint fake_conn_pending(ChorusConn *conn);
/* What chorus_conn_peer_ip answers for conn from now on (copied); call it before the
 * connection is handed to the core. */
void fake_conn_set_peer_ip(ChorusConn *conn, const char *ip);

#endif
