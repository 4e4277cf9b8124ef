/* The HTTP server: one h2o event loop per thread, each with its own SO_REUSEPORT listener; the
 * route table dispatch; JSON bodies for the errors h2o itself answers; and the graceful drain on
 * SIGTERM/SIGINT. Handlers live in v2.c; nothing here knows about models. */
#include "call.h"
#include "inferd/clock.h"
#include "inferd/backend.h"
#include "inferd/http.h"
#include "inferd/log.h"
#include "inferd/metrics.h"
#include "inferd/thread.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATH_SEGMENTS 8

typedef struct loop_thread {
    pthread_t tid;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    h2o_multithread_receiver_t control; /* the main thread's "drain now" message */
    h2o_multithread_message_t drain_message;
    h2o_multithread_receiver_t jobs;          /* scheduler results for requests of this loop */
    h2o_multithread_receiver_t blocking_done; /* control-thread answers for this loop */
    int64_t jobs_in_flight;                   /* submitted to a scheduler, result not yet back */
    h2o_linklist_t queued; /* requests of this turn of the loop, not yet served (queued_req_t) */
    h2o_timeout_entry_t serve_queued; /* on ctx.zero_timeout while `queued` is not empty */
    h2o_linklist_t held; /* answers of this turn, written once it has served all (queued_req_t) */
    struct queued_req *holding; /* the request being served whose answer send_body holds */
    uint64_t held_deadline_ns;  /* when the first answer held now must be written */
    bool is_draining;
    int connections;       /* client connections this thread has open */
    int max_connections;   /* its share of --max-connections */
    bool is_accept_paused; /* the listener is not read: this thread holds its share */
    inferd_arena_t arena;
    inferd_jsonw_t out;
    int listen_fd;
} loop_thread_t;

typedef struct {
    h2o_filter_t super;
    size_t max_body_bytes;
} json_error_filter_t;

static struct {
    h2o_globalconf_t globalconf;
    const inferd_repo_t *repo;
    const inferd_http_config_t *config;
    loop_thread_t *threads;
    pthread_barrier_t started; /* every loop thread has set itself up */
} server;

/* ==== routing ==== */

typedef enum { METHOD_GET, METHOD_POST, METHOD_PUT, METHOD_DELETE, METHOD_PATCH } route_method_t;

typedef struct {
    route_method_t method;
    const char *pattern;
    void (*handler)(http_call_t *call);
} route_t;

static const route_t routes[] = {
#define ROUTE(method, pattern, handler) {METHOD_##method, pattern, handler},
#include "routes.def"
#undef ROUTE
};

static const char *const method_names[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};

/* Splits `path` (no query) at '/' into at most MAX_PATH_SEGMENTS segments copied into `arena`.
 * Returns the count or -1 when there are more. */
static int split_path(const char *path, size_t len, inferd_arena_t *arena, char **segments)
{
    int count = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && path[i] == '/')
            i++;
        size_t start = i;
        while (i < len && path[i] != '/')
            i++;
        if (i == start)
            break;
        if (count == MAX_PATH_SEGMENTS)
            return -1;
        segments[count++] = inferd_arena_strndup(arena, path + start, i - start);
    }
    return count;
}

/* Where a ":name" capture goes in the call. */
static const char **capture_slot(http_call_t *call, const char *name, size_t len)
{
    static const struct {
        const char *name;
        size_t offset;
    } captures[] = {
        {"model", offsetof(http_call_t, model)},
        {"version", offsetof(http_call_t, version)},
        {"label", offsetof(http_call_t, label)},
        {"name", offsetof(http_call_t, name)},
    };
    for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++)
        if (strlen(captures[i].name) == len && memcmp(captures[i].name, name, len) == 0)
            return (const char **)((char *)call + captures[i].offset);
    return NULL;
}

/* Matches `segments` against `pattern`. A pattern segment ":model" captures the whole path
 * segment; ":model:predict" captures what precedes a literal ":predict" suffix (TF Serving's
 * verbs). Captures are set only when the whole route matches. */
static bool route_matches(const char *pattern, char **segments, int n_segments, http_call_t *call)
{
    const char *captured[4] = {NULL};
    size_t captured_len[4] = {0};
    const char **slots[4] = {NULL};
    int n_captured = 0, index = 0;
    const char *p = pattern;
    while (*p == '/') {
        p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (index >= n_segments || segments[index] == NULL)
            return false;
        char *segment = segments[index];
        if (p[0] == ':') {
            const char *suffix = memchr(p + 1, ':', len - 1);
            size_t name_len = suffix ? (size_t)(suffix - p - 1) : len - 1;
            size_t suffix_len = suffix ? len - (size_t)(suffix - p) : 0;
            size_t seg_len = strlen(segment);
            if (suffix_len > 0 && (seg_len <= suffix_len ||
                                   memcmp(segment + seg_len - suffix_len, suffix, suffix_len) != 0))
                return false;
            const char **slot = capture_slot(call, p + 1, name_len);
            if (slot == NULL || n_captured == 4)
                return false;
            slots[n_captured] = slot;
            captured[n_captured] = segment;
            captured_len[n_captured] = seg_len - suffix_len;
            n_captured++;
        } else if (strlen(segment) != len || strncmp(p, segment, len) != 0) {
            return false;
        }
        index++;
        p += len;
    }
    if (index != n_segments)
        return false;
    call->model = call->version = call->label = call->name = NULL;
    for (int i = 0; i < n_captured; i++) {
        *slots[i] = captured[i][captured_len[i]] == '\0'
                        ? captured[i]
                        : inferd_arena_strndup(call->arena, captured[i], captured_len[i]);
        if (*slots[i] == NULL)
            return false;
    }
    return true;
}

static int method_of(h2o_req_t *req)
{
    for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++)
        if (h2o_memis(req->method.base, req->method.len, method_names[i], strlen(method_names[i])))
            return (int)i;
    return -1;
}

static __thread loop_thread_t *this_thread;

/* Routes one request and answers it (or hands it on: a scheduler, the control thread). */
static void serve(h2o_req_t *req)
{
    loop_thread_t *t = this_thread;
    http_call_t call = http_loop_call(req);
    inferd_err_t err;
    char *segments[MAX_PATH_SEGMENTS];
    if (t->is_draining)
        req->http1_is_persistent = 0; /* tell keep-alive clients to go elsewhere */

    size_t path_len = req->path_normalized.len;
    int n_segments = split_path(req->path_normalized.base, path_len, &t->arena, segments);
    int method = method_of(req);
    const route_t *found = NULL;
    char allow[64] = "";
    for (size_t i = 0; n_segments >= 0 && i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!route_matches(routes[i].pattern, segments, n_segments, &call))
            continue;
        if ((int)routes[i].method == method) {
            found = &routes[i];
            break;
        }
        size_t used = strlen(allow);
        snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "",
                 method_names[routes[i].method]);
    }
    if (found != NULL) {
        found->handler(&call);
    } else if (allow[0] != '\0') {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
                       h2o_strdup(&req->pool, allow, SIZE_MAX).base, strlen(allow));
        inferd_fail(&err, INFERD_EMETHOD, "method %.*s is not allowed on %.*s; use %s",
                    (int)req->method.len, req->method.base, (int)path_len,
                    req->path_normalized.base, allow);
        http_reply_error(&call, &err);
    } else {
        inferd_fail(&err, INFERD_ENOTFOUND, "no such endpoint: %.*s %.*s", (int)req->method.len,
                    req->method.base, (int)path_len, req->path_normalized.base);
        http_reply_error(&call, &err);
    }
    inferd_arena_reset(&t->arena);
}

/* ==== serving in arrival order ====
 * In one turn of its loop h2o hands over the requests of the connections that became readable
 * last-first (its list of ready sockets is a stack). Served as handed over, the request that
 * arrived first in a busy turn would wait for all the others: at 64 busy connections on one
 * thread the 99th percentile latency was twice the median. So on_request only queues, and
 * serve_queued() serves the turn's requests in the order their connections became readable, i.e.
 * the reverse of the order h2o handed them over. It runs from the context's zero timeout, which
 * h2o runs in the same turn once every ready socket has been read: answers written there finish
 * in that turn too, so the connections go back to reading without an epoll_ctl (served after the
 * turn, each request cost two). A request whose connection closes before it is served leaves the
 * queue (its pool's disposal unlinks it). */

typedef struct queued_req {
    h2o_linklist_t link; /* in loop_thread_t.queued, then (answer held) in loop_thread_t.held */
    h2o_req_t *req;
    h2o_iovec_t held_body; /* the held answer's body, in req's pool */
} queued_req_t;

static void on_queued_req_disposed(void *data)
{
    queued_req_t *q = data;
    if (h2o_linklist_is_linked(&q->link))
        h2o_linklist_unlink(&q->link);
}

static int on_request(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    queued_req_t *q = h2o_mem_alloc_shared(&req->pool, sizeof(*q), on_queued_req_disposed);
    q->link = (h2o_linklist_t){NULL, NULL};
    q->req = req;
    loop_thread_t *t = this_thread;
    h2o_linklist_insert(&t->queued, &q->link);
    if (!h2o_timeout_is_linked(&t->serve_queued))
        h2o_timeout_link(t->ctx.loop, &t->ctx.zero_timeout, &t->serve_queued);
    return 0;
}

/* ==== answers written together ====
 * Written one by one, each answer of a busy turn woke the client anew: a client faster than
 * the server has gone back to sleep by the time the next answer is ready, and on virtual
 * machines a wake-up from sleep is an inter-processor interrupt through the hypervisor (wrk
 * at 64 connections slept and woke 25,000 times a second against inferd, 200 against nginx,
 * which keeps it busy). So while serve_queued() serves a turn of two or more requests,
 * send_body holds the answers (body copied into the request's pool; the request's queue entry
 * moves to the held list) and they are written in one burst, in the same order, once the turn
 * is served or once the first held answer has waited --reply-hold-us (500 us by default;
 * checked as each request is served, so an answer may also wait for the one being served then),
 * so that a slow model's answers are not kept waiting on each other. Measured on the pinned MLP
 * benchmark: holding up to 100 us, 200 us, 500 us and a whole turn (about 1.1 ms) gave p99s of
 * 2.0, 1.8, 1.6 and 1.6 ms. A turn of one request is written at once as before; answers that
 * come back from a scheduler's instance thread are not held. */

/* Holds the answer of the request being served (status and headers already set) until
 * write_held_replies(): the request's queue entry, off the queue since it is being served,
 * moves to the held list with a copy of the body. */
static void hold_reply(loop_thread_t *t, queued_req_t *q, const char *body, size_t len)
{
    if (h2o_linklist_is_empty(&t->held))
        t->held_deadline_ns = inferd_monotonic_ns() + (uint64_t)server.config->reply_hold_us * 1000;
    q->held_body = h2o_strdup(&q->req->pool, body, len);
    h2o_linklist_insert(&t->held, &q->link);
}

static void write_held_replies(loop_thread_t *t)
{
    static h2o_generator_t final_only = {NULL, NULL}; /* one final h2o_send: nothing to proceed */
    while (!h2o_linklist_is_empty(&t->held)) {
        queued_req_t *q = H2O_STRUCT_FROM_MEMBER(queued_req_t, link, t->held.next);
        h2o_linklist_unlink(&q->link);
        h2o_start_response(q->req, &final_only);
        /* as h2o_send_inline: the answer to a HEAD has the headers and no body */
        if (h2o_memis(q->req->input.method.base, q->req->input.method.len, H2O_STRLIT("HEAD")))
            h2o_send(q->req, NULL, 0, H2O_SEND_STATE_FINAL);
        else
            h2o_send(q->req, &q->held_body, 1, H2O_SEND_STATE_FINAL);
    }
}

/* Serves the requests on_request queued, last queued (first readable) first, holding their
 * answers while more than one is served. */
static void serve_queued(h2o_timeout_entry_t *entry)
{
    loop_thread_t *t = H2O_STRUCT_FROM_MEMBER(loop_thread_t, serve_queued, entry);
    bool is_holding =
        server.config->reply_hold_us > 0 && t->queued.next != t->queued.prev; /* two or more */
    while (!h2o_linklist_is_empty(&t->queued)) {
        queued_req_t *q = H2O_STRUCT_FROM_MEMBER(queued_req_t, link, t->queued.prev);
        h2o_linklist_unlink(&q->link);
        t->holding = is_holding ? q : NULL;
        serve(q->req);
        t->holding = NULL;
        if (!h2o_linklist_is_empty(&t->held) && inferd_monotonic_ns() >= t->held_deadline_ns)
            write_held_replies(t);
    }
    write_held_replies(t);
}

/* ==== replies ==== */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Internal Server Error" : "Error";
    }
}

static void send_body(h2o_req_t *req, int status, const char *content_type, const char *body,
                      size_t len)
{
    inferd_metrics_count_response(status);
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                   strlen(content_type));
    req->res.content_length = len; /* h2o would otherwise answer chunked */
    loop_thread_t *t = this_thread;
    if (t != NULL && t->holding != NULL && t->holding->req == req) {
        hold_reply(t, t->holding, body, len);
        return;
    }
    h2o_send_inline(req, body, len);
}

void http_reply_json(http_call_t *call, int status)
{
    if (call->out->failed) {
        static const char oom[] = "{\"error\":\"out of memory writing the response\"}";
        send_body(call->req, 500, "application/json", oom, sizeof(oom) - 1);
        return;
    }
    send_body(call->req, status, "application/json", call->out->buf, call->out->len);
}

http_call_t http_loop_call(h2o_req_t *req)
{
    loop_thread_t *t = this_thread;
    inferd_jsonw_reset(&t->out);
    return (http_call_t){.req = req,
                         .repo = server.repo,
                         .router = server.config->router,
                         .ab = server.config->ab,
                         .mirror = server.config->mirror,
                         .arena = &t->arena,
                         .out = &t->out,
                         .is_draining = t->is_draining,
                         .jobs = &t->jobs,
                         .blocking_done = &t->blocking_done,
                         .jobs_in_flight = &t->jobs_in_flight};
}

void http_reply_text(http_call_t *call, int status, const char *content_type, const char *body,
                     size_t len)
{
    send_body(call->req, status, content_type, body, len);
}

void http_reply_error(http_call_t *call, const inferd_err_t *err)
{
    int status = inferd_http_status(err->code);
    if (status == 503)
        h2o_add_header(&call->req->pool, &call->req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
                       H2O_STRLIT("1"));
    inferd_jsonw_reset(call->out);
    inferd_jsonw_lit(call->out, "{\"error\":");
    inferd_jsonw_cstr(call->out, err->msg);
    inferd_jsonw_lit(call->out, "}");
    http_reply_json(call, status);
}

/* ==== JSON bodies for h2o's own errors ====
 * h2o answers some requests before any handler sees them (a body over the size limit, a
 * malformed request line) with a text/plain body. This filter swaps such bodies for the
 * {"error": ...} every inferd client expects. */

typedef struct {
    h2o_ostream_t super;
    h2o_iovec_t body;
} json_error_ostream_t;

static void json_error_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                            h2o_send_state_t state)
{
    json_error_ostream_t *os = (json_error_ostream_t *)self;
    if (h2o_send_state_is_in_progress(state)) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    h2o_ostream_send_next(self, req, &os->body, 1, state);
}

static void json_error_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    json_error_filter_t *filter = (json_error_filter_t *)self;
    ssize_t type = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    bool is_ours = type >= 0 && h2o_memis(req->res.headers.entries[type].value.base,
                                          req->res.headers.entries[type].value.len,
                                          H2O_STRLIT("application/json"));
    if (req->res.status >= 400 && !is_ours) {
        inferd_metrics_count_response(req->res.status);
        char message[256];
        if (req->res.status == 413)
            snprintf(message, sizeof(message),
                     "{\"error\":\"request body is larger than this server's limit of %zu bytes "
                     "(--max-body-bytes); send a smaller batch\"}",
                     filter->max_body_bytes);
        else
            snprintf(message, sizeof(message), "{\"error\":\"HTTP %d: %s\"}", req->res.status,
                     req->res.status == 400 ? "malformed HTTP request" : "request refused");
        json_error_ostream_t *os = (json_error_ostream_t *)h2o_add_ostream(req, sizeof(*os), slot);
        os->super.do_send = json_error_send;
        os->body = h2o_strdup(&req->pool, message, SIZE_MAX);
        req->res.content_length = os->body.len;
        h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
                       H2O_STRLIT("application/json"), 1);
        slot = &os->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

static void add_json_error_filter(h2o_pathconf_t *pathconf, size_t max_body_bytes)
{
    json_error_filter_t *filter =
        (json_error_filter_t *)h2o_create_filter(pathconf, sizeof(*filter));
    filter->super.on_setup_ostream = json_error_setup;
    filter->max_body_bytes = max_body_bytes;
}

/* ==== listeners and loops ==== */

/* Fills `addr` for config's address and port. Returns its length, or 0 when the address is
 * not an IPv4 or IPv6 literal. */
static socklen_t listen_address(const inferd_http_config_t *config, struct sockaddr_storage *addr)
{
    memset(addr, 0, sizeof(*addr));
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, config->address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)config->port);
        return sizeof(*v4);
    }
    if (inet_pton(AF_INET6, config->address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)config->port);
        return sizeof(*v6);
    }
    return 0;
}

/* SO_REUSEPORT would let this server share a port that another process already serves, and the
 * kernel would split the traffic between them. A plain bind first makes "address in use" an
 * error, as an operator expects. */
static int check_port_is_free(const struct sockaddr_storage *addr, socklen_t addr_len,
                              const inferd_http_config_t *config, inferd_err_t *err)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0)
        return inferd_fail(err, INFERD_EIO, "socket: %s", strerror(errno));
    int rc = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (rc == 0)
        rc = bind(fd, (const struct sockaddr *)addr, addr_len);
    int saved = errno;
    close(fd);
    if (rc != 0)
        return inferd_fail(err, INFERD_EIO, "cannot listen on %s port %d: %s", config->address,
                           config->port, strerror(saved));
    return 0;
}

/* Raises the soft limit on open files toward the hard one when --max-connections needs more
 * (each connection is a descriptor; 256 are left for models, the registry and logs). Past the
 * limit accept() fails and clients would wait without being told why, so a limit still too low
 * is logged. */
static void fit_open_file_limit(int max_connections)
{
    struct rlimit limit;
    rlim_t needed = (rlim_t)max_connections + 256;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= needed)
        return;
    limit.rlim_cur =
        limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= needed ? needed : limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < needed)
        inferd_log_warn("the open-file limit (%llu) is below --max-connections %d plus 256: "
                        "connections past it cannot be accepted; raise it (ulimit -n) or lower "
                        "--max-connections",
                        (unsigned long long)limit.rlim_cur, max_connections);
}

static int open_listener(const inferd_http_config_t *config, inferd_err_t *err)
{
    struct sockaddr_storage addr;
    socklen_t addr_len = listen_address(config, &addr);
    if (addr_len == 0)
        return inferd_fail(err, INFERD_EINVAL, "'%s' is not an IPv4 or IPv6 address",
                           config->address);
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0)
        return inferd_fail(err, INFERD_EIO, "socket: %s", strerror(errno));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&addr, addr_len) != 0 || listen(fd, 4096) != 0) {
        int saved = errno;
        close(fd);
        return inferd_fail(err, INFERD_EIO, "cannot listen on %s port %d: %s", config->address,
                           config->port, strerror(saved));
    }
    return fd;
}

/* ==== the connection limit ====
 * Each loop thread holds at most its share of --max-connections. At its share it stops reading
 * its listener: further connections wait in the kernel's listen backlog (bounded by the listen()
 * backlog) instead of taking memory here, and the thread reads its listener again as soon as one
 * of its connections closes. So what the server holds stays bounded by the connections times
 * --max-body-bytes, whatever the offered load. */

static void on_accept(h2o_socket_t *listener, const char *error);

static void on_connection_closed(void *data)
{
    loop_thread_t *t = data;
    t->connections--;
    inferd_metrics_add_connections(-1);
    if (t->is_accept_paused && t->listener != NULL && t->connections < t->max_connections) {
        t->is_accept_paused = false;
        h2o_socket_read_start(t->listener, on_accept);
    }
}

static void on_accept(h2o_socket_t *listener, const char *error)
{
    loop_thread_t *t = listener->data;
    if (error != NULL || t->is_draining)
        return;
    h2o_socket_t *sock;
    while (t->connections < t->max_connections &&
           (sock = h2o_evloop_socket_accept(listener)) != NULL) {
        t->connections++;
        inferd_metrics_add_connections(1);
        sock->on_close.cb = on_connection_closed;
        sock->on_close.data = t;
        h2o_accept(&t->accept_ctx, sock);
    }
    if (t->connections >= t->max_connections) {
        h2o_socket_read_stop(listener);
        t->is_accept_paused = true;
        inferd_metrics_count_accept_pause();
    }
}

/* Runs on the loop thread when the main thread says "drain". */
static void on_control(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    loop_thread_t *t = H2O_STRUCT_FROM_MEMBER(loop_thread_t, control, receiver);
    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    if (t->is_draining)
        return;
    t->is_draining = true;
    if (t->listener != NULL) {
        h2o_socket_read_stop(t->listener);
        h2o_socket_close(t->listener); /* new connections are refused from here on */
        t->listener = NULL;
    }
    h2o_context_request_shutdown(&t->ctx); /* idle keep-alive connections close now */
}

static int count_request_in_progress(h2o_req_t *req, void *cbdata)
{
    /* h2o resets a connection's request when its response is fully written, so a method means a
     * request whose headers have arrived and whose response is not yet out */
    if (req->input.method.len != 0)
        ++*(int *)cbdata;
    return 0;
}

/* True while a connection of this loop has a request in progress. Idle HTTP/1 keep-alive
 * connections do not count (h2o 2.2 does not close them on shutdown; exiting does). HTTP/2
 * connections count until h2o's GOAWAY sequence has closed them. */
static bool has_requests_in_flight(loop_thread_t *t)
{
    h2o_context_t *ctx = &t->ctx;
    int in_progress = t->jobs_in_flight > 0 ? 1 : 0; /* a job outlives a client that left */
    ctx->globalconf->http1.callbacks.foreach_request(ctx, count_request_in_progress, &in_progress);
    return in_progress > 0 || !h2o_linklist_is_empty(&ctx->http2._conns);
}

static void *loop_main(void *arg)
{
    loop_thread_t *t = arg;
    this_thread = t;
    inferd_thread_name("http", NULL);
    inferd_backends_thread_init();
    /* h2o keeps its buffer allocators per thread: the loop, its context and its message queue
     * must be created on the thread that runs them, or two loops end up sharing (and racing
     * on) the creating thread's free lists. */
    h2o_context_init(&t->ctx, h2o_evloop_create(), &server.globalconf);
    t->accept_ctx.ctx = &t->ctx;
    t->accept_ctx.hosts = server.globalconf.hosts;
    h2o_multithread_register_receiver(t->ctx.queue, &t->control, on_control);
    h2o_multithread_register_receiver(t->ctx.queue, &t->jobs, v2_on_jobs_done);
    h2o_multithread_register_receiver(t->ctx.queue, &t->blocking_done, http_on_blocking_done);
    inferd_arena_init(&t->arena, 64 * 1024, 0);
    h2o_linklist_init_anchor(&t->queued);
    h2o_linklist_init_anchor(&t->held);
    t->serve_queued = (h2o_timeout_entry_t){.cb = serve_queued};
    pthread_barrier_wait(&server.started); /* the main thread may now send us messages */
    t->listener = h2o_evloop_socket_create(t->ctx.loop, t->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    t->listener->data = t;
    h2o_socket_read_start(t->listener, on_accept);
    while (!t->is_draining)
        h2o_evloop_run(t->ctx.loop, INT32_MAX);
    /* Draining: requests already started run to completion and their responses are written;
     * then the thread ends. Two quiet turns in a row, so that bytes already in the socket
     * buffers are read before deciding that nothing is in flight. */
    uint64_t deadline =
        inferd_monotonic_ns() / 1000000 + (uint64_t)server.config->shutdown_timeout_ms;
    int quiet_turns = 0;
    while (quiet_turns < 2 && inferd_monotonic_ns() / 1000000 < deadline) {
        h2o_evloop_run(t->ctx.loop, 10);
        quiet_turns = has_requests_in_flight(t) ? 0 : quiet_turns + 1;
    }
    return NULL;
}

int inferd_http_serve(const inferd_http_config_t *config, const inferd_repo_t *repo,
                      inferd_err_t *err)
{
    server.repo = repo;
    server.config = config;
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL); /* loop threads inherit the mask */
    signal(SIGPIPE, SIG_IGN);

    h2o_config_init(&server.globalconf);
    server.globalconf.max_request_entity_size = config->max_body_bytes;
    h2o_hostconf_t *host =
        h2o_config_register_host(&server.globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *root = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(root, sizeof(*handler));
    handler->on_req = on_request;
    add_json_error_filter(root, config->max_body_bytes);
    add_json_error_filter(&host->fallback_path, config->max_body_bytes);

    int n_threads = config->threads;
    loop_thread_t *threads = server.threads = calloc((size_t)n_threads, sizeof(*threads));
    if (threads == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    struct sockaddr_storage addr;
    socklen_t addr_len = listen_address(config, &addr);
    int rc = addr_len == 0 ? inferd_fail(err, INFERD_EINVAL, "'%s' is not an IPv4 or IPv6 address",
                                         config->address)
                           : check_port_is_free(&addr, addr_len, config, err);
    if (rc != 0) {
        free(threads);
        server.threads = NULL;
        return rc;
    }
    pthread_barrier_init(&server.started, NULL, (unsigned)n_threads + 1);
    for (int i = 0; i < n_threads; i++) {
        loop_thread_t *t = &threads[i];
        t->listen_fd = open_listener(config, err);
        if (t->listen_fd < 0) {
            rc = t->listen_fd;
            for (int j = 0; j < i; j++)
                close(threads[j].listen_fd);
            pthread_barrier_destroy(&server.started);
            free(threads);
            server.threads = NULL;
            return rc;
        }
    }
    fit_open_file_limit(config->max_connections);
    /* an equal share for each thread, at least one: the limit is rounded to a multiple of the
     * thread count */
    int share = config->max_connections / n_threads > 0 ? config->max_connections / n_threads : 1;
    for (int i = 0; i < n_threads; i++)
        threads[i].max_connections = share;
    inferd_metrics_set_connection_limit(share * n_threads);
    for (int i = 0; i < n_threads; i++) {
        h2o_multithread_create_thread(&threads[i].tid, NULL, loop_main, &threads[i]);
    }
    pthread_barrier_wait(&server.started);
    inferd_log_info("listening on http://%s:%d (%d threads, at most %d connections, max body %zu "
                    "bytes)",
                    config->address, config->port, n_threads, share * n_threads,
                    config->max_body_bytes);

    int signal_number = 0;
    sigwait(&signals, &signal_number);
    inferd_log_info("%s received: draining (no new connections; requests in flight finish)",
                    signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
    for (int i = 0; i < n_threads; i++)
        h2o_multithread_send_message(&threads[i].control, &threads[i].drain_message);
    for (int i = 0; i < n_threads; i++)
        pthread_join(threads[i].tid, NULL);
    pthread_barrier_destroy(&server.started);
    for (int i = 0; i < n_threads; i++) {
        loop_thread_t *t = &threads[i];
        inferd_arena_free(&t->arena);
        inferd_jsonw_free(&t->out);
    }
    /* The h2o contexts are not disposed: h2o 2.2 asserts when timers are still linked after a
     * drain, and the process is about to exit. They stay reachable through server.threads. */
    inferd_log_info("stopped");
    return rc;
}
