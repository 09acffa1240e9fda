/* DTLS-SRTP for one PeerConnection, on OpenSSL 3.0 (DTLS 1.2; no sockets: ICE carries
 * the bytes, through a memory BIO in and a datagram-packing BIO out).
 *
 * A certificate (ChorusDtlsCert) is made once at start (ECDSA P-256) or loaded from
 * PEM files, and shared by every connection (refcounted, immutable, thread-safe).
 * A ChorusDtls lives on one worker: every call and callback happens on the
 * GMainContext given at creation (used for handshake retransmission timers). */
#ifndef CHORUS_NET_DTLS_H
#define CHORUS_NET_DTLS_H

#include <glib.h>

#include "net/net_types.h"

typedef struct ChorusDtlsCert ChorusDtlsCert;
typedef struct ChorusDtls ChorusDtls;

/* Errors from certificate generation/loading (GError domain). */
#define CHORUS_DTLS_ERROR (chorus_dtls_error_quark())
GQuark chorus_dtls_error_quark(void);
typedef enum {
    CHORUS_DTLS_ERROR_FAILED, /* OpenSSL refused (text has its reason) */
    CHORUS_DTLS_ERROR_FILE,   /* a PEM file could not be read or parsed */
    CHORUS_DTLS_ERROR_KEY,    /* the private key does not match the certificate */
} ChorusDtlsError;

/* Longest fingerprint text ("sha-512 " and 64 hex pairs), with its NUL. */
#define CHORUS_DTLS_FINGERPRINT_MAX 200

/* A new ECDSA P-256 key and a self-signed certificate (CN "chorus", random serial,
 * valid from a day ago for 30 days; browsers check only the fingerprint). */
ChorusDtlsCert *chorus_dtls_cert_generate(GError **error);
/* Loads a PEM certificate and its PEM private key; fails if they do not match. */
ChorusDtlsCert *chorus_dtls_cert_load(const char *cert_pem_path, const char *key_pem_path,
                                      GError **error);
ChorusDtlsCert *chorus_dtls_cert_ref(ChorusDtlsCert *cert);
void chorus_dtls_cert_unref(ChorusDtlsCert *cert);
/* "sha-256 AB:CD:..." as it goes into a=fingerprint (borrowed). */
const char *chorus_dtls_cert_fingerprint(const ChorusDtlsCert *cert);
/* TRUE if text is a fingerprint we can check: "<hash> XX:XX:..." with hash one of
 * sha-1, sha-224, sha-256, sha-384, sha-512 (case-insensitive) and the right number of
 * hex pairs. Use it to reject a bad a=fingerprint before creating a connection. */
gboolean chorus_dtls_fingerprint_valid(const char *text);

/* Internal to src/net/dtls*.c (OpenSSL types, opaque here). */
struct ssl_ctx_st;
struct x509_st;
/* The SSL_CTX shared by every connection using cert (DTLS 1.2, both roles); borrowed,
 * lives as long as cert. */
struct ssl_ctx_st *chorus_dtls_cert_ssl_ctx(const ChorusDtlsCert *cert);
/* Digests peer with the hash named in expected and compares (case-insensitive hex).
 * actual (actual_size bytes, CHORUS_DTLS_FINGERPRINT_MAX is enough) receives the peer's
 * fingerprint text for logs, or "" if expected is unusable. TRUE if they match. */
gboolean chorus_dtls_fingerprint_check(struct x509_st *peer, const char *expected, char *actual,
                                       size_t actual_size);

typedef enum {
    CHORUS_DTLS_ROLE_CLIENT, /* a=setup:active: we send the ClientHello */
    CHORUS_DTLS_ROLE_SERVER, /* a=setup:passive */
} ChorusDtlsRole;

typedef enum {
    CHORUS_DTLS_NEW = 0,
    CHORUS_DTLS_CONNECTING,
    CHORUS_DTLS_CONNECTED,
    CHORUS_DTLS_FAILED, /* handshake error or fingerprint mismatch */
    CHORUS_DTLS_CLOSED, /* close_notify received or sent */
} ChorusDtlsState;

typedef struct {
    /* Bytes for the peer (to ICE); borrowed. */
    ChorusNetSendFn send;
    /* Handshake done, peer fingerprint verified: keys for SRTP (borrowed). */
    void (*on_connected)(void *user, const ChorusSrtpKeys *keys);
    /* Application data (SCTP packets) from the peer; borrowed. */
    void (*on_data)(void *user, const uint8_t *buf, size_t len);
    /* FAILED or CLOSED, with a reason for logs and the hangup event (borrowed). */
    void (*on_state)(void *user, ChorusDtlsState state, const char *reason);
} ChorusDtlsCallbacks;

/* remote_fingerprint: the peer's a=fingerprint value ("sha-256 AB:CD..."); the peer
 * certificate must match it or the connection FAILS. profiles: preference order
 * (CHORUS_SRTP_NONE-terminated; NULL or empty: GCM then AES-CM). cert takes a reference;
 * remote_fingerprint and profiles are copied; ctx is borrowed (must outlive the
 * connection); cb is copied, user is passed back as is.
 * Returns NULL (and logs) if remote_fingerprint is not usable (see
 * chorus_dtls_fingerprint_valid) or an argument is missing.
 *
 * Callbacks run on ctx, from inside chorus_dtls_start/incoming/send or the
 * retransmission timer, never concurrently. A callback may call chorus_dtls_free on
 * its own connection: the memory goes away when the outermost call returns. Records
 * sent to the peer are packed into datagrams of at most 1200 bytes (handshake
 * messages are fragmented to fit); an application record larger than that goes out
 * alone. The handshake retransmits after 0.5 s, doubling up to 8 s, and FAILS with
 * "DTLS handshake timeout" 30 s after chorus_dtls_start. */
ChorusDtls *chorus_dtls_new(ChorusDtlsCert *cert, ChorusDtlsRole role,
                            const char *remote_fingerprint, const ChorusSrtpProfile *profiles,
                            GMainContext *ctx, const ChorusDtlsCallbacks *cb, void *user);
/* Begins the handshake (a client sends its ClientHello; a server waits). A server that
 * gets a record before this starts by itself; a client ignores records until then. */
void chorus_dtls_start(ChorusDtls *dtls);
/* A DTLS record from the peer (first byte 20..63). */
void chorus_dtls_incoming(ChorusDtls *dtls, const uint8_t *buf, size_t len);
/* Sends application data (an SCTP packet) once CONNECTED, as one record: bytes or -1
 * (not connected, or more than 16384 bytes). */
int chorus_dtls_send(ChorusDtls *dtls, const uint8_t *buf, size_t len);
ChorusDtlsState chorus_dtls_state(ChorusDtls *dtls);
/* Sends close_notify if connected (through cb->send, the one callback made from
 * here), then frees; no callback after this. NULL is ignored. */
void chorus_dtls_free(ChorusDtls *dtls);
const char *chorus_srtp_profile_name(ChorusSrtpProfile p); /* "AEAD_AES_128_GCM", ... */
/* Parses "aead_aes_128_gcm" / "aes128_cm_sha1_80" (case-insensitive, an "SRTP_" prefix
 * is allowed, and "AES_CM_128_HMAC_SHA1_80" as in RFC 4568); NONE if unknown. */
ChorusSrtpProfile chorus_srtp_profile_parse(const char *name);

#endif
