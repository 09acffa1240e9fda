/* SCTP over DTLS (RFC 8261) for WebRTC data channels, on usrsctp (AF_CONN: DTLS
 * carries the packets), with DCEP (RFC 8832) to open channels.
 *
 * Threading: a ChorusSctp is used from one worker. usrsctp's timers run on one
 * Chorus-owned thread (started by global init, ticking every 10 ms only while at least
 * one ChorusSctp exists, parked otherwise); every callback below is nevertheless
 * delivered on the GMainContext given at creation (marshalled when needed), and the
 * send callback is never called concurrently for one association. */
#ifndef CHORUS_NET_SCTP_H
#define CHORUS_NET_SCTP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/net_types.h"

typedef struct ChorusSctp ChorusSctp;

typedef struct {
    /* An SCTP packet for the peer (to DTLS); borrowed. */
    ChorusNetSendFn send;
    /* A channel opened (by the peer's DCEP OPEN, or ours acknowledged). Borrowed. */
    void (*on_channel_open)(void *user, uint16_t stream, const char *label, const char *protocol);
    /* A message on an open channel; data borrowed for the call. */
    void (*on_message)(void *user, uint16_t stream, const char *label, bool binary,
                       const uint8_t *data, size_t len);
    /* The association is up, or went down (reason borrowed). */
    void (*on_state)(void *user, bool up, const char *reason);
    /* Addition (optional, may be NULL; keep it last): the peer closed a channel (reset
     * its outgoing stream); the channel is already forgotten. label borrowed. */
    void (*on_channel_close)(void *user, uint16_t stream, const char *label);
} ChorusSctpCallbacks;

/* Global usrsctp setup; once per process, thread-safe. chorus_sctp_new calls it too.
 * init starts the timer thread (FALSE if it cannot). cleanup (after every ChorusSctp is
 * freed) joins it, then runs usrsctp_finish, waiting up to about 3 s for usrsctp to
 * release closed sockets; init may be called again afterwards. */
gboolean chorus_sctp_global_init(GError **error);
void chorus_sctp_global_cleanup(void);

/* local_port/remote_port: a=sctp-port of each side (5000 by default).
 * max_message_size: what we accept (a=max-message-size). ctx borrowed. */
ChorusSctp *chorus_sctp_new(uint16_t local_port, uint16_t remote_port, size_t max_message_size,
                            GMainContext *ctx, const ChorusSctpCallbacks *cb, void *user);
/* Connects once DTLS is up (both sides connect; SCTP resolves the collision). */
gboolean chorus_sctp_connect(ChorusSctp *s, GError **error);
/* An SCTP packet from the peer (DTLS application data). */
void chorus_sctp_incoming(ChorusSctp *s, const uint8_t *buf, size_t len);
/* Sends a message on an open channel (by stream id); ordered/reliable as the channel
 * was opened. Returns 0 or -1 (no such channel, too big, association down). */
int chorus_sctp_send(ChorusSctp *s, uint16_t stream, bool binary, const uint8_t *data, size_t len);
/* Opens a channel from our side (DCEP OPEN); returns the stream id or -1. */
int chorus_sctp_open_channel(ChorusSctp *s, const char *label, const char *protocol, bool ordered);
/* Stream id of an open channel by label, or -1. */
int chorus_sctp_find_channel(ChorusSctp *s, const char *label);
/* Closes the association; no callback after this returns. */
void chorus_sctp_free(ChorusSctp *s);

/* ---- Additions ----------------------------------------------------------------------
 *
 * Callback details: only `send` is required; the others may be NULL. Every callback
 * runs on ctx's thread, never inside a usrsctp call. Events caused by an incoming
 * packet are delivered before chorus_sctp_incoming returns when it is called on the
 * owner thread; packets produced by chorus_sctp_send/open/close/connect are handed to
 * `send` before those return; everything usrsctp produces on the timer thread
 * (retransmissions, delayed SACKs, timeouts) arrives through an idle source on ctx, in
 * order. A callback may call any function here, chorus_sctp_free included.
 * chorus_sctp_free itself calls no callback (not even `send`).
 *
 * chorus_sctp_new accepts max_message_size 0, meaning CHORUS_SCTP_DEFAULT_MAX_MESSAGE.
 * Larger incoming messages are dropped (one warning per association, then debug). */
#define CHORUS_SCTP_DEFAULT_MAX_MESSAGE 262144
/* Streams negotiated in each direction (SCTP_INITMSG). */
#define CHORUS_SCTP_NUM_STREAMS 1024

/* Stream id parity for channels we open (RFC 8832 section 6): the DTLS client uses
 * even ids, the DTLS server odd ones. Default: server (odd), as Chorus is usually
 * a=setup:passive. Call before opening channels. */
void chorus_sctp_set_dtls_role(ChorusSctp *s, bool dtls_client);
/* The peer's a=max-message-size (RFC 8841): chorus_sctp_send refuses bigger messages.
 * 0 (the default) means no limit beyond the send buffer. */
void chorus_sctp_set_remote_max_message_size(ChorusSctp *s, size_t size);
/* Like chorus_sctp_open_channel with any RFC 8832 channel type (CHORUS_DCEP_*,
 * 0x80 = unordered) and its reliability parameter (retransmissions or milliseconds).
 * Before the association is up, the OPEN is queued and sent when it comes up.
 * Returns the stream id or -1. */
int chorus_sctp_open_channel_full(ChorusSctp *s, const char *label, const char *protocol,
                                  uint8_t channel_type, uint32_t reliability);
/* Closes a channel from our side (RFC 8831 section 6.7: resets our outgoing stream; the
 * peer resets its own in answer). The channel is forgotten at once; no callback.
 * Returns 0, or -1 if there is no such channel. */
int chorus_sctp_close_channel(ChorusSctp *s, uint16_t stream);
/* True once the association is up (and until it goes down). */
bool chorus_sctp_is_up(ChorusSctp *s);

/* Timer thread state, for tests and diagnostics (any thread): active while it ticks
 * usrsctp's clock (some ChorusSctp exists), false once it is parked without a timeout;
 * ticks counts its usrsctp_handle_timers rounds (frozen while parked). */
bool chorus_sctp_timer_active(void);
uint64_t chorus_sctp_timer_ticks(void);

#endif
