/* RTP header extensions (RFC 8285, formerly RFC 5285): one-byte (0xBEDE) and two-byte
 * (0x100x) forms. Iterate, find by id, typed readers for the extensions Chorus uses,
 * and in-place writers.
 *
 * Pure packet code: no allocation, no I/O. Element data pointers BORROW the packet
 * buffer. The id -> extension URI mapping (a=extmap) is the caller's business: every
 * function takes the negotiated local id.
 *
 * Typed readers and their wire formats:
 *   ssrc-audio-level  (RFC 6464)          1 byte: V flag (bit 7) + level 0..127 (-dBov)
 *   sdes:mid / rid    (RFC 8843, RFC 8852) 1..255 bytes of printable ASCII
 *   abs-send-time     (webrtc)            3 bytes: 6.18 fixed-point seconds
 *   transport-wide-cc (draft-holmer)      2 bytes: transport-wide sequence number
 */
#ifndef CHORUS_MEDIA_RTP_EXT_H
#define CHORUS_MEDIA_RTP_EXT_H

#include <stddef.h>
#include <stdint.h>

#include "media/rtp.h"

#define CHORUS_RTP_EXT_PROFILE_ONE_BYTE 0xBEDE
#define CHORUS_RTP_EXT_PROFILE_TWO_BYTE 0x1000 /* low 4 bits are "appbits" */

/* One extension element. data/len are the value; hdr points at the element's own
 * header byte(s) (hdr_len is 1 in the one-byte form, 2 in the two-byte form). */
typedef struct chorus_rtp_ext_elem {
    uint8_t id;
    uint8_t hdr_len;
    uint16_t len; /* 1..16 (one-byte form), 0..255 (two-byte form) */
    const uint8_t *hdr;
    const uint8_t *data;
} chorus_rtp_ext_elem;

/* Iterator state, caller-allocated (e.g. on the stack). Borrows the extension block. */
typedef struct chorus_rtp_ext_iter {
    const uint8_t *data;
    size_t len;
    size_t pos;
    uint8_t two_byte;
    uint8_t done;
} chorus_rtp_ext_iter;

/* Starts iterating an extension block (profile value + body, as in chorus_rtp_packet).
 * Returns CHORUS_PKT_OK, or CHORUS_PKT_ETYPE for a profile that is neither form. */
int chorus_rtp_ext_iter_init(chorus_rtp_ext_iter *it, uint16_t profile, const uint8_t *data,
                             size_t len);

/* Same, from a parsed packet. CHORUS_PKT_ENOTFOUND if the packet has no extension. */
int chorus_rtp_ext_iter_init_packet(chorus_rtp_ext_iter *it, const chorus_rtp_packet *pkt);

/* Next element: returns 1 and fills *out, 0 at the end (padding and an id-15 element in
 * the one-byte form end the list), or CHORUS_PKT_ETRUNC if an element's length runs
 * past the block. Padding bytes (0) are skipped. */
int chorus_rtp_ext_next(chorus_rtp_ext_iter *it, chorus_rtp_ext_elem *out);

/* Finds the first element with this id (1..14 one-byte, 1..255 two-byte).
 * Returns CHORUS_PKT_OK, CHORUS_PKT_ENOTFOUND, or a parse error. */
int chorus_rtp_ext_find(const chorus_rtp_packet *pkt, uint8_t id, chorus_rtp_ext_elem *out);

/* ---- Typed readers: CHORUS_PKT_OK or CHORUS_PKT_EMALFORMED (wrong length/content). */

/* RFC 6464: *voice = 0/1, *level = 0..127 (-dBov; 127 = silence). */
int chorus_rtp_ext_read_audio_level(const chorus_rtp_ext_elem *e, int *voice, uint8_t *level);

/* sdes:mid, rid, repaired-rid: copies the value into out (cap bytes) and
 * NUL-terminates it. CHORUS_PKT_ENOSPACE if cap < len + 1; CHORUS_PKT_EMALFORMED if
 * empty or not printable ASCII (0x21..0x7e). */
int chorus_rtp_ext_read_string(const chorus_rtp_ext_elem *e, char *out, size_t cap);

/* abs-send-time: the raw 24-bit value (seconds in 6.18 fixed point). */
int chorus_rtp_ext_read_abs_send_time(const chorus_rtp_ext_elem *e, uint32_t *ast24);

/* transport-wide-cc sequence number. */
int chorus_rtp_ext_read_twcc_seq(const chorus_rtp_ext_elem *e, uint16_t *seq);

/* ---- In-place writers on a whole RTP packet (pkt/len as received; pkt is modified). */

/* Overwrites the value of extension `id` with value_len bytes. The element must exist
 * and have exactly value_len bytes (CHORUS_PKT_EINVAL otherwise): the packet never
 * changes size. Returns CHORUS_PKT_OK or an error. */
int chorus_rtp_ext_write(uint8_t *pkt, size_t len, uint8_t id, const uint8_t *value,
                         size_t value_len);

int chorus_rtp_ext_write_audio_level(uint8_t *pkt, size_t len, uint8_t id, int voice,
                                     uint8_t level);
int chorus_rtp_ext_write_abs_send_time(uint8_t *pkt, size_t len, uint8_t id, uint32_t ast24);
int chorus_rtp_ext_write_twcc_seq(uint8_t *pkt, size_t len, uint8_t id, uint16_t seq);

/* Turns every element with this id (header and value) into padding bytes (zeros), so
 * receivers skip it; the packet keeps its size. CHORUS_PKT_ENOTFOUND if absent. */
int chorus_rtp_ext_strip(uint8_t *pkt, size_t len, uint8_t id);

/* Converts abs-send-time to microseconds within its 64-second wrap period. */
static inline uint64_t chorus_abs_send_time_to_us(uint32_t ast24)
{
    return ((uint64_t)(ast24 & 0xffffff) * 1000000u) >> 18;
}

#endif
