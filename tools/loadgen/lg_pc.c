/* chorus-loadgen: client PeerConnection on Chorus's net and media layers (see lg_pc.h). */
#include "lg_pc.h"

#include <errno.h>
#include <string.h>

#include "media/rtp.h"
#include "media/sdp.h"
#include "media/sdp_answer.h"
#include "net/ice.h"
#include "net/srtp.h"

#define URI_LEVEL  "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define URI_MID    "urn:ietf:params:rtp-hdrext:sdes:mid"
#define OPUS_PT    111
#define HDR_EXT    20 /* RTP header with a one-byte extension block holding audio level */
#define HDR_PLAIN  12
#define MAX_MLINES 64

struct LgPc {
    const LgPcEnv *env;
    LgPcCallbacks cb;
    void *user;
    ChorusIce *ice;
    ChorusDtls *dtls;
    ChorusSrtp *srtp;
    gboolean failed, send_ok;
    guint n_offered, n_recv;
    /* sending m-line */
    guint32 ssrc, ts;
    guint16 seq;
    guint8 pt;
    int level_id; /* negotiated audio level extension id, or <= 0 */
    gboolean first_sent;
    LgPcCounters counters;
    guint8 tx[HDR_EXT + LG_PC_MAX_PAYLOAD + CHORUS_SRTP_MAX_TRAILER + 16];
};

static const ChorusSrtpProfile profiles[] = {CHORUS_SRTP_AEAD_AES_128_GCM,
                                             CHORUS_SRTP_AES128_CM_SHA1_80, CHORUS_SRTP_NONE};

static void pc_fail(LgPc *pc, const char *reason)
{
    if (pc->failed)
        return;
    pc->failed = TRUE;
    if (pc->cb.on_failed)
        pc->cb.on_failed(pc->user, pc, reason);
}

/* ---- receive path (per packet) ---------------------------------------------------- */

/* When the datagram reached our socket, on the monotonic clock of the send stamps: the
 * kernel's receive time (SO_TIMESTAMPNS, CLOCK_REALTIME) moved onto it, so the time this
 * thread took to get to the packet is not counted as the server's; now when unknown. */
static gint64 pc_rx_time(LgPc *pc)
{
    gint64 now = g_get_monotonic_time(), kernel = chorus_ice_rx_walltime(pc->ice);
    if (kernel <= 0)
        return now;
    gint64 ago = g_get_real_time() - kernel;
    return ago > 0 && ago < 10 * G_USEC_PER_SEC ? now - ago : now;
}

static void pc_rtp_in(LgPc *pc, guint8 *buf, size_t len)
{
    if (chorus_srtp_unprotect_rtp(pc->srtp, buf, &len) != 0) {
        pc->counters.srtp_errors++;
        return;
    }
    size_t off = HDR_PLAIN + 4u * (buf[0] & 0x0f);
    if ((buf[0] & 0x10) && off + 4 <= len)
        off += 4 + 4u * chorus_rd16(buf + off + 2);
    if ((buf[0] & 0x20) && len > 0)
        len -= buf[len - 1] <= len ? buf[len - 1] : len;
    if (off > len)
        return;
    pc->counters.rtp_rx++;
    pc->cb.on_payload(pc->user, buf + off, len - off, pc_rx_time(pc));
}

static void pc_ice_recv(void *user, uint8_t *buf, size_t len)
{
    LgPc *pc = user;
    guint8 b = len ? buf[0] : 0;
    if (b >= 20 && b <= 63) {
        if (pc->dtls)
            chorus_dtls_incoming(pc->dtls, buf, len);
        return;
    }
    if (b < 128 || b > 191 || len < HDR_PLAIN || !pc->srtp)
        return;
    guint8 type = buf[1] & 0x7f;
    if (type >= 64 && type <= 95) { /* RTCP (RFC 5761): counted, not decrypted */
        pc->counters.rtcp_rx++;
        return;
    }
    pc_rtp_in(pc, buf, len);
}

/* ---- DTLS and ICE callbacks ------------------------------------------------------- */

static int pc_dtls_send(void *user, const uint8_t *buf, size_t len)
{
    LgPc *pc = user;
    return chorus_ice_send(pc->ice, buf, len);
}

static void pc_dtls_connected(void *user, const ChorusSrtpKeys *keys)
{
    LgPc *pc = user;
    GError *error = NULL;
    pc->srtp = chorus_srtp_new(keys, &error);
    if (!pc->srtp) {
        g_warning("SRTP: %s", error->message);
        g_error_free(error);
        pc_fail(pc, "SRTP setup failed");
        return;
    }
    if (pc->cb.on_up)
        pc->cb.on_up(pc->user, pc);
}

static void pc_dtls_data(void *user, const uint8_t *buf, size_t len) {}

static void pc_dtls_state(void *user, ChorusDtlsState state, const char *reason)
{
    if (state == CHORUS_DTLS_FAILED || state == CHORUS_DTLS_CLOSED)
        pc_fail(user, reason ? reason : "DTLS failed");
}

static const ChorusDtlsCallbacks dtls_callbacks = {pc_dtls_send, pc_dtls_connected, pc_dtls_data,
                                                   pc_dtls_state};

static void pc_ice_state(void *user, ChorusIceState state, const char *reason)
{
    LgPc *pc = user;
    if (state == CHORUS_ICE_CONNECTED && pc->dtls && chorus_dtls_state(pc->dtls) == CHORUS_DTLS_NEW)
        chorus_dtls_start(pc->dtls);
    else if (state == CHORUS_ICE_FAILED)
        pc_fail(pc, reason ? reason : "ICE failed");
}

static const ChorusIceCallbacks ice_callbacks = {pc_ice_recv, NULL, NULL, pc_ice_state};

/* ---- creation --------------------------------------------------------------------- */

LgPc *lg_pc_new(const LgPcEnv *env, gboolean controlling, const LgPcCallbacks *cb, void *user,
                GError **error)
{
    LgPc *pc = g_new0(LgPc, 1);
    pc->env = env;
    pc->cb = *cb;
    pc->user = user;
    pc->ssrc = g_random_int() | 1u;
    pc->seq = (guint16)g_random_int();
    pc->ts = g_random_int();
    ChorusIceConfig cfg = {
        .interfaces = env->interfaces,
        .loopback = env->loopback,
        .timeout_s = env->ice_timeout_s,
        .controlling = controlling,
    };
    pc->ice = chorus_ice_new(env->ctx, &cfg, &ice_callbacks, pc);
    if (pc->ice)
        chorus_ice_set_rx_timestamps(pc->ice, TRUE);
    if (!pc->ice) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create an ICE agent");
        g_free(pc);
        return NULL;
    }
    return pc;
}

void lg_pc_free(LgPc *pc)
{
    if (!pc)
        return;
    pc->failed = TRUE; /* no callback from here on */
    if (pc->dtls)
        chorus_dtls_free(pc->dtls);
    if (pc->srtp)
        chorus_srtp_free(pc->srtp);
    chorus_ice_free(pc->ice);
    g_free(pc);
}

/* Gathers our host candidates (libnice adds them synchronously); NULL if none. */
static char **pc_gather(LgPc *pc, GError **error)
{
    if (!chorus_ice_gather(pc->ice, error))
        return NULL;
    char **cands = chorus_ice_local_candidates(pc->ice);
    if (!cands || !cands[0]) {
        g_strfreev(cands);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "no local ICE candidate");
        return NULL;
    }
    return cands;
}

/* ---- offer / answer --------------------------------------------------------------- */

static void offer_mline(LgPc *pc, GString *s, guint i, LgDirection dir, char **cands)
{
    static const char *const names[] = {"sendonly", "recvonly", "sendrecv"};
    g_string_append_printf(s,
                           "m=audio 9 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 0.0.0.0\r\n"
                           "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:%s\r\n"
                           "a=setup:actpass\r\na=mid:%u\r\na=extmap:1 " URI_LEVEL "\r\n"
                           "a=extmap:4 " URI_MID "\r\na=%s\r\n",
                           OPUS_PT, chorus_ice_local_ufrag(pc->ice), chorus_ice_local_pwd(pc->ice),
                           chorus_dtls_cert_fingerprint(pc->env->cert), i, names[dir]);
    if (dir != LG_DIR_RECVONLY)
        g_string_append_printf(s, "a=msid:lg-%08x mic\r\n", pc->ssrc);
    g_string_append_printf(s,
                           "a=rtcp-mux\r\na=rtpmap:%d opus/48000/2\r\n"
                           "a=fmtp:%d minptime=10;useinbandfec=1\r\n",
                           OPUS_PT, OPUS_PT);
    if (dir != LG_DIR_RECVONLY)
        g_string_append_printf(s, "a=ssrc:%u cname:lg-%08x\r\n", pc->ssrc, pc->ssrc);
    for (guint c = 0; i == 0 && cands[c]; c++)
        g_string_append_printf(s, "a=%s\r\n", cands[c]);
    if (i == 0)
        g_string_append(s, "a=end-of-candidates\r\n");
}

char *lg_pc_create_offer(LgPc *pc, LgDirection first, guint n_recv, GError **error)
{
    if (1 + n_recv > MAX_MLINES) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "too many m-lines");
        return NULL;
    }
    g_auto(GStrv) cands = pc_gather(pc, error);
    if (!cands)
        return NULL;
    GString *s = g_string_new(NULL);
    g_string_append_printf(s,
                           "v=0\r\no=- %u 1 IN IP4 127.0.0.1\r\ns=chorus-loadgen\r\nt=0 0\r\n"
                           "a=group:BUNDLE",
                           g_random_int() >> 1);
    for (guint i = 0; i <= n_recv; i++)
        g_string_append_printf(s, " %u", i);
    g_string_append(s, "\r\na=msid-semantic: WMS *\r\n");
    for (guint i = 0; i <= n_recv; i++)
        offer_mline(pc, s, i, i == 0 ? first : LG_DIR_RECVONLY, cands);
    pc->n_offered = 1 + n_recv;
    return g_string_free(s, FALSE);
}

static void pc_add_sdp_candidates(LgPc *pc, const ChorusSdp *sdp)
{
    gboolean done = FALSE;
    for (guint i = 0; i < sdp->media->len; i++) {
        const ChorusSdpMedia *m = g_ptr_array_index(sdp->media, i);
        for (guint c = 0; c < m->candidates->len; c++) {
            g_autofree char *text =
                chorus_sdp_candidate_to_string(g_ptr_array_index(m->candidates, c));
            chorus_ice_add_remote_candidate(pc->ice, text, NULL); /* mDNS etc.: skipped */
        }
        done = done || m->end_of_candidates;
    }
    if (done)
        chorus_ice_remote_gathering_done(pc->ice);
}

/* The remote transport of m (BUNDLE: one for all): DTLS in our role, ICE credentials
 * and candidates. */
static gboolean pc_setup_transport(LgPc *pc, const ChorusSdp *sdp, const ChorusSdpMedia *m,
                                   ChorusDtlsRole role, GError **error)
{
    const ChorusSdpFingerprint *fp = chorus_sdp_media_fingerprint(sdp, m);
    const char *ufrag = chorus_sdp_media_ice_ufrag(sdp, m);
    const char *pwd = chorus_sdp_media_ice_pwd(sdp, m);
    if (!fp || !fp->algorithm || !fp->value || !ufrag || !pwd) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "the remote SDP lacks ICE credentials or a fingerprint");
        return FALSE;
    }
    g_autofree char *fingerprint = g_strdup_printf("%s %s", fp->algorithm, fp->value);
    pc->dtls = chorus_dtls_new(pc->env->cert, role, fingerprint, profiles, pc->env->ctx,
                               &dtls_callbacks, pc);
    if (!pc->dtls) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "unusable remote fingerprint");
        return FALSE;
    }
    if (!chorus_ice_set_remote_credentials(pc->ice, ufrag, pwd, error))
        return FALSE;
    pc_add_sdp_candidates(pc, sdp);
    if (chorus_ice_state(pc->ice) == CHORUS_ICE_CONNECTED)
        chorus_dtls_start(pc->dtls);
    return TRUE;
}

static const ChorusSdpMedia *first_accepted(const ChorusSdp *sdp)
{
    for (guint i = 0; i < sdp->media->len; i++) {
        const ChorusSdpMedia *m = g_ptr_array_index(sdp->media, i);
        if (m->port != 0)
            return m;
    }
    return NULL;
}

/* m-lines on which the remote side sends to us (accepted, direction sendonly/sendrecv
 * from the point of view of sdp's author). */
static guint count_sending(const ChorusSdp *sdp)
{
    guint n = 0;
    for (guint i = 0; i < sdp->media->len; i++) {
        const ChorusSdpMedia *m = g_ptr_array_index(sdp->media, i);
        ChorusSdpDirection d = chorus_sdp_media_direction(sdp, m);
        if (m->port != 0 && m->kind == CHORUS_SDP_MEDIA_AUDIO &&
            (d == CHORUS_SDP_DIRECTION_SENDONLY || d == CHORUS_SDP_DIRECTION_SENDRECV))
            n++;
    }
    return n;
}

gboolean lg_pc_apply_answer(LgPc *pc, const char *sdp_text, GError **error)
{
    g_autoptr(ChorusSdp) sdp = chorus_sdp_parse(sdp_text, -1, error);
    if (!sdp)
        return FALSE;
    const ChorusSdpMedia *t = first_accepted(sdp);
    if (sdp->media->len != pc->n_offered || !t) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "the answer has %u m-lines (%u offered) and %s accepted", sdp->media->len,
                    pc->n_offered, t ? "some" : "none");
        return FALSE;
    }
    ChorusSdpSetup setup = chorus_sdp_media_setup(sdp, t);
    ChorusDtlsRole role =
        setup == CHORUS_SDP_SETUP_ACTIVE ? CHORUS_DTLS_ROLE_SERVER : CHORUS_DTLS_ROLE_CLIENT;
    const ChorusSdpMedia *m0 = g_ptr_array_index(sdp->media, 0);
    ChorusSdpDirection d0 = chorus_sdp_media_direction(sdp, m0);
    pc->send_ok = m0->port != 0 &&
                  (d0 == CHORUS_SDP_DIRECTION_RECVONLY || d0 == CHORUS_SDP_DIRECTION_SENDRECV);
    ChorusSdpCodec *codec = chorus_sdp_media_primary_codec(m0);
    pc->pt = codec ? codec->pt : OPUS_PT;
    pc->level_id = chorus_sdp_media_find_extmap(m0, URI_LEVEL);
    if (pc->level_id > 14)
        pc->level_id = -1; /* we write the one-byte form only */
    pc->n_recv = count_sending(sdp);
    return pc_setup_transport(pc, sdp, t, role, error);
}

/* Our candidates on the first accepted m-line of a non-trickle answer. */
static void answer_add_candidates(ChorusSdp *answer, char **cands)
{
    ChorusSdpMedia *m = (ChorusSdpMedia *)first_accepted(answer);
    for (guint i = 0; m && cands[i]; i++) {
        ChorusSdpCandidate *c = chorus_sdp_candidate_parse(cands[i], NULL);
        if (c)
            g_ptr_array_add(m->candidates, c);
    }
    if (m)
        m->end_of_candidates = TRUE;
}

static ChorusSdp *pc_build_answer(LgPc *pc, const ChorusSdp *offer, GError **error)
{
    static const char *const extensions[] = {URI_LEVEL, URI_MID, NULL};
    static const char *const no_feedback[] = {NULL};
    ChorusSdpAnswerMedia am[MAX_MLINES];
    guint n = MIN(offer->media->len, MAX_MLINES);
    for (guint i = 0; i < n; i++)
        am[i] = (ChorusSdpAnswerMedia){.direction = CHORUS_SDP_DIRECTION_RECVONLY};
    const char *fp = chorus_dtls_cert_fingerprint(pc->env->cert);
    const char *space = strchr(fp, ' ');
    g_autofree char *algorithm = g_strndup(fp, (gsize)(space - fp));
    ChorusSdpLocalCaps caps = {
        .ice_ufrag = chorus_ice_local_ufrag(pc->ice),
        .ice_pwd = chorus_ice_local_pwd(pc->ice),
        .fingerprint_algorithm = algorithm,
        .fingerprint = space + 1,
        .setup = CHORUS_SDP_SETUP_ACTIVE,
        .session_name = "chorus-loadgen",
        .cname = "lg",
        .rtcp_fb = no_feedback,
        .extensions = extensions,
        .media = am,
        .n_media = n,
    };
    return chorus_sdp_answer_build(offer, &caps, error);
}

char *lg_pc_answer_offer(LgPc *pc, const char *sdp_text, GError **error)
{
    g_autoptr(ChorusSdp) offer = chorus_sdp_parse(sdp_text, -1, error);
    if (!offer)
        return NULL;
    g_auto(GStrv) cands = pc_gather(pc, error);
    if (!cands)
        return NULL;
    g_autoptr(ChorusSdp) answer = pc_build_answer(pc, offer, error);
    if (!answer)
        return NULL;
    const ChorusSdpMedia *t = first_accepted(answer);
    if (!t) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "no acceptable m-line offered");
        return NULL;
    }
    answer_add_candidates(answer, cands);
    ChorusSdpSetup ours = chorus_sdp_media_setup(answer, t);
    ChorusDtlsRole role =
        ours == CHORUS_SDP_SETUP_PASSIVE ? CHORUS_DTLS_ROLE_SERVER : CHORUS_DTLS_ROLE_CLIENT;
    pc->n_offered = offer->media->len;
    pc->n_recv = count_sending(offer);
    guint index = 0;
    chorus_sdp_find_media_by_mid(answer, t->mid, &index);
    if (!pc_setup_transport(pc, offer, g_ptr_array_index(offer->media, index), role, error))
        return NULL;
    return chorus_sdp_to_string(answer);
}

void lg_pc_add_remote_candidate(LgPc *pc, const char *candidate)
{
    if (!candidate || !*candidate)
        chorus_ice_remote_gathering_done(pc->ice);
    else
        chorus_ice_add_remote_candidate(pc->ice, candidate, NULL);
}

/* ---- accessors -------------------------------------------------------------------- */

guint lg_pc_recv_mlines(const LgPc *pc)
{
    return pc->n_recv;
}

const char *lg_pc_send_mid(const LgPc *pc)
{
    return "0";
}

gboolean lg_pc_is_up(const LgPc *pc)
{
    return pc->srtp != NULL && !pc->failed;
}

const LgPcCounters *lg_pc_counters(const LgPc *pc)
{
    return &pc->counters;
}

const char *lg_pc_srtp_profile(const LgPc *pc)
{
    return pc->srtp ? chorus_srtp_profile_name(chorus_srtp_profile(pc->srtp)) : "none";
}

/* ---- send path (per packet) ------------------------------------------------------- */

guint8 *lg_pc_tx_payload(LgPc *pc)
{
    return pc->tx + HDR_EXT;
}

gboolean lg_pc_tx_send(LgPc *pc, size_t payload_len, guint32 samples, guint8 audio_level)
{
    if (G_UNLIKELY(!pc->srtp || !pc->send_ok || pc->failed || payload_len > LG_PC_MAX_PAYLOAD)) {
        pc->counters.tx_not_ready++;
        return FALSE;
    }
    gboolean ext = pc->level_id > 0;
    guint8 *p = ext ? pc->tx : pc->tx + (HDR_EXT - HDR_PLAIN);
    pc->seq++;
    pc->ts += samples;
    chorus_rtp_write_header(p, HDR_PLAIN, pc->pt, !pc->first_sent, pc->seq, pc->ts, pc->ssrc);
    pc->first_sent = TRUE;
    if (ext) {
        p[0] |= 0x10; /* X */
        static const guint8 bede[4] = {0xbe, 0xde, 0x00, 0x01};
        memcpy(p + HDR_PLAIN, bede, 4);      /* one 32-bit word of extensions */
        p[16] = (guint8)(pc->level_id << 4); /* id, length 1 (L = 0) */
        p[17] = 0x80 | (audio_level & 0x7f); /* V = 1: voice */
        p[18] = p[19] = 0;
    }
    size_t len = (size_t)(pc->tx + HDR_EXT - p) + payload_len;
    size_t cap = sizeof pc->tx - (size_t)(p - pc->tx);
    if (chorus_srtp_protect_rtp(pc->srtp, p, &len, cap) != 0) {
        pc->counters.tx_srtp++;
        return FALSE;
    }
    if (chorus_ice_send(pc->ice, p, len) < 0) {
        pc->counters.tx_socket++;
        pc->counters.tx_last_errno = errno;
        return FALSE;
    }
    pc->counters.rtp_tx++;
    return TRUE;
}
