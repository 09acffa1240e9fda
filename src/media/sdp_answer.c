/* SDP answer builder: offer + local capabilities -> answer model. */
#include "media/sdp_answer.h"

#include <string.h>

#include "media/sdp_private.h"

#define DEFAULT_SCTP_PORT        5000
#define DEFAULT_MAX_MESSAGE_SIZE 262144

static const ChorusSdpCodecPref default_audio[] = {{"opus", 48000, 2}};
static const ChorusSdpCodecPref default_video[] = {
    {"VP8", 90000, 0}, {"VP9", 90000, 0}, {"H264", 90000, 0}, {"AV1", 90000, 0}};

static const char *const default_rtcp_fb[] = {"nack",      "nack pli",     "ccm fir",
                                              "goog-remb", "transport-cc", NULL};

static const char *const default_extensions[] = {
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    NULL};

const char *const *chorus_sdp_answer_default_rtcp_fb(void)
{
    return default_rtcp_fb;
}

const char *const *chorus_sdp_answer_default_extensions(void)
{
    return default_extensions;
}

/* State of one answer being built. */
typedef struct {
    const ChorusSdp *offer;
    const ChorusSdpLocalCaps *caps;
    ChorusSdp *answer;
    const ChorusSdpGroup *bundle; /* the offer's BUNDLE group, or NULL */
    ChorusSdpSetup setup;         /* our DTLS role */
    gboolean have_data;           /* a data channel m-line was accepted */
    guint accepted;               /* accepted m-lines so far */
} Builder;

/* ---- Directions ---------------------------------------------------------------------- */

static gboolean dir_sends(ChorusSdpDirection d)
{
    return d == CHORUS_SDP_DIRECTION_SENDRECV || d == CHORUS_SDP_DIRECTION_SENDONLY ||
           d == CHORUS_SDP_DIRECTION_UNSET;
}

static gboolean dir_recvs(ChorusSdpDirection d)
{
    return d == CHORUS_SDP_DIRECTION_SENDRECV || d == CHORUS_SDP_DIRECTION_RECVONLY ||
           d == CHORUS_SDP_DIRECTION_UNSET;
}

static ChorusSdpDirection dir_make(gboolean send, gboolean recv)
{
    if (send && recv)
        return CHORUS_SDP_DIRECTION_SENDRECV;
    if (send)
        return CHORUS_SDP_DIRECTION_SENDONLY;
    return recv ? CHORUS_SDP_DIRECTION_RECVONLY : CHORUS_SDP_DIRECTION_INACTIVE;
}

ChorusSdpDirection chorus_sdp_answer_direction(ChorusSdpDirection offered,
                                               ChorusSdpDirection wanted)
{
    gboolean want_send = wanted == CHORUS_SDP_DIRECTION_UNSET || dir_sends(wanted);
    gboolean want_recv = wanted == CHORUS_SDP_DIRECTION_UNSET || dir_recvs(wanted);
    return dir_make(want_send && dir_recvs(offered), want_recv && dir_sends(offered));
}

/* ---- Codec choice -------------------------------------------------------------------- */

static gboolean fmtp_is(const ChorusSdpCodec *c, const char *key, const char *value,
                        const char *dflt)
{
    g_autofree char *v = chorus_sdp_fmtp_get(c->fmtp, key);
    return g_ascii_strcasecmp(v != NULL ? v : dflt, value) == 0;
}

/* How well an offered codec of the preferred name fits: higher is better. */
static int codec_fitness(const ChorusSdpCodec *c)
{
    if (g_ascii_strcasecmp(c->encoding, "H264") == 0) {
        g_autofree char *plid = chorus_sdp_fmtp_get(c->fmtp, "profile-level-id");
        int score = fmtp_is(c, "packetization-mode", "1", "0") ? 4 : 0;
        if (plid != NULL && g_ascii_strncasecmp(plid, "42e0", 4) == 0)
            score += 2;
        else if (plid != NULL && g_ascii_strncasecmp(plid, "4200", 4) == 0)
            score += 1;
        return score;
    }
    if (g_ascii_strcasecmp(c->encoding, "VP9") == 0)
        return fmtp_is(c, "profile-id", "0", "0") ? 1 : 0;
    if (g_ascii_strcasecmp(c->encoding, "AV1") == 0)
        return fmtp_is(c, "profile", "0", "0") ? 1 : 0;
    return 0;
}

static gboolean codec_matches(const ChorusSdpCodecPref *pref, const ChorusSdpCodec *c)
{
    guint channels = c->channels != 0 ? c->channels : 1;
    return c->encoding != NULL && g_ascii_strcasecmp(pref->name, c->encoding) == 0 &&
           (pref->clock_rate == 0 || pref->clock_rate == c->clock_rate) &&
           (pref->channels == 0 || pref->channels == channels);
}

/* The offered codec to answer with: the first preference that matches, and among the
 * offered payload types of that codec the best fitting (first on ties). */
static const ChorusSdpCodec *choose_codec(const Builder *b, const ChorusSdpMedia *om,
                                          const ChorusSdpAnswerMedia *want)
{
    gboolean audio = om->kind == CHORUS_SDP_MEDIA_AUDIO;
    const ChorusSdpCodecPref *prefs = audio ? b->caps->audio_codecs : b->caps->video_codecs;
    guint n = audio ? b->caps->n_audio_codecs : b->caps->n_video_codecs;

    if (prefs == NULL) {
        prefs = audio ? default_audio : default_video;
        n = audio ? G_N_ELEMENTS(default_audio) : G_N_ELEMENTS(default_video);
    }
    for (guint i = 0; i < n; i++) {
        if (want->codec != NULL && g_ascii_strcasecmp(want->codec, prefs[i].name) != 0)
            continue;
        const ChorusSdpCodec *best = NULL;
        int best_fit = -1;
        for (guint j = 0; j < om->codecs->len; j++) {
            const ChorusSdpCodec *c = om->codecs->pdata[j];
            if (codec_matches(&prefs[i], c) && codec_fitness(c) > best_fit) {
                best = c;
                best_fit = codec_fitness(c);
            }
        }
        if (best != NULL)
            return best;
    }
    return NULL;
}

/* ---- Copying what is supported ------------------------------------------------------- */

static gboolean in_list(const char *const *list, const char *s)
{
    for (guint i = 0; list[i] != NULL; i++) {
        if (g_ascii_strcasecmp(list[i], s) == 0)
            return TRUE;
    }
    return FALSE;
}

static void copy_fb(const Builder *b, const GPtrArray *from, GPtrArray *to)
{
    const char *const *supported = b->caps->rtcp_fb != NULL ? b->caps->rtcp_fb : default_rtcp_fb;
    for (guint i = 0; i < from->len; i++) {
        const ChorusSdpRtcpFb *fb = from->pdata[i];
        g_autofree char *key =
            fb->param != NULL ? g_strdup_printf("%s %s", fb->type, fb->param) : g_strdup(fb->type);
        if (in_list(supported, key))
            g_ptr_array_add(to, chorus_sdp_rtcp_fb_new(fb->type, fb->param));
    }
}

static void add_codec(const Builder *b, ChorusSdpMedia *am, const ChorusSdpCodec *oc)
{
    ChorusSdpCodec *c = chorus_sdp_codec_new(oc->pt, oc->encoding, oc->clock_rate, oc->channels);
    c->fmtp = g_strdup(oc->fmtp);
    copy_fb(b, oc->rtcp_fb, c->rtcp_fb);
    g_ptr_array_add(am->codecs, c);
}

static void copy_extmaps(const Builder *b, const ChorusSdpMedia *om, ChorusSdpMedia *am)
{
    const char *const *supported =
        b->caps->extensions != NULL ? b->caps->extensions : default_extensions;
    for (guint i = 0; i < om->extmaps->len; i++) {
        const ChorusSdpExtmap *e = om->extmaps->pdata[i];
        if (!in_list(supported, e->uri))
            continue;
        ChorusSdpDirection dir =
            e->direction == CHORUS_SDP_DIRECTION_UNSET
                ? CHORUS_SDP_DIRECTION_UNSET
                : chorus_sdp_answer_direction(e->direction, CHORUS_SDP_DIRECTION_UNSET);
        g_ptr_array_add(am->extmaps, chorus_sdp_extmap_new(e->id, dir, e->uri, NULL));
    }
}

/* a=simulcast:send in the offer -> a=rid:<id> recv + a=simulcast:recv in the answer. */
static void answer_simulcast(const ChorusSdpMedia *om, ChorusSdpMedia *am)
{
    if (om->simulcast_send == NULL || !dir_recvs(am->direction))
        return;
    g_auto(GStrv) rids = chorus_sdp_media_list_rids(om, CHORUS_SDP_RID_SEND);
    for (guint i = 0; rids[i] != NULL; i++)
        g_ptr_array_add(am->rids, chorus_sdp_rid_new(rids[i], CHORUS_SDP_RID_RECV, NULL));
    am->simulcast_recv = g_strdup(om->simulcast_send);
}

static void add_ssrc(ChorusSdpMedia *am, guint32 ssrc, const char *cname, const char *msid)
{
    ChorusSdpSsrc *s = chorus_sdp_ssrc_new(ssrc);
    s->cname = g_strdup(cname);
    s->msid = g_strdup(msid);
    g_ptr_array_add(am->ssrcs, s);
}

/* Local SSRCs and msid on an m-line that sends. */
static void answer_sender(const Builder *b, ChorusSdpMedia *am, const ChorusSdpAnswerMedia *want,
                          gboolean have_rtx)
{
    const char *cname = b->caps->cname != NULL ? b->caps->cname : "chorus";
    g_autofree char *msid = NULL;

    if (!dir_sends(am->direction))
        return;
    if (want->msid_stream != NULL) {
        msid = want->msid_track != NULL
                   ? g_strdup_printf("%s %s", want->msid_stream, want->msid_track)
                   : g_strdup(want->msid_stream);
        g_ptr_array_add(am->msids, g_strdup(msid));
    }
    if (want->ssrc == 0)
        return;
    add_ssrc(am, want->ssrc, cname, msid);
    if (have_rtx && want->rtx_ssrc != 0) {
        add_ssrc(am, want->rtx_ssrc, cname, msid);
        ChorusSdpSsrcGroup *g = chorus_sdp_ssrc_group_new("FID");
        g_array_append_val(g->ssrcs, want->ssrc);
        g_array_append_val(g->ssrcs, want->rtx_ssrc);
        g_ptr_array_add(am->ssrc_groups, g);
    }
}

/* ---- Accepting and rejecting m-lines ------------------------------------------------- */

static ChorusSdpMedia *new_answer_media(const ChorusSdpMedia *om, guint16 port)
{
    ChorusSdpMedia *am = chorus_sdp_media_new(om->media, om->proto);
    am->port = port;
    am->mid = g_strdup(om->mid);
    am->connection = chorus_sdp_connection_new("IN", "IP4", "0.0.0.0");
    return am;
}

static ChorusSdpMedia *reject_media(const ChorusSdpMedia *om)
{
    ChorusSdpMedia *am = new_answer_media(om, 0);
    am->fmt = g_strdup(om->fmt);
    for (guint i = 0; i < om->codecs->len; i++) {
        const ChorusSdpCodec *oc = om->codecs->pdata[i];
        g_ptr_array_add(am->codecs, chorus_sdp_codec_new(oc->pt, NULL, 0, 0));
    }
    return am;
}

static void add_transport(const Builder *b, ChorusSdpMedia *am)
{
    am->ice.ufrag = g_strdup(b->caps->ice_ufrag);
    am->ice.pwd = g_strdup(b->caps->ice_pwd);
    am->ice.options = g_strdup("trickle");
    am->fingerprint.algorithm = g_strdup(b->caps->fingerprint_algorithm);
    am->fingerprint.value = g_strdup(b->caps->fingerprint);
    am->setup = b->setup;
}

static gboolean rtp_proto_ok(const char *proto)
{
    static const char *const ok[] = {"UDP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVP", "TCP/DTLS/RTP/SAVPF",
                                     "RTP/SAVPF", NULL};
    return in_list(ok, proto);
}

static ChorusSdpMedia *answer_rtp(const Builder *b, const ChorusSdpMedia *om,
                                  const ChorusSdpAnswerMedia *want)
{
    const ChorusSdpCodec *chosen = NULL;

    if (!rtp_proto_ok(om->proto) || !om->rtcp_mux || (chosen = choose_codec(b, om, want)) == NULL)
        return NULL;
    ChorusSdpMedia *am = new_answer_media(om, 9);
    add_codec(b, am, chosen);
    int rtx = om->kind == CHORUS_SDP_MEDIA_VIDEO ? chorus_sdp_media_find_rtx(om, chosen->pt) : -1;
    if (rtx >= 0)
        add_codec(b, am, chorus_sdp_media_find_codec(om, (guint)rtx));
    copy_fb(b, om->rtcp_fb_all, am->rtcp_fb_all);
    copy_extmaps(b, om, am);
    am->direction =
        chorus_sdp_answer_direction(chorus_sdp_media_direction(b->offer, om), want->direction);
    am->rtcp_mux = TRUE;
    am->rtcp_rsize = om->rtcp_rsize;
    answer_simulcast(om, am);
    answer_sender(b, am, want, rtx >= 0);
    return am;
}

/* The pre-RFC 8841 form some clients (aiortc) still offer: "DTLS/SCTP <port>" with
 * a=sctpmap:<port> webrtc-datachannel <streams>. */
static gboolean legacy_sctp(const ChorusSdpMedia *om)
{
    if (g_strcmp0(om->proto, "DTLS/SCTP") != 0)
        return FALSE;
    for (guint i = 0; i < om->attrs->len; i++) {
        const ChorusSdpAttr *a = om->attrs->pdata[i];
        if (g_strcmp0(a->name, "sctpmap") == 0 && a->value &&
            strstr(a->value, "webrtc-datachannel") != NULL)
            return TRUE;
    }
    return FALSE;
}

static ChorusSdpMedia *answer_legacy_data(Builder *b, const ChorusSdpMedia *om)
{
    guint16 port = b->caps->sctp_port != 0 ? b->caps->sctp_port : DEFAULT_SCTP_PORT;
    ChorusSdpMedia *am = new_answer_media(om, 9);
    am->fmt = g_strdup_printf("%u", port);
    g_autofree char *map = g_strdup_printf("%u webrtc-datachannel 1024", port);
    g_ptr_array_add(am->attrs, chorus_sdp_attr_new("sctpmap", map));
    b->have_data = TRUE;
    return am;
}

static ChorusSdpMedia *answer_data(Builder *b, const ChorusSdpMedia *om)
{
    static const char *const protos[] = {"UDP/DTLS/SCTP", "TCP/DTLS/SCTP", NULL};

    if (!b->caps->data_channels || b->have_data)
        return NULL;
    if (legacy_sctp(om))
        return answer_legacy_data(b, om);
    if (!in_list(protos, om->proto) || g_strcmp0(om->fmt, "webrtc-datachannel") != 0)
        return NULL;
    ChorusSdpMedia *am = new_answer_media(om, 9);
    am->fmt = g_strdup(om->fmt);
    am->sctp_port = b->caps->sctp_port != 0 ? b->caps->sctp_port : DEFAULT_SCTP_PORT;
    am->has_max_message_size = TRUE;
    am->max_message_size =
        b->caps->max_message_size != 0 ? b->caps->max_message_size : DEFAULT_MAX_MESSAGE_SIZE;
    b->have_data = TRUE;
    return am;
}

/* Whether an offered m-line may be accepted at all (before looking at its content). */
static gboolean may_accept(const Builder *b, const ChorusSdpMedia *om,
                           const ChorusSdpAnswerMedia *want)
{
    if (om->port == 0 || want->reject || om->mid == NULL)
        return FALSE;
    if (b->bundle != NULL)
        return chorus_sdp_is_bundled(b->offer, om->mid);
    return b->accepted == 0; /* one transport: without BUNDLE only the first m-line */
}

static ChorusSdpMedia *answer_media(Builder *b, const ChorusSdpMedia *om,
                                    const ChorusSdpAnswerMedia *want)
{
    ChorusSdpMedia *am = NULL;

    if (may_accept(b, om, want)) {
        if (om->kind == CHORUS_SDP_MEDIA_AUDIO || om->kind == CHORUS_SDP_MEDIA_VIDEO)
            am = answer_rtp(b, om, want);
        else if (om->kind == CHORUS_SDP_MEDIA_APPLICATION)
            am = answer_data(b, om);
    }
    if (am == NULL) {
        /* Rejected m-lines carry the transport attributes too: some clients (aiortc)
         * validate ICE credentials on every m-line. */
        am = reject_media(om);
        add_transport(b, am);
        return am;
    }
    add_transport(b, am);
    b->accepted++;
    return am;
}

/* ---- Session ------------------------------------------------------------------------- */

static gboolean fail(GError **error, const char *msg)
{
    g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_NEGOTIATION, "%s", msg);
    return FALSE;
}

static gboolean check_caps(const ChorusSdpLocalCaps *caps, GError **error)
{
    if (!chorus_sdp_ice_chars_ok(caps->ice_ufrag, CHORUS_SDP_MAX_TOKEN) ||
        !chorus_sdp_ice_chars_ok(caps->ice_pwd, CHORUS_SDP_MAX_TOKEN))
        return fail(error, "local capabilities: missing or invalid ICE credentials");
    if (!chorus_sdp_token_ok(caps->fingerprint_algorithm, 32) ||
        !chorus_sdp_token_ok(caps->fingerprint, 3 * 64))
        return fail(error, "local capabilities: missing or invalid fingerprint");
    return TRUE;
}

static const ChorusSdpGroup *find_bundle(const ChorusSdp *offer)
{
    for (guint i = 0; i < offer->groups->len; i++) {
        const ChorusSdpGroup *g = offer->groups->pdata[i];
        if (g_ascii_strcasecmp(g->semantics, "BUNDLE") == 0)
            return g;
    }
    return NULL;
}

/* The offered m-line that carries the transport: the BUNDLE tag, else the first enabled. */
static const ChorusSdpMedia *transport_media(const Builder *b)
{
    if (b->bundle != NULL && b->bundle->mids->len > 0)
        return chorus_sdp_find_media_by_mid(b->offer, b->bundle->mids->pdata[0], NULL);
    for (guint i = 0; i < b->offer->media->len; i++) {
        const ChorusSdpMedia *m = b->offer->media->pdata[i];
        if (m->port != 0)
            return m;
    }
    return NULL;
}

static gboolean choose_setup(Builder *b, GError **error)
{
    const ChorusSdpMedia *tm = transport_media(b);

    b->setup = b->caps->setup == CHORUS_SDP_SETUP_PASSIVE ? CHORUS_SDP_SETUP_PASSIVE
                                                          : CHORUS_SDP_SETUP_ACTIVE;
    if (tm == NULL)
        return TRUE; /* nothing will be accepted */
    if (chorus_sdp_media_ice_ufrag(b->offer, tm) == NULL ||
        chorus_sdp_media_ice_pwd(b->offer, tm) == NULL)
        return fail(error, "offer has no ICE credentials");
    if (chorus_sdp_media_fingerprint(b->offer, tm) == NULL)
        return fail(error, "offer has no DTLS fingerprint");
    switch (chorus_sdp_media_setup(b->offer, tm)) {
    case CHORUS_SDP_SETUP_ACTIVE:
        b->setup = CHORUS_SDP_SETUP_PASSIVE;
        break;
    case CHORUS_SDP_SETUP_PASSIVE:
        b->setup = CHORUS_SDP_SETUP_ACTIVE;
        break;
    case CHORUS_SDP_SETUP_HOLDCONN:
        return fail(error, "offer has a=setup:holdconn");
    default:
        break;
    }
    return TRUE;
}

static void answer_session(const Builder *b, ChorusSdp *a)
{
    const ChorusSdpLocalCaps *caps = b->caps;

    a->origin.username = g_strdup("-");
    a->origin.sess_id =
        caps->session_id != 0 ? caps->session_id : (guint64)g_random_int() << 31 | g_random_int();
    a->origin.sess_version = caps->session_version;
    a->origin.nettype = g_strdup("IN");
    a->origin.addrtype = g_strdup(
        caps->origin_address != NULL && strchr(caps->origin_address, ':') != NULL ? "IP6" : "IP4");
    a->origin.address = g_strdup(caps->origin_address != NULL ? caps->origin_address : "127.0.0.1");
    a->name = g_strdup(caps->session_name != NULL ? caps->session_name : "Chorus");
    a->extmap_allow_mixed = b->offer->extmap_allow_mixed;
    a->ice_lite = caps->ice_lite;
    a->msid_semantic = g_strdup("WMS *");
}

static void answer_bundle(ChorusSdp *a)
{
    ChorusSdpGroup *g = chorus_sdp_group_new("BUNDLE");
    for (guint i = 0; i < a->media->len; i++) {
        const ChorusSdpMedia *m = a->media->pdata[i];
        if (m->port != 0 && m->mid != NULL)
            g_ptr_array_add(g->mids, g_strdup(m->mid));
    }
    if (g->mids->len > 0)
        g_ptr_array_add(a->groups, g);
    else
        chorus_sdp_group_free(g);
}

ChorusSdp *chorus_sdp_answer_build(const ChorusSdp *offer, const ChorusSdpLocalCaps *caps,
                                   GError **error)
{
    static const ChorusSdpAnswerMedia automatic = {0};
    Builder b = {.offer = offer, .caps = caps};

    g_return_val_if_fail(offer != NULL && caps != NULL, NULL);
    if (!check_caps(caps, error))
        return NULL;
    b.bundle = find_bundle(offer);
    if (!choose_setup(&b, error))
        return NULL;
    b.answer = chorus_sdp_new();
    answer_session(&b, b.answer);
    for (guint i = 0; i < offer->media->len; i++) {
        const ChorusSdpAnswerMedia *want =
            caps->media != NULL && i < caps->n_media ? &caps->media[i] : &automatic;
        g_ptr_array_add(b.answer->media, answer_media(&b, offer->media->pdata[i], want));
    }
    answer_bundle(b.answer);
    return b.answer;
}
