/* chorus-loadgen: signalling steps the adapters share (shard thread). Each step ends by
 * calling the next function, or lg_participant_done(p, FALSE, why). */
#ifndef LG_ADAPTER_H
#define LG_ADAPTER_H

#include "lg_run.h"

typedef void (*LgStepFn)(LgParticipant *p);
typedef void (*LgReplyFn)(LgParticipant *p, json_t *msg);

/* "create": p->session, kept alive; then next. */
void lg_step_session(LgParticipant *p, LgStepFn next);
/* "attach" plugin on p->session: *handle (p->handle or p->sub_handle), events for it go to
 * on_event(p, msg); then next. */
void lg_step_attach(LgParticipant *p, const char *plugin, guint64 *handle,
                    void (*on_event)(LgParticipant *p, json_t *msg), LgStepFn next);
/* "message" with body (stolen) and an optional jsep on handle; fn gets the final answer
 * (never NULL: a lost connection fails p instead). */
void lg_step_message(LgParticipant *p, guint64 handle, json_t *body, const char *jsep_type,
                     const char *sdp, LgReplyFn fn);

/* Common handling of a handle's events: trickled candidates go to pc; a hangup or a
 * detach fails a participant still being set up. TRUE if msg was one of those. */
gboolean lg_handle_common_event(LgParticipant *p, LgPc *pc, json_t *msg);

/* Creates p->pc (controlling) and its offer: first m-line dir, n_recv recvonly slots.
 * NULL (p failed) on error. */
char *lg_offer(LgParticipant *p, LgDirection dir, guint n_recv);
/* Applies the answer in msg to pc; FALSE (p failed) if absent or unusable. */
gboolean lg_apply_answer(LgParticipant *p, LgPc *pc, json_t *msg);

/* The message's error text when it failed (Janus error or plugin error), else NULL. */
const char *lg_reply_error(json_t *msg);

/* Controller thread: a session and a handle of run->adapter->plugin on j (run->ctl_session,
 * run->ctl_handle); 0 with *error on failure. */
guint64 lg_control_attach(LgRun *run, GMainContext *ctx, LgJanus *j, GError **error);
/* A plugin request (body stolen) on the control handle; the plugin's data (a new
 * reference) or NULL with *error. */
json_t *lg_control_request(LgRun *run, GMainContext *ctx, LgJanus *j, json_t *body, GError **error);
/* The same for a cleanup request: a failure is only reported (unless --quiet). */
void lg_control_cleanup(LgRun *run, GMainContext *ctx, LgJanus *j, json_t *body);

#endif
