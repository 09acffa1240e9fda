/* Receive statistics of one incoming RTP stream (RFC 3550 section 6.4.1, A.1, A.3, A.8):
 * extended highest sequence number with wrap cycles, expected/received/lost counts,
 * fraction lost since the last report, interarrival jitter, and LSR/DLSR from the
 * sender's last SR, giving everything a receiver report block needs.
 *
 * The caller owns the struct (embed it in the stream state) and drives it from the one
 * thread that receives the stream: no locking, no allocation. Times are microseconds on
 * any monotonic clock the caller chooses (the same clock for every call).
 * Fields are public for reading (metrics); change them only through the functions.
 */
#ifndef CHORUS_MEDIA_RTP_STATS_H
#define CHORUS_MEDIA_RTP_STATS_H

#include <stdint.h>

#include "media/rtcp.h"

/* RFC 3550 A.1 defaults. */
#define CHORUS_RTP_STATS_MAX_DROPOUT  3000
#define CHORUS_RTP_STATS_MAX_MISORDER 100

typedef enum chorus_rtp_stats_result {
    CHORUS_RTP_STATS_OK = 0,   /* in sequence (or a forward gap) */
    CHORUS_RTP_STATS_FIRST,    /* first packet: the stream (re)starts here */
    CHORUS_RTP_STATS_OLD,      /* duplicate or reordered packet, counted as received */
    CHORUS_RTP_STATS_BAD_JUMP, /* very large jump, not counted (one more in sequence
                                  after it restarts the stream, RFC 3550 A.1) */
    CHORUS_RTP_STATS_RESTART,  /* the stream was restarted at this packet */
} chorus_rtp_stats_result;

typedef struct chorus_rtp_stats {
    uint32_t clock_rate; /* Hz of the RTP timestamp */
    uint8_t started;
    uint16_t max_seq;        /* highest sequence number seen */
    uint32_t cycles;         /* wrap count << 16 */
    uint32_t base_seq;       /* first sequence number (extended) */
    uint32_t bad_seq;        /* next expected after a bad jump (RFC 3550 A.1) */
    uint64_t received;       /* packets received (duplicates included) */
    uint64_t expected_prior; /* at the last report */
    uint64_t received_prior; /* at the last report */
    /* jitter (RFC 3550 A.8), kept as J * 16 in timestamp units */
    uint64_t jitter_q4;
    uint8_t have_transit;
    uint32_t last_transit;     /* arrival - rtp_ts, modulo 2^32 */
    uint64_t first_arrival_us; /* origin of the arrival clock in timestamp units */
    /* last SR from this source */
    uint8_t have_sr;
    uint32_t last_sr_lsr; /* middle 32 bits of its NTP timestamp */
    uint64_t last_sr_arrival_us;
} chorus_rtp_stats;

void chorus_rtp_stats_init(chorus_rtp_stats *s, uint32_t clock_rate);

/* Accounts one received packet (after SRTP authentication). */
chorus_rtp_stats_result chorus_rtp_stats_update(chorus_rtp_stats *s, uint16_t seq, uint32_t rtp_ts,
                                                uint64_t arrival_us);

/* Records an SR from the source (its 64-bit NTP timestamp) received at arrival_us. */
void chorus_rtp_stats_on_sr(chorus_rtp_stats *s, uint64_t ntp, uint64_t arrival_us);

/* Derived values. */
uint32_t chorus_rtp_stats_ext_highest_seq(const chorus_rtp_stats *s);
uint64_t chorus_rtp_stats_expected(const chorus_rtp_stats *s);
/* expected - received: negative with duplicates; not clamped. */
int64_t chorus_rtp_stats_lost(const chorus_rtp_stats *s);
/* Interarrival jitter in timestamp units. */
uint32_t chorus_rtp_stats_jitter(const chorus_rtp_stats *s);

/* Fills a report block about this stream (ssrc = the stream's SSRC) as of now_us, and
 * starts a new reporting interval (fraction lost is computed since the previous call).
 * Before the first packet every counter is 0. */
void chorus_rtp_stats_report_block(chorus_rtp_stats *s, uint32_t ssrc, uint64_t now_us,
                                   chorus_rtcp_report_block *out);

/* Middle 32 bits of a 64-bit NTP timestamp (the LSR field). */
static inline uint32_t chorus_ntp_middle32(uint64_t ntp)
{
    return (uint32_t)(ntp >> 16);
}

#endif
