/* RTP fixed header parsing and validation (RFC 3550 section 5.1, 5.3.1). */
#include "media/rtp.h"

typedef struct pkt_err_name {
    int code;
    const char *name;
} pkt_err_name;

static const pkt_err_name pkt_err_names[] = {
    {CHORUS_PKT_OK, "ok"},
    {CHORUS_PKT_ETRUNC, "truncated packet"},
    {CHORUS_PKT_EVERSION, "bad version"},
    {CHORUS_PKT_EPADDING, "bad padding"},
    {CHORUS_PKT_EMALFORMED, "malformed packet"},
    {CHORUS_PKT_ENOSPACE, "output buffer too small"},
    {CHORUS_PKT_ENOTFOUND, "not found"},
    {CHORUS_PKT_EINVAL, "invalid argument"},
    {CHORUS_PKT_ETYPE, "wrong packet type"},
};

const char *chorus_pkt_strerror(int code)
{
    for (size_t i = 0; i < sizeof(pkt_err_names) / sizeof(pkt_err_names[0]); i++) {
        if (pkt_err_names[i].code == code)
            return pkt_err_names[i].name;
    }
    return "unknown error";
}

/* Parses the header extension at buf[off..len); advances *off past it. */
static int parse_extension(const uint8_t *buf, size_t len, size_t *off, chorus_rtp_packet *out)
{
    if (len - *off < 4)
        return CHORUS_PKT_ETRUNC;
    out->ext_profile = chorus_rd16(buf + *off);
    size_t ext_len = (size_t)chorus_rd16(buf + *off + 2) * 4;
    *off += 4;
    if (len - *off < ext_len)
        return CHORUS_PKT_ETRUNC;
    out->ext_data = buf + *off;
    out->ext_len = ext_len;
    *off += ext_len;
    return CHORUS_PKT_OK;
}

int chorus_rtp_parse(const uint8_t *buf, size_t len, chorus_rtp_packet *out)
{
    if (buf == NULL || out == NULL)
        return CHORUS_PKT_EINVAL;
    if (len < CHORUS_RTP_HEADER_MIN)
        return CHORUS_PKT_ETRUNC;
    out->version = buf[0] >> 6;
    if (out->version != CHORUS_RTP_VERSION)
        return CHORUS_PKT_EVERSION;
    out->padding = (buf[0] >> 5) & 1;
    out->extension = (buf[0] >> 4) & 1;
    out->csrc_count = buf[0] & 0x0f;
    out->marker = (uint8_t)chorus_rtp_get_marker(buf);
    out->payload_type = chorus_rtp_get_payload_type(buf);
    out->seq = chorus_rtp_get_seq(buf);
    out->timestamp = chorus_rtp_get_timestamp(buf);
    out->ssrc = chorus_rtp_get_ssrc(buf);

    size_t off = CHORUS_RTP_HEADER_MIN;
    if (len - off < (size_t)out->csrc_count * 4)
        return CHORUS_PKT_ETRUNC;
    for (unsigned i = 0; i < out->csrc_count; i++, off += 4)
        out->csrc[i] = chorus_rd32(buf + off);

    out->ext_profile = 0;
    out->ext_data = NULL;
    out->ext_len = 0;
    if (out->extension) {
        int rc = parse_extension(buf, len, &off, out);
        if (rc != CHORUS_PKT_OK)
            return rc;
    }
    out->header_len = off;

    size_t body = len - off;
    out->padding_len = 0;
    if (out->padding) {
        /* The last octet counts the padding, itself included (RFC 3550 5.1). */
        uint8_t pad = buf[len - 1];
        if (body == 0 || pad == 0 || pad > body)
            return CHORUS_PKT_EPADDING;
        out->padding_len = pad;
        body -= pad;
    }
    out->payload = buf + off;
    out->payload_len = body;
    return CHORUS_PKT_OK;
}

int chorus_rtp_write_header(uint8_t *buf, size_t cap, uint8_t payload_type, int marker,
                            uint16_t seq, uint32_t timestamp, uint32_t ssrc)
{
    if (buf == NULL || payload_type > 127)
        return CHORUS_PKT_EINVAL;
    if (cap < CHORUS_RTP_HEADER_MIN)
        return CHORUS_PKT_ENOSPACE;
    buf[0] = CHORUS_RTP_VERSION << 6;
    buf[1] = (uint8_t)((marker ? 0x80 : 0) | payload_type);
    chorus_rtp_set_seq(buf, seq);
    chorus_rtp_set_timestamp(buf, timestamp);
    chorus_rtp_set_ssrc(buf, ssrc);
    return CHORUS_RTP_HEADER_MIN;
}
