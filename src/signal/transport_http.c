/* Transport: plain HTTP (service thread): GET /health and static files, GET and HEAD
 * only. Responses are written as headers from LWS_CALLBACK_HTTP, then the body in
 * chunks from LWS_CALLBACK_HTTP_WRITEABLE. See transport_priv.h. */
#include "signal/transport_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signal/http_static.h"
#include "util/log.h"

#define HTTP_CHUNK 16384

void http_pss_clear(Pss *pss)
{
    if (!pss)
        return;
    g_free(pss->body);
    pss->body = NULL;
    pss->body_len = pss->body_off = 0;
    if (pss->has_fd)
        close(pss->fd);
    pss->has_fd = FALSE;
    pss->file_left = 0;
}

static const char *http_method(struct lws *wsi)
{
    static const struct {
        enum lws_token_indexes token;
        const char *name;
    } methods[] = {
        {WSI_TOKEN_GET_URI, "GET"},         {WSI_TOKEN_HEAD_URI, "HEAD"},
        {WSI_TOKEN_POST_URI, "POST"},       {WSI_TOKEN_PUT_URI, "PUT"},
        {WSI_TOKEN_DELETE_URI, "DELETE"},   {WSI_TOKEN_PATCH_URI, "PATCH"},
        {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(methods); i++) {
        if (lws_hdr_total_length(wsi, methods[i].token) > 0)
            return methods[i].name;
    }
    return "?";
}

/* The transaction is over: keep the connection for the next request, or close it. */
static int http_done(struct lws *wsi, Pss *pss)
{
    gboolean close_after = pss->close_after;
    http_pss_clear(pss);
    if (close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* One request being answered (lives on the stack of LWS_CALLBACK_HTTP). uri points
 * into lws's header storage: valid until the transaction completes, so it is only used
 * before http_done. */
typedef struct {
    ChorusTransport *t;
    struct lws *wsi;
    Pss *pss;
    const char *method;
    const char *uri;
    gboolean head;
} Req;

static int write_headers(Req *rq, int status, const char *type, guint64 len)
{
    struct lws *wsi = rq->wsi;
    WsiInfo *info = transport_wsi_info(rq->t, wsi);
    LOG_V(TRANSPORT_TAG, "http %s %s %s -> %d", info ? info->ip : "?", rq->method, rq->uri, status);
    unsigned char buf[LWS_PRE + 1024];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, (unsigned int)status, type, len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-cache", 8, &p, end))
        return -1;
    if (status == HTTP_STATUS_METHOD_NOT_ALLOWED &&
        lws_add_http_header_by_name(
            wsi, (const unsigned char *)"allow:", (const unsigned char *)"GET, HEAD", 9, &p, end))
        return -1;
    if (rq->pss->close_after &&
        lws_add_http_header_by_name(
            wsi, (const unsigned char *)"connection:", (const unsigned char *)"close", 5, &p, end))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

/* Answers with body (taken, g_free'd); HEAD gets the headers only. */
static int respond(Req *rq, int status, const char *type, char *body)
{
    gsize len = body ? strlen(body) : 0;
    if (write_headers(rq, status, type, len) < 0) {
        g_free(body);
        return -1;
    }
    if (rq->head || len == 0) {
        g_free(body);
        return http_done(rq->wsi, rq->pss);
    }
    rq->pss->body = body;
    rq->pss->body_len = len;
    rq->pss->body_off = 0;
    lws_callback_on_writable(rq->wsi);
    return 0;
}

static int serve_file(Req *rq)
{
    char *path = NULL;
    ChorusStaticResult r = chorus_http_static_resolve_path(rq->t->html_root, rq->uri, &path);
    if (r == CHORUS_STATIC_FORBIDDEN)
        return respond(rq, HTTP_STATUS_FORBIDDEN, "text/plain", g_strdup("forbidden\n"));
    int fd = r == CHORUS_STATIC_OK ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        g_free(path);
        return respond(rq, HTTP_STATUS_NOT_FOUND, "text/plain", g_strdup("not found\n"));
    }
    const char *type = chorus_http_static_mime_type(path);
    g_free(path);
    if (write_headers(rq, HTTP_STATUS_OK, type, (guint64)st.st_size) < 0) {
        close(fd);
        return -1;
    }
    if (rq->head || st.st_size == 0) {
        close(fd);
        return http_done(rq->wsi, rq->pss);
    }
    rq->pss->fd = fd;
    rq->pss->has_fd = TRUE;
    rq->pss->file_left = (guint64)st.st_size;
    lws_callback_on_writable(rq->wsi);
    return 0;
}

static int http_request(ChorusTransport *t, struct lws *wsi, Pss *pss, const char *uri)
{
    http_pss_clear(pss);
    pss->close_after = FALSE;
    Req rq = {t, wsi, pss, http_method(wsi), uri ? uri : "", FALSE};
    rq.head = strcmp(rq.method, "HEAD") == 0;
    WsiInfo *info = transport_wsi_info(t, wsi);
    if ((info && info->refuse) || !transport_running(t)) {
        pss->close_after = TRUE;
        const char *why = !transport_running(t)                      ? "server shutting down\n"
                          : strcmp(info->refuse, "server full") == 0 ? "server full\n"
                                                                     : "too many connections\n";
        return respond(&rq, HTTP_STATUS_SERVICE_UNAVAILABLE, "text/plain", g_strdup(why));
    }
    if (!rq.head && strcmp(rq.method, "GET") != 0) {
        pss->close_after = TRUE;
        return respond(&rq, HTTP_STATUS_METHOD_NOT_ALLOWED, "text/plain",
                       g_strdup("method not allowed\n"));
    }
    if (strcmp(rq.uri, "/health") == 0) {
        char *body = t->cb.health ? t->cb.health(t->cb.user) : NULL;
        return respond(&rq, HTTP_STATUS_OK, "application/json",
                       body ? body : g_strdup("{\"status\":\"ok\"}"));
    }
    if (PROTO_KIND(lws_get_protocol(wsi)->id) == LISTENER_HTTP)
        return serve_file(&rq);
    return respond(&rq, HTTP_STATUS_NOT_FOUND, "text/plain", g_strdup("not found\n"));
}

static int http_writeable(ChorusTransport *t, struct lws *wsi, Pss *pss)
{
    gsize n;
    unsigned char *buf;
    gboolean final;
    if (pss->body) {
        n = MIN(pss->body_len - pss->body_off, HTTP_CHUNK);
        buf = transport_txbuf(t, n);
        memcpy(buf, pss->body + pss->body_off, n);
        pss->body_off += n;
        final = pss->body_off == pss->body_len;
    } else if (pss->has_fd) {
        n = (gsize)MIN(pss->file_left, HTTP_CHUNK);
        buf = transport_txbuf(t, n);
        ssize_t got = read(pss->fd, buf, n);
        if (got <= 0) {
            LOG_W(TRANSPORT_TAG, "http: file read failed: %s", got < 0 ? g_strerror(errno) : "EOF");
            return -1;
        }
        n = (gsize)got;
        pss->file_left -= n;
        final = pss->file_left == 0;
    } else {
        return 0;
    }
    if (lws_write(wsi, buf, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
        return -1;
    if (final)
        return http_done(wsi, pss);
    lws_callback_on_writable(wsi);
    return 0;
}

int transport_http_callback(ChorusTransport *t, struct lws *wsi, enum lws_callback_reasons reason,
                            Pss *pss, void *in, size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return http_request(t, wsi, pss, in);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return pss ? http_writeable(t, wsi, pss) : 0;
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return 0; /* bodies are never wanted: only GET and HEAD are served */
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        WsiInfo *info = transport_wsi_info(t, wsi);
        transport_log_refusal(t, "refusing WebSocket from %s: no janus subprotocol offered",
                              info ? info->ip : "?");
        return 1;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        http_pss_clear(pss);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, pss, in, len);
    }
}
