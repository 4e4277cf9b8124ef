/* Shadow traffic under /v1/models/{m}/shadow: PUT {"version", "percent"} mirrors that share of
 * the model's live requests to another version, GET reports what the shadow did and how well it
 * agrees, DELETE stops it. The work runs on the control thread (inferd/mirror.h). */
#include "call.h"
#include "inferd/mirror.h"

static void put_work(http_blocking_t *b)
{
    inferd_err_t err = {0};
    inferd_arena_t arena;
    inferd_arena_init(&arena, 1024, 1u << 20);
    inferd_json_t doc;
    int64_t version = 0;
    double percent = 100;
    int rc = inferd_json_parse(&doc, b->body, b->body_len, &arena, &err);
    if (rc == 0 && inferd_json_kind(&doc, 0) != INFERD_JSON_OBJECT)
        rc = inferd_fail(&err, INFERD_EINVAL, "the request body must be a JSON object");
    int version_tok = rc == 0 ? inferd_json_get(&doc, 0, "version") : -1;
    int percent_tok = rc == 0 ? inferd_json_get(&doc, 0, "percent") : -1;
    if (rc == 0 &&
        (version_tok < 0 || inferd_json_int64(&doc, version_tok, &version) != 0 || version < 1))
        rc = inferd_fail(&err, INFERD_EINVAL,
                         "a shadow is {\"version\": N, \"percent\": 0..100} (version: a number)");
    if (rc == 0 && percent_tok >= 0 && inferd_json_double(&doc, percent_tok, &percent) != 0)
        rc = inferd_fail(&err, INFERD_EINVAL, "percent must be a number from 0 to 100");
    inferd_arena_free(&arena);
    if (rc == 0)
        rc = inferd_mirror_set(b->user, b->model, version, percent, b->actor, &err);
    if (rc == 0)
        rc = inferd_mirror_describe(b->user, b->model, &b->out, &err);
    if (rc != 0)
        http_blocking_error(b, &err);
}

static void get_work(http_blocking_t *b)
{
    inferd_err_t err = {0};
    if (inferd_mirror_describe(b->user, b->model, &b->out, &err) != 0)
        http_blocking_error(b, &err);
}

static void delete_work(http_blocking_t *b)
{
    inferd_err_t err = {0};
    if (inferd_mirror_clear(b->user, b->model, b->actor, &err) != 0) {
        http_blocking_error(b, &err);
        return;
    }
    inferd_jsonw_lit(&b->out, "{\"model\":");
    inferd_jsonw_cstr(&b->out, b->model);
    inferd_jsonw_lit(&b->out, ",\"shadow\":null}");
}

void v1_put_shadow(http_call_t *call)
{
    http_run_blocking(call, put_work, call->mirror);
}

void v1_get_shadow(http_call_t *call)
{
    http_run_blocking(call, get_work, call->mirror);
}

void v1_delete_shadow(http_call_t *call)
{
    http_run_blocking(call, delete_work, call->mirror);
}
