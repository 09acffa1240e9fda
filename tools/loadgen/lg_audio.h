/* chorus-loadgen: the audio every simulated speaker sends, and the stamp each packet
 * carries.
 *
 * Audio: a ring of real Opus packets (libopus, 48 kHz mono, 20 ms frames) encoded once
 * at start from a 440 Hz tone with a slow tremolo and a little noise; nothing is
 * encoded at run time.
 *
 * Stamp: every packet is padded with Opus's own packet padding (RFC 6716 section 3.2.5,
 * opus_packet_pad: a code 3 packet whose trailing padding bytes a decoder ignores), and
 * the last LG_STAMP_LEN bytes of that padding carry
 *     magic "CLG1" (4) | sender participant id (4) | sender sequence (4) |
 *     send time, g_get_monotonic_time() in µs (8)            all big-endian.
 * So the packet stays a valid Opus packet a real client can decode, and the receiver
 * measures one-way latency through the server with the process's monotonic clock. */
#ifndef LG_AUDIO_H
#define LG_AUDIO_H

#include <glib.h>

#define LG_STAMP_LEN   20
#define LG_STAMP_MAGIC 0x434c4731u /* "CLG1" */

typedef struct {
    guint32 sender;
    guint32 seq;
    gint64 send_us;
} LgStamp;

/* Writes the stamp into the last LG_STAMP_LEN bytes of payload (len >= LG_STAMP_LEN). */
void lg_stamp_write(guint8 *payload, size_t len, const LgStamp *stamp);
/* Reads the stamp from the end of a received payload; FALSE if absent. */
gboolean lg_stamp_read(const guint8 *payload, size_t len, LgStamp *out);

typedef struct {
    guint n;       /* packets in the ring */
    guint stride;  /* bytes reserved per packet */
    guint8 *data;  /* n * stride bytes */
    guint16 *len;  /* packet lengths (padding and stamp room included) */
    guint64 total; /* sum of lengths, for the mean size */
} LgOpusRing;

/* Encodes n packets of 20 ms (bitrate in bit/s) and pads each for the stamp; checks
 * that a stamped packet still decodes. FALSE with *error if libopus refuses. */
gboolean lg_opus_ring_init(LgOpusRing *ring, guint n, int bitrate, GError **error);
void lg_opus_ring_clear(LgOpusRing *ring);
static inline const guint8 *lg_opus_ring_get(const LgOpusRing *r, guint i, size_t *len)
{
    guint k = i % r->n;
    *len = r->len[k];
    return r->data + (gsize)k * r->stride;
}

#endif
