/* SRTP/SRTCP with AEAD_AES_128_GCM (RFC 7714) directly on OpenSSL's EVP AES-128-GCM.
 *
 * One ChorusSrtpGcm is one direction of one DTLS-SRTP association: outbound (local
 * key: protect) or inbound (remote key: unprotect). Its two EVP contexts (SRTP and
 * SRTCP session keys) are keyed once at creation and only re-IV'd per packet. Per-SSRC
 * state (rollover counter, replay window) lives in a fixed table of
 * CHORUS_SRTP_GCM_MAX_SSRCS entries with least-recently-used replacement, so the
 * per-packet calls allocate nothing, lock nothing and log nothing. One thread at a time.
 *
 * Index handling follows libsrtp2 exactly (so both ends agree on every rollover counter
 * and on which packets are replays): the RFC 3711 appendix A estimate against the
 * highest index seen (sent), a 1024-packet window for SRTP and a 128-packet one for
 * SRTCP per SSRC. The outbound side lets a packet be protected again (retransmission,
 * like libsrtp's allow_repeat_tx) and, unlike libsrtp, also one older than the window.
 *
 * Return values are 0 or the negative libsrtp2 status srtp.h documents:
 *   -2  (bad_param)   NULL argument, wrong direction, packet too short, cap too small
 *   -7  (auth_fail)   the GCM tag does not verify (header, payload, tag or trailer altered)
 *   -8  (cipher_fail) OpenSSL refused an operation
 *   -9  (replay_fail) index already received
 *   -10 (replay_old)  index older than the replay window
 *   -15 (key_expired) the 31-bit SRTCP index is exhausted
 *   -21 (parse_err)   the RTP header (CSRCs, extension) runs past the packet
 * A packet that fails to unprotect must be dropped: its payload may have been decrypted
 * in place already. State (ROC, windows, the SSRC table) changes only for packets that
 * authenticate. */
#ifndef CHORUS_NET_SRTP_GCM_H
#define CHORUS_NET_SRTP_GCM_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#define CHORUS_SRTP_GCM_KEY_LEN     16 /* master and session key */
#define CHORUS_SRTP_GCM_SALT_LEN    12 /* master and session salt */
#define CHORUS_SRTP_GCM_TAG_LEN     16
#define CHORUS_SRTP_GCM_SRTCP_INDEX 4  /* E flag + 31-bit SRTCP index, after the tag */
#define CHORUS_SRTP_GCM_MAX_SSRCS   32 /* per-SSRC states per direction */
#define CHORUS_SRTP_GCM_RTP_WINDOW  1024
#define CHORUS_SRTP_GCM_RTCP_WINDOW 128

typedef struct ChorusSrtpGcm ChorusSrtpGcm;

typedef enum {
    CHORUS_SRTP_GCM_OUTBOUND, /* protect */
    CHORUS_SRTP_GCM_INBOUND,  /* unprotect */
} ChorusSrtpGcmDirection;

/* RFC 3711 section 4.3 key derivation with the AES-CM PRF (AES-128), key derivation
 * rate 0, as RFC 7714 section 11 uses it: out_len bytes (at most 64) for label. The
 * master salt is salt_len bytes (12 for GCM, 14 for AES-CM), placed at the start of
 * the 112-bit PRF salt field with zeros after it, as libsrtp2 does. FALSE if OpenSSL
 * fails or the sizes are out of range. Not for the per-packet path. */
gboolean chorus_srtp_kdf(const uint8_t master_key[CHORUS_SRTP_GCM_KEY_LEN],
                         const uint8_t *master_salt, size_t salt_len, uint8_t label, uint8_t *out,
                         size_t out_len);

/* From the DTLS-exported master key and salt: derives the SRTP (labels 0x00, 0x02)
 * and SRTCP (0x03, 0x05) session keys and salts. NULL if OpenSSL fails. */
ChorusSrtpGcm *chorus_srtp_gcm_new(ChorusSrtpGcmDirection dir,
                                   const uint8_t master_key[CHORUS_SRTP_GCM_KEY_LEN],
                                   const uint8_t master_salt[CHORUS_SRTP_GCM_SALT_LEN]);
/* From session keys and salts directly (the RFC 7714 test vectors are given so). */
ChorusSrtpGcm *chorus_srtp_gcm_new_session(ChorusSrtpGcmDirection dir,
                                           const uint8_t rtp_key[CHORUS_SRTP_GCM_KEY_LEN],
                                           const uint8_t rtp_salt[CHORUS_SRTP_GCM_SALT_LEN],
                                           const uint8_t rtcp_key[CHORUS_SRTP_GCM_KEY_LEN],
                                           const uint8_t rtcp_salt[CHORUS_SRTP_GCM_SALT_LEN]);
void chorus_srtp_gcm_free(ChorusSrtpGcm *g);

/* In place. Protect needs cap >= *len + 16 (RTP) or *len + 20 (RTCP) and adds exactly
 * that; unprotect removes it. RTP needs at least its 12-byte header (plus CSRCs and
 * extension), RTCP its first 8 bytes. */
int chorus_srtp_gcm_protect_rtp(ChorusSrtpGcm *g, uint8_t *buf, size_t *len, size_t cap);
int chorus_srtp_gcm_protect_rtcp(ChorusSrtpGcm *g, uint8_t *buf, size_t *len, size_t cap);
int chorus_srtp_gcm_unprotect_rtp(ChorusSrtpGcm *g, uint8_t *buf, size_t *len);
int chorus_srtp_gcm_unprotect_rtcp(ChorusSrtpGcm *g, uint8_t *buf, size_t *len);

/* Outbound: the SRTCP index the next protected RTCP packet takes (1 after creation,
 * as with libsrtp2; at most 0x7fffffff). For tests and vectors. */
void chorus_srtp_gcm_set_next_rtcp_index(ChorusSrtpGcm *g, uint32_t index);

/* Which implementation a ChorusSrtp (srtp.h) uses: "openssl-gcm" or "libsrtp2".
 * Implemented in srtp.c; for tests, benchmarks and diagnostics. GCM uses OpenSSL unless
 * the environment variable CHORUS_SRTP_BACKEND=libsrtp2 was set when it was created. */
struct ChorusSrtp;
const char *chorus_srtp_backend_name(const struct ChorusSrtp *s);

#endif
