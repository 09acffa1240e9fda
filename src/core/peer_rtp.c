/* PeerConnection packet paths: demultiplexing, SRTP, RTP/RTCP in and out, receiver and
 * sender reports, media events. Per-packet code: no allocation, no lock, no log. */
#include <string.h>

#include "core/janus_proto.h"
#include "core/peer_priv.h"
#include "core/plugin_loader.h"
#include "media/demux.h"
#include "media/rtcp.h"
#include "media/rtp.h"
#include "media/rtp_ext.h"

#define NTP_UNIX_OFFSET      2208988800ULL
#define MEDIA_IDLE_US        (1000 * 1000)
#define KEYFRAME_INTERVAL_US (300 * 1000)
#define SLOWLINK_INTERVAL_US (5 * 1000 * 1000)
#define SLOWLINK_FRACTION    26 /* of 256: about 10 % loss */

static uint64_t ntp_now(gint64 now_real_us)
{
    uint64_t secs = (uint64_t)now_real_us / 1000000 + NTP_UNIX_OFFSET;
    uint64_t frac = ((uint64_t)now_real_us % 1000000) * 4294967296ULL / 1000000;
    return (secs << 32) | frac;
}

/* ---- incoming ---- */

static PeerMedia *media_by_mid(ChorusPeer *p, const chorus_rtp_packet *r)
{
    for (guint i = 0; i < p->n_media; i++) {
        PeerMedia *m = &p->media[i];
        chorus_rtp_ext_elem e;
        char mid[32];
        if (m->ext_mid <= 0 || chorus_rtp_ext_find(r, (uint8_t)m->ext_mid, &e) != 0 ||
            chorus_rtp_ext_read_string(&e, mid, sizeof(mid)) < 0)
            continue;
        for (guint j = 0; j < p->n_media; j++) {
            if (strcmp(p->media[j].mid, mid) == 0)
                return &p->media[j];
        }
        return NULL;
    }
    return NULL;
}

/* The m-line a packet belongs to: by SSRC, else by mid, else by payload type; an
 * SSRC found by the last two is learned. */
static PeerMedia *media_for(ChorusPeer *p, const chorus_rtp_packet *r)
{
    for (guint i = 0; i < p->n_media; i++) {
        PeerMedia *m = &p->media[i];
        if (m->remote_ssrc == r->ssrc || (m->remote_rtx_ssrc && m->remote_rtx_ssrc == r->ssrc))
            return m;
    }
    PeerMedia *m = media_by_mid(p, r);
    for (guint i = 0; m == NULL && i < p->n_media; i++) {
        PeerMedia *c = &p->media[i];
        if (!c->data && !c->rejected && c->recv && c->remote_ssrc == 0 && c->pt == r->payload_type)
            m = c;
    }
    if (m != NULL && !m->data && !m->rejected) {
        if (m->rtx_pt >= 0 && r->payload_type == (uint8_t)m->rtx_pt)
            m->remote_rtx_ssrc = r->ssrc;
        else
            m->remote_ssrc = r->ssrc;
        return m;
    }
    return NULL;
}

static void media_event(ChorusPeer *p, PeerMedia *m, gboolean receiving)
{
    m->receiving = receiving;
    json_t *msg = chorus_proto_msg("media", NULL, chorus_session_id(p->h->session));
    json_object_set_new(msg, "sender", json_integer((json_int_t)p->h->id));
    json_object_set_new(msg, "mid", json_string(m->mid));
    json_object_set_new(msg, "type", json_string(m->video ? "video" : "audio"));
    json_object_set_new(msg, "receiving", json_boolean(receiving));
    chorus_peer_emit(p, msg);
}

static void read_extensions(const PeerMedia *m, const chorus_rtp_packet *r, chorus_packet *pkt,
                            char *rid, size_t rid_cap)
{
    chorus_rtp_ext_elem e;
    if (m->ext_level > 0 && chorus_rtp_ext_find(r, (uint8_t)m->ext_level, &e) == 0) {
        int voice = 0;
        uint8_t level = 127;
        if (chorus_rtp_ext_read_audio_level(&e, &voice, &level) == 0) {
            pkt->audio_level = level;
            pkt->voice = voice != 0;
        }
    }
    if (m->ext_rid > 0 && chorus_rtp_ext_find(r, (uint8_t)m->ext_rid, &e) == 0 &&
        chorus_rtp_ext_read_string(&e, rid, rid_cap) >= 0)
        pkt->rid = rid;
}

static void rtp_in(ChorusPeer *p, uint8_t *buf, size_t len)
{
    chorus_rtp_packet r;
    if (chorus_srtp_unprotect_rtp(p->srtp, buf, &len) != 0) {
        p->srtp_errors++;
        return;
    }
    PeerMedia *m = chorus_rtp_parse(buf, len, &r) == 0 ? media_for(p, &r) : NULL;
    if (m == NULL || r.ssrc != m->remote_ssrc) { /* unknown, or rtx (not used yet) */
        p->rx_dropped++;
        return;
    }
    gint64 now = g_get_monotonic_time();
    if (!m->stats_started) {
        chorus_rtp_stats_init(&m->in_stats, m->clock_rate ? m->clock_rate : 90000);
        m->stats_started = TRUE;
    }
    chorus_rtp_stats_update(&m->in_stats, r.seq, r.timestamp, (uint64_t)now);
    m->rx_packets++;
    m->rx_bytes += len;
    m->last_rx_us = now;
    if (!m->receiving)
        media_event(p, m, TRUE);
    chorus_handle *h = p->h;
    if (!h->created || h->plugin->desc->incoming_rtp == NULL)
        return;
    char rid[16];
    chorus_packet pkt = {.video = m->video,
                         .mindex = m->index,
                         .mid = m->mid,
                         .data = buf,
                         .len = len,
                         .audio_level = -1,
                         .seq = r.seq,
                         .timestamp = r.timestamp,
                         .ssrc = r.ssrc};
    read_extensions(m, &r, &pkt, rid, sizeof(rid));
    h->plugin->desc->incoming_rtp(h, h->plugin_state, &pkt);
}

static PeerMedia *media_by_local_ssrc(ChorusPeer *p, uint32_t ssrc)
{
    for (guint i = 0; i < p->n_media; i++) {
        if (p->media[i].local_ssrc == ssrc)
            return &p->media[i];
    }
    return NULL;
}

static void rtcp_to_plugin(ChorusPeer *p, PeerMedia *m, uint8_t *buf, size_t len, gboolean keyframe,
                           uint64_t remb)
{
    chorus_handle *h = p->h;
    if (m != NULL && m->video && keyframe)
        m->keyframe_requests++;
    if (m == NULL || !h->created || h->plugin->desc->incoming_rtcp == NULL)
        return;
    chorus_packet pkt = {.video = m->video,
                         .mindex = m->index,
                         .mid = m->mid,
                         .data = buf,
                         .len = len,
                         .audio_level = -1,
                         .keyframe_request = keyframe,
                         .remb_bps = remb};
    h->plugin->desc->incoming_rtcp(h, h->plugin_state, &pkt);
}

static void rtcp_feedback(ChorusPeer *p, const chorus_rtcp_header *hd, chorus_rtcp_kind kind,
                          uint8_t *buf, size_t len)
{
    chorus_rtcp_fb fb;
    if (chorus_rtcp_parse_fb(hd, &fb) != 0)
        return;
    if (kind == CHORUS_RTCP_KIND_PLI) {
        rtcp_to_plugin(p, media_by_local_ssrc(p, fb.media_ssrc), buf, len, TRUE, 0);
    } else if (kind == CHORUS_RTCP_KIND_FIR) {
        chorus_rtcp_fir_entry fir[4];
        size_t n = 0;
        if (chorus_rtcp_parse_fir(&fb, fir, G_N_ELEMENTS(fir), &n) == 0 && n > 0)
            rtcp_to_plugin(p, media_by_local_ssrc(p, fir[0].ssrc), buf, len, TRUE, 0);
    } else if (kind == CHORUS_RTCP_KIND_REMB) {
        chorus_rtcp_remb remb;
        uint32_t ssrcs[8];
        if (chorus_rtcp_parse_remb(&fb, &remb, ssrcs, G_N_ELEMENTS(ssrcs)) == 0)
            rtcp_to_plugin(p, remb.num_ssrc ? media_by_local_ssrc(p, ssrcs[0]) : NULL, buf, len,
                           FALSE, remb.bitrate_bps);
    }
}

/* A lossy leg: the client's uplink (what we receive) or its downlink (its reports). */
static void slow_link(ChorusPeer *p, PeerMedia *m, gboolean uplink, guint lost_pct)
{
    gint64 now = g_get_monotonic_time();
    gint64 *last = uplink ? &m->last_slow_up_us : &m->last_slow_down_us;
    if (*last != 0 && now - *last < SLOWLINK_INTERVAL_US)
        return;
    *last = now;
    json_t *msg = chorus_proto_msg("slowlink", NULL, chorus_session_id(p->h->session));
    json_object_set_new(msg, "sender", json_integer((json_int_t)p->h->id));
    json_object_set_new(msg, "mid", json_string(m->mid));
    json_object_set_new(msg, "media", json_string(m->video ? "video" : "audio"));
    json_object_set_new(msg, "uplink", json_boolean(uplink));
    json_object_set_new(msg, "lost", json_integer(lost_pct));
    chorus_peer_emit(p, msg);
    chorus_handle *h = p->h;
    if (h->created && h->plugin->desc->slow_link)
        h->plugin->desc->slow_link(h, h->plugin_state, m->index, m->video, uplink);
}

static void on_report_blocks(ChorusPeer *p, const chorus_rtcp_report_block *blocks, guint n)
{
    for (guint i = 0; i < n; i++) {
        PeerMedia *m = media_by_local_ssrc(p, blocks[i].ssrc);
        if (m != NULL && blocks[i].fraction_lost >= SLOWLINK_FRACTION)
            slow_link(p, m, FALSE, blocks[i].fraction_lost * 100u / 256u);
    }
}

static void rtcp_in(ChorusPeer *p, uint8_t *buf, size_t len)
{
    if (chorus_srtp_unprotect_rtcp(p->srtp, buf, &len) != 0) {
        p->srtp_errors++;
        return;
    }
    chorus_rtcp_iter it;
    chorus_rtcp_header hd;
    chorus_rtcp_iter_init(&it, buf, len);
    while (chorus_rtcp_iter_next(&it, &hd) == 1) {
        chorus_rtcp_kind kind = chorus_rtcp_classify(&hd);
        if (kind == CHORUS_RTCP_KIND_SR) {
            chorus_rtcp_sr sr;
            if (chorus_rtcp_parse_sr(&hd, &sr) != 0)
                continue;
            for (guint i = 0; i < p->n_media; i++) {
                if (p->media[i].remote_ssrc == sr.ssrc && p->media[i].stats_started)
                    chorus_rtp_stats_on_sr(&p->media[i].in_stats, sr.ntp,
                                           (uint64_t)g_get_monotonic_time());
            }
            on_report_blocks(p, sr.reports, sr.report_count);
        } else if (kind == CHORUS_RTCP_KIND_RR) {
            chorus_rtcp_rr rr;
            if (chorus_rtcp_parse_rr(&hd, &rr) == 0)
                on_report_blocks(p, rr.reports, rr.report_count);
        } else if (kind == CHORUS_RTCP_KIND_PLI || kind == CHORUS_RTCP_KIND_FIR ||
                   kind == CHORUS_RTCP_KIND_REMB) {
            rtcp_feedback(p, &hd, kind, buf, len);
        }
    }
}

void chorus_peer_incoming(ChorusPeer *p, uint8_t *buf, size_t len)
{
    switch (chorus_demux_classify(buf, len)) {
    case CHORUS_DEMUX_DTLS:
        if (p->dtls)
            chorus_dtls_incoming(p->dtls, buf, len);
        break;
    case CHORUS_DEMUX_RTP:
        if (p->srtp)
            rtp_in(p, buf, len);
        break;
    case CHORUS_DEMUX_RTCP:
        if (p->srtp)
            rtcp_in(p, buf, len);
        break;
    default:
        p->rx_dropped++;
        break;
    }
}

/* ---- outgoing ---- */

static void protect_and_send_rtp(ChorusPeer *p, PeerMedia *m, size_t len)
{
    if (chorus_srtp_protect_rtp(p->srtp, p->buf, &len, sizeof(p->buf)) != 0) {
        p->srtp_errors++;
        return;
    }
    if (chorus_ice_send(p->ice, p->buf, len) > 0) {
        m->tx_packets++;
        m->tx_bytes += len;
    }
}

static size_t put_ext(uint8_t *at, int id, const uint8_t *value, size_t len)
{
    at[0] = (uint8_t)((id << 4) | (int)(len - 1));
    memcpy(at + 1, value, len);
    return len + 1;
}

/* Writes our one-byte header extensions after the fixed header; returns their size
 * (0 when none), the X bit set in the header. */
static size_t write_extensions(ChorusPeer *p, PeerMedia *m, const chorus_packet *pkt,
                               gint64 now_real)
{
    uint8_t *ext = p->buf + CHORUS_RTP_HEADER_MIN + 4;
    size_t n = 0, midlen = m->mid_len;
    if (m->ext_mid > 0 && m->ext_mid <= 14 && midlen > 0 && midlen <= 16)
        n += put_ext(ext + n, m->ext_mid, (const uint8_t *)m->mid, midlen);
    if (m->ext_level > 0 && m->ext_level <= 14 && pkt->audio_level >= 0) {
        uint8_t v = (uint8_t)((pkt->voice ? 0x80 : 0) | (pkt->audio_level & 0x7f));
        n += put_ext(ext + n, m->ext_level, &v, 1);
    }
    if (m->ext_abs > 0 && m->ext_abs <= 14) {
        uint32_t ast = (uint32_t)((((uint64_t)now_real) << 18) / 1000000) & 0xffffff;
        uint8_t v[3] = {(uint8_t)(ast >> 16), (uint8_t)(ast >> 8), (uint8_t)ast};
        n += put_ext(ext + n, m->ext_abs, v, 3);
    }
    if (m->ext_twcc > 0 && m->ext_twcc <= 14) {
        uint16_t seq = p->twcc_seq++;
        uint8_t v[2] = {(uint8_t)(seq >> 8), (uint8_t)seq};
        n += put_ext(ext + n, m->ext_twcc, v, 2);
    }
    if (n == 0)
        return 0;
    while (n % 4)
        ext[n++] = 0;
    chorus_wr16(ext - 4, CHORUS_RTP_EXT_PROFILE_ONE_BYTE);
    chorus_wr16(ext - 2, (uint16_t)(n / 4));
    p->buf[0] |= 0x10;
    return n + 4;
}

void chorus_peer_send_rtp(chorus_handle *h, const chorus_packet *pkt)
{
    ChorusPeer *p = h->peer;
    PeerMedia *m = chorus_peer_media(p, pkt->mindex);
    chorus_rtp_packet r;
    if (m == NULL || p->srtp == NULL || p->closing || !m->send || m->rejected || m->data ||
        chorus_rtp_parse(pkt->data, pkt->len, &r) != 0)
        return;
    gint64 now_real = g_get_real_time();
    chorus_rtp_write_header(p->buf, sizeof(p->buf), m->pt, r.marker, pkt->seq, pkt->timestamp,
                            m->local_ssrc);
    size_t off = CHORUS_RTP_HEADER_MIN + write_extensions(p, m, pkt, now_real);
    if (off + r.payload_len + CHORUS_SRTP_MAX_TRAILER > sizeof(p->buf))
        return;
    memcpy(p->buf + off, r.payload, r.payload_len);
    m->last_tx_ts = pkt->timestamp;
    m->last_tx_us = now_real;
    protect_and_send_rtp(p, m, off + r.payload_len);
}

static void send_rtcp_buf(ChorusPeer *p, size_t len)
{
    if (chorus_srtp_protect_rtcp(p->srtp, p->buf, &len, sizeof(p->buf)) == 0)
        chorus_ice_send(p->ice, p->buf, len);
    else
        p->srtp_errors++;
}

void chorus_peer_send_rtcp(chorus_handle *h, const chorus_packet *pkt)
{
    ChorusPeer *p = h->peer;
    if (p == NULL || p->srtp == NULL || p->closing || pkt->len == 0 ||
        pkt->len + CHORUS_SRTP_MAX_TRAILER > sizeof(p->buf))
        return;
    memcpy(p->buf, pkt->data, pkt->len);
    send_rtcp_buf(p, pkt->len);
}

void chorus_peer_send_pli(ChorusPeer *p, PeerMedia *m)
{
    gint64 now = g_get_monotonic_time();
    if (p->srtp == NULL || m->remote_ssrc == 0 || now - m->last_pli_us < KEYFRAME_INTERVAL_US)
        return;
    m->last_pli_us = now;
    int n = chorus_rtcp_build_pli(p->buf, sizeof(p->buf), m->local_ssrc, m->remote_ssrc);
    if (n > 0)
        send_rtcp_buf(p, (size_t)n);
}

void chorus_peer_request_keyframe(chorus_handle *h, int mindex)
{
    PeerMedia *m = chorus_peer_media(h->peer, mindex);
    if (m != NULL && m->video && !h->peer->closing)
        chorus_peer_send_pli(h->peer, m);
}

/* ---- reports and media events, once a second ---- */

static size_t build_reports(ChorusPeer *p, gint64 now_mono, gint64 now_real)
{
    chorus_rtcp_sr sr = {0};
    for (guint i = 0; i < p->n_media && sr.report_count < CHORUS_RTCP_MAX_REPORTS; i++) {
        PeerMedia *m = &p->media[i];
        if (m->stats_started && m->remote_ssrc)
            chorus_rtp_stats_report_block(&m->in_stats, m->remote_ssrc, (uint64_t)now_mono,
                                          &sr.reports[sr.report_count++]);
    }
    PeerMedia *sender = NULL;
    for (guint i = 0; i < p->n_media && sender == NULL; i++) {
        if (p->media[i].tx_packets > 0)
            sender = &p->media[i];
    }
    int n;
    if (sender != NULL) {
        sr.ssrc = sender->local_ssrc;
        sr.ntp = ntp_now(now_real);
        sr.rtp_ts = sender->last_tx_ts + (uint32_t)((uint64_t)(now_real - sender->last_tx_us) *
                                                    sender->clock_rate / 1000000);
        sr.packet_count = (uint32_t)sender->tx_packets;
        sr.octet_count = (uint32_t)sender->tx_bytes;
        n = chorus_rtcp_build_sr(p->buf, sizeof(p->buf), &sr);
    } else if (sr.report_count > 0) {
        n = chorus_rtcp_build_rr(p->buf, sizeof(p->buf), p->media[0].local_ssrc, sr.reports,
                                 sr.report_count);
    } else {
        return 0;
    }
    if (n <= 0)
        return 0;
    int s = chorus_rtcp_build_sdes_cname(p->buf + n,
                                         sizeof(p->buf) - (size_t)n - CHORUS_SRTP_MAX_TRAILER,
                                         sr.ssrc ? sr.ssrc : p->media[0].local_ssrc, "chorus");
    return (size_t)n + (s > 0 ? (size_t)s : 0);
}

gboolean chorus_peer_tick(gpointer data)
{
    ChorusPeer *p = data;
    if (p->closing || p->srtp == NULL)
        return G_SOURCE_CONTINUE;
    gint64 now = g_get_monotonic_time();
    for (guint i = 0; i < p->n_media; i++) {
        PeerMedia *m = &p->media[i];
        if (m->receiving && now - m->last_rx_us > MEDIA_IDLE_US)
            media_event(p, m, FALSE);
        if (!m->stats_started)
            continue;
        guint64 expected = chorus_rtp_stats_expected(&m->in_stats);
        gint64 lost = chorus_rtp_stats_lost(&m->in_stats);
        guint64 d_expected = expected - m->prev_expected;
        gint64 d_lost = lost - m->prev_lost;
        m->prev_expected = expected;
        m->prev_lost = lost;
        if (d_expected >= 20 && d_lost > 0 && (guint64)d_lost * 10 >= d_expected)
            slow_link(p, m, TRUE, (guint)((guint64)d_lost * 100 / d_expected));
    }
    size_t len = build_reports(p, now, g_get_real_time());
    if (len > 0)
        send_rtcp_buf(p, len);
    return G_SOURCE_CONTINUE;
}
