/* SDP parser: lines are dispatched by type letter, a= lines by attribute name, each
 * through a table. Every error names its line. Attributes the model does not know are
 * kept verbatim. */
#include <stdarg.h>
#include <string.h>

#include "media/sdp.h"
#include "media/sdp_private.h"

#define MAX_MID_LEN    64
#define MAX_FMT_TOKENS (3 + 128) /* media, port, proto, up to 128 payload types */
#define MAX_GROUP_SSRC 32

typedef struct {
    ChorusSdp *sdp;
    ChorusSdpMedia *m; /* the current m-section, NULL at session level */
    guint line;        /* 1-based number of the line being parsed */
    const char *attr;  /* name of the a= line being parsed (for messages), or NULL */
    guint n_attrs;     /* a= lines in the current section */
    guint32 seen;      /* session line types seen, bit (type - 'a') */
    char type;         /* type letter of the line being parsed */
} Parser;

static gboolean fail(Parser *p, GError **error, int code, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static gboolean fail(Parser *p, GError **error, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (p->attr != NULL)
        g_set_error(error, CHORUS_SDP_ERROR, code, "line %u: a=%s: %s", p->line, p->attr, msg);
    else
        g_set_error(error, CHORUS_SDP_ERROR, code, "line %u: %s", p->line, msg);
    return FALSE;
}

#define SYNTAX(p, e, ...) fail((p), (e), CHORUS_SDP_ERROR_SYNTAX, __VA_ARGS__)

/* Skips leading blanks. */
static char *skip_blanks(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Splits "first rest..." into the first token and the (blank-trimmed) rest. */
static char *split_first(char *s, char **rest)
{
    s = skip_blanks(s);
    char *end = s;
    while (*end != '\0' && *end != ' ' && *end != '\t')
        end++;
    if (*end != '\0')
        *end++ = '\0';
    *rest = g_strchomp(skip_blanks(end));
    return s;
}

static gboolean set_once(Parser *p, char **slot, const char *value, GError **error)
{
    if (*slot != NULL)
        return SYNTAX(p, error, "duplicate attribute");
    *slot = g_strdup(value);
    return TRUE;
}

/* ---- Session-level and m= lines ------------------------------------------------------ */

static gboolean line_v(Parser *p, char *value, GError **error)
{
    if (strcmp(value, "0") != 0)
        return SYNTAX(p, error, "unsupported version \"%s\"", value);
    p->sdp->version = 0;
    return TRUE;
}

static gboolean line_o(Parser *p, char *value, GError **error)
{
    char *t[6];
    ChorusSdpOrigin *o = &p->sdp->origin;

    if (chorus_sdp_split(value, t, 6) != 6)
        return SYNTAX(p, error, "o= needs 6 fields");
    if (!chorus_sdp_parse_uint(t[1], G_MAXUINT64, &o->sess_id))
        return SYNTAX(p, error, "o=: bad session id \"%s\"", t[1]);
    if (!chorus_sdp_parse_uint(t[2], G_MAXUINT64, &o->sess_version))
        return SYNTAX(p, error, "o=: bad session version \"%s\"", t[2]);
    for (int i = 0; i < 6; i++) {
        if (strlen(t[i]) > CHORUS_SDP_MAX_TOKEN)
            return SYNTAX(p, error, "o=: field too long");
    }
    o->username = g_strdup(t[0]);
    o->nettype = g_strdup(t[3]);
    o->addrtype = g_strdup(t[4]);
    o->address = g_strdup(t[5]);
    return TRUE;
}

static gboolean line_s(Parser *p, char *value, GError **error)
{
    p->sdp->name = g_strdup(value);
    return TRUE;
}

static gboolean line_c(Parser *p, char *value, GError **error)
{
    char *t[3];
    ChorusSdpConnection **slot = p->m != NULL ? &p->m->connection : &p->sdp->connection;

    if (*slot != NULL)
        return SYNTAX(p, error, "duplicate c= line");
    if (chorus_sdp_split(value, t, 3) != 3 || strlen(t[2]) > CHORUS_SDP_MAX_TOKEN)
        return SYNTAX(p, error, "c= needs <nettype> <addrtype> <address>");
    *slot = chorus_sdp_connection_new(t[0], t[1], t[2]);
    return TRUE;
}

static gboolean line_b(Parser *p, char *value, GError **error)
{
    char *colon = strchr(value, ':');
    guint64 v;

    if (colon == NULL)
        return SYNTAX(p, error, "b= needs <bwtype>:<bandwidth>");
    *colon = '\0';
    if (!chorus_sdp_token_ok(value, 32) || !chorus_sdp_parse_uint(colon + 1, G_MAXUINT32, &v))
        return SYNTAX(p, error, "b= needs <bwtype>:<bandwidth>");
    GPtrArray *list = p->m != NULL ? p->m->bandwidths : p->sdp->bandwidths;
    if (list->len >= 16)
        return fail(p, error, CHORUS_SDP_ERROR_LIMIT, "too many b= lines");
    g_ptr_array_add(list, chorus_sdp_attr_new(value, colon + 1));
    return TRUE;
}

static gboolean line_t(Parser *p, char *value, GError **error)
{
    char *t[2];

    if (chorus_sdp_split(value, t, 2) != 2 ||
        !chorus_sdp_parse_uint(t[0], G_MAXUINT64, &p->sdp->time_start) ||
        !chorus_sdp_parse_uint(t[1], G_MAXUINT64, &p->sdp->time_stop))
        return SYNTAX(p, error, "t= needs <start> <stop>");
    return TRUE;
}

/* i=, u=, e=, p=, r=, z=, k=: kept as they are, in the order the writer puts them (by
 * type in RFC 8866 order, then as read), so that a round trip gives the same model. */
static gboolean line_keep(Parser *p, char *value, GError **error)
{
    static const char order[] = "iueprzk";
    GPtrArray *list = p->m != NULL ? p->m->lines : p->sdp->lines;
    guint at = list->len;

    if (list->len >= 16)
        return fail(p, error, CHORUS_SDP_ERROR_LIMIT, "too many %c= lines", p->type);
    while (at > 0 &&
           strchr(order, ((ChorusSdpLine *)list->pdata[at - 1])->type) > strchr(order, p->type))
        at--;
    g_ptr_array_insert(list, (gint)at, chorus_sdp_line_new(p->type, value));
    return TRUE;
}

static gboolean media_formats(Parser *p, ChorusSdpMedia *m, char **t, guint n, GError **error)
{
    if (!chorus_sdp_proto_is_rtp(m->proto)) {
        for (guint i = 3; i < n; i++) {
            if (strlen(t[i]) > CHORUS_SDP_MAX_TOKEN)
                return SYNTAX(p, error, "m=: format too long");
        }
        m->fmt = g_strjoinv(" ", t + 3);
        return TRUE;
    }
    for (guint i = 3; i < n; i++) {
        guint64 pt;
        if (!chorus_sdp_parse_uint(t[i], G_MAXUINT64, &pt))
            return SYNTAX(p, error, "m=: bad payload type \"%s\"", t[i]);
        if (pt > 127)
            return SYNTAX(p, error, "m=: payload type %" G_GUINT64_FORMAT " out of range", pt);
        if (chorus_sdp_media_find_codec(m, (guint)pt) != NULL)
            return SYNTAX(p, error, "m=: duplicate payload type %" G_GUINT64_FORMAT, pt);
        g_ptr_array_add(m->codecs, chorus_sdp_codec_new((guint8)pt, NULL, 0, 0));
    }
    return TRUE;
}

static gboolean media_port(Parser *p, ChorusSdpMedia *m, char *s, GError **error)
{
    guint64 v;
    char *slash = strchr(s, '/');

    if (slash != NULL) {
        *slash = '\0';
        if (!chorus_sdp_parse_uint(slash + 1, 65535, &v) || v == 0)
            return SYNTAX(p, error, "m=: bad port count \"%s\"", slash + 1);
        m->num_ports = (guint)v;
    }
    if (!chorus_sdp_parse_uint(s, 65535, &v))
        return SYNTAX(p, error, "m=: bad port \"%s\"", s);
    m->port = (guint16)v;
    return TRUE;
}

static gboolean line_m(Parser *p, char *value, GError **error)
{
    char *t[MAX_FMT_TOKENS + 1];
    guint n = chorus_sdp_split(value, t, MAX_FMT_TOKENS);

    if (p->sdp->media->len >= CHORUS_SDP_MAX_MEDIA)
        return fail(p, error, CHORUS_SDP_ERROR_LIMIT, "more than %d m-lines", CHORUS_SDP_MAX_MEDIA);
    if (n > MAX_FMT_TOKENS)
        return fail(p, error, CHORUS_SDP_ERROR_LIMIT, "m=: too many formats");
    if (n < 4)
        return SYNTAX(p, error, "m= needs <media> <port> <proto> <fmt>...");
    if (!chorus_sdp_token_ok(t[0], 32) || !chorus_sdp_token_ok(t[2], 64))
        return SYNTAX(p, error, "m=: bad media or proto");
    t[n] = NULL;
    ChorusSdpMedia *m = chorus_sdp_media_new(t[0], t[2]);
    g_ptr_array_add(p->sdp->media, m);
    p->m = m;
    p->n_attrs = 0;
    return media_port(p, m, t[1], error) && media_formats(p, m, t, n, error);
}

/* ---- Attribute handlers -------------------------------------------------------------- */

typedef gboolean (*AttrFn)(Parser *p, const char *name, char *value, GError **error);

static ChorusSdpIce *cur_ice(Parser *p)
{
    return p->m != NULL ? &p->m->ice : &p->sdp->ice;
}

static gboolean a_group(Parser *p, const char *name, char *value, GError **error)
{
    char *t[CHORUS_SDP_MAX_MEDIA + 1];
    guint n = chorus_sdp_split(value, t, CHORUS_SDP_MAX_MEDIA + 1);

    if (n > CHORUS_SDP_MAX_MEDIA + 1)
        return fail(p, error, CHORUS_SDP_ERROR_LIMIT, "too many mids");
    if (n == 0 || !chorus_sdp_token_ok(t[0], 32))
        return SYNTAX(p, error, "missing semantics");
    ChorusSdpGroup *g = chorus_sdp_group_new(t[0]);
    g_ptr_array_add(p->sdp->groups, g);
    for (guint i = 1; i < n; i++) {
        if (strlen(t[i]) > MAX_MID_LEN)
            return SYNTAX(p, error, "mid too long");
        g_ptr_array_add(g->mids, g_strdup(t[i]));
    }
    return TRUE;
}

static gboolean a_msid_semantic(Parser *p, const char *name, char *value, GError **error)
{
    value = g_strchomp(skip_blanks(value));
    if (*value == '\0')
        return SYNTAX(p, error, "missing value");
    return set_once(p, &p->sdp->msid_semantic, value, error);
}

static gboolean a_session_flag(Parser *p, const char *name, char *value, GError **error)
{
    gboolean *flag =
        strcmp(name, "ice-lite") == 0 ? &p->sdp->ice_lite : &p->sdp->extmap_allow_mixed;
    if (*flag)
        return SYNTAX(p, error, "duplicate attribute");
    *flag = TRUE;
    return TRUE;
}

static gboolean a_ice_cred(Parser *p, const char *name, char *value, GError **error)
{
    ChorusSdpIce *ice = cur_ice(p);
    gboolean ufrag = strcmp(name, "ice-ufrag") == 0;

    value = g_strchomp(value);
    if (!chorus_sdp_ice_chars_ok(value, CHORUS_SDP_MAX_TOKEN))
        return SYNTAX(p, error, "invalid value");
    return set_once(p, ufrag ? &ice->ufrag : &ice->pwd, value, error);
}

static gboolean a_ice_options(Parser *p, const char *name, char *value, GError **error)
{
    char *copy = g_strchomp(skip_blanks(value));
    if (*copy == '\0' || strlen(copy) > CHORUS_SDP_MAX_TOKEN)
        return SYNTAX(p, error, "invalid value");
    return set_once(p, &cur_ice(p)->options, copy, error);
}

static gboolean fingerprint_value_ok(const char *v)
{
    gsize n = strlen(v);
    if (n < 2 || n > 3 * 64 || (n + 1) % 3 != 0)
        return FALSE;
    for (gsize i = 0; i < n; i++) {
        if (i % 3 == 2 ? v[i] != ':' : !g_ascii_isxdigit(v[i]))
            return FALSE;
    }
    return TRUE;
}

static gboolean a_fingerprint(Parser *p, const char *name, char *value, GError **error)
{
    char *t[2];
    ChorusSdpFingerprint *fp = p->m != NULL ? &p->m->fingerprint : &p->sdp->fingerprint;

    if (chorus_sdp_split(value, t, 2) != 2 || !chorus_sdp_token_ok(t[0], 32))
        return SYNTAX(p, error, "needs <hash-function> <fingerprint>");
    if (!fingerprint_value_ok(t[1]))
        return SYNTAX(p, error, "malformed fingerprint \"%.16s...\"", t[1]);
    if (fp->value != NULL) { /* another hash function: kept verbatim */
        g_autofree char *raw = g_strdup_printf("%s %s", t[0], t[1]);
        g_ptr_array_add(p->m != NULL ? p->m->attrs : p->sdp->attrs, chorus_sdp_attr_new(name, raw));
        return TRUE;
    }
    fp->algorithm = g_strdup(t[0]);
    fp->value = g_strdup(t[1]);
    return TRUE;
}

static gboolean a_setup(Parser *p, const char *name, char *value, GError **error)
{
    static const char *const names[] = {"", "actpass", "active", "passive", "holdconn", NULL};
    ChorusSdpSetup *slot = p->m != NULL ? &p->m->setup : &p->sdp->setup;
    int idx = chorus_sdp_name_index(names, g_strchomp(value));

    if (idx <= 0)
        return SYNTAX(p, error, "unknown role \"%s\"", value);
    if (*slot != CHORUS_SDP_SETUP_UNSET)
        return SYNTAX(p, error, "duplicate attribute");
    *slot = (ChorusSdpSetup)idx;
    return TRUE;
}

static gboolean a_direction(Parser *p, const char *name, char *value, GError **error)
{
    static const char *const names[] = {"", "sendrecv", "sendonly", "recvonly", "inactive", NULL};
    ChorusSdpDirection *slot = p->m != NULL ? &p->m->direction : &p->sdp->direction;

    if (*slot != CHORUS_SDP_DIRECTION_UNSET)
        return SYNTAX(p, error, "more than one direction attribute");
    *slot = (ChorusSdpDirection)chorus_sdp_name_index(names, name);
    return TRUE;
}

static gboolean a_mid(Parser *p, const char *name, char *value, GError **error)
{
    value = g_strchomp(value);
    if (!chorus_sdp_token_ok(value, MAX_MID_LEN))
        return SYNTAX(p, error, "invalid mid");
    return set_once(p, &p->m->mid, value, error);
}

static gboolean a_msid(Parser *p, const char *name, char *value, GError **error)
{
    char *t[3];
    g_autofree char *copy = g_strdup(value);
    guint n = chorus_sdp_split(copy, t, 2);

    if (n < 1 || n > 2 || strlen(t[0]) > CHORUS_SDP_MAX_TOKEN ||
        (n == 2 && strlen(t[1]) > CHORUS_SDP_MAX_TOKEN))
        return SYNTAX(p, error, "needs <stream-id> [<track-id>]");
    if (p->m->msids->len >= 16)
        return fail(p, error, CHORUS_SDP_ERROR_LIMIT, "too many a=msid lines");
    g_ptr_array_add(p->m->msids, n == 2 ? g_strdup_printf("%s %s", t[0], t[1]) : g_strdup(t[0]));
    return TRUE;
}

static gboolean a_media_flag(Parser *p, const char *name, char *value, GError **error)
{
    gboolean *flag = strcmp(name, "rtcp-mux") == 0        ? &p->m->rtcp_mux
                     : strcmp(name, "rtcp-mux-only") == 0 ? &p->m->rtcp_mux_only
                     : strcmp(name, "rtcp-rsize") == 0    ? &p->m->rtcp_rsize
                                                          : &p->m->end_of_candidates;
    if (*flag)
        return SYNTAX(p, error, "duplicate attribute");
    *flag = TRUE;
    return TRUE;
}

/* Reads the leading payload type of rtpmap/fmtp/rtcp-fb and finds its codec. */
static gboolean codec_for(Parser *p, const char *s, ChorusSdpCodec **out, GError **error)
{
    guint64 pt;

    if (!chorus_sdp_proto_is_rtp(p->m->proto))
        return SYNTAX(p, error, "not an RTP m-line");
    if (!chorus_sdp_parse_uint(s, G_MAXUINT64, &pt))
        return SYNTAX(p, error, "bad payload type \"%s\"", s);
    if (pt > 127)
        return SYNTAX(p, error, "payload type %" G_GUINT64_FORMAT " out of range", pt);
    *out = chorus_sdp_media_find_codec(p->m, (guint)pt);
    if (*out == NULL)
        return SYNTAX(p, error, "payload type %" G_GUINT64_FORMAT " is not in the m-line", pt);
    return TRUE;
}

static gboolean a_rtpmap(Parser *p, const char *name, char *value, GError **error)
{
    char *rest, *parts[4] = {NULL, NULL, NULL, NULL};
    ChorusSdpCodec *c;
    guint64 rate, ch = 0;

    if (!codec_for(p, split_first(value, &rest), &c, error))
        return FALSE;
    if (c->encoding != NULL)
        return SYNTAX(p, error, "duplicate rtpmap for payload type %u", c->pt);
    for (int i = 0; i < 3 && rest != NULL; i++) {
        parts[i] = rest;
        rest = strchr(rest, '/');
        if (rest != NULL)
            *rest++ = '\0';
    }
    if (rest != NULL || parts[1] == NULL || !chorus_sdp_token_ok(parts[0], 64))
        return SYNTAX(p, error, "needs <pt> <encoding>/<clock rate>[/<channels>]");
    if (!chorus_sdp_parse_uint(parts[1], G_MAXUINT32, &rate) || rate == 0)
        return SYNTAX(p, error, "bad clock rate \"%s\"", parts[1]);
    if (parts[2] != NULL && (!chorus_sdp_parse_uint(parts[2], 255, &ch) || ch == 0))
        return SYNTAX(p, error, "bad channel count \"%s\"", parts[2]);
    c->encoding = g_strdup(parts[0]);
    c->clock_rate = (guint32)rate;
    c->channels = (guint)ch;
    return TRUE;
}

static gboolean a_fmtp(Parser *p, const char *name, char *value, GError **error)
{
    char *rest;
    ChorusSdpCodec *c;

    if (!codec_for(p, split_first(value, &rest), &c, error))
        return FALSE;
    if (*rest == '\0')
        return SYNTAX(p, error, "missing parameters");
    return set_once(p, &c->fmtp, rest, error);
}

static gboolean a_rtcp_fb(Parser *p, const char *name, char *value, GError **error)
{
    char *rest, *param;
    ChorusSdpCodec *c = NULL;
    char *pt = split_first(value, &rest);

    if (strcmp(pt, "*") == 0) {
        if (!chorus_sdp_proto_is_rtp(p->m->proto))
            return SYNTAX(p, error, "not an RTP m-line");
    } else if (!codec_for(p, pt, &c, error)) {
        return FALSE;
    }
    char *type = split_first(rest, &param);
    if (!chorus_sdp_token_ok(type, 64))
        return SYNTAX(p, error, "missing feedback type");
    GPtrArray *list = c != NULL ? c->rtcp_fb : p->m->rtcp_fb_all;
    g_ptr_array_add(list, chorus_sdp_rtcp_fb_new(type, *param != '\0' ? param : NULL));
    return TRUE;
}

static gboolean a_extmap(Parser *p, const char *name, char *value, GError **error)
{
    static const char *const dirs[] = {"", "sendrecv", "sendonly", "recvonly", "inactive", NULL};
    char *rest, *attrs;
    char *id_s = split_first(value, &rest);
    char *slash = strchr(id_s, '/');
    int dir = 0;
    guint64 id;

    if (slash != NULL) {
        *slash = '\0';
        if ((dir = chorus_sdp_name_index(dirs, slash + 1)) <= 0)
            return SYNTAX(p, error, "bad direction \"%s\"", slash + 1);
    }
    if (!chorus_sdp_parse_uint(id_s, G_MAXUINT64, &id) || id == 0 || id > 255)
        return SYNTAX(p, error, "bad id \"%s\"", id_s);
    char *uri = split_first(rest, &attrs);
    if (!chorus_sdp_token_ok(uri, CHORUS_SDP_MAX_TOKEN))
        return SYNTAX(p, error, "missing URI");
    for (guint i = 0; i < p->m->extmaps->len; i++) {
        if (((ChorusSdpExtmap *)p->m->extmaps->pdata[i])->id == id)
            return SYNTAX(p, error, "duplicate id %" G_GUINT64_FORMAT, id);
    }
    g_ptr_array_add(p->m->extmaps, chorus_sdp_extmap_new((guint)id, (ChorusSdpDirection)dir, uri,
                                                         *attrs != '\0' ? attrs : NULL));
    return TRUE;
}

static gboolean a_ssrc(Parser *p, const char *name, char *value, GError **error)
{
    char *rest;
    guint64 ssrc;
    char *ssrc_s = split_first(value, &rest);

    if (!chorus_sdp_parse_uint(ssrc_s, G_MAXUINT32, &ssrc))
        return SYNTAX(p, error, "bad ssrc \"%s\"", ssrc_s);
    char *colon = strchr(rest, ':');
    if (colon != NULL)
        *colon = '\0';
    if (!chorus_sdp_token_ok(rest, 64))
        return SYNTAX(p, error, "missing attribute");
    ChorusSdpSsrc *s = chorus_sdp_media_find_ssrc(p->m, (guint32)ssrc);
    if (s == NULL) {
        s = chorus_sdp_ssrc_new((guint32)ssrc);
        g_ptr_array_add(p->m->ssrcs, s);
    }
    const char *v = colon != NULL ? colon + 1 : NULL;
    if (strcmp(rest, "cname") == 0 && v != NULL)
        return set_once(p, &s->cname, v, error);
    if (strcmp(rest, "msid") == 0 && v != NULL)
        return set_once(p, &s->msid, v, error);
    g_ptr_array_add(s->attrs, chorus_sdp_attr_new(rest, v));
    return TRUE;
}

static gboolean a_ssrc_group(Parser *p, const char *name, char *value, GError **error)
{
    char *t[MAX_GROUP_SSRC + 2];
    guint n = chorus_sdp_split(value, t, MAX_GROUP_SSRC + 1);

    if (n > MAX_GROUP_SSRC + 1)
        return fail(p, error, CHORUS_SDP_ERROR_LIMIT, "too many ssrcs");
    if (n < 2 || !chorus_sdp_token_ok(t[0], 32))
        return SYNTAX(p, error, "needs <semantics> <ssrc>...");
    ChorusSdpSsrcGroup *g = chorus_sdp_ssrc_group_new(t[0]);
    g_ptr_array_add(p->m->ssrc_groups, g);
    for (guint i = 1; i < n; i++) {
        guint64 v;
        if (!chorus_sdp_parse_uint(t[i], G_MAXUINT32, &v))
            return SYNTAX(p, error, "bad ssrc \"%s\"", t[i]);
        guint32 ssrc = (guint32)v;
        g_array_append_val(g->ssrcs, ssrc);
    }
    return TRUE;
}

static gboolean rid_id_ok(const char *s, gsize len)
{
    if (len == 0 || len > 255)
        return FALSE;
    for (gsize i = 0; i < len; i++) {
        if (!g_ascii_isalnum(s[i]) && s[i] != '-' && s[i] != '_')
            return FALSE;
    }
    return TRUE;
}

static gboolean a_rid(Parser *p, const char *name, char *value, GError **error)
{
    char *rest, *params;
    char *id = split_first(value, &rest);
    char *dir = split_first(rest, &params);
    int d = strcmp(dir, "send") == 0   ? CHORUS_SDP_RID_SEND
            : strcmp(dir, "recv") == 0 ? CHORUS_SDP_RID_RECV
                                       : 0;

    if (!rid_id_ok(id, strlen(id)))
        return SYNTAX(p, error, "bad rid id");
    if (d == 0)
        return SYNTAX(p, error, "direction must be send or recv");
    for (guint i = 0; i < p->m->rids->len; i++) {
        if (strcmp(((ChorusSdpRid *)p->m->rids->pdata[i])->id, id) == 0)
            return SYNTAX(p, error, "duplicate rid \"%s\"", id);
    }
    g_ptr_array_add(p->m->rids,
                    chorus_sdp_rid_new(id, (ChorusSdpRidDirection)d, *params ? params : NULL));
    return TRUE;
}

/* "1,~4;2;3": streams split by ';', alternatives by ',', each an optional '~' + rid id. */
static gboolean simulcast_list_ok(const char *list)
{
    const char *s = list;
    for (;;) {
        if (*s == '~')
            s++;
        gsize len = strcspn(s, ";,");
        if (!rid_id_ok(s, len))
            return FALSE;
        s += len;
        if (*s == '\0')
            return TRUE;
        s++;
    }
}

static gboolean a_simulcast(Parser *p, const char *name, char *value, GError **error)
{
    char *t[5];
    guint n = chorus_sdp_split(value, t, 4);

    if (p->m->simulcast_send != NULL || p->m->simulcast_recv != NULL)
        return SYNTAX(p, error, "duplicate attribute");
    if (n != 2 && n != 4)
        return SYNTAX(p, error, "needs send|recv <list> [recv|send <list>]");
    for (guint i = 0; i < n; i += 2) {
        char **slot = strcmp(t[i], "send") == 0   ? &p->m->simulcast_send
                      : strcmp(t[i], "recv") == 0 ? &p->m->simulcast_recv
                                                  : NULL;
        if (slot == NULL || *slot != NULL)
            return SYNTAX(p, error, "bad direction \"%s\"", t[i]);
        if (!simulcast_list_ok(t[i + 1]))
            return SYNTAX(p, error, "bad rid list \"%s\"", t[i + 1]);
        *slot = g_strdup(t[i + 1]);
    }
    return TRUE;
}

static gboolean a_sctp(Parser *p, const char *name, char *value, GError **error)
{
    guint64 v;
    gboolean port = strcmp(name, "sctp-port") == 0;

    value = g_strchomp(value);
    if (!chorus_sdp_parse_uint(value, port ? 65535 : G_MAXUINT64, &v) || (port && v == 0))
        return SYNTAX(p, error, "bad value \"%s\"", value);
    if (port ? p->m->sctp_port != 0 : p->m->has_max_message_size)
        return SYNTAX(p, error, "duplicate attribute");
    if (port) {
        p->m->sctp_port = (guint16)v;
    } else {
        p->m->has_max_message_size = TRUE;
        p->m->max_message_size = v;
    }
    return TRUE;
}

static gboolean a_candidate(Parser *p, const char *name, char *value, GError **error)
{
    const char *why = NULL;
    ChorusSdpCandidate *c = chorus_sdp_candidate_parse_value(value, &why);

    if (c == NULL)
        return SYNTAX(p, error, "%s", why);
    g_ptr_array_add(p->m->candidates, c);
    return TRUE;
}

/* ---- The attribute table ------------------------------------------------------------- */

enum {
    AT_SESSION = 1 << 0, /* allowed at session level */
    AT_MEDIA = 1 << 1,   /* allowed in an m-section */
    AT_VALUE = 1 << 2,   /* "a=name:value" (else a flag "a=name") */
};
#define AT_BOTH (AT_SESSION | AT_MEDIA)

typedef struct {
    const char *name;
    unsigned flags;
    AttrFn fn;
} AttrSpec;

static const AttrSpec attr_specs[] = {
    {"group", AT_SESSION | AT_VALUE, a_group},
    {"msid-semantic", AT_SESSION | AT_VALUE, a_msid_semantic},
    {"extmap-allow-mixed", AT_SESSION, a_session_flag},
    {"ice-lite", AT_SESSION, a_session_flag},
    {"ice-ufrag", AT_BOTH | AT_VALUE, a_ice_cred},
    {"ice-pwd", AT_BOTH | AT_VALUE, a_ice_cred},
    {"ice-options", AT_BOTH | AT_VALUE, a_ice_options},
    {"fingerprint", AT_BOTH | AT_VALUE, a_fingerprint},
    {"setup", AT_BOTH | AT_VALUE, a_setup},
    {"sendrecv", AT_BOTH, a_direction},
    {"sendonly", AT_BOTH, a_direction},
    {"recvonly", AT_BOTH, a_direction},
    {"inactive", AT_BOTH, a_direction},
    {"mid", AT_MEDIA | AT_VALUE, a_mid},
    {"msid", AT_MEDIA | AT_VALUE, a_msid},
    {"rtcp-mux", AT_MEDIA, a_media_flag},
    {"rtcp-mux-only", AT_MEDIA, a_media_flag},
    {"rtcp-rsize", AT_MEDIA, a_media_flag},
    {"end-of-candidates", AT_MEDIA, a_media_flag},
    {"rtpmap", AT_MEDIA | AT_VALUE, a_rtpmap},
    {"fmtp", AT_MEDIA | AT_VALUE, a_fmtp},
    {"rtcp-fb", AT_MEDIA | AT_VALUE, a_rtcp_fb},
    {"extmap", AT_MEDIA | AT_VALUE, a_extmap},
    {"ssrc", AT_MEDIA | AT_VALUE, a_ssrc},
    {"ssrc-group", AT_MEDIA | AT_VALUE, a_ssrc_group},
    {"rid", AT_MEDIA | AT_VALUE, a_rid},
    {"simulcast", AT_MEDIA | AT_VALUE, a_simulcast},
    {"sctp-port", AT_MEDIA | AT_VALUE, a_sctp},
    {"max-message-size", AT_MEDIA | AT_VALUE, a_sctp},
    {"candidate", AT_MEDIA | AT_VALUE, a_candidate},
};

static const AttrSpec *find_attr_spec(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(attr_specs); i++) {
        if (strcmp(attr_specs[i].name, name) == 0)
            return &attr_specs[i];
    }
    return NULL;
}

static gboolean attr_name_ok(const char *s)
{
    if (*s == '\0' || strlen(s) > 64)
        return FALSE;
    for (; *s != '\0'; s++) {
        if (!g_ascii_isalnum(*s) && *s != '-' && *s != '_' && *s != '.')
            return FALSE;
    }
    return TRUE;
}

static gboolean line_a(Parser *p, char *value, GError **error)
{
    char *colon = strchr(value, ':');
    const char *name = value;

    if (colon != NULL)
        *colon = '\0';
    if (!attr_name_ok(name))
        return SYNTAX(p, error, "bad attribute name");
    if (++p->n_attrs > CHORUS_SDP_MAX_ATTRS)
        return fail(p, error, CHORUS_SDP_ERROR_LIMIT, "more than %d attributes in a section",
                    CHORUS_SDP_MAX_ATTRS);
    p->attr = name;
    const AttrSpec *spec = find_attr_spec(name);
    unsigned level = p->m != NULL ? AT_MEDIA : AT_SESSION;
    if (spec == NULL || (spec->flags & level) == 0) {
        g_ptr_array_add(p->m != NULL ? p->m->attrs : p->sdp->attrs,
                        chorus_sdp_attr_new(name, colon != NULL ? colon + 1 : NULL));
        return TRUE;
    }
    if ((spec->flags & AT_VALUE) != 0 && (colon == NULL || colon[1] == '\0'))
        return SYNTAX(p, error, "missing value");
    if ((spec->flags & AT_VALUE) == 0 && colon != NULL)
        return SYNTAX(p, error, "unexpected value");
    return spec->fn(p, name, colon != NULL ? colon + 1 : NULL, error);
}

/* ---- Lines --------------------------------------------------------------------------- */

enum {
    LT_SESSION = 1 << 0, /* allowed before the first m= */
    LT_MEDIA = 1 << 1,   /* allowed in an m-section */
    LT_ONCE = 1 << 2,    /* at most once in the session part */
};

typedef struct {
    char type;
    unsigned flags;
    gboolean (*fn)(Parser *p, char *value, GError **error);
} LineSpec;

static const LineSpec line_specs[] = {
    {'v', LT_SESSION | LT_ONCE, line_v},
    {'o', LT_SESSION | LT_ONCE, line_o},
    {'s', LT_SESSION | LT_ONCE, line_s},
    {'i', LT_SESSION | LT_MEDIA, line_keep},
    {'u', LT_SESSION, line_keep},
    {'e', LT_SESSION, line_keep},
    {'p', LT_SESSION, line_keep},
    {'c', LT_SESSION | LT_MEDIA, line_c},
    {'b', LT_SESSION | LT_MEDIA, line_b},
    {'t', LT_SESSION | LT_ONCE, line_t},
    {'r', LT_SESSION, line_keep},
    {'z', LT_SESSION, line_keep},
    {'k', LT_SESSION | LT_MEDIA, line_keep},
    {'a', LT_SESSION | LT_MEDIA, line_a},
    {'m', LT_SESSION | LT_MEDIA, line_m},
};

static const LineSpec *find_line_spec(char type)
{
    for (gsize i = 0; i < G_N_ELEMENTS(line_specs); i++) {
        if (line_specs[i].type == type)
            return &line_specs[i];
    }
    return NULL;
}

static gboolean check_bytes(Parser *p, const char *s, gsize n, GError **error)
{
    for (gsize i = 0; i < n; i++) {
        guchar ch = (guchar)s[i];
        if (ch == 0)
            return SYNTAX(p, error, "embedded NUL byte");
        if ((ch < ' ' && ch != '\t') || ch == 0x7f)
            return SYNTAX(p, error, "control character 0x%02x", ch);
    }
    return TRUE;
}

static gboolean parse_line(Parser *p, const char *s, gsize n, GError **error)
{
    char buf[CHORUS_SDP_MAX_LINE + 1];

    p->attr = NULL;
    if (n == 0)
        return TRUE; /* blank lines are tolerated */
    if (n > CHORUS_SDP_MAX_LINE) {
        fail(p, error, CHORUS_SDP_ERROR_LIMIT,
             "line too long (%" G_GSIZE_FORMAT " bytes, at most %d)", n, CHORUS_SDP_MAX_LINE);
        return FALSE;
    }
    if (!check_bytes(p, s, n, error))
        return FALSE;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (n < 2 || buf[1] != '=' || !g_ascii_islower(buf[0]))
        return SYNTAX(p, error, "expected <type>=<value>, got \"%.20s\"", buf);
    if (p->seen == 0 && buf[0] != 'v')
        return SYNTAX(p, error, "expected v= as the first line");
    const LineSpec *spec = find_line_spec(buf[0]);
    if (spec == NULL)
        return SYNTAX(p, error, "unknown line type '%c'", buf[0]);
    if (p->m != NULL && (spec->flags & LT_MEDIA) == 0)
        return SYNTAX(p, error, "%c= is not allowed in a media section", buf[0]);
    guint32 bit = 1u << (buf[0] - 'a');
    if ((spec->flags & LT_ONCE) != 0 && (p->seen & bit) != 0)
        return SYNTAX(p, error, "duplicate %c= line", buf[0]);
    p->seen |= bit;
    p->type = buf[0];
    return spec->fn(p, buf + 2, error);
}

/* ---- Whole-description checks -------------------------------------------------------- */

static gboolean check_required(Parser *p, GError **error)
{
    static const char required[] = "vost";
    for (const char *r = required; *r != '\0'; r++) {
        if ((p->seen & (1u << (*r - 'a'))) == 0) {
            g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_INVALID, "missing %c= line", *r);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean check_mids(const ChorusSdp *sdp, GError **error)
{
    for (guint i = 0; i < sdp->media->len; i++) {
        const ChorusSdpMedia *m = sdp->media->pdata[i];
        guint first = i;
        if (m->mid != NULL && chorus_sdp_find_media_by_mid(sdp, m->mid, &first) && first != i) {
            g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_INVALID,
                        "m-line %u: duplicate mid \"%s\"", i, m->mid);
            return FALSE;
        }
    }
    for (guint i = 0; i < sdp->groups->len; i++) {
        const ChorusSdpGroup *g = sdp->groups->pdata[i];
        for (guint j = 0; j < g->mids->len; j++) {
            if (chorus_sdp_find_media_by_mid(sdp, g->mids->pdata[j], NULL) == NULL) {
                g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_INVALID,
                            "a=group:%s names unknown mid \"%s\"", g->semantics,
                            (const char *)g->mids->pdata[j]);
                return FALSE;
            }
        }
    }
    return TRUE;
}

static gboolean rid_declared(const ChorusSdpMedia *m, const char *id, ChorusSdpRidDirection dir)
{
    for (guint i = 0; i < m->rids->len; i++) {
        const ChorusSdpRid *r = m->rids->pdata[i];
        if (r->direction == dir && strcmp(r->id, id) == 0)
            return TRUE;
    }
    return FALSE;
}

/* Every rid an a=simulcast list names must have an a=rid line of the same direction. */
static gboolean check_simulcast(const ChorusSdp *sdp, GError **error)
{
    for (guint i = 0; i < sdp->media->len; i++) {
        const ChorusSdpMedia *m = sdp->media->pdata[i];
        for (int d = CHORUS_SDP_RID_SEND; d <= CHORUS_SDP_RID_RECV; d++) {
            g_auto(GStrv) rids = chorus_sdp_media_list_rids(m, (ChorusSdpRidDirection)d);
            for (guint j = 0; rids[j] != NULL; j++) {
                if (rid_declared(m, rids[j], (ChorusSdpRidDirection)d))
                    continue;
                g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_INVALID,
                            "m-line %u: a=simulcast names rid \"%s\" without an a=rid %s line", i,
                            rids[j], d == CHORUS_SDP_RID_SEND ? "send" : "recv");
                return FALSE;
            }
        }
    }
    return TRUE;
}

ChorusSdp *chorus_sdp_parse(const char *text, gssize len, GError **error)
{
    gsize size;

    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    if (text == NULL) {
        g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_INVALID, "no SDP");
        return NULL;
    }
    size = len < 0 ? strnlen(text, CHORUS_SDP_MAX_SIZE + 1) : (gsize)len;
    if (size > CHORUS_SDP_MAX_SIZE) {
        g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_LIMIT, "SDP larger than %d bytes",
                    CHORUS_SDP_MAX_SIZE);
        return NULL;
    }
    Parser p = {.sdp = chorus_sdp_new()};
    const char *pos = text, *end = text + size;
    while (pos < end) {
        const char *nl = memchr(pos, '\n', (gsize)(end - pos));
        gsize n = (gsize)((nl != NULL ? nl : end) - pos);
        if (n > 0 && pos[n - 1] == '\r')
            n--;
        p.line++;
        if (!parse_line(&p, pos, n, error))
            goto fail;
        pos = nl != NULL ? nl + 1 : end;
    }
    if (check_required(&p, error) && check_mids(p.sdp, error) && check_simulcast(p.sdp, error))
        return p.sdp;
fail:
    chorus_sdp_free(p.sdp);
    return NULL;
}
