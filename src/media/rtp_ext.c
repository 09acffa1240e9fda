/* RTP header extensions, RFC 8285 one-byte and two-byte forms. */
#include "media/rtp_ext.h"

#include <string.h>

int chorus_rtp_ext_iter_init(chorus_rtp_ext_iter *it, uint16_t profile, const uint8_t *data,
                             size_t len)
{
    if (it == NULL || (data == NULL && len > 0))
        return CHORUS_PKT_EINVAL;
    if (profile == CHORUS_RTP_EXT_PROFILE_ONE_BYTE)
        it->two_byte = 0;
    else if ((profile & 0xfff0) == CHORUS_RTP_EXT_PROFILE_TWO_BYTE)
        it->two_byte = 1;
    else
        return CHORUS_PKT_ETYPE;
    it->data = data;
    it->len = len;
    it->pos = 0;
    it->done = 0;
    return CHORUS_PKT_OK;
}

int chorus_rtp_ext_iter_init_packet(chorus_rtp_ext_iter *it, const chorus_rtp_packet *pkt)
{
    if (pkt == NULL)
        return CHORUS_PKT_EINVAL;
    if (!pkt->extension)
        return CHORUS_PKT_ENOTFOUND;
    return chorus_rtp_ext_iter_init(it, pkt->ext_profile, pkt->ext_data, pkt->ext_len);
}

/* Reads the element header at it->pos into out (id, hdr_len, len); returns 1, 0 at an
 * id-15 terminator, or CHORUS_PKT_ETRUNC. */
static int read_elem_header(chorus_rtp_ext_iter *it, chorus_rtp_ext_elem *out)
{
    const uint8_t *p = it->data + it->pos;
    size_t left = it->len - it->pos;
    if (!it->two_byte) {
        out->id = p[0] >> 4;
        if (out->id == 15)
            return 0; /* reserved: stop processing (RFC 8285 4.2) */
        out->hdr_len = 1;
        out->len = (uint16_t)((p[0] & 0x0f) + 1);
    } else {
        if (left < 2)
            return CHORUS_PKT_ETRUNC;
        out->id = p[0];
        out->hdr_len = 2;
        out->len = p[1];
    }
    if (left - out->hdr_len < out->len)
        return CHORUS_PKT_ETRUNC;
    out->hdr = p;
    out->data = p + out->hdr_len;
    return 1;
}

int chorus_rtp_ext_next(chorus_rtp_ext_iter *it, chorus_rtp_ext_elem *out)
{
    if (it == NULL || out == NULL)
        return CHORUS_PKT_EINVAL;
    /* Padding: a zero byte in the two-byte form; in the one-byte form any byte with ID 0,
     * whatever its length nibble (ID 0 is reserved for padding, RFC 8285 4.2, and
     * libwebrtc skips such a byte alone rather than reading an element). */
    while (!it->done && it->pos < it->len &&
           (it->two_byte ? it->data[it->pos] == 0 : (it->data[it->pos] >> 4) == 0))
        it->pos++;
    if (it->done || it->pos >= it->len)
        return 0;
    int rc = read_elem_header(it, out);
    if (rc <= 0) {
        it->done = 1;
        return rc;
    }
    it->pos += (size_t)out->hdr_len + out->len;
    return 1;
}

int chorus_rtp_ext_find(const chorus_rtp_packet *pkt, uint8_t id, chorus_rtp_ext_elem *out)
{
    chorus_rtp_ext_iter it;
    chorus_rtp_ext_elem e;
    if (out == NULL || id == 0)
        return CHORUS_PKT_EINVAL;
    int rc = chorus_rtp_ext_iter_init_packet(&it, pkt);
    if (rc != CHORUS_PKT_OK)
        return rc;
    while ((rc = chorus_rtp_ext_next(&it, &e)) > 0) {
        if (e.id == id) {
            *out = e;
            return CHORUS_PKT_OK;
        }
    }
    return rc < 0 ? rc : CHORUS_PKT_ENOTFOUND;
}

int chorus_rtp_ext_read_audio_level(const chorus_rtp_ext_elem *e, int *voice, uint8_t *level)
{
    if (e == NULL || voice == NULL || level == NULL)
        return CHORUS_PKT_EINVAL;
    if (e->len != 1)
        return CHORUS_PKT_EMALFORMED;
    *voice = (e->data[0] >> 7) & 1;
    *level = e->data[0] & 0x7f;
    return CHORUS_PKT_OK;
}

int chorus_rtp_ext_read_string(const chorus_rtp_ext_elem *e, char *out, size_t cap)
{
    if (e == NULL || out == NULL)
        return CHORUS_PKT_EINVAL;
    if (e->len == 0)
        return CHORUS_PKT_EMALFORMED;
    if (cap < (size_t)e->len + 1)
        return CHORUS_PKT_ENOSPACE;
    for (size_t i = 0; i < e->len; i++) {
        if (e->data[i] < 0x21 || e->data[i] > 0x7e)
            return CHORUS_PKT_EMALFORMED;
    }
    memcpy(out, e->data, e->len);
    out[e->len] = '\0';
    return CHORUS_PKT_OK;
}

int chorus_rtp_ext_read_abs_send_time(const chorus_rtp_ext_elem *e, uint32_t *ast24)
{
    if (e == NULL || ast24 == NULL)
        return CHORUS_PKT_EINVAL;
    if (e->len != 3)
        return CHORUS_PKT_EMALFORMED;
    *ast24 = chorus_rd24(e->data);
    return CHORUS_PKT_OK;
}

int chorus_rtp_ext_read_twcc_seq(const chorus_rtp_ext_elem *e, uint16_t *seq)
{
    if (e == NULL || seq == NULL)
        return CHORUS_PKT_EINVAL;
    if (e->len != 2)
        return CHORUS_PKT_EMALFORMED;
    *seq = chorus_rd16(e->data);
    return CHORUS_PKT_OK;
}

/* Parses pkt and finds extension `id`; returns its offsets within pkt. */
static int locate(const uint8_t *pkt, size_t len, uint8_t id, chorus_rtp_ext_elem *e)
{
    chorus_rtp_packet p;
    int rc = chorus_rtp_parse(pkt, len, &p);
    if (rc != CHORUS_PKT_OK)
        return rc;
    return chorus_rtp_ext_find(&p, id, e);
}

int chorus_rtp_ext_write(uint8_t *pkt, size_t len, uint8_t id, const uint8_t *value,
                         size_t value_len)
{
    chorus_rtp_ext_elem e;
    if (pkt == NULL || (value == NULL && value_len > 0))
        return CHORUS_PKT_EINVAL;
    int rc = locate(pkt, len, id, &e);
    if (rc != CHORUS_PKT_OK)
        return rc;
    if (e.len != value_len)
        return CHORUS_PKT_EINVAL;
    /* e.data points into pkt (borrowed as const): write through the mutable base. */
    memcpy(pkt + (e.data - pkt), value, value_len);
    return CHORUS_PKT_OK;
}

int chorus_rtp_ext_write_audio_level(uint8_t *pkt, size_t len, uint8_t id, int voice, uint8_t level)
{
    if (level > 127)
        return CHORUS_PKT_EINVAL;
    uint8_t v = (uint8_t)((voice ? 0x80 : 0) | level);
    return chorus_rtp_ext_write(pkt, len, id, &v, 1);
}

int chorus_rtp_ext_write_abs_send_time(uint8_t *pkt, size_t len, uint8_t id, uint32_t ast24)
{
    uint8_t v[3];
    chorus_wr24(v, ast24 & 0xffffff);
    return chorus_rtp_ext_write(pkt, len, id, v, sizeof(v));
}

int chorus_rtp_ext_write_twcc_seq(uint8_t *pkt, size_t len, uint8_t id, uint16_t seq)
{
    uint8_t v[2];
    chorus_wr16(v, seq);
    return chorus_rtp_ext_write(pkt, len, id, v, sizeof(v));
}

int chorus_rtp_ext_strip(uint8_t *pkt, size_t len, uint8_t id)
{
    chorus_rtp_packet p;
    chorus_rtp_ext_iter it;
    chorus_rtp_ext_elem e;
    int found = 0;
    if (pkt == NULL || id == 0)
        return CHORUS_PKT_EINVAL;
    int rc = chorus_rtp_parse(pkt, len, &p);
    if (rc == CHORUS_PKT_OK)
        rc = chorus_rtp_ext_iter_init_packet(&it, &p);
    if (rc != CHORUS_PKT_OK)
        return rc;
    /* Validate the whole block first so a malformed packet is left untouched. */
    while ((rc = chorus_rtp_ext_next(&it, &e)) > 0)
        ;
    if (rc < 0)
        return rc;
    chorus_rtp_ext_iter_init_packet(&it, &p);
    while (chorus_rtp_ext_next(&it, &e) > 0) {
        if (e.id == id) {
            /* Zeroing is safe mid-iteration: the iterator already moved past e. */
            memset(pkt + (e.hdr - pkt), 0, (size_t)e.hdr_len + e.len);
            found = 1;
        }
    }
    return found ? CHORUS_PKT_OK : CHORUS_PKT_ENOTFOUND;
}
