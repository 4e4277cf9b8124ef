/* What a route handler gets (one HTTP request on its loop thread) and the ways it answers. */
#ifndef INFERD_HTTP_CALL_H
#define INFERD_HTTP_CALL_H

#include <stdbool.h>

#include "h2o.h"
#include "inferd/arena.h"
#include "inferd/error.h"
#include "inferd/json.h"
#include "inferd/repo.h"
#include "inferd/router.h"

typedef struct http_call {
    h2o_req_t *req;
    const inferd_repo_t *repo;
    inferd_router_t *router;
    struct inferd_ab *ab;
    struct inferd_mirror *mirror;
    const char *model;                /* the :model path segment, or NULL */
    const char *version;              /* the :version path segment, or NULL */
    const char *label;                /* the :label path segment, or NULL */
    const char *name;                 /* the :name path segment (an A/B test...), or NULL */
    inferd_arena_t *arena;            /* this loop's request arena, reset after the reply */
    inferd_jsonw_t *out;              /* this loop's response buffer, empty on entry */
    bool is_draining;                 /* the server is shutting down */
    h2o_multithread_receiver_t *jobs; /* where schedulers send this loop's results */
    h2o_multithread_receiver_t *blocking_done; /* where control-thread work comes back */
    int64_t *jobs_in_flight;                   /* this loop's count of jobs not yet back */
} http_call_t;

/* ==== work that may block (blocking.c) ====
 * Control-plane requests (loading a model, writing the registry, copying an artifact) run on
 * the repository's control thread, one at a time, and their answer comes back to the loop
 * that owns the request. The work function sees copies of the request's parts and fills in a
 * status and a JSON body. */
typedef struct http_blocking {
    inferd_repo_t *repo;
    inferd_router_t *router;
    const char *model, *version, *label, *name; /* path captures, or NULL */
    const char *body;                           /* the request body (NUL-terminated copy) */
    size_t body_len;
    const char *query;  /* the query string without '?', or "" */
    const char *actor;  /* X-Inferd-User, else "api" */
    int status;         /* out: the HTTP status (default 200) */
    inferd_jsonw_t out; /* out: the JSON body */
    void *user;
} http_blocking_t;

/* Queues work(b) for the control thread and answers the request when it is done. If the client
 * leaves meanwhile, the work still runs (a change asked for is not half-done) and its answer is
 * dropped. */
void http_run_blocking(http_call_t *call, void (*work)(http_blocking_t *b), void *user);

/* Sets b's answer to {"error": err->msg} with the status err->code maps to. */
void http_blocking_error(http_blocking_t *b, const inferd_err_t *err);

/* Receives finished blocking work on the loop thread (blocking.c). */
void http_on_blocking_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

/* A call for `req` on the current loop thread, for answering outside a route handler (a
 * scheduler's result arriving). */
http_call_t http_loop_call(h2o_req_t *req);

/* Receives scheduler results on the loop thread and answers their requests, whatever their
 * protocol (infer_path.c). */
void v2_on_jobs_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

/* Sends call->out as a JSON body with `status`. */
void http_reply_json(http_call_t *call, int status);

/* Sends the `len` bytes at `body` as `content_type` with `status`. */
void http_reply_text(http_call_t *call, int status, const char *content_type, const char *body,
                     size_t len);

/* Sends {"error": err->msg} with the status err->code maps to (503 adds Retry-After). */
void http_reply_error(http_call_t *call, const inferd_err_t *err);

/* Route handlers (v2.c), named in routes.def. */
#define ROUTE(method, pattern, handler) void handler(http_call_t *call);
#include "routes.def"
#undef ROUTE

#endif
