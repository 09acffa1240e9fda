/* libFuzzer target: SDP offers as they arrive in a Janus "jsep" (media/sdp.h), and ICE
 * candidates as they arrive in a "trickle" (chorus_sdp_candidate_parse).
 *
 * Input: SDP text (any bytes). Checks, beyond memory safety (libFuzzer's buffer has exactly
 * size bytes and the parser is given the length, so ASan sees any read past the end):
 *  - a refused parse sets a CHORUS_SDP_ERROR with a message; the length-given and the
 *    NUL-terminated forms of the same text agree;
 *  - parse -> serialize -> parse gives an equal model (chorus_sdp_equal), and serializing
 *    that gives the same text again;
 *  - every query finds what the model holds; every candidate survives to_string -> parse;
 *  - an answer built with fixed local capabilities (two sets) serializes to SDP that
 *    parses back to the same model;
 *  - the input taken as one trickled candidate line, when it parses, survives
 *    to_string -> parse -> to_string. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/sdp.h"
#include "media/sdp_answer.h"
#include "util/log.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FP_LOCAL                                                                                   \
    "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:"   \
    "E8:F9"

static void silence_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer u) {}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    chorus_log_set_level(CHORUS_LOG_FATAL);
    g_log_set_default_handler(silence_log, NULL);
    return 0;
}

static ChorusSdp *parse_checked(const char *text, gssize len)
{
    GError *error = NULL;
    ChorusSdp *sdp = chorus_sdp_parse(text, len, &error);
    if (sdp == NULL) {
        CHECK(error != NULL && error->domain == CHORUS_SDP_ERROR && error->message != NULL);
        g_error_free(error);
    } else {
        CHECK(error == NULL);
    }
    return sdp;
}

/* text must parse to a model equal to sdp, and serialize to the same text again. */
static void check_reparse(const ChorusSdp *sdp, const char *text)
{
    ChorusSdp *again = parse_checked(text, -1);
    if (again == NULL) {
        fprintf(stderr, "serialized SDP does not parse:\n%s\n", text);
        CHECK(!"reparse");
    }
    if (!chorus_sdp_equal(sdp, again)) {
        fprintf(stderr, "serialized SDP parses to another model:\n%s\n", text);
        CHECK(!"equal");
    }
    char *text2 = chorus_sdp_to_string(again);
    CHECK(strcmp(text, text2) == 0);
    g_free(text2);
    chorus_sdp_free(again);
}

static void check_candidate(const ChorusSdpCandidate *c)
{
    char *text = chorus_sdp_candidate_to_string(c);
    CHECK(text != NULL && g_str_has_prefix(text, "candidate:"));
    GError *error = NULL;
    ChorusSdpCandidate *again = chorus_sdp_candidate_parse(text, &error);
    if (again == NULL)
        fprintf(stderr, "candidate does not parse back: %s (%s)\n", text, error->message);
    CHECK(again != NULL);
    char *text2 = chorus_sdp_candidate_to_string(again);
    CHECK(strcmp(text, text2) == 0);
    g_free(text2);
    g_free(text);
    chorus_sdp_candidate_free(again);
}

static void check_codecs(const ChorusSdpMedia *m)
{
    for (guint i = 0; i < m->codecs->len; i++) {
        const ChorusSdpCodec *c = g_ptr_array_index(m->codecs, i);
        const ChorusSdpCodec *found = chorus_sdp_media_find_codec(m, c->pt);
        CHECK(found != NULL && found->pt == c->pt);
        int rtx = chorus_sdp_media_find_rtx(m, c->pt);
        CHECK(rtx >= -1 && rtx <= 127);
        (void)chorus_sdp_media_has_rtcp_fb(m, c->pt, "nack", NULL);
        (void)chorus_sdp_media_has_rtcp_fb(m, c->pt, "nack", "pli");
        if (c->fmtp != NULL) {
            g_free(chorus_sdp_fmtp_get(c->fmtp, "apt"));
            g_free(chorus_sdp_fmtp_get(c->fmtp, "profile-level-id"));
            g_free(chorus_sdp_fmtp_get(c->fmtp, ""));
        }
    }
    const ChorusSdpCodec *primary = chorus_sdp_media_primary_codec(m);
    if (primary != NULL)
        CHECK(chorus_sdp_media_find_codec(m, primary->pt) != NULL);
}

static void check_media_queries(const ChorusSdp *sdp, guint index)
{
    const ChorusSdpMedia *m = g_ptr_array_index(sdp->media, index);
    if (m->mid != NULL) {
        guint at = G_MAXUINT;
        const ChorusSdpMedia *found = chorus_sdp_find_media_by_mid(sdp, m->mid, &at);
        CHECK(found != NULL && at <= index && strcmp(found->mid, m->mid) == 0);
        (void)chorus_sdp_is_bundled(sdp, m->mid);
    }
    CHECK(chorus_sdp_direction_name(chorus_sdp_media_direction(sdp, m)) != NULL);
    CHECK(chorus_sdp_setup_name(chorus_sdp_media_setup(sdp, m)) != NULL);
    (void)chorus_sdp_media_ice_ufrag(sdp, m);
    (void)chorus_sdp_media_ice_pwd(sdp, m);
    (void)chorus_sdp_media_fingerprint(sdp, m);
    check_codecs(m);
    for (guint i = 0; i < m->extmaps->len; i++) {
        const ChorusSdpExtmap *e = g_ptr_array_index(m->extmaps, i);
        int id = chorus_sdp_media_find_extmap(m, e->uri);
        CHECK(id >= 1 && id <= 255);
    }
    for (guint i = 0; i < m->ssrcs->len; i++) {
        const ChorusSdpSsrc *s = g_ptr_array_index(m->ssrcs, i);
        const ChorusSdpSsrc *found = chorus_sdp_media_find_ssrc(m, s->ssrc);
        CHECK(found != NULL && found->ssrc == s->ssrc);
    }
    for (int dir = CHORUS_SDP_RID_SEND; dir <= CHORUS_SDP_RID_RECV; dir++) {
        char **rids = chorus_sdp_media_list_rids(m, (ChorusSdpRidDirection)dir);
        CHECK(rids != NULL);
        g_strfreev(rids);
    }
    for (guint i = 0; i < m->candidates->len; i++) {
        const ChorusSdpCandidate *c = g_ptr_array_index(m->candidates, i);
        CHECK(chorus_sdp_cand_type_name(c->type) != NULL);
        check_candidate(c);
    }
}

static void check_answer(const ChorusSdp *offer, const ChorusSdpLocalCaps *caps)
{
    GError *error = NULL;
    ChorusSdp *answer = chorus_sdp_answer_build(offer, caps, &error);
    if (answer == NULL) {
        CHECK(error != NULL && error->domain == CHORUS_SDP_ERROR);
        g_error_free(error);
        return;
    }
    CHECK(error == NULL);
    CHECK(answer->media->len == offer->media->len);
    char *text = chorus_sdp_to_string(answer);
    check_reparse(answer, text);
    g_free(text);
    chorus_sdp_free(answer);
}

static void check_answers(const ChorusSdp *offer)
{
    ChorusSdpLocalCaps caps = {0};
    caps.ice_ufrag = "Srv1";
    caps.ice_pwd = "abcdefghijklmnopqrstuvwx";
    caps.fingerprint_algorithm = "sha-256";
    caps.fingerprint = FP_LOCAL;
    caps.session_id = 42;
    caps.data_channels = TRUE;
    check_answer(offer, &caps);

    /* Another shape: passive, lite, no data channels, explicit codec lists and per-m-line
     * wishes (send with SSRCs and msid, reject, a forced codec, inactive). */
    static const ChorusSdpCodecPref audio[] = {{"PCMU", 8000, 1}, {"opus", 48000, 2}};
    static const ChorusSdpCodecPref video[] = {{"H264", 90000, 0}, {"AV1", 0, 0}, {"VP8", 0, 0}};
    static const char *const fb[] = {"nack", "nack pli", "transport-cc", NULL};
    static const char *const ext[] = {"urn:ietf:params:rtp-hdrext:sdes:mid",
                                      "urn:ietf:params:rtp-hdrext:ssrc-audio-level", NULL};
    const ChorusSdpAnswerMedia wishes[] = {
        {.direction = CHORUS_SDP_DIRECTION_SENDRECV,
         .ssrc = 1111,
         .rtx_ssrc = 2222,
         .msid_stream = "s",
         .msid_track = "t"},
        {.reject = TRUE},
        {.codec = "VP9", .ssrc = 3333},
        {.direction = CHORUS_SDP_DIRECTION_INACTIVE},
    };
    caps.setup = CHORUS_SDP_SETUP_PASSIVE;
    caps.ice_lite = TRUE;
    caps.data_channels = FALSE;
    caps.audio_codecs = audio;
    caps.n_audio_codecs = G_N_ELEMENTS(audio);
    caps.video_codecs = video;
    caps.n_video_codecs = G_N_ELEMENTS(video);
    caps.rtcp_fb = fb;
    caps.extensions = ext;
    caps.media = wishes;
    caps.n_media = G_N_ELEMENTS(wishes);
    caps.session_version = 7;
    caps.origin_address = "192.0.2.1";
    caps.session_name = "fuzz";
    caps.cname = "fuzzcname";
    check_answer(offer, &caps);
}

/* The input as one trickled candidate ("candidate:...", "a=candidate:..." or bare). */
static void check_trickle_candidate(const char *text)
{
    GError *error = NULL;
    ChorusSdpCandidate *c = chorus_sdp_candidate_parse(text, &error);
    if (c == NULL) {
        CHECK(error != NULL && error->message != NULL);
        g_error_free(error);
        return;
    }
    CHECK(error == NULL);
    check_candidate(c);
    chorus_sdp_candidate_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * CHORUS_SDP_MAX_SIZE)
        return 0; /* refused by size alone; nothing to learn */
    const char *text = (const char *)data;
    char *cstr = g_strndup(text, size); /* stops at the first NUL */
    gboolean has_nul = strlen(cstr) != size;

    ChorusSdp *sdp = parse_checked(text, (gssize)size);
    ChorusSdp *sdp_c = parse_checked(cstr, -1);
    if (!has_nul) {
        CHECK((sdp == NULL) == (sdp_c == NULL));
        if (sdp != NULL)
            CHECK(chorus_sdp_equal(sdp, sdp_c));
    }
    chorus_sdp_free(sdp_c);

    if (sdp != NULL) {
        char *out = chorus_sdp_to_string(sdp);
        CHECK(out != NULL && g_str_has_suffix(out, "\r\n"));
        check_reparse(sdp, out);
        g_free(out);
        for (guint i = 0; i < sdp->media->len; i++)
            check_media_queries(sdp, i);
        check_answers(sdp);
        chorus_sdp_free(sdp);
    }
    if (size <= CHORUS_SDP_MAX_LINE + 16)
        check_trickle_candidate(cstr);
    g_free(cstr);
    return 0;
}
