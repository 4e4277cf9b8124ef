/* A/B tests under /v1/models/{m}/ab-tests: create, list, show (with significance), stop and
 * promote. The work runs on the control thread (inferd/abtest.h). */
#include "call.h"
#include "inferd/abtest.h"

#include <stdlib.h>
#include <string.h>

static void answer(http_blocking_t *b, int rc, const inferd_err_t *err, int status)
{
    if (rc != 0)
        http_blocking_error(b, err);
    else
        b->status = status;
}

static void create_work(http_blocking_t *b)
{
    inferd_err_t err = {0};
    int rc = inferd_ab_create(b->user, b->model, b->body, b->body_len, b->actor, &b->out, &err);
    answer(b, rc, &err, 201);
}

static void describe_work(http_blocking_t *b)
{
    inferd_err_t err = {0};
    answer(b, inferd_ab_describe(b->user, b->model, b->name, &b->out, &err), &err, 200);
}

static void stop_work(http_blocking_t *b)
{
    inferd_err_t err = {0};
    answer(b, inferd_ab_end(b->user, b->model, b->name, b->actor, &b->out, &err), &err, 200);
}

static void promote_work(http_blocking_t *b)
{
    inferd_err_t err = {0};
    int64_t version = 0;
    if (b->body_len > 0) {
        inferd_arena_t arena;
        inferd_arena_init(&arena, 1024, 1u << 20);
        inferd_json_t doc;
        int rc = inferd_json_parse(&doc, b->body, b->body_len, &arena, &err);
        int tok = rc == 0 ? inferd_json_get(&doc, 0, "version") : -1;
        if (rc == 0 && tok >= 0 && (inferd_json_int64(&doc, tok, &version) != 0 || version < 1))
            rc = inferd_fail(&err, INFERD_EINVAL, "version must be a version number");
        inferd_arena_free(&arena);
        if (rc != 0) {
            http_blocking_error(b, &err);
            return;
        }
    }
    int rc = inferd_ab_promote(b->user, b->model, b->name, version, b->actor, &b->out, &err);
    answer(b, rc, &err, 200);
}

void v1_ab_create(http_call_t *call)
{
    http_run_blocking(call, create_work, call->ab);
}

void v1_ab_describe(http_call_t *call)
{
    http_run_blocking(call, describe_work, call->ab);
}

void v1_ab_stop(http_call_t *call)
{
    http_run_blocking(call, stop_work, call->ab);
}

void v1_ab_promote(http_call_t *call)
{
    http_run_blocking(call, promote_work, call->ab);
}
