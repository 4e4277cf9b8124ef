/* The inference path every HTTP protocol shares (infer_path.h): find the version, parse and
 * decode the body with the protocol's codec, run the request inline or hand it to the version's
 * scheduler, encode the answer with the codec, record the version's statistics once. Nothing
 * here knows what a V2 tensor or a TF Serving instance looks like.
 *
 * Design notes
 * - Order of checks, the same for every protocol: Content-Type (415), the version (404/503,
 *   not counted: no version was reached), then the body (400, counted against the version).
 * - A request's clock starts when its handler starts; request_ns covers parsing, decoding,
 *   queueing, running and, inline, encoding.
 * - Scheduled requests live in an http_job_t: decoded into the job's own arena (the loop's
 *   arena is reset when the handler returns), answered on the owning loop from
 *   v2_on_jobs_done. If the client leaves, h2o disposes the request's pool and with it the
 *   ref, which detaches the job: its result is counted and dropped. */
#include "infer_path.h"
#include "inferd/clock.h"

#include "inferd/metrics.h"
#include "inferd/mirror.h"
#include "inferd/sched.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool http_is_json_body(h2o_req_t *req)
{
    ssize_t index = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (index < 0)
        return true;
    h2o_iovec_t type = req->headers.entries[index].value;
    static const char *const accepted[] = {"application/json", "application/x-www-form-urlencoded",
                                           "text/plain"};
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        size_t len = strlen(accepted[i]);
        if (type.len >= len && h2o_lcstris(type.base, len, accepted[i], len) &&
            (type.len == len || type.base[len] == ';' || type.base[len] == ' '))
            return true;
    }
    return false;
}

void http_set_model_version_header(h2o_req_t *req, const inferd_model_version_t *v)
{
    h2o_iovec_t value = h2o_strdup(&req->pool, v->version_str, SIZE_MAX);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-model-version"), 0,
                          "X-Model-Version", value.base, value.len);
}

static inferd_outcome_t outcome_of(int rc)
{
    return rc == 0 ? INFERD_OUTCOME_SUCCESS : inferd_outcome_of_status(inferd_http_status(rc));
}

/* ==== traffic rules ====
 * A request that names no version (no :version, no :label, no version in its body) is routed by
 * the model's traffic rule, if it has one. What it did is recorded under the variant it drew,
 * with its request id (the client's, or one made up and sent back in X-Request-Id) so that
 * feedback can find it later. */

/* The routing key: the X-Routing-Key header, else parameters.routing_key or .user_id. */
static const char *routing_key(http_call_t *call, const inferd_json_t *doc, bool is_parsed,
                               size_t *OUT_len)
{
    ssize_t header = h2o_find_header_by_str(&call->req->headers, H2O_STRLIT("x-routing-key"), -1);
    if (header >= 0) {
        *OUT_len = call->req->headers.entries[header].value.len;
        return call->req->headers.entries[header].value.base;
    }
    *OUT_len = 0;
    if (!is_parsed)
        return NULL;
    int parameters = inferd_json_get(doc, 0, "parameters");
    int key = inferd_json_get(doc, parameters, "routing_key");
    if (key < 0)
        key = inferd_json_get(doc, parameters, "user_id");
    if (key < 0 || inferd_json_kind(doc, key) == INFERD_JSON_OBJECT ||
        inferd_json_kind(doc, key) == INFERD_JSON_ARRAY)
        return NULL;
    return inferd_json_raw(doc, key, OUT_len);
}

/* The class a one-row answer predicts (the arg max of its first output), or -1. */
static int64_t predicted_class(const inferd_response_t *resp)
{
    if (resp == NULL || resp->n_outputs == 0)
        return -1;
    const inferd_tensor_t *t = &resp->outputs[0];
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    bool is_one_row = t->ndim == 1 || (t->ndim == 2 && t->shape[0] == 1);
    if (!is_one_row || n < 2 || (t->dtype != INFERD_DT_FP32 && t->dtype != INFERD_DT_FP64))
        return t->dtype == INFERD_DT_INT64 && n == 1 ? ((const int64_t *)t->data)[0] : -1;
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++) {
        double value =
            t->dtype == INFERD_DT_FP32 ? ((const float *)t->data)[i] : ((const double *)t->data)[i];
        double top = t->dtype == INFERD_DT_FP32 ? ((const float *)t->data)[best]
                                                : ((const double *)t->data)[best];
        if (value > top)
            best = i;
    }
    return best;
}

/* Records a routed request's outcome and sends its request id back. */
static void finish_route(http_call_t *call, inferd_route_t *route, const inferd_request_t *req,
                         const inferd_response_t *resp, bool is_error, uint64_t start_ns)
{
    if (route->rule == NULL)
        return;
    char made_up[40];
    const char *id = req != NULL ? req->id : NULL;
    if (id == NULL || id[0] == '\0') {
        static _Atomic uint64_t counter;
        snprintf(made_up, sizeof(made_up), "r-%llx-%llx", (unsigned long long)start_ns,
                 (unsigned long long)atomic_fetch_add(&counter, 1));
        id = made_up;
    }
    if (call != NULL)
        h2o_add_header_by_str(&call->req->pool, &call->req->res.headers, H2O_STRLIT("x-request-id"),
                              0, NULL, h2o_strdup(&call->req->pool, id, SIZE_MAX).base, strlen(id));
    inferd_router_record(call->router, route, inferd_monotonic_ns() - start_ns, is_error, id,
                         is_error ? -1 : predicted_class(resp));
    inferd_route_release(route);
}

/* Answers a request that reached version `v` with `err`, counting it. Releases nothing. */
static void fail_counted(http_call_t *call, inferd_model_version_t *v, const inferd_err_t *err,
                         uint64_t start_ns, uint64_t queue_ns)
{
    inferd_stats_record_request(v, outcome_of(err->code), inferd_monotonic_ns() - start_ns,
                                queue_ns);
    http_reply_error(call, err);
}

/* Encodes a successful result and answers it (or the codec's refusal), counting the request. */
static void answer_result(http_call_t *call, const http_infer_codec_t *codec,
                          inferd_model_version_t *v, const inferd_request_t *req,
                          const inferd_response_t *resp, void *state, uint64_t start_ns,
                          uint64_t queue_ns)
{
    inferd_err_t err;
    int rc = codec->encode(call->out, v, req, resp, state, inferd_monotonic_ns() - start_ns, &err);
    if (rc != 0) {
        fail_counted(call, v, &err, start_ns, queue_ns);
        return;
    }
    inferd_stats_record_request(v, INFERD_OUTCOME_SUCCESS, inferd_monotonic_ns() - start_ns,
                                queue_ns);
    http_reply_json(call, 200);
}

/* ==== requests that go through a scheduler ==== */

typedef struct http_job http_job_t;

typedef struct {
    http_job_t *job; /* NULL once the job has answered */
} http_job_ref_t;

struct http_job {
    h2o_multithread_message_t message; /* to the owning loop */
    inferd_job_t job;
    inferd_request_t req;
    inferd_arena_t arena;
    inferd_model_version_t *version; /* a reference, released with the job */
    const http_infer_codec_t *codec;
    void *codec_state; /* in `arena` */
    h2o_multithread_receiver_t *loop;
    int64_t *loop_jobs_in_flight;
    h2o_req_t *http_req; /* NULL once the client went away */
    http_job_ref_t *ref;
    uint64_t start_ns;
    inferd_route_t route; /* the traffic rule's variant it drew, if any */
    inferd_router_t *router;
    inferd_mirror_t *mirror;
};

static void http_job_free(http_job_t *hj)
{
    inferd_route_release(&hj->route);
    inferd_version_release(hj->version);
    inferd_arena_free(&hj->arena);
    free(hj);
}

static void on_request_disposed(void *data)
{
    http_job_ref_t *ref = data;
    if (ref->job != NULL)
        ref->job->http_req = NULL;
}

/* Instance thread: hand the finished job to the loop that owns its request. */
static void on_job_done(inferd_job_t *job)
{
    http_job_t *hj = (http_job_t *)((char *)job - offsetof(http_job_t, job));
    h2o_multithread_send_message(hj->loop, &hj->message);
}

/* (The name predates the other protocols; server.c registers it for every loop.) */
void v2_on_jobs_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        http_job_t *hj = H2O_STRUCT_FROM_MEMBER(http_job_t, message.link, messages->next);
        h2o_linklist_unlink(&hj->message.link);
        (*hj->loop_jobs_in_flight)--;
        inferd_model_version_t *v = hj->version;
        if (hj->http_req != NULL && hj->job.rc == 0) {
            hj->ref->job = NULL;
            http_call_t call = http_loop_call(hj->http_req); /* X-Model-Version: already set */
            finish_route(&call, &hj->route, &hj->req, &hj->job.resp, false, hj->start_ns);
            answer_result(&call, hj->codec, v, &hj->req, &hj->job.resp, hj->codec_state,
                          hj->start_ns, hj->job.queue_ns);
            inferd_mirror_offer(hj->mirror, v->model_name, v->version, &hj->req, &hj->job.resp);
        } else {
            if (hj->route.rule != NULL) /* the client left or the run failed */
                inferd_router_record(hj->router, &hj->route, inferd_monotonic_ns() - hj->start_ns,
                                     inferd_http_status(hj->job.rc) >= 500, NULL, -1);
            inferd_stats_record_request(v, outcome_of(hj->job.rc),
                                        inferd_monotonic_ns() - hj->start_ns, hj->job.queue_ns);
            if (hj->http_req != NULL) {
                hj->ref->job = NULL;
                http_call_t call = http_loop_call(hj->http_req);
                if (hj->job.err.code == 0)
                    inferd_fail(&hj->job.err, hj->job.rc, "%s", inferd_strerror(hj->job.rc));
                http_reply_error(&call, &hj->job.err);
            }
        }
        http_job_free(hj);
    }
}

/* Decodes into a job of its own and queues it. Takes over the reference on `v`. */
static void infer_scheduled(http_call_t *call, const http_infer_codec_t *codec,
                            const inferd_json_t *doc, inferd_model_version_t *v,
                            inferd_route_t *route, uint64_t start_ns)
{
    inferd_err_t err;
    http_job_t *hj = calloc(1, sizeof(*hj));
    if (hj == NULL) {
        inferd_fail(&err, INFERD_ENOMEM, "out of memory queueing the request");
        finish_route(call, route, NULL, NULL, true, start_ns);
        fail_counted(call, v, &err, start_ns, 0);
        inferd_version_release(v);
        return;
    }
    hj->route = *route; /* the job owns the route's reference now */
    route->rule = NULL;
    hj->router = call->router;
    hj->mirror = call->mirror;
    hj->version = v;
    hj->codec = codec;
    hj->start_ns = start_ns;
    inferd_arena_init(&hj->arena, 16 * 1024, 0);
    int rc = codec->decode(doc, v, &hj->arena, &hj->req, &hj->codec_state, &err);
    if (rc == 0)
        rc = inferd_infer_prepare(v, &hj->req, &hj->job.prepared, &err);
    if (rc == 0) {
        hj->job.req = &hj->req;
        hj->job.priority = (int)hj->req.priority;
        hj->job.timeout_us = hj->req.timeout_us;
        hj->job.done = on_job_done;
        hj->loop = call->jobs;
        hj->loop_jobs_in_flight = call->jobs_in_flight;
        hj->http_req = call->req;
        hj->ref = h2o_mem_alloc_shared(&call->req->pool, sizeof(*hj->ref), on_request_disposed);
        hj->ref->job = hj;
        (*call->jobs_in_flight)++;
        rc = inferd_sched_submit(v->sched, &hj->job, &err);
        if (rc != 0) {
            (*call->jobs_in_flight)--;
            hj->ref->job = NULL;
        }
    }
    if (rc != 0) {
        finish_route(call, &hj->route, &hj->req, NULL, inferd_http_status(err.code) >= 500,
                     start_ns);
        fail_counted(call, v, &err, start_ns, 0);
        http_job_free(hj);
    }
}

/* ==== the entry point ==== */

/* References the version the request names: the path's :version or :label, else the body's. */
static int acquire_version(http_call_t *call, const http_infer_codec_t *codec,
                           const inferd_json_t *doc, bool is_parsed,
                           inferd_model_version_t **OUT_version, inferd_route_t *route,
                           inferd_err_t *body_err, int *body_rc, inferd_err_t *err)
{
    if (call->label != NULL)
        return inferd_repo_acquire_label(call->repo, call->model, call->label, OUT_version, err);
    const char *version = call->version;
    if (version == NULL && codec->body_version != NULL && is_parsed) {
        *body_rc = codec->body_version(doc, call->arena, &version, body_err);
        if (*body_rc != 0)
            version = NULL;
    }
    if (version == NULL && call->router != NULL) { /* a version named anywhere always wins */
        size_t key_len;
        const char *key = routing_key(call, doc, is_parsed, &key_len);
        inferd_router_route(call->router, call->model, key, key_len, route);
        if (route->rule != NULL) {
            char number[24];
            snprintf(number, sizeof(number), "%lld", (long long)route->version);
            if (inferd_repo_acquire(call->repo, call->model, number, OUT_version, err) == 0)
                return 0;
            inferd_route_release(route); /* the rule names a version that no longer serves */
        }
    }
    return inferd_repo_acquire(call->repo, call->model, version, OUT_version, err);
}

void http_infer(http_call_t *call, const http_infer_codec_t *codec)
{
    inferd_err_t err, body_err;
    inferd_model_version_t *v = NULL;
    if (!http_is_json_body(call->req)) {
        inferd_fail(&err, INFERD_EMEDIA,
                    "the request body must be JSON: send Content-Type: application/json");
        http_reply_error(call, &err);
        return;
    }
    uint64_t start_ns = inferd_monotonic_ns();
    inferd_json_t doc;
    int body_rc = inferd_json_parse(&doc, call->req->entity.base, call->req->entity.len,
                                    call->arena, &body_err);
    bool is_parsed = body_rc == 0;
    inferd_route_t route = {NULL, -1, 0};
    if (acquire_version(call, codec, &doc, is_parsed, &v, &route, &body_err, &body_rc, &err) != 0) {
        http_reply_error(call, &err);
        return;
    }
    http_set_model_version_header(call->req, v);
    if (body_rc != 0) {
        finish_route(call, &route, NULL, NULL, false, start_ns); /* the client's mistake */
        fail_counted(call, v, &body_err, start_ns, 0);
        inferd_version_release(v);
        return;
    }
    if (v->sched != NULL) {
        infer_scheduled(call, codec, &doc, v, &route, start_ns);
        return;
    }
    inferd_request_t req = {0};
    inferd_response_t resp = {0};
    void *state = NULL;
    if (codec->decode(&doc, v, call->arena, &req, &state, &err) != 0 ||
        inferd_infer(v, &req, &resp, &err) != 0) {
        finish_route(call, &route, &req, NULL, inferd_http_status(err.code) >= 500, start_ns);
        fail_counted(call, v, &err, start_ns, 0);
        inferd_version_release(v);
        return;
    }
    finish_route(call, &route, &req, &resp, false, start_ns);
    answer_result(call, codec, v, &req, &resp, state, start_ns, 0);
    inferd_mirror_offer(call->mirror, v->model_name, v->version, &req, &resp);
    inferd_version_release(v);
}
