/* chorus-loadgen: the client side of one WebRTC PeerConnection, assembled from Chorus's
 * own layers (src/net/ice, dtls, srtp; src/media/sdp, sdp_answer): real ICE (controlling
 * when we offer, controlled when we answer), DTLS-SRTP (our role follows the answer's
 * a=setup), RTP with Opus. Audio only, BUNDLE + rtcp-mux, no trickle from our side (our
 * host candidates go in our SDP; the server's may come in its SDP or be trickled).
 *
 * The packet paths (lg_pc_tx_*, the receive callback) allocate nothing and log nothing.
 * Threading: one GMainContext (the shard's); every call and callback happens there. */
#ifndef LG_PC_H
#define LG_PC_H

#include <gio/gio.h>
#include <glib.h>

#include "net/dtls.h"

typedef struct LgPc LgPc;

/* What every PeerConnection of a shard shares (borrowed; must outlive the PCs). */
typedef struct {
    GMainContext *ctx;
    ChorusDtlsCert *cert;
    char **interfaces; /* ICE host candidates: allow-list (NULL: every interface) */
    gboolean loopback; /* offer 127.0.0.1 too */
    guint ice_timeout_s;
} LgPcEnv;

typedef struct {
    /* DTLS is up and SRTP keyed: media may flow. */
    void (*on_up)(void *user, LgPc *pc);
    /* ICE or DTLS failed or closed (reason borrowed). Reported once. */
    void (*on_failed)(void *user, LgPc *pc, const char *reason);
    /* Per-packet: the decrypted payload of an RTP packet (padding removed), borrowed;
     * now_us is g_get_monotonic_time() at reception. */
    void (*on_payload)(void *user, const guint8 *payload, size_t len, gint64 now_us);
} LgPcCallbacks;

typedef enum {
    LG_DIR_SENDONLY,
    LG_DIR_RECVONLY,
    LG_DIR_SENDRECV,
} LgDirection;

/* Counters kept by the PC (read at the end). */
typedef struct {
    guint64 rtp_rx, rtcp_rx, srtp_errors, rtp_tx;
    guint64 tx_not_ready; /* not up, failed, or nothing negotiated to send on */
    guint64 tx_srtp;      /* protect failed */
    guint64 tx_socket;    /* the send itself failed (ICE not connected, socket error) */
    int tx_last_errno;
} LgPcCounters;

LgPc *lg_pc_new(const LgPcEnv *env, gboolean controlling, const LgPcCallbacks *cb, void *user,
                GError **error);
/* Closes DTLS (close_notify) and ICE; no callback after this. NULL is fine. */
void lg_pc_free(LgPc *pc);

/* An offer with 1 + n_recv audio m-lines (mids "0".."n"): the first in direction first
 * (our microphone, Opus), the others recvonly (slots). Gathers host candidates and puts
 * them in the SDP. A new string (g_free) or NULL with *error. */
char *lg_pc_create_offer(LgPc *pc, LgDirection first, guint n_recv, GError **error);
/* Applies the answer to our offer: transport (ICE credentials, candidates, fingerprint,
 * DTLS role from a=setup), the codec and header extension ids of our sending m-line. */
gboolean lg_pc_apply_answer(LgPc *pc, const char *sdp, GError **error);
/* Answers a server's offer (e.g. a Janus subscription): every audio m-line recvonly,
 * setup:active (we are the DTLS client), our candidates in the SDP; applies the offer's
 * transport. A new string (g_free) or NULL with *error. */
char *lg_pc_answer_offer(LgPc *pc, const char *sdp, GError **error);
/* A trickled remote candidate ("candidate:..."); NULL or "" ends the remote candidates. */
void lg_pc_add_remote_candidate(LgPc *pc, const char *candidate);

/* Audio m-lines of the answer that receive (accepted, not sendonly from our side). */
guint lg_pc_recv_mlines(const LgPc *pc);
/* The mid of our sending m-line ("0"). */
const char *lg_pc_send_mid(const LgPc *pc);
gboolean lg_pc_is_up(const LgPc *pc);
const LgPcCounters *lg_pc_counters(const LgPc *pc);
/* "AEAD_AES_128_GCM" etc. once up, else "none" (static). */
const char *lg_pc_srtp_profile(const LgPc *pc);

/* ---- per-packet sending -------------------------------------------------------------
 * lg_pc_tx_payload returns the payload area of the PC's packet buffer (room for
 * LG_PC_MAX_PAYLOAD bytes); fill it, then lg_pc_tx_send builds the RTP header (next
 * sequence number, timestamp + samples, audio level extension when negotiated),
 * protects and sends it. FALSE when not up or the send failed (counted). */
#define LG_PC_MAX_PAYLOAD 1000
guint8 *lg_pc_tx_payload(LgPc *pc);
gboolean lg_pc_tx_send(LgPc *pc, size_t payload_len, guint32 samples, guint8 audio_level);

#endif
