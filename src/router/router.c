/* The router (see inferd/router.h): per-model traffic rules, the choice of a variant for each
 * request, the statistics each variant keeps, and the memory of recent request ids that lets
 * feedback reach the variant that answered.
 *
 * Design notes
 *
 * A model's rule goes through these states:
 *
 *   none --inferd_router_publish(rule)--> ACTIVE --inferd_router_publish(other)--> REPLACED
 *                                            |                                       |
 *                                            +--inferd_router_publish(NULL)--> GONE  +--> freed
 *                                                                                 (last ref)
 *
 *   - inferd_router_publish (control thread) swaps the model's rule pointer under `lock`; the
 *     rule it replaces is released there, and freed when the last request holding it records.
 *   - inferd_router_route (request threads) takes `lock` only to find the rule and take a
 *     reference, then chooses a variant without any lock.
 *   - inferd_router_record adds the request's outcome to the variant it drew.
 *
 * Invariants: a published rule is never modified except its statistics, so a request sees one
 * rule, never a mix of two; a request's outcome is counted in the rule it was routed by, even
 * if that rule was replaced meanwhile; feedback reaches a variant only while its rule is the
 * model's current rule (an old id, or one from a replaced rule, answers 404).
 *
 * Sticky routing uses weighted rendezvous hashing: each variant scores -ln(u)/weight with u a
 * hash of (key, version) in (0, 1), and the lowest score wins. A key keeps its variant as long
 * as the variants and weights stay; a weight change moves only the keys whose winner changes,
 * which is the least movement any scheme can make. */
#include "router_private.h"
#include "inferd/random.h"
#include "inferd/clock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Latency bucket upper bounds in microseconds (the last slot holds what is above). */
static const uint64_t latency_bounds_us[INFERD_ROUTER_LATENCY_BUCKETS] = {
    50,    100,   200,   300,   500,   750,   1000,   1500,   2000,   3000,   5000,    7500,
    10000, 15000, 20000, 30000, 50000, 75000, 100000, 150000, 250000, 500000, 1000000, 5000000};

/* ==== rules ==== */

inferd_rule_t *inferd_rule_new(const char *model, inferd_route_kind_t kind, const char *name,
                               inferd_strategy_t strategy)
{
    inferd_rule_t *rule = calloc(1, sizeof(*rule));
    if (rule == NULL)
        return NULL;
    rule->model = strdup(model);
    rule->name = name ? strdup(name) : NULL;
    if (rule->model == NULL || (name != NULL && rule->name == NULL)) {
        free(rule->model);
        free(rule->name);
        free(rule);
        return NULL;
    }
    rule->kind = kind;
    rule->strategy = strategy;
    rule->epsilon = 0.1;
    rule->created_at_ms = inferd_wall_ms();
    for (size_t i = 0; i < INFERD_MAX_VARIANTS; i++)
        pthread_mutex_init(&rule->variants[i].stats.lock, NULL);
    atomic_init(&rule->refs, 1);
    return rule;
}

void inferd_rule_release(inferd_rule_t *rule)
{
    if (rule == NULL || atomic_fetch_sub_explicit(&rule->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < INFERD_MAX_VARIANTS; i++)
        pthread_mutex_destroy(&rule->variants[i].stats.lock);
    free(rule->model);
    free(rule->name);
    free(rule);
}

static inferd_rule_t **find_slot(inferd_router_t *router, const char *model)
{
    for (size_t i = 0; i < router->n_rules; i++)
        if (strcmp(router->rules[i]->model, model) == 0)
            return &router->rules[i];
    return NULL;
}

inferd_rule_t *inferd_router_rule(inferd_router_t *router, const char *model)
{
    pthread_mutex_lock(&router->lock);
    inferd_rule_t **slot = find_slot(router, model);
    inferd_rule_t *rule = slot ? *slot : NULL;
    if (rule != NULL)
        atomic_fetch_add_explicit(&rule->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&router->lock);
    return rule;
}

void inferd_router_publish(inferd_router_t *router, const char *model, inferd_rule_t *rule)
{
    inferd_rule_t *old = NULL;
    pthread_mutex_lock(&router->lock);
    if (rule != NULL)
        rule->id = ++router->next_rule_id;
    inferd_rule_t **slot = find_slot(router, model);
    if (slot != NULL) {
        old = *slot;
        if (rule != NULL)
            *slot = rule;
        else
            *slot = router->rules[--router->n_rules];
    } else if (rule != NULL) {
        inferd_rule_t **grown =
            realloc(router->rules, (router->n_rules + 1) * sizeof(*router->rules));
        if (grown == NULL) {
            pthread_mutex_unlock(&router->lock);
            inferd_rule_release(rule);
            return;
        }
        router->rules = grown;
        router->rules[router->n_rules++] = rule;
    }
    atomic_store_explicit(&router->n_rules_hint, router->n_rules, memory_order_relaxed);
    pthread_mutex_unlock(&router->lock);
    inferd_rule_release(old);
}

int inferd_router_rules(inferd_router_t *router, inferd_rule_t ***OUT_rules, size_t *OUT_count)
{
    pthread_mutex_lock(&router->lock);
    inferd_rule_t **rules = calloc(router->n_rules + 1, sizeof(*rules));
    size_t count = 0;
    for (size_t i = 0; rules != NULL && i < router->n_rules; i++) {
        rules[count] = router->rules[i];
        atomic_fetch_add_explicit(&rules[count++]->refs, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&router->lock);
    *OUT_rules = rules;
    *OUT_count = count;
    return rules == NULL ? INFERD_ENOMEM : 0;
}

void inferd_router_rules_free(inferd_rule_t **rules, size_t count)
{
    for (size_t i = 0; i < count; i++)
        inferd_rule_release(rules[i]);
    free(rules);
}

/* ==== choosing a variant ==== */

static uint64_t hash_key(const char *key, size_t len, int64_t version)
{
    uint64_t h = 14695981039346656037u ^ inferd_mix64((uint64_t)version);
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211u;
    return inferd_mix64(h);
}

static int choose_by_weight(const inferd_rule_t *rule, double u)
{
    double total = 0;
    for (size_t i = 0; i < rule->n_variants; i++)
        total += rule->variants[i].weight;
    double target = u * total, seen = 0;
    for (size_t i = 0; i < rule->n_variants; i++) {
        seen += rule->variants[i].weight;
        if (target < seen)
            return (int)i;
    }
    return (int)rule->n_variants - 1;
}

static int choose_sticky(const inferd_rule_t *rule, const char *key, size_t key_len)
{
    int best = 0;
    double best_score = INFINITY;
    for (size_t i = 0; i < rule->n_variants; i++) {
        const inferd_variant_t *variant = &rule->variants[i];
        if (variant->weight <= 0)
            continue;
        uint64_t h = hash_key(key, key_len, variant->version);
        double u = ((double)(h >> 11) + 0.5) / 9007199254740992.0;
        double score = -log(u) / variant->weight;
        if (score < best_score) {
            best_score = score;
            best = (int)i;
        }
    }
    return best;
}

void inferd_router_route(inferd_router_t *router, const char *model, const char *key,
                         size_t key_len, inferd_route_t *OUT_route)
{
    *OUT_route = (inferd_route_t){NULL, -1, 0};
    if (atomic_load_explicit(&router->n_rules_hint, memory_order_relaxed) == 0)
        return; /* no rule anywhere: skip the lock */
    inferd_rule_t *rule = inferd_router_rule(router, model);
    if (rule == NULL || rule->n_variants == 0) {
        inferd_rule_release(rule);
        return;
    }
    int variant;
    switch (rule->strategy) {
    case INFERD_STRATEGY_STICKY:
        variant = key != NULL && key_len > 0 ? choose_sticky(rule, key, key_len)
                                             : choose_by_weight(rule, inferd_uniform());
        break;
    case INFERD_STRATEGY_EPSILON_GREEDY:
    case INFERD_STRATEGY_THOMPSON:
        variant = router_bandit_choose(rule);
        break;
    default:
        variant = choose_by_weight(rule, inferd_uniform());
        break;
    }
    OUT_route->rule = rule;
    OUT_route->variant = variant;
    OUT_route->version = rule->variants[variant].version;
}

void inferd_route_release(inferd_route_t *route)
{
    inferd_rule_release(route->rule);
    route->rule = NULL;
}

/* ==== recording ==== */

void inferd_variant_record(inferd_variant_stats_t *stats, uint64_t latency_ns, bool is_error)
{
    uint64_t latency_us = latency_ns / 1000;
    atomic_fetch_add_explicit(&stats->requests, 1, memory_order_relaxed);
    if (is_error)
        atomic_fetch_add_explicit(&stats->errors, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&stats->latency_us_sum, latency_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&stats->latency_us_sumsq, latency_us * latency_us,
                              memory_order_relaxed);
    size_t bucket = 0;
    while (bucket < INFERD_ROUTER_LATENCY_BUCKETS && latency_us > latency_bounds_us[bucket])
        bucket++;
    atomic_fetch_add_explicit(&stats->latency_buckets[bucket], 1, memory_order_relaxed);
}

void inferd_router_record(inferd_router_t *router, const inferd_route_t *route, uint64_t latency_ns,
                          bool is_error, const char *request_id, int64_t predicted_class)
{
    if (route->rule == NULL || route->variant < 0)
        return;
    inferd_variant_record(&route->rule->variants[route->variant].stats, latency_ns, is_error);
    if (request_id != NULL && request_id[0] != '\0')
        router_remember(router, request_id, route->rule, route->variant, predicted_class);
}

double inferd_variant_latency_ms(const inferd_variant_stats_t *stats, double q)
{
    uint64_t counts[INFERD_ROUTER_LATENCY_BUCKETS + 1], total = 0;
    for (size_t i = 0; i <= INFERD_ROUTER_LATENCY_BUCKETS; i++)
        total += counts[i] = atomic_load_explicit(&stats->latency_buckets[i], memory_order_relaxed);
    if (total == 0)
        return 0;
    double rank = q * (double)total, seen = 0;
    for (size_t i = 0; i <= INFERD_ROUTER_LATENCY_BUCKETS; i++) {
        if (counts[i] == 0) {
            continue;
        }
        if (seen + (double)counts[i] >= rank) {
            double lower = i == 0 ? 0 : (double)latency_bounds_us[i - 1];
            double upper =
                i < INFERD_ROUTER_LATENCY_BUCKETS ? (double)latency_bounds_us[i] : lower * 2;
            double within = ((rank - seen) / (double)counts[i]);
            return (lower + (upper - lower) * within) / 1000.0;
        }
        seen += (double)counts[i];
    }
    return (double)latency_bounds_us[INFERD_ROUTER_LATENCY_BUCKETS - 1] / 1000.0;
}

void inferd_variant_latency_moments(const inferd_variant_stats_t *stats, double *OUT_mean_ms,
                                    double *OUT_variance_ms2)
{
    double n = (double)atomic_load_explicit(&stats->requests, memory_order_relaxed);
    double sum = (double)atomic_load_explicit(&stats->latency_us_sum, memory_order_relaxed);
    double sumsq = (double)atomic_load_explicit(&stats->latency_us_sumsq, memory_order_relaxed);
    *OUT_mean_ms = n > 0 ? sum / n / 1000.0 : 0;
    double variance_us2 = n > 1 ? (sumsq - sum * sum / n) / (n - 1) : 0;
    *OUT_variance_ms2 = variance_us2 > 0 ? variance_us2 / 1e6 : 0;
}

/* ==== the router ==== */

int inferd_router_create(inferd_registry_t *registry, inferd_router_t **OUT_router)
{
    inferd_router_t *router = calloc(1, sizeof(*router));
    if (router == NULL)
        return INFERD_ENOMEM;
    router->registry = registry;
    pthread_mutex_init(&router->lock, NULL);
    pthread_mutex_init(&router->memory_lock, NULL);
    router->memory = calloc(ROUTER_MEMORY_SLOTS, sizeof(*router->memory));
    if (router->memory == NULL) {
        free(router);
        return INFERD_ENOMEM;
    }
    *OUT_router = router;
    return 0;
}

void inferd_router_destroy(inferd_router_t *router)
{
    if (router == NULL)
        return;
    for (size_t i = 0; i < router->n_rules; i++)
        inferd_rule_release(router->rules[i]);
    free(router->rules);
    free(router->memory);
    pthread_mutex_destroy(&router->lock);
    pthread_mutex_destroy(&router->memory_lock);
    free(router);
}

/* ==== names ==== */

static const char *const strategy_names[] = {"random", "sticky", "epsilon_greedy", "thompson"};

const char *inferd_strategy_name(inferd_strategy_t strategy)
{
    return (size_t)strategy < sizeof(strategy_names) / sizeof(strategy_names[0])
               ? strategy_names[strategy]
               : "unknown";
}

int inferd_strategy_parse(const char *text)
{
    for (size_t i = 0; i < sizeof(strategy_names) / sizeof(strategy_names[0]); i++)
        if (strcmp(text, strategy_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *inferd_route_kind_name(inferd_route_kind_t kind)
{
    static const char *const names[] = {
#define INFERD_ROUTE_KIND_NAME(suffix, label) label,
        INFERD_ROUTE_KINDS(INFERD_ROUTE_KIND_NAME)
#undef INFERD_ROUTE_KIND_NAME
    };
    return (size_t)kind < INFERD_ROUTE_KIND_COUNT ? names[kind] : "unknown";
}
