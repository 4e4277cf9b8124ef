/* KServe V2 (Open Inference Protocol) over HTTP: server metadata and health, model metadata and
 * readiness, inference; plus /health for load balancers. Handlers turn HTTP into calls on the
 * repository and inferd_infer, and results into V2 JSON. */
#include "call.h"
#include "inferd/backend.h"
#include "inferd/infer.h"
#include "inferd/metrics.h"
#include "inferd/sched.h"
#include "v2_codec.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void v2_server_metadata(http_call_t *call)
{
    inferd_jsonw_lit(call->out, "{\"name\":\"inferd\",\"version\":\"" INFERD_VERSION
                                "\",\"extensions\":[\"statistics\",\"schedule_policy\"]}");
    http_reply_json(call, 200);
}

void v2_health_live(http_call_t *call)
{
    inferd_jsonw_lit(call->out, "{\"live\":true}");
    http_reply_json(call, 200);
}

/* Ready once the repository has been loaded (this server starts listening only then) and until
 * it starts draining. Models that failed do not make the server unready: they answer for
 * themselves at their own ready endpoint. */
void v2_health_ready(http_call_t *call)
{
    if (call->is_draining) {
        inferd_jsonw_lit(call->out, "{\"ready\":false,\"error\":\"the server is shutting down\"}");
        http_reply_json(call, 503);
        return;
    }
    inferd_jsonw_lit(call->out, "{\"ready\":true}");
    http_reply_json(call, 200);
}

void lb_health(http_call_t *call)
{
    inferd_jsonw_lit(call->out, "{\"status\":\"ok\"}");
    http_reply_json(call, 200);
}

static void write_specs(inferd_jsonw_t *w, const inferd_io_spec_t *specs, size_t n)
{
    inferd_jsonw_lit(w, "[");
    for (size_t i = 0; i < n; i++) {
        inferd_jsonw_lit(w, i ? ",{\"name\":" : "{\"name\":");
        inferd_jsonw_cstr(w, specs[i].name);
        inferd_jsonw_lit(w, ",\"datatype\":\"");
        inferd_jsonw_lit(w, inferd_dtype_name(specs[i].dtype));
        inferd_jsonw_lit(w, "\",\"shape\":[");
        for (int d = 0; d < specs[i].ndim; d++) {
            if (d > 0)
                inferd_jsonw_lit(w, ",");
            inferd_jsonw_int(w, specs[i].shape[d]);
        }
        inferd_jsonw_lit(w, "]}");
    }
    inferd_jsonw_lit(w, "]");
}

void v2_model_metadata(http_call_t *call)
{
    inferd_err_t err;
    inferd_model_version_t *v;
    if (inferd_repo_acquire(call->repo, call->model, call->version, &v, &err) != 0) {
        http_reply_error(call, &err);
        return;
    }
    inferd_jsonw_t *w = call->out;
    inferd_jsonw_lit(w, "{\"name\":");
    inferd_jsonw_cstr(w, v->model_name);
    inferd_jsonw_lit(w, ",\"versions\":[");
    if (call->version != NULL) {
        inferd_jsonw_cstr(w, v->version_str);
    } else {
        inferd_catalog_t *catalog = inferd_repo_snapshot(call->repo);
        const inferd_model_t *model = inferd_catalog_model(catalog, call->model);
        bool is_first = true;
        for (size_t i = 0; model != NULL && i < model->n_versions; i++) {
            if (!model->versions[i]->is_ready)
                continue;
            if (!is_first)
                inferd_jsonw_lit(w, ",");
            inferd_jsonw_cstr(w, model->versions[i]->version_str);
            is_first = false;
        }
        inferd_catalog_release(catalog);
    }
    inferd_jsonw_lit(w, "],\"platform\":");
    inferd_jsonw_cstr(w, v->backend->platform);
    inferd_jsonw_lit(w, ",\"inputs\":");
    write_specs(w, v->sig.inputs, v->sig.n_inputs);
    inferd_jsonw_lit(w, ",\"outputs\":");
    write_specs(w, v->sig.outputs, v->sig.n_outputs);
    inferd_jsonw_lit(w, "}");
    inferd_version_release(v);
    http_reply_json(call, 200);
}

void v2_model_ready(http_call_t *call)
{
    inferd_err_t err;
    inferd_model_version_t *v;
    int rc = inferd_repo_acquire(call->repo, call->model, call->version, &v, &err);
    if (rc == INFERD_ENOTFOUND) {
        http_reply_error(call, &err);
        return;
    }
    inferd_jsonw_t *w = call->out;
    inferd_jsonw_lit(w, "{\"name\":");
    inferd_jsonw_cstr(w, call->model);
    if (call->version != NULL) {
        inferd_jsonw_lit(w, ",\"version\":");
        inferd_jsonw_cstr(w, call->version);
    }
    if (rc != 0) {
        inferd_jsonw_lit(w, ",\"ready\":false,\"error\":");
        inferd_jsonw_cstr(w, err.msg);
        inferd_jsonw_lit(w, "}");
        http_reply_json(call, 503);
        return;
    }
    inferd_jsonw_lit(w, ",\"ready\":true}");
    inferd_version_release(v);
    http_reply_json(call, 200);
}

/* The media types accepted for a JSON body: JSON itself, none, and curl -d's default. */
static bool is_json_body(h2o_req_t *req)
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

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ==== requests that go through a scheduler ====
 * The request is decoded into an arena of its own (it outlives this handler), checked, and
 * queued; its result comes back on this loop thread through v2_on_jobs_done. If the client
 * leaves meanwhile, h2o disposes the request and with it the ref below, which detaches the job
 * so that its result is dropped. */

typedef struct http_job http_job_t;

typedef struct {
    http_job_t *job; /* NULL once the job has answered */
} http_job_ref_t;

struct http_job {
    h2o_multithread_message_t message; /* to the owning loop; first: see the dispatch below */
    inferd_job_t job;
    inferd_request_t req;
    inferd_arena_t arena;
    inferd_model_version_t *version; /* a reference, released with the job */
    h2o_multithread_receiver_t *loop;
    int64_t *loop_jobs_in_flight;
    h2o_req_t *http_req; /* NULL once the client went away */
    http_job_ref_t *ref;
    uint64_t start_ns;
};

static void http_job_free(http_job_t *hj)
{
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

void v2_on_jobs_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        http_job_t *hj = H2O_STRUCT_FROM_MEMBER(http_job_t, message.link, messages->next);
        h2o_linklist_unlink(&hj->message.link);
        (*hj->loop_jobs_in_flight)--;
        inferd_model_version_t *v = hj->version;
        inferd_outcome_t outcome = hj->job.rc == 0
                                       ? INFERD_OUTCOME_SUCCESS
                                       : inferd_outcome_of_status(inferd_http_status(hj->job.rc));
        inferd_stats_record_request(v, outcome, monotonic_ns() - hj->start_ns, hj->job.queue_ns);
        if (hj->http_req != NULL) {
            hj->ref->job = NULL;
            http_call_t call = http_loop_call(hj->http_req);
            if (hj->job.rc != 0) {
                if (hj->job.err.code == 0)
                    inferd_fail(&hj->job.err, hj->job.rc, "%s", inferd_strerror(hj->job.rc));
                http_reply_error(&call, &hj->job.err);
            } else {
                v2_encode_infer_response(call.out, v, &hj->req, &hj->job.resp);
                http_reply_json(&call, 200);
            }
        }
        http_job_free(hj);
    }
}

static void infer_scheduled(http_call_t *call, inferd_model_version_t *v)
{
    inferd_err_t err;
    http_job_t *hj = calloc(1, sizeof(*hj));
    if (hj == NULL) {
        inferd_version_release(v);
        inferd_fail(&err, INFERD_ENOMEM, "out of memory queueing the request");
        http_reply_error(call, &err);
        return;
    }
    hj->version = v;
    hj->start_ns = monotonic_ns();
    inferd_arena_init(&hj->arena, 16 * 1024, 0);
    int rc = v2_decode_infer_request(call->req->entity.base, call->req->entity.len, &hj->arena,
                                     &hj->req, &err);
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
        inferd_outcome_t outcome = inferd_outcome_of_status(inferd_http_status(err.code));
        inferd_stats_record_request(v, outcome, monotonic_ns() - hj->start_ns, 0);
        http_job_free(hj);
        http_reply_error(call, &err);
    }
}

void v2_model_infer(http_call_t *call)
{
    inferd_err_t err;
    inferd_model_version_t *v = NULL;
    inferd_request_t req;
    inferd_response_t resp = {0};
    if (!is_json_body(call->req)) {
        inferd_fail(&err, INFERD_EMEDIA,
                    "the request body must be JSON: send Content-Type: application/json");
        http_reply_error(call, &err);
        return;
    }
    if (inferd_repo_acquire(call->repo, call->model, call->version, &v, &err) != 0) {
        http_reply_error(call, &err);
        return;
    }
    if (v->sched != NULL) {
        infer_scheduled(call, v);
        return;
    }
    uint64_t start_ns = monotonic_ns();
    if (v2_decode_infer_request(call->req->entity.base, call->req->entity.len, call->arena, &req,
                                &err) != 0 ||
        inferd_infer(v, &req, &resp, &err) != 0) {
        inferd_outcome_t outcome = inferd_outcome_of_status(inferd_http_status(err.code));
        inferd_stats_record_request(v, outcome, monotonic_ns() - start_ns, 0);
        inferd_version_release(v);
        http_reply_error(call, &err);
        return;
    }
    v2_encode_infer_response(call->out, v, &req, &resp);
    inferd_stats_record_request(v, INFERD_OUTCOME_SUCCESS, monotonic_ns() - start_ns, 0);
    inferd_version_release(v);
    http_reply_json(call, 200);
}
