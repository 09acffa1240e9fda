/* Types shared by the net layers (no behaviour). */
#ifndef CHORUS_NET_TYPES_H
#define CHORUS_NET_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* A lower layer's send function: returns bytes sent or -1. buf is borrowed. */
typedef int (*ChorusNetSendFn)(void *user, const uint8_t *buf, size_t len);

/* SRTP protection profiles negotiated by DTLS-SRTP (RFC 5764, RFC 7714). */
typedef enum {
    CHORUS_SRTP_NONE = 0,
    CHORUS_SRTP_AEAD_AES_128_GCM,  /* preferred: cheap with Debian's NSS-based libsrtp2 */
    CHORUS_SRTP_AES128_CM_SHA1_80, /* fallback */
} ChorusSrtpProfile;

#define CHORUS_SRTP_MAX_KEY  32
#define CHORUS_SRTP_MAX_SALT 14

/* Keying material exported after a DTLS handshake ("EXTRACTOR-dtls_srtp"). */
typedef struct {
    ChorusSrtpProfile profile;
    uint8_t local_key[CHORUS_SRTP_MAX_KEY + CHORUS_SRTP_MAX_SALT];  /* key || salt */
    uint8_t remote_key[CHORUS_SRTP_MAX_KEY + CHORUS_SRTP_MAX_SALT]; /* key || salt */
    size_t key_len;  /* master key bytes (16 for both profiles) */
    size_t salt_len; /* master salt bytes (12 for GCM, 14 for CM) */
} ChorusSrtpKeys;

#endif
