/* A PeerConnection: ICE + DTLS + SRTP (+ SCTP) for one handle, assembled from the net
 * layers, with the packet demultiplexer and the RTP/RTCP paths to the plugin.
 *
 * Threading: a peer lives on its handle's worker; every function here is called
 * there. The per-packet paths (incoming and chorus_peer_send_rtp) allocate nothing,
 * take no lock and log nothing. */
#ifndef CHORUS_CORE_PEER_H
#define CHORUS_CORE_PEER_H

#include <glib.h>
#include <jansson.h>

#include "core/config.h"
#include "core/session.h"

typedef struct ChorusPeer ChorusPeer;

/* Process-wide media setup: DTLS certificate, SRTP and SCTP libraries, ICE options
 * from cfg (borrowed; must outlive every peer). */
gboolean chorus_peers_global_init(const ChorusConfig *cfg, GError **error);
void chorus_peers_global_cleanup(void);
/* "sha-256 AB:..." of the server's DTLS certificate (borrowed). */
const char *chorus_peers_fingerprint(void);

/* Applies a client offer to h (creating the peer if needed) and starts ICE gathering.
 * Returns FALSE with an error message for the client (Janus 465) if the SDP is bad. */
gboolean chorus_peer_apply_offer(chorus_handle *h, const char *sdp, GError **error);
/* Applies h's pending offer (creating or renegotiating its PeerConnection on h's
 * current worker) and the candidates trickled before it. FALSE with error if the offer
 * is unusable or there is none. */
gboolean chorus_peer_apply_pending(chorus_handle *h, GError **error);
/* Builds the answer SDP for h's pending offer, shaped by the plugin's jsep options
 * (see push_event in chorus/plugin.h). Returns a new string, or NULL with error. */
char *chorus_peer_create_answer(chorus_handle *h, json_t *options, GError **error);
/* After the answer went out: trickle the candidates gathered so far. */
void chorus_peer_answer_sent(chorus_handle *h);
/* TRUE when the answer may be sent now: the offer trickles, or gathering is done. */
gboolean chorus_peer_answer_ready(chorus_handle *h);
/* Queues msg (stolen) until gathering is done, then sends it with its jsep SDP
 * completed with the candidates. */
void chorus_peer_send_when_gathered(chorus_handle *h, json_t *msg);
/* A trickled remote candidate (object with candidate/sdpMid, or {"completed":true}). */
void chorus_peer_trickle(chorus_handle *h, json_t *candidate);

/* Per-packet: send to h's client (see chorus_packet in chorus/plugin.h). */
void chorus_peer_send_rtp(chorus_handle *h, const chorus_packet *pkt);
void chorus_peer_send_rtcp(chorus_handle *h, const chorus_packet *pkt);
void chorus_peer_send_data(chorus_handle *h, const chorus_data *msg);
void chorus_peer_request_keyframe(chorus_handle *h, int mindex);

/* Closes h's PeerConnection (if any): the client gets "hangup" with reason, the plugin
 * hangup_media. Safe to call from the peer's own callbacks (the teardown is deferred). */
void chorus_peer_close(chorus_handle *h, const char *reason);
/* Frees at once without events (handle destruction). */
void chorus_peer_destroy(chorus_handle *h);
/* Admin handle_info view of the peer (a new object), or NULL. */
json_t *chorus_peer_info(chorus_handle *h);
/* Process-wide send figures for the admin status (any thread): {"io_uring_threads",
 * "batched_sends", "batch_submits", "batch_errors"} of the io_uring fan-out batches
 * (net/udp_batch.h); io_uring_threads 0 means every datagram left with its own sendto. */
json_t *chorus_peer_send_stats(void);

#endif
