/* Unit tests: signal/transport over real sockets: HTTP (/health, static files, limits)
 * and WebSocket with a raw client written here (handshake, masked frames, close codes). */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <pthread.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "signal/transport.h"

#define WAIT_US (5 * G_USEC_PER_SEC)

/* ---- what the transport reported ---- */

typedef struct {
    ChorusConn *conn;
    char *text;
    gsize len;
} Msg;

/* pthread rather than GMutex/GCond so that ThreadSanitizer sees the synchronisation. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    GPtrArray *messages; /* Msg * */
    GPtrArray *closed;   /* ChorusConn * (ref), one entry per on_closed */
    int flood_accepted;  /* sends accepted when a client asked for "flood" */
    char *health_body;   /* NULL: the callback returns NULL */
} Events;

typedef struct {
    char *dir, *root;
    ChorusConfig *cfg;
    ChorusTransport *t;
    Events ev;
    ChorusTransportCallbacks cb;
    int ws_port, admin_port, http_port;
} Fixture;

static void msg_free(gpointer p)
{
    Msg *m = p;
    chorus_conn_unref(m->conn);
    g_free(m->text);
    g_free(m);
}

static void on_message(ChorusConn *conn, const char *text, gsize len, gpointer user)
{
    Events *ev = user;
    if (strcmp(text, "flood") == 0) {
        /* Queue from the service thread itself, so nothing drains meanwhile. */
        int accepted = 0;
        for (int i = 0; i < 10000; i++)
            accepted += chorus_conn_send(conn, g_strdup_printf("flood %d", i));
        pthread_mutex_lock(&ev->lock);
        ev->flood_accepted = accepted;
        pthread_mutex_unlock(&ev->lock);
    }
    Msg *m = g_new0(Msg, 1);
    m->conn = chorus_conn_ref(conn);
    m->text = g_memdup2(text, len + 1); /* includes the NUL the transport promises */
    m->len = len;
    pthread_mutex_lock(&ev->lock);
    g_ptr_array_add(ev->messages, m);
    pthread_cond_broadcast(&ev->cond);
    pthread_mutex_unlock(&ev->lock);
}

static void on_closed(ChorusConn *conn, gpointer user)
{
    Events *ev = user;
    pthread_mutex_lock(&ev->lock);
    g_ptr_array_add(ev->closed, chorus_conn_ref(conn));
    pthread_cond_broadcast(&ev->cond);
    pthread_mutex_unlock(&ev->lock);
}

static char *health(gpointer user)
{
    Events *ev = user;
    pthread_mutex_lock(&ev->lock);
    char *body = g_strdup(ev->health_body);
    pthread_mutex_unlock(&ev->lock);
    return body;
}

static Msg *wait_message(Fixture *f, guint index)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += WAIT_US / G_USEC_PER_SEC;
    Msg *m = NULL;
    pthread_mutex_lock(&f->ev.lock);
    while (f->ev.messages->len <= index &&
           pthread_cond_timedwait(&f->ev.cond, &f->ev.lock, &end) == 0)
        ;
    if (f->ev.messages->len > index)
        m = f->ev.messages->pdata[index];
    pthread_mutex_unlock(&f->ev.lock);
    g_assert_nonnull(m);
    return m;
}

static guint message_count(Fixture *f)
{
    pthread_mutex_lock(&f->ev.lock);
    guint n = f->ev.messages->len;
    pthread_mutex_unlock(&f->ev.lock);
    return n;
}

static guint closed_count(Fixture *f, ChorusConn *conn)
{
    guint n = 0;
    pthread_mutex_lock(&f->ev.lock);
    for (guint i = 0; i < f->ev.closed->len; i++)
        n += f->ev.closed->pdata[i] == conn;
    pthread_mutex_unlock(&f->ev.lock);
    return n;
}

static void wait_closed(Fixture *f, ChorusConn *conn)
{
    gint64 end = g_get_monotonic_time() + WAIT_US;
    while (closed_count(f, conn) == 0 && g_get_monotonic_time() < end)
        g_usleep(2000);
    g_assert_cmpuint(closed_count(f, conn), ==, 1);
    g_usleep(50 * 1000); /* and it stays once */
    g_assert_cmpuint(closed_count(f, conn), ==, 1);
}

/* ---- fixture ---- */

static int free_port(void)
{
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *sa = g_inet_socket_address_new(lo, 0);
    g_assert_true(g_socket_bind(s, sa, TRUE, NULL));
    GSocketAddress *bound = g_socket_get_local_address(s, NULL);
    int port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound);
    g_object_unref(sa);
    g_object_unref(lo);
    g_socket_close(s, NULL);
    g_object_unref(s);
    return port;
}

static void write_file(const char *dir, const char *name, const char *text, gssize len)
{
    char *path = g_build_filename(dir, name, NULL);
    g_assert_true(g_file_set_contents(path, text, len, NULL));
    g_free(path);
}

static void fixture_set_up(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("chorus-transport-XXXXXX", NULL);
    f->root = g_build_filename(f->dir, "html", NULL);
    g_assert_cmpint(g_mkdir(f->root, 0700), ==, 0);
    write_file(f->dir, "secret.txt", "TOPSECRET", -1);
    write_file(f->root, "index.html", "<html>chorus</html>", -1);
    write_file(f->root, "app.js", "console.log(1);", -1);
    write_file(f->root, "a b.txt", "spaced", -1);
    char *big = g_malloc(200000);
    for (gsize i = 0; i < 200000; i++)
        big[i] = (char)('a' + i % 26);
    write_file(f->root, "big.txt", big, 200000);
    g_free(big);
    char *link = g_build_filename(f->root, "out.txt", NULL);
    g_assert_cmpint(symlink("../secret.txt", link), ==, 0);
    g_free(link);

    f->cfg = chorus_config_new_defaults();
    g_free(f->cfg->ws_interface);
    g_free(f->cfg->admin_interface);
    g_free(f->cfg->http_interface);
    g_free(f->cfg->html_folder);
    f->cfg->ws_interface = g_strdup("127.0.0.1");
    f->cfg->admin_interface = g_strdup("127.0.0.1");
    f->cfg->http_interface = g_strdup("127.0.0.1");
    f->cfg->html_folder = g_strdup(f->root);
    f->cfg->ws_port = f->ws_port = free_port();
    f->cfg->admin_port = f->admin_port = free_port();
    f->cfg->http_port = f->http_port = free_port();

    pthread_mutex_init(&f->ev.lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&f->ev.cond, &attr);
    pthread_condattr_destroy(&attr);
    f->ev.messages = g_ptr_array_new_with_free_func(msg_free);
    f->ev.closed = g_ptr_array_new_with_free_func((GDestroyNotify)chorus_conn_unref);
    f->ev.health_body = g_strdup("{\"status\":\"ok\",\"sessions\":3}");
    f->cb = (ChorusTransportCallbacks){on_message, on_closed, health, &f->ev};
}

/* Starts the transport; a port taken meanwhile (free_port races with other processes'
 * outgoing connections) is replaced and the start retried. */
static void start(Fixture *f)
{
    GError *error = NULL;
    for (int attempt = 0; attempt < 5; attempt++) {
        f->t = chorus_transport_start(f->cfg, &f->cb, &error);
        if (f->t || !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
            break;
        g_clear_error(&error);
        if (f->cfg->ws_port)
            f->cfg->ws_port = f->ws_port = free_port();
        if (f->cfg->admin_port)
            f->cfg->admin_port = f->admin_port = free_port();
        if (f->cfg->http_port)
            f->cfg->http_port = f->http_port = free_port();
    }
    g_assert_no_error(error);
    g_assert_nonnull(f->t);
    g_assert_cmpint(chorus_transport_ws_port(f->t), ==, f->ws_port);
}

static void rm_rf(const char *path)
{
    GDir *d = g_file_test(path, G_FILE_TEST_IS_SYMLINK) ? NULL : g_dir_open(path, 0, NULL);
    if (!d) {
        g_unlink(path);
        return;
    }
    const char *name;
    while ((name = g_dir_read_name(d))) {
        char *child = g_build_filename(path, name, NULL);
        rm_rf(child);
        g_free(child);
    }
    g_dir_close(d);
    g_rmdir(path);
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
    if (f->t)
        chorus_transport_stop(f->t, 200);
    g_ptr_array_free(f->ev.messages, TRUE);
    g_ptr_array_free(f->ev.closed, TRUE);
    g_free(f->ev.health_body);
    pthread_mutex_destroy(&f->ev.lock);
    pthread_cond_destroy(&f->ev.cond);
    chorus_config_free(f->cfg);
    rm_rf(f->dir);
    g_free(f->root);
    g_free(f->dir);
}

/* ---- raw sockets ---- */

static GSocket *tcp_connect(int port)
{
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
    g_socket_set_timeout(s, 5);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *sa = g_inet_socket_address_new(lo, (guint16)port);
    GError *error = NULL;
    g_socket_connect(s, sa, NULL, &error);
    g_assert_no_error(error);
    g_object_unref(sa);
    g_object_unref(lo);
    return s;
}

static void send_all(GSocket *s, const void *data, gsize len)
{
    const char *p = data;
    while (len > 0) {
        GError *error = NULL;
        gssize n = g_socket_send(s, p, len, NULL, &error);
        g_assert_no_error(error);
        p += n;
        len -= (gsize)n;
    }
}

/* FALSE on EOF or error (timeouts included). */
static gboolean recv_exact(GSocket *s, void *buf, gsize len)
{
    char *p = buf;
    while (len > 0) {
        gssize n = g_socket_receive(s, p, len, NULL, NULL);
        if (n <= 0)
            return FALSE;
        p += n;
        len -= (gsize)n;
    }
    return TRUE;
}

/* Reads up to and including the blank line; NULL on EOF. */
static char *recv_head(GSocket *s)
{
    GString *head = g_string_new(NULL);
    char c;
    while (!g_str_has_suffix(head->str, "\r\n\r\n")) {
        if (!recv_exact(s, &c, 1))
            return g_string_free(head, TRUE);
        g_string_append_c(head, c);
    }
    return g_string_free(head, FALSE);
}

static int head_status(const char *head)
{
    int status = 0;
    if (!head || sscanf(head, "HTTP/1.%*d %d", &status) != 1)
        return 0;
    return status;
}

/* Value of a header (case-insensitive name), new string, or NULL. */
static char *head_header(const char *head, const char *name)
{
    char **lines = g_strsplit(head, "\r\n", -1);
    char *value = NULL;
    gsize n = strlen(name);
    for (char **l = lines; *l && !value; l++) {
        if (g_ascii_strncasecmp(*l, name, n) == 0 && (*l)[n] == ':')
            value = g_strstrip(g_strdup(*l + n + 1));
    }
    g_strfreev(lines);
    return value;
}

typedef struct {
    int status;
    char *head;
    GString *body;
} HttpResp;

static void http_resp_free(HttpResp *r)
{
    g_free(r->head);
    g_string_free(r->body, TRUE);
    g_free(r);
}

/* One request on a new connection; the body is read by Content-Length (none for HEAD). */
static HttpResp *http_request(int port, const char *method, const char *target)
{
    GSocket *s = tcp_connect(port);
    char *req = g_strdup_printf("%s %s HTTP/1.1\r\nHost: localhost\r\n\r\n", method, target);
    send_all(s, req, strlen(req));
    g_free(req);
    HttpResp *r = g_new0(HttpResp, 1);
    r->head = recv_head(s);
    r->status = head_status(r->head);
    r->body = g_string_new(NULL);
    char *cl = r->head ? head_header(r->head, "content-length") : NULL;
    if (cl && strcmp(method, "HEAD") != 0) {
        gsize len = (gsize)g_ascii_strtoull(cl, NULL, 10);
        g_string_set_size(r->body, len);
        g_assert_true(recv_exact(s, r->body->str, len));
    }
    g_free(cl);
    g_object_unref(s);
    return r;
}

/* ---- raw WebSocket client ---- */

typedef struct {
    GSocket *s;
    int status; /* of the handshake */
} Ws;

static char *ws_accept_for(const char *key)
{
    char *cat = g_strconcat(key, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", NULL);
    GChecksum *sha = g_checksum_new(G_CHECKSUM_SHA1);
    g_checksum_update(sha, (const guchar *)cat, -1);
    guint8 digest[20];
    gsize dlen = sizeof digest;
    g_checksum_get_digest(sha, digest, &dlen);
    g_checksum_free(sha);
    g_free(cat);
    return g_base64_encode(digest, dlen);
}

/* Handshake with the given subprotocol (NULL: none offered). On success status is 101
 * and the Sec-WebSocket-Accept was checked. */
static Ws *ws_connect(int port, const char *protocol)
{
    Ws *ws = g_new0(Ws, 1);
    ws->s = tcp_connect(port);
    guint8 raw[16];
    for (gsize i = 0; i < sizeof raw; i++)
        raw[i] = (guint8)g_random_int();
    char *key = g_base64_encode(raw, sizeof raw);
    char *proto =
        protocol ? g_strdup_printf("Sec-WebSocket-Protocol: %s\r\n", protocol) : g_strdup("");
    char *req = g_strdup_printf("GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                                "Sec-WebSocket-Version: 13\r\n%s\r\n",
                                key, proto);
    send_all(ws->s, req, strlen(req));
    char *head = recv_head(ws->s);
    ws->status = head_status(head);
    if (ws->status == 101) {
        char *accept = head_header(head, "sec-websocket-accept");
        char *want = ws_accept_for(key);
        g_assert_cmpstr(accept, ==, want);
        char *got_proto = head_header(head, "sec-websocket-protocol");
        g_assert_cmpstr(got_proto, ==, protocol);
        g_free(got_proto);
        g_free(accept);
        g_free(want);
    }
    g_free(head);
    g_free(req);
    g_free(proto);
    g_free(key);
    return ws;
}

static void ws_free(Ws *ws)
{
    g_socket_close(ws->s, NULL);
    g_object_unref(ws->s);
    g_free(ws);
}

static void ws_send_frame(Ws *ws, int opcode, gboolean fin, const void *data, gsize len)
{
    GByteArray *f = g_byte_array_new();
    guint8 b0 = (guint8)((fin ? 0x80 : 0) | opcode);
    g_byte_array_append(f, &b0, 1);
    if (len < 126) {
        guint8 b1 = (guint8)(0x80 | len);
        g_byte_array_append(f, &b1, 1);
    } else if (len < 65536) {
        guint8 b[3] = {0x80 | 126, (guint8)(len >> 8), (guint8)len};
        g_byte_array_append(f, b, 3);
    } else {
        guint8 b[9] = {0x80 | 127};
        for (int i = 0; i < 8; i++)
            b[1 + i] = (guint8)((guint64)len >> (56 - 8 * i));
        g_byte_array_append(f, b, 9);
    }
    guint8 mask[4];
    for (int i = 0; i < 4; i++)
        mask[i] = (guint8)g_random_int();
    g_byte_array_append(f, mask, 4);
    gsize off = f->len;
    g_byte_array_append(f, data, (guint)len);
    for (gsize i = 0; i < len; i++)
        f->data[off + i] ^= mask[i % 4];
    send_all(ws->s, f->data, f->len);
    g_byte_array_free(f, TRUE);
}

static void ws_send_text(Ws *ws, const char *text)
{
    ws_send_frame(ws, 1, TRUE, text, strlen(text));
}

/* Reads one whole message (joining continuation frames). Returns the opcode of its first
 * frame (1 text, 8 close...), or -1 on EOF/timeout. */
static int ws_read_message(Ws *ws, GString *payload)
{
    int first_opcode = -1;
    g_string_truncate(payload, 0);
    for (;;) {
        guint8 h[2];
        if (!recv_exact(ws->s, h, 2))
            return -1;
        g_assert_false(h[1] & 0x80); /* server frames are not masked */
        guint64 len = h[1] & 0x7f;
        if (len >= 126) {
            guint8 ext[8];
            gsize n = len == 126 ? 2 : 8;
            if (!recv_exact(ws->s, ext, n))
                return -1;
            len = 0;
            for (gsize i = 0; i < n; i++)
                len = len << 8 | ext[i];
        }
        gsize off = payload->len;
        g_string_set_size(payload, off + len);
        if (!recv_exact(ws->s, payload->str + off, len))
            return -1;
        if (first_opcode < 0)
            first_opcode = h[0] & 0x0f;
        if (h[0] & 0x80)
            return first_opcode;
    }
}

/* Reads messages until a close frame; returns its status code (0 if none came). */
static int ws_expect_close(Ws *ws, char **reason)
{
    GString *p = g_string_new(NULL);
    int op, code = 0;
    while ((op = ws_read_message(ws, p)) >= 0 && op != 8)
        ;
    if (op == 8 && p->len >= 2) {
        code = (guint8)p->str[0] << 8 | (guint8)p->str[1];
        if (reason)
            *reason = g_strndup(p->str + 2, p->len - 2);
    }
    g_string_free(p, TRUE);
    return code;
}

static char *ws_expect_text(Ws *ws)
{
    GString *p = g_string_new(NULL);
    int op = ws_read_message(ws, p);
    g_assert_cmpint(op, ==, 1);
    return g_string_free(p, FALSE);
}

/* Connects, sends one message, and returns the server side of the connection. */
static ChorusConn *ws_open_conn(Fixture *f, int port, const char *protocol, Ws **out)
{
    guint index = message_count(f);
    Ws *ws = ws_connect(port, protocol);
    g_assert_cmpint(ws->status, ==, 101);
    char *hello = g_strdup_printf("hello %u", index);
    ws_send_text(ws, hello);
    Msg *m = wait_message(f, index);
    g_assert_cmpstr(m->text, ==, hello);
    g_free(hello);
    *out = ws;
    return m->conn;
}

/* ---- HTTP tests ---- */

static void test_http_health(Fixture *f, gconstpointer data)
{
    start(f);
    HttpResp *r = http_request(f->http_port, "GET", "/health");
    g_assert_cmpint(r->status, ==, 200);
    char *type = head_header(r->head, "content-type");
    g_assert_cmpstr(type, ==, "application/json");
    g_assert_cmpstr(r->body->str, ==, "{\"status\":\"ok\",\"sessions\":3}");
    g_free(type);
    http_resp_free(r);

    pthread_mutex_lock(&f->ev.lock);
    g_free(f->ev.health_body);
    f->ev.health_body = NULL; /* the callback returns NULL: the default body */
    pthread_mutex_unlock(&f->ev.lock);
    r = http_request(f->http_port, "GET", "/health");
    g_assert_cmpint(r->status, ==, 200);
    g_assert_cmpstr(r->body->str, ==, "{\"status\":\"ok\"}");
    http_resp_free(r);
}

static void test_http_static(Fixture *f, gconstpointer data)
{
    start(f);
    HttpResp *r = http_request(f->http_port, "GET", "/index.html");
    g_assert_cmpint(r->status, ==, 200);
    g_assert_cmpstr(r->body->str, ==, "<html>chorus</html>");
    char *type = head_header(r->head, "content-type");
    char *cache = head_header(r->head, "cache-control");
    g_assert_true(g_str_has_prefix(type, "text/html"));
    g_assert_cmpstr(cache, ==, "no-cache");
    g_free(type);
    g_free(cache);
    http_resp_free(r);

    r = http_request(f->http_port, "GET", "/?x=1");
    g_assert_cmpint(r->status, ==, 200);
    g_assert_cmpstr(r->body->str, ==, "<html>chorus</html>");
    http_resp_free(r);

    r = http_request(f->http_port, "GET", "/app.js?v=2");
    type = head_header(r->head, "content-type");
    g_assert_cmpint(r->status, ==, 200);
    g_assert_true(g_str_has_prefix(type, "text/javascript"));
    g_assert_cmpstr(r->body->str, ==, "console.log(1);");
    g_free(type);
    http_resp_free(r);

    r = http_request(f->http_port, "GET", "/a%20b.txt"); /* lws hands over decoded paths */
    g_assert_cmpint(r->status, ==, 200);
    g_assert_cmpstr(r->body->str, ==, "spaced");
    http_resp_free(r);

    r = http_request(f->http_port, "GET", "/big.txt"); /* several writable rounds */
    g_assert_cmpint(r->status, ==, 200);
    g_assert_cmpuint(r->body->len, ==, 200000);
    for (gsize i = 0; i < 200000; i += 997)
        g_assert_cmpint(r->body->str[i], ==, 'a' + (int)(i % 26));
    http_resp_free(r);

    r = http_request(f->http_port, "GET", "/missing.html");
    g_assert_cmpint(r->status, ==, 404);
    g_assert_cmpstr(r->body->str, ==, "not found\n");
    http_resp_free(r);
}

static void test_http_traversal(Fixture *f, gconstpointer data)
{
    start(f);
    const char *targets[] = {
        "/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt",        "/%2e%2e%2fsecret.txt",
        "//secret.txt",   "/..\\secret.txt",    "/%5c..%5csecret.txt",     "/html/../../secret.txt",
        "/out.txt",       "/index.html%00",     "/../../../../etc/passwd",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(targets); i++) {
        HttpResp *r = http_request(f->http_port, "GET", targets[i]);
        if (r->status == 200 || strstr(r->body->str, "TOPSECRET") || strstr(r->body->str, "root:"))
            g_error("%s served: %d %s", targets[i], r->status, r->body->str);
        /* 0: lws's request parser dropped the connection (it does for %00) */
        if (r->status != 0)
            g_assert_cmpint(r->status, >=, 400);
        http_resp_free(r);
    }
    /* A symlink escaping the root is recognised as such. */
    HttpResp *r = http_request(f->http_port, "GET", "/out.txt");
    g_assert_cmpint(r->status, ==, 403);
    http_resp_free(r);
}

static void test_http_methods(Fixture *f, gconstpointer data)
{
    start(f);
    HttpResp *r = http_request(f->http_port, "HEAD", "/index.html");
    g_assert_cmpint(r->status, ==, 200);
    char *len = head_header(r->head, "content-length");
    g_assert_cmpstr(len, ==, "19");
    g_free(len);
    http_resp_free(r);

    const char *refused[] = {"POST", "PUT", "DELETE", "OPTIONS"};
    for (gsize i = 0; i < G_N_ELEMENTS(refused); i++) {
        r = http_request(f->http_port, refused[i], "/index.html");
        g_assert_cmpint(r->status, ==, 405);
        char *allow = head_header(r->head, "allow");
        g_assert_cmpstr(allow, ==, "GET, HEAD");
        g_free(allow);
        http_resp_free(r);
    }
    /* Plain HTTP on the WebSocket port: /health only. */
    r = http_request(f->ws_port, "GET", "/health");
    g_assert_cmpint(r->status, ==, 200);
    http_resp_free(r);
    r = http_request(f->ws_port, "GET", "/index.html");
    g_assert_cmpint(r->status, ==, 404);
    http_resp_free(r);
}

/* ---- WebSocket tests ---- */

static void test_ws_messages(Fixture *f, gconstpointer data)
{
    start(f);
    Ws *ws;
    ChorusConn *conn = ws_open_conn(f, f->ws_port, "janus-protocol", &ws);
    g_assert_false(chorus_conn_is_admin(conn));
    g_assert_cmpstr(chorus_conn_peer_ip(conn), ==, "127.0.0.1");
    g_assert_cmpuint(chorus_conn_id(conn), >, 0);

    /* A message in three fragments, larger than any receive buffer. */
    gsize total = 100000;
    char *big = g_malloc(total + 1);
    for (gsize i = 0; i < total; i++)
        big[i] = (char)('A' + i % 23);
    big[total] = '\0';
    ws_send_frame(ws, 1, FALSE, big, 30000);
    ws_send_frame(ws, 0, FALSE, big + 30000, 40000);
    ws_send_frame(ws, 0, TRUE, big + 70000, total - 70000);
    Msg *m = wait_message(f, 1);
    g_assert_cmpuint(m->len, ==, total);
    g_assert_true(memcmp(m->text, big, total) == 0);
    g_assert_cmpint(m->text[total], ==, '\0');
    g_assert_true(m->conn == conn);

    /* One big frame, then an empty message. */
    ws_send_frame(ws, 1, TRUE, big, 70000);
    m = wait_message(f, 2);
    g_assert_cmpuint(m->len, ==, 70000);
    g_assert_true(memcmp(m->text, big, 70000) == 0);
    ws_send_text(ws, "");
    m = wait_message(f, 3);
    g_assert_cmpuint(m->len, ==, 0);
    g_assert_cmpstr(m->text, ==, "");

    /* Server to client, including one bigger than a single write. */
    g_assert_true(chorus_conn_send(conn, g_strdup("{\"janus\":\"ack\"}")));
    g_assert_true(chorus_conn_send(conn, g_strdup(big)));
    char *got = ws_expect_text(ws);
    g_assert_cmpstr(got, ==, "{\"janus\":\"ack\"}");
    g_free(got);
    got = ws_expect_text(ws);
    g_assert_cmpstr(got, ==, big);
    g_free(got);
    g_free(big);
    ws_free(ws);
}

typedef struct {
    ChorusConn *conn;
    int count;
} SenderArgs;

static gpointer sender_thread(gpointer data)
{
    SenderArgs *a = data;
    for (int i = 0; i < a->count; i++)
        g_assert_true(chorus_conn_send(a->conn, g_strdup_printf("message %d", i)));
    return NULL;
}

static void test_ws_send_from_threads(Fixture *f, gconstpointer data)
{
    start(f);
    Ws *ws;
    ChorusConn *conn = ws_open_conn(f, f->ws_port, "janus-protocol", &ws);
    SenderArgs a = {conn, 500};
    GThread *th = g_thread_new("sender", sender_thread, &a);
    for (int i = 0; i < a.count; i++) {
        char *got = ws_expect_text(ws);
        char *want = g_strdup_printf("message %d", i);
        g_assert_cmpstr(got, ==, want);
        g_free(got);
        g_free(want);
    }
    g_thread_join(th);
    ws_free(ws);
    wait_closed(f, conn);
    g_assert_false(chorus_conn_send(conn, g_strdup("after close")));
}

static void test_ws_oversize(Fixture *f, gconstpointer data)
{
    f->cfg->max_message_size = 1024;
    start(f);
    Ws *ws;
    ChorusConn *conn = ws_open_conn(f, f->ws_port, "janus-protocol", &ws);
    char *text = g_strnfill(2000, 'x');
    ws_send_text(ws, text);
    char *reason = NULL;
    g_assert_cmpint(ws_expect_close(ws, &reason), ==, 1009);
    g_assert_cmpstr(reason, ==, "message too large (limit 1024 bytes)");
    g_free(reason);
    ws_free(ws);
    wait_closed(f, conn);

    /* Fragments each under the limit but over it together. */
    conn = ws_open_conn(f, f->ws_port, "janus-protocol", &ws);
    ws_send_frame(ws, 1, FALSE, text, 800);
    ws_send_frame(ws, 0, TRUE, text, 800);
    g_assert_cmpint(ws_expect_close(ws, NULL), ==, 1009);
    ws_free(ws);
    wait_closed(f, conn);
    g_assert_cmpuint(message_count(f), ==, 2); /* only the two hellos */

    /* Exactly the limit is fine. */
    ws = ws_connect(f->ws_port, "janus-protocol");
    ws_send_frame(ws, 1, TRUE, text, 1024);
    Msg *m = wait_message(f, 2);
    g_assert_cmpuint(m->len, ==, 1024);
    ws_free(ws);
    g_free(text);
}

static void test_ws_per_ip_limit(Fixture *f, gconstpointer data)
{
    f->cfg->max_connections_per_ip = 2;
    start(f);
    Ws *a, *b;
    ChorusConn *ca = ws_open_conn(f, f->ws_port, "janus-protocol", &a);
    ws_open_conn(f, f->ws_port, "janus-protocol", &b);

    Ws *c = ws_connect(f->ws_port, "janus-protocol");
    g_assert_cmpint(c->status, ==, 101);
    char *reason = NULL;
    g_assert_cmpint(ws_expect_close(c, &reason), ==, 1008);
    g_assert_cmpstr(reason, ==, "too many connections from 127.0.0.1");
    g_free(reason);
    ws_free(c);

    HttpResp *r = http_request(f->http_port, "GET", "/health"); /* HTTP counts too */
    g_assert_cmpint(r->status, ==, 503);
    http_resp_free(r);

    /* Closing one makes room again. */
    ws_free(a);
    wait_closed(f, ca);
    Ws *d;
    ws_open_conn(f, f->ws_port, "janus-protocol", &d);
    ws_free(d);
    ws_free(b);
}

static void test_ws_total_limit(Fixture *f, gconstpointer data)
{
    f->cfg->max_connections = 1;
    start(f);
    Ws *a;
    ws_open_conn(f, f->ws_port, "janus-protocol", &a);
    Ws *b = ws_connect(f->admin_port, "janus-admin-protocol");
    g_assert_cmpint(b->status, ==, 101);
    char *reason = NULL;
    g_assert_cmpint(ws_expect_close(b, &reason), ==, 1008);
    g_assert_cmpstr(reason, ==, "server full");
    g_free(reason);
    ws_free(b);
    ws_free(a);
}

static void test_ws_admin(Fixture *f, gconstpointer data)
{
    start(f);
    Ws *ws;
    ChorusConn *conn = ws_open_conn(f, f->admin_port, "janus-admin-protocol", &ws);
    g_assert_true(chorus_conn_is_admin(conn));
    ws_free(ws);

    const struct {
        int port;
        const char *protocol;
    } refused[] = {
        {f->admin_port, "janus-protocol"},
        {f->admin_port, NULL},
        {f->ws_port, "janus-admin-protocol"},
        {f->ws_port, NULL},
        {f->ws_port, "chat"},
        {f->http_port, "janus-protocol"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(refused); i++) {
        ws = ws_connect(refused[i].port, refused[i].protocol);
        if (ws->status == 101)
            g_error("port %d accepted subprotocol %s", refused[i].port,
                    refused[i].protocol ? refused[i].protocol : "(none)");
        ws_free(ws);
    }
    g_assert_cmpuint(message_count(f), ==, 1);
}

static void test_ws_closed_once(Fixture *f, gconstpointer data)
{
    start(f);
    /* The client closes politely. */
    Ws *ws;
    ChorusConn *conn = ws_open_conn(f, f->ws_port, "janus-protocol", &ws);
    guint8 close_payload[] = {0x03, 0xe8, 'b', 'y', 'e'};
    ws_send_frame(ws, 8, TRUE, close_payload, sizeof close_payload);
    g_assert_cmpint(ws_expect_close(ws, NULL), ==, 1000);
    ws_free(ws);
    wait_closed(f, conn);
    g_assert_false(chorus_conn_send(conn, g_strdup("late")));

    /* The client just drops the TCP connection. */
    conn = ws_open_conn(f, f->ws_port, "janus-protocol", &ws);
    ws_free(ws);
    wait_closed(f, conn);
    chorus_conn_close(conn); /* harmless after the fact */
    g_usleep(20 * 1000);
    g_assert_cmpuint(closed_count(f, conn), ==, 1);
}

static void test_ws_server_close(Fixture *f, gconstpointer data)
{
    start(f);
    Ws *ws;
    ChorusConn *conn = ws_open_conn(f, f->ws_port, "janus-protocol", &ws);
    g_assert_true(chorus_conn_send(conn, g_strdup("last words")));
    chorus_conn_close(conn);
    chorus_conn_close(conn);
    g_assert_false(chorus_conn_send(conn, g_strdup("after close request")));
    char *got = ws_expect_text(ws); /* what was queued goes out first */
    g_assert_cmpstr(got, ==, "last words");
    g_free(got);
    char *reason = NULL;
    g_assert_cmpint(ws_expect_close(ws, &reason), ==, 1000);
    g_assert_cmpstr(reason, ==, "closed by server");
    g_free(reason);
    ws_free(ws);
    wait_closed(f, conn);
}

static void test_ws_queue_overflow(Fixture *f, gconstpointer data)
{
    start(f);
    Ws *ws;
    ChorusConn *conn = ws_open_conn(f, f->ws_port, "janus-protocol", &ws);
    ws_send_text(ws, "flood");
    wait_message(f, 1);
    char *reason = NULL;
    g_assert_cmpint(ws_expect_close(ws, &reason), ==, 1000);
    g_free(reason);
    pthread_mutex_lock(&f->ev.lock);
    int accepted = f->ev.flood_accepted;
    pthread_mutex_unlock(&f->ev.lock);
    g_assert_cmpint(accepted, ==, 8192); /* CHORUS_CONN_MAX_QUEUED, then refused */
    ws_free(ws);
    wait_closed(f, conn);
}

typedef struct {
    ChorusConn *conn;
    gint refused; /* atomic: threads that saw a send refused */
} RaceArgs;

static gpointer racing_sender(gpointer data)
{
    RaceArgs *a = data;
    gint64 end = g_get_monotonic_time() + WAIT_US;
    while (g_get_monotonic_time() < end) {
        if (!chorus_conn_send(a->conn, g_strdup("{\"janus\":\"event\"}"))) {
            g_atomic_int_inc(&a->refused);
            break;
        }
        g_usleep(50); /* slower than the service thread drains: no overflow */
    }
    return NULL;
}

/* Senders on several threads while the connection goes away under them. */
static void test_ws_send_close_race(Fixture *f, gconstpointer data)
{
    start(f);
    for (int round = 0; round < 3; round++) {
        Ws *ws;
        ChorusConn *conn = ws_open_conn(f, f->ws_port, "janus-protocol", &ws);
        RaceArgs a = {conn, 0};
        GThread *th[4];
        for (int i = 0; i < 4; i++)
            th[i] = g_thread_new("racer", racing_sender, &a);
        g_usleep(20 * 1000);
        if (round == 0)
            ws_free(ws); /* the client vanishes */
        else
            chorus_conn_close(conn); /* the server closes */
        for (int i = 0; i < 4; i++)
            g_thread_join(th[i]);
        g_assert_cmpint(g_atomic_int_get(&a.refused), ==, 4);
        wait_closed(f, conn);
        if (round != 0)
            ws_free(ws);
    }
}

static void test_any_interface(Fixture *f, gconstpointer data)
{
    const char *any[] = {"0.0.0.0", ""};
    for (gsize i = 0; i < G_N_ELEMENTS(any); i++) {
        g_free(f->cfg->ws_interface);
        f->cfg->ws_interface = g_strdup(any[i]);
        f->cfg->admin_port = f->cfg->http_port = 0;
        f->cfg->ws_port = f->ws_port = free_port();
        start(f);
        Ws *ws;
        ChorusConn *conn = ws_open_conn(f, f->ws_port, "janus-protocol", &ws);
        g_assert_cmpstr(chorus_conn_peer_ip(conn), ==, "127.0.0.1");
        ws_free(ws);
        chorus_transport_stop(f->t, 100);
        f->t = NULL;
    }
}

static void test_stop_flushes(Fixture *f, gconstpointer data)
{
    start(f);
    Ws *ws;
    ChorusConn *conn = ws_open_conn(f, f->ws_port, "janus-protocol", &ws);
    for (int i = 0; i < 50; i++)
        g_assert_true(chorus_conn_send(conn, g_strdup_printf("queued %d", i)));
    chorus_transport_stop(f->t, 2000);
    f->t = NULL;
    g_assert_cmpuint(closed_count(f, conn), ==, 1);
    g_assert_false(chorus_conn_send(conn, g_strdup("after stop")));
    for (int i = 0; i < 50; i++) {
        char *got = ws_expect_text(ws);
        char *want = g_strdup_printf("queued %d", i);
        g_assert_cmpstr(got, ==, want);
        g_free(got);
        g_free(want);
    }
    char *reason = NULL;
    g_assert_cmpint(ws_expect_close(ws, &reason), ==, 1001);
    g_assert_cmpstr(reason, ==, "server shutting down");
    g_free(reason);
    ws_free(ws);
}

static void test_start_errors(Fixture *f, gconstpointer data)
{
    /* A port someone else listens on. */
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *sa = g_inet_socket_address_new(lo, (guint16)f->admin_port);
    g_assert_true(g_socket_bind(s, sa, TRUE, NULL));
    g_assert_true(g_socket_listen(s, NULL));
    GError *error = NULL;
    ChorusTransport *t = chorus_transport_start(f->cfg, &f->cb, &error);
    g_assert_null(t);
    g_assert_nonnull(error);
    char *port = g_strdup_printf("%d", f->admin_port);
    g_assert_nonnull(strstr(error->message, port));
    g_assert_nonnull(strstr(error->message, "in use"));
    g_free(port);
    g_clear_error(&error);
    g_socket_close(s, NULL);
    g_object_unref(s);
    g_object_unref(sa);
    g_object_unref(lo);

    /* Interfaces that do not exist here. */
    const char *bad[] = {"no-such-if0", "192.0.2.1"};
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_free(f->cfg->ws_interface);
        f->cfg->ws_interface = g_strdup(bad[i]);
        t = chorus_transport_start(f->cfg, &f->cb, &error);
        g_assert_null(t);
        g_assert_nonnull(error);
        g_assert_nonnull(strstr(error->message, bad[i]));
        g_clear_error(&error);
    }

    /* Every listener off is allowed. */
    f->cfg->ws_port = f->cfg->admin_port = f->cfg->http_port = 0;
    t = chorus_transport_start(f->cfg, &f->cb, &error);
    g_assert_no_error(error);
    g_assert_cmpint(chorus_transport_ws_port(t), ==, 0);
    chorus_transport_stop(t, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
    ADD("/transport/http/health", test_http_health);
    ADD("/transport/http/static", test_http_static);
    ADD("/transport/http/traversal", test_http_traversal);
    ADD("/transport/http/methods", test_http_methods);
    ADD("/transport/ws/messages", test_ws_messages);
    ADD("/transport/ws/send-from-threads", test_ws_send_from_threads);
    ADD("/transport/ws/oversize", test_ws_oversize);
    ADD("/transport/ws/per-ip-limit", test_ws_per_ip_limit);
    ADD("/transport/ws/total-limit", test_ws_total_limit);
    ADD("/transport/ws/admin", test_ws_admin);
    ADD("/transport/ws/closed-once", test_ws_closed_once);
    ADD("/transport/ws/server-close", test_ws_server_close);
    ADD("/transport/ws/queue-overflow", test_ws_queue_overflow);
    ADD("/transport/ws/send-close-race", test_ws_send_close_race);
    ADD("/transport/any-interface", test_any_interface);
    ADD("/transport/stop-flushes", test_stop_flushes);
    ADD("/transport/start-errors", test_start_errors);
#undef ADD
    return g_test_run();
}
