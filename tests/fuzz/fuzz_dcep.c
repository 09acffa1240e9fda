/* libFuzzer target: DCEP (RFC 8832) messages as they arrive on SCTP stream with PPID 50.
 *
 * Input: one SCTP message. Checks, beyond memory safety:
 *  - a parsed OPEN's label and protocol lie inside the input, right after the header;
 *  - an OPEN rebuilt from the parsed fields (label/protocol without NUL bytes) parses back
 *    to the same channel type, reliability (0 for reliable channels), label and protocol;
 *  - the ACK builder and the predicates agree with the first byte. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/dcep.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *strdup_n(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    if (n > 0)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void check_rebuild(const ChorusDcepOpen *open)
{
    if (memchr(open->label, 0, open->label_len) || memchr(open->protocol, 0, open->protocol_len))
        return; /* the builder takes C strings */
    char *label = strdup_n(open->label, open->label_len);
    char *protocol = strdup_n(open->protocol, open->protocol_len);
    size_t need = CHORUS_DCEP_OPEN_HEADER + (size_t)open->label_len + open->protocol_len;
    uint8_t *buf = malloc(need); /* exact size: ASan sees any overrun */
    CHECK(buf != NULL);
    CHECK(chorus_dcep_build_open(buf, need - 1, open->channel_type, open->reliability, label,
                                 protocol) == 0);
    size_t n =
        chorus_dcep_build_open(buf, need, open->channel_type, open->reliability, label, protocol);
    CHECK(n == need);
    ChorusDcepOpen again;
    CHECK(chorus_dcep_parse_open(buf, n, &again));
    CHECK(again.channel_type == open->channel_type);
    CHECK(again.priority == CHORUS_DCEP_PRIORITY_NORMAL);
    uint32_t want = (open->channel_type & 0x7f) == CHORUS_DCEP_RELIABLE ? 0 : open->reliability;
    CHECK(again.reliability == want);
    CHECK(again.label_len == open->label_len && again.protocol_len == open->protocol_len);
    CHECK(memcmp(again.label, label, open->label_len) == 0);
    CHECK(memcmp(again.protocol, protocol, open->protocol_len) == 0);
    free(buf);
    free(label);
    free(protocol);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes so that ASan catches reads past the message. */
    uint8_t *msg = malloc(size ? size : 1);
    if (msg == NULL)
        return 0;
    if (size > 0)
        memcpy(msg, data, size);

    ChorusDcepOpen open;
    memset(&open, 0, sizeof(open));
    bool ok = chorus_dcep_parse_open(msg, size, &open);
    if (ok) {
        CHECK(size >= CHORUS_DCEP_OPEN_HEADER && msg[0] == CHORUS_DCEP_OPEN);
        CHECK(chorus_dcep_channel_type_valid(open.channel_type));
        CHECK(open.label == msg + CHORUS_DCEP_OPEN_HEADER);
        CHECK(open.protocol == open.label + open.label_len);
        CHECK((size_t)(open.protocol + open.protocol_len - msg) <= size);
        (void)chorus_dcep_channel_ordered(open.channel_type);
        check_rebuild(&open);
    } else if (size >= 1 && msg[0] == CHORUS_DCEP_OPEN && size >= CHORUS_DCEP_OPEN_HEADER &&
               chorus_dcep_channel_type_valid(msg[1])) {
        /* Refused although the type is right: only the lengths can be at fault. */
        size_t lens = ((size_t)msg[8] << 8 | msg[9]) + ((size_t)msg[10] << 8 | msg[11]);
        CHECK(CHORUS_DCEP_OPEN_HEADER + lens > size);
    }
    CHECK(chorus_dcep_is_ack(msg, size) == (size >= 1 && msg[0] == CHORUS_DCEP_ACK));
    if (size >= 2) {
        (void)chorus_dcep_channel_ordered(msg[1]);
        (void)chorus_dcep_channel_type_valid(msg[1]);
    }
    uint8_t ack[1];
    CHECK(chorus_dcep_build_ack(ack, sizeof(ack)) == 1 && chorus_dcep_is_ack(ack, 1));
    CHECK(chorus_dcep_build_ack(ack, 0) == 0);
    free(msg);
    return 0;
}
