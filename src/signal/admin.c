/* Admin API (janus-admin-protocol): sessions, handles, status, plugin messages. */
#include <string.h>

#include "core/janus_proto.h"
#include "core/peer.h"
#include "core/plugin_host.h"
#include "core/plugin_loader.h"
#include "core/session.h"
#include "core/worker.h"
#include "signal/api.h"

typedef struct {
    json_t *root;
    const char *transaction;
    const ChorusConfig *cfg;
} AdminReq;

typedef struct {
    const char *name;
    json_t *(*fn)(AdminReq *r);
} AdminRoute;

static json_t *admin_err(AdminReq *r, int code, const char *reason)
{
    return chorus_proto_error(r->transaction, 0, code, "%s", reason);
}

static json_t *success(AdminReq *r)
{
    return chorus_proto_msg("success", r->transaction, 0);
}

/* Looks up session_id (and handle_id when want_handle); error response or NULL. */
static json_t *lookup(AdminReq *r, ChorusSession **s, chorus_handle **h, gboolean want_handle)
{
    json_t *sid = json_object_get(r->root, "session_id");
    if (!json_is_integer(sid))
        return admin_err(r, CHORUS_ERR_MISSING_MANDATORY_ELEMENT,
                         "Missing mandatory element (session_id)");
    *s = chorus_session_lookup((guint64)json_integer_value(sid));
    if (*s == NULL)
        return admin_err(r, CHORUS_ERR_SESSION_NOT_FOUND, "No such session");
    if (!want_handle)
        return NULL;
    json_t *hid = json_object_get(r->root, "handle_id");
    if (!json_is_integer(hid))
        return admin_err(r, CHORUS_ERR_MISSING_MANDATORY_ELEMENT,
                         "Missing mandatory element (handle_id)");
    *h = chorus_handle_lookup(*s, (guint64)json_integer_value(hid));
    if (*h == NULL)
        return admin_err(r, CHORUS_ERR_HANDLE_NOT_FOUND, "No such handle");
    return NULL;
}

static json_t *adm_info(AdminReq *r)
{
    return chorus_api_server_info(r->cfg, r->transaction);
}

static json_t *adm_ping(AdminReq *r)
{
    return chorus_proto_msg("pong", r->transaction, 0);
}

static json_t *adm_list_sessions(AdminReq *r)
{
    GPtrArray *list = chorus_sessions_list();
    json_t *ids = json_array();
    for (guint i = 0; i < list->len; i++)
        json_array_append_new(
            ids, json_integer((json_int_t)chorus_session_id(g_ptr_array_index(list, i))));
    g_ptr_array_free(list, TRUE);
    json_t *res = success(r);
    json_object_set_new(res, "sessions", ids);
    return res;
}

static json_t *adm_list_handles(AdminReq *r)
{
    ChorusSession *s = NULL;
    chorus_handle *h = NULL;
    json_t *bad = lookup(r, &s, &h, FALSE);
    if (bad) {
        if (s)
            chorus_session_unref(s);
        return bad;
    }
    GPtrArray *list = chorus_session_handles(s);
    json_t *ids = json_array();
    for (guint i = 0; i < list->len; i++) {
        chorus_handle *one = g_ptr_array_index(list, i);
        json_array_append_new(ids, json_integer((json_int_t)one->id));
    }
    g_ptr_array_free(list, TRUE);
    json_t *res = chorus_proto_msg("success", r->transaction, chorus_session_id(s));
    json_object_set_new(res, "handles", ids);
    chorus_session_unref(s);
    return res;
}

static json_t *adm_handle_info(AdminReq *r)
{
    ChorusSession *s = NULL;
    chorus_handle *h = NULL;
    json_t *bad = lookup(r, &s, &h, TRUE);
    if (bad) {
        if (s)
            chorus_session_unref(s);
        return bad;
    }
    json_t *info = json_object();
    json_object_set_new(info, "session_id", json_integer((json_int_t)chorus_session_id(s)));
    json_object_set_new(info, "handle_id", json_integer((json_int_t)h->id));
    json_object_set_new(info, "opaque_id", h->opaque_id ? json_string(h->opaque_id) : json_null());
    json_object_set_new(info, "created", json_integer((json_int_t)h->created_us));
    json_object_set_new(info, "plugin", json_string(h->plugin->desc->package));
    json_object_set_new(info, "worker",
                        json_integer(h->worker ? (json_int_t)chorus_worker_index(h->worker) : -1));
    json_t *webrtc = NULL;
    json_t *pinfo = chorus_handle_query(h, &webrtc);
    json_object_set_new(info, "plugin_specific", pinfo ? pinfo : json_object());
    json_object_set_new(info, "webrtc", webrtc ? webrtc : json_null());
    json_t *res = chorus_proto_msg("success", r->transaction, chorus_session_id(s));
    json_object_set_new(res, "handle_id", json_integer((json_int_t)h->id));
    json_object_set_new(res, "info", info);
    chorus_handle_unref(h);
    chorus_session_unref(s);
    return res;
}

static json_t *adm_get_status(AdminReq *r)
{
    json_t *workers = json_array();
    for (guint i = 0; i < chorus_workers_count(); i++)
        json_array_append_new(workers, json_pack("{s:i,s:i}", "index", i, "handles",
                                                 chorus_worker_load(chorus_worker_get(i))));
    json_t *status =
        json_pack("{s:i,s:i,s:i,s:i,s:o}", "sessions", chorus_sessions_count(), "session_timeout",
                  r->cfg->session_timeout, "reclaim_timeout", r->cfg->reclaim_timeout, "log_level",
                  r->cfg->log_level, "workers", workers);
    json_object_set_new(status, "sends", chorus_peer_send_stats());
    json_t *res = success(r);
    json_object_set_new(res, "status", status);
    return res;
}

static json_t *adm_message_plugin(AdminReq *r)
{
    json_t *plugin = json_object_get(r->root, "plugin");
    json_t *request = json_object_get(r->root, "request");
    if (!json_is_string(plugin) || !json_is_object(request))
        return admin_err(r, CHORUS_ERR_MISSING_MANDATORY_ELEMENT,
                         "Missing mandatory element (plugin, request)");
    ChorusPluginEntry *e = chorus_plugins_find(json_string_value(plugin));
    if (e == NULL)
        return admin_err(r, CHORUS_ERR_PLUGIN_NOT_FOUND, "No such plugin");
    if (e->desc->handle_admin_message == NULL)
        return admin_err(r, CHORUS_ERR_UNKNOWN_REQUEST, "Plugin doesn't support admin messages");
    json_t *response = e->desc->handle_admin_message(request);
    if (response == NULL)
        return admin_err(r, CHORUS_ERR_PLUGIN_MESSAGE, "Plugin returned no response");
    json_t *res = success(r);
    json_object_set_new(res, "response", response);
    return res;
}

static const AdminRoute admin_routes[] = {
    {"info", adm_info},
    {"ping", adm_ping},
    {"list_sessions", adm_list_sessions},
    {"list_handles", adm_list_handles},
    {"handle_info", adm_handle_info},
    {"get_status", adm_get_status},
    {"message_plugin", adm_message_plugin},
};

json_t *chorus_admin_handle(const ChorusConfig *cfg, json_t *root, const char *request,
                            const char *transaction)
{
    AdminReq r = {.root = root, .transaction = transaction, .cfg = cfg};
    for (guint i = 0; i < G_N_ELEMENTS(admin_routes); i++) {
        if (strcmp(admin_routes[i].name, request) == 0)
            return admin_routes[i].fn(&r);
    }
    return chorus_proto_error(transaction, 0, CHORUS_ERR_UNKNOWN_REQUEST, "Unknown request '%.64s'",
                              request);
}

json_t *chorus_api_server_info(const ChorusConfig *cfg, const char *transaction)
{
    json_t *res = chorus_proto_msg("server_info", transaction, 0);
    json_object_set_new(res, "name", json_string(cfg->server_name));
    json_object_set_new(res, "version", json_integer(10));
    json_object_set_new(res, "version_string", json_string(PACKAGE_VERSION));
    json_object_set_new(res, "author", json_string("Chorus developers"));
    json_object_set_new(res, "session-timeout", json_integer(cfg->session_timeout));
    json_object_set_new(res, "reclaim-session-timeout", json_integer(cfg->reclaim_timeout));
    json_object_set_new(res, "api_secret", json_boolean(cfg->api_secret && *cfg->api_secret));
    json_object_set_new(res, "auth_token", json_boolean(cfg->token_secret && *cfg->token_secret));
    json_object_set_new(res, "data_channels", json_true());
    json_t *plugins = json_object();
    const GPtrArray *all = chorus_plugins_all();
    for (guint i = 0; i < all->len; i++) {
        const chorus_plugin *d = ((ChorusPluginEntry *)g_ptr_array_index(all, i))->desc;
        json_object_set_new(plugins, d->package,
                            json_pack("{s:s?,s:s?,s:s?,s:i}", "name", d->name, "description",
                                      d->description, "version_string", d->version_string,
                                      "version", d->version));
    }
    json_object_set_new(res, "plugins", plugins);
    return res;
}
