/* SRTP/SRTCP for one PeerConnection: an inbound and an outbound context from
 * DTLS-exported keys, with replay protection. AEAD_AES_128_GCM runs on OpenSSL with
 * contexts made once (src/net/srtp_gcm.c; Debian's libsrtp2 is built on NSS, about 3x
 * slower and allocating per packet); AES_CM_128_HMAC_SHA1_80 runs on libsrtp2
 * (CHORUS_SRTP_BACKEND=libsrtp2 puts GCM there too, for comparison). Per-packet calls
 * work in place on the caller's buffer, allocate nothing, log nothing. One worker
 * thread only. */
#ifndef CHORUS_NET_SRTP_H
#define CHORUS_NET_SRTP_H

#include <glib.h>

#include "net/net_types.h"

typedef struct ChorusSrtp ChorusSrtp;

/* Errors from chorus_srtp_global_init/chorus_srtp_new (GError domain). */
#define CHORUS_SRTP_ERROR (chorus_srtp_error_quark())
GQuark chorus_srtp_error_quark(void);
typedef enum {
    CHORUS_SRTP_ERROR_INIT,   /* srtp_init failed */
    CHORUS_SRTP_ERROR_KEYS,   /* unknown profile or key/salt lengths that do not fit it */
    CHORUS_SRTP_ERROR_CREATE, /* srtp_create refused */
} ChorusSrtpError;

/* The most a protect call adds to a packet (tag + SRTCP index); size buffers for it. */
#define CHORUS_SRTP_MAX_TRAILER 148

/* Calls srtp_init once per process (thread-safe). */
gboolean chorus_srtp_global_init(GError **error);
/* keys are copied (and the copies wiped once the session keys are derived). The
 * inbound context (remote key) accepts any SSRC, with a replay window of 1024 packets;
 * the outbound one (local key) protects any SSRC and lets a retransmission of the same
 * packet be protected again. Calls chorus_srtp_global_init itself. */
ChorusSrtp *chorus_srtp_new(const ChorusSrtpKeys *keys, GError **error);
void chorus_srtp_free(ChorusSrtp *s);

/* In place. *len is updated. cap is the buffer's size (must leave room for the
 * trailer). Return 0 on success, or a negative libsrtp status (replay, auth fail...)
 * and the packet must be dropped. Protect needs cap >= *len + 144 for RTP
 * (SRTP_MAX_TRAILER_LEN) and *len + CHORUS_SRTP_MAX_TRAILER for RTCP, else it returns
 * -srtp_err_status_bad_param (-2) without touching the packet; what it really adds is
 * 16 bytes (GCM) or 10 (AES-CM-80) for RTP, plus 4 (SRTCP index) for RTCP. */
int chorus_srtp_protect_rtp(ChorusSrtp *s, uint8_t *buf, size_t *len, size_t cap);
int chorus_srtp_protect_rtcp(ChorusSrtp *s, uint8_t *buf, size_t *len, size_t cap);
int chorus_srtp_unprotect_rtp(ChorusSrtp *s, uint8_t *buf, size_t *len);
int chorus_srtp_unprotect_rtcp(ChorusSrtp *s, uint8_t *buf, size_t *len);
ChorusSrtpProfile chorus_srtp_profile(const ChorusSrtp *s);

#endif
