/* Unit tests of the SDP parser, serializer, candidate parser and answer builder. */
#include <string.h>

#include <glib.h>

#include "media/sdp.h"
#include "media/sdp_answer.h"

#ifndef SDP_CORPUS_DIR
#define SDP_CORPUS_DIR "tests/fuzz/corpus/sdp"
#endif

#define SEED_CHROMIUM "chromium_av_data_simulcast.sdp"
#define SEED_FIREFOX  "firefox_av_data.sdp"
#define SEED_AIORTC   "aiortc_av.sdp"
#define SEED_JANUSJS  "janusjs_audio_recvvideo_data.sdp"

static const char *const seeds[] = {SEED_CHROMIUM, SEED_FIREFOX, SEED_AIORTC, SEED_JANUSJS};

#define FP_LOCAL                                                                                   \
    "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:"   \
    "E8:F9"

/* A minimal valid session head (4 lines) and a transport for the first m-line. */
#define HEAD "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
#define TRANSPORT                                                                                  \
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 " FP_LOCAL    \
    "\r\na=setup:actpass\r\n"
/* An audio m-line, lines 5..7 after HEAD. */
#define AUDIO_M "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"

/* ---- Helpers ------------------------------------------------------------------------- */

static char *load_seed(const char *name)
{
    g_autofree char *path = g_build_filename(SDP_CORPUS_DIR, name, NULL);
    g_autoptr(GError) error = NULL;
    char *text = NULL;
    g_file_get_contents(path, &text, NULL, &error);
    g_assert_no_error(error);
    return text;
}

static ChorusSdp *parse_ok(const char *text)
{
    g_autoptr(GError) error = NULL;
    ChorusSdp *sdp = chorus_sdp_parse(text, -1, &error);
    g_assert_no_error(error);
    g_assert_nonnull(sdp);
    return sdp;
}

static ChorusSdp *parse_seed(const char *name)
{
    g_autofree char *text = load_seed(name);
    return parse_ok(text);
}

static ChorusSdpMedia *media_at(const ChorusSdp *sdp, guint i)
{
    g_assert_cmpuint(i, <, sdp->media->len);
    return sdp->media->pdata[i];
}

static ChorusSdpLocalCaps local_caps(void)
{
    ChorusSdpLocalCaps caps = {0};
    caps.ice_ufrag = "Srv1";
    caps.ice_pwd = "abcdefghijklmnopqrstuvwx";
    caps.fingerprint_algorithm = "sha-256";
    caps.fingerprint = FP_LOCAL;
    caps.session_id = 42;
    caps.data_channels = TRUE;
    return caps;
}

/* Builds the answer, checks it serializes to SDP that parses back to the same model. */
static ChorusSdp *answer_ok(const ChorusSdp *offer, const ChorusSdpLocalCaps *caps)
{
    g_autoptr(GError) error = NULL;
    ChorusSdp *answer = chorus_sdp_answer_build(offer, caps, &error);
    g_assert_no_error(error);
    g_assert_nonnull(answer);
    g_autofree char *text = chorus_sdp_to_string(answer);
    g_autoptr(ChorusSdp) again = parse_ok(text);
    g_assert_true(chorus_sdp_equal(answer, again));
    return answer;
}

static void assert_rids(const ChorusSdpMedia *m, ChorusSdpRidDirection dir, const char *joined)
{
    g_auto(GStrv) rids = chorus_sdp_media_list_rids(m, dir);
    g_autofree char *s = g_strjoinv(",", rids);
    g_assert_cmpstr(s, ==, joined);
}

/* ---- Parsing real offers ------------------------------------------------------------- */

static void test_parse_chromium_session(void)
{
    g_autoptr(ChorusSdp) sdp = parse_seed(SEED_CHROMIUM);

    g_assert_cmpuint(sdp->origin.sess_id, ==, G_GUINT64_CONSTANT(4611731400430051336));
    g_assert_cmpuint(sdp->origin.sess_version, ==, 2);
    g_assert_cmpstr(sdp->origin.address, ==, "127.0.0.1");
    g_assert_true(sdp->extmap_allow_mixed);
    g_assert_cmpstr(sdp->msid_semantic, ==, "WMS 5c0f5d2e-9a8b-4c3d-8e1f-2a3b4c5d6e7f");
    g_assert_cmpuint(sdp->groups->len, ==, 1);
    const ChorusSdpGroup *g = sdp->groups->pdata[0];
    g_assert_cmpstr(g->semantics, ==, "BUNDLE");
    g_assert_cmpuint(g->mids->len, ==, 4);
    g_assert_true(chorus_sdp_is_bundled(sdp, "3"));
    g_assert_false(chorus_sdp_is_bundled(sdp, "4"));
    g_assert_cmpuint(sdp->media->len, ==, 4);
    g_assert_cmpint(media_at(sdp, 0)->kind, ==, CHORUS_SDP_MEDIA_AUDIO);
    g_assert_cmpint(media_at(sdp, 1)->kind, ==, CHORUS_SDP_MEDIA_VIDEO);
    g_assert_cmpint(media_at(sdp, 2)->kind, ==, CHORUS_SDP_MEDIA_VIDEO);
    g_assert_cmpint(media_at(sdp, 3)->kind, ==, CHORUS_SDP_MEDIA_APPLICATION);
}

static void test_parse_chromium_audio(void)
{
    g_autoptr(ChorusSdp) sdp = parse_seed(SEED_CHROMIUM);
    const ChorusSdpMedia *a = media_at(sdp, 0);

    g_assert_cmpstr(a->mid, ==, "0");
    g_assert_cmpuint(a->port, ==, 9);
    g_assert_cmpstr(a->proto, ==, "UDP/TLS/RTP/SAVPF");
    g_assert_cmpstr(a->connection->address, ==, "0.0.0.0");
    g_assert_cmpint(a->direction, ==, CHORUS_SDP_DIRECTION_SENDRECV);
    g_assert_true(a->rtcp_mux && a->rtcp_rsize);
    g_assert_cmpstr(a->ice.ufrag, ==, "Kp2b");
    g_assert_cmpstr(a->ice.pwd, ==, "f4p2yXvH9uWZ3nE1cR7tLq0s");
    g_assert_cmpstr(a->ice.options, ==, "trickle");
    g_assert_cmpstr(a->fingerprint.algorithm, ==, "sha-256");
    g_assert_cmpuint(strlen(a->fingerprint.value), ==, 95);
    g_assert_cmpint(a->setup, ==, CHORUS_SDP_SETUP_ACTPASS);
    g_assert_cmpuint(a->codecs->len, ==, 8);
    const ChorusSdpCodec *opus = chorus_sdp_media_find_codec(a, 111);
    g_assert_cmpstr(opus->encoding, ==, "opus");
    g_assert_cmpuint(opus->clock_rate, ==, 48000);
    g_assert_cmpuint(opus->channels, ==, 2);
    g_assert_cmpstr(opus->fmtp, ==, "minptime=10;useinbandfec=1");
    g_assert_true(chorus_sdp_media_has_rtcp_fb(a, 111, "transport-cc", NULL));
    g_assert_cmpuint(chorus_sdp_media_find_codec(a, 0)->clock_rate, ==, 8000);
    g_assert_cmpuint(chorus_sdp_media_find_codec(a, 0)->channels, ==, 0);
    g_assert_cmpint(chorus_sdp_media_find_extmap(a, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
                    ==, 1);
    g_assert_cmpint(chorus_sdp_media_find_extmap(a, "urn:ietf:params:rtp-hdrext:sdes:mid"), ==, 4);
    g_assert_cmpuint(a->msids->len, ==, 1);
    const ChorusSdpSsrc *s = chorus_sdp_media_find_ssrc(a, 3735928559u);
    g_assert_nonnull(s);
    g_assert_cmpstr(s->cname, ==, "Dq4rKcK5p0C3VbYd");
    g_assert_true(g_str_has_suffix(s->msid, " 1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"));
    /* a=rtcp is not modelled: it is kept verbatim. */
    g_assert_cmpuint(a->attrs->len, ==, 1);
    g_assert_cmpstr(((ChorusSdpAttr *)a->attrs->pdata[0])->name, ==, "rtcp");
    g_assert_cmpstr(((ChorusSdpAttr *)a->attrs->pdata[0])->value, ==, "9 IN IP4 0.0.0.0");
}

static void test_parse_chromium_video_data(void)
{
    g_autoptr(ChorusSdp) sdp = parse_seed(SEED_CHROMIUM);
    const ChorusSdpMedia *v = media_at(sdp, 1);

    g_assert_cmpint(v->direction, ==, CHORUS_SDP_DIRECTION_SENDONLY);
    g_assert_cmpuint(v->codecs->len, ==, 19);
    g_assert_cmpuint(v->extmaps->len, ==, 11);
    g_assert_true(chorus_sdp_media_has_rtcp_fb(v, 96, "nack", "pli"));
    g_assert_true(chorus_sdp_media_has_rtcp_fb(v, 96, "nack", NULL));
    g_assert_true(chorus_sdp_media_has_rtcp_fb(v, 96, "ccm", "fir"));
    g_assert_false(chorus_sdp_media_has_rtcp_fb(v, 97, "nack", NULL));
    g_assert_cmpint(chorus_sdp_media_find_rtx(v, 96), ==, 97);
    g_assert_cmpint(chorus_sdp_media_find_rtx(v, 39), ==, 40);
    g_assert_cmpint(chorus_sdp_media_find_rtx(v, 116), ==, -1);
    g_assert_cmpuint(v->rids->len, ==, 3);
    g_assert_cmpstr(v->simulcast_send, ==, "q;h;f");
    g_assert_null(v->simulcast_recv);
    assert_rids(v, CHORUS_SDP_RID_SEND, "q,h,f");
    assert_rids(v, CHORUS_SDP_RID_RECV, "");
    g_assert_cmpuint(v->ssrcs->len, ==, 0);

    const ChorusSdpMedia *screen = media_at(sdp, 2);
    g_assert_cmpuint(screen->ssrc_groups->len, ==, 1);
    const ChorusSdpSsrcGroup *fid = screen->ssrc_groups->pdata[0];
    g_assert_cmpstr(fid->semantics, ==, "FID");
    g_assert_cmpuint(fid->ssrcs->len, ==, 2);
    g_assert_cmpuint(g_array_index(fid->ssrcs, guint32, 0), ==, 1111111111u);
    g_assert_cmpuint(g_array_index(fid->ssrcs, guint32, 1), ==, 2222222222u);
    g_assert_cmpuint(screen->ssrcs->len, ==, 2);

    const ChorusSdpMedia *d = media_at(sdp, 3);
    g_assert_cmpstr(d->proto, ==, "UDP/DTLS/SCTP");
    g_assert_cmpstr(d->fmt, ==, "webrtc-datachannel");
    g_assert_cmpuint(d->codecs->len, ==, 0);
    g_assert_cmpuint(d->sctp_port, ==, 5000);
    g_assert_true(d->has_max_message_size);
    g_assert_cmpuint(d->max_message_size, ==, 262144);
}

static void test_parse_firefox(void)
{
    g_autoptr(ChorusSdp) sdp = parse_seed(SEED_FIREFOX);

    /* Session-level fingerprint, direction and ice-options apply to every m-line. */
    g_assert_cmpint(sdp->direction, ==, CHORUS_SDP_DIRECTION_SENDRECV);
    g_assert_cmpstr(sdp->ice.options, ==, "trickle");
    g_assert_cmpstr(sdp->msid_semantic, ==, "WMS *");
    const ChorusSdpMedia *a = media_at(sdp, 0);
    g_assert_null(a->fingerprint.value);
    g_assert_true(chorus_sdp_media_fingerprint(sdp, a) == &sdp->fingerprint);
    g_assert_cmpstr(chorus_sdp_media_ice_ufrag(sdp, a), ==, "9a8b7c6d");
    /* a=fmtp comes before a=rtpmap in Firefox offers. */
    const ChorusSdpCodec *opus = chorus_sdp_media_find_codec(a, 109);
    g_assert_cmpstr(opus->encoding, ==, "opus");
    g_assert_cmpstr(opus->fmtp, ==, "maxplaybackrate=48000;stereo=1;useinbandfec=1");
    g_assert_cmpuint(chorus_sdp_media_find_codec(a, 9)->channels, ==, 1);
    const ChorusSdpExtmap *e = a->extmaps->pdata[1];
    g_assert_cmpuint(e->id, ==, 2);
    g_assert_cmpint(e->direction, ==, CHORUS_SDP_DIRECTION_RECVONLY);
    const ChorusSdpMedia *v = media_at(sdp, 1);
    g_assert_cmpint(chorus_sdp_media_find_rtx(v, 126), ==, 127);
    g_assert_cmpuint(v->ssrcs->len, ==, 2);
    g_assert_cmpuint(media_at(sdp, 2)->max_message_size, ==, 1073741823);
    g_assert_cmpint(chorus_sdp_media_direction(sdp, media_at(sdp, 2)), ==,
                    CHORUS_SDP_DIRECTION_SENDRECV);
}

static void test_parse_aiortc_candidates(void)
{
    g_autoptr(ChorusSdp) sdp = parse_seed(SEED_AIORTC);
    const ChorusSdpMedia *a = media_at(sdp, 0);

    g_assert_cmpuint(a->port, ==, 50874);
    g_assert_cmpstr(a->connection->address, ==, "192.168.1.23");
    g_assert_cmpuint(a->candidates->len, ==, 3);
    g_assert_true(a->end_of_candidates);
    const ChorusSdpCandidate *host = a->candidates->pdata[0];
    g_assert_cmpstr(host->foundation, ==, "0b4c1f7b3e6d4f2c8a9e1d2b3c4a5f6e");
    g_assert_cmpuint(host->component, ==, 1);
    g_assert_cmpint(host->transport, ==, CHORUS_SDP_CAND_UDP);
    g_assert_cmpuint(host->priority, ==, 2130706431u);
    g_assert_cmpstr(host->address, ==, "192.168.1.23");
    g_assert_cmpuint(host->port, ==, 50874);
    g_assert_cmpint(host->type, ==, CHORUS_SDP_CAND_HOST);
    g_assert_null(host->raddr);
    const ChorusSdpCandidate *srflx = a->candidates->pdata[1];
    g_assert_cmpint(srflx->type, ==, CHORUS_SDP_CAND_SRFLX);
    g_assert_cmpstr(srflx->raddr, ==, "192.168.1.23");
    g_assert_true(srflx->has_rport);
    g_assert_cmpuint(srflx->rport, ==, 50874);
    const ChorusSdpCandidate *tcp = a->candidates->pdata[2];
    g_assert_cmpint(tcp->transport, ==, CHORUS_SDP_CAND_TCP);
    g_assert_cmpint(tcp->tcptype, ==, CHORUS_SDP_TCPTYPE_ACTIVE);
    g_assert_cmpuint(tcp->port, ==, 9);
    /* Transport attributes come after the candidates in aiortc offers. */
    g_assert_cmpstr(a->ice.ufrag, ==, "Vd3L");
    g_assert_cmpint(a->setup, ==, CHORUS_SDP_SETUP_ACTPASS);
}

static void test_parse_janusjs(void)
{
    g_autoptr(ChorusSdp) sdp = parse_seed(SEED_JANUSJS);
    guint index = 99;
    const ChorusSdpMedia *v = chorus_sdp_find_media_by_mid(sdp, "1", &index);

    g_assert_nonnull(v);
    g_assert_cmpuint(index, ==, 1);
    g_assert_cmpint(v->direction, ==, CHORUS_SDP_DIRECTION_RECVONLY);
    g_assert_cmpuint(v->msids->len, ==, 0);
    g_assert_null(chorus_sdp_find_media_by_mid(sdp, "7", NULL));
    g_assert_cmpstr(chorus_sdp_media_primary_codec(v)->encoding, ==, "VP8");
}

/* ---- Round trips --------------------------------------------------------------------- */

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **sorted_lines(const char *text)
{
    char **lines = g_strsplit(text, "\r\n", -1);
    guint n = g_strv_length(lines);
    if (n > 0 && lines[n - 1][0] == '\0') {
        g_free(lines[n - 1]);
        lines[--n] = NULL;
    }
    for (guint i = 0; i < n; i++) {
        if (g_str_has_prefix(lines[i], "a=msid-semantic: ")) { /* written without the space */
            char *fixed = g_strconcat("a=msid-semantic:", lines[i] + 17, NULL);
            g_free(lines[i]);
            lines[i] = fixed;
        }
    }
    qsort(lines, n, sizeof(char *), cmp_str_ptr);
    return lines;
}

static void test_roundtrip_seeds(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(seeds); i++) {
        g_autofree char *text = load_seed(seeds[i]);
        g_autoptr(ChorusSdp) first = parse_ok(text);
        g_autofree char *out = chorus_sdp_to_string(first);
        g_autoptr(ChorusSdp) second = parse_ok(out);
        g_assert_true(chorus_sdp_equal(first, second));
        g_autofree char *out2 = chorus_sdp_to_string(second);
        g_assert_cmpstr(out, ==, out2);
        g_assert_true(g_str_has_suffix(out, "\r\n"));

        /* Nothing lost: the same lines as the input, only in canonical order. */
        g_auto(GStrv) in_lines = sorted_lines(text);
        g_auto(GStrv) out_lines = sorted_lines(out);
        g_assert_cmpuint(g_strv_length(in_lines), ==, g_strv_length(out_lines));
        for (guint j = 0; in_lines[j] != NULL; j++)
            g_assert_cmpstr(in_lines[j], ==, out_lines[j]);
    }
}

static void test_roundtrip_line_endings(void)
{
    g_autofree char *crlf = load_seed(SEED_CHROMIUM);
    g_autoptr(GString) lf = g_string_new(crlf);
    g_string_replace(lf, "\r\n", "\n", 0);
    g_autoptr(ChorusSdp) a = parse_ok(crlf);
    g_autoptr(ChorusSdp) b = parse_ok(lf->str);
    g_assert_true(chorus_sdp_equal(a, b));

    /* Mixed line ends and no final line end. */
    g_autoptr(ChorusSdp) c = parse_ok("v=0\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\nt=0 0\r\n" AUDIO_M
                                      "a=rtpmap:111 opus/48000/2");
    g_assert_cmpstr(chorus_sdp_media_find_codec(media_at(c, 0), 111)->encoding, ==, "opus");
}

static void test_roundtrip_unknown_and_rejected(void)
{
    const char *text =
        HEAD "i=a session\r\nk=prompt\r\ni=more info\r\nb=AS:300\r\na=x-session-thing:1 2 3\r\n"
             "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\nb=TIAS:64000\r\n"
             "a=mid:a\r\na=bundle-only\r\na=x-google-flag:conference\r\n"
             "a=rtcp-fb:* nack\r\na=ssrc:5 label:foo\r\na=ssrc:5 x-flag\r\n"
             "a=fingerprint:sha-1 AB:CD\r\na=fingerprint:sha-256 EF:01\r\n"
             "m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\n"
             "m=text 0 RTP/AVP 98\r\na=mid:t\r\n";
    g_autoptr(ChorusSdp) sdp = parse_ok(text);
    const ChorusSdpMedia *a = media_at(sdp, 0);
    g_assert_cmpuint(sdp->attrs->len, ==, 1);
    g_assert_cmpuint(sdp->lines->len, ==, 3); /* kept in writing order: i, i, k */
    g_assert_cmpint(((ChorusSdpLine *)sdp->lines->pdata[1])->type, ==, 'i');
    g_assert_cmpint(((ChorusSdpLine *)sdp->lines->pdata[2])->type, ==, 'k');
    g_assert_cmpuint(a->attrs->len, ==, 3); /* bundle-only, x-google-flag, 2nd fingerprint */
    g_assert_null(((ChorusSdpAttr *)a->attrs->pdata[0])->value);
    g_assert_true(chorus_sdp_media_has_rtcp_fb(a, 0, "nack", NULL));
    g_assert_cmpuint(chorus_sdp_media_find_ssrc(a, 5)->attrs->len, ==, 2);
    g_assert_cmpuint(media_at(sdp, 1)->port, ==, 0);
    g_assert_cmpint(media_at(sdp, 2)->kind, ==, CHORUS_SDP_MEDIA_OTHER);

    g_autofree char *out = chorus_sdp_to_string(sdp);
    g_assert_nonnull(strstr(out, "a=x-google-flag:conference\r\n"));
    g_assert_nonnull(strstr(out, "a=bundle-only\r\n"));
    g_assert_nonnull(strstr(out, "i=a session\r\n"));
    g_assert_nonnull(strstr(out, "b=TIAS:64000\r\n"));
    g_assert_nonnull(strstr(out, "a=ssrc:5 x-flag\r\n"));
    g_autoptr(ChorusSdp) again = parse_ok(out);
    g_assert_true(chorus_sdp_equal(sdp, again));

    /* equal() really compares: change one deep field. */
    ChorusSdpCodec *c = chorus_sdp_media_find_codec(media_at(again, 0), 0);
    g_ptr_array_add(c->rtcp_fb, g_new0(ChorusSdpRtcpFb, 1));
    ((ChorusSdpRtcpFb *)c->rtcp_fb->pdata[c->rtcp_fb->len - 1])->type = g_strdup("nack");
    g_assert_false(chorus_sdp_equal(sdp, again));
}

/* ---- Candidates ---------------------------------------------------------------------- */

static void test_candidate_parse(void)
{
    g_autoptr(GError) error = NULL;
    const char *forms[] = {
        "candidate:842163049 1 udp 1677729535 198.51.100.7 3478 typ srflx raddr 10.0.0.2 "
        "rport 54321 generation 0 ufrag Kp2b network-cost 999",
        "a=candidate:842163049 1 UDP 1677729535 198.51.100.7 3478 typ srflx raddr 10.0.0.2 "
        "rport 54321 generation 0 ufrag Kp2b network-cost 999\r\n",
        "842163049 1 udp 1677729535 198.51.100.7 3478 typ srflx raddr 10.0.0.2 rport 54321 "
        "generation 0 ufrag Kp2b network-cost 999"};
    for (gsize i = 0; i < G_N_ELEMENTS(forms); i++) {
        ChorusSdpCandidate *c = chorus_sdp_candidate_parse(forms[i], &error);
        g_assert_no_error(error);
        g_assert_cmpint(c->type, ==, CHORUS_SDP_CAND_SRFLX);
        g_assert_cmpstr(c->raddr, ==, "10.0.0.2");
        g_assert_cmpuint(c->rport, ==, 54321);
        g_assert_cmpuint(c->extensions->len, ==, 3);
        g_autofree char *s = chorus_sdp_candidate_to_string(c);
        g_assert_cmpstr(s, ==,
                        "candidate:842163049 1 udp 1677729535 198.51.100.7 3478 typ srflx "
                        "raddr 10.0.0.2 rport 54321 generation 0 ufrag Kp2b "
                        "network-cost 999");
        chorus_sdp_candidate_free(c);
    }
    ChorusSdpCandidate *mdns = chorus_sdp_candidate_parse(
        "candidate:1 1 udp 2122260223 3f2b8a1c-1d2e-4f5a-9b8c-7d6e5f4a3b2c.local 56000 typ host",
        &error);
    g_assert_no_error(error);
    g_assert_cmpstr(mdns->address, ==, "3f2b8a1c-1d2e-4f5a-9b8c-7d6e5f4a3b2c.local");
    chorus_sdp_candidate_free(mdns);
    ChorusSdpCandidate *relay =
        chorus_sdp_candidate_parse("candidate:2 1 tcp 41885439 2001:db8::1 443 typ relay raddr "
                                   "0.0.0.0 rport 0 tcptype passive",
                                   &error);
    g_assert_no_error(error);
    g_assert_cmpint(relay->type, ==, CHORUS_SDP_CAND_RELAY);
    g_assert_cmpint(relay->tcptype, ==, CHORUS_SDP_TCPTYPE_PASSIVE);
    g_assert_cmpstr(relay->address, ==, "2001:db8::1");
    chorus_sdp_candidate_free(relay);
}

static void test_candidate_errors(void)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"candidate:1 1 udp 2122260223 10.0.0.1", "truncated"},
        {"candidate:1 1 udp 2122260223 10.0.0.1 5000 typ", "truncated"},
        {"candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host generation", "without a value"},
        {"candidate:1 1 sctp 2122260223 10.0.0.1 5000 typ host", "transport"},
        {"candidate:1 1 udp 2122260223 10.0.0.1 5000 typ magic", "candidate type"},
        {"candidate:1 1 udp 2122260223 10.0.0.1 65536 typ host", "bad port"},
        {"candidate:1 0 udp 2122260223 10.0.0.1 5000 typ host", "component"},
        {"candidate:1 1 udp 99999999999 10.0.0.1 5000 typ host", "priority"},
        {"candidate:1 1 udp 1 10.0.0.1 5000 type host", "typ"},
        {"candidate:f@o 1 udp 1 10.0.0.1 5000 typ host", "foundation"},
        {"candidate:1 1 udp 1 10.0.0.1 5000 typ host rport x", "rport"},
        {"candidate:1 1 tcp 1 10.0.0.1 9 typ host tcptype sideways", "tcptype"},
        {"candidate:1 1 udp 1 10.0.0.1 5000 typ host\x01", "control"},
        {"", "truncated"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_assert_null(chorus_sdp_candidate_parse(bad[i].text, &error));
        g_assert_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_SYNTAX);
        if (strstr(error->message, bad[i].why) == NULL)
            g_error("candidate %zu: \"%s\" lacks \"%s\"", i, error->message, bad[i].why);
    }
}

/* ---- Malformed input ----------------------------------------------------------------- */

typedef struct {
    const char *text;
    int code;
    const char *message; /* a substring of the error message */
} BadSdp;

static const BadSdp bad_sdps[] = {
    {"", CHORUS_SDP_ERROR_INVALID, "missing v= line"},
    {"\r\n\r\n", CHORUS_SDP_ERROR_INVALID, "missing v= line"},
    {"o=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", CHORUS_SDP_ERROR_SYNTAX,
     "line 1: expected v= as the first line"},
    {"v=0\r\ns=-\r\nt=0 0\r\n", CHORUS_SDP_ERROR_INVALID, "missing o= line"},
    {"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nt=0 0\r\n", CHORUS_SDP_ERROR_INVALID, "missing s= line"},
    {"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n", CHORUS_SDP_ERROR_INVALID, "missing t= line"},
    {"v=1\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 1: unsupported version"},
    {"v=0\r\nv=0\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 2: duplicate v= line"},
    {HEAD "hello world\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 5: expected <type>=<value>"},
    {HEAD "=oops\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 5: expected <type>=<value>"},
    {HEAD "A=x\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 5: expected <type>=<value>"},
    {HEAD "x=whatever\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 5: unknown line type 'x'"},
    {"v=0\r\no=- abc 1 IN IP4 0.0.0.0\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 2: o=: bad session id"},
    {"v=0\r\no=- 1 1 IN IP4\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 2: o= needs 6 fields"},
    {"v=0\r\no=- 99999999999999999999 1 IN IP4 0.0.0.0\r\n", CHORUS_SDP_ERROR_SYNTAX,
     "bad session id"},
    {HEAD "c=IN IP4\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 5: c= needs"},
    {HEAD "b=AS:lots\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 5: b= needs"},
    {"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=now 0\r\n", CHORUS_SDP_ERROR_SYNTAX, "t= needs"},
    {HEAD "m=audio abc UDP/TLS/RTP/SAVPF 111\r\n", CHORUS_SDP_ERROR_SYNTAX,
     "line 5: m=: bad port \"abc\""},
    {HEAD "m=audio 70000 UDP/TLS/RTP/SAVPF 111\r\n", CHORUS_SDP_ERROR_SYNTAX, "m=: bad port"},
    {HEAD "m=audio -1 UDP/TLS/RTP/SAVPF 111\r\n", CHORUS_SDP_ERROR_SYNTAX, "m=: bad port"},
    {HEAD "m=audio 9/0 UDP/TLS/RTP/SAVPF 111\r\n", CHORUS_SDP_ERROR_SYNTAX, "bad port count"},
    {HEAD "m=audio 9 UDP/TLS/RTP/SAVPF\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 5: m= needs"},
    {HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 300\r\n", CHORUS_SDP_ERROR_SYNTAX,
     "line 5: m=: payload type 300 out of range"},
    {HEAD "m=audio 9 UDP/TLS/RTP/SAVPF opus\r\n", CHORUS_SDP_ERROR_SYNTAX, "bad payload type"},
    {HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111 111\r\n", CHORUS_SDP_ERROR_SYNTAX,
     "duplicate payload type 111"},
    {HEAD AUDIO_M "a=rtpmap:300 opus/48000/2\r\n", CHORUS_SDP_ERROR_SYNTAX,
     "line 8: a=rtpmap: payload type 300 out of range"},
    {HEAD AUDIO_M "a=rtpmap:112 opus/48000/2\r\n", CHORUS_SDP_ERROR_SYNTAX,
     "line 8: a=rtpmap: payload type 112 is not in the m-line"},
    {HEAD AUDIO_M "a=rtpmap\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 8: a=rtpmap: missing value"},
    {HEAD AUDIO_M "a=rtpmap:\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 8: a=rtpmap: missing value"},
    {HEAD AUDIO_M "a=rtpmap:111\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=rtpmap: needs"},
    {HEAD AUDIO_M "a=rtpmap:111 opus\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=rtpmap: needs"},
    {HEAD AUDIO_M "a=rtpmap:111 opus/\r\n", CHORUS_SDP_ERROR_SYNTAX, "bad clock rate"},
    {HEAD AUDIO_M "a=rtpmap:111 opus/fast/2\r\n", CHORUS_SDP_ERROR_SYNTAX, "bad clock rate"},
    {HEAD AUDIO_M "a=rtpmap:111 opus/48000/0\r\n", CHORUS_SDP_ERROR_SYNTAX, "bad channel count"},
    {HEAD AUDIO_M "a=rtpmap:111 opus/48000/2/1\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=rtpmap: needs"},
    {HEAD AUDIO_M "a=rtpmap:111 opus/48000/2\r\na=rtpmap:111 opus/48000/2\r\n",
     CHORUS_SDP_ERROR_SYNTAX, "line 9: a=rtpmap: duplicate rtpmap"},
    {HEAD AUDIO_M "a=fmtp:111\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=fmtp: missing parameters"},
    {HEAD AUDIO_M "a=rtcp-fb:111\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=rtcp-fb: missing feedback"},
    {HEAD AUDIO_M "a=extmap:0 urn:x\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=extmap: bad id"},
    {HEAD AUDIO_M "a=extmap:256 urn:x\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=extmap: bad id"},
    {HEAD AUDIO_M "a=extmap:3/sideways urn:x\r\n", CHORUS_SDP_ERROR_SYNTAX, "bad direction"},
    {HEAD AUDIO_M "a=extmap:3\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=extmap: missing URI"},
    {HEAD AUDIO_M "a=extmap:3 urn:x\r\na=extmap:3 urn:y\r\n", CHORUS_SDP_ERROR_SYNTAX,
     "line 9: a=extmap: duplicate id 3"},
    {HEAD AUDIO_M "a=ssrc:abc cname:x\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=ssrc: bad ssrc"},
    {HEAD AUDIO_M "a=ssrc:4294967296 cname:x\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=ssrc: bad ssrc"},
    {HEAD AUDIO_M "a=ssrc:1234\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=ssrc: missing attribute"},
    {HEAD AUDIO_M "a=ssrc-group:FID\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=ssrc-group: needs"},
    {HEAD AUDIO_M "a=ssrc-group:FID 1 x\r\n", CHORUS_SDP_ERROR_SYNTAX, "bad ssrc"},
    {HEAD AUDIO_M "a=rid:h sideways\r\n", CHORUS_SDP_ERROR_SYNTAX, "send or recv"},
    {HEAD AUDIO_M "a=rid:h@ send\r\n", CHORUS_SDP_ERROR_SYNTAX, "bad rid id"},
    {HEAD AUDIO_M "a=rid:h send\r\na=rid:h send\r\n", CHORUS_SDP_ERROR_SYNTAX, "duplicate rid"},
    {HEAD AUDIO_M "a=simulcast:send\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=simulcast: needs"},
    {HEAD AUDIO_M "a=simulcast:send h;;l\r\n", CHORUS_SDP_ERROR_SYNTAX, "bad rid list"},
    {HEAD AUDIO_M "a=simulcast:sideways h\r\n", CHORUS_SDP_ERROR_SYNTAX, "bad direction"},
    {HEAD AUDIO_M "a=rid:h send\r\na=simulcast:send h;l\r\n", CHORUS_SDP_ERROR_INVALID,
     "rid \"l\" without an a=rid send line"},
    {HEAD AUDIO_M "a=setup:sometimes\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=setup: unknown role"},
    {HEAD AUDIO_M "a=sendrecv\r\na=recvonly\r\n", CHORUS_SDP_ERROR_SYNTAX,
     "line 9: a=recvonly: more than one direction"},
    {HEAD AUDIO_M "a=rtcp-mux:yes\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=rtcp-mux: unexpected value"},
    {HEAD AUDIO_M "a=mid:1\r\n", CHORUS_SDP_ERROR_SYNTAX, "line 8: a=mid: duplicate attribute"},
    {HEAD AUDIO_M "a=ice-ufrag:ab cd\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=ice-ufrag: invalid"},
    {HEAD AUDIO_M "a=fingerprint:sha-256 XYZ\r\n", CHORUS_SDP_ERROR_SYNTAX,
     "malformed fingerprint"},
    {HEAD AUDIO_M "a=fingerprint:sha-256\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=fingerprint: needs"},
    {HEAD AUDIO_M "a=candidate:1 1 udp\r\n", CHORUS_SDP_ERROR_SYNTAX,
     "line 8: a=candidate: truncated candidate"},
    {HEAD AUDIO_M "a=sctp-port:0\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=sctp-port: bad value"},
    {HEAD AUDIO_M "a=max-message-size:big\r\n", CHORUS_SDP_ERROR_SYNTAX, "bad value"},
    {HEAD AUDIO_M "a=:x\r\n", CHORUS_SDP_ERROR_SYNTAX, "bad attribute name"},
    {HEAD AUDIO_M "s=late\r\n", CHORUS_SDP_ERROR_SYNTAX,
     "line 8: s= is not allowed in a media section"},
    {HEAD AUDIO_M "c=IN IP4 1.2.3.4\r\n", CHORUS_SDP_ERROR_SYNTAX, "duplicate c= line"},
    {HEAD AUDIO_M AUDIO_M, CHORUS_SDP_ERROR_INVALID, "duplicate mid \"0\""},
    {HEAD "a=group:BUNDLE 0 1\r\n" AUDIO_M, CHORUS_SDP_ERROR_INVALID, "unknown mid \"1\""},
    {HEAD "a=group:\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=group: missing value"},
    {HEAD "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=rtpmap:1 x/1\r\n",
     CHORUS_SDP_ERROR_SYNTAX, "not an RTP m-line"},
    {HEAD "a=ice-lite\r\na=ice-lite\r\n", CHORUS_SDP_ERROR_SYNTAX, "a=ice-lite: duplicate"},
};

static void test_malformed(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(bad_sdps); i++) {
        g_autoptr(GError) error = NULL;
        ChorusSdp *sdp = chorus_sdp_parse(bad_sdps[i].text, -1, &error);
        if (sdp != NULL)
            g_error("case %zu parsed but should fail: %s", i, bad_sdps[i].text);
        g_assert_nonnull(error);
        g_assert_true(error->domain == CHORUS_SDP_ERROR);
        if (error->code != bad_sdps[i].code || strstr(error->message, bad_sdps[i].message) == NULL)
            g_error("case %zu: got (%d) \"%s\", want (%d) \"%s\"", i, error->code, error->message,
                    bad_sdps[i].code, bad_sdps[i].message);
    }
}

static void test_malformed_bytes(void)
{
    g_autoptr(GError) error = NULL;
    static const char with_nul[] = HEAD AUDIO_M "a=rtpmap:111 op\0us/48000/2\r\n";

    g_assert_null(chorus_sdp_parse(with_nul, sizeof with_nul - 1, &error));
    g_assert_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_SYNTAX);
    g_assert_nonnull(strstr(error->message, "line 8: embedded NUL byte"));
    g_clear_error(&error);
    /* The explicit length is honoured: the bytes after it are never read. */
    g_autoptr(ChorusSdp) prefix = chorus_sdp_parse(with_nul, strlen(HEAD AUDIO_M), &error);
    g_assert_no_error(error);
    g_assert_cmpuint(prefix->media->len, ==, 1);

    g_assert_null(chorus_sdp_parse(HEAD "s\x01=x\r\n", -1, &error));
    g_assert_nonnull(strstr(error->message, "line 5: control character 0x01"));
    g_clear_error(&error);
    g_assert_null(chorus_sdp_parse(HEAD "a=foo\rbar\r\n", -1, &error));
    g_assert_nonnull(strstr(error->message, "control character 0x0d"));
    g_clear_error(&error);
    g_assert_null(chorus_sdp_parse(NULL, 0, &error));
    g_assert_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_INVALID);
}

static void test_limits(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) s = g_string_new(HEAD);

    /* Over-long line. */
    g_string_append(s, "a=x-long:");
    for (int i = 0; i < CHORUS_SDP_MAX_LINE; i++)
        g_string_append_c(s, 'x');
    g_string_append(s, "\r\n");
    g_assert_null(chorus_sdp_parse(s->str, -1, &error));
    g_assert_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_LIMIT);
    g_assert_nonnull(strstr(error->message, "line 5: line too long"));
    g_clear_error(&error);

    /* Exactly 64 m-lines pass, 65 fail. */
    g_string_assign(s, HEAD);
    for (int i = 0; i < CHORUS_SDP_MAX_MEDIA; i++)
        g_string_append_printf(s, "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:%d\r\n", i);
    g_autoptr(ChorusSdp) many = parse_ok(s->str);
    g_assert_cmpuint(many->media->len, ==, CHORUS_SDP_MAX_MEDIA);
    g_string_append(s, "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\n");
    g_assert_null(chorus_sdp_parse(s->str, -1, &error));
    g_assert_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_LIMIT);
    g_assert_nonnull(strstr(error->message, "more than 64 m-lines"));
    g_clear_error(&error);

    /* 512 attributes in a section pass, 513 fail. */
    g_string_assign(s, HEAD AUDIO_M);
    for (int i = 1; i < CHORUS_SDP_MAX_ATTRS; i++)
        g_string_append_printf(s, "a=x-%d\r\n", i);
    g_autoptr(ChorusSdp) attrs = parse_ok(s->str);
    g_assert_cmpuint(media_at(attrs, 0)->attrs->len, ==, CHORUS_SDP_MAX_ATTRS - 1);
    g_string_append(s, "a=x-last\r\n");
    g_assert_null(chorus_sdp_parse(s->str, -1, &error));
    g_assert_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_LIMIT);
    g_clear_error(&error);

    /* More than 128 formats. */
    g_string_assign(s, HEAD "m=audio 9 UDP/TLS/RTP/SAVPF");
    for (int i = 0; i < 129; i++)
        g_string_append_printf(s, " %d", i % 128);
    g_string_append(s, "\r\n");
    g_assert_null(chorus_sdp_parse(s->str, -1, &error));
    g_assert_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_LIMIT);
    g_clear_error(&error);

    /* Whole description larger than 64 KiB (checked before anything is read). */
    g_string_assign(s, HEAD);
    while (s->len <= CHORUS_SDP_MAX_SIZE)
        g_string_append(s, "a=x-filler:0123456789012345678901234567890123456789\r\n");
    g_assert_null(chorus_sdp_parse(s->str, -1, &error));
    g_assert_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_LIMIT);
    g_assert_nonnull(strstr(error->message, "larger than 65536"));
}

/* Every prefix and many random corruptions of every seed: parse never crashes, and it
 * either returns a model or sets an error. Buffers are exact-size copies without a NUL
 * terminator, so AddressSanitizer catches any read past the given length. */
static void check_bytes_parse(const char *bytes, gsize len)
{
    g_autoptr(GError) error = NULL;
    char *copy = g_malloc(len > 0 ? len : 1);
    memcpy(copy, bytes, len);
    ChorusSdp *sdp = chorus_sdp_parse(copy, (gssize)len, &error);
    g_assert_true((sdp != NULL) != (error != NULL));
    if (sdp != NULL) {
        g_autofree char *out = chorus_sdp_to_string(sdp);
        g_autoptr(ChorusSdp) again = parse_ok(out);
        g_assert_true(chorus_sdp_equal(sdp, again));
    }
    chorus_sdp_free(sdp);
    g_free(copy);
}

static void test_robust_prefixes(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(seeds); i++) {
        g_autofree char *text = load_seed(seeds[i]);
        gsize len = strlen(text);
        for (gsize n = 0; n <= len; n += (n < 300 ? 1 : 7))
            check_bytes_parse(text, n);
    }
}

static void test_robust_mutations(void)
{
    static const char alphabet[] = "0123456789 :=/;,~*-\r\nabcmtvosx\0\xff\t";
    GRand *rng = g_rand_new_with_seed(20240611);

    for (gsize i = 0; i < G_N_ELEMENTS(seeds); i++) {
        g_autofree char *text = load_seed(seeds[i]);
        gsize len = strlen(text);
        for (int iter = 0; iter < 1500; iter++) {
            g_autofree char *buf = g_memdup2(text, len);
            int edits = g_rand_int_range(rng, 1, 6);
            for (int e = 0; e < edits; e++) {
                gsize at = (gsize)g_rand_int_range(rng, 0, (gint32)len);
                buf[at] = alphabet[g_rand_int_range(rng, 0, sizeof alphabet - 1)];
            }
            check_bytes_parse(buf, len);
        }
    }
    g_rand_free(rng);
}

/* ---- Queries ------------------------------------------------------------------------- */

static void test_queries(void)
{
    g_autoptr(ChorusSdp) sdp =
        parse_ok(HEAD "m=video 9 UDP/TLS/RTP/SAVPF 116 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\n"
                      "a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"
                      "a=rtpmap:116 red/90000\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\n"
                      "a=fmtp:97 apt = 96 ; foo=bar\r\n"
                      "a=rid:1 send pt=96;max-width=1280\r\na=rid:2 send\r\na=rid:4 send\r\n"
                      "a=rid:r1 recv\r\na=simulcast:send 1,~4;2 recv r1\r\n");
    const ChorusSdpMedia *m = chorus_sdp_find_media_by_mid(sdp, "v", NULL);

    g_assert_cmpuint(chorus_sdp_media_primary_codec(m)->pt, ==, 96);
    g_assert_cmpint(chorus_sdp_media_find_rtx(m, 96), ==, 97);
    g_assert_cmpint(
        chorus_sdp_media_find_extmap(m, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"), ==, 9);
    g_assert_cmpint(chorus_sdp_media_find_extmap(m, "urn:nope"), ==, -1);
    assert_rids(m, CHORUS_SDP_RID_SEND, "1,4,2");
    assert_rids(m, CHORUS_SDP_RID_RECV, "r1");
    g_assert_cmpstr(((ChorusSdpRid *)m->rids->pdata[0])->params, ==, "pt=96;max-width=1280");
    g_autofree char *apt = chorus_sdp_fmtp_get("apt = 96 ; foo=bar", "APT");
    g_assert_cmpstr(apt, ==, "96");
    g_autofree char *foo = chorus_sdp_fmtp_get("apt=96;foo=bar", "foo");
    g_assert_cmpstr(foo, ==, "bar");
    g_assert_null(chorus_sdp_fmtp_get("apt=96", "bar"));
    g_assert_null(chorus_sdp_fmtp_get(NULL, "bar"));
    g_assert_cmpint(chorus_sdp_media_direction(sdp, m), ==, CHORUS_SDP_DIRECTION_SENDRECV);
    g_assert_cmpint(m->direction, ==, CHORUS_SDP_DIRECTION_UNSET);
    g_assert_cmpstr(chorus_sdp_direction_name(CHORUS_SDP_DIRECTION_RECVONLY), ==, "recvonly");
    g_assert_cmpstr(chorus_sdp_setup_name(CHORUS_SDP_SETUP_PASSIVE), ==, "passive");
}

/* ---- Answers ------------------------------------------------------------------------- */

static void test_answer_chromium(void)
{
    g_autoptr(ChorusSdp) offer = parse_seed(SEED_CHROMIUM);
    ChorusSdpLocalCaps caps = local_caps();
    g_autoptr(ChorusSdp) ans = answer_ok(offer, &caps);

    g_assert_cmpuint(ans->media->len, ==, 4);
    g_assert_cmpuint(ans->origin.sess_id, ==, 42);
    g_assert_true(ans->extmap_allow_mixed);
    const ChorusSdpGroup *g = ans->groups->pdata[0];
    g_assert_cmpstr(g->semantics, ==, "BUNDLE");
    g_assert_cmpuint(g->mids->len, ==, 4);

    const ChorusSdpMedia *a = media_at(ans, 0);
    g_assert_cmpstr(a->mid, ==, "0");
    g_assert_cmpuint(a->port, ==, 9);
    g_assert_cmpuint(a->codecs->len, ==, 1);
    const ChorusSdpCodec *opus = chorus_sdp_media_primary_codec(a);
    g_assert_cmpuint(opus->pt, ==, 111);
    g_assert_cmpstr(opus->encoding, ==, "opus");
    g_assert_cmpuint(opus->channels, ==, 2);
    g_assert_cmpstr(opus->fmtp, ==, "minptime=10;useinbandfec=1");
    g_assert_true(chorus_sdp_media_has_rtcp_fb(a, 111, "transport-cc", NULL));
    g_assert_cmpuint(a->extmaps->len, ==, 4);
    g_assert_cmpint(chorus_sdp_media_find_extmap(a, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
                    ==, 1);
    g_assert_cmpint(a->direction, ==, CHORUS_SDP_DIRECTION_SENDRECV);
    g_assert_true(a->rtcp_mux && a->rtcp_rsize);
    g_assert_cmpstr(a->ice.ufrag, ==, "Srv1");
    g_assert_cmpstr(a->ice.options, ==, "trickle");
    g_assert_cmpstr(a->fingerprint.value, ==, FP_LOCAL);
    g_assert_cmpint(a->setup, ==, CHORUS_SDP_SETUP_ACTIVE);

    const ChorusSdpMedia *v = media_at(ans, 1);
    g_assert_cmpuint(v->codecs->len, ==, 2);
    g_assert_cmpuint(chorus_sdp_media_primary_codec(v)->pt, ==, 96);
    g_assert_cmpint(chorus_sdp_media_find_rtx(v, 96), ==, 97);
    const char *fbs[][2] = {{"nack", NULL},
                            {"nack", "pli"},
                            {"ccm", "fir"},
                            {"goog-remb", NULL},
                            {"transport-cc", NULL}};
    for (gsize i = 0; i < G_N_ELEMENTS(fbs); i++)
        g_assert_true(chorus_sdp_media_has_rtcp_fb(v, 96, fbs[i][0], fbs[i][1]));
    /* toffset, video-orientation, playout-delay, content-type, timing, color-space dropped. */
    g_assert_cmpuint(v->extmaps->len, ==, 5);
    g_assert_cmpint(chorus_sdp_media_find_extmap(v, "urn:ietf:params:rtp-hdrext:toffset"), ==, -1);
    g_assert_cmpint(
        chorus_sdp_media_find_extmap(v, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"),
        ==, 11);
    g_assert_cmpint(v->direction, ==, CHORUS_SDP_DIRECTION_RECVONLY);
    g_assert_cmpstr(v->simulcast_recv, ==, "q;h;f");
    g_assert_null(v->simulcast_send);
    assert_rids(v, CHORUS_SDP_RID_RECV, "q,h,f");
    g_assert_cmpint(((ChorusSdpRid *)v->rids->pdata[0])->direction, ==, CHORUS_SDP_RID_RECV);
    g_assert_cmpuint(v->ssrcs->len, ==, 0);

    const ChorusSdpMedia *d = media_at(ans, 3);
    g_assert_cmpuint(d->port, ==, 9);
    g_assert_cmpstr(d->fmt, ==, "webrtc-datachannel");
    g_assert_cmpuint(d->sctp_port, ==, 5000);
    g_assert_cmpuint(d->max_message_size, ==, 262144);
    g_assert_cmpint(d->direction, ==, CHORUS_SDP_DIRECTION_UNSET);

    g_autofree char *text = chorus_sdp_to_string(ans);
    g_assert_nonnull(strstr(text, "a=group:BUNDLE 0 1 2 3\r\n"));
    g_assert_nonnull(strstr(text, "a=simulcast:recv q;h;f\r\n"));
    g_assert_nonnull(strstr(text, "a=rid:q recv\r\n"));
    g_assert_nonnull(strstr(text, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
    g_assert_nonnull(strstr(text, "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"));
}

static void test_answer_codec_preferences(void)
{
    g_autoptr(ChorusSdp) offer = parse_seed(SEED_CHROMIUM);
    ChorusSdpLocalCaps caps = local_caps();
    const ChorusSdpCodecPref h264_first[] = {{"H264", 90000, 0}, {"VP8", 90000, 0}};
    caps.video_codecs = h264_first;
    caps.n_video_codecs = G_N_ELEMENTS(h264_first);

    /* H264 packetization-mode=1 with the 42e01f profile wins over the other four H264s. */
    g_autoptr(ChorusSdp) ans = answer_ok(offer, &caps);
    const ChorusSdpCodec *h264 = chorus_sdp_media_primary_codec(media_at(ans, 1));
    g_assert_cmpuint(h264->pt, ==, 106);
    g_assert_cmpstr(h264->fmtp, ==,
                    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
    g_assert_cmpint(chorus_sdp_media_find_rtx(media_at(ans, 1), 106), ==, 107);

    /* Without 42e0 + mode 1, baseline 42001f with mode 1 is next. */
    g_autoptr(ChorusSdp) ai = parse_seed(SEED_AIORTC);
    ChorusSdpCodec *c101 = chorus_sdp_media_find_codec(media_at(ai, 1), 101);
    g_free(c101->fmtp);
    c101->fmtp = g_strdup("packetization-mode=0;profile-level-id=42e01f");
    g_autoptr(ChorusSdp) ans2 = answer_ok(ai, &caps);
    g_assert_cmpuint(chorus_sdp_media_primary_codec(media_at(ans2, 1))->pt, ==, 99);

    /* VP9: profile 0 is preferred over profile 2. */
    const ChorusSdpCodecPref vp9[] = {{"VP9", 90000, 0}};
    caps.video_codecs = vp9;
    caps.n_video_codecs = 1;
    g_autoptr(ChorusSdp) ans3 = answer_ok(offer, &caps);
    g_assert_cmpuint(chorus_sdp_media_primary_codec(media_at(ans3, 1))->pt, ==, 98);

    /* AV1 only: the screen m-line offers no AV1 and is rejected, its mid kept. */
    const ChorusSdpCodecPref av1[] = {{"AV1", 90000, 0}};
    caps.video_codecs = av1;
    g_autoptr(ChorusSdp) ans4 = answer_ok(offer, &caps);
    g_assert_cmpuint(chorus_sdp_media_primary_codec(media_at(ans4, 1))->pt, ==, 39);
    g_assert_cmpuint(media_at(ans4, 2)->port, ==, 0);
    g_assert_cmpstr(media_at(ans4, 2)->mid, ==, "2");
    g_assert_false(chorus_sdp_is_bundled(ans4, "2"));

    /* Per m-line codec restriction. */
    caps.video_codecs = NULL;
    ChorusSdpAnswerMedia per[3] = {{0}, {.codec = "H264"}, {.codec = "VP8"}};
    caps.media = per;
    caps.n_media = 3;
    g_autoptr(ChorusSdp) ans5 = answer_ok(offer, &caps);
    g_assert_cmpstr(chorus_sdp_media_primary_codec(media_at(ans5, 1))->encoding, ==, "H264");
    g_assert_cmpstr(chorus_sdp_media_primary_codec(media_at(ans5, 2))->encoding, ==, "VP8");
}

static void test_answer_direction_function(void)
{
    static const struct {
        ChorusSdpDirection offered, wanted, expect;
    } table[] = {
        {CHORUS_SDP_DIRECTION_SENDRECV, CHORUS_SDP_DIRECTION_UNSET, CHORUS_SDP_DIRECTION_SENDRECV},
        {CHORUS_SDP_DIRECTION_SENDONLY, CHORUS_SDP_DIRECTION_UNSET, CHORUS_SDP_DIRECTION_RECVONLY},
        {CHORUS_SDP_DIRECTION_RECVONLY, CHORUS_SDP_DIRECTION_UNSET, CHORUS_SDP_DIRECTION_SENDONLY},
        {CHORUS_SDP_DIRECTION_INACTIVE, CHORUS_SDP_DIRECTION_UNSET, CHORUS_SDP_DIRECTION_INACTIVE},
        {CHORUS_SDP_DIRECTION_UNSET, CHORUS_SDP_DIRECTION_UNSET, CHORUS_SDP_DIRECTION_SENDRECV},
        {CHORUS_SDP_DIRECTION_SENDRECV, CHORUS_SDP_DIRECTION_RECVONLY,
         CHORUS_SDP_DIRECTION_RECVONLY},
        {CHORUS_SDP_DIRECTION_SENDRECV, CHORUS_SDP_DIRECTION_SENDONLY,
         CHORUS_SDP_DIRECTION_SENDONLY},
        {CHORUS_SDP_DIRECTION_SENDRECV, CHORUS_SDP_DIRECTION_INACTIVE,
         CHORUS_SDP_DIRECTION_INACTIVE},
        {CHORUS_SDP_DIRECTION_SENDONLY, CHORUS_SDP_DIRECTION_SENDRECV,
         CHORUS_SDP_DIRECTION_RECVONLY},
        {CHORUS_SDP_DIRECTION_RECVONLY, CHORUS_SDP_DIRECTION_RECVONLY,
         CHORUS_SDP_DIRECTION_INACTIVE},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(table); i++)
        g_assert_cmpint(chorus_sdp_answer_direction(table[i].offered, table[i].wanted), ==,
                        table[i].expect);
}

/* A voice-channel client: its mic (sendrecv), three receive-only slots, plus odd ones. */
#define VOICE_OFFER                                                                                \
    HEAD "a=group:BUNDLE m0 s1 s2 s3 x4 x5\r\n"                                                    \
         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" TRANSPORT                       \
         "a=mid:m0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"                   \
         "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"                              \
         "a=ssrc:1001 cname:client\r\n"                                                            \
         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:s1\r\na=recvonly\r\n"       \
         "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"                                             \
         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:s2\r\na=recvonly\r\n"       \
         "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"                                             \
         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:s3\r\na=recvonly\r\n"       \
         "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"                                             \
         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:x4\r\na=sendonly\r\n"       \
         "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"                                             \
         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:x5\r\na=inactive\r\n"       \
         "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"

static void test_answer_direction_auto(void)
{
    g_autoptr(ChorusSdp) offer = parse_ok(VOICE_OFFER);
    ChorusSdpLocalCaps caps = local_caps();
    g_autoptr(ChorusSdp) ans = answer_ok(offer, &caps);
    const ChorusSdpDirection expect[] = {
        CHORUS_SDP_DIRECTION_SENDRECV, CHORUS_SDP_DIRECTION_SENDONLY,
        CHORUS_SDP_DIRECTION_SENDONLY, CHORUS_SDP_DIRECTION_SENDONLY,
        CHORUS_SDP_DIRECTION_RECVONLY, CHORUS_SDP_DIRECTION_INACTIVE};

    g_assert_cmpuint(ans->media->len, ==, 6);
    for (guint i = 0; i < 6; i++) {
        g_assert_cmpint(media_at(ans, i)->direction, ==, expect[i]);
        g_assert_cmpstr(media_at(ans, i)->mid, ==, media_at(offer, i)->mid);
        g_assert_cmpuint(media_at(ans, i)->port, ==, 9);
    }
    /* Transport comes from the first m-line only; the answer repeats ours everywhere. */
    g_assert_cmpstr(media_at(ans, 5)->ice.ufrag, ==, "Srv1");
    g_assert_cmpuint(((ChorusSdpGroup *)ans->groups->pdata[0])->mids->len, ==, 6);
}

static void test_answer_direction_override_and_ssrc(void)
{
    g_autoptr(ChorusSdp) offer = parse_ok(VOICE_OFFER);
    ChorusSdpLocalCaps caps = local_caps();
    caps.cname = "chorus-7";
    ChorusSdpAnswerMedia per[] = {
        {.direction = CHORUS_SDP_DIRECTION_RECVONLY, .ssrc = 5000}, /* mic only received */
        {.ssrc = 7001, .msid_stream = "peer-17", .msid_track = "voice"},
        {.direction = CHORUS_SDP_DIRECTION_INACTIVE, .ssrc = 7002},
        {.reject = TRUE},
        {.direction = CHORUS_SDP_DIRECTION_SENDRECV}, /* offer is sendonly: only recv */
    };
    caps.media = per;
    caps.n_media = G_N_ELEMENTS(per);
    g_autoptr(ChorusSdp) ans = answer_ok(offer, &caps);

    const ChorusSdpMedia *m0 = media_at(ans, 0);
    g_assert_cmpint(m0->direction, ==, CHORUS_SDP_DIRECTION_RECVONLY);
    g_assert_cmpuint(m0->ssrcs->len, ==, 0); /* does not send: no local SSRC */
    const ChorusSdpMedia *s1 = media_at(ans, 1);
    g_assert_cmpint(s1->direction, ==, CHORUS_SDP_DIRECTION_SENDONLY);
    const ChorusSdpSsrc *ssrc = chorus_sdp_media_find_ssrc(s1, 7001);
    g_assert_nonnull(ssrc);
    g_assert_cmpstr(ssrc->cname, ==, "chorus-7");
    g_assert_cmpstr(ssrc->msid, ==, "peer-17 voice");
    g_assert_cmpstr(s1->msids->pdata[0], ==, "peer-17 voice");
    g_assert_cmpint(media_at(ans, 2)->direction, ==, CHORUS_SDP_DIRECTION_INACTIVE);
    g_assert_cmpuint(media_at(ans, 2)->ssrcs->len, ==, 0);
    const ChorusSdpMedia *s3 = media_at(ans, 3);
    g_assert_cmpuint(s3->port, ==, 0);
    g_assert_cmpstr(s3->mid, ==, "s3");
    g_assert_cmpstr(s3->ice.ufrag, ==, "Srv1"); /* transport on rejected m-lines too */
    g_assert_cmpuint(s3->codecs->len, ==, 1);
    g_assert_null(((ChorusSdpCodec *)s3->codecs->pdata[0])->encoding);
    g_assert_false(chorus_sdp_is_bundled(ans, "s3"));
    g_assert_true(chorus_sdp_is_bundled(ans, "x4"));
    g_assert_cmpint(media_at(ans, 4)->direction, ==, CHORUS_SDP_DIRECTION_RECVONLY);
    g_assert_cmpint(media_at(ans, 5)->direction, ==, CHORUS_SDP_DIRECTION_INACTIVE); /* auto */

    g_autofree char *text = chorus_sdp_to_string(ans);
    g_assert_nonnull(strstr(text, "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"));
    g_assert_nonnull(strstr(text, "a=setup:active\r\na=mid:s3\r\nm=audio 9 "));
    g_assert_nonnull(strstr(text, "a=ssrc:7001 cname:chorus-7\r\n"));
    g_assert_nonnull(strstr(text, "a=ssrc:7001 msid:peer-17 voice\r\n"));
}

static void test_answer_video_rtx_ssrc(void)
{
    g_autoptr(ChorusSdp) offer = parse_seed(SEED_JANUSJS);
    ChorusSdpLocalCaps caps = local_caps();
    ChorusSdpAnswerMedia per[] = {{0}, {.ssrc = 11, .rtx_ssrc = 12, .msid_stream = "screen"}};
    caps.media = per;
    caps.n_media = 2;
    g_autoptr(ChorusSdp) ans = answer_ok(offer, &caps);

    const ChorusSdpMedia *v = media_at(ans, 1); /* the offer receives only: we send */
    g_assert_cmpint(v->direction, ==, CHORUS_SDP_DIRECTION_SENDONLY);
    g_assert_cmpuint(v->ssrcs->len, ==, 2);
    g_assert_cmpuint(v->ssrc_groups->len, ==, 1);
    const ChorusSdpSsrcGroup *fid = v->ssrc_groups->pdata[0];
    g_assert_cmpstr(fid->semantics, ==, "FID");
    g_assert_cmpuint(g_array_index(fid->ssrcs, guint32, 0), ==, 11);
    g_assert_cmpuint(g_array_index(fid->ssrcs, guint32, 1), ==, 12);
    g_assert_cmpstr(chorus_sdp_media_find_ssrc(v, 12)->msid, ==, "screen");
    g_assert_cmpstr(chorus_sdp_media_find_ssrc(v, 12)->cname, ==, "chorus");
}

static void test_answer_rejections(void)
{
    g_autoptr(ChorusSdp) offer = parse_seed(SEED_CHROMIUM);
    ChorusSdpLocalCaps caps = local_caps();
    caps.data_channels = FALSE;
    ChorusSdpAnswerMedia per[] = {{0}, {.reject = TRUE}};
    caps.media = per;
    caps.n_media = 2;
    /* The offerer disabled its screen m-line. */
    media_at(offer, 2)->port = 0;

    g_autoptr(ChorusSdp) ans = answer_ok(offer, &caps);
    for (guint i = 1; i < 4; i++) {
        const ChorusSdpMedia *m = media_at(ans, i);
        g_assert_cmpuint(m->port, ==, 0);
        g_assert_cmpstr(m->mid, ==, media_at(offer, i)->mid);
        g_assert_cmpstr(m->media, ==, media_at(offer, i)->media);
        g_assert_cmpstr(m->proto, ==, media_at(offer, i)->proto);
    }
    g_assert_cmpstr(media_at(ans, 3)->fmt, ==, "webrtc-datachannel");
    g_assert_cmpuint(media_at(ans, 3)->sctp_port, ==, 0);
    const ChorusSdpGroup *g = ans->groups->pdata[0];
    g_assert_cmpuint(g->mids->len, ==, 1);
    g_assert_cmpstr(g->mids->pdata[0], ==, "0");

    /* No rtcp-mux, or a plain RTP/AVP proto: rejected. */
    g_autoptr(ChorusSdp) o2 = parse_ok(
        HEAD "a=group:BUNDLE a b\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" TRANSPORT
             "a=mid:a\r\na=rtpmap:111 opus/48000/2\r\n"
             "m=audio 9 RTP/AVP 111\r\na=mid:b\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n");
    g_autoptr(ChorusSdp) a2 = answer_ok(o2, &caps);
    g_assert_cmpuint(media_at(a2, 0)->port, ==, 0);
    g_assert_cmpuint(media_at(a2, 1)->port, ==, 0);
    g_assert_cmpuint(a2->groups->len, ==, 0);
}

static void test_answer_no_bundle_and_outside_bundle(void)
{
    ChorusSdpLocalCaps caps = local_caps();
    /* No BUNDLE group: one transport, so only the first m-line is accepted. */
    g_autoptr(ChorusSdp) o1 =
        parse_ok(HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" TRANSPORT
                      "a=mid:a\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
                      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" TRANSPORT
                      "a=mid:b\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n");
    g_autoptr(ChorusSdp) a1 = answer_ok(o1, &caps);
    g_assert_cmpuint(media_at(a1, 0)->port, ==, 9);
    g_assert_cmpuint(media_at(a1, 1)->port, ==, 0);
    g_assert_cmpuint(a1->groups->len, ==, 1);
    g_assert_cmpuint(((ChorusSdpGroup *)a1->groups->pdata[0])->mids->len, ==, 1);

    /* An m-line outside the offer's BUNDLE group is rejected. */
    g_autoptr(ChorusSdp) o2 =
        parse_ok(HEAD "a=group:BUNDLE b\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" TRANSPORT
                      "a=mid:a\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
                      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" TRANSPORT
                      "a=mid:b\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n");
    g_autoptr(ChorusSdp) a2 = answer_ok(o2, &caps);
    g_assert_cmpuint(media_at(a2, 0)->port, ==, 0);
    g_assert_cmpuint(media_at(a2, 1)->port, ==, 9);
}

static void test_answer_setup_and_errors(void)
{
    g_autoptr(GError) error = NULL;
    ChorusSdpLocalCaps caps = local_caps();
    g_autoptr(ChorusSdp) offer = parse_seed(SEED_FIREFOX);

    caps.setup = CHORUS_SDP_SETUP_PASSIVE;
    g_autoptr(ChorusSdp) a1 = answer_ok(offer, &caps);
    g_assert_cmpint(media_at(a1, 0)->setup, ==, CHORUS_SDP_SETUP_PASSIVE);
    /* Firefox: VP8 120 + rtx 124; unsupported extensions dropped, ids kept. */
    const ChorusSdpMedia *v = media_at(a1, 1);
    g_assert_cmpuint(chorus_sdp_media_primary_codec(v)->pt, ==, 120);
    g_assert_cmpint(chorus_sdp_media_find_rtx(v, 120), ==, 124);
    g_assert_cmpint(chorus_sdp_media_find_extmap(v, "urn:ietf:params:rtp-hdrext:toffset"), ==, -1);
    g_assert_cmpint(chorus_sdp_media_find_extmap(v, "urn:ietf:params:rtp-hdrext:sdes:mid"), ==, 3);
    g_assert_cmpuint(media_at(a1, 2)->sctp_port, ==, 5000);

    /* Extension directions are mirrored when the caller supports the extension. */
    const char *const exts[] = {"http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", NULL};
    caps.extensions = exts;
    g_autoptr(ChorusSdp) a1b = answer_ok(offer, &caps);
    const ChorusSdpExtmap *pd = media_at(a1b, 1)->extmaps->pdata[0];
    g_assert_cmpuint(pd->id, ==, 6);
    g_assert_cmpint(pd->direction, ==, CHORUS_SDP_DIRECTION_SENDONLY);
    caps.extensions = NULL;

    /* The offerer is active: we must be passive, whatever we prefer. */
    caps.setup = CHORUS_SDP_SETUP_ACTIVE;
    offer->setup = CHORUS_SDP_SETUP_UNSET;
    for (guint i = 0; i < offer->media->len; i++)
        media_at(offer, i)->setup = CHORUS_SDP_SETUP_ACTIVE;
    g_autoptr(ChorusSdp) a2 = answer_ok(offer, &caps);
    g_assert_cmpint(media_at(a2, 0)->setup, ==, CHORUS_SDP_SETUP_PASSIVE);

    media_at(offer, 0)->setup = CHORUS_SDP_SETUP_HOLDCONN;
    g_assert_null(chorus_sdp_answer_build(offer, &caps, &error));
    g_assert_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_NEGOTIATION);
    g_clear_error(&error);
    media_at(offer, 0)->setup = CHORUS_SDP_SETUP_ACTPASS;

    g_clear_pointer(&offer->fingerprint.value, g_free);
    g_assert_null(chorus_sdp_answer_build(offer, &caps, &error));
    g_assert_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_NEGOTIATION);
    g_assert_nonnull(strstr(error->message, "fingerprint"));
    g_clear_error(&error);

    g_autoptr(ChorusSdp) chrome = parse_seed(SEED_CHROMIUM);
    caps.ice_pwd = NULL;
    g_assert_null(chorus_sdp_answer_build(chrome, &caps, &error));
    g_assert_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_NEGOTIATION);
    g_assert_nonnull(strstr(error->message, "ICE credentials"));
}

static void test_answer_aiortc(void)
{
    g_autoptr(ChorusSdp) offer = parse_seed(SEED_AIORTC);
    ChorusSdpLocalCaps caps = local_caps();
    caps.origin_address = "2001:db8::5";
    caps.ice_lite = TRUE;
    g_autoptr(ChorusSdp) ans = answer_ok(offer, &caps);

    g_assert_cmpstr(ans->origin.addrtype, ==, "IP6");
    g_assert_true(ans->ice_lite);
    g_assert_false(ans->extmap_allow_mixed);
    const ChorusSdpMedia *a = media_at(ans, 0);
    g_assert_cmpuint(chorus_sdp_media_primary_codec(a)->pt, ==, 96);
    g_assert_cmpuint(a->codecs->len, ==, 1);
    g_assert_false(a->rtcp_rsize);
    g_assert_cmpuint(a->candidates->len, ==, 0);
    const ChorusSdpMedia *v = media_at(ans, 1);
    g_assert_cmpuint(chorus_sdp_media_primary_codec(v)->pt, ==, 97);
    g_assert_true(chorus_sdp_media_has_rtcp_fb(v, 97, "goog-remb", NULL));
    g_assert_false(chorus_sdp_media_has_rtcp_fb(v, 97, "ccm", "fir")); /* not offered */

    /* Only what the caller supports: no goog-remb, and candidates added by the caller. */
    const char *const fbs[] = {"nack", "nack pli", NULL};
    caps.rtcp_fb = fbs;
    g_autoptr(ChorusSdp) ans2 = answer_ok(offer, &caps);
    g_assert_false(chorus_sdp_media_has_rtcp_fb(media_at(ans2, 1), 97, "goog-remb", NULL));
    g_assert_true(chorus_sdp_media_has_rtcp_fb(media_at(ans2, 1), 97, "nack", "pli"));
    ChorusSdpCandidate *c =
        chorus_sdp_candidate_parse("candidate:1 1 udp 2130706431 10.1.2.3 40000 typ host", NULL);
    g_ptr_array_add(media_at(ans2, 0)->candidates, c);
    media_at(ans2, 0)->end_of_candidates = TRUE;
    g_autofree char *text = chorus_sdp_to_string(ans2);
    g_assert_nonnull(strstr(text, "a=candidate:1 1 udp 2130706431 10.1.2.3 40000 typ host\r\n"
                                  "a=end-of-candidates\r\n"));
}

static void test_answer_legacy_sctp(void)
{
    g_autoptr(ChorusSdp) offer = parse_ok(
        HEAD "a=group:BUNDLE 0\r\nm=application 9 DTLS/SCTP 5000\r\nc=IN IP4 0.0.0.0\r\n" TRANSPORT
             "a=mid:0\r\na=sctpmap:5000 webrtc-datachannel 65535\r\n");
    ChorusSdpLocalCaps caps = local_caps();
    g_autoptr(ChorusSdp) ans = answer_ok(offer, &caps);
    const ChorusSdpMedia *d = media_at(ans, 0);

    g_assert_cmpuint(d->port, ==, 9);
    g_assert_cmpstr(d->proto, ==, "DTLS/SCTP");
    g_assert_cmpstr(d->fmt, ==, "5000");
    g_assert_cmpuint(d->sctp_port, ==, 0);
    g_autofree char *text = chorus_sdp_to_string(ans);
    g_assert_nonnull(strstr(text, "m=application 9 DTLS/SCTP 5000\r\n"));
    g_assert_nonnull(strstr(text, "a=sctpmap:5000 webrtc-datachannel 1024\r\n"));

    caps.data_channels = FALSE;
    g_autoptr(ChorusSdp) off = answer_ok(offer, &caps);
    g_assert_cmpuint(media_at(off, 0)->port, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sdp/parse/chromium-session", test_parse_chromium_session);
    g_test_add_func("/sdp/parse/chromium-audio", test_parse_chromium_audio);
    g_test_add_func("/sdp/parse/chromium-video-data", test_parse_chromium_video_data);
    g_test_add_func("/sdp/parse/firefox", test_parse_firefox);
    g_test_add_func("/sdp/parse/aiortc-candidates", test_parse_aiortc_candidates);
    g_test_add_func("/sdp/parse/janusjs", test_parse_janusjs);
    g_test_add_func("/sdp/roundtrip/seeds", test_roundtrip_seeds);
    g_test_add_func("/sdp/roundtrip/line-endings", test_roundtrip_line_endings);
    g_test_add_func("/sdp/roundtrip/unknown-and-rejected", test_roundtrip_unknown_and_rejected);
    g_test_add_func("/sdp/candidate/parse", test_candidate_parse);
    g_test_add_func("/sdp/candidate/errors", test_candidate_errors);
    g_test_add_func("/sdp/malformed/lines", test_malformed);
    g_test_add_func("/sdp/malformed/bytes", test_malformed_bytes);
    g_test_add_func("/sdp/malformed/limits", test_limits);
    g_test_add_func("/sdp/robust/prefixes", test_robust_prefixes);
    g_test_add_func("/sdp/robust/mutations", test_robust_mutations);
    g_test_add_func("/sdp/query/basics", test_queries);
    g_test_add_func("/sdp/answer/chromium", test_answer_chromium);
    g_test_add_func("/sdp/answer/codec-preferences", test_answer_codec_preferences);
    g_test_add_func("/sdp/answer/direction-function", test_answer_direction_function);
    g_test_add_func("/sdp/answer/direction-auto", test_answer_direction_auto);
    g_test_add_func("/sdp/answer/direction-override-ssrc", test_answer_direction_override_and_ssrc);
    g_test_add_func("/sdp/answer/video-rtx-ssrc", test_answer_video_rtx_ssrc);
    g_test_add_func("/sdp/answer/rejections", test_answer_rejections);
    g_test_add_func("/sdp/answer/bundle", test_answer_no_bundle_and_outside_bundle);
    g_test_add_func("/sdp/answer/setup-and-errors", test_answer_setup_and_errors);
    g_test_add_func("/sdp/answer/aiortc", test_answer_aiortc);
    g_test_add_func("/sdp/answer/legacy-sctp", test_answer_legacy_sctp);
    return g_test_run();
}
