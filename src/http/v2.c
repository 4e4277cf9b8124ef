/* KServe V2 (Open Inference Protocol) over HTTP: server metadata and health, model metadata and
 * readiness, inference; plus /health for load balancers. Handlers turn HTTP into calls on the
 * repository, and inference into a codec for the shared path of infer_path.c. */
#include "call.h"
#include "infer_path.h"
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
    inferd_specs_write_json(w, v->sig.inputs, v->sig.n_inputs);
    inferd_jsonw_lit(w, ",\"outputs\":");
    inferd_specs_write_json(w, v->sig.outputs, v->sig.n_outputs);
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

/* ==== inference ====
 * The shared path (infer_path.c) does the work; V2 brings its JSON codec. */

static int v2_infer_decode(const inferd_json_t *doc, const inferd_model_version_t *v,
                           inferd_arena_t *arena, inferd_request_t *req, void **OUT_state,
                           inferd_err_t *err)
{
    *OUT_state = NULL;
    return v2_decode_infer_doc(doc, arena, req, err);
}

static int v2_infer_encode(inferd_jsonw_t *w, const inferd_model_version_t *v,
                           const inferd_request_t *req, const inferd_response_t *resp, void *state,
                           uint64_t elapsed_ns, inferd_err_t *err)
{
    v2_encode_infer_response(w, v, req, resp);
    return 0;
}

static const http_infer_codec_t v2_infer_codec = {
    .name = "v2",
    .decode = v2_infer_decode,
    .encode = v2_infer_encode,
};

void v2_model_infer(http_call_t *call)
{
    http_infer(call, &v2_infer_codec);
}
