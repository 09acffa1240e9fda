/* Configuration: GKeyFile INI, table-driven. Every option has an embedded default, so
 * Chorus runs with no file; a bad value names the file, the key and what is wrong. */
#ifndef CHORUS_CORE_CONFIG_H
#define CHORUS_CORE_CONFIG_H

#include <glib.h>

typedef struct {
    /* [general] */
    int log_level;
    gboolean log_json;
    char *server_name;
    int session_timeout;  /* seconds without a request before "timeout"; 0 = never */
    int reclaim_timeout;  /* seconds a session waits for "claim" after its socket closed */
    int workers;          /* media worker threads; 0 = one per core */
    char *plugins_folder; /* every *.so here is loaded */
    char *configs_folder; /* plugin configs: <package>.conf */
    char **disable;       /* plugin packages or file names not to load */
    char *api_secret;     /* required in every request when set */
    char *admin_secret;   /* required on the admin API */
    /* [transport] */
    char *ws_interface;
    int ws_port;
    char *admin_interface;
    int admin_port;
    char *http_interface;
    int http_port;
    char *html_folder;
    int max_message_size;       /* bytes of one WebSocket message */
    int max_connections;        /* WebSocket + HTTP connections in total */
    int max_connections_per_ip; /* the same, from one address */
    /* [media] */
    char **ice_interfaces; /* host candidates only on these (names or addresses); empty: all */
    gboolean ice_loopback; /* offer 127.0.0.1 / ::1 candidates too */
    gboolean ice_ipv6;     /* gather IPv6 host candidates */
    gboolean ice_tcp;      /* ICE-TCP candidates (RFC 6544) besides UDP */
    int rtp_port_min;      /* UDP port range for media; 0: any */
    int rtp_port_max;
    char *stun_server;    /* host:port for server-reflexive candidates; empty: none */
    char *turn_server;    /* host:port of a TURN server for relay candidates; empty: none */
    char *turn_transport; /* udp, tcp or tls */
    char *turn_user;
    char *turn_password;
    int ice_timeout;        /* seconds without consent/traffic before hangup */
    char *dtls_certificate; /* PEM file; empty: a fresh ECDSA P-256 certificate at start */
    char *dtls_key;         /* PEM private key for dtls_certificate */
    char **srtp_profiles;   /* preference order: aead_aes_128_gcm, aes128_cm_sha1_80 */
    /* [limits] */
    int max_sessions;
    int max_handles_per_session;
    int requests_per_second; /* per Janus API WebSocket, burst 2x; 0 = no limit */
    /* [auth] */
    char *token_secret;      /* HS256 JWT secret; empty: tokens off */
    gboolean token_required; /* with a secret: create needs a token (else optional) */
} ChorusConfig;

#define CHORUS_CONFIG_ERROR (chorus_config_error_quark())
GQuark chorus_config_error_quark(void);

/* A config with every embedded default. Free with chorus_config_free. */
ChorusConfig *chorus_config_new_defaults(void);
void chorus_config_free(ChorusConfig *cfg);

/* Applies a config file on top of cfg. Unknown sections and keys are errors.
 * Returns FALSE with error = "FILE: [section] key: what is wrong". */
gboolean chorus_config_load_file(ChorusConfig *cfg, const char *path, GError **error);
/* Applies INI text (for tests and --check-config of stdin); name is used in errors. */
gboolean chorus_config_load_data(ChorusConfig *cfg, const char *data, const char *name,
                                 GError **error);
/* Applies one "section.key=value" override (the --set command-line option). */
gboolean chorus_config_set(ChorusConfig *cfg, const char *assignment, GError **error);

/* Iterates the option table: for docs and the config test. */
typedef struct {
    const char *section;
    const char *key;
    const char *default_value;
    const char *help;
} ChorusConfigOptionInfo;
const ChorusConfigOptionInfo *chorus_config_option(guint index); /* NULL past the end */

#endif
