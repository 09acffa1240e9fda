/* libFuzzer target: RTP packets as they come out of SRTP (media/rtp.h, media/rtp_ext.h),
 * plus the demultiplexer, the per-stream rewriter and the receive statistics that the
 * incoming path feeds with the same bytes.
 *
 * Input: one packet. Checks, beyond memory safety (every buffer is an exact-size heap
 * copy, so ASan sees any overrun):
 *  - a parsed packet's parts (header, payload, padding) cover exactly the input;
 *  - every extension element lies inside the extension block; chorus_rtp_ext_find()
 *    returns the first element of each id the iteration met;
 *  - every typed reader accepts exactly the lengths its format allows;
 *  - writers never change the packet's structure (same header, same elements) and succeed
 *    exactly when the first element of the id has the right length;
 *  - strip removes exactly the elements of one id (or leaves a malformed packet untouched);
 *  - the rewriter forwards with the output SSRC or drops, and leaves short packets alone. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/demux.h"
#include "media/rtp.h"
#include "media/rtp_ext.h"
#include "media/rtp_rewrite.h"
#include "media/rtp_stats.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ELEMS 300 /* a 65535-word block can hold more; the rest is only iterated */

typedef struct {
    int n;     /* elements recorded (at most MAX_ELEMS) */
    int total; /* elements seen */
    int end;   /* what chorus_rtp_ext_next returned last (0 or < 0) */
    chorus_rtp_ext_elem e[MAX_ELEMS];
} ElemList;

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    CHECK(c != NULL);
    if (n > 0)
        memcpy(c, p, n);
    return c;
}

static void exercise_readers(const chorus_rtp_ext_elem *e)
{
    int voice = 0;
    uint8_t level = 0;
    int rc = chorus_rtp_ext_read_audio_level(e, &voice, &level);
    CHECK((rc == CHORUS_PKT_OK) == (e->len == 1));
    if (rc == CHORUS_PKT_OK)
        CHECK(level <= 127 && (voice == 0 || voice == 1));

    char big[257], small[4];
    rc = chorus_rtp_ext_read_string(e, big, sizeof(big));
    if (rc == CHORUS_PKT_OK) {
        CHECK(e->len >= 1 && strlen(big) == e->len);
        for (size_t i = 0; i < e->len; i++)
            CHECK(big[i] >= 0x21 && big[i] <= 0x7e);
    } else {
        CHECK(rc == CHORUS_PKT_EMALFORMED);
    }
    rc = chorus_rtp_ext_read_string(e, small, sizeof(small));
    if (rc == CHORUS_PKT_OK)
        CHECK(e->len < sizeof(small) && strlen(small) == e->len);

    uint32_t ast = 0;
    rc = chorus_rtp_ext_read_abs_send_time(e, &ast);
    CHECK((rc == CHORUS_PKT_OK) == (e->len == 3));
    if (rc == CHORUS_PKT_OK)
        CHECK(ast <= 0xffffff && chorus_abs_send_time_to_us(ast) < 64000000u);

    uint16_t seq = 0;
    rc = chorus_rtp_ext_read_twcc_seq(e, &seq);
    CHECK((rc == CHORUS_PKT_OK) == (e->len == 2));
}

/* Iterates an extension block, checking bounds; records the elements. */
static void walk_block(chorus_rtp_ext_iter *it, const uint8_t *block, size_t block_len,
                       ElemList *out)
{
    chorus_rtp_ext_elem e;
    int rc;
    out->n = out->total = 0;
    while ((rc = chorus_rtp_ext_next(it, &e)) > 0) {
        CHECK(e.hdr >= block && e.data == e.hdr + e.hdr_len);
        CHECK((size_t)(e.data - block) + e.len <= block_len);
        if (e.hdr_len == 1) /* id 0 with a length: returned as an element (see the report) */
            CHECK(e.id <= 14 && e.len >= 1 && e.len <= 16);
        else
            CHECK(e.hdr_len == 2 && e.id != 0 && e.len <= 255);
        exercise_readers(&e);
        if (out->n < MAX_ELEMS)
            out->e[out->n++] = e;
        out->total++;
        CHECK(out->total <= (int)block_len); /* each element takes >= 1 byte */
    }
    CHECK(rc == 0 || rc == CHORUS_PKT_ETRUNC);
    out->end = rc;
    CHECK(chorus_rtp_ext_next(it, &e) == 0); /* stays at its end */
}

static int walk_packet(const uint8_t *pkt, size_t len, chorus_rtp_packet *p, ElemList *out)
{
    int rc = chorus_rtp_parse(pkt, len, p);
    if (rc != CHORUS_PKT_OK)
        return rc;
    chorus_rtp_ext_iter it;
    rc = chorus_rtp_ext_iter_init_packet(&it, p);
    if (rc != CHORUS_PKT_OK) {
        out->n = out->total = 0;
        out->end = rc;
        return CHORUS_PKT_OK;
    }
    walk_block(&it, p->ext_data, p->ext_len, out);
    return CHORUS_PKT_OK;
}

static int same_elem_shape(const chorus_rtp_ext_elem *a, const uint8_t *base_a,
                           const chorus_rtp_ext_elem *b, const uint8_t *base_b)
{
    return a->id == b->id && a->len == b->len && a->hdr_len == b->hdr_len &&
           a->hdr - base_a == b->hdr - base_b;
}

/* The first element of id in the list, or NULL. */
static const chorus_rtp_ext_elem *first_of(const ElemList *l, uint8_t id)
{
    for (int i = 0; i < l->n; i++) {
        if (l->e[i].id == id)
            return &l->e[i];
    }
    return NULL;
}

static void check_find(const chorus_rtp_packet *p, const ElemList *l)
{
    for (int i = 0; i < l->n; i++) {
        if (l->e[i].id == 0)
            continue; /* not addressable: find/write/strip refuse id 0 */
        chorus_rtp_ext_elem found;
        CHECK(chorus_rtp_ext_find(p, l->e[i].id, &found) == CHORUS_PKT_OK);
        CHECK(found.hdr == first_of(l, l->e[i].id)->hdr);
    }
    chorus_rtp_ext_elem unused;
    CHECK(chorus_rtp_ext_find(p, 0, &unused) == CHORUS_PKT_EINVAL);
}

/* Writers on a copy: the structure stays, and each succeeds iff the length fits. */
static void check_writers(const uint8_t *pkt, size_t len, const chorus_rtp_packet *p,
                          const ElemList *l, uint8_t id)
{
    const chorus_rtp_ext_elem *first = first_of(l, id);
    uint8_t *copy = dup_bytes(pkt, len);
    uint8_t value[256];
    for (size_t i = 0; i < sizeof(value); i++)
        value[i] = (uint8_t)(0xA5 ^ i);
    size_t vlen = first ? first->len : 1;
    int rc = chorus_rtp_ext_write(copy, len, id, value, vlen);
    CHECK((rc == CHORUS_PKT_OK) == (first != NULL));
    if (first != NULL) {
        CHECK(memcmp(copy + (first->data - pkt), value, vlen) == 0);
        CHECK(chorus_rtp_ext_write(copy, len, id, value, vlen + 1) == CHORUS_PKT_EINVAL);
    }
    rc = chorus_rtp_ext_write_audio_level(copy, len, id, 1, 42);
    CHECK((rc == CHORUS_PKT_OK) == (first != NULL && first->len == 1));
    rc = chorus_rtp_ext_write_abs_send_time(copy, len, id, 0x123456);
    CHECK((rc == CHORUS_PKT_OK) == (first != NULL && first->len == 3));
    rc = chorus_rtp_ext_write_twcc_seq(copy, len, id, 0xBEEF);
    CHECK((rc == CHORUS_PKT_OK) == (first != NULL && first->len == 2));
    CHECK(chorus_rtp_ext_write_audio_level(copy, len, id, 0, 200) == CHORUS_PKT_EINVAL);

    chorus_rtp_packet q;
    static ElemList after;
    CHECK(walk_packet(copy, len, &q, &after) == CHORUS_PKT_OK);
    CHECK(q.header_len == p->header_len && q.payload_len == p->payload_len);
    CHECK(after.total == l->total && after.n == l->n && after.end == l->end);
    for (int i = 0; i < l->n; i++)
        CHECK(same_elem_shape(&l->e[i], pkt, &after.e[i], copy));
    free(copy);
}

/* Strip on a copy: the elements of id are gone, the others stay where they were. */
static void check_strip(const uint8_t *pkt, size_t len, const chorus_rtp_packet *p,
                        const ElemList *l, uint8_t id)
{
    uint8_t *copy = dup_bytes(pkt, len);
    int rc = chorus_rtp_ext_strip(copy, len, id);
    if (l->end < 0) {
        CHECK(rc == l->end && memcmp(copy, pkt, len) == 0);
        free(copy);
        return;
    }
    CHECK((rc == CHORUS_PKT_OK) == (first_of(l, id) != NULL));
    chorus_rtp_packet q;
    static ElemList after;
    CHECK(walk_packet(copy, len, &q, &after) == CHORUS_PKT_OK);
    CHECK(q.header_len == p->header_len && q.payload_len == p->payload_len);
    CHECK(after.end == 0);
    if (l->total == l->n) { /* everything was recorded: compare element by element */
        int j = 0;
        for (int i = 0; i < l->n; i++) {
            if (l->e[i].id == id)
                continue;
            CHECK(j < after.n && same_elem_shape(&l->e[i], pkt, &after.e[j], copy));
            j++;
        }
        CHECK(j == after.n);
    }
    CHECK(first_of(&after, id) == NULL);
    free(copy);
}

static void check_extensions(const uint8_t *pkt, size_t len, const chorus_rtp_packet *p)
{
    static ElemList l;
    chorus_rtp_packet again;
    CHECK(walk_packet(pkt, len, &again, &l) == CHORUS_PKT_OK);
    if (!p->extension) {
        CHECK(l.end == CHORUS_PKT_ENOTFOUND);
        chorus_rtp_ext_elem e;
        CHECK(chorus_rtp_ext_find(p, 1, &e) == CHORUS_PKT_ENOTFOUND);
        return;
    }
    if (l.end == CHORUS_PKT_ETYPE)
        return; /* neither one-byte nor two-byte form */
    check_find(p, &l);
    /* Writers and strip for the ids present (at most 8) and one that is absent. */
    uint8_t ids[9];
    int nids = 0;
    for (int i = 0; i < l.n && nids < 8; i++) {
        if (l.e[i].id != 0 && first_of(&l, l.e[i].id) == &l.e[i])
            ids[nids++] = l.e[i].id;
    }
    if (l.total == l.n) /* else an "absent" id might sit among the unrecorded elements */
        ids[nids++] = (uint8_t)(len % 14 + 1);
    for (int i = 0; i < nids; i++) {
        check_writers(pkt, len, p, &l, ids[i]);
        check_strip(pkt, len, p, &l, ids[i]);
    }
}

static void check_parsed(const uint8_t *pkt, size_t len, const chorus_rtp_packet *p)
{
    CHECK(p->version == 2 && p->csrc_count <= CHORUS_RTP_MAX_CSRC && p->payload_type <= 127);
    CHECK(p->header_len ==
          CHORUS_RTP_HEADER_MIN + 4u * p->csrc_count + (p->extension ? 4 + p->ext_len : 0));
    CHECK(p->payload == pkt + p->header_len);
    CHECK(p->header_len + p->payload_len + p->padding_len == len);
    CHECK(p->padding ? p->padding_len >= 1 : p->padding_len == 0);
    if (p->extension)
        CHECK(p->ext_data == pkt + p->header_len - p->ext_len && p->ext_len % 4 == 0);
    CHECK(p->seq == chorus_rtp_get_seq(pkt) && p->ssrc == chorus_rtp_get_ssrc(pkt));
    CHECK(p->timestamp == chorus_rtp_get_timestamp(pkt));
    CHECK(p->marker == chorus_rtp_get_marker(pkt));
    CHECK(p->payload_type == chorus_rtp_get_payload_type(pkt));
    check_extensions(pkt, len, p);
}

/* The extension iterator on raw bytes: profile from the first two bytes, block = rest. */
static void check_raw_block(const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    uint16_t profile = chorus_rd16(data);
    uint8_t *block = dup_bytes(data + 2, size - 2);
    chorus_rtp_ext_iter it;
    static ElemList l;
    if (chorus_rtp_ext_iter_init(&it, profile, block, size - 2) == CHORUS_PKT_OK)
        walk_block(&it, block, size - 2, &l);
    free(block);
}

static void check_rewrite_and_stats(const uint8_t *pkt, size_t len, const chorus_rtp_packet *p)
{
    chorus_rtp_rewriter rw;
    uint32_t out_ssrc = 0x5EED0000u ^ (uint32_t)len;
    chorus_rtp_rewriter_init(&rw, out_ssrc, len % 2 ? 48000 : 90000, (uint16_t)(len * 7),
                             (uint32_t)(len * 1000));
    uint8_t *copy = dup_bytes(pkt, len);
    for (int round = 0; round < 3; round++) {
        int rc = chorus_rtp_rewriter_rewrite(&rw, copy, len, 1000000u + (uint64_t)round * 20000);
        if (len < CHORUS_RTP_HEADER_MIN) {
            CHECK(rc == CHORUS_PKT_ETRUNC && memcmp(copy, pkt, len) == 0);
            break;
        }
        CHECK(rc == CHORUS_RTP_REWRITE_FORWARD || rc == CHORUS_RTP_REWRITE_DROP);
        if (rc == CHORUS_RTP_REWRITE_FORWARD)
            CHECK(chorus_rtp_get_ssrc(copy) == out_ssrc);
        if (round == 1)
            chorus_rtp_rewriter_reset_source(&rw);
    }
    free(copy);
    if (p == NULL)
        return;
    chorus_rtp_stats st;
    chorus_rtp_stats_init(&st, 48000);
    chorus_rtp_stats_update(&st, p->seq, p->timestamp, 1000);
    chorus_rtp_stats_update(&st, (uint16_t)(p->seq + p->payload_len), p->timestamp + 960, 21000);
    chorus_rtp_stats_update(&st, (uint16_t)(p->seq - 1), p->timestamp - 960, 22000);
    chorus_rtcp_report_block rb;
    chorus_rtp_stats_report_block(&st, p->ssrc, 40000, &rb);
    CHECK(rb.ssrc == p->ssrc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *pkt = dup_bytes(data, size);
    chorus_demux_kind kind = chorus_demux_classify(pkt, size);
    CHECK(chorus_demux_kind_name(kind) != NULL);
    if (kind == CHORUS_DEMUX_RTP || kind == CHORUS_DEMUX_RTCP)
        CHECK(size >= 4 && pkt[0] >= 128 && pkt[0] <= 191);

    chorus_rtp_packet p;
    int rc = chorus_rtp_parse(pkt, size, &p);
    CHECK(rc <= 0 && chorus_pkt_strerror(rc) != NULL);
    if (rc == CHORUS_PKT_OK) {
        CHECK(size >= CHORUS_RTP_HEADER_MIN);
        check_parsed(pkt, size, &p);
    } else {
        CHECK(rc == CHORUS_PKT_ETRUNC || rc == CHORUS_PKT_EVERSION || rc == CHORUS_PKT_EPADDING);
        /* Writers refuse what does not parse, and touch nothing. */
        uint8_t *copy = dup_bytes(pkt, size);
        CHECK(chorus_rtp_ext_write_twcc_seq(copy, size, 3, 1) == rc);
        CHECK(chorus_rtp_ext_strip(copy, size, 3) == rc);
        CHECK(memcmp(copy, pkt, size) == 0);
        free(copy);
    }
    check_raw_block(pkt, size);
    check_rewrite_and_stats(pkt, size, rc == CHORUS_PKT_OK ? &p : NULL);
    free(pkt);
    return 0;
}
