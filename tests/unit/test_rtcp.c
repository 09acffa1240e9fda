/* Unit tests: RTCP compound iteration, parsers and builders. */
#include <glib.h>
#include <string.h>

#include "media/rtcp.h"

/* SR, RC=1: ssrc 0x11111111, NTP 0xe1a2b3c4.80000000, rtp 90000, 100 packets, 10000
 * octets; block about 0x22222222: fraction 0x40, cumulative -2, ext seq 0x00010005,
 * jitter 32, lsr 0xa2b3c480, dlsr 0x8000. */
static const uint8_t sr_vec[] = {0x81, 0xc8, 0x00, 0x0c, 0x11, 0x11, 0x11, 0x11, 0xe1, 0xa2, 0xb3,
                                 0xc4, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x5f, 0x90, 0x00, 0x00,
                                 0x00, 0x64, 0x00, 0x00, 0x27, 0x10, 0x22, 0x22, 0x22, 0x22, 0x40,
                                 0xff, 0xff, 0xfe, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x20,
                                 0xa2, 0xb3, 0xc4, 0x80, 0x00, 0x00, 0x80, 0x00};

/* SDES, SC=2: chunk(ssrc 1: CNAME "a"), chunk(ssrc 2: NAME "bob", CNAME "xy"). */
static const uint8_t sdes_vec[] = {0x82, 0xca, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01,
                                   'a',  0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x03, 'b',  'o',
                                   'b',  0x01, 0x02, 'x',  'y',  0x00, 0x00, 0x00};

/* transport-cc: base 100, 20 statuses, ref time 16 (x64 ms), fb count 3; chunks:
 * run-length (small x5), 2-bit vector [L,-,S,-,-,S,L], 1-bit vector [1,0,1,1,0,0,0,1]
 * (+6 unused symbols); 15 bytes of deltas; 3 bytes of zero padding. */
static const uint8_t twcc_vec[] = {
    0x8f, 0xcd, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x64, 0x00,
    0x14, 0x00, 0x00, 0x10, 0x03, 0x20, 0x05, 0xe1, 0x06, 0xac, 0x7f, 0x04, 0x50, 0x00, 0xff,
    0x01, 0xff, 0xf8, 0x0a, 0x14, 0x04, 0x00, 0x03, 0x04, 0x05, 0x06, 0x00, 0x00, 0x00};

static chorus_rtcp_header one_packet(const uint8_t *buf, size_t len)
{
    chorus_rtcp_iter it;
    chorus_rtcp_header h;
    chorus_rtcp_iter_init(&it, buf, len);
    g_assert_cmpint(chorus_rtcp_iter_next(&it, &h), ==, 1);
    g_assert_cmpint(chorus_rtcp_iter_next(&it, &h), ==, 0);
    chorus_rtcp_iter_init(&it, buf, len);
    chorus_rtcp_iter_next(&it, &h);
    return h;
}

static chorus_rtcp_fb one_fb(const uint8_t *buf, size_t len)
{
    chorus_rtcp_header h = one_packet(buf, len);
    chorus_rtcp_fb fb;
    g_assert_cmpint(chorus_rtcp_parse_fb(&h, &fb), ==, CHORUS_PKT_OK);
    return fb;
}

static void test_sr(void)
{
    chorus_rtcp_header h = one_packet(sr_vec, sizeof(sr_vec));
    chorus_rtcp_sr sr;
    g_assert_cmpint(chorus_rtcp_classify(&h), ==, CHORUS_RTCP_KIND_SR);
    g_assert_cmpint(chorus_rtcp_parse_sr(&h, &sr), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(sr.ssrc, ==, 0x11111111);
    g_assert_cmphex(sr.ntp, ==, 0xe1a2b3c480000000ull);
    g_assert_cmpuint(sr.rtp_ts, ==, 90000);
    g_assert_cmpuint(sr.packet_count, ==, 100);
    g_assert_cmpuint(sr.octet_count, ==, 10000);
    g_assert_cmpuint(sr.report_count, ==, 1);
    const chorus_rtcp_report_block *b = &sr.reports[0];
    g_assert_cmphex(b->ssrc, ==, 0x22222222);
    g_assert_cmpuint(b->fraction_lost, ==, 0x40);
    g_assert_cmpint(b->cumulative_lost, ==, -2);
    g_assert_cmphex(b->ext_highest_seq, ==, 0x00010005);
    g_assert_cmpuint(b->jitter, ==, 32);
    g_assert_cmphex(b->lsr, ==, 0xa2b3c480);
    g_assert_cmpuint(b->dlsr, ==, 0x8000);

    uint8_t out[128];
    g_assert_cmpint(chorus_rtcp_build_sr(out, sizeof(out), &sr), ==, (int)sizeof(sr_vec));
    g_assert_cmpmem(out, sizeof(sr_vec), sr_vec, sizeof(sr_vec));
    g_assert_cmpint(chorus_rtcp_build_sr(out, sizeof(sr_vec) - 1, &sr), ==, CHORUS_PKT_ENOSPACE);

    chorus_rtcp_rr rr;
    g_assert_cmpint(chorus_rtcp_parse_rr(&h, &rr), ==, CHORUS_PKT_ETYPE);
}

static void assert_block_eq(const chorus_rtcp_report_block *a, const chorus_rtcp_report_block *b)
{
    g_assert_cmphex(a->ssrc, ==, b->ssrc);
    g_assert_cmpuint(a->fraction_lost, ==, b->fraction_lost);
    g_assert_cmpint(a->cumulative_lost, ==, b->cumulative_lost);
    g_assert_cmphex(a->ext_highest_seq, ==, b->ext_highest_seq);
    g_assert_cmpuint(a->jitter, ==, b->jitter);
    g_assert_cmphex(a->lsr, ==, b->lsr);
    g_assert_cmpuint(a->dlsr, ==, b->dlsr);
}

static void test_rr_roundtrip(void)
{
    chorus_rtcp_report_block blocks[2] = {
        {0xaaaaaaaa, 25, 1000, 0x00020010, 7, 0x12345678, 65536},
        {0xbbbbbbbb, 255, -8388608, 0xffffffff, 0, 0, 0},
    };
    static const uint8_t want[] = {
        0x82, 0xc9, 0x00, 0x0d, 0x01, 0x02, 0x03, 0x04, 0xaa, 0xaa, 0xaa, 0xaa, 0x19, 0x00,
        0x03, 0xe8, 0x00, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00, 0x07, 0x12, 0x34, 0x56, 0x78,
        0x00, 0x01, 0x00, 0x00, 0xbb, 0xbb, 0xbb, 0xbb, 0xff, 0x80, 0x00, 0x00, 0xff, 0xff,
        0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    uint8_t out[64];
    g_assert_cmpint(chorus_rtcp_build_rr(out, sizeof(out), 0x01020304, blocks, 2), ==, 56);
    g_assert_cmpmem(out, 56, want, sizeof(want));

    chorus_rtcp_header h = one_packet(out, 56);
    chorus_rtcp_rr rr;
    g_assert_cmpint(chorus_rtcp_classify(&h), ==, CHORUS_RTCP_KIND_RR);
    g_assert_cmpint(chorus_rtcp_parse_rr(&h, &rr), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(rr.ssrc, ==, 0x01020304);
    g_assert_cmpuint(rr.report_count, ==, 2);
    assert_block_eq(&rr.reports[0], &blocks[0]);
    g_assert_cmpint(rr.reports[1].cumulative_lost, ==, -8388608);
    g_assert_cmpuint(rr.reports[1].fraction_lost, ==, 255);

    /* empty RR (8 bytes) and clamping of an out-of-range cumulative loss */
    g_assert_cmpint(chorus_rtcp_build_rr(out, sizeof(out), 5, NULL, 0), ==, 8);
    g_assert_cmpmem(out, 8, "\x80\xc9\x00\x01\x00\x00\x00\x05", 8);
    blocks[0].cumulative_lost = 99999999;
    g_assert_cmpint(chorus_rtcp_build_rr(out, sizeof(out), 5, blocks, 1), ==, 32);
    g_assert_cmpmem(out + 13, 3, "\x7f\xff\xff", 3);
    g_assert_cmpint(chorus_rtcp_build_rr(out, sizeof(out), 5, blocks, 32), ==, CHORUS_PKT_EINVAL);
}

static void test_sdes(void)
{
    chorus_rtcp_header h = one_packet(sdes_vec, sizeof(sdes_vec));
    chorus_rtcp_sdes_iter it;
    chorus_rtcp_sdes_item item;
    g_assert_cmpint(chorus_rtcp_classify(&h), ==, CHORUS_RTCP_KIND_SDES);
    g_assert_cmpint(chorus_rtcp_sdes_iter_init(&it, &h), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtcp_sdes_next(&it, &item), ==, 1);
    g_assert_cmpuint(item.ssrc, ==, 1);
    g_assert_cmpuint(item.type, ==, CHORUS_RTCP_SDES_CNAME);
    g_assert_cmpmem(item.data, item.len, "a", 1);
    g_assert_cmpint(chorus_rtcp_sdes_next(&it, &item), ==, 1);
    g_assert_cmpuint(item.ssrc, ==, 2);
    g_assert_cmpuint(item.type, ==, 2);
    g_assert_cmpmem(item.data, item.len, "bob", 3);
    g_assert_cmpint(chorus_rtcp_sdes_next(&it, &item), ==, 1);
    g_assert_cmpuint(item.ssrc, ==, 2);
    g_assert_cmpuint(item.type, ==, CHORUS_RTCP_SDES_CNAME);
    g_assert_cmpmem(item.data, item.len, "xy", 2);
    g_assert_cmpint(chorus_rtcp_sdes_next(&it, &item), ==, 0);

    char cname[16];
    uint32_t ssrc = 0;
    g_assert_cmpint(chorus_rtcp_sdes_find_cname(&h, &ssrc, cname, sizeof(cname)), ==,
                    CHORUS_PKT_OK);
    g_assert_cmpstr(cname, ==, "a");
    g_assert_cmpuint(ssrc, ==, 1);
    g_assert_cmpint(chorus_rtcp_sdes_find_cname(&h, &ssrc, cname, 1), ==, CHORUS_PKT_ENOSPACE);
}

static void test_sdes_build(void)
{
    uint8_t out[300];
    static const uint8_t want9[] = {0x81, 0xca, 0x00, 0x04, 0xca, 0xfe, 0xba, 0xbe, 0x01, 0x09,
                                    'u',  's',  'e',  'r',  '@',  'h',  'o',  's',  't',  0x00};
    g_assert_cmpint(chorus_rtcp_build_sdes_cname(out, sizeof(out), 0xcafebabe, "user@host"), ==,
                    20);
    g_assert_cmpmem(out, 20, want9, sizeof(want9));
    /* 4 chars: 4 + 2 + 4 + 1 = 11 -> padded to 12 with a second null octet */
    static const uint8_t want4[] = {0x81, 0xca, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07,
                                    0x01, 0x04, 'a',  'b',  'c',  'd',  0x00, 0x00};
    memset(out, 0xee, sizeof(out));
    g_assert_cmpint(chorus_rtcp_build_sdes_cname(out, sizeof(out), 7, "abcd"), ==, 16);
    g_assert_cmpmem(out, 16, want4, sizeof(want4));
    g_assert_cmpint(chorus_rtcp_build_sdes_cname(out, 15, 7, "abcd"), ==, CHORUS_PKT_ENOSPACE);
    g_assert_cmpint(chorus_rtcp_build_sdes_cname(out, sizeof(out), 7, ""), ==, CHORUS_PKT_EINVAL);

    /* every CNAME length 1..255 round-trips */
    char name[256];
    char back[256];
    for (size_t n = 1; n <= 255; n++) {
        memset(name, 'a' + (int)(n % 26), n);
        name[n] = '\0';
        int len = chorus_rtcp_build_sdes_cname(out, sizeof(out), (uint32_t)n, name);
        g_assert_cmpint(len, >, 0);
        g_assert_cmpint(len % 4, ==, 0);
        g_assert_cmpint(chorus_rtcp_validate_compound(out, (size_t)len), ==, CHORUS_PKT_OK);
        chorus_rtcp_header h = one_packet(out, (size_t)len);
        uint32_t ssrc;
        g_assert_cmpint(chorus_rtcp_sdes_find_cname(&h, &ssrc, back, sizeof(back)), ==,
                        CHORUS_PKT_OK);
        g_assert_cmpstr(back, ==, name);
        g_assert_cmpuint(ssrc, ==, n);
    }
    memset(name, 'x', 255);
    name[255] = '\0';
    char longer[300];
    memset(longer, 'x', 299);
    longer[299] = '\0';
    g_assert_cmpint(chorus_rtcp_build_sdes_cname(out, sizeof(out), 1, longer), ==,
                    CHORUS_PKT_EINVAL);
}

static void test_bye(void)
{
    uint32_t ssrcs[] = {0x1234, 0x5678};
    static const uint8_t want[] = {0x82, 0xcb, 0x00, 0x03, 0x00, 0x00, 0x12, 0x34,
                                   0x00, 0x00, 0x56, 0x78, 0x03, 'b',  'y',  'e'};
    uint8_t out[64];
    g_assert_cmpint(chorus_rtcp_build_bye(out, sizeof(out), ssrcs, 2, "bye"), ==, 16);
    g_assert_cmpmem(out, 16, want, sizeof(want));
    chorus_rtcp_header h = one_packet(out, 16);
    chorus_rtcp_bye bye;
    g_assert_cmpint(chorus_rtcp_classify(&h), ==, CHORUS_RTCP_KIND_BYE);
    g_assert_cmpint(chorus_rtcp_parse_bye(&h, &bye), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(bye.count, ==, 2);
    g_assert_cmpuint(bye.ssrcs[0], ==, 0x1234);
    g_assert_cmpuint(bye.ssrcs[1], ==, 0x5678);
    g_assert_cmpmem(bye.reason, bye.reason_len, "bye", 3);

    g_assert_cmpint(chorus_rtcp_build_bye(out, sizeof(out), ssrcs, 1, NULL), ==, 8);
    h = one_packet(out, 8);
    g_assert_cmpint(chorus_rtcp_parse_bye(&h, &bye), ==, CHORUS_PKT_OK);
    g_assert_null(bye.reason);

    /* reason length byte claims more than the packet holds */
    out[0] = 0x81;
    out[3] = 0x02;
    memcpy(out + 8, "\x09xyz", 4);
    h = one_packet(out, 12);
    g_assert_cmpint(chorus_rtcp_parse_bye(&h, &bye), ==, CHORUS_PKT_ETRUNC);
    /* SC larger than the body */
    out[0] = 0x85;
    h = one_packet(out, 12);
    g_assert_cmpint(chorus_rtcp_parse_bye(&h, &bye), ==, CHORUS_PKT_ETRUNC);
}

static void test_nack_build_parse(void)
{
    static const uint16_t lost[] = {100, 101, 103, 116, 117, 140};
    static const uint8_t want[] = {0x81, 0xcd, 0x00, 0x05, 0x00, 0x00, 0x00, 0x0a,
                                   0x00, 0x00, 0x00, 0x0b, 0x00, 0x64, 0x80, 0x05,
                                   0x00, 0x75, 0x00, 0x00, 0x00, 0x8c, 0x00, 0x00};
    uint8_t out[64];
    g_assert_cmpint(chorus_rtcp_build_nack(out, sizeof(out), 10, 11, lost, 6), ==, 24);
    g_assert_cmpmem(out, 24, want, sizeof(want));

    /* {100,101,103,116}: one FCI, PID 100, BLP bits 0, 2, 15 */
    g_assert_cmpint(chorus_rtcp_build_nack(out, sizeof(out), 10, 11, lost, 4), ==, 16);
    g_assert_cmpmem(out + 12, 4, "\x00\x64\x80\x05", 4);

    chorus_rtcp_fb fb = one_fb(want, sizeof(want));
    g_assert_cmpuint(fb.sender_ssrc, ==, 10);
    g_assert_cmpuint(fb.media_ssrc, ==, 11);
    uint16_t seqs[64];
    size_t n = 0;
    g_assert_cmpint(chorus_rtcp_parse_nack(&fb, seqs, G_N_ELEMENTS(seqs), &n), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(n, ==, 6);
    g_assert_cmpmem(seqs, n * 2, lost, sizeof(lost));

    /* bounded output: the first cap, then ENOSPACE */
    g_assert_cmpint(chorus_rtcp_parse_nack(&fb, seqs, 3, &n), ==, CHORUS_PKT_ENOSPACE);
    g_assert_cmpuint(n, ==, 3);
    g_assert_cmpuint(seqs[2], ==, 103);
    g_assert_cmpint(chorus_rtcp_build_nack(out, 23, 10, 11, lost, 6), ==, CHORUS_PKT_ENOSPACE);
    g_assert_cmpint(chorus_rtcp_build_nack(out, sizeof(out), 10, 11, lost, 0), ==,
                    CHORUS_PKT_EINVAL);
}

static void test_nack_wrap_dup(void)
{
    static const uint16_t lost[] = {65534, 65534, 65535, 0, 2, 17, 18};
    uint8_t out[64];
    int len = chorus_rtcp_build_nack(out, sizeof(out), 1, 2, lost, G_N_ELEMENTS(lost));
    g_assert_cmpint(len, ==, 20);
    /* 65534 + {1,2,4,19-} -> 65535, 0, 2 in BLP (0x000b); 17 = 65534 + 19 starts a new FCI */
    g_assert_cmpmem(out + 12, 8, "\xff\xfe\x00\x0b\x00\x11\x00\x01", 8);
    chorus_rtcp_fb fb = one_fb(out, (size_t)len);
    uint16_t seqs[40];
    size_t n;
    g_assert_cmpint(chorus_rtcp_parse_nack(&fb, seqs, 40, &n), ==, CHORUS_PKT_OK);
    static const uint16_t want[] = {65534, 65535, 0, 2, 17, 18};
    g_assert_cmpuint(n, ==, G_N_ELEMENTS(want));
    g_assert_cmpmem(seqs, n * 2, want, sizeof(want));

    /* all 17 in one FCI */
    uint16_t all[17];
    for (unsigned i = 0; i < 17; i++)
        all[i] = (uint16_t)(500 + i);
    g_assert_cmpint(chorus_rtcp_build_nack(out, sizeof(out), 1, 2, all, 17), ==, 16);
    g_assert_cmpmem(out + 12, 4, "\x01\xf4\xff\xff", 4);
}

static void test_pli_fir(void)
{
    uint8_t out[32];
    g_assert_cmpint(chorus_rtcp_build_pli(out, sizeof(out), 0x01, 0x02), ==, 12);
    g_assert_cmpmem(out, 12, "\x81\xce\x00\x02\x00\x00\x00\x01\x00\x00\x00\x02", 12);
    chorus_rtcp_header h = one_packet(out, 12);
    g_assert_cmpint(chorus_rtcp_classify(&h), ==, CHORUS_RTCP_KIND_PLI);
    chorus_rtcp_fb fb = one_fb(out, 12);
    g_assert_cmpuint(fb.pt, ==, CHORUS_RTCP_PSFB);
    g_assert_cmpuint(fb.fmt, ==, CHORUS_RTCP_PSFB_PLI);
    g_assert_cmpuint(fb.media_ssrc, ==, 2);
    g_assert_cmpuint(fb.fci_len, ==, 0);
    g_assert_cmpint(chorus_rtcp_build_pli(out, 11, 1, 2), ==, CHORUS_PKT_ENOSPACE);

    static const uint8_t want_fir[] = {0x84, 0xce, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
                                       0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x2a, 0x00, 0x00, 0x00};
    g_assert_cmpint(chorus_rtcp_build_fir(out, sizeof(out), 1, 2, 42), ==, 20);
    g_assert_cmpmem(out, 20, want_fir, sizeof(want_fir));
    h = one_packet(out, 20);
    g_assert_cmpint(chorus_rtcp_classify(&h), ==, CHORUS_RTCP_KIND_FIR);
    fb = one_fb(out, 20);
    chorus_rtcp_fir_entry e[2];
    size_t n;
    g_assert_cmpint(chorus_rtcp_parse_fir(&fb, e, 2, &n), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(n, ==, 1);
    g_assert_cmpuint(e[0].ssrc, ==, 2);
    g_assert_cmpuint(e[0].seq_nr, ==, 42);
    g_assert_cmpint(chorus_rtcp_parse_nack(&fb, NULL, 0, &n), ==, CHORUS_PKT_ETYPE);
}

static void test_remb(void)
{
    uint32_t ssrcs[] = {0x11, 0x22};
    static const uint8_t want[] = {0x8f, 0xce, 0x00, 0x06, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00,
                                   0x00, 0x00, 'R',  'E',  'M',  'B',  0x02, 0x0b, 0xd0, 0x90,
                                   0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x22};
    uint8_t out[64];
    g_assert_cmpint(chorus_rtcp_build_remb(out, sizeof(out), 9, 1000000, ssrcs, 2), ==, 28);
    g_assert_cmpmem(out, 28, want, sizeof(want));
    chorus_rtcp_header h = one_packet(out, 28);
    g_assert_cmpint(chorus_rtcp_classify(&h), ==, CHORUS_RTCP_KIND_REMB);
    g_assert_cmpstr(chorus_rtcp_kind_name(chorus_rtcp_classify(&h)), ==, "remb");
    chorus_rtcp_fb fb = one_fb(out, 28);
    chorus_rtcp_remb remb;
    uint32_t got[4];
    g_assert_cmpint(chorus_rtcp_parse_remb(&fb, &remb, got, 4), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(remb.bitrate_bps, ==, 1000000);
    g_assert_cmpuint(remb.num_ssrc, ==, 2);
    g_assert_cmpuint(got[0], ==, 0x11);
    g_assert_cmpuint(got[1], ==, 0x22);
    g_assert_cmpint(chorus_rtcp_parse_remb(&fb, &remb, got, 1), ==, CHORUS_PKT_ENOSPACE);

    /* rounding down: 2^18 + 1 needs exponent 1 and loses the low bit */
    g_assert_cmpint(chorus_rtcp_build_remb(out, sizeof(out), 9, 262145, NULL, 0), ==, 20);
    fb = one_fb(out, 20);
    g_assert_cmpint(chorus_rtcp_parse_remb(&fb, &remb, NULL, 0), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(remb.bitrate_bps, ==, 262144);
    /* exponent 63 with a full mantissa saturates */
    out[17] = 0xff;
    out[18] = 0xff;
    out[19] = 0xff;
    g_assert_cmpint(chorus_rtcp_parse_remb(&fb, &remb, NULL, 0), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(remb.bitrate_bps, ==, UINT64_MAX);
    /* num_ssrc lies */
    out[16] = 5;
    g_assert_cmpint(chorus_rtcp_parse_remb(&fb, &remb, got, 4), ==, CHORUS_PKT_ETRUNC);
    /* not REMB: other AFB */
    memcpy(out + 12, "ABCD", 4);
    h = one_packet(out, 20);
    g_assert_cmpint(chorus_rtcp_classify(&h), ==, CHORUS_RTCP_KIND_PSFB_OTHER);
    g_assert_cmpint(chorus_rtcp_parse_remb(&fb, &remb, got, 4), ==, CHORUS_PKT_ETYPE);
}

static void test_twcc(void)
{
    chorus_rtcp_header h = one_packet(twcc_vec, sizeof(twcc_vec));
    g_assert_cmpint(chorus_rtcp_classify(&h), ==, CHORUS_RTCP_KIND_TWCC);
    chorus_rtcp_fb fb = one_fb(twcc_vec, sizeof(twcc_vec));
    chorus_rtcp_twcc info;
    chorus_rtcp_twcc_packet p[32];
    size_t n = 0;
    g_assert_cmpint(chorus_rtcp_parse_twcc(&fb, &info, p, G_N_ELEMENTS(p), &n), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(info.base_seq, ==, 100);
    g_assert_cmpuint(info.status_count, ==, 20);
    g_assert_cmpint(info.ref_time, ==, 16);
    g_assert_cmpuint(info.fb_count, ==, 3);
    g_assert_cmpuint(info.received, ==, 13);
    g_assert_cmpuint(n, ==, 20);

    enum { N = CHORUS_TWCC_NOT_RECEIVED, S = CHORUS_TWCC_SMALL_DELTA, L = CHORUS_TWCC_LARGE_DELTA };
    static const uint8_t status[20] = {S, S, S, S, S, L, N, S, N, N, S, L, S, N, S, S, N, N, N, S};
    static const int32_t delta[20] = {1000, 20000,  0,   63750, 250,  -2000, 0, 2500, 0, 0,
                                      5000, 256000, 750, 0,     1000, 1250,  0, 0,    0, 1500};
    int64_t t = 16 * 64000;
    for (unsigned i = 0; i < 20; i++) {
        g_assert_cmpuint(p[i].seq, ==, 100 + i);
        g_assert_cmpuint(p[i].status, ==, status[i]);
        g_assert_cmpint(p[i].delta_us, ==, delta[i]);
        if (status[i] != N) {
            t += delta[i];
            g_assert_cmpint(p[i].arrival_us, ==, t);
        }
    }
    g_assert_cmpint(p[19].arrival_us, ==, 1375000);

    /* bounded array: first 10, the rest validated, then ENOSPACE */
    chorus_rtcp_twcc_packet small[10];
    g_assert_cmpint(chorus_rtcp_parse_twcc(&fb, &info, small, 10, &n), ==, CHORUS_PKT_ENOSPACE);
    g_assert_cmpuint(n, ==, 10);
    for (unsigned i = 0; i < 10; i++) {
        g_assert_cmpuint(small[i].seq, ==, p[i].seq);
        g_assert_cmpuint(small[i].status, ==, p[i].status);
        g_assert_cmpint(small[i].delta_us, ==, p[i].delta_us);
        g_assert_cmpint(small[i].arrival_us, ==, p[i].arrival_us);
    }
}

static void test_twcc_malformed(void)
{
    uint8_t b[sizeof(twcc_vec)];
    chorus_rtcp_twcc info;
    chorus_rtcp_twcc_packet p[64];
    size_t n;
    chorus_rtcp_fb fb;

    /* deltas cut: claim 21 statuses so the 9th symbol of the last chunk (1) needs a 16th
     * delta byte: the zero padding supplies it; without the padding it is missing */
    memcpy(b, twcc_vec, sizeof(b));
    b[15] = 21;
    fb = one_fb(b, sizeof(b));
    g_assert_cmpint(chorus_rtcp_parse_twcc(&fb, &info, p, 64, &n), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(info.received, ==, 14);
    fb.fci_len = 8 + 6 + 15; /* without the padding the 16th delta byte is missing */
    g_assert_cmpint(chorus_rtcp_parse_twcc(&fb, &info, p, 64, &n), ==, CHORUS_PKT_ETRUNC);

    /* more statuses than the chunks in the packet describe */
    memcpy(b, twcc_vec, sizeof(b));
    b[14] = 0x40; /* 16384 + 20 statuses: the deltas get read as chunks (one of them has
                     the reserved symbol) and then the packet ends: an error either way */
    fb = one_fb(b, sizeof(b));
    g_assert_cmpint(chorus_rtcp_parse_twcc(&fb, &info, p, 64, &n), ==, CHORUS_PKT_EMALFORMED);
    fb.fci_len = 8 + 6 + 4; /* chunks cut short before any bad symbol */
    g_assert_cmpint(chorus_rtcp_parse_twcc(&fb, &info, p, 64, &n), ==, CHORUS_PKT_ETRUNC);

    /* reserved status symbol 3 in a run-length chunk */
    memcpy(b, twcc_vec, sizeof(b));
    b[20] = 0x60;
    fb = one_fb(b, sizeof(b));
    g_assert_cmpint(chorus_rtcp_parse_twcc(&fb, &info, p, 64, &n), ==, CHORUS_PKT_EMALFORMED);

    /* zero-length run chunks everywhere: must end with an error, not loop */
    uint8_t zero[] = {0x8f, 0xcd, 0x00, 0x05, 0,    0,    0,    1,    0,    0,    0,    2,    0x00,
                      0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    fb = one_fb(zero, 24);
    g_assert_cmpint(chorus_rtcp_parse_twcc(&fb, &info, p, 64, &n), ==, CHORUS_PKT_ETRUNC);

    /* status count 0: valid and empty */
    zero[15] = 0;
    fb = one_fb(zero, 24);
    g_assert_cmpint(chorus_rtcp_parse_twcc(&fb, &info, p, 64, &n), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(n, ==, 0);

    /* negative reference time */
    zero[16] = 0xff;
    zero[17] = 0xff;
    zero[18] = 0xfe;
    fb = one_fb(zero, 24);
    g_assert_cmpint(chorus_rtcp_parse_twcc(&fb, &info, p, 64, &n), ==, CHORUS_PKT_OK);
    g_assert_cmpint(info.ref_time, ==, -2);

    /* FCI shorter than the fixed 8 bytes */
    zero[3] = 0x03;
    fb = one_fb(zero, 16);
    g_assert_cmpint(chorus_rtcp_parse_twcc(&fb, &info, p, 64, &n), ==, CHORUS_PKT_ETRUNC);
}

static void test_compound(void)
{
    uint8_t buf[256];
    size_t off = 0;
    chorus_rtcp_sr sr = {0};
    sr.ssrc = 0x42;
    sr.ntp = 0x0102030405060708ull;
    sr.report_count = 1;
    sr.reports[0].ssrc = 0x43;
    uint32_t media = 0x43;
    int len = chorus_rtcp_build_sr(buf, sizeof(buf), &sr);
    g_assert_cmpint(len, ==, 52);
    off += (size_t)len;
    len = chorus_rtcp_build_sdes_cname(buf + off, sizeof(buf) - off, 0x42, "chorus");
    g_assert_cmpint(len, >, 0);
    off += (size_t)len;
    len = chorus_rtcp_build_remb(buf + off, sizeof(buf) - off, 0x42, 300000, &media, 1);
    g_assert_cmpint(len, >, 0);
    off += (size_t)len;
    uint16_t lost = 7;
    len = chorus_rtcp_build_nack(buf + off, sizeof(buf) - off, 0x42, 0x43, &lost, 1);
    off += (size_t)len;
    g_assert_cmpint(chorus_rtcp_validate_compound(buf, off), ==, CHORUS_PKT_OK);

    static const chorus_rtcp_kind want[] = {CHORUS_RTCP_KIND_SR, CHORUS_RTCP_KIND_SDES,
                                            CHORUS_RTCP_KIND_REMB, CHORUS_RTCP_KIND_NACK};
    chorus_rtcp_iter it;
    chorus_rtcp_header h;
    size_t i = 0;
    chorus_rtcp_iter_init(&it, buf, off);
    while (chorus_rtcp_iter_next(&it, &h) == 1) {
        g_assert_cmpuint(i, <, G_N_ELEMENTS(want));
        g_assert_cmpint(chorus_rtcp_classify(&h), ==, want[i]);
        i++;
    }
    g_assert_cmpuint(i, ==, 4);

    /* trailing garbage shorter than a header */
    g_assert_cmpint(chorus_rtcp_validate_compound(buf, off + 2), ==, CHORUS_PKT_ETRUNC);
}

static void test_malformed(void)
{
    uint8_t b[128];
    chorus_rtcp_iter it;
    chorus_rtcp_header h;
    chorus_rtcp_sr sr;

    /* length field lying: claims 13 words more than present */
    memcpy(b, sr_vec, sizeof(sr_vec));
    b[3] = 0x19;
    g_assert_cmpint(chorus_rtcp_validate_compound(b, sizeof(sr_vec)), ==, CHORUS_PKT_ETRUNC);
    chorus_rtcp_iter_init(&it, b, sizeof(sr_vec));
    g_assert_cmpint(chorus_rtcp_iter_next(&it, &h), ==, CHORUS_PKT_ETRUNC);
    /* wrong version */
    memcpy(b, sr_vec, sizeof(sr_vec));
    b[0] = 0x41;
    g_assert_cmpint(chorus_rtcp_validate_compound(b, sizeof(sr_vec)), ==, CHORUS_PKT_EVERSION);
    /* RC=2 but one block: the length field is honest, the count is not */
    memcpy(b, sr_vec, sizeof(sr_vec));
    b[0] = 0x82;
    g_assert_cmpint(chorus_rtcp_validate_compound(b, sizeof(sr_vec)), ==, CHORUS_PKT_ETRUNC);
    h = one_packet(b, sizeof(sr_vec));
    g_assert_cmpint(chorus_rtcp_parse_sr(&h, &sr), ==, CHORUS_PKT_ETRUNC);
    /* SR too short for its sender info */
    memcpy(b, "\x80\xc8\x00\x01\x00\x00\x00\x01", 8);
    g_assert_cmpint(chorus_rtcp_validate_compound(b, 8), ==, CHORUS_PKT_ETRUNC);
    h = one_packet(b, 8);
    g_assert_cmpint(chorus_rtcp_parse_sr(&h, &sr), ==, CHORUS_PKT_ETRUNC);
    /* padding: count 0, and count larger than the body */
    memcpy(b, "\xa0\xc9\x00\x02\x00\x00\x00\x01\x00\x00\x00\x00", 12);
    g_assert_cmpint(chorus_rtcp_validate_compound(b, 12), ==, CHORUS_PKT_EPADDING);
    b[11] = 9;
    g_assert_cmpint(chorus_rtcp_validate_compound(b, 12), ==, CHORUS_PKT_EPADDING);
    b[11] = 4;
    g_assert_cmpint(chorus_rtcp_validate_compound(b, 12), ==, CHORUS_PKT_OK);
    b[11] = 5; /* eats into the SSRC: body too short for an RR */
    g_assert_cmpint(chorus_rtcp_validate_compound(b, 12), ==, CHORUS_PKT_ETRUNC);
    /* all zeros */
    memset(b, 0, 64);
    g_assert_cmpint(chorus_rtcp_validate_compound(b, 64), ==, CHORUS_PKT_EVERSION);
    g_assert_cmpint(chorus_rtcp_validate_compound(b, 0), ==, CHORUS_PKT_ETRUNC);
}

static void test_zero_length_loops(void)
{
    uint8_t b[64];
    chorus_rtcp_iter it;
    chorus_rtcp_header h;
    /* 16 packets of length 0 (4 bytes each): iteration advances and ends */
    for (int i = 0; i < 16; i++)
        memcpy(b + i * 4, "\x80\xc9\x00\x00", 4);
    chorus_rtcp_iter_init(&it, b, sizeof(b));
    int count = 0, rc;
    while ((rc = chorus_rtcp_iter_next(&it, &h)) == 1) {
        g_assert_cmpuint(h.body_len, ==, 0);
        count++;
    }
    g_assert_cmpint(rc, ==, 0);
    g_assert_cmpint(count, ==, 16);
    /* but an RR without its SSRC is invalid */
    g_assert_cmpint(chorus_rtcp_validate_compound(b, sizeof(b)), ==, CHORUS_PKT_ETRUNC);
    /* empty SDES (SC=0) is fine */
    g_assert_cmpint(chorus_rtcp_validate_compound((const uint8_t *)"\x80\xca\x00\x00", 4), ==,
                    CHORUS_PKT_OK);

    /* SDES with SC=31 and a single empty chunk: ETRUNC, not a loop */
    memcpy(b, "\x9f\xca\x00\x02\x00\x00\x00\x01\x00\x00\x00\x00", 12);
    h = one_packet(b, 12);
    chorus_rtcp_sdes_iter sit;
    chorus_rtcp_sdes_item item;
    g_assert_cmpint(chorus_rtcp_sdes_iter_init(&sit, &h), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtcp_sdes_next(&sit, &item), ==, CHORUS_PKT_ETRUNC);
    /* SDES item length beyond the packet */
    memcpy(b, "\x81\xca\x00\x02\x00\x00\x00\x01\x01\x09\x61\x00", 12);
    h = one_packet(b, 12);
    g_assert_cmpint(chorus_rtcp_sdes_find_cname(&h, NULL, (char *)b + 32, 16), ==,
                    CHORUS_PKT_ETRUNC);
    /* SDES chunk without an end-of-list null item */
    memcpy(b, "\x81\xca\x00\x02\x00\x00\x00\x01\x02\x02\x61\x62", 12);
    h = one_packet(b, 12);
    g_assert_cmpint(chorus_rtcp_sdes_iter_init(&sit, &h), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtcp_sdes_next(&sit, &item), ==, 1);
    g_assert_cmpint(chorus_rtcp_sdes_next(&sit, &item), ==, CHORUS_PKT_ETRUNC);
    /* no CNAME at all */
    memcpy(b, "\x81\xca\x00\x02\x00\x00\x00\x01\x02\x01\x61\x00", 12);
    h = one_packet(b, 12);
    g_assert_cmpint(chorus_rtcp_sdes_find_cname(&h, NULL, (char *)b + 32, 16), ==,
                    CHORUS_PKT_ENOTFOUND);
    /* NACK with an FCI that is not a multiple of 4 (via padding) or empty */
    memcpy(b, "\x81\xcd\x00\x02\x00\x00\x00\x01\x00\x00\x00\x02", 12);
    chorus_rtcp_fb fb = one_fb(b, 12);
    uint16_t seqs[4];
    size_t n;
    g_assert_cmpint(chorus_rtcp_parse_nack(&fb, seqs, 4, &n), ==, CHORUS_PKT_EMALFORMED);
}

/* Parses a packet with whatever parser its kind calls for; returns that parser's code. */
static int parse_any(const chorus_rtcp_header *h)
{
    static chorus_rtcp_sr sr;
    static chorus_rtcp_rr rr;
    static chorus_rtcp_bye bye;
    static chorus_rtcp_twcc_packet tw[64];
    static uint16_t seqs[64];
    static uint32_t ssrcs[8];
    chorus_rtcp_fb fb;
    chorus_rtcp_fir_entry fir[4];
    chorus_rtcp_remb remb;
    chorus_rtcp_twcc info;
    char cname[64];
    size_t n;
    switch (chorus_rtcp_classify(h)) {
    case CHORUS_RTCP_KIND_SR:
        return chorus_rtcp_parse_sr(h, &sr);
    case CHORUS_RTCP_KIND_RR:
        return chorus_rtcp_parse_rr(h, &rr);
    case CHORUS_RTCP_KIND_SDES:
        return chorus_rtcp_sdes_find_cname(h, NULL, cname, sizeof(cname));
    case CHORUS_RTCP_KIND_BYE:
        return chorus_rtcp_parse_bye(h, &bye);
    default:
        break;
    }
    if (chorus_rtcp_parse_fb(h, &fb) != CHORUS_PKT_OK)
        return -1;
    switch (chorus_rtcp_classify(h)) {
    case CHORUS_RTCP_KIND_NACK:
        return chorus_rtcp_parse_nack(&fb, seqs, G_N_ELEMENTS(seqs), &n);
    case CHORUS_RTCP_KIND_TWCC:
        return chorus_rtcp_parse_twcc(&fb, &info, tw, G_N_ELEMENTS(tw), &n);
    case CHORUS_RTCP_KIND_FIR:
        return chorus_rtcp_parse_fir(&fb, fir, G_N_ELEMENTS(fir), &n);
    case CHORUS_RTCP_KIND_REMB:
        return chorus_rtcp_parse_remb(&fb, &remb, ssrcs, G_N_ELEMENTS(ssrcs));
    default:
        return 0;
    }
}

static void sweep_one(const uint8_t *src, size_t len)
{
    uint8_t *b = g_memdup2(src, len ? len : 1); /* exact size: ASan sees overreads */
    chorus_rtcp_iter it;
    chorus_rtcp_header h;
    (void)chorus_rtcp_validate_compound(b, len);
    chorus_rtcp_iter_init(&it, b, len);
    int guard = 0;
    while (chorus_rtcp_iter_next(&it, &h) == 1) {
        g_assert_cmpuint(h.len, >=, 4);
        (void)parse_any(&h);
        g_assert_cmpint(++guard, <=, (int)len / 4);
    }
    g_free(b);
}

static void test_sweeps(void)
{
    uint8_t compound[sizeof(sr_vec) + sizeof(sdes_vec) + sizeof(twcc_vec)];
    memcpy(compound, sr_vec, sizeof(sr_vec));
    memcpy(compound + sizeof(sr_vec), sdes_vec, sizeof(sdes_vec));
    memcpy(compound + sizeof(sr_vec) + sizeof(sdes_vec), twcc_vec, sizeof(twcc_vec));
    g_assert_cmpint(chorus_rtcp_validate_compound(compound, sizeof(compound)), ==, CHORUS_PKT_OK);
    for (size_t len = 0; len <= sizeof(compound); len++)
        sweep_one(compound, len);
    uint32_t x = 0xc0ffee;
    for (int round = 0; round < 5000; round++) {
        uint8_t m[sizeof(compound)];
        memcpy(m, compound, sizeof(m));
        for (int k = 0; k < 4; k++) {
            x = x * 1664525u + 1013904223u;
            m[(x >> 8) % sizeof(m)] ^= (uint8_t)(1u << ((x >> 3) & 7));
        }
        sweep_one(m, sizeof(m));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rtcp/sr", test_sr);
    g_test_add_func("/rtcp/rr", test_rr_roundtrip);
    g_test_add_func("/rtcp/sdes/parse", test_sdes);
    g_test_add_func("/rtcp/sdes/build", test_sdes_build);
    g_test_add_func("/rtcp/bye", test_bye);
    g_test_add_func("/rtcp/nack/build-parse", test_nack_build_parse);
    g_test_add_func("/rtcp/nack/wrap-dup", test_nack_wrap_dup);
    g_test_add_func("/rtcp/pli-fir", test_pli_fir);
    g_test_add_func("/rtcp/remb", test_remb);
    g_test_add_func("/rtcp/twcc/parse", test_twcc);
    g_test_add_func("/rtcp/twcc/malformed", test_twcc_malformed);
    g_test_add_func("/rtcp/compound", test_compound);
    g_test_add_func("/rtcp/malformed", test_malformed);
    g_test_add_func("/rtcp/zero-length-loops", test_zero_length_loops);
    g_test_add_func("/rtcp/sweeps", test_sweeps);
    return g_test_run();
}
