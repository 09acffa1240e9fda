/* RTP fixed header (RFC 3550 section 5.1): parse/validate, and in-place accessors.
 *
 * Pure packet code: no allocation, no I/O, no global state. Safe to fuzz.
 *
 * Ownership: chorus_rtp_parse() fills a caller-provided struct whose pointers
 * (ext_data, payload) BORROW the caller's packet buffer; they are valid only as long
 * as that buffer is. Nothing is ever freed by this module.
 *
 * The in-place accessors (chorus_rtp_get_xxx, chorus_rtp_set_xxx) take a raw buffer and
 * require that it holds at least CHORUS_RTP_HEADER_MIN bytes (the caller checked the
 * length, typically with chorus_rtp_parse() or chorus_demux_classify()). They are
 * static inline because the forwarding hot path calls them for every packet.
 *
 * Return codes used by the whole media packet layer (rtp, rtp_ext, rtcp): 0 on
 * success, a negative CHORUS_PKT_E* value on failure. Builders return the number of
 * bytes written (> 0) or a negative CHORUS_PKT_E* value.
 */
#ifndef CHORUS_MEDIA_RTP_H
#define CHORUS_MEDIA_RTP_H

#include <stddef.h>
#include <stdint.h>

enum {
    CHORUS_PKT_OK = 0,
    CHORUS_PKT_ETRUNC = -1,     /* buffer shorter than what the header/length fields say */
    CHORUS_PKT_EVERSION = -2,   /* version field is not 2 */
    CHORUS_PKT_EPADDING = -3,   /* padding length 0 or larger than the payload */
    CHORUS_PKT_EMALFORMED = -4, /* a field has an impossible value */
    CHORUS_PKT_ENOSPACE = -5,   /* caller's output buffer/array too small */
    CHORUS_PKT_ENOTFOUND = -6,  /* the requested element is not present */
    CHORUS_PKT_EINVAL = -7,     /* bad argument from the caller */
    CHORUS_PKT_ETYPE = -8,      /* packet is of another type than the parser handles */
};

/* Human-readable name of a CHORUS_PKT_* code (static string, never NULL). */
const char *chorus_pkt_strerror(int code);

#define CHORUS_RTP_VERSION    2
#define CHORUS_RTP_HEADER_MIN 12
#define CHORUS_RTP_MAX_CSRC   15

/* A parsed RTP packet. All pointers borrow the buffer given to chorus_rtp_parse(). */
typedef struct chorus_rtp_packet {
    uint8_t version;      /* always 2 after a successful parse */
    uint8_t padding;      /* P bit */
    uint8_t extension;    /* X bit */
    uint8_t csrc_count;   /* CC, 0..15 */
    uint8_t marker;       /* M bit, 0 or 1 */
    uint8_t payload_type; /* 0..127 */
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;
    uint32_t csrc[CHORUS_RTP_MAX_CSRC]; /* first csrc_count entries are valid */
    /* Header extension (valid if extension == 1): the 16-bit "defined by profile"
     * value (0xBEDE one-byte form, 0x100x two-byte form) and the extension body
     * (ext_len bytes = 4 * length field, without the 4-byte extension header). */
    uint16_t ext_profile;
    const uint8_t *ext_data;
    size_t ext_len;
    size_t header_len;      /* fixed header + CSRCs + extension (offset of the payload) */
    const uint8_t *payload; /* points into the buffer; NULL never (may be at end) */
    size_t payload_len;     /* payload bytes, padding excluded */
    uint8_t padding_len;    /* trailing padding bytes (0 if P is not set) */
} chorus_rtp_packet;

/* Parses and validates an RTP packet: version 2, length covers the CSRC list and the
 * extension, and the padding count (last byte) is non-zero and fits in what follows
 * the header. Does not check the payload type range (that is the demuxer's job).
 * Returns CHORUS_PKT_OK or a negative CHORUS_PKT_E* code; *out is unspecified on
 * error. */
int chorus_rtp_parse(const uint8_t *buf, size_t len, chorus_rtp_packet *out);

/* Writes a 12-byte fixed header (no CSRC, no extension, P = X = 0) into buf.
 * Returns 12 or CHORUS_PKT_ENOSPACE. Convenient for tests and generated packets. */
int chorus_rtp_write_header(uint8_t *buf, size_t cap, uint8_t payload_type, int marker,
                            uint16_t seq, uint32_t timestamp, uint32_t ssrc);

/* ---- Big-endian helpers (used by rtp, rtp_ext, rtcp; no bounds checks). ---- */

static inline uint16_t chorus_rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t chorus_rd24(const uint8_t *p)
{
    return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | (uint32_t)p[2];
}

static inline uint32_t chorus_rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void chorus_wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void chorus_wr24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static inline void chorus_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- In-place accessors. PRECONDITION: pkt holds >= CHORUS_RTP_HEADER_MIN bytes. ---- */

static inline uint16_t chorus_rtp_get_seq(const uint8_t *pkt)
{
    return chorus_rd16(pkt + 2);
}

static inline uint32_t chorus_rtp_get_timestamp(const uint8_t *pkt)
{
    return chorus_rd32(pkt + 4);
}

static inline uint32_t chorus_rtp_get_ssrc(const uint8_t *pkt)
{
    return chorus_rd32(pkt + 8);
}

static inline int chorus_rtp_get_marker(const uint8_t *pkt)
{
    return (pkt[1] >> 7) & 1;
}

static inline uint8_t chorus_rtp_get_payload_type(const uint8_t *pkt)
{
    return pkt[1] & 0x7f;
}

static inline void chorus_rtp_set_seq(uint8_t *pkt, uint16_t seq)
{
    chorus_wr16(pkt + 2, seq);
}

static inline void chorus_rtp_set_timestamp(uint8_t *pkt, uint32_t ts)
{
    chorus_wr32(pkt + 4, ts);
}

static inline void chorus_rtp_set_ssrc(uint8_t *pkt, uint32_t ssrc)
{
    chorus_wr32(pkt + 8, ssrc);
}

static inline void chorus_rtp_set_marker(uint8_t *pkt, int marker)
{
    pkt[1] = (uint8_t)((pkt[1] & 0x7f) | (marker ? 0x80 : 0));
}

static inline void chorus_rtp_set_payload_type(uint8_t *pkt, uint8_t pt)
{
    pkt[1] = (uint8_t)((pkt[1] & 0x80) | (pt & 0x7f));
}

/* Serial-number arithmetic helpers (RFC 1982 style) for 16-bit sequence numbers and
 * 32-bit timestamps: non-zero if a is "newer" than b. */
static inline int chorus_seq_newer(uint16_t a, uint16_t b)
{
    return a != b && (uint16_t)(a - b) < 0x8000;
}

static inline int chorus_ts_newer(uint32_t a, uint32_t b)
{
    return a != b && (uint32_t)(a - b) < 0x80000000u;
}

#endif
