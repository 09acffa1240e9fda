/* RFC 7983 / RFC 5761 packet demultiplexing. */
#include "media/demux.h"

#include "media/rtp.h"

/* RTCP header: 4 bytes (V/P/count, PT, length). */
#define RTCP_HEADER_MIN 4

static chorus_demux_kind classify_rtp_range(const uint8_t *buf, size_t len)
{
    if (len < 2)
        return CHORUS_DEMUX_UNKNOWN;
    uint8_t pt = buf[1] & 0x7f;
    if (pt >= 64 && pt <= 95)
        return len >= RTCP_HEADER_MIN ? CHORUS_DEMUX_RTCP : CHORUS_DEMUX_UNKNOWN;
    return len >= CHORUS_RTP_HEADER_MIN ? CHORUS_DEMUX_RTP : CHORUS_DEMUX_UNKNOWN;
}

chorus_demux_kind chorus_demux_classify(const uint8_t *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return CHORUS_DEMUX_UNKNOWN;
    uint8_t b = buf[0];
    if (b <= 3)
        return CHORUS_DEMUX_STUN;
    if (b >= 20 && b <= 63)
        return CHORUS_DEMUX_DTLS;
    if (b >= 128 && b <= 191)
        return classify_rtp_range(buf, len);
    return CHORUS_DEMUX_UNKNOWN;
}

static const char *const kind_names[] = {
    [CHORUS_DEMUX_UNKNOWN] = "unknown", [CHORUS_DEMUX_STUN] = "stun", [CHORUS_DEMUX_DTLS] = "dtls",
    [CHORUS_DEMUX_RTP] = "rtp",         [CHORUS_DEMUX_RTCP] = "rtcp",
};

const char *chorus_demux_kind_name(chorus_demux_kind kind)
{
    if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
        return "unknown";
    return kind_names[kind];
}
