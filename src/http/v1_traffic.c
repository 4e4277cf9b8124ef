/* Traffic rules under /v1: PUT/GET/DELETE /v1/models/{m}/traffic (a weighted, sticky or bandit
 * split of the requests that name no version), the seed designs' PATCH
 * /v1/models/{m}/deployments/{d}/traffic, and POST /v1/models/{m}/feedback (rewards and labels
 * for bandits and A/B tests). Rule changes run on the control thread, are stored in the
 * registry and audited; feedback runs inline (it only touches the router). */
#include "call.h"
#include "inferd/log.h"
#include "v1_traffic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== persistence ==== */

void v1_store_rule(http_blocking_t *b, const char *key, const inferd_rule_t *rule,
                   const char *action, const char *reason)
{
    inferd_registry_t *registry = inferd_repo_registry(b->repo);
    if (registry == NULL)
        return;
    inferd_jsonw_t doc = {0};
    if (rule != NULL) {
        inferd_jsonw_lit(&doc, "{\"traffic_split\":");
        inferd_rule_write_split(&doc, rule);
        inferd_jsonw_lit(&doc, ",\"strategy\":");
        inferd_jsonw_cstr(&doc, inferd_strategy_name(rule->strategy));
        inferd_jsonw_lit(&doc, ",\"epsilon\":");
        inferd_jsonw_f64(&doc, rule->epsilon);
        inferd_jsonw_lit(&doc, "}");
    }
    const char *text = rule != NULL ? inferd_jsonw_cstr_of(&doc) : NULL;
    inferd_audit_t audit = {b->actor, action, b->model, 0, text, reason};
    inferd_err_t err;
    if ((rule == NULL || text != NULL) &&
        inferd_registry_put_state(registry, b->model, key, text, &audit, &err) != 0)
        inferd_log_error("registry: storing the traffic rule of '%s': %s", b->model, err.msg);
    inferd_jsonw_free(&doc);
}

/* ==== PUT /v1/models/{m}/traffic ==== */

static void write_traffic(inferd_jsonw_t *w, const char *model, const inferd_rule_t *rule)
{
    inferd_jsonw_lit(w, "{\"model\":");
    inferd_jsonw_cstr(w, model);
    inferd_jsonw_lit(w, ",\"rule\":");
    if (rule != NULL)
        inferd_rule_write_json(w, rule);
    else
        inferd_jsonw_lit(w, "null");
    inferd_jsonw_lit(w, "}");
}

static void put_traffic_work(http_blocking_t *b)
{
    inferd_err_t err = {0};
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 1u << 20);
    inferd_json_t doc;
    int rc = inferd_json_parse(&doc, b->body, b->body_len, &arena, &err);
    if (rc == 0 && inferd_json_kind(&doc, 0) != INFERD_JSON_OBJECT)
        rc = inferd_fail(&err, INFERD_EINVAL, "the request body must be a JSON object");
    inferd_rule_t *current = rc == 0 ? inferd_router_rule(b->router, b->model) : NULL;
    if (current != NULL && current->kind != INFERD_ROUTE_SPLIT)
        rc = inferd_fail(&err, INFERD_ECONFLICT,
                         "model '%s' has a %s running ('%s'); stop it before setting a split",
                         b->model, current->kind == INFERD_ROUTE_AB ? "A/B test" : "canary",
                         current->name ? current->name : "");
    inferd_rule_release(current);
    inferd_rule_t *rule =
        rc == 0 ? inferd_rule_new(b->model, INFERD_ROUTE_SPLIT, NULL, INFERD_STRATEGY_RANDOM)
                : NULL;
    if (rc == 0 && rule == NULL)
        rc = inferd_fail(&err, INFERD_ENOMEM, "out of memory");
    if (rc == 0)
        rc = inferd_rule_read_split(&doc, inferd_json_get(&doc, 0, "traffic_split"), b->repo,
                                    b->model, rule, &err);
    if (rc == 0)
        rc = inferd_rule_read_strategy(&doc, &arena, rule, &err);
    char *reason = NULL;
    int reason_tok = rc == 0 ? inferd_json_get(&doc, 0, "reason") : -1;
    if (reason_tok >= 0)
        inferd_json_string(&doc, reason_tok, &arena, &reason, NULL);
    if (rc != 0) {
        inferd_rule_release(rule);
        inferd_arena_free(&arena);
        http_blocking_error(b, &err);
        return;
    }
    v1_store_rule(b, "traffic", rule, "set_traffic", reason);
    atomic_fetch_add(&rule->refs, 1);
    inferd_router_publish(b->router, b->model, rule);
    write_traffic(&b->out, b->model, rule);
    inferd_rule_release(rule);
    inferd_arena_free(&arena);
}

void v1_put_traffic(http_call_t *call)
{
    http_run_blocking(call, put_traffic_work, NULL);
}

static void get_traffic_work(http_blocking_t *b)
{
    inferd_catalog_t *catalog = inferd_repo_snapshot(b->repo);
    bool is_known = inferd_catalog_model(catalog, b->model) != NULL;
    inferd_catalog_release(catalog);
    inferd_rule_t *rule = inferd_router_rule(b->router, b->model);
    if (!is_known && rule == NULL) {
        inferd_err_t err;
        inferd_fail(&err, INFERD_ENOTFOUND, "unknown model '%s'", b->model);
        http_blocking_error(b, &err);
        return;
    }
    write_traffic(&b->out, b->model, rule);
    inferd_rule_release(rule);
}

void v1_get_traffic(http_call_t *call)
{
    http_run_blocking(call, get_traffic_work, NULL);
}

static void delete_traffic_work(http_blocking_t *b)
{
    inferd_err_t err;
    inferd_rule_t *rule = inferd_router_rule(b->router, b->model);
    if (rule == NULL || rule->kind != INFERD_ROUTE_SPLIT) {
        if (rule == NULL)
            inferd_fail(&err, INFERD_ENOTFOUND, "model '%s' has no traffic split", b->model);
        else
            inferd_fail(&err, INFERD_ECONFLICT, "model '%s' is routed by a %s; stop that instead",
                        b->model, inferd_route_kind_name(rule->kind));
        inferd_rule_release(rule);
        http_blocking_error(b, &err);
        return;
    }
    inferd_rule_release(rule);
    inferd_router_publish(b->router, b->model, NULL);
    v1_store_rule(b, "traffic", NULL, "delete_traffic", NULL);
    write_traffic(&b->out, b->model, NULL);
}

void v1_delete_traffic(http_call_t *call)
{
    http_run_blocking(call, delete_traffic_work, NULL);
}

/* ==== POST /v1/models/{m}/feedback (inline) ==== */

void v1_feedback(http_call_t *call)
{
    inferd_err_t err = {0};
    inferd_json_t doc;
    int rc =
        inferd_json_parse(&doc, call->req->entity.base, call->req->entity.len, call->arena, &err);
    if (rc == 0 && inferd_json_kind(&doc, 0) != INFERD_JSON_OBJECT)
        rc = inferd_fail(&err, INFERD_EINVAL, "the request body must be a JSON object");
    char *request_id = NULL;
    int id = rc == 0 ? inferd_json_get(&doc, 0, "request_id") : -1;
    if (rc == 0 && (id < 0 || inferd_json_string(&doc, id, call->arena, &request_id, NULL) != 0))
        rc = inferd_fail(&err, INFERD_EINVAL,
                         "feedback is {\"request_id\": \"<X-Request-Id or the request's id>\", "
                         "\"reward\": number} or {..., \"label\": class}");
    double reward = 0;
    int64_t label = 0;
    int reward_tok = rc == 0 ? inferd_json_get(&doc, 0, "reward") : -1;
    int label_tok = rc == 0 ? inferd_json_get(&doc, 0, "label") : -1;
    if (rc == 0 && reward_tok >= 0 &&
        (inferd_json_double(&doc, reward_tok, &reward) != 0 || !isfinite(reward)))
        rc = inferd_fail(&err, INFERD_EINVAL, "reward must be a number");
    if (rc == 0 && label_tok >= 0 && inferd_json_int64(&doc, label_tok, &label) != 0)
        rc = inferd_fail(&err, INFERD_EINVAL, "label must be a class number");
    if (rc == 0)
        rc = inferd_router_feedback(call->router, call->model, request_id, reward_tok >= 0, reward,
                                    label_tok >= 0, label, &err);
    if (rc != 0) {
        http_reply_error(call, &err);
        return;
    }
    inferd_jsonw_lit(call->out, "{\"request_id\":");
    inferd_jsonw_cstr(call->out, request_id);
    inferd_jsonw_lit(call->out, ",\"accepted\":true}");
    http_reply_json(call, 200);
}
