/* chorus-loadgen: measurement. A latency histogram, a per-second timeline, sequence
 * sets that find losses and duplicates per (listener, sender) pair, and the counters of
 * one shard. Everything is allocated before the load starts; recording allocates
 * nothing. One thread per LgStats (a shard's); shards are merged at the end. */
#ifndef LG_STATS_H
#define LG_STATS_H

#include <glib.h>

/* Log-linear histogram of microseconds: exact below 64, then 64 buckets per power of
 * two (under 1.6 % relative error), up to 2^38 µs. */
#define LG_HIST_SUB     64
#define LG_HIST_BUCKETS (LG_HIST_SUB * 33)

typedef struct {
    guint64 count[LG_HIST_BUCKETS];
    guint64 n, sum, max;
} LgHist;

void lg_hist_add(LgHist *h, guint64 v);
/* The value at quantile q (0..1): the upper bound of its bucket; 0 if empty. */
guint64 lg_hist_quantile(const LgHist *h, double q);
void lg_hist_merge(LgHist *dst, const LgHist *src);

/* One second of the run, by the packets' send time. */
typedef struct {
    guint64 sent;
    double expected; /* sum of the fan-out of the packets sent in this second */
    guint64 received, lat_sum, lat_max;
} LgSecond;

/* Which sequence numbers of one sender one listener got (bit per packet). */
typedef struct {
    guint32 nbits;
    gboolean partial; /* the listener should get only a share of this sender's packets */
    guint8 *bits;
} LgSeqSet;

enum { LG_SEQ_NEW = 1, LG_SEQ_DUP = 0, LG_SEQ_RANGE = -1 };

static inline gboolean lg_seqset_has(const LgSeqSet *s, guint32 seq)
{
    return seq < s->nbits && (s->bits[seq >> 3] & (1u << (seq & 7)));
}

void lg_seqset_init(LgSeqSet *s, guint32 nbits);
void lg_seqset_clear(LgSeqSet *s);
static inline int lg_seqset_add(LgSeqSet *s, guint32 seq)
{
    if (G_UNLIKELY(seq >= s->nbits))
        return LG_SEQ_RANGE;
    guint8 bit = (guint8)(1u << (seq & 7));
    if (s->bits[seq >> 3] & bit)
        return LG_SEQ_DUP;
    s->bits[seq >> 3] |= bit;
    return LG_SEQ_NEW;
}

typedef struct {
    gint64 t0_us; /* start of second 0 */
    guint n_seconds;
    LgSecond *sec;
    LgHist lat;
    guint64 sent, send_errors, received, duplicates, misrouted, invalid, out_of_range;
    gint64 send_lag_max_us; /* how late the generator sent a packet, worst case */
    /* PeerConnection counters, summed at the end (whole run, setup included) */
    guint64 rtcp_rx, srtp_errors, tx_not_ready, tx_srtp, tx_socket;
    int tx_last_errno;
    guint srtp_gcm, srtp_other; /* PeerConnections per negotiated SRTP profile */
} LgStats;

void lg_stats_init(LgStats *st, guint n_seconds);
void lg_stats_clear(LgStats *st);
void lg_stats_merge(LgStats *dst, const LgStats *src);

static inline LgSecond *lg_stats_second(LgStats *st, gint64 t_us)
{
    gint64 i = (t_us - st->t0_us) / G_USEC_PER_SEC;
    if (i < 0)
        i = 0;
    if (i >= (gint64)st->n_seconds)
        i = (gint64)st->n_seconds - 1;
    return &st->sec[i];
}

/* A packet from a sender this listener should hear, with its stamp. */
static inline void lg_stats_received(LgStats *st, LgSeqSet *set, guint32 seq, gint64 send_us,
                                     gint64 now_us)
{
    int r = lg_seqset_add(set, seq);
    if (r == LG_SEQ_DUP) {
        st->duplicates++;
        return;
    }
    if (r == LG_SEQ_RANGE) {
        st->out_of_range++;
        return;
    }
    guint64 lat = now_us > send_us ? (guint64)(now_us - send_us) : 0;
    st->received++;
    lg_hist_add(&st->lat, lat);
    LgSecond *s = lg_stats_second(st, send_us);
    s->received++;
    s->lat_sum += lat;
    if (lat > s->lat_max)
        s->lat_max = lat;
}

#endif
