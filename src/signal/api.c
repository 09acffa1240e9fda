#include "signal/api.h"

#include <string.h>

#include "core/janus_proto.h"
#include "core/plugin_host.h"
#include "core/plugin_loader.h"
#include "core/session.h"
#include "signal/auth.h"
#include "util/log.h"

#define TAG "api"

static const ChorusConfig *config;

/* What one request is being handled with. */
typedef struct {
    ChorusConn *conn;        /* borrowed */
    json_t *root;            /* borrowed */
    const char *transaction; /* borrowed from root */
    guint64 session_id;      /* 0 if not addressed to a session */
    ChorusSession *session;  /* a reference, when session_id was given */
    chorus_handle *handle;   /* a reference, when handle_id was given */
} Request;

enum { AT_ROOT = 1, AT_SESSION = 2, AT_HANDLE = 4 };

typedef struct {
    const char *name;
    guint paths;   /* where the request may be addressed (AT_* flags) */
    gboolean open; /* allowed without api_secret */
    json_t *(*fn)(Request *r);
} ApiRoute;

/* Rate limiting: a token bucket per Janus API connection, keyed by connection id.
 * Requests and closes arrive on the transport's service thread only: no lock. */
typedef struct {
    guint64 conn_id;
    double tokens;
    gint64 last_us;
    guint refused; /* requests refused since the last log line */
} Bucket;

static GHashTable *buckets; /* &Bucket.conn_id -> Bucket* (owned) */

void chorus_api_init(const ChorusConfig *cfg)
{
    config = cfg;
    if (buckets == NULL)
        buckets = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    if (cfg->token_secret && *cfg->token_secret)
        LOG_I(TAG, "token authentication on (%s)",
              cfg->token_required ? "create needs a token" : "tokens optional");
}

static gboolean tokens_on(void)
{
    return config->token_secret != NULL && *config->token_secret != '\0';
}

/* Takes one request's token from conn's bucket; FALSE when it is empty. */
static gboolean rate_take(ChorusConn *conn)
{
    int rate = config->requests_per_second;
    if (rate <= 0 || chorus_conn_is_admin(conn))
        return TRUE;
    guint64 id = chorus_conn_id(conn);
    gint64 now = g_get_monotonic_time();
    Bucket *b = g_hash_table_lookup(buckets, &id);
    if (b == NULL) {
        b = g_new0(Bucket, 1);
        b->conn_id = id;
        b->tokens = 2.0 * rate;
        b->last_us = now;
        g_hash_table_insert(buckets, &b->conn_id, b);
    }
    b->tokens = MIN(2.0 * rate, b->tokens + (double)(now - b->last_us) * rate / G_USEC_PER_SEC);
    b->last_us = now;
    if (b->tokens >= 1.0) {
        if (b->refused > 0)
            LOG_W(TAG,
                  "connection %" G_GUINT64_FORMAT " from %s: %u requests refused by the rate "
                  "limit",
                  id, chorus_conn_peer_ip(conn), b->refused);
        b->refused = 0;
        b->tokens -= 1.0;
        return TRUE;
    }
    if (b->refused++ == 0)
        LOG_W(TAG, "connection %" G_GUINT64_FORMAT " from %s: over %d requests/s, refusing", id,
              chorus_conn_peer_ip(conn), rate);
    return FALSE;
}

static void send_to(ChorusConn *conn, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (text != NULL)
        chorus_conn_send(conn, text); /* malloc'd text: g_free-compatible */
}

static json_t *err(Request *r, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static json_t *err(Request *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return chorus_proto_error(r->transaction, r->session_id, code, "%s", reason);
}

/* Detaches the handles chorus_session_destroy handed over (NULL: nothing to do). */
static void detach_handles(GPtrArray *handles)
{
    if (handles == NULL)
        return;
    for (guint i = 0; i < handles->len; i++)
        chorus_handle_detach(g_ptr_array_index(handles, i), NULL, NULL);
    g_ptr_array_free(handles, TRUE);
}

static void destroy_session(ChorusSession *s)
{
    detach_handles(chorus_session_destroy(s));
}

/* ---- root requests ---- */

static json_t *req_info(Request *r)
{
    return chorus_api_server_info(config, r->transaction);
}

static json_t *req_ping(Request *r)
{
    return chorus_proto_msg("pong", r->transaction, 0);
}

/* With tokens on, the create request's "token" is verified: NULL (and *claims set
 * when a token was given), or the 403 to answer. */
static json_t *check_token(Request *r, json_t **claims)
{
    *claims = NULL;
    if (!tokens_on())
        return NULL;
    json_t *token = json_object_get(r->root, "token");
    if (token == NULL && !config->token_required)
        return NULL;
    if (token == NULL)
        return err(r, CHORUS_ERR_UNAUTHORIZED, "Unauthorized request (missing token)");
    if (!json_is_string(token))
        return err(r, CHORUS_ERR_UNAUTHORIZED,
                   "Unauthorized request (malformed token: not a string)");
    g_autofree char *why = NULL;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    if (chorus_token_verify(json_string_value(token), config->token_secret, now, claims, &why) ==
        CHORUS_TOKEN_OK)
        return NULL;
    LOG_V(TAG, "create from %s refused: %s", chorus_conn_peer_ip(r->conn), why);
    return err(r, CHORUS_ERR_UNAUTHORIZED, "Unauthorized request (%s)", why);
}

static json_t *req_create(Request *r)
{
    json_t *want = json_object_get(r->root, "id");
    if (want != NULL && (!json_is_integer(want) || json_integer_value(want) <= 0 ||
                         json_integer_value(want) >= ((json_int_t)1 << 53)))
        return err(r, CHORUS_ERR_INVALID_ELEMENT_TYPE,
                   "Invalid element type (id should be a positive integer below 2^53)");
    json_t *claims = NULL;
    json_t *refused = check_token(r, &claims);
    if (refused != NULL)
        return refused;
    gboolean in_use = FALSE;
    ChorusSession *s =
        chorus_session_create_with_id(r->conn, (guint)config->max_sessions,
                                      want ? (guint64)json_integer_value(want) : 0, &in_use);
    if (s == NULL && claims != NULL)
        json_decref(claims);
    if (in_use)
        return err(r, CHORUS_ERR_SESSION_CONFLICT, "Session ID already in use");
    if (s == NULL)
        return err(r, CHORUS_ERR_NOT_ACCEPTING_SESSIONS, "Session limit reached (%d)",
                   config->max_sessions);
    if (claims != NULL)
        chorus_session_set_claims(s, claims);
    guint64 id = chorus_session_id(s);
    chorus_session_unref(s);
    LOG_V(TAG, "session %" G_GUINT64_FORMAT " created from %s", id, chorus_conn_peer_ip(r->conn));
    return chorus_proto_success_id(r->transaction, 0, id);
}

/* ---- session requests ---- */

static json_t *req_keepalive(Request *r)
{
    return chorus_proto_msg("ack", r->transaction, r->session_id);
}

static json_t *req_attach(Request *r)
{
    json_t *plugin = json_object_get(r->root, "plugin");
    if (plugin == NULL)
        return err(r, CHORUS_ERR_MISSING_MANDATORY_ELEMENT, "Missing mandatory element (plugin)");
    if (!json_is_string(plugin))
        return err(r, CHORUS_ERR_INVALID_ELEMENT_TYPE,
                   "Invalid element type (plugin should be a string)");
    ChorusPluginEntry *entry = chorus_plugins_find(json_string_value(plugin));
    if (entry == NULL)
        return err(r, CHORUS_ERR_PLUGIN_NOT_FOUND, "No such plugin '%.64s'",
                   json_string_value(plugin));
    json_t *claims = chorus_session_claims(r->session);
    gboolean granted = chorus_token_grants_plugin(claims, json_string_value(plugin));
    if (claims != NULL)
        json_decref(claims);
    if (!granted)
        return err(r, CHORUS_ERR_UNAUTHORIZED_PLUGIN,
                   "Unauthorized plugin '%s' (not granted by the token)",
                   json_string_value(plugin));
    json_t *opaque = json_object_get(r->root, "opaque_id");
    chorus_handle *h = chorus_handle_new(r->session, entry,
                                         json_is_string(opaque) ? json_string_value(opaque) : NULL,
                                         (guint)config->max_handles_per_session);
    if (h == NULL)
        return err(r, CHORUS_ERR_PLUGIN_ATTACH, "Handle limit reached (%d per session)",
                   config->max_handles_per_session);
    chorus_handle_start(h, r->conn, r->transaction); /* the worker answers */
    chorus_handle_unref(h);
    return NULL;
}

static json_t *req_destroy(Request *r)
{
    /* "success" first, then the handles' "detached" events from their workers. */
    send_to(r->conn, chorus_proto_msg("success", r->transaction, r->session_id));
    destroy_session(r->session);
    return NULL;
}

static json_t *req_claim(Request *r)
{
    if (!chorus_session_has_conn(r->session, r->conn)) {
        LOG_I(TAG, "session %" G_GUINT64_FORMAT " claimed by connection %" G_GUINT64_FORMAT,
              r->session_id, chorus_conn_id(r->conn));
        chorus_session_set_conn(r->session, r->conn);
    }
    return chorus_proto_msg("success", r->transaction, r->session_id);
}

/* ---- handle requests ---- */

static json_t *check_jsep(Request *r, json_t *jsep)
{
    if (!json_is_object(jsep))
        return err(r, CHORUS_ERR_INVALID_ELEMENT_TYPE,
                   "Invalid element type (jsep should be an object)");
    json_t *type = json_object_get(jsep, "type");
    json_t *sdp = json_object_get(jsep, "sdp");
    if (!json_is_string(type))
        return err(r, CHORUS_ERR_MISSING_MANDATORY_ELEMENT, "JSEP error: missing type");
    const char *t = json_string_value(type);
    if (strcmp(t, "offer") != 0 && strcmp(t, "answer") != 0)
        return err(r, CHORUS_ERR_JSEP_UNKNOWN_TYPE, "JSEP error: unknown message type '%s'", t);
    if (!json_is_string(sdp) || json_string_length(sdp) == 0)
        return err(r, CHORUS_ERR_JSEP_INVALID_SDP, "JSEP error: missing or empty SDP");
    return NULL;
}

static json_t *req_message(Request *r)
{
    json_t *body = json_object_get(r->root, "body");
    if (body == NULL)
        return err(r, CHORUS_ERR_MISSING_MANDATORY_ELEMENT, "Missing mandatory element (body)");
    if (!json_is_object(body))
        return err(r, CHORUS_ERR_INVALID_ELEMENT_TYPE,
                   "Invalid element type (body should be an object)");
    json_t *jsep = json_object_get(r->root, "jsep");
    if (jsep != NULL) {
        json_t *bad = check_jsep(r, jsep);
        if (bad != NULL)
            return bad;
    }
    chorus_handle_message(r->handle, r->conn, r->transaction, body, jsep); /* the worker answers */
    return NULL;
}

static json_t *req_trickle(Request *r)
{
    json_t *one = json_object_get(r->root, "candidate");
    json_t *many = json_object_get(r->root, "candidates");
    if (one == NULL && many == NULL)
        return err(r, CHORUS_ERR_MISSING_MANDATORY_ELEMENT,
                   "Missing mandatory element (candidate|candidates)");
    if ((one != NULL && !json_is_object(one)) || (many != NULL && !json_is_array(many)))
        return err(r, CHORUS_ERR_INVALID_ELEMENT_TYPE,
                   "Invalid element type (candidate should be an object, candidates an array)");
    chorus_handle_trickle(r->handle, one ? one : many);
    return chorus_proto_msg("ack", r->transaction, r->session_id);
}

static json_t *req_hangup(Request *r)
{
    chorus_handle_hangup(r->handle, r->conn, r->transaction, "Janus API hangup request");
    return NULL;
}

static json_t *req_detach(Request *r)
{
    if (!chorus_handle_unregister(r->handle))
        return err(r, CHORUS_ERR_HANDLE_NOT_FOUND, "No such handle in session");
    chorus_handle_detach(chorus_handle_ref(r->handle), r->conn, r->transaction);
    return NULL;
}

static const ApiRoute routes[] = {
    {"info", AT_ROOT | AT_SESSION | AT_HANDLE, TRUE, req_info},
    {"ping", AT_ROOT | AT_SESSION | AT_HANDLE, TRUE, req_ping},
    {"create", AT_ROOT, FALSE, req_create},
    {"keepalive", AT_SESSION, FALSE, req_keepalive},
    {"attach", AT_SESSION, FALSE, req_attach},
    {"destroy", AT_SESSION, FALSE, req_destroy},
    {"claim", AT_SESSION, FALSE, req_claim},
    {"message", AT_HANDLE, FALSE, req_message},
    {"trickle", AT_HANDLE, FALSE, req_trickle},
    {"hangup", AT_HANDLE, FALSE, req_hangup},
    {"detach", AT_HANDLE, FALSE, req_detach},
};

static const ApiRoute *find_route(const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS(routes); i++) {
        if (strcmp(routes[i].name, name) == 0)
            return &routes[i];
    }
    return NULL;
}

/* Reads an optional positive id field; -1 if present but not a positive integer. */
static gint64 read_id(json_t *root, const char *key)
{
    json_t *v = json_object_get(root, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return -1;
    return (gint64)json_integer_value(v);
}

static gboolean secret_ok(json_t *root, const char *field, const char *secret)
{
    if (secret == NULL || *secret == '\0')
        return TRUE;
    json_t *given = json_object_get(root, field);
    return json_is_string(given) && strcmp(json_string_value(given), secret) == 0;
}

/* Resolves session and handle; returns an error response or NULL. */
static json_t *resolve_path(Request *r, const ApiRoute *route, const char *name)
{
    gint64 sid = read_id(r->root, "session_id");
    gint64 hid = read_id(r->root, "handle_id");
    if (sid < 0 || hid < 0)
        return err(r, CHORUS_ERR_INVALID_ELEMENT_TYPE,
                   "Invalid element type (session_id and handle_id should be positive integers)");
    guint at = hid > 0 ? AT_HANDLE : sid > 0 ? AT_SESSION : AT_ROOT;
    if (hid > 0 && sid == 0)
        return err(r, CHORUS_ERR_INVALID_REQUEST_PATH, "handle_id without session_id");
    if (!(route->paths & at))
        return err(r, CHORUS_ERR_INVALID_REQUEST_PATH, "Unhandled request '%s' at this path", name);
    if (sid == 0)
        return NULL;
    r->session_id = (guint64)sid;
    r->session = chorus_session_lookup(r->session_id);
    if (r->session == NULL)
        return err(r, CHORUS_ERR_SESSION_NOT_FOUND, "No such session %" G_GUINT64_FORMAT,
                   r->session_id);
    chorus_session_touch(r->session);
    if (hid == 0)
        return NULL;
    r->handle = chorus_handle_lookup(r->session, (guint64)hid);
    if (r->handle == NULL)
        return err(r, CHORUS_ERR_HANDLE_NOT_FOUND,
                   "No such handle %" G_GINT64_FORMAT " in session %" G_GUINT64_FORMAT, hid,
                   r->session_id);
    return NULL;
}

/* Checks the envelope, routes, runs; returns the response or NULL (answered later). */
static json_t *dispatch(Request *r)
{
    json_t *tr = json_object_get(r->root, "transaction");
    if (tr == NULL)
        return err(r, CHORUS_ERR_MISSING_MANDATORY_ELEMENT,
                   "Missing mandatory element (transaction)");
    if (!json_is_string(tr))
        return err(r, CHORUS_ERR_INVALID_ELEMENT_TYPE,
                   "Invalid element type (transaction should be a string)");
    r->transaction = json_string_value(tr);
    json_t *janus = json_object_get(r->root, "janus");
    if (janus == NULL)
        return err(r, CHORUS_ERR_MISSING_REQUEST, "Missing mandatory element (janus)");
    if (!json_is_string(janus))
        return err(r, CHORUS_ERR_INVALID_ELEMENT_TYPE,
                   "Invalid element type (janus should be a string)");
    const char *name = json_string_value(janus);
    if (chorus_conn_is_admin(r->conn)) {
        if (!secret_ok(r->root, "admin_secret", config->admin_secret))
            return err(r, CHORUS_ERR_UNAUTHORIZED,
                       "Unauthorized request (wrong or missing "
                       "secret/token)");
        return chorus_admin_handle(config, r->root, name, r->transaction);
    }
    const ApiRoute *route = find_route(name);
    if (route == NULL)
        return err(r, CHORUS_ERR_UNKNOWN_REQUEST, "Unknown request '%.64s'", name);
    if (!route->open && !secret_ok(r->root, "apisecret", config->api_secret))
        return err(r, CHORUS_ERR_UNAUTHORIZED,
                   "Unauthorized request (wrong or missing secret/token)");
    json_t *bad = resolve_path(r, route, name);
    return bad ? bad : route->fn(r);
}

void chorus_api_handle(ChorusConn *conn, const char *text, gsize len)
{
    Request r = {.conn = conn};
    json_error_t jerr;
    r.root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *response;
    if (!rate_take(conn)) {
        json_t *tr = json_is_object(r.root) ? json_object_get(r.root, "transaction") : NULL;
        r.transaction = json_string_value(tr);
        response = err(&r, CHORUS_ERR_UNKNOWN, "rate limit exceeded (%d requests/s)",
                       config->requests_per_second);
    } else if (r.root == NULL)
        response =
            err(&r, CHORUS_ERR_INVALID_JSON, "JSON error: on line %d: %s", jerr.line, jerr.text);
    else if (!json_is_object(r.root))
        response = err(&r, CHORUS_ERR_INVALID_JSON_OBJECT, "JSON error: not an object");
    else
        response = dispatch(&r);
    if (response != NULL)
        send_to(conn, response);
    if (r.handle)
        chorus_handle_unref(r.handle);
    if (r.session)
        chorus_session_unref(r.session);
    if (r.root)
        json_decref(r.root);
}

void chorus_api_conn_closed(ChorusConn *conn)
{
    guint64 conn_id = chorus_conn_id(conn);
    Bucket *b = buckets ? g_hash_table_lookup(buckets, &conn_id) : NULL;
    if (b != NULL && b->refused > 0)
        LOG_W(TAG, "connection %" G_GUINT64_FORMAT ": %u requests refused by the rate limit",
              conn_id, b->refused);
    if (b != NULL)
        g_hash_table_remove(buckets, &conn_id);
    GPtrArray *sessions = chorus_sessions_list();
    for (guint i = 0; i < sessions->len; i++) {
        ChorusSession *s = g_ptr_array_index(sessions, i);
        if (!chorus_session_drop_conn(s, conn))
            continue;
        if (config->reclaim_timeout == 0) {
            LOG_I(TAG, "session %" G_GUINT64_FORMAT ": connection closed, destroying",
                  chorus_session_id(s));
            destroy_session(s);
        } else {
            LOG_I(TAG, "session %" G_GUINT64_FORMAT ": connection closed, %d s to claim it",
                  chorus_session_id(s), config->reclaim_timeout);
        }
    }
    g_ptr_array_free(sessions, TRUE);
}

void chorus_api_watchdog(void)
{
    GPtrArray *sessions = chorus_sessions_list();
    for (guint i = 0; i < sessions->len; i++) {
        ChorusSession *s = g_ptr_array_index(sessions, i);
        guint64 id = chorus_session_id(s);
        gint64 orphan = chorus_session_orphan_seconds(s);
        if (orphan >= 0 && orphan >= config->reclaim_timeout) {
            LOG_I(TAG, "session %" G_GUINT64_FORMAT " was not claimed in %d s, destroying", id,
                  config->reclaim_timeout);
            destroy_session(s);
        } else if (config->session_timeout > 0 &&
                   chorus_session_idle_seconds(s) >= config->session_timeout) {
            /* Out of the registry before the client hears of it: a request it sends
             * on the "timeout" event must find no session (458). */
            GPtrArray *handles = chorus_session_destroy(s);
            if (handles == NULL)
                continue; /* destroyed meanwhile by a request */
            LOG_I(TAG, "session %" G_GUINT64_FORMAT " timed out", id);
            chorus_session_send(s, chorus_proto_msg("timeout", NULL, id));
            chorus_session_set_conn(s, NULL); /* the client knows: nothing more to say */
            detach_handles(handles);
        }
    }
    g_ptr_array_free(sessions, TRUE);
}

void chorus_api_destroy_all(void)
{
    GPtrArray *sessions = chorus_sessions_list();
    for (guint i = 0; i < sessions->len; i++)
        destroy_session(g_ptr_array_index(sessions, i));
    g_ptr_array_free(sessions, TRUE);
}
