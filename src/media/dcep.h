/* DCEP (RFC 8832): the Data Channel Establishment Protocol messages, pure parse and
 * build (fuzzable). SCTP payload protocol identifiers (RFC 8831) too. */
#ifndef CHORUS_MEDIA_DCEP_H
#define CHORUS_MEDIA_DCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHORUS_PPID_DCEP         50
#define CHORUS_PPID_STRING       51
#define CHORUS_PPID_BINARY       53
#define CHORUS_PPID_STRING_EMPTY 56
#define CHORUS_PPID_BINARY_EMPTY 57

#define CHORUS_DCEP_OPEN 0x03
#define CHORUS_DCEP_ACK  0x02

/* Channel types (RFC 8832 section 5.1). */
#define CHORUS_DCEP_RELIABLE                0x00
#define CHORUS_DCEP_RELIABLE_UNORDERED      0x80
#define CHORUS_DCEP_PARTIAL_RELIABLE_REXMIT 0x01
#define CHORUS_DCEP_PARTIAL_RELIABLE_TIMED  0x02

typedef struct {
    uint8_t channel_type;
    uint16_t priority;
    uint32_t reliability;
    const uint8_t *label; /* points into the parsed buffer (borrowed), not NUL-terminated */
    uint16_t label_len;
    const uint8_t *protocol;
    uint16_t protocol_len;
} ChorusDcepOpen;

/* Parses a DATA_CHANNEL_OPEN; false if malformed (lengths beyond the buffer...). */
bool chorus_dcep_parse_open(const uint8_t *buf, size_t len, ChorusDcepOpen *out);
/* Builds an OPEN into buf; returns its length, or 0 if cap is too small. */
size_t chorus_dcep_build_open(uint8_t *buf, size_t cap, uint8_t channel_type, uint32_t reliability,
                              const char *label, const char *protocol);
/* The one-byte ACK. */
size_t chorus_dcep_build_ack(uint8_t *buf, size_t cap);
bool chorus_dcep_channel_ordered(uint8_t channel_type);

/* Additions. Header size of an OPEN (before label and protocol). */
#define CHORUS_DCEP_OPEN_HEADER 12
/* Default priority written by chorus_dcep_build_open ("normal", RFC 8831 section 6.4). */
#define CHORUS_DCEP_PRIORITY_NORMAL 256

/* True if buf is a DATA_CHANNEL_ACK (message type 0x02; trailing bytes are tolerated). */
bool chorus_dcep_is_ack(const uint8_t *buf, size_t len);
/* True for the six channel types RFC 8832 defines (reliable/rexmit/timed, each ordered
 * or unordered). */
bool chorus_dcep_channel_type_valid(uint8_t channel_type);

#endif
