/* Canary rollouts under /v1/models/{m}/canary: POST starts one, GET shows the current or last
 * one (stage, criteria, the stage's per-variant statistics, history), DELETE aborts it. The
 * work runs on the control thread, where the canary controller lives (inferd/canary.h). */
#include "call.h"
#include "inferd/canary.h"

#include <string.h>

/* The controller, or an answer saying there is none (a server shutting down). */
static inferd_canary_t *controller(http_blocking_t *b)
{
    inferd_canary_t *canary = inferd_canary_of(b->router);
    if (canary == NULL) {
        inferd_err_t err;
        inferd_fail(&err, INFERD_EUNAVAIL,
                    "canary rollouts are not available (the server is "
                    "starting or shutting down)");
        http_blocking_error(b, &err);
    }
    return canary;
}

static void answer(http_blocking_t *b, int rc, const inferd_err_t *err, int status)
{
    if (rc != 0)
        http_blocking_error(b, err);
    else
        b->status = status;
}

static void create_work(http_blocking_t *b)
{
    inferd_canary_t *canary = controller(b);
    if (canary == NULL)
        return;
    inferd_err_t err = {0};
    int rc = inferd_canary_create(canary, b->model, b->body, b->body_len, b->actor, &b->out, &err);
    answer(b, rc, &err, 201);
}

static void describe_work(http_blocking_t *b)
{
    inferd_canary_t *canary = controller(b);
    if (canary == NULL)
        return;
    inferd_err_t err = {0};
    answer(b, inferd_canary_describe(canary, b->model, &b->out, &err), &err, 200);
}

/* DELETE takes an optional {"reason": "..."} body. */
static void abort_work(http_blocking_t *b)
{
    inferd_canary_t *canary = controller(b);
    if (canary == NULL)
        return;
    inferd_err_t err = {0};
    inferd_arena_t arena;
    inferd_arena_init(&arena, 1024, 1u << 20);
    char *reason = NULL;
    int rc = 0;
    if (b->body_len > 0) {
        inferd_json_t doc;
        rc = inferd_json_parse(&doc, b->body, b->body_len, &arena, &err);
        int tok = rc == 0 ? inferd_json_get(&doc, 0, "reason") : -1;
        if (rc == 0 && inferd_json_kind(&doc, 0) != INFERD_JSON_OBJECT)
            rc = inferd_fail(&err, INFERD_EINVAL, "the request body must be a JSON object");
        else if (tok >= 0 && inferd_json_string(&doc, tok, &arena, &reason, NULL) != 0)
            rc = inferd_fail(&err, INFERD_EINVAL, "reason must be a string");
    }
    if (rc == 0)
        rc = inferd_canary_abort(canary, b->model, b->actor, reason, &b->out, &err);
    answer(b, rc, &err, 200);
    inferd_arena_free(&arena);
}

void v1_canary_create(http_call_t *call)
{
    http_run_blocking(call, create_work, NULL);
}

void v1_canary_describe(http_call_t *call)
{
    http_run_blocking(call, describe_work, NULL);
}

void v1_canary_abort(http_call_t *call)
{
    http_run_blocking(call, abort_work, NULL);
}
