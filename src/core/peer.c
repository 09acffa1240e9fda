/* PeerConnection assembly: offer/answer, ICE, DTLS, SRTP and SCTP wiring, events. */
#include "core/peer_priv.h"

#include <string.h>

#include "core/janus_proto.h"
#include "core/plugin_loader.h"
#include "media/sdp_answer.h"
#include "net/udp_batch.h"
#include "util/log.h"

#define TAG "peer"

static const ChorusConfig *config;
static ChorusDtlsCert *certificate;
static ChorusSrtpProfile srtp_profiles[4];
static ChorusIceConfig ice_config;
static char *stun_host, *turn_host;

/* "host:port" into a host (new string) and port; FALSE if malformed. */
static gboolean split_host_port(const char *text, char **host, guint *port, guint default_port)
{
    *host = NULL;
    *port = default_port;
    if (text == NULL || *text == '\0')
        return TRUE;
    const char *colon = strrchr(text, ':');
    if (colon == NULL) {
        *host = g_strdup(text);
        return TRUE;
    }
    char *end = NULL;
    guint64 v = g_ascii_strtoull(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || v == 0 || v > 65535)
        return FALSE;
    *host = g_strndup(text, (gsize)(colon - text));
    *port = (guint)v;
    return TRUE;
}

static gboolean setup_ice_config(const ChorusConfig *cfg, GError **error)
{
    ice_config = (ChorusIceConfig){0};
    ice_config.interfaces = cfg->ice_interfaces;
    ice_config.loopback = cfg->ice_loopback;
    ice_config.ipv6 = cfg->ice_ipv6;
    ice_config.tcp = cfg->ice_tcp;
    ice_config.port_min = (guint)cfg->rtp_port_min;
    ice_config.port_max = (guint)cfg->rtp_port_max;
    ice_config.timeout_s = (guint)cfg->ice_timeout;
    if (!split_host_port(cfg->stun_server, &stun_host, &ice_config.stun_port, 3478) ||
        !split_host_port(cfg->turn_server, &turn_host, &ice_config.turn_port, 3478)) {
        g_set_error(error, CHORUS_CONFIG_ERROR, 2,
                    "[media] stun_server/turn_server: expected host:port");
        return FALSE;
    }
    ice_config.stun_host = stun_host;
    ice_config.turn_host = turn_host;
    ice_config.turn_transport = cfg->turn_transport;
    ice_config.turn_user = cfg->turn_user;
    ice_config.turn_password = cfg->turn_password;
    return TRUE;
}

static gboolean setup_srtp_profiles(const ChorusConfig *cfg, GError **error)
{
    guint n = 0;
    for (guint i = 0; cfg->srtp_profiles && cfg->srtp_profiles[i] && n < 3; i++) {
        ChorusSrtpProfile p = chorus_srtp_profile_parse(cfg->srtp_profiles[i]);
        if (p == CHORUS_SRTP_NONE) {
            g_set_error(error, CHORUS_CONFIG_ERROR, 2, "[media] srtp_profiles: unknown '%s'",
                        cfg->srtp_profiles[i]);
            return FALSE;
        }
        srtp_profiles[n++] = p;
    }
    if (n == 0)
        srtp_profiles[n++] = CHORUS_SRTP_AEAD_AES_128_GCM;
    srtp_profiles[n] = CHORUS_SRTP_NONE;
    return TRUE;
}

gboolean chorus_peers_global_init(const ChorusConfig *cfg, GError **error)
{
    config = cfg;
    if (!setup_ice_config(cfg, error) || !setup_srtp_profiles(cfg, error))
        return FALSE;
    if (!chorus_srtp_global_init(error) || !chorus_sctp_global_init(error))
        return FALSE;
    if (cfg->dtls_certificate && *cfg->dtls_certificate)
        certificate = chorus_dtls_cert_load(cfg->dtls_certificate, cfg->dtls_key, error);
    else
        certificate = chorus_dtls_cert_generate(error);
    if (certificate == NULL)
        return FALSE;
    LOG_I(TAG, "DTLS certificate %s", chorus_dtls_cert_fingerprint(certificate));
    return TRUE;
}

void chorus_peers_global_cleanup(void)
{
    if (certificate)
        chorus_dtls_cert_unref(certificate);
    certificate = NULL;
    chorus_sctp_global_cleanup();
    g_clear_pointer(&stun_host, g_free);
    g_clear_pointer(&turn_host, g_free);
}

const char *chorus_peers_fingerprint(void)
{
    return certificate ? chorus_dtls_cert_fingerprint(certificate) : NULL;
}

/* ---- events ---- */

void chorus_peer_emit(ChorusPeer *p, json_t *msg)
{
    chorus_session_send(p->h->session, msg);
}

static json_t *peer_event(ChorusPeer *p, const char *kind)
{
    json_t *msg = chorus_proto_msg(kind, NULL, chorus_session_id(p->h->session));
    json_object_set_new(msg, "sender", json_integer((json_int_t)p->h->id));
    return msg;
}

static void emit_candidate(ChorusPeer *p, const char *candidate)
{
    json_t *msg = peer_event(p, "trickle");
    json_t *c = candidate ? json_pack("{s:s,s:i,s:s}", "sdpMid", p->bundle_mid, "sdpMLineIndex",
                                      p->bundle_index, "candidate", candidate)
                          : json_pack("{s:b}", "completed", 1);
    json_object_set_new(msg, "candidate", c);
    chorus_peer_emit(p, msg);
}

PeerMedia *chorus_peer_media(ChorusPeer *p, int mindex)
{
    if (p == NULL || mindex < 0 || (guint)mindex >= p->n_media)
        return NULL;
    return &p->media[mindex];
}

/* ---- teardown ---- */

static void peer_free(ChorusPeer *p)
{
    chorus_worker_tick_remove(p->tick);
    if (p->sctp)
        chorus_sctp_free(p->sctp);
    if (p->dtls)
        chorus_dtls_free(p->dtls);
    if (p->srtp)
        chorus_srtp_free(p->srtp);
    if (p->ice)
        chorus_ice_free(p->ice);
    g_queue_clear_full(&p->waiting, (GDestroyNotify)json_decref);
    chorus_sdp_free(p->offer);
    g_free(p->remote_fingerprint);
    g_free(p->close_reason);
    g_free(p);
}

void chorus_peer_destroy(chorus_handle *h)
{
    if (h->peer == NULL)
        return;
    ChorusPeer *p = h->peer;
    h->peer = NULL;
    peer_free(p);
}

static gboolean run_close(gpointer data)
{
    chorus_handle *h = data;
    ChorusPeer *p = h->peer;
    if (p == NULL)
        return G_SOURCE_REMOVE;
    LOG_I(TAG, "handle %" G_GUINT64_FORMAT ": PeerConnection closed (%s)", h->id, p->close_reason);
    json_t *msg = peer_event(p, "hangup");
    json_object_set_new(msg, "reason", json_string(p->close_reason));
    chorus_peer_emit(p, msg);
    h->peer = NULL;
    if (h->created && !g_atomic_int_get(&h->gone) && h->plugin->desc->hangup_media)
        h->plugin->desc->hangup_media(h, h->plugin_state);
    peer_free(p);
    return G_SOURCE_REMOVE;
}

void chorus_peer_close(chorus_handle *h, const char *reason)
{
    ChorusPeer *p = h->peer;
    if (p == NULL || p->closing)
        return;
    p->closing = TRUE;
    p->close_reason = g_strdup(reason ? reason : "Closed");
    chorus_worker_invoke(h->worker, run_close, chorus_handle_ref(h),
                         (GDestroyNotify)chorus_handle_unref);
}

/* ---- SCTP ---- */

static int sctp_send(void *user, const uint8_t *buf, size_t len)
{
    ChorusPeer *p = user;
    return p->dtls ? chorus_dtls_send(p->dtls, buf, len) : -1;
}

static void sctp_channel_open(void *user, uint16_t stream, const char *label, const char *protocol)
{
    ChorusPeer *p = user;
    LOG_V(TAG, "handle %" G_GUINT64_FORMAT ": data channel '%s' open on stream %u", p->h->id,
          label ? label : "", stream);
}

static void sctp_message(void *user, uint16_t stream, const char *label, bool binary,
                         const uint8_t *data, size_t len)
{
    ChorusPeer *p = user;
    chorus_handle *h = p->h;
    if (p->closing || !h->created || h->plugin->desc->incoming_data == NULL)
        return;
    chorus_data msg = {.label = label, .binary = binary, .data = data, .len = len};
    h->plugin->desc->incoming_data(h, h->plugin_state, &msg);
}

static void sctp_state(void *user, bool up, const char *reason)
{
    ChorusPeer *p = user;
    LOG_V(TAG, "handle %" G_GUINT64_FORMAT ": SCTP %s%s%s", p->h->id, up ? "up" : "down",
          reason ? ": " : "", reason ? reason : "");
}

static const ChorusSctpCallbacks sctp_callbacks = {sctp_send, sctp_channel_open, sctp_message,
                                                   sctp_state, NULL};

void chorus_peer_send_data(chorus_handle *h, const chorus_data *msg)
{
    ChorusPeer *p = h->peer;
    if (p == NULL || p->sctp == NULL || msg == NULL)
        return;
    int stream = msg->label ? chorus_sctp_find_channel(p->sctp, msg->label) : -1;
    if (stream < 0 && msg->label)
        stream = chorus_sctp_open_channel(p->sctp, msg->label, "", true);
    if (stream >= 0)
        chorus_sctp_send(p->sctp, (uint16_t)stream, msg->binary, msg->data, msg->len);
}

/* ---- DTLS ---- */

static int dtls_send(void *user, const uint8_t *buf, size_t len)
{
    ChorusPeer *p = user;
    return chorus_ice_send(p->ice, buf, len);
}

static PeerMedia *data_media(ChorusPeer *p)
{
    for (guint i = 0; i < p->n_media; i++) {
        if (p->media[i].data && !p->media[i].rejected)
            return &p->media[i];
    }
    return NULL;
}

static void start_sctp(ChorusPeer *p)
{
    if (data_media(p) == NULL)
        return;
    GError *error = NULL;
    p->sctp =
        chorus_sctp_new(5000, p->remote_sctp_port ? p->remote_sctp_port : 5000, (size_t)262144,
                        chorus_worker_context(p->h->worker), &sctp_callbacks, p);
    if (p->sctp == NULL)
        return;
    chorus_sctp_set_dtls_role(p->sctp, p->dtls_client);
    if (!chorus_sctp_connect(p->sctp, &error)) {
        LOG_W(TAG, "handle %" G_GUINT64_FORMAT ": SCTP connect: %s", p->h->id, error->message);
        g_clear_error(&error);
    }
}

static void dtls_connected(void *user, const ChorusSrtpKeys *keys)
{
    ChorusPeer *p = user;
    chorus_handle *h = p->h;
    GError *error = NULL;
    p->srtp = chorus_srtp_new(keys, &error);
    if (p->srtp == NULL) {
        LOG_W(TAG, "handle %" G_GUINT64_FORMAT ": SRTP: %s", h->id, error->message);
        g_error_free(error);
        chorus_peer_close(h, "SRTP setup failed");
        return;
    }
    LOG_I(TAG, "handle %" G_GUINT64_FORMAT ": DTLS up, SRTP %s", h->id,
          chorus_srtp_profile_name(keys->profile));
    start_sctp(p);
    p->webrtcup = TRUE;
    chorus_peer_emit(p, peer_event(p, "webrtcup"));
    p->tick = chorus_worker_tick_add(h->worker, 1000, chorus_peer_tick, p, NULL);
    if (h->created && h->plugin->desc->setup_media)
        h->plugin->desc->setup_media(h, h->plugin_state);
}

static void dtls_data(void *user, const uint8_t *buf, size_t len)
{
    ChorusPeer *p = user;
    if (p->sctp)
        chorus_sctp_incoming(p->sctp, buf, len);
}

static void dtls_state(void *user, ChorusDtlsState state, const char *reason)
{
    ChorusPeer *p = user;
    if (state == CHORUS_DTLS_FAILED || state == CHORUS_DTLS_CLOSED) {
        g_autofree char *why =
            g_strdup_printf("DTLS %s%s%s", state == CHORUS_DTLS_FAILED ? "failed" : "closed",
                            reason ? ": " : "", reason ? reason : "");
        LOG_I(TAG, "handle %" G_GUINT64_FORMAT ": %s", p->h->id, why);
        chorus_peer_close(p->h, why);
    }
}

static const ChorusDtlsCallbacks dtls_callbacks = {dtls_send, dtls_connected, dtls_data,
                                                   dtls_state};

/* ---- ICE ---- */

static void ice_recv(void *user, uint8_t *buf, size_t len)
{
    ChorusPeer *p = user;
    if (!p->closing)
        chorus_peer_incoming(p, buf, len);
}

static void ice_candidate(void *user, const char *candidate)
{
    ChorusPeer *p = user;
    if (p->answered && p->trickle)
        emit_candidate(p, candidate);
}

static void flush_waiting(ChorusPeer *p);

static void ice_gathered(void *user)
{
    ChorusPeer *p = user;
    if (p->answered && p->trickle)
        emit_candidate(p, NULL);
    flush_waiting(p);
}

static void ice_state(void *user, ChorusIceState state, const char *reason)
{
    ChorusPeer *p = user;
    if (state == CHORUS_ICE_CONNECTED && p->dtls != NULL &&
        chorus_dtls_state(p->dtls) == CHORUS_DTLS_NEW) {
        g_autofree char *pair = chorus_ice_selected_pair(p->ice);
        LOG_I(TAG, "handle %" G_GUINT64_FORMAT ": ICE connected (%s)", p->h->id, pair ? pair : "?");
        chorus_dtls_start(p->dtls);
    } else if (state == CHORUS_ICE_FAILED) {
        chorus_peer_close(p->h, reason ? reason : "ICE failed");
    }
}

static const ChorusIceCallbacks ice_callbacks = {ice_recv, ice_candidate, ice_gathered, ice_state};

/* ---- offer / answer ---- */

static ChorusPeer *peer_new(chorus_handle *h, GError **error)
{
    ChorusPeer *p = g_new0(ChorusPeer, 1);
    p->h = h;
    g_queue_init(&p->waiting);
    p->ice = chorus_ice_new(chorus_worker_context(h->worker), &ice_config, &ice_callbacks, p);
    if (p->ice == NULL) {
        g_set_error(error, CHORUS_CONFIG_ERROR, 0, "cannot create the ICE agent");
        g_free(p);
        return NULL;
    }
    return p;
}

/* A remote candidate goes to the ICE layer as our SDP code parsed and wrote it back
 * (the ICE layer checks what libnice cannot take, such as TCP without tcptype). */
static void add_candidate(ChorusPeer *p, const ChorusSdpCandidate *c)
{
    g_autofree char *text = chorus_sdp_candidate_to_string(c);
    GError *error = NULL;
    if (text != NULL && !chorus_ice_add_remote_candidate(p->ice, text, &error)) {
        LOG_D(TAG, "handle %" G_GUINT64_FORMAT ": remote candidate refused: %s", p->h->id,
              error ? error->message : text);
        g_clear_error(&error);
    }
}

static void add_remote_candidates(ChorusPeer *p, const ChorusSdp *sdp)
{
    gboolean done = FALSE;
    for (guint i = 0; i < sdp->media->len; i++) {
        const ChorusSdpMedia *m = g_ptr_array_index(sdp->media, i);
        for (guint c = 0; c < m->candidates->len; c++)
            add_candidate(p, g_ptr_array_index(m->candidates, c));
        done = done || m->end_of_candidates;
    }
    if (done)
        chorus_ice_remote_gathering_done(p->ice);
}

/* The transport parameters of the first m-line (BUNDLE: one transport). */
static gboolean read_transport(ChorusPeer *p, const ChorusSdp *sdp, GError **error)
{
    if (sdp->media->len == 0 || sdp->media->len > PEER_MAX_MEDIA) {
        g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_INVALID,
                    "the offer has %u m-lines (1..%d allowed)", sdp->media->len, PEER_MAX_MEDIA);
        return FALSE;
    }
    const ChorusSdpMedia *m = g_ptr_array_index(sdp->media, 0);
    const char *ufrag = chorus_sdp_media_ice_ufrag(sdp, m);
    const char *pwd = chorus_sdp_media_ice_pwd(sdp, m);
    const ChorusSdpFingerprint *fp = chorus_sdp_media_fingerprint(sdp, m);
    if (ufrag == NULL || pwd == NULL || fp == NULL || fp->algorithm == NULL) {
        g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_INVALID,
                    "the offer lacks ice-ufrag, ice-pwd or fingerprint");
        return FALSE;
    }
    g_free(p->remote_fingerprint);
    p->remote_fingerprint = g_strdup_printf("%s %s", fp->algorithm, fp->value);
    if (!chorus_dtls_fingerprint_valid(p->remote_fingerprint)) {
        g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_INVALID,
                    "unusable a=fingerprint '%s'", p->remote_fingerprint);
        return FALSE;
    }
    p->remote_setup = chorus_sdp_media_setup(sdp, m);
    return chorus_ice_set_remote_credentials(p->ice, ufrag, pwd, error);
}

/* The m-line carrying the transport, until the answer says: the offer's BUNDLE tag. */
static void offer_bundle(ChorusPeer *p, const ChorusSdp *sdp)
{
    p->bundle_index = 0;
    for (guint g = 0; g < sdp->groups->len; g++) {
        const ChorusSdpGroup *grp = g_ptr_array_index(sdp->groups, g);
        guint index = 0;
        if (g_ascii_strcasecmp(grp->semantics, "BUNDLE") == 0 && grp->mids->len > 0 &&
            chorus_sdp_find_media_by_mid(sdp, g_ptr_array_index(grp->mids, 0), &index))
            p->bundle_index = (int)index;
    }
    const ChorusSdpMedia *m = g_ptr_array_index(sdp->media, (guint)p->bundle_index);
    g_strlcpy(p->bundle_mid, m->mid ? m->mid : "", sizeof(p->bundle_mid));
}

/* A new offer on a live PeerConnection: same DTLS transport; new ICE credentials mean
 * an ICE restart (a phone that changed network). Takes sdp. */
static gboolean renegotiate(ChorusPeer *p, ChorusSdp *sdp, GError **error)
{
    const ChorusSdpMedia *m0 = sdp->media->len ? g_ptr_array_index(sdp->media, 0) : NULL;
    const ChorusSdpMedia *old0 = g_ptr_array_index(p->offer->media, 0);
    const ChorusSdpFingerprint *fp = m0 ? chorus_sdp_media_fingerprint(sdp, m0) : NULL;
    g_autofree char *fingerprint = fp ? g_strdup_printf("%s %s", fp->algorithm, fp->value) : NULL;
    if (m0 == NULL ||
        g_ascii_strcasecmp(fingerprint ? fingerprint : "", p->remote_fingerprint) != 0) {
        g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_INVALID,
                    "a renegotiation must keep the DTLS fingerprint: hang up and offer again");
        chorus_sdp_free(sdp);
        return FALSE;
    }
    gboolean restart = g_strcmp0(chorus_sdp_media_ice_ufrag(sdp, m0),
                                 chorus_sdp_media_ice_ufrag(p->offer, old0)) != 0;
    if (restart) {
        LOG_I(TAG, "handle %" G_GUINT64_FORMAT ": ICE restart", p->h->id);
        chorus_ice_restart(p->ice);
        if (!chorus_ice_set_remote_credentials(p->ice, chorus_sdp_media_ice_ufrag(sdp, m0),
                                               chorus_sdp_media_ice_pwd(sdp, m0), error)) {
            chorus_sdp_free(sdp);
            return FALSE;
        }
        add_remote_candidates(p, sdp);
    }
    chorus_sdp_free(p->offer);
    p->offer = sdp;
    p->answered = FALSE;
    return TRUE;
}

gboolean chorus_peer_apply_offer(chorus_handle *h, const char *sdp_text, GError **error)
{
    ChorusSdp *sdp = chorus_sdp_parse(sdp_text, -1, error);
    if (sdp == NULL)
        return FALSE;
    ChorusPeer *p = h->peer;
    gboolean fresh = p == NULL;
    if (fresh && (p = peer_new(h, error)) == NULL) {
        chorus_sdp_free(sdp);
        return FALSE;
    }
    if (!fresh)
        return renegotiate(p, sdp, error);
    if (!read_transport(p, sdp, error)) {
        chorus_sdp_free(sdp);
        peer_free(p);
        return FALSE;
    }
    p->offer = sdp;
    offer_bundle(p, sdp);
    const char *opts = sdp->ice.options;
    const ChorusSdpMedia *m0 = g_ptr_array_index(sdp->media, 0);
    p->trickle = (opts && strstr(opts, "trickle")) ||
                 (m0->ice.options && strstr(m0->ice.options, "trickle"));
    h->peer = p;
    add_remote_candidates(p, sdp);
    if (!chorus_ice_gather(p->ice, error)) {
        h->peer = NULL;
        peer_free(p);
        return FALSE;
    }
    return TRUE;
}

static ChorusSdpDirection parse_direction(const char *text)
{
    static const struct {
        const char *name;
        ChorusSdpDirection dir;
    } names[] = {{"sendrecv", CHORUS_SDP_DIRECTION_SENDRECV},
                 {"sendonly", CHORUS_SDP_DIRECTION_SENDONLY},
                 {"recvonly", CHORUS_SDP_DIRECTION_RECVONLY},
                 {"inactive", CHORUS_SDP_DIRECTION_INACTIVE}};
    for (guint i = 0; text && i < G_N_ELEMENTS(names); i++) {
        if (strcmp(text, names[i].name) == 0)
            return names[i].dir;
    }
    return CHORUS_SDP_DIRECTION_UNSET;
}

static gboolean mid_listed(json_t *array, const char *mid)
{
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v)
    {
        if (json_is_string(v) && mid && strcmp(json_string_value(v), mid) == 0)
            return TRUE;
    }
    return FALSE;
}

/* The plugin's wishes per m-line, plus our SSRCs (kept across renegotiations). */
static void fill_answer_media(ChorusPeer *p, json_t *options, ChorusSdpAnswerMedia *am,
                              char (*tracks)[48])
{
    json_t *dirs = json_object_get(options, "directions");
    json_t *reject = json_object_get(options, "reject");
    for (guint i = 0; i < p->offer->media->len; i++) {
        const ChorusSdpMedia *m = g_ptr_array_index(p->offer->media, i);
        PeerMedia *pm = &p->media[i];
        if (pm->local_ssrc == 0) {
            pm->local_ssrc = g_random_int() | 1u;
            pm->local_rtx_ssrc = m->kind == CHORUS_SDP_MEDIA_VIDEO ? g_random_int() | 1u : 0;
        }
        g_snprintf(tracks[i], sizeof(tracks[i]), "chorus-%s", m->mid ? m->mid : "x");
        am[i] = (ChorusSdpAnswerMedia){
            .reject = mid_listed(reject, m->mid),
            .direction = parse_direction(json_string_value(json_object_get(dirs, m->mid))),
            .ssrc = pm->local_ssrc,
            .rtx_ssrc = pm->local_rtx_ssrc,
            .msid_stream = "chorus",
            .msid_track = tracks[i],
        };
    }
}

static int ext_id(const ChorusSdpMedia *m, const char *uri)
{
    return chorus_sdp_media_find_extmap(m, uri);
}

/* The remote SSRCs of an m-line: the first one, and its FID (rtx) partner. */
static void learn_remote_ssrcs(PeerMedia *pm, const ChorusSdpMedia *offered)
{
    if (offered->ssrcs->len > 0)
        pm->remote_ssrc = ((ChorusSdpSsrc *)g_ptr_array_index(offered->ssrcs, 0))->ssrc;
    for (guint g = 0; g < offered->ssrc_groups->len; g++) {
        ChorusSdpSsrcGroup *grp = g_ptr_array_index(offered->ssrc_groups, g);
        if (strcmp(grp->semantics, "FID") == 0 && grp->ssrcs->len == 2) {
            pm->remote_ssrc = g_array_index(grp->ssrcs, guint32, 0);
            pm->remote_rtx_ssrc = g_array_index(grp->ssrcs, guint32, 1);
        }
    }
}

/* Records what the answer negotiated, per m-line. */
static void adopt_answer(ChorusPeer *p, const ChorusSdp *answer)
{
    p->n_media = answer->media->len;
    p->bundle_index = -1;
    for (guint i = 0; i < answer->media->len; i++) {
        const ChorusSdpMedia *m = g_ptr_array_index(answer->media, i);
        PeerMedia *pm = &p->media[i];
        pm->index = (int)i;
        g_strlcpy(pm->mid, m->mid ? m->mid : "", sizeof(pm->mid));
        pm->mid_len = strlen(pm->mid);
        pm->video = m->kind == CHORUS_SDP_MEDIA_VIDEO;
        pm->data = m->kind == CHORUS_SDP_MEDIA_APPLICATION;
        pm->rejected = m->port == 0;
        ChorusSdpDirection d = chorus_sdp_media_direction(answer, m);
        pm->send = d == CHORUS_SDP_DIRECTION_SENDRECV || d == CHORUS_SDP_DIRECTION_SENDONLY;
        pm->recv = d == CHORUS_SDP_DIRECTION_SENDRECV || d == CHORUS_SDP_DIRECTION_RECVONLY;
        if (!pm->rejected && p->bundle_index < 0) {
            p->bundle_index = (int)i;
            g_strlcpy(p->bundle_mid, pm->mid, sizeof(p->bundle_mid));
        }
        if (pm->data) {
            const ChorusSdpMedia *om = g_ptr_array_index(p->offer->media, i);
            /* a=sctp-port, or the legacy "DTLS/SCTP <port>" format */
            p->remote_sctp_port = om->sctp_port
                                      ? om->sctp_port
                                      : (guint16)g_ascii_strtoull(om->fmt ? om->fmt : "", NULL, 10);
            continue;
        }
        ChorusSdpCodec *codec = chorus_sdp_media_primary_codec(m);
        pm->pt = codec ? codec->pt : 0;
        pm->clock_rate = codec ? codec->clock_rate : 48000;
        pm->rtx_pt = codec ? chorus_sdp_media_find_rtx(m, codec->pt) : -1;
        pm->ext_mid = ext_id(m, "urn:ietf:params:rtp-hdrext:sdes:mid");
        pm->ext_level = ext_id(m, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
        pm->ext_abs = ext_id(m, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time");
        pm->ext_twcc =
            ext_id(m, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01");
        pm->ext_rid = ext_id(m, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id");
        learn_remote_ssrcs(pm, g_ptr_array_index(p->offer->media, i));
    }
}

static gboolean ensure_dtls(ChorusPeer *p, ChorusSdpSetup our_setup)
{
    if (p->dtls != NULL)
        return TRUE;
    ChorusDtlsRole role =
        our_setup == CHORUS_SDP_SETUP_PASSIVE ? CHORUS_DTLS_ROLE_SERVER : CHORUS_DTLS_ROLE_CLIENT;
    p->dtls_client = role == CHORUS_DTLS_ROLE_CLIENT;
    p->dtls = chorus_dtls_new(certificate, role, p->remote_fingerprint, srtp_profiles,
                              chorus_worker_context(p->h->worker), &dtls_callbacks, p);
    if (p->dtls == NULL)
        return FALSE;
    if (chorus_ice_state(p->ice) == CHORUS_ICE_CONNECTED)
        chorus_dtls_start(p->dtls);
    return TRUE;
}

/* Appends the gathered candidates to the bundle m-line of a non-trickle answer. */
static void add_local_candidates(ChorusPeer *p, ChorusSdp *answer)
{
    if (p->trickle || p->bundle_index < 0)
        return;
    ChorusSdpMedia *m = g_ptr_array_index(answer->media, (guint)p->bundle_index);
    g_auto(GStrv) cands = chorus_ice_local_candidates(p->ice);
    for (guint i = 0; cands && cands[i]; i++) {
        ChorusSdpCandidate *c = chorus_sdp_candidate_parse(cands[i], NULL);
        if (c)
            g_ptr_array_add(m->candidates, c);
    }
    m->end_of_candidates = chorus_ice_gathering_done(p->ice);
}

char *chorus_peer_create_answer(chorus_handle *h, json_t *options, GError **error)
{
    ChorusPeer *p = h->peer;
    if (p == NULL || p->offer == NULL) {
        g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_NEGOTIATION, "no offer to answer");
        return NULL;
    }
    ChorusSdpAnswerMedia am[PEER_MAX_MEDIA];
    char tracks[PEER_MAX_MEDIA][48];
    fill_answer_media(p, options, am, tracks);
    const char *fp = chorus_dtls_cert_fingerprint(certificate);
    const char *space = strchr(fp, ' ');
    g_autofree char *algorithm = g_strndup(fp, (gsize)(space - fp));
    json_t *data = json_object_get(options, "data");
    ChorusSdpLocalCaps caps = {
        .ice_ufrag = chorus_ice_local_ufrag(p->ice),
        .ice_pwd = chorus_ice_local_pwd(p->ice),
        .fingerprint_algorithm = algorithm,
        .fingerprint = space + 1,
        /* Passive for an actpass offer: as the DTLS server our SRTP profile order wins
         * (AEAD_AES_128_GCM first; Chromium's own order puts AES-CM first). */
        .setup = p->remote_setup == CHORUS_SDP_SETUP_PASSIVE ? CHORUS_SDP_SETUP_ACTIVE
                                                             : CHORUS_SDP_SETUP_PASSIVE,
        .session_id = h->id,
        .session_version = 1,
        .data_channels = !json_is_false(data),
        .media = am,
        .n_media = p->offer->media->len,
    };
    ChorusSdp *answer = chorus_sdp_answer_build(p->offer, &caps, error);
    if (answer == NULL)
        return NULL;
    if (!ensure_dtls(p, caps.setup)) {
        g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_NEGOTIATION,
                    "unusable DTLS fingerprint in the offer");
        chorus_sdp_free(answer);
        return NULL;
    }
    adopt_answer(p, answer);
    add_local_candidates(p, answer);
    char *text = chorus_sdp_to_string(answer);
    chorus_sdp_free(answer);
    p->answered = TRUE;
    return text;
}

void chorus_peer_answer_sent(chorus_handle *h)
{
    ChorusPeer *p = h->peer;
    if (p == NULL || !p->trickle)
        return;
    g_auto(GStrv) cands = chorus_ice_local_candidates(p->ice);
    for (guint i = 0; cands && cands[i]; i++)
        emit_candidate(p, cands[i]);
    if (chorus_ice_gathering_done(p->ice))
        emit_candidate(p, NULL);
}

gboolean chorus_peer_answer_ready(chorus_handle *h)
{
    ChorusPeer *p = h->peer;
    return p != NULL && (p->trickle || chorus_ice_gathering_done(p->ice));
}

/* Completes an event's jsep {"type":"answer", options} with the SDP and sends it. */
static void send_answer_event(chorus_handle *h, json_t *msg)
{
    json_t *jsep = json_object_get(msg, "jsep");
    GError *error = NULL;
    char *sdp = chorus_peer_create_answer(h, jsep, &error);
    if (sdp == NULL) {
        LOG_W(TAG, "handle %" G_GUINT64_FORMAT ": cannot answer: %s", h->id, error->message);
        json_object_del(msg, "jsep");
        json_t *pd = json_object_get(json_object_get(msg, "plugindata"), "data");
        json_object_set_new(pd, "jsep_error", json_string(error->message));
        g_error_free(error);
        chorus_session_send(h->session, msg);
        return;
    }
    json_t *clean = json_pack("{s:s,s:s}", "type", "answer", "sdp", sdp);
    g_free(sdp);
    json_object_set_new(msg, "jsep", clean);
    chorus_session_send(h->session, msg);
    chorus_peer_answer_sent(h);
}

void chorus_peer_send_when_gathered(chorus_handle *h, json_t *msg)
{
    if (chorus_peer_answer_ready(h)) {
        send_answer_event(h, msg);
        return;
    }
    g_queue_push_tail(&h->peer->waiting, msg);
}

static void flush_waiting(ChorusPeer *p)
{
    json_t *msg;
    while (p->h->peer == p && (msg = g_queue_pop_head(&p->waiting)) != NULL)
        send_answer_event(p->h, msg);
}

#define MAX_PENDING_TRICKLE 128

gboolean chorus_peer_apply_pending(chorus_handle *h, GError **error)
{
    if (h->pending_offer != NULL) {
        gboolean ok = chorus_peer_apply_offer(h, h->pending_offer, error);
        g_clear_pointer(&h->pending_offer, g_free);
        if (!ok)
            return FALSE;
    }
    if (h->peer == NULL) {
        g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_NEGOTIATION, "no offer to answer");
        return FALSE;
    }
    if (h->pending_trickle != NULL) {
        json_t *pending = h->pending_trickle;
        h->pending_trickle = NULL;
        size_t i;
        json_t *c;
        json_array_foreach(pending, i, c) chorus_peer_trickle(h, c);
        json_decref(pending);
    }
    return TRUE;
}

void chorus_peer_trickle(chorus_handle *h, json_t *candidate)
{
    ChorusPeer *p = h->peer;
    if (p == NULL && h->pending_offer != NULL) { /* the PeerConnection comes with the answer */
        if (h->pending_trickle == NULL)
            h->pending_trickle = json_array();
        if (json_array_size(h->pending_trickle) < MAX_PENDING_TRICKLE)
            json_array_append(h->pending_trickle, candidate);
        return;
    }
    if (p == NULL || p->closing) {
        LOG_D(TAG, "handle %" G_GUINT64_FORMAT ": trickle without a PeerConnection ignored", h->id);
        return;
    }
    if (json_is_true(json_object_get(candidate, "completed"))) {
        chorus_ice_remote_gathering_done(p->ice);
        return;
    }
    const char *text = json_string_value(json_object_get(candidate, "candidate"));
    const char *mid = json_string_value(json_object_get(candidate, "sdpMid"));
    json_t *index = json_object_get(candidate, "sdpMLineIndex");
    if (p->bundle_index >= 0 &&
        ((mid && strcmp(mid, p->bundle_mid) != 0) ||
         (!mid && json_is_integer(index) && json_integer_value(index) != p->bundle_index))) {
        return; /* one transport (BUNDLE): candidates of the other m-lines are not used */
    }
    if (text == NULL || *text == '\0') {
        chorus_ice_remote_gathering_done(p->ice); /* an empty candidate ends gathering */
        return;
    }
    GError *error = NULL;
    ChorusSdpCandidate *c = chorus_sdp_candidate_parse(text, &error);
    if (c == NULL) {
        LOG_D(TAG, "handle %" G_GUINT64_FORMAT ": bad remote candidate: %s", h->id, error->message);
        g_error_free(error);
        return;
    }
    add_candidate(p, c);
    chorus_sdp_candidate_free(c);
}

static json_t *media_info(const PeerMedia *m)
{
    return json_pack("{s:i,s:s,s:s,s:b,s:b,s:b,s:i,s:I,s:I,s:I,s:I,s:I,s:I}", "index", m->index,
                     "mid", m->mid, "type",
                     m->data    ? "data"
                     : m->video ? "video"
                                : "audio",
                     "rejected", m->rejected, "send", m->send, "recv", m->recv, "pt", m->pt,
                     "local_ssrc", (json_int_t)m->local_ssrc, "remote_ssrc",
                     (json_int_t)m->remote_ssrc, "rx_packets", (json_int_t)m->rx_packets,
                     "rx_bytes", (json_int_t)m->rx_bytes, "tx_packets", (json_int_t)m->tx_packets,
                     "tx_bytes", (json_int_t)m->tx_bytes);
}

json_t *chorus_peer_info(chorus_handle *h)
{
    ChorusPeer *p = h->peer;
    if (p == NULL)
        return NULL;
    g_autofree char *pair = chorus_ice_selected_pair(p->ice);
    json_t *media = json_array();
    for (guint i = 0; i < p->n_media; i++)
        json_array_append_new(media, media_info(&p->media[i]));
    json_t *info = json_pack(
        "{s:s?,s:i,s:s,s:s,s:b,s:b,s:s,s:I,s:o}", "ice_pair", pair, "ice_state",
        chorus_ice_state(p->ice), "dtls_state",
        p->dtls ? (chorus_dtls_state(p->dtls) == CHORUS_DTLS_CONNECTED ? "connected" : "other")
                : "none",
        "srtp_profile", p->srtp ? chorus_srtp_profile_name(chorus_srtp_profile(p->srtp)) : "none",
        "webrtcup", p->webrtcup, "trickle", p->trickle, "remote_fingerprint",
        p->remote_fingerprint ? p->remote_fingerprint : "", "srtp_errors",
        (json_int_t)p->srtp_errors, "media", media);
    /* How packets leave: "direct" (sendto on the selected pair's socket) or "libnice"
     * (relayed or TCP pairs, or while ICE is not connected), with both counts. */
    json_object_set_new(info, "ice_send",
                        json_string(chorus_ice_direct_active(p->ice) ? "direct" : "libnice"));
    json_object_set_new(info, "ice_direct_sends",
                        json_integer((json_int_t)chorus_ice_direct_sends(p->ice)));
    json_object_set_new(info, "ice_libnice_sends",
                        json_integer((json_int_t)chorus_ice_fallback_sends(p->ice)));
    return info;
}

json_t *chorus_peer_send_stats(void)
{
    return json_pack("{s:i,s:I,s:I,s:I}", "io_uring_threads", (int)chorus_udp_batch_rings(),
                     "batched_sends", (json_int_t)chorus_udp_batch_sent(), "batch_submits",
                     (json_int_t)chorus_udp_batch_submits(), "batch_errors",
                     (json_int_t)chorus_udp_batch_errors());
}
