/* DCEP (RFC 8832) message parse/build. Pure functions over caller buffers: no
 * allocation, no global state, safe on any thread and on hostile input.
 *
 * DATA_CHANNEL_OPEN layout (network byte order):
 *   0      message type (0x03)
 *   1      channel type
 *   2..3   priority
 *   4..7   reliability parameter
 *   8..9   label length
 *   10..11 protocol length
 *   12..   label, then protocol (no padding, no NUL) */
#include "media/dcep.h"

#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

bool chorus_dcep_channel_type_valid(uint8_t channel_type)
{
    switch (channel_type & 0x7f) {
    case CHORUS_DCEP_RELIABLE:
    case CHORUS_DCEP_PARTIAL_RELIABLE_REXMIT:
    case CHORUS_DCEP_PARTIAL_RELIABLE_TIMED:
        return true;
    default:
        return false;
    }
}

bool chorus_dcep_channel_ordered(uint8_t channel_type)
{
    return (channel_type & 0x80) == 0;
}

bool chorus_dcep_parse_open(const uint8_t *buf, size_t len, ChorusDcepOpen *out)
{
    if (!buf || !out || len < CHORUS_DCEP_OPEN_HEADER)
        return false;
    if (buf[0] != CHORUS_DCEP_OPEN || !chorus_dcep_channel_type_valid(buf[1]))
        return false;
    uint16_t label_len = rd16(buf + 8);
    uint16_t protocol_len = rd16(buf + 10);
    /* Sizes are at most 12 + 2 * 65535: no overflow in size_t. Trailing bytes after
     * the protocol are tolerated (nothing may follow it, but they are harmless). */
    if ((size_t)CHORUS_DCEP_OPEN_HEADER + label_len + protocol_len > len)
        return false;
    out->channel_type = buf[1];
    out->priority = rd16(buf + 2);
    out->reliability = rd32(buf + 4);
    out->label_len = label_len;
    out->label = buf + CHORUS_DCEP_OPEN_HEADER;
    out->protocol_len = protocol_len;
    out->protocol = buf + CHORUS_DCEP_OPEN_HEADER + label_len;
    return true;
}

size_t chorus_dcep_build_open(uint8_t *buf, size_t cap, uint8_t channel_type, uint32_t reliability,
                              const char *label, const char *protocol)
{
    size_t label_len = label ? strlen(label) : 0;
    size_t protocol_len = protocol ? strlen(protocol) : 0;
    if (!buf || label_len > UINT16_MAX || protocol_len > UINT16_MAX ||
        !chorus_dcep_channel_type_valid(channel_type))
        return 0;
    size_t total = CHORUS_DCEP_OPEN_HEADER + label_len + protocol_len;
    if (total > cap)
        return 0;
    /* Reliable channels carry no reliability parameter (RFC 8832 section 5.1). */
    if ((channel_type & 0x7f) == CHORUS_DCEP_RELIABLE)
        reliability = 0;
    buf[0] = CHORUS_DCEP_OPEN;
    buf[1] = channel_type;
    wr16(buf + 2, CHORUS_DCEP_PRIORITY_NORMAL);
    wr32(buf + 4, reliability);
    wr16(buf + 8, (uint16_t)label_len);
    wr16(buf + 10, (uint16_t)protocol_len);
    if (label_len)
        memcpy(buf + CHORUS_DCEP_OPEN_HEADER, label, label_len);
    if (protocol_len)
        memcpy(buf + CHORUS_DCEP_OPEN_HEADER + label_len, protocol, protocol_len);
    return total;
}

size_t chorus_dcep_build_ack(uint8_t *buf, size_t cap)
{
    if (!buf || cap < 1)
        return 0;
    buf[0] = CHORUS_DCEP_ACK;
    return 1;
}

bool chorus_dcep_is_ack(const uint8_t *buf, size_t len)
{
    return buf && len >= 1 && buf[0] == CHORUS_DCEP_ACK;
}
