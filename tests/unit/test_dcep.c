/* Unit tests: DCEP (RFC 8832) OPEN/ACK parse and build. */
#include <glib.h>
#include <string.h>

#include "media/dcep.h"

#ifndef DCEP_CORPUS_DIR
#define DCEP_CORPUS_DIR "tests/fuzz/corpus/dcep"
#endif

/* OPEN, reliable ordered, priority 256, label "chat", empty protocol. */
static const uint8_t open_chat[] = {0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x04, 0x00, 0x00, 'c',  'h',  'a',  't'};

/* OPEN, partial reliable (max 3 retransmits) unordered, priority 512, label "rt",
 * protocol "json". */
static const uint8_t open_rexmit[] = {0x03, 0x81, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00,
                                      0x02, 0x00, 0x04, 'r',  't',  'j',  's',  'o',  'n'};

static void test_parse_known(void)
{
    ChorusDcepOpen op;
    g_assert_true(chorus_dcep_parse_open(open_chat, sizeof(open_chat), &op));
    g_assert_cmphex(op.channel_type, ==, CHORUS_DCEP_RELIABLE);
    g_assert_cmpuint(op.priority, ==, 256);
    g_assert_cmpuint(op.reliability, ==, 0);
    g_assert_cmpuint(op.label_len, ==, 4);
    g_assert_cmpmem(op.label, op.label_len, "chat", 4);
    g_assert_cmpuint(op.protocol_len, ==, 0);
    g_assert_true(op.label == open_chat + 12); /* borrowed from the buffer */
    g_assert_true(chorus_dcep_channel_ordered(op.channel_type));

    g_assert_true(chorus_dcep_parse_open(open_rexmit, sizeof(open_rexmit), &op));
    g_assert_cmphex(op.channel_type, ==, 0x81);
    g_assert_cmpuint(op.priority, ==, 512);
    g_assert_cmpuint(op.reliability, ==, 3);
    g_assert_cmpmem(op.label, op.label_len, "rt", 2);
    g_assert_cmpmem(op.protocol, op.protocol_len, "json", 4);
    g_assert_false(chorus_dcep_channel_ordered(op.channel_type));
}

static void test_build_known(void)
{
    uint8_t buf[64];
    size_t n = chorus_dcep_build_open(buf, sizeof(buf), CHORUS_DCEP_RELIABLE, 0, "chat", "");
    g_assert_cmpmem(buf, n, open_chat, sizeof(open_chat));
    /* Exactly enough room, then one byte short. */
    g_assert_cmpuint(chorus_dcep_build_open(buf, sizeof(open_chat), 0, 0, "chat", NULL), ==,
                     sizeof(open_chat));
    g_assert_cmpuint(chorus_dcep_build_open(buf, sizeof(open_chat) - 1, 0, 0, "chat", ""), ==, 0);
    /* Unknown channel type. */
    g_assert_cmpuint(chorus_dcep_build_open(buf, sizeof(buf), 0x03, 0, "x", ""), ==, 0);
}

static void test_round_trip(void)
{
    static const struct {
        uint8_t type;
        uint32_t rel;
        const char *label, *protocol;
    } cases[] = {
        {CHORUS_DCEP_RELIABLE, 0, "chat", ""},
        {CHORUS_DCEP_RELIABLE_UNORDERED, 0, "", "proto"},
        {CHORUS_DCEP_PARTIAL_RELIABLE_REXMIT, 7, "rexmit", "a"},
        {CHORUS_DCEP_PARTIAL_RELIABLE_TIMED | 0x80, 1500, "timed \xc3\xa9", "json"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint8_t buf[128];
        size_t n = chorus_dcep_build_open(buf, sizeof(buf), cases[i].type, cases[i].rel,
                                          cases[i].label, cases[i].protocol);
        g_assert_cmpuint(n, ==, 12 + strlen(cases[i].label) + strlen(cases[i].protocol));
        ChorusDcepOpen op;
        g_assert_true(chorus_dcep_parse_open(buf, n, &op));
        g_assert_cmphex(op.channel_type, ==, cases[i].type);
        g_assert_cmpuint(op.reliability, ==, cases[i].rel);
        g_assert_cmpuint(op.priority, ==, CHORUS_DCEP_PRIORITY_NORMAL);
        g_assert_cmpmem(op.label, op.label_len, cases[i].label, strlen(cases[i].label));
        g_assert_cmpmem(op.protocol, op.protocol_len, cases[i].protocol, strlen(cases[i].protocol));
    }
    /* A reliable channel carries no reliability parameter. */
    uint8_t buf[32];
    size_t n = chorus_dcep_build_open(buf, sizeof(buf), CHORUS_DCEP_RELIABLE, 99, "a", "");
    ChorusDcepOpen op;
    g_assert_true(chorus_dcep_parse_open(buf, n, &op));
    g_assert_cmpuint(op.reliability, ==, 0);
}

static void test_malformed(void)
{
    ChorusDcepOpen op;
    uint8_t buf[sizeof(open_chat)];
    /* Every truncation of a valid OPEN fails (header, then label). */
    for (size_t len = 0; len < sizeof(open_chat); len++)
        g_assert_false(chorus_dcep_parse_open(open_chat, len, &op));
    g_assert_false(chorus_dcep_parse_open(NULL, 0, &op));
    /* Label length beyond the buffer. */
    memcpy(buf, open_chat, sizeof(buf));
    buf[9] = 5;
    g_assert_false(chorus_dcep_parse_open(buf, sizeof(buf), &op));
    buf[8] = 0xff;
    buf[9] = 0xff;
    g_assert_false(chorus_dcep_parse_open(buf, sizeof(buf), &op));
    /* Protocol length beyond the buffer. */
    memcpy(buf, open_chat, sizeof(buf));
    buf[11] = 1;
    g_assert_false(chorus_dcep_parse_open(buf, sizeof(buf), &op));
    /* Wrong message type (an ACK, an unknown one). */
    memcpy(buf, open_chat, sizeof(buf));
    buf[0] = CHORUS_DCEP_ACK;
    g_assert_false(chorus_dcep_parse_open(buf, sizeof(buf), &op));
    buf[0] = 0x04;
    g_assert_false(chorus_dcep_parse_open(buf, sizeof(buf), &op));
    /* Unknown channel type. */
    memcpy(buf, open_chat, sizeof(buf));
    buf[1] = 0x03;
    g_assert_false(chorus_dcep_parse_open(buf, sizeof(buf), &op));
    buf[1] = 0x7f;
    g_assert_false(chorus_dcep_parse_open(buf, sizeof(buf), &op));
    /* Trailing bytes after the protocol are tolerated. */
    uint8_t longer[sizeof(open_chat) + 3] = {0};
    memcpy(longer, open_chat, sizeof(open_chat));
    g_assert_true(chorus_dcep_parse_open(longer, sizeof(longer), &op));
    g_assert_cmpmem(op.label, op.label_len, "chat", 4);
}

static void test_ack_and_types(void)
{
    uint8_t buf[4];
    g_assert_cmpuint(chorus_dcep_build_ack(buf, sizeof(buf)), ==, 1);
    g_assert_cmphex(buf[0], ==, 0x02);
    g_assert_cmpuint(chorus_dcep_build_ack(buf, 0), ==, 0);
    g_assert_true(chorus_dcep_is_ack(buf, 1));
    g_assert_false(chorus_dcep_is_ack(buf, 0));
    g_assert_false(chorus_dcep_is_ack(open_chat, sizeof(open_chat)));

    static const uint8_t valid[] = {0x00, 0x80, 0x01, 0x81, 0x02, 0x82};
    for (size_t i = 0; i < G_N_ELEMENTS(valid); i++)
        g_assert_true(chorus_dcep_channel_type_valid(valid[i]));
    g_assert_false(chorus_dcep_channel_type_valid(0x03));
    g_assert_false(chorus_dcep_channel_type_valid(0x83));
    g_assert_true(chorus_dcep_channel_ordered(CHORUS_DCEP_PARTIAL_RELIABLE_TIMED));
    g_assert_false(chorus_dcep_channel_ordered(CHORUS_DCEP_RELIABLE_UNORDERED));
}

/* The seed corpus in tests/fuzz/corpus/dcep parses as expected. */
static void test_corpus(void)
{
    static const struct {
        const char *name;
        gboolean ok;
    } seeds[] = {{"open_chat.bin", TRUE},
                 {"open_rexmit_unordered.bin", TRUE},
                 {"open_timed.bin", TRUE},
                 {"ack.bin", FALSE},
                 {"open_truncated_label.bin", FALSE}};
    for (size_t i = 0; i < G_N_ELEMENTS(seeds); i++) {
        char *path = g_build_filename(DCEP_CORPUS_DIR, seeds[i].name, NULL);
        char *data = NULL;
        gsize len = 0;
        g_assert_true(g_file_get_contents(path, &data, &len, NULL));
        ChorusDcepOpen op;
        g_assert_cmpint(chorus_dcep_parse_open((const uint8_t *)data, len, &op), ==, seeds[i].ok);
        g_free(data);
        g_free(path);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dcep/parse_known", test_parse_known);
    g_test_add_func("/dcep/build_known", test_build_known);
    g_test_add_func("/dcep/round_trip", test_round_trip);
    g_test_add_func("/dcep/malformed", test_malformed);
    g_test_add_func("/dcep/ack_and_types", test_ack_and_types);
    g_test_add_func("/dcep/corpus", test_corpus);
    return g_test_run();
}
