/* KServe V2 (Open Inference Protocol) over HTTP: server metadata and health, model metadata and
 * readiness, inference; plus /health for load balancers. Handlers turn HTTP into calls on the
 * repository and inferd_infer, and results into V2 JSON. */
#include "call.h"
#include "inferd/backend.h"
#include "inferd/infer.h"
#include "inferd/metrics.h"
#include "v2_codec.h"

#include <string.h>
#include <time.h>

void v2_server_metadata(http_call_t *call)
{
    inferd_jsonw_lit(call->out,
                     "{\"name\":\"inferd\",\"version\":\"" INFERD_VERSION "\",\"extensions\":[]}");
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
        const inferd_model_t *model = inferd_repo_model(call->repo, call->model);
        bool is_first = true;
        for (size_t i = 0; i < model->n_versions; i++) {
            if (!model->versions[i]->is_ready)
                continue;
            if (!is_first)
                inferd_jsonw_lit(w, ",");
            inferd_jsonw_cstr(w, model->versions[i]->version_str);
            is_first = false;
        }
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
    uint64_t start_ns = monotonic_ns();
    if (v2_decode_infer_request(call->req->entity.base, call->req->entity.len, call->arena, &req,
                                &err) != 0 ||
        inferd_infer(v, &req, &resp, &err) != 0) {
        inferd_outcome_t outcome = inferd_outcome_of_status(inferd_http_status(err.code));
        atomic_fetch_add_explicit(&v->stats.requests[outcome], 1, memory_order_relaxed);
        inferd_version_release(v);
        http_reply_error(call, &err);
        return;
    }
    v2_encode_infer_response(call->out, v, &req, &resp);
    atomic_fetch_add_explicit(&v->stats.requests[INFERD_OUTCOME_SUCCESS], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&v->stats.request_ns, monotonic_ns() - start_ns,
                              memory_order_relaxed);
    inferd_version_release(v);
    http_reply_json(call, 200);
}
