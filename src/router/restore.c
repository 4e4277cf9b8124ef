/* Bringing traffic rules back at start-up: the split and strategy stored in the registry under
 * (model, "traffic") become the model's rule again, for the versions that serve now (a version
 * that no longer serves is left out, with a warning; a rule left with nothing is dropped). */
#include "inferd/log.h"
#include "router_private.h"

#include <stdlib.h>
#include <string.h>

/* Builds the rule stored as `json` for `model`; NULL when nothing in it still serves. */
static inferd_rule_t *rule_from_json(const char *model, const char *json,
                                     const inferd_catalog_t *catalog)
{
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 1u << 20);
    inferd_json_t doc;
    inferd_rule_t *rule = NULL;
    const inferd_model_t *m = inferd_catalog_model(catalog, model);
    if (m == NULL || inferd_json_parse(&doc, json, strlen(json), &arena, NULL) != 0)
        goto done;
    int strategy_tok = inferd_json_get(&doc, 0, "strategy");
    char *strategy_name = NULL;
    int strategy = INFERD_STRATEGY_RANDOM;
    if (strategy_tok >= 0 &&
        inferd_json_string(&doc, strategy_tok, &arena, &strategy_name, NULL) == 0 &&
        inferd_strategy_parse(strategy_name) >= 0)
        strategy = inferd_strategy_parse(strategy_name);
    rule = inferd_rule_new(model, INFERD_ROUTE_SPLIT, NULL, (inferd_strategy_t)strategy);
    if (rule == NULL)
        goto done;
    int epsilon = inferd_json_get(&doc, 0, "epsilon");
    if (epsilon >= 0)
        inferd_json_double(&doc, epsilon, &rule->epsilon);
    int split = inferd_json_get(&doc, 0, "traffic_split");
    int n = split >= 0 ? inferd_json_size(&doc, split) : 0;
    for (int i = 0, key = split + 1; i < n && rule->n_variants < INFERD_MAX_VARIANTS;
         i++, key = inferd_json_next(&doc, key + 1)) {
        char *text;
        double weight;
        if (inferd_json_string(&doc, key, &arena, &text, NULL) != 0 ||
            inferd_json_double(&doc, key + 1, &weight) != 0)
            continue;
        int64_t version = strtoll(text, NULL, 10);
        bool serves = false;
        for (size_t v = 0; v < m->n_versions; v++)
            serves |= m->versions[v]->version == version && m->versions[v]->is_ready;
        if (!serves) {
            inferd_log_warn("traffic rule of '%s': version %lld no longer serves; left out", model,
                            (long long)version);
            continue;
        }
        rule->variants[rule->n_variants].version = version;
        rule->variants[rule->n_variants++].weight = weight;
    }
    if (rule->n_variants == 0) {
        inferd_rule_release(rule);
        rule = NULL;
    }
done:
    inferd_arena_free(&arena);
    return rule;
}

void inferd_router_restore(inferd_router_t *router, const inferd_catalog_t *catalog)
{
    if (router->registry == NULL)
        return;
    for (size_t i = 0; i < catalog->n_models; i++) {
        char *json = NULL;
        inferd_err_t err;
        const char *model = catalog->models[i]->name;
        if (inferd_registry_get_state(router->registry, model, "traffic", &json, &err) != 0)
            continue;
        inferd_rule_t *rule = rule_from_json(model, json, catalog);
        free(json);
        if (rule != NULL) {
            inferd_log_info("model '%s': traffic rule restored (%zu versions, %s)", model,
                            rule->n_variants, inferd_strategy_name(rule->strategy));
            inferd_router_publish(router, model, rule);
        }
    }
}
