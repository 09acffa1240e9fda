/*
 * Building an SDP answer (RFC 3264, RFC 8829 section 5.3) from a parsed offer and the local
 * capabilities. Pure: no I/O, no event loop. The answer is a ChorusSdp model, serialized
 * with chorus_sdp_to_string().
 *
 * What the answer holds:
 *  - the offer's m-lines in the same order with the same mids; an m-line is rejected
 *    (port 0, mid kept) when the offer disabled it, the caller rejects it, its proto is not
 *    DTLS-based, it lacks rtcp-mux (RTP), no codec matches, it is a data channel m-line and
 *    data channels are off (or one was already accepted), or it is outside the offer's
 *    BUNDLE group. Chorus runs one transport per PeerConnection: without an a=group:BUNDLE
 *    in the offer only the first acceptable m-line is accepted;
 *  - per RTP m-line one codec, chosen by the local preference order among the offered
 *    payload types (the offer's PT number and fmtp kept), plus its rtx (apt=) for video;
 *    rtcp-fb and header extensions filtered to the supported lists (offer's ids kept);
 *  - the direction: the caller's wish intersected with the mirror of the offer's;
 *  - rtcp-mux, rtcp-rsize (when offered), simulcast receive (a=rid recv + a=simulcast:recv
 *    for an offer's a=simulcast send), local SSRC/cname/msid on m-lines that send;
 *  - the local ICE credentials, ice-options:trickle, the DTLS fingerprint and setup role on
 *    every m-line (rejected ones too: aiortc requires ICE credentials on each), and
 *    a=group:BUNDLE of the accepted mids;
 *  - a data channel m-line in the RFC 8841 form (sctp-port, max-message-size), or in the
 *    legacy "DTLS/SCTP <port>" + a=sctpmap form when the offer uses that.
 */
#ifndef CHORUS_MEDIA_SDP_ANSWER_H
#define CHORUS_MEDIA_SDP_ANSWER_H

#include "media/sdp.h"

G_BEGIN_DECLS

/* One entry of a codec preference list. */
typedef struct {
    const char *name;   /* encoding name, compared case-insensitively ("opus", "VP8", "H264") */
    guint32 clock_rate; /* 0: any */
    guint channels;     /* 0: any */
} ChorusSdpCodecPref;

/* The caller's wishes for one offered m-line. An all-zero entry means "auto". */
typedef struct {
    gboolean reject;              /* TRUE: answer with port 0 */
    ChorusSdpDirection direction; /* UNSET: auto, the mirror of the offer's direction */
    const char *codec;            /* accept only this encoding name (NULL: any preferred) */
    guint32 ssrc;                 /* local SSRC when the answer sends (0: no a=ssrc lines) */
    guint32 rtx_ssrc;             /* local RTX SSRC (video; 0: none) */
    const char *msid_stream;      /* a=msid stream id when the answer sends (NULL: none) */
    const char *msid_track;       /* a=msid track id (NULL: none) */
} ChorusSdpAnswerMedia;

/* Local capabilities and choices. All strings are borrowed for the call. Zero / NULL
 * members take the documented defaults. */
typedef struct {
    const char *ice_ufrag;             /* required */
    const char *ice_pwd;               /* required */
    gboolean ice_lite;                 /* a=ice-lite at session level */
    const char *fingerprint_algorithm; /* required, e.g. "sha-256" */
    const char *fingerprint;           /* required, "AB:CD:..." */
    ChorusSdpSetup setup; /* our role for an actpass offer: ACTIVE or PASSIVE (UNSET: ACTIVE) */

    guint64 session_id;         /* o= sess-id (0: random) */
    guint64 session_version;    /* o= sess-version */
    const char *origin_address; /* o= address (NULL: "127.0.0.1") */
    const char *session_name;   /* s= (NULL: "Chorus") */
    const char *cname;          /* a=ssrc cname (NULL: "chorus") */

    const ChorusSdpCodecPref *audio_codecs; /* preference order (NULL: opus/48000/2) */
    guint n_audio_codecs;
    const ChorusSdpCodecPref *video_codecs; /* (NULL: VP8, VP9, H264, AV1) */
    guint n_video_codecs;
    const char *const *rtcp_fb;    /* NULL-terminated ("nack", "nack pli", ...); NULL: default */
    const char *const *extensions; /* NULL-terminated header extension URIs; NULL: default */

    gboolean data_channels;   /* accept one webrtc-datachannel m-line */
    guint16 sctp_port;        /* 0: 5000 */
    guint64 max_message_size; /* 0: 262144 */

    const ChorusSdpAnswerMedia *media; /* per offered m-line index; beyond n_media: auto */
    guint n_media;
} ChorusSdpLocalCaps;

/* The defaults used for NULL members (NULL-terminated lists; static). */
const char *const *chorus_sdp_answer_default_rtcp_fb(void);
const char *const *chorus_sdp_answer_default_extensions(void);

/* The answer direction for an offered direction and the caller's wish (UNSET = mirror):
 * we send only if we want to and the offer receives, receive only if we want to and the
 * offer sends. */
ChorusSdpDirection chorus_sdp_answer_direction(ChorusSdpDirection offered,
                                               ChorusSdpDirection wanted);

/* Builds the answer to offer. Returns a new model owned by the caller (chorus_sdp_free), or
 * NULL with *error (CHORUS_SDP_ERROR_NEGOTIATION) when required caps are missing or the
 * offer's transport is unusable (no ICE credentials or fingerprint, setup holdconn).
 * offer and caps are borrowed. */
ChorusSdp *chorus_sdp_answer_build(const ChorusSdp *offer, const ChorusSdpLocalCaps *caps,
                                   GError **error);

G_END_DECLS

#endif
