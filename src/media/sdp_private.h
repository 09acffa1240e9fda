/* Internals shared by the SDP files (model, parser, writer, candidates, answer).
 * Not for use outside src/media/sdp*.c. */
#ifndef CHORUS_MEDIA_SDP_PRIVATE_H
#define CHORUS_MEDIA_SDP_PRIVATE_H

#include "media/sdp.h"

/* Parses a decimal number of at most 20 digits, no sign, no spaces, <= max. */
gboolean chorus_sdp_parse_uint(const char *s, guint64 max, guint64 *out);
/* TRUE if s is 1..maxlen bytes of visible ASCII (no spaces, no controls). */
gboolean chorus_sdp_token_ok(const char *s, gsize maxlen);
/* Splits buf in place on runs of spaces/tabs into at most max tokens. Returns the number
 * of tokens, or max + 1 when there are more than max. */
guint chorus_sdp_split(char *buf, char **tokens, guint max);
/* TRUE if s is 1..maxlen ice-chars (ALPHA / DIGIT / "+" / "/"). */
gboolean chorus_sdp_ice_chars_ok(const char *s, gsize maxlen);
/* TRUE if proto carries RTP ("UDP/TLS/RTP/SAVPF", "RTP/AVP", ...): formats are payload types. */
gboolean chorus_sdp_proto_is_rtp(const char *proto);
/* The index of s in a NULL-terminated table of names (case-insensitive), or -1. */
int chorus_sdp_name_index(const char *const *names, const char *s);

/* Element constructors and free functions (GDestroyNotify-compatible). */
ChorusSdpAttr *chorus_sdp_attr_new(const char *name, const char *value);
void chorus_sdp_attr_free(gpointer p);
ChorusSdpLine *chorus_sdp_line_new(char type, const char *value);
void chorus_sdp_line_free(gpointer p);
ChorusSdpRtcpFb *chorus_sdp_rtcp_fb_new(const char *type, const char *param);
void chorus_sdp_rtcp_fb_free(gpointer p);
ChorusSdpExtmap *chorus_sdp_extmap_new(guint id, ChorusSdpDirection dir, const char *uri,
                                       const char *attributes);
void chorus_sdp_extmap_free(gpointer p);
ChorusSdpSsrc *chorus_sdp_ssrc_new(guint32 ssrc);
void chorus_sdp_ssrc_free(gpointer p);
ChorusSdpSsrcGroup *chorus_sdp_ssrc_group_new(const char *semantics);
void chorus_sdp_ssrc_group_free(gpointer p);
ChorusSdpRid *chorus_sdp_rid_new(const char *id, ChorusSdpRidDirection dir, const char *params);
void chorus_sdp_rid_free(gpointer p);
ChorusSdpGroup *chorus_sdp_group_new(const char *semantics);
void chorus_sdp_group_free(gpointer p);
ChorusSdpConnection *chorus_sdp_connection_new(const char *nettype, const char *addrtype,
                                               const char *address);
void chorus_sdp_connection_free(ChorusSdpConnection *c);
ChorusSdpCandidate *chorus_sdp_candidate_new(void);

/* Parses the value of an a=candidate line (after "candidate:") into a new candidate. On
 * failure returns NULL and sets *why to a static description of the problem. */
ChorusSdpCandidate *chorus_sdp_candidate_parse_value(const char *value, const char **why);
/* Appends the candidate's attribute value ("<foundation> <component> ...") to out. */
void chorus_sdp_candidate_write_value(GString *out, const ChorusSdpCandidate *c);

#endif
