/* Operator endpoints that are not part of the V2 protocol: GET /metrics (Prometheus). */
#include "call.h"
#include "inferd/metrics.h"

void metrics_text(http_call_t *call)
{
    inferd_metrics_render(call->out, call->repo);
    if (call->out->failed) {
        inferd_err_t err;
        inferd_fail(&err, INFERD_ENOMEM, "out of memory writing metrics");
        http_reply_error(call, &err);
        return;
    }
    http_reply_text(call, 200, "text/plain; version=0.0.4; charset=utf-8", call->out->buf,
                    call->out->len);
}
