/* Worker placement by key: handles that share a key (a voice group) live on one worker,
 * so forwarding among them crosses no thread. */
#ifndef CHORUS_CORE_PLACEMENT_H
#define CHORUS_CORE_PLACEMENT_H

#include "core/session.h"

/* The worker that owns key: chosen (least loaded) the first time a key is seen, then
 * fixed while the server runs. Borrowed. Thread-safe. */
ChorusWorker *chorus_placement_worker(const char *key);
void chorus_placement_cleanup(void);

/* Records a move request made from handle_message (worker thread of h). Returns 0 or a
 * CHORUS_PLACE_* error. */
int chorus_placement_request(chorus_handle *h, const char *key, chorus_continue_fn fn, void *user);
/* Carries out a recorded request after handle_message returned: moves h to its new
 * worker and runs the continuation there. Does nothing without a request. */
void chorus_placement_finish(chorus_handle *h);
/* Runs fn(h, user) on h's worker soon (any thread). */
void chorus_placement_call(chorus_handle *h, chorus_continue_fn fn, void *user);

#endif
