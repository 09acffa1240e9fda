/* Per-output-stream RTP rewriter: packets from a changing sequence of sources (speakers
 * mapped onto a voice slot, simulcast layers of a screen share) leave as ONE continuous
 * RTP stream with a fixed SSRC.
 *
 *  - Within one source, sequence and timestamp deltas are preserved exactly (gaps,
 *    reordering, duplicates, 16/32-bit wrap): out = in + offset, modulo 2^16 / 2^32.
 *  - On a source switch, the first packet of the new source gets sequence number
 *    highest_output_seq + 1 and timestamp highest_output_ts + gap, where gap is the
 *    wall-clock time since the packet that set highest_output_ts arrived, converted to
 *    the clock rate (at least 1 tick), so receivers see neither a sequence jump nor a
 *    timestamp going backwards.
 *  - Packets of the new source that are older than its first forwarded packet (reordered
 *    across the switch) are dropped: they would reuse old output numbers.
 *
 * Codec-agnostic: markers, keyframes and payload are the caller's business.
 * Caller-owned struct, no allocation, single-threaded (the output stream's worker).
 * Times are microseconds on a monotonic clock of the caller's choice.
 */
#ifndef CHORUS_MEDIA_RTP_REWRITE_H
#define CHORUS_MEDIA_RTP_REWRITE_H

#include <stddef.h>
#include <stdint.h>

/* Packets of a new source older than its first packet are dropped until the source has
 * advanced this far past its first sequence number. */
#define CHORUS_RTP_REWRITE_SETTLE 1000

enum {
    CHORUS_RTP_REWRITE_FORWARD = 0, /* out_seq/out_ts are valid: send the packet */
    CHORUS_RTP_REWRITE_DROP = 1,    /* do not send it */
};

typedef struct chorus_rtp_rewriter {
    uint32_t out_ssrc;
    uint32_t clock_rate;
    uint8_t have_output; /* at least one packet forwarded */
    uint8_t have_source; /* source_id is valid */
    uint8_t settled;     /* current source well past its first packet */
    uint32_t source_id;
    uint16_t first_in_seq; /* first packet of the current source */
    uint16_t seq_offset;   /* out = in + seq_offset */
    uint32_t ts_offset;    /* out = in + ts_offset */
    uint16_t max_out_seq;
    uint32_t max_out_ts;
    uint64_t max_out_ts_us; /* arrival of the latest packet carrying max_out_ts */
    uint16_t next_seq;      /* seq of the very first output packet */
    uint32_t next_ts;       /* ts of the very first output packet */
    uint32_t switches;      /* source switches so far (the first source counts) */
} chorus_rtp_rewriter;

/* out_ssrc: the SSRC every output packet carries; clock_rate: RTP clock in Hz;
 * first_seq/first_ts: numbers of the very first output packet (pick them at random). */
void chorus_rtp_rewriter_init(chorus_rtp_rewriter *rw, uint32_t out_ssrc, uint32_t clock_rate,
                              uint16_t first_seq, uint32_t first_ts);

/* Maps one packet of source source_id (any caller-chosen id, e.g. its SSRC) that arrived
 * at now_us. Returns CHORUS_RTP_REWRITE_FORWARD with *out_seq and *out_ts set, or
 * CHORUS_RTP_REWRITE_DROP. */
int chorus_rtp_rewriter_map(chorus_rtp_rewriter *rw, uint32_t source_id, uint16_t in_seq,
                            uint32_t in_ts, uint64_t now_us, uint16_t *out_seq, uint32_t *out_ts);

/* In place on an RTP packet (the source id is its SSRC): rewrites SSRC, sequence number
 * and timestamp. Returns FORWARD/DROP, or CHORUS_PKT_ETRUNC if len < 12 (untouched). */
int chorus_rtp_rewriter_rewrite(chorus_rtp_rewriter *rw, uint8_t *pkt, size_t len, uint64_t now_us);

/* Makes the next packet start a new source even if its id is unchanged (e.g. the
 * sender restarted its stream with the same SSRC, or the caller paused forwarding). */
void chorus_rtp_rewriter_reset_source(chorus_rtp_rewriter *rw);

#endif
