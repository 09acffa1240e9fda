/*
 * SDP (RFC 8866) for WebRTC unified plan (RFC 8829, 8843): data model, parser, serializer
 * and a small query API. Pure code: no event loop, no I/O, no global state.
 *
 * The model is a plain tree of structs. Strings are NUL-terminated and owned by the
 * struct that holds them; GPtrArray members own their elements (they were created with a
 * free function), so g_ptr_array_add() on them hands the element over. NULL string
 * members mean "the line was absent".
 *
 * Ownership at a glance:
 *   chorus_sdp_parse()        returns a new model owned by the caller (chorus_sdp_free).
 *   chorus_sdp_to_string()    returns a new string owned by the caller (g_free).
 *   chorus_sdp_find_* / *_codec() / *_ice_*() return pointers borrowed from the model:
 *                             valid until the model is changed or freed.
 *
 * Parsing is strict about structure (clear errors with a line number) and lenient about
 * content: attributes it does not model are kept verbatim in `attrs`, so nothing is lost
 * on a round trip. Bounds: CHORUS_SDP_MAX_* below; beyond them the parse fails.
 */
#ifndef CHORUS_MEDIA_SDP_H
#define CHORUS_MEDIA_SDP_H

#include <glib.h>

G_BEGIN_DECLS

#define CHORUS_SDP_MAX_SIZE  (64 * 1024) /* bytes of SDP text */
#define CHORUS_SDP_MAX_LINE  2048        /* bytes of one line, without its line end */
#define CHORUS_SDP_MAX_MEDIA 64          /* m-lines */
#define CHORUS_SDP_MAX_ATTRS 512         /* a= lines in one section (session or m-line) */
#define CHORUS_SDP_MAX_TOKEN 256         /* ids, mids, ufrags, addresses, ... */

#define CHORUS_SDP_ERROR (chorus_sdp_error_quark())
GQuark chorus_sdp_error_quark(void);

typedef enum {
    CHORUS_SDP_ERROR_SYNTAX,     /* a line is malformed */
    CHORUS_SDP_ERROR_LIMIT,      /* a size or count bound was exceeded */
    CHORUS_SDP_ERROR_INVALID,    /* well-formed lines that do not make a valid SDP */
    CHORUS_SDP_ERROR_NEGOTIATION /* an answer cannot be built from this offer */
} ChorusSdpError;

typedef enum {
    CHORUS_SDP_MEDIA_AUDIO,
    CHORUS_SDP_MEDIA_VIDEO,
    CHORUS_SDP_MEDIA_APPLICATION,
    CHORUS_SDP_MEDIA_OTHER /* any other media token; see ChorusSdpMedia.media */
} ChorusSdpMediaKind;

typedef enum {
    CHORUS_SDP_DIRECTION_UNSET = 0, /* no direction attribute (means sendrecv) */
    CHORUS_SDP_DIRECTION_SENDRECV,
    CHORUS_SDP_DIRECTION_SENDONLY,
    CHORUS_SDP_DIRECTION_RECVONLY,
    CHORUS_SDP_DIRECTION_INACTIVE
} ChorusSdpDirection;

typedef enum {
    CHORUS_SDP_SETUP_UNSET = 0,
    CHORUS_SDP_SETUP_ACTPASS,
    CHORUS_SDP_SETUP_ACTIVE,
    CHORUS_SDP_SETUP_PASSIVE,
    CHORUS_SDP_SETUP_HOLDCONN
} ChorusSdpSetup;

typedef enum { CHORUS_SDP_RID_SEND = 1, CHORUS_SDP_RID_RECV } ChorusSdpRidDirection;

typedef enum { CHORUS_SDP_CAND_UDP, CHORUS_SDP_CAND_TCP } ChorusSdpCandTransport;

typedef enum {
    CHORUS_SDP_CAND_HOST,
    CHORUS_SDP_CAND_SRFLX,
    CHORUS_SDP_CAND_PRFLX,
    CHORUS_SDP_CAND_RELAY
} ChorusSdpCandType;

typedef enum {
    CHORUS_SDP_TCPTYPE_NONE = 0,
    CHORUS_SDP_TCPTYPE_ACTIVE,
    CHORUS_SDP_TCPTYPE_PASSIVE,
    CHORUS_SDP_TCPTYPE_SO
} ChorusSdpTcpType;

/* A name/value pair: an attribute we do not model ("a=name:value", value NULL for a
 * flag "a=name"), a b= line (name = bwtype), a candidate extension, an a=ssrc attribute. */
typedef struct {
    char *name;
    char *value;
} ChorusSdpAttr;

/* A line of a type we keep verbatim: i=, u=, e=, p=, r=, z=, k=. Lists of them are ordered
 * by type as SDP writes them (i u e p r z k), then as read. */
typedef struct {
    char type;
    char *value;
} ChorusSdpLine;

typedef struct {
    char *nettype;  /* "IN" */
    char *addrtype; /* "IP4" / "IP6" */
    char *address;
} ChorusSdpConnection;

typedef struct {
    char *username;
    guint64 sess_id;
    guint64 sess_version;
    char *nettype;
    char *addrtype;
    char *address;
} ChorusSdpOrigin;

typedef struct {
    char *ufrag;   /* a=ice-ufrag */
    char *pwd;     /* a=ice-pwd */
    char *options; /* a=ice-options, e.g. "trickle" */
} ChorusSdpIce;

typedef struct {
    char *algorithm; /* "sha-256" (lower case as written) */
    char *value;     /* "AB:CD:..." */
} ChorusSdpFingerprint;

/* a=rtcp-fb:<pt> <type> [<param>] */
typedef struct {
    char *type;  /* "nack", "ccm", "goog-remb", "transport-cc", ... */
    char *param; /* "pli", "fir", ... or NULL */
} ChorusSdpRtcpFb;

/* One payload type of an RTP m-line, with its a=rtpmap, a=fmtp and a=rtcp-fb lines. */
typedef struct {
    guint8 pt;      /* 0..127 */
    char *encoding; /* "opus", "VP8", ... as written; NULL when there is no a=rtpmap */
    guint32 clock_rate;
    guint channels;     /* 0 when the rtpmap gives none */
    char *fmtp;         /* the a=fmtp parameters, NULL when absent */
    GPtrArray *rtcp_fb; /* of ChorusSdpRtcpFb (owned) */
} ChorusSdpCodec;

/* a=extmap:<id>[/<direction>] <uri> [<attributes>] */
typedef struct {
    guint id;                     /* 1..255 (1..14 for one-byte headers) */
    ChorusSdpDirection direction; /* UNSET when not written */
    char *uri;
    char *attributes; /* NULL when absent */
} ChorusSdpExtmap;

/* All a=ssrc lines of one SSRC. */
typedef struct {
    guint32 ssrc;
    char *cname;      /* a=ssrc:<ssrc> cname:<cname> */
    char *msid;       /* a=ssrc:<ssrc> msid:<stream> [<track>] (value as written) */
    GPtrArray *attrs; /* other a=ssrc attributes, ChorusSdpAttr (value may be NULL) */
} ChorusSdpSsrc;

/* a=ssrc-group:<semantics> <ssrc>... */
typedef struct {
    char *semantics; /* "FID", "SIM", "FEC-FR" */
    GArray *ssrcs;   /* of guint32 */
} ChorusSdpSsrcGroup;

/* a=rid:<id> <send|recv> [<params>] */
typedef struct {
    char *id;
    ChorusSdpRidDirection direction;
    char *params; /* "pt=96;max-width=1280", NULL when absent */
} ChorusSdpRid;

/* a=group:<semantics> <mid>... */
typedef struct {
    char *semantics;
    GPtrArray *mids; /* of char* (owned) */
} ChorusSdpGroup;

/* a=candidate (RFC 8839). */
typedef struct {
    char *foundation;
    guint component; /* 1..256 */
    ChorusSdpCandTransport transport;
    guint32 priority;
    char *address; /* IPv4, IPv6 or an mDNS name */
    guint16 port;
    ChorusSdpCandType type;
    char *raddr; /* NULL when absent */
    guint16 rport;
    gboolean has_rport;
    ChorusSdpTcpType tcptype;
    GPtrArray *extensions; /* other name/value pairs (generation, ufrag, ...), ChorusSdpAttr */
} ChorusSdpCandidate;

/* One m= section. */
typedef struct {
    ChorusSdpMediaKind kind;
    char *media;       /* the media token as written: "audio", "video", "application", ... */
    guint16 port;      /* 0: rejected / disabled */
    guint num_ports;   /* the "/<n>" of "port/n", 0 when not written */
    char *proto;       /* "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ... */
    GPtrArray *codecs; /* RTP protos: ChorusSdpCodec in m-line order */
    char *fmt;         /* other protos: the format list as written ("webrtc-datachannel") */

    ChorusSdpConnection *connection; /* c=, NULL when absent */
    GPtrArray *bandwidths;           /* b=, ChorusSdpAttr {bwtype, value} */
    GPtrArray *lines;                /* i=, k= kept verbatim, ChorusSdpLine */

    char *mid;
    ChorusSdpDirection direction;
    GPtrArray *msids; /* a=msid values ("<stream> <track>"), char* */
    gboolean rtcp_mux;
    gboolean rtcp_mux_only;
    gboolean rtcp_rsize;
    GPtrArray *rtcp_fb_all; /* a=rtcp-fb:* lines, ChorusSdpRtcpFb */
    GPtrArray *extmaps;     /* ChorusSdpExtmap */
    GPtrArray *ssrcs;       /* ChorusSdpSsrc, in order of first appearance */
    GPtrArray *ssrc_groups; /* ChorusSdpSsrcGroup */
    GPtrArray *rids;        /* ChorusSdpRid */
    char *simulcast_send;   /* a=simulcast send list as written ("h;m;l", "1,~4;2"), or NULL */
    char *simulcast_recv;   /* a=simulcast recv list, or NULL */

    ChorusSdpIce ice; /* media-level overrides; members NULL when absent */
    ChorusSdpFingerprint fingerprint;
    ChorusSdpSetup setup;

    guint16 sctp_port; /* 0 when absent */
    gboolean has_max_message_size;
    guint64 max_message_size;

    GPtrArray *candidates; /* ChorusSdpCandidate */
    gboolean end_of_candidates;

    GPtrArray *attrs; /* other a= lines, ChorusSdpAttr, in order */
} ChorusSdpMedia;

/* A whole session description. */
typedef struct {
    guint version; /* v=, always 0 */
    ChorusSdpOrigin origin;
    char *name;                      /* s= */
    ChorusSdpConnection *connection; /* c=, NULL when absent */
    GPtrArray *bandwidths;           /* b=, ChorusSdpAttr */
    guint64 time_start;              /* t= */
    guint64 time_stop;
    GPtrArray *lines; /* i= u= e= p= r= z= k= kept verbatim, ChorusSdpLine */

    GPtrArray *groups;   /* a=group, ChorusSdpGroup */
    char *msid_semantic; /* a=msid-semantic value without leading space ("WMS *"), or NULL */
    gboolean extmap_allow_mixed;
    gboolean ice_lite;
    ChorusSdpIce ice;
    ChorusSdpFingerprint fingerprint;
    ChorusSdpSetup setup;
    ChorusSdpDirection direction; /* session-level direction attribute, if any */

    GPtrArray *media; /* ChorusSdpMedia in m-line order */
    GPtrArray *attrs; /* other session a= lines, ChorusSdpAttr */
} ChorusSdp;

/* ---- Construction and destruction ---------------------------------------------------- */

/* A new empty model (version 0, all arrays empty). Owned by the caller. */
ChorusSdp *chorus_sdp_new(void);
void chorus_sdp_free(ChorusSdp *sdp); /* NULL is fine */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChorusSdp, chorus_sdp_free)

/* A new empty m-section of the given media token ("audio", ...). Owned by the caller
 * until added to ChorusSdp.media. */
ChorusSdpMedia *chorus_sdp_media_new(const char *media, const char *proto);
void chorus_sdp_media_free(ChorusSdpMedia *m);

/* A new codec entry with no rtpmap/fmtp/feedback. encoding may be NULL. */
ChorusSdpCodec *chorus_sdp_codec_new(guint8 pt, const char *encoding, guint32 clock_rate,
                                     guint channels);
void chorus_sdp_codec_free(ChorusSdpCodec *c);

/* Deep equality of two models (every field, every array in order). */
gboolean chorus_sdp_equal(const ChorusSdp *a, const ChorusSdp *b);

/* ---- Parsing and serialization ------------------------------------------------------- */

/* Parses SDP text of len bytes (len < 0: NUL-terminated). Lines may end in CRLF or LF.
 * Returns a new model (free with chorus_sdp_free), or NULL with *error set; the message
 * names the line ("line 7: a=rtpmap: payload type 300 out of range"). */
ChorusSdp *chorus_sdp_parse(const char *text, gssize len, GError **error);

/* Serializes the model to SDP text with CRLF line ends. Returns a new string (g_free). */
char *chorus_sdp_to_string(const ChorusSdp *sdp);

/* Parses one ICE candidate: "candidate:...", "a=candidate:..." or the bare value.
 * Returns a new candidate (free with chorus_sdp_candidate_free) or NULL with *error. */
ChorusSdpCandidate *chorus_sdp_candidate_parse(const char *text, GError **error);
/* The candidate as "candidate:<foundation> ..." (no "a="). New string (g_free). */
char *chorus_sdp_candidate_to_string(const ChorusSdpCandidate *c);
void chorus_sdp_candidate_free(ChorusSdpCandidate *c);

/* ---- Queries (all results borrowed from the model) ----------------------------------- */

/* The m-line whose a=mid is mid, or NULL. *index (if not NULL) gets its m-line index. */
ChorusSdpMedia *chorus_sdp_find_media_by_mid(const ChorusSdp *sdp, const char *mid, guint *index);

/* The media direction in effect (media level, else session level, else sendrecv). */
ChorusSdpDirection chorus_sdp_media_direction(const ChorusSdp *sdp, const ChorusSdpMedia *m);
/* ICE credentials / fingerprint / setup in effect for m (media level, else session). The
 * returned strings are borrowed; NULL when neither level has them. */
const char *chorus_sdp_media_ice_ufrag(const ChorusSdp *sdp, const ChorusSdpMedia *m);
const char *chorus_sdp_media_ice_pwd(const ChorusSdp *sdp, const ChorusSdpMedia *m);
const ChorusSdpFingerprint *chorus_sdp_media_fingerprint(const ChorusSdp *sdp,
                                                         const ChorusSdpMedia *m);
ChorusSdpSetup chorus_sdp_media_setup(const ChorusSdp *sdp, const ChorusSdpMedia *m);
/* TRUE when sdp has an a=group:BUNDLE listing mid. */
gboolean chorus_sdp_is_bundled(const ChorusSdp *sdp, const char *mid);

/* The codec with payload type pt, or NULL. */
ChorusSdpCodec *chorus_sdp_media_find_codec(const ChorusSdpMedia *m, guint pt);
/* The first media codec of the m-line (skipping rtx, red, ulpfec, flexfec, CN,
 * telephone-event): in a negotiated answer, the chosen codec. NULL if none. */
ChorusSdpCodec *chorus_sdp_media_primary_codec(const ChorusSdpMedia *m);
/* The payload type of the rtx codec whose apt= is pt, or -1. */
int chorus_sdp_media_find_rtx(const ChorusSdpMedia *m, guint pt);
/* The extmap id negotiated for uri, or -1. */
int chorus_sdp_media_find_extmap(const ChorusSdpMedia *m, const char *uri);
/* TRUE if pt (or "*") has a=rtcp-fb <type> [<param>] (param NULL: no parameter). */
gboolean chorus_sdp_media_has_rtcp_fb(const ChorusSdpMedia *m, guint pt, const char *type,
                                      const char *param);
/* The rids of direction dir, in a=simulcast order when there is one (first = highest
 * priority, paused "~" stripped), else in a=rid order. A new NULL-terminated array
 * (g_strfreev); empty (not NULL) when there are none. */
char **chorus_sdp_media_list_rids(const ChorusSdpMedia *m, ChorusSdpRidDirection dir);
/* The a=ssrc entry for ssrc, or NULL. */
ChorusSdpSsrc *chorus_sdp_media_find_ssrc(const ChorusSdpMedia *m, guint32 ssrc);

/* The value of key in an fmtp parameter string ("a=1;b=2"), or NULL. New string (g_free). */
char *chorus_sdp_fmtp_get(const char *fmtp, const char *key);

/* Names of enum values as written in SDP ("sendrecv", "actpass", "host", ...). Static. */
const char *chorus_sdp_direction_name(ChorusSdpDirection d);
const char *chorus_sdp_setup_name(ChorusSdpSetup s);
const char *chorus_sdp_cand_type_name(ChorusSdpCandType t);

G_END_DECLS

#endif
