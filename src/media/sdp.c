/* SDP data model: construction, destruction, deep equality and queries. */
#include "media/sdp.h"

#include <string.h>

#include "media/sdp_private.h"

G_DEFINE_QUARK(chorus - sdp - error - quark, chorus_sdp_error)

/* ---- Small helpers shared with the parser -------------------------------------------- */

gboolean chorus_sdp_parse_uint(const char *s, guint64 max, guint64 *out)
{
    guint64 v = 0;
    gsize n = 0;

    if (s == NULL || *s == '\0')
        return FALSE;
    for (; s[n] != '\0'; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 20)
            return FALSE;
        guint digit = (guint)(s[n] - '0');
        if (v > (G_MAXUINT64 - digit) / 10)
            return FALSE;
        v = v * 10 + digit;
    }
    if (v > max)
        return FALSE;
    *out = v;
    return TRUE;
}

gboolean chorus_sdp_token_ok(const char *s, gsize maxlen)
{
    gsize n = 0;

    if (s == NULL || *s == '\0')
        return FALSE;
    for (; s[n] != '\0'; n++) {
        if (n >= maxlen || (guchar)s[n] <= ' ' || (guchar)s[n] >= 0x7f)
            return FALSE;
    }
    return TRUE;
}

gboolean chorus_sdp_ice_chars_ok(const char *s, gsize maxlen)
{
    gsize n = 0;

    if (s == NULL || *s == '\0')
        return FALSE;
    for (; s[n] != '\0'; n++) {
        if (n >= maxlen || !(g_ascii_isalnum(s[n]) || s[n] == '+' || s[n] == '/'))
            return FALSE;
    }
    return TRUE;
}

gboolean chorus_sdp_proto_is_rtp(const char *proto)
{
    return proto != NULL && (g_str_has_prefix(proto, "RTP/") || strstr(proto, "/RTP/") != NULL);
}

guint chorus_sdp_split(char *buf, char **tokens, guint max)
{
    guint n = 0;
    char *p = buf;

    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return n;
        if (n == max)
            return max + 1;
        tokens[n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        if (*p != '\0')
            *p++ = '\0';
    }
}

int chorus_sdp_name_index(const char *const *names, const char *s)
{
    for (int i = 0; names[i] != NULL; i++) {
        if (g_ascii_strcasecmp(names[i], s) == 0)
            return i;
    }
    return -1;
}

/* ---- Element constructors ------------------------------------------------------------ */

ChorusSdpAttr *chorus_sdp_attr_new(const char *name, const char *value)
{
    ChorusSdpAttr *a = g_new0(ChorusSdpAttr, 1);
    a->name = g_strdup(name);
    a->value = g_strdup(value);
    return a;
}

void chorus_sdp_attr_free(gpointer p)
{
    ChorusSdpAttr *a = p;
    if (a == NULL)
        return;
    g_free(a->name);
    g_free(a->value);
    g_free(a);
}

ChorusSdpLine *chorus_sdp_line_new(char type, const char *value)
{
    ChorusSdpLine *l = g_new0(ChorusSdpLine, 1);
    l->type = type;
    l->value = g_strdup(value);
    return l;
}

void chorus_sdp_line_free(gpointer p)
{
    ChorusSdpLine *l = p;
    if (l == NULL)
        return;
    g_free(l->value);
    g_free(l);
}

ChorusSdpRtcpFb *chorus_sdp_rtcp_fb_new(const char *type, const char *param)
{
    ChorusSdpRtcpFb *fb = g_new0(ChorusSdpRtcpFb, 1);
    fb->type = g_strdup(type);
    fb->param = g_strdup(param);
    return fb;
}

void chorus_sdp_rtcp_fb_free(gpointer p)
{
    ChorusSdpRtcpFb *fb = p;
    if (fb == NULL)
        return;
    g_free(fb->type);
    g_free(fb->param);
    g_free(fb);
}

ChorusSdpExtmap *chorus_sdp_extmap_new(guint id, ChorusSdpDirection dir, const char *uri,
                                       const char *attributes)
{
    ChorusSdpExtmap *e = g_new0(ChorusSdpExtmap, 1);
    e->id = id;
    e->direction = dir;
    e->uri = g_strdup(uri);
    e->attributes = g_strdup(attributes);
    return e;
}

void chorus_sdp_extmap_free(gpointer p)
{
    ChorusSdpExtmap *e = p;
    if (e == NULL)
        return;
    g_free(e->uri);
    g_free(e->attributes);
    g_free(e);
}

ChorusSdpSsrc *chorus_sdp_ssrc_new(guint32 ssrc)
{
    ChorusSdpSsrc *s = g_new0(ChorusSdpSsrc, 1);
    s->ssrc = ssrc;
    s->attrs = g_ptr_array_new_with_free_func(chorus_sdp_attr_free);
    return s;
}

void chorus_sdp_ssrc_free(gpointer p)
{
    ChorusSdpSsrc *s = p;
    if (s == NULL)
        return;
    g_free(s->cname);
    g_free(s->msid);
    g_ptr_array_unref(s->attrs);
    g_free(s);
}

ChorusSdpSsrcGroup *chorus_sdp_ssrc_group_new(const char *semantics)
{
    ChorusSdpSsrcGroup *g = g_new0(ChorusSdpSsrcGroup, 1);
    g->semantics = g_strdup(semantics);
    g->ssrcs = g_array_new(FALSE, FALSE, sizeof(guint32));
    return g;
}

void chorus_sdp_ssrc_group_free(gpointer p)
{
    ChorusSdpSsrcGroup *g = p;
    if (g == NULL)
        return;
    g_free(g->semantics);
    g_array_unref(g->ssrcs);
    g_free(g);
}

ChorusSdpRid *chorus_sdp_rid_new(const char *id, ChorusSdpRidDirection dir, const char *params)
{
    ChorusSdpRid *r = g_new0(ChorusSdpRid, 1);
    r->id = g_strdup(id);
    r->direction = dir;
    r->params = g_strdup(params);
    return r;
}

void chorus_sdp_rid_free(gpointer p)
{
    ChorusSdpRid *r = p;
    if (r == NULL)
        return;
    g_free(r->id);
    g_free(r->params);
    g_free(r);
}

ChorusSdpGroup *chorus_sdp_group_new(const char *semantics)
{
    ChorusSdpGroup *g = g_new0(ChorusSdpGroup, 1);
    g->semantics = g_strdup(semantics);
    g->mids = g_ptr_array_new_with_free_func(g_free);
    return g;
}

void chorus_sdp_group_free(gpointer p)
{
    ChorusSdpGroup *g = p;
    if (g == NULL)
        return;
    g_free(g->semantics);
    g_ptr_array_unref(g->mids);
    g_free(g);
}

ChorusSdpConnection *chorus_sdp_connection_new(const char *nettype, const char *addrtype,
                                               const char *address)
{
    ChorusSdpConnection *c = g_new0(ChorusSdpConnection, 1);
    c->nettype = g_strdup(nettype);
    c->addrtype = g_strdup(addrtype);
    c->address = g_strdup(address);
    return c;
}

void chorus_sdp_connection_free(ChorusSdpConnection *c)
{
    if (c == NULL)
        return;
    g_free(c->nettype);
    g_free(c->addrtype);
    g_free(c->address);
    g_free(c);
}

ChorusSdpCandidate *chorus_sdp_candidate_new(void)
{
    ChorusSdpCandidate *c = g_new0(ChorusSdpCandidate, 1);
    c->extensions = g_ptr_array_new_with_free_func(chorus_sdp_attr_free);
    return c;
}

void chorus_sdp_candidate_free(ChorusSdpCandidate *c)
{
    if (c == NULL)
        return;
    g_free(c->foundation);
    g_free(c->address);
    g_free(c->raddr);
    g_ptr_array_unref(c->extensions);
    g_free(c);
}

static void candidate_free_cb(gpointer p)
{
    chorus_sdp_candidate_free(p);
}

ChorusSdpCodec *chorus_sdp_codec_new(guint8 pt, const char *encoding, guint32 clock_rate,
                                     guint channels)
{
    ChorusSdpCodec *c = g_new0(ChorusSdpCodec, 1);
    c->pt = pt;
    c->encoding = g_strdup(encoding);
    c->clock_rate = clock_rate;
    c->channels = channels;
    c->rtcp_fb = g_ptr_array_new_with_free_func(chorus_sdp_rtcp_fb_free);
    return c;
}

void chorus_sdp_codec_free(ChorusSdpCodec *c)
{
    if (c == NULL)
        return;
    g_free(c->encoding);
    g_free(c->fmtp);
    g_ptr_array_unref(c->rtcp_fb);
    g_free(c);
}

static void codec_free_cb(gpointer p)
{
    chorus_sdp_codec_free(p);
}

static void ice_clear(ChorusSdpIce *ice)
{
    g_clear_pointer(&ice->ufrag, g_free);
    g_clear_pointer(&ice->pwd, g_free);
    g_clear_pointer(&ice->options, g_free);
}

static void fingerprint_clear(ChorusSdpFingerprint *fp)
{
    g_clear_pointer(&fp->algorithm, g_free);
    g_clear_pointer(&fp->value, g_free);
}

/* ---- Media and session --------------------------------------------------------------- */

static const char *const media_kind_names[] = {"audio", "video", "application", NULL};

ChorusSdpMedia *chorus_sdp_media_new(const char *media, const char *proto)
{
    ChorusSdpMedia *m = g_new0(ChorusSdpMedia, 1);
    int kind = chorus_sdp_name_index(media_kind_names, media);

    m->kind = kind < 0 ? CHORUS_SDP_MEDIA_OTHER : (ChorusSdpMediaKind)kind;
    m->media = g_strdup(media);
    m->proto = g_strdup(proto);
    m->codecs = g_ptr_array_new_with_free_func(codec_free_cb);
    m->bandwidths = g_ptr_array_new_with_free_func(chorus_sdp_attr_free);
    m->lines = g_ptr_array_new_with_free_func(chorus_sdp_line_free);
    m->msids = g_ptr_array_new_with_free_func(g_free);
    m->rtcp_fb_all = g_ptr_array_new_with_free_func(chorus_sdp_rtcp_fb_free);
    m->extmaps = g_ptr_array_new_with_free_func(chorus_sdp_extmap_free);
    m->ssrcs = g_ptr_array_new_with_free_func(chorus_sdp_ssrc_free);
    m->ssrc_groups = g_ptr_array_new_with_free_func(chorus_sdp_ssrc_group_free);
    m->rids = g_ptr_array_new_with_free_func(chorus_sdp_rid_free);
    m->candidates = g_ptr_array_new_with_free_func(candidate_free_cb);
    m->attrs = g_ptr_array_new_with_free_func(chorus_sdp_attr_free);
    return m;
}

void chorus_sdp_media_free(ChorusSdpMedia *m)
{
    if (m == NULL)
        return;
    g_free(m->media);
    g_free(m->proto);
    g_free(m->fmt);
    g_free(m->mid);
    g_free(m->simulcast_send);
    g_free(m->simulcast_recv);
    chorus_sdp_connection_free(m->connection);
    ice_clear(&m->ice);
    fingerprint_clear(&m->fingerprint);
    GPtrArray *arrays[] = {m->codecs,      m->bandwidths, m->lines, m->msids,
                           m->rtcp_fb_all, m->extmaps,    m->ssrcs, m->ssrc_groups,
                           m->rids,        m->candidates, m->attrs};
    for (gsize i = 0; i < G_N_ELEMENTS(arrays); i++)
        g_ptr_array_unref(arrays[i]);
    g_free(m);
}

static void media_free_cb(gpointer p)
{
    chorus_sdp_media_free(p);
}

ChorusSdp *chorus_sdp_new(void)
{
    ChorusSdp *s = g_new0(ChorusSdp, 1);
    s->bandwidths = g_ptr_array_new_with_free_func(chorus_sdp_attr_free);
    s->lines = g_ptr_array_new_with_free_func(chorus_sdp_line_free);
    s->groups = g_ptr_array_new_with_free_func(chorus_sdp_group_free);
    s->media = g_ptr_array_new_with_free_func(media_free_cb);
    s->attrs = g_ptr_array_new_with_free_func(chorus_sdp_attr_free);
    return s;
}

void chorus_sdp_free(ChorusSdp *s)
{
    if (s == NULL)
        return;
    g_free(s->origin.username);
    g_free(s->origin.nettype);
    g_free(s->origin.addrtype);
    g_free(s->origin.address);
    g_free(s->name);
    g_free(s->msid_semantic);
    chorus_sdp_connection_free(s->connection);
    ice_clear(&s->ice);
    fingerprint_clear(&s->fingerprint);
    g_ptr_array_unref(s->bandwidths);
    g_ptr_array_unref(s->lines);
    g_ptr_array_unref(s->groups);
    g_ptr_array_unref(s->media);
    g_ptr_array_unref(s->attrs);
    g_free(s);
}

/* ---- Deep equality ------------------------------------------------------------------- */

#define STREQ(a, b) (g_strcmp0((a), (b)) == 0)

typedef gboolean (*ElemEqual)(gconstpointer a, gconstpointer b);

static gboolean array_equal(const GPtrArray *a, const GPtrArray *b, ElemEqual eq)
{
    if (a->len != b->len)
        return FALSE;
    for (guint i = 0; i < a->len; i++) {
        if (!eq(a->pdata[i], b->pdata[i]))
            return FALSE;
    }
    return TRUE;
}

static gboolean str_equal(gconstpointer a, gconstpointer b)
{
    return STREQ(a, b);
}

static gboolean attr_equal(gconstpointer pa, gconstpointer pb)
{
    const ChorusSdpAttr *a = pa, *b = pb;
    return STREQ(a->name, b->name) && STREQ(a->value, b->value);
}

static gboolean line_equal(gconstpointer pa, gconstpointer pb)
{
    const ChorusSdpLine *a = pa, *b = pb;
    return a->type == b->type && STREQ(a->value, b->value);
}

static gboolean fb_equal(gconstpointer pa, gconstpointer pb)
{
    const ChorusSdpRtcpFb *a = pa, *b = pb;
    return STREQ(a->type, b->type) && STREQ(a->param, b->param);
}

static gboolean codec_equal(gconstpointer pa, gconstpointer pb)
{
    const ChorusSdpCodec *a = pa, *b = pb;
    return a->pt == b->pt && STREQ(a->encoding, b->encoding) && a->clock_rate == b->clock_rate &&
           a->channels == b->channels && STREQ(a->fmtp, b->fmtp) &&
           array_equal(a->rtcp_fb, b->rtcp_fb, fb_equal);
}

static gboolean extmap_equal(gconstpointer pa, gconstpointer pb)
{
    const ChorusSdpExtmap *a = pa, *b = pb;
    return a->id == b->id && a->direction == b->direction && STREQ(a->uri, b->uri) &&
           STREQ(a->attributes, b->attributes);
}

static gboolean ssrc_equal(gconstpointer pa, gconstpointer pb)
{
    const ChorusSdpSsrc *a = pa, *b = pb;
    return a->ssrc == b->ssrc && STREQ(a->cname, b->cname) && STREQ(a->msid, b->msid) &&
           array_equal(a->attrs, b->attrs, attr_equal);
}

static gboolean ssrc_group_equal(gconstpointer pa, gconstpointer pb)
{
    const ChorusSdpSsrcGroup *a = pa, *b = pb;
    return STREQ(a->semantics, b->semantics) && a->ssrcs->len == b->ssrcs->len &&
           memcmp(a->ssrcs->data, b->ssrcs->data, a->ssrcs->len * sizeof(guint32)) == 0;
}

static gboolean rid_equal(gconstpointer pa, gconstpointer pb)
{
    const ChorusSdpRid *a = pa, *b = pb;
    return STREQ(a->id, b->id) && a->direction == b->direction && STREQ(a->params, b->params);
}

static gboolean group_equal(gconstpointer pa, gconstpointer pb)
{
    const ChorusSdpGroup *a = pa, *b = pb;
    return STREQ(a->semantics, b->semantics) && array_equal(a->mids, b->mids, str_equal);
}

static gboolean candidate_equal(gconstpointer pa, gconstpointer pb)
{
    const ChorusSdpCandidate *a = pa, *b = pb;
    return STREQ(a->foundation, b->foundation) && a->component == b->component &&
           a->transport == b->transport && a->priority == b->priority &&
           STREQ(a->address, b->address) && a->port == b->port && a->type == b->type &&
           STREQ(a->raddr, b->raddr) && a->rport == b->rport && a->has_rport == b->has_rport &&
           a->tcptype == b->tcptype && array_equal(a->extensions, b->extensions, attr_equal);
}

static gboolean connection_equal(const ChorusSdpConnection *a, const ChorusSdpConnection *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return STREQ(a->nettype, b->nettype) && STREQ(a->addrtype, b->addrtype) &&
           STREQ(a->address, b->address);
}

static gboolean transport_equal(const ChorusSdpIce *ia, const ChorusSdpIce *ib,
                                const ChorusSdpFingerprint *fa, const ChorusSdpFingerprint *fb)
{
    return STREQ(ia->ufrag, ib->ufrag) && STREQ(ia->pwd, ib->pwd) &&
           STREQ(ia->options, ib->options) && STREQ(fa->algorithm, fb->algorithm) &&
           STREQ(fa->value, fb->value);
}

static gboolean media_header_equal(const ChorusSdpMedia *a, const ChorusSdpMedia *b)
{
    return a->kind == b->kind && STREQ(a->media, b->media) && a->port == b->port &&
           a->num_ports == b->num_ports && STREQ(a->proto, b->proto) && STREQ(a->fmt, b->fmt) &&
           connection_equal(a->connection, b->connection) && STREQ(a->mid, b->mid) &&
           a->direction == b->direction && a->rtcp_mux == b->rtcp_mux &&
           a->rtcp_mux_only == b->rtcp_mux_only && a->rtcp_rsize == b->rtcp_rsize &&
           STREQ(a->simulcast_send, b->simulcast_send) &&
           STREQ(a->simulcast_recv, b->simulcast_recv) && a->setup == b->setup &&
           transport_equal(&a->ice, &b->ice, &a->fingerprint, &b->fingerprint) &&
           a->sctp_port == b->sctp_port && a->has_max_message_size == b->has_max_message_size &&
           a->max_message_size == b->max_message_size &&
           a->end_of_candidates == b->end_of_candidates;
}

static gboolean media_equal(gconstpointer pa, gconstpointer pb)
{
    const ChorusSdpMedia *a = pa, *b = pb;
    return media_header_equal(a, b) && array_equal(a->codecs, b->codecs, codec_equal) &&
           array_equal(a->bandwidths, b->bandwidths, attr_equal) &&
           array_equal(a->lines, b->lines, line_equal) &&
           array_equal(a->msids, b->msids, str_equal) &&
           array_equal(a->rtcp_fb_all, b->rtcp_fb_all, fb_equal) &&
           array_equal(a->extmaps, b->extmaps, extmap_equal) &&
           array_equal(a->ssrcs, b->ssrcs, ssrc_equal) &&
           array_equal(a->ssrc_groups, b->ssrc_groups, ssrc_group_equal) &&
           array_equal(a->rids, b->rids, rid_equal) &&
           array_equal(a->candidates, b->candidates, candidate_equal) &&
           array_equal(a->attrs, b->attrs, attr_equal);
}

gboolean chorus_sdp_equal(const ChorusSdp *a, const ChorusSdp *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    const ChorusSdpOrigin *oa = &a->origin, *ob = &b->origin;
    gboolean head = a->version == b->version && STREQ(oa->username, ob->username) &&
                    oa->sess_id == ob->sess_id && oa->sess_version == ob->sess_version &&
                    STREQ(oa->nettype, ob->nettype) && STREQ(oa->addrtype, ob->addrtype) &&
                    STREQ(oa->address, ob->address) && STREQ(a->name, b->name) &&
                    connection_equal(a->connection, b->connection) &&
                    a->time_start == b->time_start && a->time_stop == b->time_stop &&
                    STREQ(a->msid_semantic, b->msid_semantic) &&
                    a->extmap_allow_mixed == b->extmap_allow_mixed && a->ice_lite == b->ice_lite &&
                    transport_equal(&a->ice, &b->ice, &a->fingerprint, &b->fingerprint) &&
                    a->setup == b->setup && a->direction == b->direction;
    return head && array_equal(a->bandwidths, b->bandwidths, attr_equal) &&
           array_equal(a->lines, b->lines, line_equal) &&
           array_equal(a->groups, b->groups, group_equal) &&
           array_equal(a->media, b->media, media_equal) &&
           array_equal(a->attrs, b->attrs, attr_equal);
}

/* ---- Queries ------------------------------------------------------------------------- */

ChorusSdpMedia *chorus_sdp_find_media_by_mid(const ChorusSdp *sdp, const char *mid, guint *index)
{
    if (sdp == NULL || mid == NULL)
        return NULL;
    for (guint i = 0; i < sdp->media->len; i++) {
        ChorusSdpMedia *m = sdp->media->pdata[i];
        if (m->mid != NULL && strcmp(m->mid, mid) == 0) {
            if (index != NULL)
                *index = i;
            return m;
        }
    }
    return NULL;
}

ChorusSdpDirection chorus_sdp_media_direction(const ChorusSdp *sdp, const ChorusSdpMedia *m)
{
    if (m->direction != CHORUS_SDP_DIRECTION_UNSET)
        return m->direction;
    if (sdp != NULL && sdp->direction != CHORUS_SDP_DIRECTION_UNSET)
        return sdp->direction;
    return CHORUS_SDP_DIRECTION_SENDRECV;
}

const char *chorus_sdp_media_ice_ufrag(const ChorusSdp *sdp, const ChorusSdpMedia *m)
{
    return m->ice.ufrag != NULL ? m->ice.ufrag : sdp->ice.ufrag;
}

const char *chorus_sdp_media_ice_pwd(const ChorusSdp *sdp, const ChorusSdpMedia *m)
{
    return m->ice.pwd != NULL ? m->ice.pwd : sdp->ice.pwd;
}

const ChorusSdpFingerprint *chorus_sdp_media_fingerprint(const ChorusSdp *sdp,
                                                         const ChorusSdpMedia *m)
{
    if (m->fingerprint.value != NULL)
        return &m->fingerprint;
    if (sdp->fingerprint.value != NULL)
        return &sdp->fingerprint;
    return NULL;
}

ChorusSdpSetup chorus_sdp_media_setup(const ChorusSdp *sdp, const ChorusSdpMedia *m)
{
    return m->setup != CHORUS_SDP_SETUP_UNSET ? m->setup : sdp->setup;
}

gboolean chorus_sdp_is_bundled(const ChorusSdp *sdp, const char *mid)
{
    if (mid == NULL)
        return FALSE;
    for (guint i = 0; i < sdp->groups->len; i++) {
        const ChorusSdpGroup *g = sdp->groups->pdata[i];
        if (g_ascii_strcasecmp(g->semantics, "BUNDLE") != 0)
            continue;
        for (guint j = 0; j < g->mids->len; j++) {
            if (strcmp(g->mids->pdata[j], mid) == 0)
                return TRUE;
        }
    }
    return FALSE;
}

ChorusSdpCodec *chorus_sdp_media_find_codec(const ChorusSdpMedia *m, guint pt)
{
    for (guint i = 0; i < m->codecs->len; i++) {
        ChorusSdpCodec *c = m->codecs->pdata[i];
        if (c->pt == pt)
            return c;
    }
    return NULL;
}

static const char *const auxiliary_codecs[] = {
    "rtx", "red", "ulpfec", "flexfec-03", "CN", "telephone-event", NULL};

ChorusSdpCodec *chorus_sdp_media_primary_codec(const ChorusSdpMedia *m)
{
    for (guint i = 0; i < m->codecs->len; i++) {
        ChorusSdpCodec *c = m->codecs->pdata[i];
        if (c->encoding != NULL && chorus_sdp_name_index(auxiliary_codecs, c->encoding) < 0)
            return c;
    }
    return NULL;
}

int chorus_sdp_media_find_rtx(const ChorusSdpMedia *m, guint pt)
{
    for (guint i = 0; i < m->codecs->len; i++) {
        const ChorusSdpCodec *c = m->codecs->pdata[i];
        if (c->encoding == NULL || g_ascii_strcasecmp(c->encoding, "rtx") != 0)
            continue;
        g_autofree char *apt = chorus_sdp_fmtp_get(c->fmtp, "apt");
        guint64 v;
        if (apt != NULL && chorus_sdp_parse_uint(apt, 127, &v) && v == pt)
            return c->pt;
    }
    return -1;
}

int chorus_sdp_media_find_extmap(const ChorusSdpMedia *m, const char *uri)
{
    for (guint i = 0; i < m->extmaps->len; i++) {
        const ChorusSdpExtmap *e = m->extmaps->pdata[i];
        if (strcmp(e->uri, uri) == 0)
            return (int)e->id;
    }
    return -1;
}

static gboolean fb_list_has(const GPtrArray *list, const char *type, const char *param)
{
    for (guint i = 0; i < list->len; i++) {
        const ChorusSdpRtcpFb *fb = list->pdata[i];
        if (g_ascii_strcasecmp(fb->type, type) == 0 &&
            (param == NULL ? fb->param == NULL
                           : fb->param != NULL && g_ascii_strcasecmp(fb->param, param) == 0))
            return TRUE;
    }
    return FALSE;
}

gboolean chorus_sdp_media_has_rtcp_fb(const ChorusSdpMedia *m, guint pt, const char *type,
                                      const char *param)
{
    const ChorusSdpCodec *c = chorus_sdp_media_find_codec(m, pt);
    if (c != NULL && fb_list_has(c->rtcp_fb, type, param))
        return TRUE;
    return fb_list_has(m->rtcp_fb_all, type, param);
}

/* Adds the rid ids of a simulcast list ("1,~4;2;3") to out, without the '~'. */
static void simulcast_list_rids(const char *list, GPtrArray *out)
{
    g_auto(GStrv) streams = g_strsplit_set(list, ";,", -1);
    for (guint i = 0; streams[i] != NULL; i++) {
        const char *id = streams[i][0] == '~' ? streams[i] + 1 : streams[i];
        if (*id != '\0')
            g_ptr_array_add(out, g_strdup(id));
    }
}

char **chorus_sdp_media_list_rids(const ChorusSdpMedia *m, ChorusSdpRidDirection dir)
{
    GPtrArray *out = g_ptr_array_new();
    const char *list = dir == CHORUS_SDP_RID_SEND ? m->simulcast_send : m->simulcast_recv;

    if (list != NULL) {
        simulcast_list_rids(list, out);
    } else {
        for (guint i = 0; i < m->rids->len; i++) {
            const ChorusSdpRid *r = m->rids->pdata[i];
            if (r->direction == dir)
                g_ptr_array_add(out, g_strdup(r->id));
        }
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

ChorusSdpSsrc *chorus_sdp_media_find_ssrc(const ChorusSdpMedia *m, guint32 ssrc)
{
    for (guint i = 0; i < m->ssrcs->len; i++) {
        ChorusSdpSsrc *s = m->ssrcs->pdata[i];
        if (s->ssrc == ssrc)
            return s;
    }
    return NULL;
}

char *chorus_sdp_fmtp_get(const char *fmtp, const char *key)
{
    if (fmtp == NULL || key == NULL)
        return NULL;
    g_auto(GStrv) params = g_strsplit(fmtp, ";", -1);
    for (guint i = 0; params[i] != NULL; i++) {
        char *p = g_strstrip(params[i]);
        char *eq = strchr(p, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        if (g_ascii_strcasecmp(g_strstrip(p), key) == 0)
            return g_strdup(g_strstrip(eq + 1));
    }
    return NULL;
}

/* ---- Enum names ---------------------------------------------------------------------- */

const char *chorus_sdp_direction_name(ChorusSdpDirection d)
{
    static const char *const names[] = {"", "sendrecv", "sendonly", "recvonly", "inactive"};
    return (guint)d < G_N_ELEMENTS(names) ? names[d] : "";
}

const char *chorus_sdp_setup_name(ChorusSdpSetup s)
{
    static const char *const names[] = {"", "actpass", "active", "passive", "holdconn"};
    return (guint)s < G_N_ELEMENTS(names) ? names[s] : "";
}

const char *chorus_sdp_cand_type_name(ChorusSdpCandType t)
{
    static const char *const names[] = {"host", "srflx", "prflx", "relay"};
    return (guint)t < G_N_ELEMENTS(names) ? names[t] : "host";
}
