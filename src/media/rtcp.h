/* RTCP (RFC 3550 section 6, RFC 4585 feedback, RFC 5104 FIR, REMB, transport-wide-cc
 * feedback): compound-packet iteration, typed parsers, and builders.
 *
 * Pure packet code: no allocation, no I/O, no global state; safe to fuzz.
 *
 * Ownership: parsers fill caller-provided structs (and caller-provided bounded arrays
 * for variable-length lists); every `const uint8_t *` in a result BORROWS the input
 * buffer and is valid as long as that buffer is. Builders write one RTCP packet into a
 * caller buffer and return its length (> 0, always a multiple of 4) or a negative
 * CHORUS_PKT_E* code (CHORUS_PKT_ENOSPACE when cap is too small; nothing useful is
 * written then). To build a compound packet, call builders one after another on
 * buf + offset.
 *
 * Every length field is checked against the buffer: malformed input gives a negative
 * code, never an out-of-bounds read.
 */
#ifndef CHORUS_MEDIA_RTCP_H
#define CHORUS_MEDIA_RTCP_H

#include <stddef.h>
#include <stdint.h>

#include "media/rtp.h" /* CHORUS_PKT_* codes */

/* Packet types (RFC 3550, 4585, 3611). */
#define CHORUS_RTCP_SR    200
#define CHORUS_RTCP_RR    201
#define CHORUS_RTCP_SDES  202
#define CHORUS_RTCP_BYE   203
#define CHORUS_RTCP_APP   204
#define CHORUS_RTCP_RTPFB 205
#define CHORUS_RTCP_PSFB  206
#define CHORUS_RTCP_XR    207

/* Feedback message types (FMT). */
#define CHORUS_RTCP_RTPFB_NACK 1
#define CHORUS_RTCP_RTPFB_TWCC 15
#define CHORUS_RTCP_PSFB_PLI   1
#define CHORUS_RTCP_PSFB_FIR   4
#define CHORUS_RTCP_PSFB_AFB   15 /* application layer feedback; REMB is one */

#define CHORUS_RTCP_SDES_CNAME 1

#define CHORUS_RTCP_HEADER_LEN  4
#define CHORUS_RTCP_MAX_REPORTS 31 /* 5-bit count field */

/* What a packet is, from its type, FMT and (for AFB) its FCI identifier. */
typedef enum chorus_rtcp_kind {
    CHORUS_RTCP_KIND_UNKNOWN = 0,
    CHORUS_RTCP_KIND_SR,
    CHORUS_RTCP_KIND_RR,
    CHORUS_RTCP_KIND_SDES,
    CHORUS_RTCP_KIND_BYE,
    CHORUS_RTCP_KIND_APP,
    CHORUS_RTCP_KIND_XR,
    CHORUS_RTCP_KIND_NACK,
    CHORUS_RTCP_KIND_TWCC,
    CHORUS_RTCP_KIND_RTPFB_OTHER,
    CHORUS_RTCP_KIND_PLI,
    CHORUS_RTCP_KIND_FIR,
    CHORUS_RTCP_KIND_REMB,
    CHORUS_RTCP_KIND_PSFB_OTHER,
} chorus_rtcp_kind;

/* One RTCP packet inside a compound packet. */
typedef struct chorus_rtcp_header {
    uint8_t padding;       /* P bit */
    uint8_t count;         /* RC / SC / FMT (5 bits) */
    uint8_t pt;            /* packet type */
    uint16_t length_words; /* length field: 32-bit words minus one */
    const uint8_t *pkt;    /* the whole packet, header included */
    size_t len;            /* (length_words + 1) * 4 */
    const uint8_t *body;   /* after the 4-byte header */
    size_t body_len;       /* without trailing padding */
} chorus_rtcp_header;

/* Iterator over a compound packet; caller-allocated. */
typedef struct chorus_rtcp_iter {
    const uint8_t *buf;
    size_t len;
    size_t pos;
} chorus_rtcp_iter;

void chorus_rtcp_iter_init(chorus_rtcp_iter *it, const uint8_t *buf, size_t len);

/* Next packet: returns 1 and fills *out, 0 at the end, or a negative code (version not
 * 2, length field beyond the buffer, bad padding). After an error the iterator stays
 * at the bad packet: stop iterating. Always advances by >= 4 bytes, so it terminates. */
int chorus_rtcp_iter_next(chorus_rtcp_iter *it, chorus_rtcp_header *out);

/* Validates a whole compound packet: every header valid, the packets exactly cover
 * len, and each packet long enough for its type (per-type table). Returns
 * CHORUS_PKT_OK or the first error. Empty input is CHORUS_PKT_ETRUNC. */
int chorus_rtcp_validate_compound(const uint8_t *buf, size_t len);

/* Kind of a packet (table-driven on pt/FMT). */
chorus_rtcp_kind chorus_rtcp_classify(const chorus_rtcp_header *h);

/* Static name of a kind ("sr", "rr", "nack", "remb", ...). */
const char *chorus_rtcp_kind_name(chorus_rtcp_kind kind);

/* ---- SR / RR ---- */

typedef struct chorus_rtcp_report_block {
    uint32_t ssrc;            /* source this block is about */
    uint8_t fraction_lost;    /* 8-bit fixed point, lost/expected * 256 */
    int32_t cumulative_lost;  /* signed 24-bit */
    uint32_t ext_highest_seq; /* cycles << 16 | highest seq */
    uint32_t jitter;          /* RTP timestamp units */
    uint32_t lsr;             /* middle 32 bits of the last SR's NTP time */
    uint32_t dlsr;            /* delay since last SR, 1/65536 s */
} chorus_rtcp_report_block;

typedef struct chorus_rtcp_sr {
    uint32_t ssrc;
    uint64_t ntp; /* 32.32 fixed point seconds since 1900 */
    uint32_t rtp_ts;
    uint32_t packet_count;
    uint32_t octet_count;
    uint8_t report_count;
    chorus_rtcp_report_block reports[CHORUS_RTCP_MAX_REPORTS];
} chorus_rtcp_sr;

typedef struct chorus_rtcp_rr {
    uint32_t ssrc;
    uint8_t report_count;
    chorus_rtcp_report_block reports[CHORUS_RTCP_MAX_REPORTS];
} chorus_rtcp_rr;

/* Bytes after the report blocks (profile-specific extensions) are ignored. */
int chorus_rtcp_parse_sr(const chorus_rtcp_header *h, chorus_rtcp_sr *out);
int chorus_rtcp_parse_rr(const chorus_rtcp_header *h, chorus_rtcp_rr *out);

/* ---- SDES ---- */

typedef struct chorus_rtcp_sdes_item {
    uint32_t ssrc; /* of the chunk the item belongs to */
    uint8_t type;  /* CNAME = 1, NAME = 2, ... */
    uint8_t len;
    const uint8_t *data; /* borrowed, not NUL-terminated */
} chorus_rtcp_sdes_item;

typedef struct chorus_rtcp_sdes_iter {
    const uint8_t *body;
    size_t len;
    size_t pos;
    unsigned chunks_left;
    uint32_t ssrc;
    uint8_t in_chunk;
} chorus_rtcp_sdes_iter;

/* CHORUS_PKT_ETYPE if h is not an SDES packet. */
int chorus_rtcp_sdes_iter_init(chorus_rtcp_sdes_iter *it, const chorus_rtcp_header *h);

/* Next item: 1 (filled), 0 at the end, or a negative code (chunk or item running past
 * the packet, missing end-of-list). Chunks without items are skipped. */
int chorus_rtcp_sdes_next(chorus_rtcp_sdes_iter *it, chorus_rtcp_sdes_item *out);

/* First CNAME in the packet, copied NUL-terminated into cname[cap].
 * CHORUS_PKT_ENOTFOUND if there is none, CHORUS_PKT_ENOSPACE if cap <= its length. */
int chorus_rtcp_sdes_find_cname(const chorus_rtcp_header *h, uint32_t *ssrc, char *cname,
                                size_t cap);

/* ---- BYE ---- */

typedef struct chorus_rtcp_bye {
    uint8_t count;
    uint32_t ssrcs[CHORUS_RTCP_MAX_REPORTS];
    const uint8_t *reason; /* borrowed, NULL if absent */
    uint8_t reason_len;
} chorus_rtcp_bye;

int chorus_rtcp_parse_bye(const chorus_rtcp_header *h, chorus_rtcp_bye *out);

/* ---- Feedback (RFC 4585): common part ---- */

typedef struct chorus_rtcp_fb {
    uint8_t pt;  /* RTPFB or PSFB */
    uint8_t fmt; /* feedback message type */
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    const uint8_t *fci; /* borrowed */
    size_t fci_len;
} chorus_rtcp_fb;

/* CHORUS_PKT_ETYPE if h is neither RTPFB nor PSFB. */
int chorus_rtcp_parse_fb(const chorus_rtcp_header *h, chorus_rtcp_fb *out);

/* Generic NACK: expands every PID+BLP pair into sequence numbers, in packet order, into
 * seqs[cap]; *n gets the number written. CHORUS_PKT_ENOSPACE if they did not all fit
 * (the first cap are written). At most 17 per 4 FCI bytes. */
int chorus_rtcp_parse_nack(const chorus_rtcp_fb *fb, uint16_t *seqs, size_t cap, size_t *n);

typedef struct chorus_rtcp_fir_entry {
    uint32_t ssrc;
    uint8_t seq_nr;
} chorus_rtcp_fir_entry;

/* FIR: entries into out[cap]; ENOSPACE if more than cap (the first cap are written). */
int chorus_rtcp_parse_fir(const chorus_rtcp_fb *fb, chorus_rtcp_fir_entry *out, size_t cap,
                          size_t *n);

/* REMB (draft-alvestrand-rmcat-remb): bitrate = mantissa << exp (saturated to
 * UINT64_MAX), SSRC list into ssrcs[cap] (ENOSPACE if more than cap; the first cap are
 * written). CHORUS_PKT_ETYPE if the FCI is not "REMB". */
typedef struct chorus_rtcp_remb {
    uint64_t bitrate_bps;
    uint8_t num_ssrc;
} chorus_rtcp_remb;

int chorus_rtcp_parse_remb(const chorus_rtcp_fb *fb, chorus_rtcp_remb *out, uint32_t *ssrcs,
                           size_t cap);

/* Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01, RTPFB FMT 15). */
enum {
    CHORUS_TWCC_NOT_RECEIVED = 0,
    CHORUS_TWCC_SMALL_DELTA = 1, /* received, 1-byte delta (0..63.75 ms) */
    CHORUS_TWCC_LARGE_DELTA = 2, /* received, 2-byte signed delta */
};

typedef struct chorus_rtcp_twcc {
    uint16_t base_seq;
    uint16_t status_count;
    int32_t ref_time; /* signed 24-bit, in 64 ms units */
    uint8_t fb_count;
    uint16_t received; /* packets with a received status */
} chorus_rtcp_twcc;

typedef struct chorus_rtcp_twcc_packet {
    uint16_t seq;
    uint8_t status;     /* CHORUS_TWCC_* */
    int32_t delta_us;   /* receive delta (multiple of 250); 0 if not received */
    int64_t arrival_us; /* ref_time * 64000 + running sum of deltas; 0 if not received */
} chorus_rtcp_twcc_packet;

/* Decodes all chunks (run-length, 1-bit and 2-bit status vectors) and receive deltas.
 * Fills info and the first min(cap, status_count) entries of pkts; *n gets that number.
 * The whole packet is validated even if cap is small; then CHORUS_PKT_ENOSPACE is
 * returned when status_count > cap. A reserved status symbol (3) is EMALFORMED. */
int chorus_rtcp_parse_twcc(const chorus_rtcp_fb *fb, chorus_rtcp_twcc *info,
                           chorus_rtcp_twcc_packet *pkts, size_t cap, size_t *n);

/* ---- Builders (see the top of the file for the return convention) ---- */

int chorus_rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
                         const chorus_rtcp_report_block *blocks, size_t n_blocks);
/* Uses sr->report_count blocks from sr->reports. */
int chorus_rtcp_build_sr(uint8_t *buf, size_t cap, const chorus_rtcp_sr *sr);
/* cname: NUL-terminated, 1..255 bytes. */
int chorus_rtcp_build_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname);
/* reason may be NULL; at most 255 bytes. */
int chorus_rtcp_build_bye(uint8_t *buf, size_t cap, const uint32_t *ssrcs, size_t n,
                          const char *reason);
/* Packs lost sequence numbers (in ascending order, wrap-aware) into PID+BLP pairs: a
 * number within 1..16 after the current PID goes into its BLP, anything else starts a
 * new FCI. Duplicates of the PID are ignored. */
int chorus_rtcp_build_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                           const uint16_t *lost, size_t n);
int chorus_rtcp_build_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
/* One FCI entry for media_ssrc with seq_nr (the header's media SSRC is 0, RFC 5104). */
int chorus_rtcp_build_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                          uint8_t seq_nr);
/* bitrate is encoded as 18-bit mantissa and 6-bit exponent (rounded down). */
int chorus_rtcp_build_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                           const uint32_t *ssrcs, size_t n);

#endif
