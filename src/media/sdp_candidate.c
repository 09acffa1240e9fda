/* ICE candidates (RFC 8839 section 5.1): a=candidate values and trickled candidate strings. */
#include <string.h>

#include "media/sdp.h"
#include "media/sdp_private.h"

#define CAND_MAX_TOKENS     72 /* 8 fixed tokens + 32 extension pairs */
#define CAND_MAX_FOUNDATION 32

static const char *const transport_names[] = {"udp", "tcp", NULL};
static const char *const type_names[] = {"host", "srflx", "prflx", "relay", NULL};
static const char *const tcptype_names[] = {"", "active", "passive", "so", NULL};

/* Tokens 0..7: foundation component transport priority address port "typ" type. */
static const char *parse_fixed(ChorusSdpCandidate *c, char **t)
{
    guint64 v;
    int idx;

    if (!chorus_sdp_ice_chars_ok(t[0], CAND_MAX_FOUNDATION))
        return "bad foundation";
    c->foundation = g_strdup(t[0]);
    if (!chorus_sdp_parse_uint(t[1], 256, &v) || v == 0)
        return "bad component id";
    c->component = (guint)v;
    if ((idx = chorus_sdp_name_index(transport_names, t[2])) < 0)
        return "unsupported transport";
    c->transport = (ChorusSdpCandTransport)idx;
    if (!chorus_sdp_parse_uint(t[3], G_MAXUINT32, &v))
        return "bad priority";
    c->priority = (guint32)v;
    if (!chorus_sdp_token_ok(t[4], CHORUS_SDP_MAX_TOKEN))
        return "bad address";
    c->address = g_strdup(t[4]);
    if (!chorus_sdp_parse_uint(t[5], 65535, &v))
        return "bad port";
    c->port = (guint16)v;
    if (strcmp(t[6], "typ") != 0)
        return "expected \"typ\"";
    if ((idx = chorus_sdp_name_index(type_names, t[7])) < 0)
        return "unknown candidate type";
    c->type = (ChorusSdpCandType)idx;
    return NULL;
}

static const char *parse_extension(ChorusSdpCandidate *c, const char *name, const char *value)
{
    guint64 v;
    int idx;

    if (!chorus_sdp_token_ok(name, CHORUS_SDP_MAX_TOKEN) ||
        !chorus_sdp_token_ok(value, CHORUS_SDP_MAX_TOKEN))
        return "bad extension";
    if (strcmp(name, "raddr") == 0) {
        if (c->raddr != NULL)
            return "duplicate raddr";
        c->raddr = g_strdup(value);
    } else if (strcmp(name, "rport") == 0) {
        if (c->has_rport || !chorus_sdp_parse_uint(value, 65535, &v))
            return "bad rport";
        c->rport = (guint16)v;
        c->has_rport = TRUE;
    } else if (strcmp(name, "tcptype") == 0) {
        if (c->tcptype != CHORUS_SDP_TCPTYPE_NONE ||
            (idx = chorus_sdp_name_index(tcptype_names, value)) <= 0)
            return "bad tcptype";
        c->tcptype = (ChorusSdpTcpType)idx;
    } else {
        g_ptr_array_add(c->extensions, chorus_sdp_attr_new(name, value));
    }
    return NULL;
}

ChorusSdpCandidate *chorus_sdp_candidate_parse_value(const char *value, const char **why)
{
    char buf[CHORUS_SDP_MAX_LINE + 1];
    char *t[CAND_MAX_TOKENS];
    guint n;

    if (strlen(value) > CHORUS_SDP_MAX_LINE) {
        *why = "too long";
        return NULL;
    }
    g_strlcpy(buf, value, sizeof buf);
    n = chorus_sdp_split(buf, t, CAND_MAX_TOKENS);
    if (n > CAND_MAX_TOKENS) {
        *why = "too many fields";
        return NULL;
    }
    if (n < 8) {
        *why = "truncated candidate";
        return NULL;
    }
    if ((n - 8) % 2 != 0) {
        *why = "extension without a value";
        return NULL;
    }
    ChorusSdpCandidate *c = chorus_sdp_candidate_new();
    *why = parse_fixed(c, t);
    for (guint i = 8; *why == NULL && i < n; i += 2)
        *why = parse_extension(c, t[i], t[i + 1]);
    if (*why != NULL) {
        chorus_sdp_candidate_free(c);
        return NULL;
    }
    return c;
}

ChorusSdpCandidate *chorus_sdp_candidate_parse(const char *text, GError **error)
{
    const char *why = NULL;

    if (text == NULL) {
        g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_SYNTAX, "candidate: missing");
        return NULL;
    }
    if (g_str_has_prefix(text, "a="))
        text += 2;
    if (g_str_has_prefix(text, "candidate:"))
        text += strlen("candidate:");
    for (const char *p = text; *p != '\0'; p++) {
        if ((guchar)*p < ' ' && *p != '\t' && !(p[0] == '\r' && p[1] == '\n' && p[2] == '\0') &&
            !(p[0] == '\n' && p[1] == '\0')) {
            g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_SYNTAX,
                        "candidate: control character");
            return NULL;
        }
    }
    g_autofree char *copy = g_strdup(text);
    g_strchomp(copy);
    ChorusSdpCandidate *c = chorus_sdp_candidate_parse_value(copy, &why);
    if (c == NULL)
        g_set_error(error, CHORUS_SDP_ERROR, CHORUS_SDP_ERROR_SYNTAX, "candidate: %s", why);
    return c;
}

void chorus_sdp_candidate_write_value(GString *out, const ChorusSdpCandidate *c)
{
    g_string_append_printf(out, "%s %u %s %u %s %u typ %s", c->foundation, c->component,
                           transport_names[c->transport == CHORUS_SDP_CAND_TCP ? 1 : 0],
                           c->priority, c->address, c->port, chorus_sdp_cand_type_name(c->type));
    if (c->raddr != NULL)
        g_string_append_printf(out, " raddr %s", c->raddr);
    if (c->has_rport)
        g_string_append_printf(out, " rport %u", c->rport);
    if (c->tcptype > CHORUS_SDP_TCPTYPE_NONE && c->tcptype <= CHORUS_SDP_TCPTYPE_SO)
        g_string_append_printf(out, " tcptype %s", tcptype_names[c->tcptype]);
    for (guint i = 0; i < c->extensions->len; i++) {
        const ChorusSdpAttr *e = c->extensions->pdata[i];
        g_string_append_printf(out, " %s %s", e->name, e->value);
    }
}

char *chorus_sdp_candidate_to_string(const ChorusSdpCandidate *c)
{
    GString *out = g_string_new("candidate:");
    chorus_sdp_candidate_write_value(out, c);
    return g_string_free(out, FALSE);
}
