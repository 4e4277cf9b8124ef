/* Reading a rule's split and strategy from a request body: {"3": 90, "4": 10} naming versions
 * that serve, and "strategy"/"epsilon". Shared by traffic splits, A/B tests and canaries. */
#include "router_private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int inferd_rule_read_split(const inferd_json_t *doc, int split, inferd_repo_t *repo,
                           const char *model, inferd_rule_t *rule, inferd_err_t *err)
{
    if (split < 0 || inferd_json_kind(doc, split) != INFERD_JSON_OBJECT ||
        inferd_json_size(doc, split) == 0)
        return inferd_fail(err, INFERD_EINVAL,
                           "give the split as {\"<version>\": weight, ...}, e.g. "
                           "{\"3\": 90, \"4\": 10}");
    int n = inferd_json_size(doc, split);
    if (n > INFERD_MAX_VARIANTS)
        return inferd_fail(err, INFERD_EINVAL, "a split has at most %d versions",
                           INFERD_MAX_VARIANTS);
    inferd_catalog_t *catalog = inferd_repo_snapshot(repo);
    const inferd_model_t *m = inferd_catalog_model(catalog, model);
    int rc = m == NULL ? inferd_fail(err, INFERD_ENOTFOUND, "unknown model '%s'", model) : 0;
    double total = 0;
    for (int i = 0, key = split + 1; rc == 0 && i < n; i++, key = inferd_json_next(doc, key + 1)) {
        size_t len;
        const char *raw = inferd_json_raw(doc, key, &len);
        char text[24];
        snprintf(text, sizeof(text), "%.*s", (int)(len < 23 ? len : 23), raw);
        char *end;
        long long version = strtoll(text, &end, 10);
        double weight;
        if (len == 0 || len > 18 || *end != '\0' || version < 1) {
            rc = inferd_fail(err, INFERD_EINVAL, "split key '%.*s' is not a version number",
                             (int)(len < 64 ? len : 64), raw);
            break;
        }
        if (inferd_json_double(doc, key + 1, &weight) != 0 || !(weight >= 0) || weight > 1e9) {
            rc = inferd_fail(err, INFERD_EINVAL, "the weight of version %lld must be a number >= 0",
                             version);
            break;
        }
        const inferd_model_version_t *served = NULL;
        for (size_t v = 0; v < m->n_versions; v++)
            if (m->versions[v]->version == version)
                served = m->versions[v];
        if (served == NULL || !served->is_ready) {
            rc = inferd_fail(err, served ? INFERD_EUNAVAIL : INFERD_ENOTFOUND,
                             "model '%s' version %lld is not %s; deploy it before sending it "
                             "traffic",
                             model, version, served ? "ready" : "served");
            break;
        }
        for (size_t j = 0; j < rule->n_variants; j++)
            if (rule->variants[j].version == version)
                rc = inferd_fail(err, INFERD_EINVAL, "version %lld is listed twice", version);
        rule->variants[rule->n_variants].version = version;
        rule->variants[rule->n_variants++].weight = weight;
        total += weight;
    }
    inferd_catalog_release(catalog);
    if (rc == 0 && !(total > 0))
        rc = inferd_fail(err, INFERD_EINVAL, "the weights of a split must not all be 0");
    return rc;
}

/* Reads "strategy" (default random) and "epsilon" into `rule`. */
int inferd_rule_read_strategy(const inferd_json_t *doc, inferd_arena_t *arena, inferd_rule_t *rule,
                              inferd_err_t *err)
{
    int tok = inferd_json_get(doc, 0, "strategy");
    if (tok >= 0) {
        char *text;
        int strategy = -1;
        if (inferd_json_string(doc, tok, arena, &text, NULL) == 0)
            strategy = inferd_strategy_parse(text);
        if (strategy < 0)
            return inferd_fail(err, INFERD_EINVAL,
                               "strategy must be \"random\", \"sticky\", \"epsilon_greedy\" or "
                               "\"thompson\"");
        rule->strategy = (inferd_strategy_t)strategy;
    }
    tok = inferd_json_get(doc, 0, "epsilon");
    if (tok >= 0 && (inferd_json_double(doc, tok, &rule->epsilon) != 0 || !(rule->epsilon >= 0) ||
                     rule->epsilon > 1))
        return inferd_fail(err, INFERD_EINVAL, "epsilon must be a number from 0 to 1");
    return 0;
}
