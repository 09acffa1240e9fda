/* Inside a PeerConnection: shared by peer.c (signalling side) and peer_rtp.c (packets).
 * Not for other files. */
#ifndef CHORUS_CORE_PEER_PRIV_H
#define CHORUS_CORE_PEER_PRIV_H

#include "core/peer.h"
#include "core/worker.h"
#include "media/rtp_stats.h"
#include "media/sdp.h"
#include "net/dtls.h"
#include "net/ice.h"
#include "net/sctp.h"
#include "net/srtp.h"

#define PEER_MAX_MEDIA 16
#define PEER_MTU       1500
#define PEER_BUF_SIZE  (PEER_MTU + CHORUS_SRTP_MAX_TRAILER + 64)

/* One negotiated m-line. */
typedef struct {
    int index;
    char mid[32];
    size_t mid_len; /* strlen(mid), for the per-packet extension writer */
    gboolean video, data, rejected;
    gboolean send, recv; /* the server's direction in the answer */
    guint8 pt;           /* the chosen payload type */
    int rtx_pt;          /* -1: none */
    guint32 clock_rate;
    guint32 local_ssrc, local_rtx_ssrc;
    guint32 remote_ssrc; /* learned from the SDP or the first packet */
    guint32 remote_rtx_ssrc;
    int ext_mid, ext_level, ext_abs, ext_twcc, ext_rid; /* negotiated ids, -1: none */
    chorus_rtp_stats in_stats;
    gboolean stats_started;
    gboolean receiving; /* the "media" event state */
    gint64 last_rx_us;
    guint64 rx_packets, rx_bytes, tx_packets, tx_bytes;
    guint32 last_tx_ts; /* for sender reports */
    gint64 last_tx_us;
    guint64 keyframe_requests;
    gint64 last_pli_us;
    guint64 prev_expected; /* for the per-second inbound loss (slowlink) */
    gint64 prev_lost;
    gint64 last_slow_up_us, last_slow_down_us;
} PeerMedia;

struct ChorusPeer {
    chorus_handle *h; /* borrowed: the handle owns the peer */
    ChorusIce *ice;
    ChorusDtls *dtls;
    ChorusSrtp *srtp;
    ChorusSctp *sctp;
    ChorusSdp *offer;  /* the pending/current remote offer */
    gboolean trickle;  /* the offer said ice-options:trickle */
    gboolean answered; /* an answer went out */
    gboolean webrtcup;
    gboolean closing;
    char *close_reason;
    char *remote_fingerprint; /* "sha-256 AB:..." */
    ChorusSdpSetup remote_setup;
    gboolean dtls_client; /* we answered setup:active */
    guint16 remote_sctp_port;
    char bundle_mid[32]; /* mid used for trickle candidates */
    int bundle_index;
    GQueue waiting; /* json_t* events held until gathering is done */
    PeerMedia media[PEER_MAX_MEDIA];
    guint n_media;
    ChorusTick *tick; /* 1 s: receiver/sender reports, media events */
    guint16 twcc_seq;
    guint64 srtp_errors, rx_dropped;
    uint8_t buf[PEER_BUF_SIZE]; /* scratch for outgoing packets */
};

/* peer_rtp.c */
void chorus_peer_incoming(ChorusPeer *p, uint8_t *buf, size_t len);
gboolean chorus_peer_tick(gpointer data);
void chorus_peer_send_pli(ChorusPeer *p, PeerMedia *m);
/* peer.c */
void chorus_peer_emit(ChorusPeer *p, json_t *msg);
PeerMedia *chorus_peer_media(ChorusPeer *p, int mindex);

#endif
