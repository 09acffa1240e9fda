/* chorus-loadgen: histogram, sequence sets, shard counters (see lg_stats.h). */
#include "lg_stats.h"

#include <string.h>

static guint hist_index(guint64 v)
{
    if (v < LG_HIST_SUB)
        return (guint)v;
    guint top = 63u - (guint)__builtin_clzll(v); /* v in [2^top, 2^(top+1)) , top >= 6 */
    guint shift = top - 6u;
    guint i = LG_HIST_SUB * (shift + 1) + (guint)((v >> shift) - LG_HIST_SUB);
    return MIN(i, LG_HIST_BUCKETS - 1);
}

/* The largest value that falls in bucket i. */
static guint64 hist_upper(guint i)
{
    if (i < LG_HIST_SUB)
        return i;
    guint shift = i / LG_HIST_SUB - 1;
    guint64 base = (guint64)(LG_HIST_SUB + i % LG_HIST_SUB) << shift;
    return base + ((1ull << shift) - 1);
}

void lg_hist_add(LgHist *h, guint64 v)
{
    h->count[hist_index(v)]++;
    h->n++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

guint64 lg_hist_quantile(const LgHist *h, double q)
{
    if (h->n == 0)
        return 0;
    guint64 rank = (guint64)(q * (double)h->n);
    if (rank >= h->n)
        rank = h->n - 1;
    guint64 seen = 0;
    for (guint i = 0; i < LG_HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen > rank)
            return MIN(hist_upper(i), h->max);
    }
    return h->max;
}

void lg_hist_merge(LgHist *dst, const LgHist *src)
{
    for (guint i = 0; i < LG_HIST_BUCKETS; i++)
        dst->count[i] += src->count[i];
    dst->n += src->n;
    dst->sum += src->sum;
    dst->max = MAX(dst->max, src->max);
}

void lg_seqset_init(LgSeqSet *s, guint32 nbits)
{
    s->nbits = nbits;
    s->bits = g_malloc0((nbits + 7) / 8);
}

void lg_seqset_clear(LgSeqSet *s)
{
    g_free(s->bits);
    s->bits = NULL;
    s->nbits = 0;
}

void lg_stats_init(LgStats *st, guint n_seconds)
{
    memset(st, 0, sizeof *st);
    st->n_seconds = MAX(n_seconds, 1u);
    st->sec = g_new0(LgSecond, st->n_seconds);
}

void lg_stats_clear(LgStats *st)
{
    g_free(st->sec);
    st->sec = NULL;
}

void lg_stats_merge(LgStats *dst, const LgStats *src)
{
    for (guint i = 0; i < MIN(dst->n_seconds, src->n_seconds); i++) {
        LgSecond *d = &dst->sec[i];
        const LgSecond *s = &src->sec[i];
        d->sent += s->sent;
        d->expected += s->expected;
        d->received += s->received;
        d->lat_sum += s->lat_sum;
        d->lat_max = MAX(d->lat_max, s->lat_max);
    }
    lg_hist_merge(&dst->lat, &src->lat);
    dst->sent += src->sent;
    dst->send_errors += src->send_errors;
    dst->received += src->received;
    dst->duplicates += src->duplicates;
    dst->misrouted += src->misrouted;
    dst->invalid += src->invalid;
    dst->out_of_range += src->out_of_range;
    dst->send_lag_max_us = MAX(dst->send_lag_max_us, src->send_lag_max_us);
    dst->rtcp_rx += src->rtcp_rx;
    dst->srtp_errors += src->srtp_errors;
    dst->tx_not_ready += src->tx_not_ready;
    dst->tx_srtp += src->tx_srtp;
    dst->tx_socket += src->tx_socket;
    if (src->tx_last_errno)
        dst->tx_last_errno = src->tx_last_errno;
    dst->srtp_gcm += src->srtp_gcm;
    dst->srtp_other += src->srtp_other;
}
