/* Janus API v1 wire shapes: error codes (numbered as in Janus) and message builders.
 * Every builder returns a new reference. */
#ifndef CHORUS_CORE_JANUS_PROTO_H
#define CHORUS_CORE_JANUS_PROTO_H

#include <glib.h>
#include <jansson.h>

typedef enum {
    CHORUS_ERR_UNAUTHORIZED = 403,
    CHORUS_ERR_UNAUTHORIZED_PLUGIN = 405,
    CHORUS_ERR_TRANSPORT_SPECIFIC = 450,
    CHORUS_ERR_MISSING_REQUEST = 452,
    CHORUS_ERR_UNKNOWN_REQUEST = 453,
    CHORUS_ERR_INVALID_JSON = 454,
    CHORUS_ERR_INVALID_JSON_OBJECT = 455,
    CHORUS_ERR_MISSING_MANDATORY_ELEMENT = 456,
    CHORUS_ERR_INVALID_REQUEST_PATH = 457,
    CHORUS_ERR_SESSION_NOT_FOUND = 458,
    CHORUS_ERR_HANDLE_NOT_FOUND = 459,
    CHORUS_ERR_PLUGIN_NOT_FOUND = 460,
    CHORUS_ERR_PLUGIN_ATTACH = 461,
    CHORUS_ERR_PLUGIN_MESSAGE = 462,
    CHORUS_ERR_PLUGIN_DETACH = 463,
    CHORUS_ERR_JSEP_UNKNOWN_TYPE = 464,
    CHORUS_ERR_JSEP_INVALID_SDP = 465,
    CHORUS_ERR_TRICKLE_INVALID_STREAM = 466,
    CHORUS_ERR_INVALID_ELEMENT_TYPE = 467,
    CHORUS_ERR_SESSION_CONFLICT = 468,
    CHORUS_ERR_UNEXPECTED_ANSWER = 469,
    CHORUS_ERR_TOKEN_NOT_FOUND = 470,
    CHORUS_ERR_WEBRTC_STATE = 471,
    CHORUS_ERR_NOT_ACCEPTING_SESSIONS = 472,
    CHORUS_ERR_UNKNOWN = 490,
} ChorusJanusError;

/* {"janus":kind,"transaction":T?,"session_id":S?} (S = 0: omitted). */
json_t *chorus_proto_msg(const char *kind, const char *transaction, guint64 session_id);
/* {"janus":"error", ..., "error":{"code":code,"reason":...}} */
json_t *chorus_proto_error(const char *transaction, guint64 session_id, int code, const char *fmt,
                           ...) G_GNUC_PRINTF(4, 5);
/* {"janus":"success", ..., "data":{"id":id}} */
json_t *chorus_proto_success_id(const char *transaction, guint64 session_id, guint64 id);
/* {"janus":"success"|"event", "sender":handle, "plugindata":{"plugin":P,"data":data}}
 * data is stolen; jsep (borrowed, may be NULL) is copied in. */
json_t *chorus_proto_plugin_msg(const char *kind, const char *transaction, guint64 session_id,
                                guint64 handle_id, const char *package, json_t *data, json_t *jsep);

#endif
