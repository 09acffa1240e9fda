/* SDP serializer: the model back to text, CRLF line ends, lines in RFC 8866 order and
 * attributes in the order browsers write them. */
#include <string.h>

#include "media/sdp.h"
#include "media/sdp_private.h"

static void line(GString *out, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void line(GString *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_string_append_vprintf(out, fmt, ap);
    va_end(ap);
    g_string_append(out, "\r\n");
}

/* The kept verbatim lines whose type is one of types, in their stored order. */
static void write_kept(GString *out, const GPtrArray *lines, const char *types)
{
    for (guint i = 0; i < lines->len; i++) {
        const ChorusSdpLine *l = lines->pdata[i];
        if (strchr(types, l->type) != NULL)
            line(out, "%c=%s", l->type, l->value);
    }
}

static void write_connection(GString *out, const ChorusSdpConnection *c)
{
    if (c != NULL)
        line(out, "c=%s %s %s", c->nettype, c->addrtype, c->address);
}

static void write_bandwidths(GString *out, const GPtrArray *list)
{
    for (guint i = 0; i < list->len; i++) {
        const ChorusSdpAttr *b = list->pdata[i];
        line(out, "b=%s:%s", b->name, b->value);
    }
}

static void write_attrs(GString *out, const GPtrArray *attrs)
{
    for (guint i = 0; i < attrs->len; i++) {
        const ChorusSdpAttr *a = attrs->pdata[i];
        if (a->value != NULL)
            line(out, "a=%s:%s", a->name, a->value);
        else
            line(out, "a=%s", a->name);
    }
}

static void write_transport(GString *out, const ChorusSdpIce *ice, const ChorusSdpFingerprint *fp,
                            ChorusSdpSetup setup)
{
    if (ice->ufrag != NULL)
        line(out, "a=ice-ufrag:%s", ice->ufrag);
    if (ice->pwd != NULL)
        line(out, "a=ice-pwd:%s", ice->pwd);
    if (ice->options != NULL)
        line(out, "a=ice-options:%s", ice->options);
    if (fp->value != NULL)
        line(out, "a=fingerprint:%s %s", fp->algorithm, fp->value);
    if (setup != CHORUS_SDP_SETUP_UNSET)
        line(out, "a=setup:%s", chorus_sdp_setup_name(setup));
}

static void write_session(GString *out, const ChorusSdp *sdp)
{
    const ChorusSdpOrigin *o = &sdp->origin;

    line(out, "v=%u", sdp->version);
    line(out, "o=%s %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %s %s %s",
         o->username ? o->username : "-", o->sess_id, o->sess_version,
         o->nettype ? o->nettype : "IN", o->addrtype ? o->addrtype : "IP4",
         o->address ? o->address : "0.0.0.0");
    line(out, "s=%s", sdp->name ? sdp->name : "-");
    write_kept(out, sdp->lines, "iuep");
    write_connection(out, sdp->connection);
    write_bandwidths(out, sdp->bandwidths);
    line(out, "t=%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, sdp->time_start, sdp->time_stop);
    write_kept(out, sdp->lines, "rzk");
    for (guint i = 0; i < sdp->groups->len; i++) {
        const ChorusSdpGroup *g = sdp->groups->pdata[i];
        g_string_append_printf(out, "a=group:%s", g->semantics);
        for (guint j = 0; j < g->mids->len; j++)
            g_string_append_printf(out, " %s", (const char *)g->mids->pdata[j]);
        g_string_append(out, "\r\n");
    }
    if (sdp->extmap_allow_mixed)
        line(out, "a=extmap-allow-mixed");
    if (sdp->msid_semantic != NULL)
        line(out, "a=msid-semantic:%s", sdp->msid_semantic);
    if (sdp->ice_lite)
        line(out, "a=ice-lite");
    write_transport(out, &sdp->ice, &sdp->fingerprint, sdp->setup);
    if (sdp->direction != CHORUS_SDP_DIRECTION_UNSET)
        line(out, "a=%s", chorus_sdp_direction_name(sdp->direction));
    write_attrs(out, sdp->attrs);
}

static void write_m_line(GString *out, const ChorusSdpMedia *m)
{
    g_string_append_printf(out, "m=%s %u", m->media, m->port);
    if (m->num_ports != 0)
        g_string_append_printf(out, "/%u", m->num_ports);
    g_string_append_printf(out, " %s", m->proto);
    if (chorus_sdp_proto_is_rtp(m->proto)) {
        for (guint i = 0; i < m->codecs->len; i++)
            g_string_append_printf(out, " %u", ((const ChorusSdpCodec *)m->codecs->pdata[i])->pt);
    } else if (m->fmt != NULL) {
        g_string_append_printf(out, " %s", m->fmt);
    }
    g_string_append(out, "\r\n");
}

static void write_fb(GString *out, const char *pt, const GPtrArray *list)
{
    for (guint i = 0; i < list->len; i++) {
        const ChorusSdpRtcpFb *fb = list->pdata[i];
        if (fb->param != NULL)
            line(out, "a=rtcp-fb:%s %s %s", pt, fb->type, fb->param);
        else
            line(out, "a=rtcp-fb:%s %s", pt, fb->type);
    }
}

static void write_codecs(GString *out, const ChorusSdpMedia *m)
{
    for (guint i = 0; i < m->codecs->len; i++) {
        const ChorusSdpCodec *c = m->codecs->pdata[i];
        char pt[8];
        g_snprintf(pt, sizeof pt, "%u", c->pt);
        if (c->encoding != NULL && c->channels != 0)
            line(out, "a=rtpmap:%u %s/%u/%u", c->pt, c->encoding, c->clock_rate, c->channels);
        else if (c->encoding != NULL)
            line(out, "a=rtpmap:%u %s/%u", c->pt, c->encoding, c->clock_rate);
        write_fb(out, pt, c->rtcp_fb);
        if (c->fmtp != NULL)
            line(out, "a=fmtp:%u %s", c->pt, c->fmtp);
    }
    write_fb(out, "*", m->rtcp_fb_all);
}

static void write_extmaps(GString *out, const ChorusSdpMedia *m)
{
    for (guint i = 0; i < m->extmaps->len; i++) {
        const ChorusSdpExtmap *e = m->extmaps->pdata[i];
        g_string_append_printf(out, "a=extmap:%u", e->id);
        if (e->direction != CHORUS_SDP_DIRECTION_UNSET)
            g_string_append_printf(out, "/%s", chorus_sdp_direction_name(e->direction));
        g_string_append_printf(out, " %s", e->uri);
        if (e->attributes != NULL)
            g_string_append_printf(out, " %s", e->attributes);
        g_string_append(out, "\r\n");
    }
}

static void write_simulcast(GString *out, const ChorusSdpMedia *m)
{
    for (guint i = 0; i < m->rids->len; i++) {
        const ChorusSdpRid *r = m->rids->pdata[i];
        const char *dir = r->direction == CHORUS_SDP_RID_SEND ? "send" : "recv";
        if (r->params != NULL)
            line(out, "a=rid:%s %s %s", r->id, dir, r->params);
        else
            line(out, "a=rid:%s %s", r->id, dir);
    }
    if (m->simulcast_send != NULL && m->simulcast_recv != NULL)
        line(out, "a=simulcast:send %s recv %s", m->simulcast_send, m->simulcast_recv);
    else if (m->simulcast_send != NULL)
        line(out, "a=simulcast:send %s", m->simulcast_send);
    else if (m->simulcast_recv != NULL)
        line(out, "a=simulcast:recv %s", m->simulcast_recv);
}

static void write_ssrcs(GString *out, const ChorusSdpMedia *m)
{
    for (guint i = 0; i < m->ssrc_groups->len; i++) {
        const ChorusSdpSsrcGroup *g = m->ssrc_groups->pdata[i];
        g_string_append_printf(out, "a=ssrc-group:%s", g->semantics);
        for (guint j = 0; j < g->ssrcs->len; j++)
            g_string_append_printf(out, " %u", g_array_index(g->ssrcs, guint32, j));
        g_string_append(out, "\r\n");
    }
    for (guint i = 0; i < m->ssrcs->len; i++) {
        const ChorusSdpSsrc *s = m->ssrcs->pdata[i];
        if (s->cname != NULL)
            line(out, "a=ssrc:%u cname:%s", s->ssrc, s->cname);
        if (s->msid != NULL)
            line(out, "a=ssrc:%u msid:%s", s->ssrc, s->msid);
        for (guint j = 0; j < s->attrs->len; j++) {
            const ChorusSdpAttr *a = s->attrs->pdata[j];
            if (a->value != NULL)
                line(out, "a=ssrc:%u %s:%s", s->ssrc, a->name, a->value);
            else
                line(out, "a=ssrc:%u %s", s->ssrc, a->name);
        }
    }
}

static void write_candidates(GString *out, const ChorusSdpMedia *m)
{
    for (guint i = 0; i < m->candidates->len; i++) {
        g_string_append(out, "a=candidate:");
        chorus_sdp_candidate_write_value(out, m->candidates->pdata[i]);
        g_string_append(out, "\r\n");
    }
    if (m->end_of_candidates)
        line(out, "a=end-of-candidates");
}

static void write_media(GString *out, const ChorusSdpMedia *m)
{
    write_m_line(out, m);
    write_kept(out, m->lines, "i");
    write_connection(out, m->connection);
    write_bandwidths(out, m->bandwidths);
    write_kept(out, m->lines, "k");
    write_transport(out, &m->ice, &m->fingerprint, m->setup);
    if (m->mid != NULL)
        line(out, "a=mid:%s", m->mid);
    write_extmaps(out, m);
    if (m->direction != CHORUS_SDP_DIRECTION_UNSET)
        line(out, "a=%s", chorus_sdp_direction_name(m->direction));
    for (guint i = 0; i < m->msids->len; i++)
        line(out, "a=msid:%s", (const char *)m->msids->pdata[i]);
    if (m->rtcp_mux)
        line(out, "a=rtcp-mux");
    if (m->rtcp_mux_only)
        line(out, "a=rtcp-mux-only");
    if (m->rtcp_rsize)
        line(out, "a=rtcp-rsize");
    write_codecs(out, m);
    write_simulcast(out, m);
    write_ssrcs(out, m);
    if (m->sctp_port != 0)
        line(out, "a=sctp-port:%u", m->sctp_port);
    if (m->has_max_message_size)
        line(out, "a=max-message-size:%" G_GUINT64_FORMAT, m->max_message_size);
    write_attrs(out, m->attrs);
    write_candidates(out, m);
}

char *chorus_sdp_to_string(const ChorusSdp *sdp)
{
    g_return_val_if_fail(sdp != NULL, NULL);
    GString *out = g_string_sized_new(4096);
    write_session(out, sdp);
    for (guint i = 0; i < sdp->media->len; i++)
        write_media(out, sdp->media->pdata[i]);
    return g_string_free(out, FALSE);
}
