/* Operator endpoints: GET /metrics (Prometheus) and the V2 statistics extension
 * (GET /v2/models[/{m}[/versions/{v}]]/stats, in Triton's JSON shape). */
#include "call.h"
#include "inferd/canary.h"
#include "inferd/abtest.h"
#include "inferd/metrics.h"
#include "inferd/mirror.h"

void metrics_text(http_call_t *call)
{
    inferd_catalog_t *catalog = inferd_repo_snapshot(call->repo);
    inferd_metrics_render(call->out, catalog);
    inferd_catalog_release(catalog);
    if (call->router != NULL)
        inferd_router_render_metrics(call->router, call->out);
    inferd_canary_render_metrics(inferd_canary_of(call->router), call->out);
    if (call->ab != NULL)
        inferd_ab_render_metrics(call->ab, call->out);
    if (call->mirror != NULL)
        inferd_mirror_render_metrics(call->mirror, call->out);
    if (call->out->failed) {
        inferd_err_t err;
        inferd_fail(&err, INFERD_ENOMEM, "out of memory writing metrics");
        http_reply_error(call, &err);
        return;
    }
    http_reply_text(call, 200, "text/plain; version=0.0.4; charset=utf-8", call->out->buf,
                    call->out->len);
}

void v2_model_stats(http_call_t *call)
{
    if (call->model != NULL) {
        inferd_err_t err;
        inferd_model_version_t *v;
        if (inferd_repo_find_version(call->repo, call->model, call->version, &v, &err) != 0) {
            http_reply_error(call, &err);
            return;
        }
        inferd_version_release(v);
    }
    inferd_catalog_t *catalog = inferd_repo_snapshot(call->repo);
    inferd_stats_render(call->out, catalog, call->model, call->version);
    inferd_catalog_release(catalog);
    http_reply_json(call, 200);
}
