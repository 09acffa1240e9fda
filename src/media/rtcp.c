/* RTCP compound packets: iteration, validation, typed parsers. Builders are at the end. */
#include "media/rtcp.h"

#include <string.h>

#define REPORT_BLOCK_LEN 24
#define SENDER_INFO_LEN  20
#define FB_COMMON_LEN    8 /* sender SSRC + media SSRC */

void chorus_rtcp_iter_init(chorus_rtcp_iter *it, const uint8_t *buf, size_t len)
{
    it->buf = buf;
    it->len = buf != NULL ? len : 0;
    it->pos = 0;
}

/* Parses the header of the packet at p (left bytes available). */
static int parse_header(const uint8_t *p, size_t left, chorus_rtcp_header *out)
{
    if (left < CHORUS_RTCP_HEADER_LEN)
        return CHORUS_PKT_ETRUNC;
    if ((p[0] >> 6) != 2)
        return CHORUS_PKT_EVERSION;
    out->padding = (p[0] >> 5) & 1;
    out->count = p[0] & 0x1f;
    out->pt = p[1];
    out->length_words = chorus_rd16(p + 2);
    out->len = ((size_t)out->length_words + 1) * 4;
    if (out->len > left)
        return CHORUS_PKT_ETRUNC;
    out->pkt = p;
    out->body = p + CHORUS_RTCP_HEADER_LEN;
    out->body_len = out->len - CHORUS_RTCP_HEADER_LEN;
    if (out->padding) {
        uint8_t pad = p[out->len - 1];
        if (pad == 0 || pad > out->body_len)
            return CHORUS_PKT_EPADDING;
        out->body_len -= pad;
    }
    return CHORUS_PKT_OK;
}

int chorus_rtcp_iter_next(chorus_rtcp_iter *it, chorus_rtcp_header *out)
{
    if (it == NULL || out == NULL)
        return CHORUS_PKT_EINVAL;
    if (it->pos >= it->len)
        return 0;
    int rc = parse_header(it->buf + it->pos, it->len - it->pos, out);
    if (rc != CHORUS_PKT_OK)
        return rc;
    it->pos += out->len;
    return 1;
}

/* ---- Type table: {pt, fmt (-1: any), kind, name, minimal body length} ---- */

typedef struct rtcp_type_entry {
    uint8_t pt;
    int8_t fmt;
    chorus_rtcp_kind kind;
    const char *name;
    uint8_t min_body;
} rtcp_type_entry;

static const rtcp_type_entry rtcp_types[] = {
    {CHORUS_RTCP_SR, -1, CHORUS_RTCP_KIND_SR, "sr", 4 + SENDER_INFO_LEN},
    {CHORUS_RTCP_RR, -1, CHORUS_RTCP_KIND_RR, "rr", 4},
    {CHORUS_RTCP_SDES, -1, CHORUS_RTCP_KIND_SDES, "sdes", 0},
    {CHORUS_RTCP_BYE, -1, CHORUS_RTCP_KIND_BYE, "bye", 0},
    {CHORUS_RTCP_APP, -1, CHORUS_RTCP_KIND_APP, "app", 8},
    {CHORUS_RTCP_XR, -1, CHORUS_RTCP_KIND_XR, "xr", 4},
    {CHORUS_RTCP_RTPFB, CHORUS_RTCP_RTPFB_NACK, CHORUS_RTCP_KIND_NACK, "nack", FB_COMMON_LEN + 4},
    {CHORUS_RTCP_RTPFB, CHORUS_RTCP_RTPFB_TWCC, CHORUS_RTCP_KIND_TWCC, "twcc", FB_COMMON_LEN + 8},
    {CHORUS_RTCP_RTPFB, -1, CHORUS_RTCP_KIND_RTPFB_OTHER, "rtpfb", FB_COMMON_LEN},
    {CHORUS_RTCP_PSFB, CHORUS_RTCP_PSFB_PLI, CHORUS_RTCP_KIND_PLI, "pli", FB_COMMON_LEN},
    {CHORUS_RTCP_PSFB, CHORUS_RTCP_PSFB_FIR, CHORUS_RTCP_KIND_FIR, "fir", FB_COMMON_LEN + 8},
    {CHORUS_RTCP_PSFB, -1, CHORUS_RTCP_KIND_PSFB_OTHER, "psfb", FB_COMMON_LEN},
};

#define N_RTCP_TYPES (sizeof(rtcp_types) / sizeof(rtcp_types[0]))

static const rtcp_type_entry *lookup_type(const chorus_rtcp_header *h)
{
    for (size_t i = 0; i < N_RTCP_TYPES; i++) {
        const rtcp_type_entry *e = &rtcp_types[i];
        if (e->pt == h->pt && (e->fmt < 0 || e->fmt == h->count))
            return e;
    }
    return NULL;
}

static int is_remb(const chorus_rtcp_header *h)
{
    return h->pt == CHORUS_RTCP_PSFB && h->count == CHORUS_RTCP_PSFB_AFB &&
           h->body_len >= FB_COMMON_LEN + 8 && memcmp(h->body + FB_COMMON_LEN, "REMB", 4) == 0;
}

chorus_rtcp_kind chorus_rtcp_classify(const chorus_rtcp_header *h)
{
    if (h == NULL)
        return CHORUS_RTCP_KIND_UNKNOWN;
    if (is_remb(h))
        return CHORUS_RTCP_KIND_REMB;
    const rtcp_type_entry *e = lookup_type(h);
    return e != NULL ? e->kind : CHORUS_RTCP_KIND_UNKNOWN;
}

const char *chorus_rtcp_kind_name(chorus_rtcp_kind kind)
{
    if (kind == CHORUS_RTCP_KIND_REMB)
        return "remb";
    for (size_t i = 0; i < N_RTCP_TYPES; i++) {
        if (rtcp_types[i].kind == kind)
            return rtcp_types[i].name;
    }
    return "unknown";
}

int chorus_rtcp_validate_compound(const uint8_t *buf, size_t len)
{
    chorus_rtcp_iter it;
    chorus_rtcp_header h;
    int rc;
    if (buf == NULL || len == 0)
        return CHORUS_PKT_ETRUNC;
    chorus_rtcp_iter_init(&it, buf, len);
    while ((rc = chorus_rtcp_iter_next(&it, &h)) > 0) {
        const rtcp_type_entry *e = lookup_type(&h);
        if (e != NULL && h.body_len < e->min_body)
            return CHORUS_PKT_ETRUNC;
        if ((h.pt == CHORUS_RTCP_SR || h.pt == CHORUS_RTCP_RR) &&
            h.body_len < e->min_body + (size_t)h.count * REPORT_BLOCK_LEN)
            return CHORUS_PKT_ETRUNC;
    }
    return rc < 0 ? rc : CHORUS_PKT_OK;
}

/* ---- SR / RR ---- */

static void read_report_block(const uint8_t *p, chorus_rtcp_report_block *b)
{
    b->ssrc = chorus_rd32(p);
    b->fraction_lost = p[4];
    uint32_t cl = chorus_rd24(p + 5);
    b->cumulative_lost = (cl & 0x800000) ? (int32_t)cl - 0x1000000 : (int32_t)cl;
    b->ext_highest_seq = chorus_rd32(p + 8);
    b->jitter = chorus_rd32(p + 12);
    b->lsr = chorus_rd32(p + 16);
    b->dlsr = chorus_rd32(p + 20);
}

static int read_report_blocks(const uint8_t *p, size_t left, uint8_t count,
                              chorus_rtcp_report_block *blocks)
{
    if (left < (size_t)count * REPORT_BLOCK_LEN)
        return CHORUS_PKT_ETRUNC;
    for (unsigned i = 0; i < count; i++)
        read_report_block(p + (size_t)i * REPORT_BLOCK_LEN, &blocks[i]);
    return CHORUS_PKT_OK;
}

int chorus_rtcp_parse_sr(const chorus_rtcp_header *h, chorus_rtcp_sr *out)
{
    if (h == NULL || out == NULL)
        return CHORUS_PKT_EINVAL;
    if (h->pt != CHORUS_RTCP_SR)
        return CHORUS_PKT_ETYPE;
    if (h->body_len < 4 + SENDER_INFO_LEN)
        return CHORUS_PKT_ETRUNC;
    const uint8_t *p = h->body;
    out->ssrc = chorus_rd32(p);
    out->ntp = ((uint64_t)chorus_rd32(p + 4) << 32) | chorus_rd32(p + 8);
    out->rtp_ts = chorus_rd32(p + 12);
    out->packet_count = chorus_rd32(p + 16);
    out->octet_count = chorus_rd32(p + 20);
    out->report_count = h->count;
    return read_report_blocks(p + 24, h->body_len - 24, h->count, out->reports);
}

int chorus_rtcp_parse_rr(const chorus_rtcp_header *h, chorus_rtcp_rr *out)
{
    if (h == NULL || out == NULL)
        return CHORUS_PKT_EINVAL;
    if (h->pt != CHORUS_RTCP_RR)
        return CHORUS_PKT_ETYPE;
    if (h->body_len < 4)
        return CHORUS_PKT_ETRUNC;
    out->ssrc = chorus_rd32(h->body);
    out->report_count = h->count;
    return read_report_blocks(h->body + 4, h->body_len - 4, h->count, out->reports);
}

/* ---- SDES ---- */

int chorus_rtcp_sdes_iter_init(chorus_rtcp_sdes_iter *it, const chorus_rtcp_header *h)
{
    if (it == NULL || h == NULL)
        return CHORUS_PKT_EINVAL;
    if (h->pt != CHORUS_RTCP_SDES)
        return CHORUS_PKT_ETYPE;
    it->body = h->body;
    it->len = h->body_len;
    it->pos = 0;
    it->chunks_left = h->count;
    it->ssrc = 0;
    it->in_chunk = 0;
    return CHORUS_PKT_OK;
}

/* Ends the current chunk at the null item at it->pos: skip it and the null octets up to
 * the next 32-bit boundary (chunks start aligned since the body does). */
static int sdes_end_chunk(chorus_rtcp_sdes_iter *it)
{
    size_t end = (it->pos + 1 + 3) & ~(size_t)3;
    if (end > it->len)
        return CHORUS_PKT_ETRUNC;
    it->pos = end;
    it->in_chunk = 0;
    return CHORUS_PKT_OK;
}

int chorus_rtcp_sdes_next(chorus_rtcp_sdes_iter *it, chorus_rtcp_sdes_item *out)
{
    if (it == NULL || out == NULL)
        return CHORUS_PKT_EINVAL;
    for (;;) {
        if (!it->in_chunk) {
            if (it->chunks_left == 0)
                return 0;
            if (it->len - it->pos < 4)
                return CHORUS_PKT_ETRUNC;
            it->ssrc = chorus_rd32(it->body + it->pos);
            it->pos += 4;
            it->chunks_left--;
            it->in_chunk = 1;
        }
        if (it->pos >= it->len)
            return CHORUS_PKT_ETRUNC; /* no end-of-list null item */
        if (it->body[it->pos] == 0) {
            int rc = sdes_end_chunk(it);
            if (rc != CHORUS_PKT_OK)
                return rc;
            continue; /* each chunk consumed >= 8 bytes: the loop terminates */
        }
        if (it->len - it->pos < 2 || it->len - it->pos - 2 < it->body[it->pos + 1])
            return CHORUS_PKT_ETRUNC;
        out->ssrc = it->ssrc;
        out->type = it->body[it->pos];
        out->len = it->body[it->pos + 1];
        out->data = it->body + it->pos + 2;
        it->pos += 2 + (size_t)out->len;
        return 1;
    }
}

int chorus_rtcp_sdes_find_cname(const chorus_rtcp_header *h, uint32_t *ssrc, char *cname,
                                size_t cap)
{
    chorus_rtcp_sdes_iter it;
    chorus_rtcp_sdes_item item;
    if (cname == NULL)
        return CHORUS_PKT_EINVAL;
    int rc = chorus_rtcp_sdes_iter_init(&it, h);
    if (rc != CHORUS_PKT_OK)
        return rc;
    while ((rc = chorus_rtcp_sdes_next(&it, &item)) > 0) {
        if (item.type != CHORUS_RTCP_SDES_CNAME)
            continue;
        if (cap <= item.len)
            return CHORUS_PKT_ENOSPACE;
        memcpy(cname, item.data, item.len);
        cname[item.len] = '\0';
        if (ssrc != NULL)
            *ssrc = item.ssrc;
        return CHORUS_PKT_OK;
    }
    return rc < 0 ? rc : CHORUS_PKT_ENOTFOUND;
}

/* ---- BYE ---- */

int chorus_rtcp_parse_bye(const chorus_rtcp_header *h, chorus_rtcp_bye *out)
{
    if (h == NULL || out == NULL)
        return CHORUS_PKT_EINVAL;
    if (h->pt != CHORUS_RTCP_BYE)
        return CHORUS_PKT_ETYPE;
    size_t need = (size_t)h->count * 4;
    if (h->body_len < need)
        return CHORUS_PKT_ETRUNC;
    out->count = h->count;
    for (unsigned i = 0; i < h->count; i++)
        out->ssrcs[i] = chorus_rd32(h->body + (size_t)i * 4);
    out->reason = NULL;
    out->reason_len = 0;
    if (h->body_len > need) {
        uint8_t rlen = h->body[need];
        if (h->body_len - need - 1 < rlen)
            return CHORUS_PKT_ETRUNC;
        out->reason = h->body + need + 1;
        out->reason_len = rlen;
    }
    return CHORUS_PKT_OK;
}

/* ---- Feedback ---- */

int chorus_rtcp_parse_fb(const chorus_rtcp_header *h, chorus_rtcp_fb *out)
{
    if (h == NULL || out == NULL)
        return CHORUS_PKT_EINVAL;
    if (h->pt != CHORUS_RTCP_RTPFB && h->pt != CHORUS_RTCP_PSFB)
        return CHORUS_PKT_ETYPE;
    if (h->body_len < FB_COMMON_LEN)
        return CHORUS_PKT_ETRUNC;
    out->pt = h->pt;
    out->fmt = h->count;
    out->sender_ssrc = chorus_rd32(h->body);
    out->media_ssrc = chorus_rd32(h->body + 4);
    out->fci = h->body + FB_COMMON_LEN;
    out->fci_len = h->body_len - FB_COMMON_LEN;
    return CHORUS_PKT_OK;
}

static int check_fb(const chorus_rtcp_fb *fb, uint8_t pt, uint8_t fmt)
{
    if (fb == NULL)
        return CHORUS_PKT_EINVAL;
    if (fb->pt != pt || fb->fmt != fmt)
        return CHORUS_PKT_ETYPE;
    return CHORUS_PKT_OK;
}

int chorus_rtcp_parse_nack(const chorus_rtcp_fb *fb, uint16_t *seqs, size_t cap, size_t *n)
{
    int rc = check_fb(fb, CHORUS_RTCP_RTPFB, CHORUS_RTCP_RTPFB_NACK);
    if (rc != CHORUS_PKT_OK)
        return rc;
    if (n == NULL || (seqs == NULL && cap > 0))
        return CHORUS_PKT_EINVAL;
    *n = 0;
    if (fb->fci_len == 0 || fb->fci_len % 4 != 0)
        return CHORUS_PKT_EMALFORMED;
    for (size_t off = 0; off < fb->fci_len; off += 4) {
        uint16_t pid = chorus_rd16(fb->fci + off);
        uint16_t blp = chorus_rd16(fb->fci + off + 2);
        for (unsigned bit = 0; bit <= 16; bit++) {
            if (bit > 0 && !(blp & (1u << (bit - 1))))
                continue;
            if (*n >= cap)
                return CHORUS_PKT_ENOSPACE;
            seqs[(*n)++] = (uint16_t)(pid + bit);
        }
    }
    return CHORUS_PKT_OK;
}

int chorus_rtcp_parse_fir(const chorus_rtcp_fb *fb, chorus_rtcp_fir_entry *out, size_t cap,
                          size_t *n)
{
    int rc = check_fb(fb, CHORUS_RTCP_PSFB, CHORUS_RTCP_PSFB_FIR);
    if (rc != CHORUS_PKT_OK)
        return rc;
    if (n == NULL || (out == NULL && cap > 0))
        return CHORUS_PKT_EINVAL;
    *n = 0;
    if (fb->fci_len == 0 || fb->fci_len % 8 != 0)
        return CHORUS_PKT_EMALFORMED;
    for (size_t off = 0; off < fb->fci_len; off += 8) {
        if (*n >= cap)
            return CHORUS_PKT_ENOSPACE;
        out[*n].ssrc = chorus_rd32(fb->fci + off);
        out[*n].seq_nr = fb->fci[off + 4];
        (*n)++;
    }
    return CHORUS_PKT_OK;
}

int chorus_rtcp_parse_remb(const chorus_rtcp_fb *fb, chorus_rtcp_remb *out, uint32_t *ssrcs,
                           size_t cap)
{
    int rc = check_fb(fb, CHORUS_RTCP_PSFB, CHORUS_RTCP_PSFB_AFB);
    if (rc != CHORUS_PKT_OK)
        return rc;
    if (out == NULL || (ssrcs == NULL && cap > 0))
        return CHORUS_PKT_EINVAL;
    if (fb->fci_len < 8)
        return CHORUS_PKT_ETRUNC;
    if (memcmp(fb->fci, "REMB", 4) != 0)
        return CHORUS_PKT_ETYPE;
    out->num_ssrc = fb->fci[4];
    unsigned exp = fb->fci[5] >> 2;
    uint64_t mantissa = ((uint64_t)(fb->fci[5] & 0x03) << 16) | chorus_rd16(fb->fci + 6);
    if (exp > 0 && mantissa > (UINT64_MAX >> exp))
        out->bitrate_bps = UINT64_MAX;
    else
        out->bitrate_bps = mantissa << exp;
    if (fb->fci_len - 8 < (size_t)out->num_ssrc * 4)
        return CHORUS_PKT_ETRUNC;
    for (size_t i = 0; i < out->num_ssrc; i++) {
        if (i >= cap)
            return CHORUS_PKT_ENOSPACE;
        ssrcs[i] = chorus_rd32(fb->fci + 8 + i * 4);
    }
    return CHORUS_PKT_OK;
}

/* ---- Transport-wide CC feedback ---- */

typedef struct twcc_walk {
    chorus_rtcp_twcc_packet *pkts;
    size_t cap;
    uint16_t base_seq;
    uint32_t done;  /* statuses decoded so far */
    uint32_t total; /* packet status count */
    size_t delta_bytes;
    uint16_t received;
} twcc_walk;

/* Records one status symbol; the receive delta size in bytes equals the symbol. */
static int twcc_emit(twcc_walk *w, unsigned sym)
{
    if (sym > CHORUS_TWCC_LARGE_DELTA)
        return CHORUS_PKT_EMALFORMED;
    if (w->done < w->cap) {
        chorus_rtcp_twcc_packet *p = &w->pkts[w->done];
        p->seq = (uint16_t)(w->base_seq + w->done);
        p->status = (uint8_t)sym;
        p->delta_us = 0;
        p->arrival_us = 0;
    }
    w->delta_bytes += sym;
    w->received += sym != CHORUS_TWCC_NOT_RECEIVED;
    w->done++;
    return CHORUS_PKT_OK;
}

static int twcc_chunk(twcc_walk *w, uint16_t chunk)
{
    int rc = CHORUS_PKT_OK;
    if (!(chunk & 0x8000)) { /* run length: T=0, S (2 bits), length (13 bits) */
        unsigned sym = (chunk >> 13) & 3;
        uint32_t run = chunk & 0x1fff;
        for (uint32_t i = 0; i < run && w->done < w->total && rc == CHORUS_PKT_OK; i++)
            rc = twcc_emit(w, sym);
        return rc;
    }
    /* status vector: T=1, S=0: 14 one-bit symbols, S=1: 7 two-bit symbols */
    unsigned bits = (chunk & 0x4000) ? 2 : 1;
    unsigned nsym = 14 / bits;
    for (unsigned i = 0; i < nsym && w->done < w->total && rc == CHORUS_PKT_OK; i++) {
        unsigned shift = 14 - bits * (i + 1);
        rc = twcc_emit(w, (chunk >> shift) & ((1u << bits) - 1));
    }
    return rc;
}

/* Reads the receive deltas that follow the chunks into the first w->done entries. */
static void twcc_fill_deltas(const twcc_walk *w, const uint8_t *d, int32_t ref_time)
{
    int64_t t = (int64_t)ref_time * 64000;
    size_t n = w->total < w->cap ? w->total : w->cap;
    for (size_t i = 0; i < n; i++) {
        chorus_rtcp_twcc_packet *p = &w->pkts[i];
        if (p->status == CHORUS_TWCC_SMALL_DELTA) {
            p->delta_us = (int32_t)d[0] * 250;
            d += 1;
        } else if (p->status == CHORUS_TWCC_LARGE_DELTA) {
            p->delta_us = (int32_t)(int16_t)chorus_rd16(d) * 250;
            d += 2;
        } else {
            continue;
        }
        t += p->delta_us;
        p->arrival_us = t;
    }
}

int chorus_rtcp_parse_twcc(const chorus_rtcp_fb *fb, chorus_rtcp_twcc *info,
                           chorus_rtcp_twcc_packet *pkts, size_t cap, size_t *n)
{
    int rc = check_fb(fb, CHORUS_RTCP_RTPFB, CHORUS_RTCP_RTPFB_TWCC);
    if (rc != CHORUS_PKT_OK)
        return rc;
    if (info == NULL || n == NULL || (pkts == NULL && cap > 0))
        return CHORUS_PKT_EINVAL;
    *n = 0;
    if (fb->fci_len < 8)
        return CHORUS_PKT_ETRUNC;
    const uint8_t *p = fb->fci;
    info->base_seq = chorus_rd16(p);
    info->status_count = chorus_rd16(p + 2);
    uint32_t ref = chorus_rd24(p + 4);
    info->ref_time = (ref & 0x800000) ? (int32_t)ref - 0x1000000 : (int32_t)ref;
    info->fb_count = p[7];

    twcc_walk w = {pkts, cap, info->base_seq, 0, info->status_count, 0, 0};
    size_t off = 8;
    while (w.done < w.total) {
        if (fb->fci_len - off < 2)
            return CHORUS_PKT_ETRUNC; /* also stops zero-length run chunks */
        rc = twcc_chunk(&w, chorus_rd16(p + off));
        if (rc != CHORUS_PKT_OK)
            return rc;
        off += 2;
    }
    if (fb->fci_len - off < w.delta_bytes)
        return CHORUS_PKT_ETRUNC;
    twcc_fill_deltas(&w, p + off, info->ref_time);
    info->received = w.received;
    *n = w.total < cap ? w.total : cap;
    return w.total > cap ? CHORUS_PKT_ENOSPACE : CHORUS_PKT_OK;
}

/* ---- Builders ---- */

/* strlen bounded by max (strnlen is POSIX, not C11). */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n] != '\0')
        n++;
    return n;
}

/* Writes the common header of a packet of total length len (a multiple of 4). */
static void write_header(uint8_t *buf, uint8_t count, uint8_t pt, size_t len)
{
    buf[0] = (uint8_t)(0x80 | (count & 0x1f));
    buf[1] = pt;
    chorus_wr16(buf + 2, (uint16_t)(len / 4 - 1));
}

static void write_report_block(uint8_t *p, const chorus_rtcp_report_block *b)
{
    int32_t cl = b->cumulative_lost;
    if (cl > 0x7fffff)
        cl = 0x7fffff;
    if (cl < -0x800000)
        cl = -0x800000;
    chorus_wr32(p, b->ssrc);
    p[4] = b->fraction_lost;
    chorus_wr24(p + 5, (uint32_t)cl & 0xffffff);
    chorus_wr32(p + 8, b->ext_highest_seq);
    chorus_wr32(p + 12, b->jitter);
    chorus_wr32(p + 16, b->lsr);
    chorus_wr32(p + 20, b->dlsr);
}

int chorus_rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
                         const chorus_rtcp_report_block *blocks, size_t n_blocks)
{
    if (buf == NULL || n_blocks > CHORUS_RTCP_MAX_REPORTS || (blocks == NULL && n_blocks > 0))
        return CHORUS_PKT_EINVAL;
    size_t len = 8 + n_blocks * REPORT_BLOCK_LEN;
    if (cap < len)
        return CHORUS_PKT_ENOSPACE;
    write_header(buf, (uint8_t)n_blocks, CHORUS_RTCP_RR, len);
    chorus_wr32(buf + 4, ssrc);
    for (size_t i = 0; i < n_blocks; i++)
        write_report_block(buf + 8 + i * REPORT_BLOCK_LEN, &blocks[i]);
    return (int)len;
}

int chorus_rtcp_build_sr(uint8_t *buf, size_t cap, const chorus_rtcp_sr *sr)
{
    if (buf == NULL || sr == NULL || sr->report_count > CHORUS_RTCP_MAX_REPORTS)
        return CHORUS_PKT_EINVAL;
    size_t len = 8 + SENDER_INFO_LEN + (size_t)sr->report_count * REPORT_BLOCK_LEN;
    if (cap < len)
        return CHORUS_PKT_ENOSPACE;
    write_header(buf, sr->report_count, CHORUS_RTCP_SR, len);
    chorus_wr32(buf + 4, sr->ssrc);
    chorus_wr32(buf + 8, (uint32_t)(sr->ntp >> 32));
    chorus_wr32(buf + 12, (uint32_t)sr->ntp);
    chorus_wr32(buf + 16, sr->rtp_ts);
    chorus_wr32(buf + 20, sr->packet_count);
    chorus_wr32(buf + 24, sr->octet_count);
    for (size_t i = 0; i < sr->report_count; i++)
        write_report_block(buf + 28 + i * REPORT_BLOCK_LEN, &sr->reports[i]);
    return (int)len;
}

int chorus_rtcp_build_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname)
{
    if (buf == NULL || cname == NULL)
        return CHORUS_PKT_EINVAL;
    size_t clen = bounded_len(cname, 256);
    if (clen == 0 || clen > 255)
        return CHORUS_PKT_EINVAL;
    /* chunk: SSRC, CNAME item (type, length, text), >= 1 null octet up to alignment */
    size_t chunk = (4 + 2 + clen + 1 + 3) & ~(size_t)3;
    size_t len = 4 + chunk;
    if (cap < len)
        return CHORUS_PKT_ENOSPACE;
    write_header(buf, 1, CHORUS_RTCP_SDES, len);
    chorus_wr32(buf + 4, ssrc);
    buf[8] = CHORUS_RTCP_SDES_CNAME;
    buf[9] = (uint8_t)clen;
    memcpy(buf + 10, cname, clen);
    memset(buf + 10 + clen, 0, len - 10 - clen);
    return (int)len;
}

int chorus_rtcp_build_bye(uint8_t *buf, size_t cap, const uint32_t *ssrcs, size_t n,
                          const char *reason)
{
    if (buf == NULL || n > CHORUS_RTCP_MAX_REPORTS || (ssrcs == NULL && n > 0))
        return CHORUS_PKT_EINVAL;
    size_t rlen = reason != NULL ? bounded_len(reason, 256) : 0;
    if (rlen > 255)
        return CHORUS_PKT_EINVAL;
    size_t rpart = reason != NULL ? ((1 + rlen + 3) & ~(size_t)3) : 0;
    size_t len = 4 + n * 4 + rpart;
    if (cap < len)
        return CHORUS_PKT_ENOSPACE;
    write_header(buf, (uint8_t)n, CHORUS_RTCP_BYE, len);
    for (size_t i = 0; i < n; i++)
        chorus_wr32(buf + 4 + i * 4, ssrcs[i]);
    if (reason != NULL) {
        uint8_t *r = buf + 4 + n * 4;
        r[0] = (uint8_t)rlen;
        memcpy(r + 1, reason, rlen);
        memset(r + 1 + rlen, 0, rpart - 1 - rlen);
    }
    return (int)len;
}

static void write_fb_header(uint8_t *buf, uint8_t fmt, uint8_t pt, size_t len, uint32_t sender,
                            uint32_t media)
{
    write_header(buf, fmt, pt, len);
    chorus_wr32(buf + 4, sender);
    chorus_wr32(buf + 8, media);
}

/* Packs lost[] into PID+BLP pairs; writes them to fci when non-NULL. Returns the count. */
static size_t pack_nack(const uint16_t *lost, size_t n, uint8_t *fci)
{
    size_t pairs = 0;
    uint16_t pid = 0, blp = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t d = (uint16_t)(lost[i] - pid);
        if (pairs > 0 && d == 0)
            continue;
        if (pairs > 0 && d <= 16) {
            blp |= (uint16_t)(1u << (d - 1));
            continue;
        }
        if (pairs > 0 && fci != NULL)
            chorus_wr16(fci + (pairs - 1) * 4 + 2, blp);
        pid = lost[i];
        blp = 0;
        if (fci != NULL)
            chorus_wr16(fci + pairs * 4, pid);
        pairs++;
    }
    if (pairs > 0 && fci != NULL)
        chorus_wr16(fci + (pairs - 1) * 4 + 2, blp);
    return pairs;
}

int chorus_rtcp_build_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                           const uint16_t *lost, size_t n)
{
    if (buf == NULL || lost == NULL || n == 0)
        return CHORUS_PKT_EINVAL;
    size_t pairs = pack_nack(lost, n, NULL);
    size_t len = 12 + pairs * 4;
    if (len > 4 * 65536)
        return CHORUS_PKT_EINVAL;
    if (cap < len)
        return CHORUS_PKT_ENOSPACE;
    write_fb_header(buf, CHORUS_RTCP_RTPFB_NACK, CHORUS_RTCP_RTPFB, len, sender_ssrc, media_ssrc);
    pack_nack(lost, n, buf + 12);
    return (int)len;
}

int chorus_rtcp_build_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    if (buf == NULL)
        return CHORUS_PKT_EINVAL;
    if (cap < 12)
        return CHORUS_PKT_ENOSPACE;
    write_fb_header(buf, CHORUS_RTCP_PSFB_PLI, CHORUS_RTCP_PSFB, 12, sender_ssrc, media_ssrc);
    return 12;
}

int chorus_rtcp_build_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                          uint8_t seq_nr)
{
    if (buf == NULL)
        return CHORUS_PKT_EINVAL;
    if (cap < 20)
        return CHORUS_PKT_ENOSPACE;
    write_fb_header(buf, CHORUS_RTCP_PSFB_FIR, CHORUS_RTCP_PSFB, 20, sender_ssrc, 0);
    chorus_wr32(buf + 12, media_ssrc);
    buf[16] = seq_nr;
    buf[17] = buf[18] = buf[19] = 0;
    return 20;
}

int chorus_rtcp_build_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                           const uint32_t *ssrcs, size_t n)
{
    if (buf == NULL || n > 255 || (ssrcs == NULL && n > 0))
        return CHORUS_PKT_EINVAL;
    size_t len = 20 + n * 4;
    if (cap < len)
        return CHORUS_PKT_ENOSPACE;
    unsigned exp = 0;
    uint64_t mantissa = bitrate_bps;
    while (mantissa > 0x3ffff) {
        mantissa >>= 1;
        exp++;
    }
    write_fb_header(buf, CHORUS_RTCP_PSFB_AFB, CHORUS_RTCP_PSFB, len, sender_ssrc, 0);
    memcpy(buf + 12, "REMB", 4);
    buf[16] = (uint8_t)n;
    buf[17] = (uint8_t)((exp << 2) | (unsigned)(mantissa >> 16));
    chorus_wr16(buf + 18, (uint16_t)mantissa);
    for (size_t i = 0; i < n; i++)
        chorus_wr32(buf + 20 + i * 4, ssrcs[i]);
    return (int)len;
}
