/* chorus-loadgen: Opus packet ring and packet stamps (see lg_audio.h). */
#include "lg_audio.h"

#include <gio/gio.h>
#include <math.h>
#include <opus/opus.h>
#include <string.h>

#include "media/rtp.h"

#define SAMPLE_RATE 48000
#define FRAME       960 /* 20 ms */
#define MAX_PACKET  400

void lg_stamp_write(guint8 *payload, size_t len, const LgStamp *stamp)
{
    guint8 *p = payload + len - LG_STAMP_LEN;
    chorus_wr32(p, LG_STAMP_MAGIC);
    chorus_wr32(p + 4, stamp->sender);
    chorus_wr32(p + 8, stamp->seq);
    chorus_wr32(p + 12, (uint32_t)((guint64)stamp->send_us >> 32));
    chorus_wr32(p + 16, (uint32_t)stamp->send_us);
}

gboolean lg_stamp_read(const guint8 *payload, size_t len, LgStamp *out)
{
    if (len < LG_STAMP_LEN)
        return FALSE;
    const guint8 *p = payload + len - LG_STAMP_LEN;
    if (chorus_rd32(p) != LG_STAMP_MAGIC)
        return FALSE;
    out->sender = chorus_rd32(p + 4);
    out->seq = chorus_rd32(p + 8);
    out->send_us = (gint64)(((guint64)chorus_rd32(p + 12) << 32) | chorus_rd32(p + 16));
    return TRUE;
}

/* 20 ms of a 440 Hz tone with a 2 Hz tremolo and a little noise, from sample t0. */
static void make_frame(opus_int16 *pcm, guint64 t0, guint32 *noise)
{
    for (guint i = 0; i < FRAME; i++) {
        double t = (double)(t0 + i) / SAMPLE_RATE;
        double env = 0.55 + 0.45 * sin(2 * G_PI * 2.0 * t);
        *noise = *noise * 1664525u + 1013904223u;
        double n = ((double)(*noise >> 16) / 65536.0 - 0.5) * 0.04;
        pcm[i] = (opus_int16)(12000.0 * (env * sin(2 * G_PI * 440.0 * t) + n));
    }
}

/* Decodes pkt into pcm with a fresh decoder; the sample count or a libopus error. */
static int decode_once(const guint8 *pkt, size_t len, opus_int16 *pcm, int cap)
{
    int err = 0;
    OpusDecoder *dec = opus_decoder_create(SAMPLE_RATE, 1, &err);
    if (!dec)
        return err;
    int n = opus_decode(dec, pkt, (opus_int32)len, pcm, cap, 0);
    opus_decoder_destroy(dec);
    return n;
}

/* Proves the stamp lands in the padding only: the stamped packet still decodes, to
 * exactly the same samples as the unstamped one. */
static gboolean check_stamp_in_padding(const guint8 *pkt, size_t len, GError **error)
{
    guint8 copy[MAX_PACKET + LG_STAMP_LEN + 8];
    opus_int16 plain[FRAME * 6], stamped[FRAME * 6];
    memcpy(copy, pkt, len);
    LgStamp s = {.sender = 0xffffffffu, .seq = 0x12345678u, .send_us = G_MAXINT64};
    lg_stamp_write(copy, len, &s);
    int a = decode_once(pkt, len, plain, FRAME * 6);
    int b = decode_once(copy, len, stamped, FRAME * 6);
    if (a != FRAME || b != FRAME || memcmp(plain, stamped, sizeof(opus_int16) * FRAME) != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "a stamped Opus packet does not decode like the original (%s)",
                    b < 0 ? opus_strerror(b) : "different samples");
        return FALSE;
    }
    return TRUE;
}

static gboolean encode_ring(LgOpusRing *ring, OpusEncoder *enc, GError **error)
{
    opus_int16 pcm[FRAME];
    guint32 noise = 12345;
    for (guint i = 0; i < ring->n; i++) {
        guint8 *dst = ring->data + (gsize)i * ring->stride;
        make_frame(pcm, (guint64)i * FRAME, &noise);
        opus_int32 n = opus_encode(enc, pcm, FRAME, dst, MAX_PACKET);
        if (n <= 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "opus_encode: %s", opus_strerror(n));
            return FALSE;
        }
        /* Padding of a code 3 packet: its length byte(s) plus the stamp room. */
        opus_int32 padded = n + LG_STAMP_LEN + 2;
        int r = opus_packet_pad(dst, n, padded);
        if (r != OPUS_OK) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "opus_packet_pad: %s",
                        opus_strerror(r));
            return FALSE;
        }
        ring->len[i] = (guint16)padded;
        ring->total += (guint64)padded;
    }
    return TRUE;
}

gboolean lg_opus_ring_init(LgOpusRing *ring, guint n, int bitrate, GError **error)
{
    int err = 0;
    memset(ring, 0, sizeof *ring);
    OpusEncoder *enc = opus_encoder_create(SAMPLE_RATE, 1, OPUS_APPLICATION_VOIP, &err);
    if (!enc) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "opus encoder: %s", opus_strerror(err));
        return FALSE;
    }
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(bitrate));
    ring->n = n ? n : 1;
    ring->stride = MAX_PACKET + LG_STAMP_LEN + 8;
    ring->data = g_malloc0((gsize)ring->n * ring->stride);
    ring->len = g_new0(guint16, ring->n);
    gboolean ok =
        encode_ring(ring, enc, error) && check_stamp_in_padding(ring->data, ring->len[0], error);
    opus_encoder_destroy(enc);
    if (!ok)
        lg_opus_ring_clear(ring);
    return ok;
}

void lg_opus_ring_clear(LgOpusRing *ring)
{
    g_free(ring->data);
    g_free(ring->len);
    memset(ring, 0, sizeof *ring);
}
