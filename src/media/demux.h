/* Demultiplexing of packets arriving on one ICE component (RFC 7983 first-byte ranges,
 * RFC 5761 RTP/RTCP multiplexing).
 *
 * Pure function of the bytes: no state, no allocation, never reads past len.
 */
#ifndef CHORUS_MEDIA_DEMUX_H
#define CHORUS_MEDIA_DEMUX_H

#include <stddef.h>
#include <stdint.h>

typedef enum chorus_demux_kind {
    CHORUS_DEMUX_UNKNOWN = 0, /* empty, ZRTP, TURN channel, or anything else */
    CHORUS_DEMUX_STUN,        /* first byte 0..3 */
    CHORUS_DEMUX_DTLS,        /* first byte 20..63 */
    CHORUS_DEMUX_RTP,         /* first byte 128..191, second byte not an RTCP type */
    CHORUS_DEMUX_RTCP,        /* first byte 128..191, packet type 192..223 */
} chorus_demux_kind;

/* Classifies a packet by its first byte (RFC 7983), then splits RTP from RTCP by the
 * second byte (RFC 5761: with the marker bit masked off, 64..95 means RTCP, i.e. RTCP
 * packet types 192..223). An RTP/RTCP-range packet shorter than the minimal header
 * (12 bytes for RTP, 4 for RTCP) is CHORUS_DEMUX_UNKNOWN. */
chorus_demux_kind chorus_demux_classify(const uint8_t *buf, size_t len);

/* Static name of a kind ("stun", "dtls", "rtp", "rtcp", "unknown"). */
const char *chorus_demux_kind_name(chorus_demux_kind kind);

#endif
