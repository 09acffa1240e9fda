/* Unit tests: RTP header parsing, header extensions (RFC 8285) and demux (RFC 7983). */
#include <glib.h>
#include <string.h>

#include "media/demux.h"
#include "media/rtp.h"
#include "media/rtp_ext.h"

/* V=2, PT=111, seq 0x1234, ts 0x1000, ssrc 0xdeadbeef, payload "abc". */
static const uint8_t pkt_basic[] = {0x80, 0x6f, 0x12, 0x34, 0x00, 0x00, 0x10, 0x00,
                                    0xde, 0xad, 0xbe, 0xef, 'a',  'b',  'c'};

/* X=1, M=1, one-byte extensions: id1 audio level 0x9f, id2 abs-send-time 0xaabbcc,
 * id3 mid "a1", id5 twcc seq 0x1234; then a 3-byte Opus payload. */
static const uint8_t pkt_ext1[] = {
    0x90, 0xef, 0x00, 0x07, 0x00, 0x01, 0xe2, 0x40, 0x11, 0x22, 0x33, 0x44, /* header */
    0xbe, 0xde, 0x00, 0x03,                                                 /* 3 words */
    0x10, 0x9f, 0x22, 0xaa, 0xbb, 0xcc, 0x31, 'a',  '1',  0x51, 0x12, 0x34, /* elements */
    0xf8, 0xff, 0xfe};

/* X=1, two-byte form (0x1000): id7 rid "h", a padding byte, id10 twcc 0x002a, id11 with
 * zero length, two padding bytes. */
static const uint8_t pkt_ext2[] = {0x90, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x01, 0x10, 0x00, 0x00, 0x03, 0x07, 0x01, 'h',  0x00,
                                   0x0a, 0x02, 0x00, 0x2a, 0x0b, 0x00, 0x00, 0x00, 0x55};

/* CC=2 with CSRCs 1 and 2, P=1 with 3 bytes of padding after a 2-byte payload. */
static const uint8_t pkt_csrc_pad[] = {0xa2, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                                       0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
                                       0x00, 0x02, 0x77, 0x88, 0x00, 0x00, 0x03};

static void test_parse_basic(void)
{
    chorus_rtp_packet p;
    g_assert_cmpint(chorus_rtp_parse(pkt_basic, sizeof(pkt_basic), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(p.version, ==, 2);
    g_assert_cmpuint(p.padding, ==, 0);
    g_assert_cmpuint(p.extension, ==, 0);
    g_assert_cmpuint(p.csrc_count, ==, 0);
    g_assert_cmpuint(p.marker, ==, 0);
    g_assert_cmpuint(p.payload_type, ==, 111);
    g_assert_cmpuint(p.seq, ==, 0x1234);
    g_assert_cmpuint(p.timestamp, ==, 0x1000);
    g_assert_cmpuint(p.ssrc, ==, 0xdeadbeef);
    g_assert_cmpuint(p.header_len, ==, 12);
    g_assert_true(p.payload == pkt_basic + 12);
    g_assert_cmpuint(p.payload_len, ==, 3);
    g_assert_cmpmem(p.payload, p.payload_len, "abc", 3);
    g_assert_null(p.ext_data);
}

static void test_parse_csrc_padding(void)
{
    chorus_rtp_packet p;
    g_assert_cmpint(chorus_rtp_parse(pkt_csrc_pad, sizeof(pkt_csrc_pad), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(p.csrc_count, ==, 2);
    g_assert_cmpuint(p.csrc[0], ==, 1);
    g_assert_cmpuint(p.csrc[1], ==, 2);
    g_assert_cmpuint(p.seq, ==, 0xffff);
    g_assert_cmpuint(p.timestamp, ==, 0xffffffff);
    g_assert_cmpuint(p.ssrc, ==, 9);
    g_assert_cmpuint(p.padding, ==, 1);
    g_assert_cmpuint(p.padding_len, ==, 3);
    g_assert_cmpuint(p.header_len, ==, 20);
    g_assert_cmpuint(p.payload_len, ==, 2);
    g_assert_cmpuint(p.payload[0], ==, 0x77);
    g_assert_cmpuint(p.payload[1], ==, 0x88);
}

static void test_parse_ext_one_byte(void)
{
    chorus_rtp_packet p;
    chorus_rtp_ext_elem e;
    g_assert_cmpint(chorus_rtp_parse(pkt_ext1, sizeof(pkt_ext1), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(p.marker, ==, 1);
    g_assert_cmpuint(p.payload_type, ==, 111);
    g_assert_cmpuint(p.seq, ==, 7);
    g_assert_cmpuint(p.timestamp, ==, 123456);
    g_assert_cmpuint(p.ssrc, ==, 0x11223344);
    g_assert_cmpuint(p.ext_profile, ==, 0xbede);
    g_assert_cmpuint(p.ext_len, ==, 12);
    g_assert_cmpuint(p.header_len, ==, 28);
    g_assert_cmpuint(p.payload_len, ==, 3);
    g_assert_cmpuint(p.payload[0], ==, 0xf8);

    int voice = -1;
    uint8_t level = 0;
    g_assert_cmpint(chorus_rtp_ext_find(&p, 1, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_read_audio_level(&e, &voice, &level), ==, CHORUS_PKT_OK);
    g_assert_cmpint(voice, ==, 1);
    g_assert_cmpuint(level, ==, 31);

    uint32_t ast = 0;
    g_assert_cmpint(chorus_rtp_ext_find(&p, 2, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_read_abs_send_time(&e, &ast), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(ast, ==, 0xaabbcc);
    /* 0xaabbcc / 2^18 s = 42.683... s */
    g_assert_cmpuint(chorus_abs_send_time_to_us(ast), ==, (0xaabbccull * 1000000) >> 18);

    char mid[8];
    g_assert_cmpint(chorus_rtp_ext_find(&p, 3, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_read_string(&e, mid, sizeof(mid)), ==, CHORUS_PKT_OK);
    g_assert_cmpstr(mid, ==, "a1");
    g_assert_cmpint(chorus_rtp_ext_read_string(&e, mid, 2), ==, CHORUS_PKT_ENOSPACE);

    uint16_t tw = 0;
    g_assert_cmpint(chorus_rtp_ext_find(&p, 5, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_read_twcc_seq(&e, &tw), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(tw, ==, 0x1234);
    /* wrong typed reader for the length */
    g_assert_cmpint(chorus_rtp_ext_read_abs_send_time(&e, &ast), ==, CHORUS_PKT_EMALFORMED);

    g_assert_cmpint(chorus_rtp_ext_find(&p, 4, &e), ==, CHORUS_PKT_ENOTFOUND);
}

static void test_ext_iterate(void)
{
    static const uint8_t want_ids[] = {1, 2, 3, 5};
    static const uint16_t want_lens[] = {1, 3, 2, 2};
    chorus_rtp_packet p;
    chorus_rtp_ext_iter it;
    chorus_rtp_ext_elem e;
    g_assert_cmpint(chorus_rtp_parse(pkt_ext1, sizeof(pkt_ext1), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_iter_init_packet(&it, &p), ==, CHORUS_PKT_OK);
    size_t n = 0;
    int rc;
    while ((rc = chorus_rtp_ext_next(&it, &e)) == 1) {
        g_assert_cmpuint(n, <, G_N_ELEMENTS(want_ids));
        g_assert_cmpuint(e.id, ==, want_ids[n]);
        g_assert_cmpuint(e.len, ==, want_lens[n]);
        g_assert_cmpuint(e.hdr_len, ==, 1);
        n++;
    }
    g_assert_cmpint(rc, ==, 0);
    g_assert_cmpuint(n, ==, 4);
    g_assert_cmpint(chorus_rtp_ext_next(&it, &e), ==, 0); /* stays at the end */

    chorus_rtp_packet nox;
    g_assert_cmpint(chorus_rtp_parse(pkt_basic, sizeof(pkt_basic), &nox), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_iter_init_packet(&it, &nox), ==, CHORUS_PKT_ENOTFOUND);
    g_assert_cmpint(chorus_rtp_ext_iter_init(&it, 0x1234, pkt_ext1, 4), ==, CHORUS_PKT_ETYPE);
}

static void test_ext_two_byte(void)
{
    chorus_rtp_packet p;
    chorus_rtp_ext_elem e;
    char rid[4];
    uint16_t tw = 0;
    g_assert_cmpint(chorus_rtp_parse(pkt_ext2, sizeof(pkt_ext2), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(p.ext_profile, ==, 0x1000);
    g_assert_cmpuint(p.payload_len, ==, 1);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 7, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(e.hdr_len, ==, 2);
    g_assert_cmpint(chorus_rtp_ext_read_string(&e, rid, sizeof(rid)), ==, CHORUS_PKT_OK);
    g_assert_cmpstr(rid, ==, "h");
    g_assert_cmpint(chorus_rtp_ext_find(&p, 10, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_read_twcc_seq(&e, &tw), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(tw, ==, 42);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 11, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(e.len, ==, 0);
    g_assert_cmpint(chorus_rtp_ext_read_string(&e, rid, sizeof(rid)), ==, CHORUS_PKT_EMALFORMED);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 12, &e), ==, CHORUS_PKT_ENOTFOUND);
}

static void test_ext_id15_stops(void)
{
    /* one-byte: id1 (1 byte), then id15 (reserved: stop), then "id2" never seen */
    uint8_t pkt[] = {0x90, 0x00, 0,    1,    0,    0,    0,    1,    0,    0,    0,    1,
                     0xbe, 0xde, 0x00, 0x02, 0x10, 0x42, 0xf0, 0x20, 0x01, 0x00, 0x00, 0x00};
    chorus_rtp_packet p;
    chorus_rtp_ext_elem e;
    g_assert_cmpint(chorus_rtp_parse(pkt, sizeof(pkt), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 1, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 2, &e), ==, CHORUS_PKT_ENOTFOUND);
}

static void test_ext_id0_is_padding(void)
{
    /* one-byte: 0x05 (ID 0, length nibble 5) is one byte of padding, not a 6-byte
     * element; id1 with 0x42 follows it and is found where it is. */
    uint8_t pkt[] = {0x90, 0x00, 0,    1,    0,    0,    0,    1,    0,    0,    0,    1,
                     0xbe, 0xde, 0x00, 0x01, 0x05, 0x10, 0x42, 0x00, 0x01, 0x00, 0x00, 0x00};
    chorus_rtp_packet p;
    chorus_rtp_ext_elem e;
    g_assert_cmpint(chorus_rtp_parse(pkt, sizeof(pkt), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 1, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(e.len, ==, 1);
    g_assert_cmpuint(e.data[0], ==, 0x42);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 0, &e), ==, CHORUS_PKT_EINVAL);
}

static void test_ext_write(void)
{
    uint8_t pkt[sizeof(pkt_ext1)];
    memcpy(pkt, pkt_ext1, sizeof(pkt));
    g_assert_cmpint(chorus_rtp_ext_write_audio_level(pkt, sizeof(pkt), 1, 0, 127), ==,
                    CHORUS_PKT_OK);
    g_assert_cmpuint(pkt[17], ==, 0x7f);
    g_assert_cmpint(chorus_rtp_ext_write_twcc_seq(pkt, sizeof(pkt), 5, 0xbeef), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(pkt[26], ==, 0xbe);
    g_assert_cmpuint(pkt[27], ==, 0xef);
    g_assert_cmpint(chorus_rtp_ext_write_abs_send_time(pkt, sizeof(pkt), 2, 0x123456), ==,
                    CHORUS_PKT_OK);
    g_assert_cmpmem(pkt + 19, 3, "\x12\x34\x56", 3);
    /* same length only: twcc (2 bytes) into the 3-byte abs-send-time element */
    g_assert_cmpint(chorus_rtp_ext_write_twcc_seq(pkt, sizeof(pkt), 2, 1), ==, CHORUS_PKT_EINVAL);
    g_assert_cmpint(chorus_rtp_ext_write_twcc_seq(pkt, sizeof(pkt), 9, 1), ==,
                    CHORUS_PKT_ENOTFOUND);
    g_assert_cmpint(chorus_rtp_ext_write_audio_level(pkt, sizeof(pkt), 1, 1, 128), ==,
                    CHORUS_PKT_EINVAL);
    /* everything else unchanged */
    g_assert_cmpmem(pkt, 17, pkt_ext1, 17);
    g_assert_cmpmem(pkt + 22, 4, pkt_ext1 + 22, 4);
    g_assert_cmpmem(pkt + 28, 3, pkt_ext1 + 28, 3);

    chorus_rtp_packet p;
    chorus_rtp_ext_elem e;
    int voice;
    uint8_t level;
    g_assert_cmpint(chorus_rtp_parse(pkt, sizeof(pkt), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 1, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_read_audio_level(&e, &voice, &level), ==, CHORUS_PKT_OK);
    g_assert_cmpint(voice, ==, 0);
    g_assert_cmpuint(level, ==, 127);
}

static void test_ext_strip(void)
{
    uint8_t pkt[sizeof(pkt_ext1)];
    chorus_rtp_packet p;
    chorus_rtp_ext_elem e;
    memcpy(pkt, pkt_ext1, sizeof(pkt));
    g_assert_cmpint(chorus_rtp_ext_strip(pkt, sizeof(pkt), 2), ==, CHORUS_PKT_OK);
    g_assert_cmpmem(pkt + 18, 4, "\0\0\0\0", 4);
    g_assert_cmpint(chorus_rtp_ext_strip(pkt, sizeof(pkt), 2), ==, CHORUS_PKT_ENOTFOUND);
    g_assert_cmpint(chorus_rtp_parse(pkt, sizeof(pkt), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 2, &e), ==, CHORUS_PKT_ENOTFOUND);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 1, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 3, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 5, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(p.payload_len, ==, 3);

    uint8_t pkt2[sizeof(pkt_ext2)];
    memcpy(pkt2, pkt_ext2, sizeof(pkt2));
    g_assert_cmpint(chorus_rtp_ext_strip(pkt2, sizeof(pkt2), 10), ==, CHORUS_PKT_OK);
    g_assert_cmpmem(pkt2 + 20, 4, "\0\0\0\0", 4);
    g_assert_cmpint(chorus_rtp_parse(pkt2, sizeof(pkt2), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 10, &e), ==, CHORUS_PKT_ENOTFOUND);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 11, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 7, &e), ==, CHORUS_PKT_OK);
}

static void test_malformed(void)
{
    chorus_rtp_packet p;
    uint8_t b[64];

    g_assert_cmpint(chorus_rtp_parse(pkt_basic, 11, &p), ==, CHORUS_PKT_ETRUNC);
    g_assert_cmpint(chorus_rtp_parse(pkt_basic, 0, &p), ==, CHORUS_PKT_ETRUNC);
    g_assert_cmpint(chorus_rtp_parse(NULL, 12, &p), ==, CHORUS_PKT_EINVAL);

    memcpy(b, pkt_basic, sizeof(pkt_basic));
    b[0] = 0x40; /* version 1 */
    g_assert_cmpint(chorus_rtp_parse(b, sizeof(pkt_basic), &p), ==, CHORUS_PKT_EVERSION);

    /* CSRC count 15 needs 60 more bytes */
    memcpy(b, pkt_basic, sizeof(pkt_basic));
    b[0] = 0x8f;
    g_assert_cmpint(chorus_rtp_parse(b, sizeof(pkt_basic), &p), ==, CHORUS_PKT_ETRUNC);
    /* CSRC count 2 with exactly 8 bytes of CSRCs is fine, 7 is not */
    memcpy(b, pkt_csrc_pad, sizeof(pkt_csrc_pad));
    b[0] = 0x82;
    g_assert_cmpint(chorus_rtp_parse(b, 20, &p), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(p.payload_len, ==, 0);
    g_assert_cmpint(chorus_rtp_parse(b, 19, &p), ==, CHORUS_PKT_ETRUNC);

    /* extension header cut short, extension length beyond the packet */
    g_assert_cmpint(chorus_rtp_parse(pkt_ext1, 14, &p), ==, CHORUS_PKT_ETRUNC);
    g_assert_cmpint(chorus_rtp_parse(pkt_ext1, 27, &p), ==, CHORUS_PKT_ETRUNC);
    memcpy(b, pkt_ext1, sizeof(pkt_ext1));
    b[15] = 0x40;
    g_assert_cmpint(chorus_rtp_parse(b, sizeof(pkt_ext1), &p), ==, CHORUS_PKT_ETRUNC);

    /* padding: count 0, count larger than the payload */
    memcpy(b, pkt_csrc_pad, sizeof(pkt_csrc_pad));
    b[sizeof(pkt_csrc_pad) - 1] = 0;
    g_assert_cmpint(chorus_rtp_parse(b, sizeof(pkt_csrc_pad), &p), ==, CHORUS_PKT_EPADDING);
    b[sizeof(pkt_csrc_pad) - 1] = 6;
    g_assert_cmpint(chorus_rtp_parse(b, sizeof(pkt_csrc_pad), &p), ==, CHORUS_PKT_EPADDING);
    b[sizeof(pkt_csrc_pad) - 1] = 5; /* all of the payload is padding: allowed */
    g_assert_cmpint(chorus_rtp_parse(b, sizeof(pkt_csrc_pad), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(p.payload_len, ==, 0);
    /* P set but nothing after the header */
    g_assert_cmpint(chorus_rtp_parse(b, 20, &p), ==, CHORUS_PKT_EPADDING);
}

static void test_ext_malformed(void)
{
    chorus_rtp_packet p;
    chorus_rtp_ext_elem e;
    /* one-byte element id1 L=3 (4 bytes of data) with only 3 left in the block */
    uint8_t one[] = {0x90, 0, 0,    1,    0,    0,    0,    1,    0,    0,
                     0,    1, 0xbe, 0xde, 0x00, 0x01, 0x13, 0xaa, 0xbb, 0xcc};
    g_assert_cmpint(chorus_rtp_parse(one, sizeof(one), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 1, &e), ==, CHORUS_PKT_ETRUNC);
    g_assert_cmpint(chorus_rtp_ext_strip(one, sizeof(one), 1), ==, CHORUS_PKT_ETRUNC);
    g_assert_cmpuint(one[16], ==, 0x13); /* untouched */

    /* two-byte element of length 200 in an 8-byte block; and a lone id byte at the end */
    uint8_t two[] = {0x90, 0,    0,    1,    0,    0,    0,    1,    0,    0,    0,    1,
                     0x10, 0x03, 0x00, 0x02, 0x01, 0x01, 0x55, 0x02, 0xc8, 0x00, 0x00, 0x00};
    g_assert_cmpint(chorus_rtp_parse(two, sizeof(two), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 1, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 2, &e), ==, CHORUS_PKT_ETRUNC);
    two[19] = 0;
    two[20] = 0;
    two[23] = 0x09; /* last byte: an id without its length byte */
    g_assert_cmpint(chorus_rtp_parse(two, sizeof(two), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 9, &e), ==, CHORUS_PKT_ETRUNC);

    /* unknown profile */
    two[12] = 0x12;
    g_assert_cmpint(chorus_rtp_parse(two, sizeof(two), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 1, &e), ==, CHORUS_PKT_ETYPE);

    /* non-printable mid */
    uint8_t bad[] = {0x90, 0, 0,    1,    0,    0,    0,    1,   0,    0,
                     0,    1, 0xbe, 0xde, 0x00, 0x01, 0x31, 'a', '\n', 0x00};
    char s[8];
    g_assert_cmpint(chorus_rtp_parse(bad, sizeof(bad), &p), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_find(&p, 3, &e), ==, CHORUS_PKT_OK);
    g_assert_cmpint(chorus_rtp_ext_read_string(&e, s, sizeof(s)), ==, CHORUS_PKT_EMALFORMED);
}

static void test_accessors(void)
{
    uint8_t b[sizeof(pkt_basic)];
    memcpy(b, pkt_basic, sizeof(b));
    g_assert_cmpuint(chorus_rtp_get_seq(b), ==, 0x1234);
    g_assert_cmpuint(chorus_rtp_get_timestamp(b), ==, 0x1000);
    g_assert_cmpuint(chorus_rtp_get_ssrc(b), ==, 0xdeadbeef);
    g_assert_cmpint(chorus_rtp_get_marker(b), ==, 0);
    g_assert_cmpuint(chorus_rtp_get_payload_type(b), ==, 111);
    chorus_rtp_set_seq(b, 0xfffe);
    chorus_rtp_set_timestamp(b, 0x89abcdef);
    chorus_rtp_set_ssrc(b, 0x01020304);
    chorus_rtp_set_marker(b, 1);
    chorus_rtp_set_payload_type(b, 96);
    static const uint8_t want[] = {0x80, 0xe0, 0xff, 0xfe, 0x89, 0xab, 0xcd, 0xef,
                                   0x01, 0x02, 0x03, 0x04, 'a',  'b',  'c'};
    g_assert_cmpmem(b, sizeof(b), want, sizeof(want));
    chorus_rtp_set_marker(b, 0);
    g_assert_cmpuint(b[1], ==, 0x60);
    chorus_rtp_set_payload_type(b, 0xff); /* masked to 7 bits */
    g_assert_cmpuint(b[1], ==, 0x7f);

    uint8_t h[12];
    g_assert_cmpint(chorus_rtp_write_header(h, sizeof(h), 111, 0, 0x1234, 0x1000, 0xdeadbeef), ==,
                    12);
    g_assert_cmpmem(h, 12, pkt_basic, 12);
    g_assert_cmpint(chorus_rtp_write_header(h, 11, 111, 0, 0, 0, 0), ==, CHORUS_PKT_ENOSPACE);

    g_assert_true(chorus_seq_newer(1, 0xffff));
    g_assert_false(chorus_seq_newer(0xffff, 1));
    g_assert_false(chorus_seq_newer(5, 5));
    g_assert_true(chorus_ts_newer(10, 0xfffffff0u));
    g_assert_cmpstr(chorus_pkt_strerror(CHORUS_PKT_ETRUNC), ==, "truncated packet");
    g_assert_cmpstr(chorus_pkt_strerror(42), ==, "unknown error");
}

/* Every prefix of a valid packet parses or fails cleanly (run under ASan to matter). */
static void test_truncation_sweep(void)
{
    const uint8_t *vecs[] = {pkt_basic, pkt_ext1, pkt_ext2, pkt_csrc_pad};
    const size_t lens[] = {sizeof(pkt_basic), sizeof(pkt_ext1), sizeof(pkt_ext2),
                           sizeof(pkt_csrc_pad)};
    for (size_t v = 0; v < G_N_ELEMENTS(vecs); v++) {
        for (size_t len = 0; len <= lens[v]; len++) {
            /* copy into an exact-size heap block so ASan catches any overread */
            uint8_t *b = g_memdup2(vecs[v], len ? len : 1);
            chorus_rtp_packet p;
            chorus_rtp_ext_elem e;
            int rc = chorus_rtp_parse(b, len, &p);
            if (rc == CHORUS_PKT_OK) {
                g_assert_cmpuint(p.header_len + p.payload_len + p.padding_len, ==, len);
                for (unsigned id = 1; id < 16; id++)
                    (void)chorus_rtp_ext_find(&p, (uint8_t)id, &e);
            } else {
                g_assert_cmpint(rc, <, 0);
            }
            g_free(b);
        }
    }
}

/* Deterministic bit flips over the vectors: never crash, invariants hold on success. */
static void test_mutation_sweep(void)
{
    uint32_t x = 0x12345678;
    const uint8_t *vecs[] = {pkt_ext1, pkt_ext2, pkt_csrc_pad};
    const size_t lens[] = {sizeof(pkt_ext1), sizeof(pkt_ext2), sizeof(pkt_csrc_pad)};
    for (int round = 0; round < 3000; round++) {
        size_t v = (size_t)round % G_N_ELEMENTS(vecs);
        uint8_t *b = g_memdup2(vecs[v], lens[v]);
        for (int k = 0; k < 3; k++) {
            x = x * 1103515245u + 12345u;
            b[(x >> 8) % lens[v]] ^= (uint8_t)(1u << ((x >> 4) & 7));
        }
        chorus_rtp_packet p;
        chorus_rtp_ext_elem e;
        if (chorus_rtp_parse(b, lens[v], &p) == CHORUS_PKT_OK) {
            g_assert_cmpuint(p.header_len + p.payload_len + p.padding_len, ==, lens[v]);
            for (unsigned id = 1; id < 16; id++)
                (void)chorus_rtp_ext_find(&p, (uint8_t)id, &e);
            (void)chorus_rtp_ext_strip(b, lens[v], 3);
        }
        g_free(b);
    }
}

typedef struct demux_case {
    uint8_t b0, b1;
    size_t len;
    chorus_demux_kind want;
} demux_case;

static void test_demux(void)
{
    static const demux_case cases[] = {
        {0x00, 0x01, 20, CHORUS_DEMUX_STUN},    {0x03, 0x00, 20, CHORUS_DEMUX_STUN},
        {0x04, 0x00, 20, CHORUS_DEMUX_UNKNOWN}, {0x10, 0x00, 20, CHORUS_DEMUX_UNKNOWN},
        {0x13, 0x00, 20, CHORUS_DEMUX_UNKNOWN}, {0x14, 0xfe, 20, CHORUS_DEMUX_DTLS},
        {0x16, 0xfe, 20, CHORUS_DEMUX_DTLS},    {0x3f, 0x00, 20, CHORUS_DEMUX_DTLS},
        {0x40, 0x00, 20, CHORUS_DEMUX_UNKNOWN}, {0x7f, 0x00, 20, CHORUS_DEMUX_UNKNOWN},
        {0x80, 0x6f, 20, CHORUS_DEMUX_RTP},     {0x90, 0xef, 20, CHORUS_DEMUX_RTP},
        {0x80, 0x00, 12, CHORUS_DEMUX_RTP},     {0x80, 0x3f, 12, CHORUS_DEMUX_RTP},
        {0x80, 0x60, 12, CHORUS_DEMUX_RTP},     {0x80, 0xc8, 28, CHORUS_DEMUX_RTCP},
        {0x81, 0xc9, 8, CHORUS_DEMUX_RTCP},     {0x8f, 0xce, 12, CHORUS_DEMUX_RTCP},
        {0x80, 0xc0, 4, CHORUS_DEMUX_RTCP},     {0x80, 0xdf, 4, CHORUS_DEMUX_RTCP},
        {0x80, 0x40, 4, CHORUS_DEMUX_RTCP},     {0x80, 0xe0, 12, CHORUS_DEMUX_RTP},
        {0xbf, 0x00, 12, CHORUS_DEMUX_RTP},     {0xc0, 0x00, 20, CHORUS_DEMUX_UNKNOWN},
        {0xff, 0x00, 20, CHORUS_DEMUX_UNKNOWN}, {0x80, 0x6f, 11, CHORUS_DEMUX_UNKNOWN},
        {0x80, 0xc8, 3, CHORUS_DEMUX_UNKNOWN},  {0x80, 0x00, 1, CHORUS_DEMUX_UNKNOWN},
        {0x00, 0x00, 1, CHORUS_DEMUX_STUN},
    };
    uint8_t b[32] = {0};
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        b[0] = cases[i].b0;
        b[1] = cases[i].b1;
        chorus_demux_kind k = chorus_demux_classify(b, cases[i].len);
        if (k != cases[i].want)
            g_error("case %zu (%02x %02x len %zu): got %s want %s", i, cases[i].b0, cases[i].b1,
                    cases[i].len, chorus_demux_kind_name(k), chorus_demux_kind_name(cases[i].want));
    }
    g_assert_cmpint(chorus_demux_classify(b, 0), ==, CHORUS_DEMUX_UNKNOWN);
    g_assert_cmpint(chorus_demux_classify(NULL, 10), ==, CHORUS_DEMUX_UNKNOWN);
    g_assert_cmpstr(chorus_demux_kind_name(CHORUS_DEMUX_RTCP), ==, "rtcp");
    g_assert_cmpstr(chorus_demux_kind_name((chorus_demux_kind)99), ==, "unknown");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rtp/parse/basic", test_parse_basic);
    g_test_add_func("/rtp/parse/csrc-padding", test_parse_csrc_padding);
    g_test_add_func("/rtp/parse/malformed", test_malformed);
    g_test_add_func("/rtp/parse/truncation-sweep", test_truncation_sweep);
    g_test_add_func("/rtp/parse/mutation-sweep", test_mutation_sweep);
    g_test_add_func("/rtp/accessors", test_accessors);
    g_test_add_func("/rtp/ext/one-byte", test_parse_ext_one_byte);
    g_test_add_func("/rtp/ext/iterate", test_ext_iterate);
    g_test_add_func("/rtp/ext/two-byte", test_ext_two_byte);
    g_test_add_func("/rtp/ext/id15-stops", test_ext_id15_stops);
    g_test_add_func("/rtp/ext/id0-is-padding", test_ext_id0_is_padding);
    g_test_add_func("/rtp/ext/write", test_ext_write);
    g_test_add_func("/rtp/ext/strip", test_ext_strip);
    g_test_add_func("/rtp/ext/malformed", test_ext_malformed);
    g_test_add_func("/rtp/demux", test_demux);
    return g_test_run();
}
