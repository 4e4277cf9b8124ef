/* Writing rules and their statistics out: the JSON of GET /v1/models/{m}/traffic (and of the
 * A/B and canary endpoints, which embed it), the Prometheus series of every rule, and the JSON
 * stored in the registry to bring a rule back after a restart. */
#include "router_private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Variant i's reward summary, read under its lock. */
static void rewards_of(const inferd_variant_stats_t *stats, uint64_t *OUT_count, double *OUT_mean,
                       double *OUT_m2, uint64_t *OUT_labels, uint64_t *OUT_correct)
{
    pthread_mutex_t *lock = (pthread_mutex_t *)&stats->lock;
    pthread_mutex_lock(lock);
    *OUT_count = stats->rewards;
    *OUT_mean = stats->reward_mean;
    *OUT_m2 = stats->reward_m2;
    *OUT_labels = stats->labels;
    *OUT_correct = stats->labels_correct;
    pthread_mutex_unlock(lock);
}

static void write_number(inferd_jsonw_t *w, double value)
{
    if (isfinite(value))
        inferd_jsonw_f64(w, value);
    else
        inferd_jsonw_lit(w, "null");
}

void inferd_rule_write_split(inferd_jsonw_t *w, const inferd_rule_t *rule)
{
    inferd_jsonw_lit(w, "{");
    for (size_t i = 0; i < rule->n_variants; i++) {
        char version[24];
        snprintf(version, sizeof(version), "%lld", (long long)rule->variants[i].version);
        if (i)
            inferd_jsonw_lit(w, ",");
        inferd_jsonw_cstr(w, version);
        inferd_jsonw_lit(w, ":");
        write_number(w, rule->variants[i].weight);
    }
    inferd_jsonw_lit(w, "}");
}

void inferd_rule_write_json(inferd_jsonw_t *w, const inferd_rule_t *rule)
{
    inferd_jsonw_lit(w, "{\"kind\":");
    inferd_jsonw_cstr(w, inferd_route_kind_name(rule->kind));
    if (rule->name != NULL) {
        inferd_jsonw_lit(w, ",\"name\":");
        inferd_jsonw_cstr(w, rule->name);
    }
    inferd_jsonw_lit(w, ",\"strategy\":");
    inferd_jsonw_cstr(w, inferd_strategy_name(rule->strategy));
    if (rule->strategy == INFERD_STRATEGY_EPSILON_GREEDY) {
        inferd_jsonw_lit(w, ",\"epsilon\":");
        write_number(w, rule->epsilon);
    }
    inferd_jsonw_lit(w, ",\"traffic_split\":");
    inferd_rule_write_split(w, rule);
    inferd_jsonw_lit(w, ",\"variants\":[");
    for (size_t i = 0; i < rule->n_variants; i++) {
        const inferd_variant_t *v = &rule->variants[i];
        uint64_t requests = atomic_load_explicit(&v->stats.requests, memory_order_relaxed);
        uint64_t errors = atomic_load_explicit(&v->stats.errors, memory_order_relaxed);
        double mean_ms, variance;
        inferd_variant_latency_moments(&v->stats, &mean_ms, &variance);
        uint64_t rewards, labels, correct;
        double reward_mean, reward_m2;
        rewards_of(&v->stats, &rewards, &reward_mean, &reward_m2, &labels, &correct);
        inferd_jsonw_lit(w, i ? ",{\"version\":" : "{\"version\":");
        inferd_jsonw_int(w, v->version);
        inferd_jsonw_lit(w, ",\"weight\":");
        write_number(w, v->weight);
        inferd_jsonw_lit(w, ",\"requests\":");
        inferd_jsonw_uint(w, requests);
        inferd_jsonw_lit(w, ",\"errors\":");
        inferd_jsonw_uint(w, errors);
        inferd_jsonw_lit(w, ",\"error_rate\":");
        write_number(w, requests ? (double)errors / (double)requests : 0);
        inferd_jsonw_lit(w, ",\"latency_ms\":{\"mean\":");
        write_number(w, mean_ms);
        inferd_jsonw_lit(w, ",\"p50\":");
        write_number(w, inferd_variant_latency_ms(&v->stats, 0.50));
        inferd_jsonw_lit(w, ",\"p95\":");
        write_number(w, inferd_variant_latency_ms(&v->stats, 0.95));
        inferd_jsonw_lit(w, ",\"p99\":");
        write_number(w, inferd_variant_latency_ms(&v->stats, 0.99));
        inferd_jsonw_lit(w, "},\"feedback\":{\"count\":");
        inferd_jsonw_uint(w, rewards);
        inferd_jsonw_lit(w, ",\"mean_reward\":");
        if (rewards)
            write_number(w, reward_mean);
        else
            inferd_jsonw_lit(w, "null");
        inferd_jsonw_lit(w, ",\"labels\":");
        inferd_jsonw_uint(w, labels);
        inferd_jsonw_lit(w, ",\"accuracy\":");
        if (labels)
            write_number(w, (double)correct / (double)labels);
        else
            inferd_jsonw_lit(w, "null");
        inferd_jsonw_lit(w, "}}");
    }
    inferd_jsonw_lit(w, "]}");
}

void inferd_router_render_metrics(inferd_router_t *router, inferd_jsonw_t *w)
{
    inferd_rule_t **rules;
    size_t n;
    if (inferd_router_rules(router, &rules, &n) != 0)
        return;
    static const struct {
        const char *name, *type, *help;
    } series[] = {
        {"inferd_route_requests_total", "counter",
         "Requests routed by the model's current traffic rule, by version and decision (split, "
         "ab_test, canary); restarts at 0 when the rule changes."},
        {"inferd_route_errors_total", "counter",
         "Routed requests that failed with a 5xx, by version and decision."},
        {"inferd_route_weight", "gauge",
         "The weight of each version in the model's current traffic rule."},
    };
    for (size_t s = 0; s < sizeof(series) / sizeof(series[0]); s++) {
        inferd_jsonw_lit(w, "# HELP ");
        inferd_jsonw_lit(w, series[s].name);
        inferd_jsonw_lit(w, " ");
        inferd_jsonw_lit(w, series[s].help);
        inferd_jsonw_lit(w, "\n# TYPE ");
        inferd_jsonw_lit(w, series[s].name);
        inferd_jsonw_lit(w, " ");
        inferd_jsonw_lit(w, series[s].type);
        inferd_jsonw_lit(w, "\n");
        for (size_t r = 0; r < n; r++) {
            const inferd_rule_t *rule = rules[r];
            if (strpbrk(rule->model, "\"\\\n") != NULL)
                continue; /* not a name a label value can carry unescaped */
            for (size_t i = 0; i < rule->n_variants; i++) {
                const inferd_variant_t *v = &rule->variants[i];
                char line[512];
                int len = snprintf(line, sizeof(line),
                                   "%s{model=\"%s\",version=\"%lld\",decision=\"%s\"} ",
                                   series[s].name, rule->model, (long long)v->version,
                                   inferd_route_kind_name(rule->kind));
                if (len > 0 && (size_t)len < sizeof(line))
                    inferd_jsonw_raw(w, line, (size_t)len);
                if (s == 0)
                    inferd_jsonw_uint(w, atomic_load(&v->stats.requests));
                else if (s == 1)
                    inferd_jsonw_uint(w, atomic_load(&v->stats.errors));
                else
                    inferd_jsonw_f64(w, v->weight);
                inferd_jsonw_lit(w, "\n");
            }
        }
    }
    inferd_router_rules_free(rules, n);
}
