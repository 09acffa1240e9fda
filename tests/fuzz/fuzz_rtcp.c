/* libFuzzer target: RTCP compound packets as they come out of SRTCP (media/rtcp.h).
 *
 * Input: one compound packet. Every packet the iterator yields goes through every parser
 * (the ones of other types must say CHORUS_PKT_ETYPE), variable-length lists are read
 * into bounded arrays twice (a large cap and a small one), and what parses is rebuilt
 * with the builders and parsed again. Checks, beyond memory safety (the input is an
 * exact-size heap copy, so ASan sees any overrun):
 *  - the iterator stays inside the buffer and advances by whole packets;
 *  - validate_compound() == OK means the iteration covers the input exactly and the
 *    typed parsers accept every SR, RR and feedback packet of a known kind;
 *  - a small cap gives ENOSPACE (or the same error) and the same first entries;
 *  - SR, RR, SDES CNAME, BYE, NACK (as a set of sequence numbers), FIR and REMB survive a
 *    build -> parse round trip; TWCC statuses are consecutive and consistent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/demux.h"
#include "media/rtcp.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The largest RTCP packet is 65536 words; NACK gives at most 17 numbers per 4 bytes. */
#define NACK_CAP  (17 * 65536)
#define TWCC_CAP  65536
#define SMALL_CAP 3

static uint16_t nack_big[NACK_CAP], nack_again[NACK_CAP];
static chorus_rtcp_twcc_packet twcc_big[TWCC_CAP];
static uint8_t seen_a[65536 / 8], seen_b[65536 / 8];

/* Parses the single packet in buf[len] (as built by a builder). */
static chorus_rtcp_header reparse(const uint8_t *buf, int len)
{
    CHECK(len > 0 && len % 4 == 0);
    CHECK(chorus_rtcp_validate_compound(buf, (size_t)len) == CHORUS_PKT_OK);
    chorus_rtcp_iter it;
    chorus_rtcp_header h;
    chorus_rtcp_iter_init(&it, buf, (size_t)len);
    CHECK(chorus_rtcp_iter_next(&it, &h) == 1 && h.len == (size_t)len);
    CHECK(chorus_rtcp_iter_next(&it, &h) == 0);
    chorus_rtcp_iter_init(&it, buf, (size_t)len);
    chorus_rtcp_iter_next(&it, &h);
    return h;
}

static int blocks_equal(const chorus_rtcp_report_block *a, const chorus_rtcp_report_block *b,
                        unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (a[i].ssrc != b[i].ssrc || a[i].fraction_lost != b[i].fraction_lost ||
            a[i].cumulative_lost != b[i].cumulative_lost ||
            a[i].ext_highest_seq != b[i].ext_highest_seq || a[i].jitter != b[i].jitter ||
            a[i].lsr != b[i].lsr || a[i].dlsr != b[i].dlsr)
            return 0;
        if (a[i].cumulative_lost < -0x800000 || a[i].cumulative_lost > 0x7fffff)
            return 0;
    }
    return 1;
}

static void check_sr_rr(const chorus_rtcp_header *h)
{
    static chorus_rtcp_sr sr, sr2;
    static chorus_rtcp_rr rr, rr2;
    static uint8_t buf[8 + 20 + 31 * 24];
    int rc = chorus_rtcp_parse_sr(h, &sr);
    if (h->pt != CHORUS_RTCP_SR) {
        CHECK(rc == CHORUS_PKT_ETYPE);
    } else if (rc == CHORUS_PKT_OK) {
        CHECK(sr.report_count == h->count);
        int n = chorus_rtcp_build_sr(buf, sizeof(buf), &sr);
        chorus_rtcp_header b = reparse(buf, n);
        CHECK(chorus_rtcp_parse_sr(&b, &sr2) == CHORUS_PKT_OK);
        CHECK(sr2.ssrc == sr.ssrc && sr2.ntp == sr.ntp && sr2.rtp_ts == sr.rtp_ts);
        CHECK(sr2.packet_count == sr.packet_count && sr2.octet_count == sr.octet_count);
        CHECK(sr2.report_count == sr.report_count);
        CHECK(blocks_equal(sr.reports, sr2.reports, sr.report_count));
        CHECK(chorus_rtcp_build_sr(buf, (size_t)n - 1, &sr) == CHORUS_PKT_ENOSPACE);
    }
    rc = chorus_rtcp_parse_rr(h, &rr);
    if (h->pt != CHORUS_RTCP_RR) {
        CHECK(rc == CHORUS_PKT_ETYPE);
    } else if (rc == CHORUS_PKT_OK) {
        CHECK(rr.report_count == h->count);
        int n = chorus_rtcp_build_rr(buf, sizeof(buf), rr.ssrc, rr.reports, rr.report_count);
        chorus_rtcp_header b = reparse(buf, n);
        CHECK(chorus_rtcp_parse_rr(&b, &rr2) == CHORUS_PKT_OK);
        CHECK(rr2.ssrc == rr.ssrc && rr2.report_count == rr.report_count);
        CHECK(blocks_equal(rr.reports, rr2.reports, rr.report_count));
    }
}

static void check_sdes(const chorus_rtcp_header *h)
{
    chorus_rtcp_sdes_iter it;
    chorus_rtcp_sdes_item item;
    int rc = chorus_rtcp_sdes_iter_init(&it, h);
    if (h->pt != CHORUS_RTCP_SDES) {
        CHECK(rc == CHORUS_PKT_ETYPE);
        char c[8];
        CHECK(chorus_rtcp_sdes_find_cname(h, NULL, c, sizeof(c)) == CHORUS_PKT_ETYPE);
        return;
    }
    CHECK(rc == CHORUS_PKT_OK);
    size_t items = 0;
    while ((rc = chorus_rtcp_sdes_next(&it, &item)) > 0) {
        CHECK(item.type != 0 && item.data >= h->body + 6);
        CHECK((size_t)(item.data - h->body) + item.len <= h->body_len);
        CHECK(++items <= h->body_len / 2);
    }
    CHECK(rc == 0 || rc == CHORUS_PKT_ETRUNC);

    char cname[256], small[4];
    uint32_t ssrc = 0;
    rc = chorus_rtcp_sdes_find_cname(h, &ssrc, cname, sizeof(cname));
    int rc_small = chorus_rtcp_sdes_find_cname(h, NULL, small, sizeof(small));
    CHECK(rc == CHORUS_PKT_OK || rc == CHORUS_PKT_ENOTFOUND || rc == CHORUS_PKT_ETRUNC);
    if (rc != CHORUS_PKT_OK) {
        CHECK(rc_small == rc);
        return;
    }
    CHECK(rc_small == CHORUS_PKT_OK || rc_small == CHORUS_PKT_ENOSPACE);
    size_t clen = strlen(cname);
    if (clen == 0)
        return; /* empty or starting with NUL: the builder takes a non-empty C string */
    uint8_t buf[4 + 4 + 2 + 255 + 4];
    int n = chorus_rtcp_build_sdes_cname(buf, sizeof(buf), ssrc, cname);
    chorus_rtcp_header b = reparse(buf, n);
    char again[256];
    uint32_t ssrc2 = 0;
    CHECK(chorus_rtcp_sdes_find_cname(&b, &ssrc2, again, sizeof(again)) == CHORUS_PKT_OK);
    CHECK(ssrc2 == ssrc && strcmp(again, cname) == 0);
}

static void check_bye(const chorus_rtcp_header *h)
{
    static chorus_rtcp_bye bye, bye2;
    int rc = chorus_rtcp_parse_bye(h, &bye);
    if (h->pt != CHORUS_RTCP_BYE) {
        CHECK(rc == CHORUS_PKT_ETYPE);
        return;
    }
    if (rc != CHORUS_PKT_OK)
        return;
    CHECK(bye.count == h->count);
    if (bye.reason != NULL)
        CHECK((size_t)(bye.reason - h->body) + bye.reason_len <= h->body_len);
    char reason[256];
    if (bye.reason != NULL) {
        memcpy(reason, bye.reason, bye.reason_len);
        reason[bye.reason_len] = '\0';
        if (strlen(reason) != bye.reason_len)
            return; /* a NUL inside: not a C string */
    }
    uint8_t buf[4 + 31 * 4 + 256];
    int n =
        chorus_rtcp_build_bye(buf, sizeof(buf), bye.ssrcs, bye.count, bye.reason ? reason : NULL);
    chorus_rtcp_header b = reparse(buf, n);
    CHECK(chorus_rtcp_parse_bye(&b, &bye2) == CHORUS_PKT_OK);
    CHECK(bye2.count == bye.count && memcmp(bye2.ssrcs, bye.ssrcs, bye.count * 4u) == 0);
    CHECK((bye2.reason != NULL) == (bye.reason != NULL) && bye2.reason_len == bye.reason_len);
    if (bye.reason != NULL)
        CHECK(memcmp(bye2.reason, reason, bye.reason_len) == 0);
}

static void mark(uint8_t *set, const uint16_t *seqs, size_t n)
{
    memset(set, 0, 65536 / 8);
    for (size_t i = 0; i < n; i++)
        set[seqs[i] >> 3] |= (uint8_t)(1u << (seqs[i] & 7));
}

static void check_nack(const chorus_rtcp_fb *fb)
{
    size_t n = 0, n_small = 0;
    uint16_t small[SMALL_CAP];
    int rc = chorus_rtcp_parse_nack(fb, nack_big, NACK_CAP, &n);
    int rc_small = chorus_rtcp_parse_nack(fb, small, SMALL_CAP, &n_small);
    if (fb->pt != CHORUS_RTCP_RTPFB || fb->fmt != CHORUS_RTCP_RTPFB_NACK) {
        CHECK(rc == CHORUS_PKT_ETYPE && rc_small == CHORUS_PKT_ETYPE);
        return;
    }
    if (rc != CHORUS_PKT_OK) {
        CHECK(rc == CHORUS_PKT_EMALFORMED && rc_small == rc);
        return;
    }
    CHECK(n >= fb->fci_len / 4 && n <= 17 * (fb->fci_len / 4));
    CHECK(rc_small == (n > SMALL_CAP ? CHORUS_PKT_ENOSPACE : CHORUS_PKT_OK));
    CHECK(n_small == (n < SMALL_CAP ? n : SMALL_CAP));
    CHECK(memcmp(small, nack_big, n_small * sizeof(uint16_t)) == 0);

    /* Rebuilt from the numbers in packet order, the NACK carries the same set. */
    size_t cap = 12 + 4 * n;
    uint8_t *buf = malloc(cap);
    CHECK(buf != NULL);
    int len = chorus_rtcp_build_nack(buf, cap, fb->sender_ssrc, fb->media_ssrc, nack_big, n);
    if (len == CHORUS_PKT_EINVAL) { /* more than 65536 words */
        free(buf);
        return;
    }
    CHECK(len > 0 && (size_t)len <= cap);
    chorus_rtcp_header b = reparse(buf, len);
    chorus_rtcp_fb fb2;
    size_t n2 = 0;
    CHECK(chorus_rtcp_parse_fb(&b, &fb2) == CHORUS_PKT_OK);
    CHECK(fb2.sender_ssrc == fb->sender_ssrc && fb2.media_ssrc == fb->media_ssrc);
    CHECK(chorus_rtcp_parse_nack(&fb2, nack_again, NACK_CAP, &n2) == CHORUS_PKT_OK);
    mark(seen_a, nack_big, n);
    mark(seen_b, nack_again, n2);
    CHECK(memcmp(seen_a, seen_b, sizeof(seen_a)) == 0);
    free(buf);
}

static void check_fir(const chorus_rtcp_fb *fb)
{
    chorus_rtcp_fir_entry big[64], small[1];
    size_t n = 0, n_small = 0;
    int rc = chorus_rtcp_parse_fir(fb, big, 64, &n);
    int rc_small = chorus_rtcp_parse_fir(fb, small, 1, &n_small);
    if (fb->pt != CHORUS_RTCP_PSFB || fb->fmt != CHORUS_RTCP_PSFB_FIR) {
        CHECK(rc == CHORUS_PKT_ETYPE && rc_small == CHORUS_PKT_ETYPE);
        return;
    }
    if (rc == CHORUS_PKT_EMALFORMED) {
        CHECK(rc_small == rc);
        return;
    }
    CHECK(rc == CHORUS_PKT_OK || rc == CHORUS_PKT_ENOSPACE);
    CHECK(n <= 64 && n >= 1 && n <= fb->fci_len / 8);
    CHECK(n_small == 1 && small[0].ssrc == big[0].ssrc && small[0].seq_nr == big[0].seq_nr);
    CHECK(rc_small == (fb->fci_len > 8 ? CHORUS_PKT_ENOSPACE : CHORUS_PKT_OK));
    uint8_t buf[20];
    int len = chorus_rtcp_build_fir(buf, sizeof(buf), fb->sender_ssrc, big[0].ssrc, big[0].seq_nr);
    chorus_rtcp_header b = reparse(buf, len);
    chorus_rtcp_fb fb2;
    chorus_rtcp_fir_entry e;
    size_t n2 = 0;
    CHECK(chorus_rtcp_parse_fb(&b, &fb2) == CHORUS_PKT_OK);
    CHECK(chorus_rtcp_parse_fir(&fb2, &e, 1, &n2) == CHORUS_PKT_OK && n2 == 1);
    CHECK(e.ssrc == big[0].ssrc && e.seq_nr == big[0].seq_nr);
}

static void check_remb(const chorus_rtcp_fb *fb)
{
    chorus_rtcp_remb r, r_small, r2;
    uint32_t ssrcs[255], small[2], ssrcs2[255];
    int rc = chorus_rtcp_parse_remb(fb, &r, ssrcs, 255);
    int rc_small = chorus_rtcp_parse_remb(fb, &r_small, small, 2);
    if (fb->pt != CHORUS_RTCP_PSFB || fb->fmt != CHORUS_RTCP_PSFB_AFB) {
        CHECK(rc == CHORUS_PKT_ETYPE && rc_small == CHORUS_PKT_ETYPE);
        return;
    }
    if (rc != CHORUS_PKT_OK) {
        CHECK(rc == CHORUS_PKT_ETRUNC || rc == CHORUS_PKT_ETYPE);
        CHECK(rc_small == rc);
        return;
    }
    CHECK(rc_small == (r.num_ssrc > 2 ? CHORUS_PKT_ENOSPACE : CHORUS_PKT_OK));
    CHECK(memcmp(small, ssrcs, (r.num_ssrc < 2 ? r.num_ssrc : 2) * 4u) == 0);
    uint8_t buf[20 + 255 * 4];
    int len =
        chorus_rtcp_build_remb(buf, sizeof(buf), fb->sender_ssrc, r.bitrate_bps, ssrcs, r.num_ssrc);
    chorus_rtcp_header b = reparse(buf, len);
    CHECK(chorus_rtcp_classify(&b) == CHORUS_RTCP_KIND_REMB);
    chorus_rtcp_fb fb2;
    CHECK(chorus_rtcp_parse_fb(&b, &fb2) == CHORUS_PKT_OK);
    CHECK(chorus_rtcp_parse_remb(&fb2, &r2, ssrcs2, 255) == CHORUS_PKT_OK);
    CHECK(r2.num_ssrc == r.num_ssrc && memcmp(ssrcs2, ssrcs, r.num_ssrc * 4u) == 0);
    if (r.bitrate_bps != UINT64_MAX) /* saturated values are re-encoded smaller */
        CHECK(r2.bitrate_bps == r.bitrate_bps);
}

static void check_twcc(const chorus_rtcp_fb *fb)
{
    chorus_rtcp_twcc info, info_small;
    chorus_rtcp_twcc_packet small[SMALL_CAP];
    size_t n = 0, n_small = 0;
    int rc = chorus_rtcp_parse_twcc(fb, &info, twcc_big, TWCC_CAP, &n);
    int rc_small = chorus_rtcp_parse_twcc(fb, &info_small, small, SMALL_CAP, &n_small);
    if (fb->pt != CHORUS_RTCP_RTPFB || fb->fmt != CHORUS_RTCP_RTPFB_TWCC) {
        CHECK(rc == CHORUS_PKT_ETYPE && rc_small == CHORUS_PKT_ETYPE);
        return;
    }
    if (rc != CHORUS_PKT_OK) {
        CHECK(rc == CHORUS_PKT_ETRUNC || rc == CHORUS_PKT_EMALFORMED);
        CHECK(rc_small == rc);
        return;
    }
    CHECK(n == info.status_count && info.received <= info.status_count);
    CHECK(info.ref_time >= -0x800000 && info.ref_time <= 0x7fffff);
    size_t received = 0;
    for (size_t i = 0; i < n; i++) {
        const chorus_rtcp_twcc_packet *p = &twcc_big[i];
        CHECK(p->seq == (uint16_t)(info.base_seq + i) && p->status <= CHORUS_TWCC_LARGE_DELTA);
        CHECK(p->delta_us % 250 == 0);
        if (p->status == CHORUS_TWCC_NOT_RECEIVED)
            CHECK(p->delta_us == 0 && p->arrival_us == 0);
        else
            received++;
        if (p->status == CHORUS_TWCC_SMALL_DELTA)
            CHECK(p->delta_us >= 0 && p->delta_us <= 255 * 250);
    }
    CHECK(received == info.received);
    CHECK(rc_small == (n > SMALL_CAP ? CHORUS_PKT_ENOSPACE : CHORUS_PKT_OK));
    CHECK(n_small == (n < SMALL_CAP ? n : SMALL_CAP));
    CHECK(info_small.received == info.received && info_small.base_seq == info.base_seq);
    for (size_t i = 0; i < n_small; i++) {
        CHECK(small[i].seq == twcc_big[i].seq && small[i].status == twcc_big[i].status);
        CHECK(small[i].delta_us == twcc_big[i].delta_us);
        CHECK(small[i].arrival_us == twcc_big[i].arrival_us);
    }
}

static void check_feedback(const chorus_rtcp_header *h, chorus_rtcp_kind kind)
{
    chorus_rtcp_fb fb;
    int rc = chorus_rtcp_parse_fb(h, &fb);
    if (h->pt != CHORUS_RTCP_RTPFB && h->pt != CHORUS_RTCP_PSFB) {
        CHECK(rc == CHORUS_PKT_ETYPE);
        return;
    }
    if (rc != CHORUS_PKT_OK) {
        CHECK(rc == CHORUS_PKT_ETRUNC && h->body_len < 8);
        return;
    }
    CHECK(fb.pt == h->pt && fb.fmt == h->count && fb.fci == h->body + 8);
    CHECK(fb.fci_len + 8 == h->body_len);
    check_nack(&fb);
    check_fir(&fb);
    check_remb(&fb);
    check_twcc(&fb);
    if (kind == CHORUS_RTCP_KIND_PLI) {
        uint8_t buf[12];
        chorus_rtcp_header b =
            reparse(buf, chorus_rtcp_build_pli(buf, sizeof(buf), fb.sender_ssrc, fb.media_ssrc));
        CHECK(chorus_rtcp_classify(&b) == CHORUS_RTCP_KIND_PLI);
    }
}

/* Packets of a compound that validate_compound() accepted must parse. */
static void check_valid_packet(const chorus_rtcp_header *h, chorus_rtcp_kind kind)
{
    static chorus_rtcp_sr sr;
    static chorus_rtcp_rr rr;
    chorus_rtcp_fb fb;
    if (kind == CHORUS_RTCP_KIND_SR)
        CHECK(chorus_rtcp_parse_sr(h, &sr) == CHORUS_PKT_OK);
    if (kind == CHORUS_RTCP_KIND_RR)
        CHECK(chorus_rtcp_parse_rr(h, &rr) == CHORUS_PKT_OK);
    if (h->pt == CHORUS_RTCP_RTPFB || h->pt == CHORUS_RTCP_PSFB)
        CHECK(chorus_rtcp_parse_fb(h, &fb) == CHORUS_PKT_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    if (size > 0)
        memcpy(buf, data, size);
    (void)chorus_demux_kind_name(chorus_demux_classify(buf, size));
    int valid = chorus_rtcp_validate_compound(buf, size);
    CHECK(valid <= 0 && chorus_pkt_strerror(valid) != NULL);

    chorus_rtcp_iter it;
    chorus_rtcp_header h;
    chorus_rtcp_iter_init(&it, buf, size);
    size_t covered = 0;
    int rc;
    while ((rc = chorus_rtcp_iter_next(&it, &h)) > 0) {
        CHECK(h.pkt == buf + covered && h.len >= 4 && h.len % 4 == 0);
        CHECK(h.len == ((size_t)h.length_words + 1) * 4 && covered + h.len <= size);
        CHECK(h.body == h.pkt + 4 && h.body_len <= h.len - 4);
        CHECK(h.count <= 31 && (h.padding == 0 || h.padding == 1));
        covered += h.len;
        chorus_rtcp_kind kind = chorus_rtcp_classify(&h);
        CHECK(chorus_rtcp_kind_name(kind) != NULL);
        if (valid == CHORUS_PKT_OK)
            check_valid_packet(&h, kind);
        check_sr_rr(&h);
        check_sdes(&h);
        check_bye(&h);
        check_feedback(&h, kind);
    }
    CHECK(rc == 0 || rc == CHORUS_PKT_ETRUNC || rc == CHORUS_PKT_EVERSION ||
          rc == CHORUS_PKT_EPADDING);
    if (valid == CHORUS_PKT_OK)
        CHECK(rc == 0 && covered == size && size > 0);
    if (rc < 0)
        CHECK(valid == rc || valid == CHORUS_PKT_ETRUNC);
    free(buf);
    return 0;
}
