#include "core/janus_proto.h"

json_t *chorus_proto_msg(const char *kind, const char *transaction, guint64 session_id)
{
    json_t *msg = json_object();
    json_object_set_new(msg, "janus", json_string(kind));
    if (session_id != 0)
        json_object_set_new(msg, "session_id", json_integer((json_int_t)session_id));
    if (transaction != NULL)
        json_object_set_new(msg, "transaction", json_string(transaction));
    return msg;
}

json_t *chorus_proto_error(const char *transaction, guint64 session_id, int code, const char *fmt,
                           ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_t *msg = chorus_proto_msg("error", transaction, session_id);
    json_object_set_new(msg, "error", json_pack("{s:i,s:s}", "code", code, "reason", reason));
    g_free(reason);
    return msg;
}

json_t *chorus_proto_success_id(const char *transaction, guint64 session_id, guint64 id)
{
    json_t *msg = chorus_proto_msg("success", transaction, session_id);
    json_object_set_new(msg, "data", json_pack("{s:I}", "id", (json_int_t)id));
    return msg;
}

json_t *chorus_proto_plugin_msg(const char *kind, const char *transaction, guint64 session_id,
                                guint64 handle_id, const char *package, json_t *data, json_t *jsep)
{
    json_t *msg = chorus_proto_msg(kind, transaction, session_id);
    json_object_set_new(msg, "sender", json_integer((json_int_t)handle_id));
    json_t *pd = json_object();
    json_object_set_new(pd, "plugin", json_string(package));
    json_object_set_new(pd, "data", data ? data : json_object());
    json_object_set_new(msg, "plugindata", pd);
    if (jsep != NULL)
        json_object_set_new(msg, "jsep", json_deep_copy(jsep));
    return msg;
}
