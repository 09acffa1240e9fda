/* A ChorusConn stand-in for unit tests: what the core sends is queued for the test. */
#ifndef CHORUS_TEST_FAKE_CONN_H
#define CHORUS_TEST_FAKE_CONN_H

#include <jansson.h>

#include "signal/transport.h"

ChorusConn *fake_conn_new(gboolean admin);
/* The next message sent to conn, parsed (a new reference), or NULL after timeout_ms. */
json_t *fake_conn_next(ChorusConn *conn, guint timeout_ms);
guint fake_conn_pending(ChorusConn *conn);

#endif
