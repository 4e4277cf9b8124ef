/* The router: which version of a model answers a request that names none. A model may have one
 * traffic rule at a time (a weighted split, an A/B test, a canary stage or a bandit); a rule is
 * immutable and swapped whole, so that a request sees one rule, never a mix. Each variant of a
 * rule counts what its requests did (requests, errors, latency, rewards fed back), which is what
 * A/B statistics, canary criteria and bandits read. See src/router/router.c for the design
 * notes. */
#ifndef INFERD_ROUTER_H
#define INFERD_ROUTER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inferd/error.h"
#include "inferd/json.h"
#include "inferd/registry.h"
#include "inferd/repo.h"

#define INFERD_MAX_VARIANTS           16
#define INFERD_ROUTER_LATENCY_BUCKETS 24

typedef enum {
    INFERD_STRATEGY_RANDOM,         /* each request draws a variant by weight */
    INFERD_STRATEGY_STICKY,         /* a routing key always gets the same variant (weighted HRW) */
    INFERD_STRATEGY_EPSILON_GREEDY, /* the best mean reward, exploring with probability epsilon */
    INFERD_STRATEGY_THOMPSON,       /* Thompson sampling on the rewards fed back */
} inferd_strategy_t;

/*        enum suffix   label value (metrics, JSON) */
#define INFERD_ROUTE_KINDS(X)                                                                      \
    X(SPLIT, "split")   /* PUT /v1/models/{m}/traffic */                                           \
    X(AB, "ab_test")    /* an A/B test */                                                          \
    X(CANARY, "canary") /* a canary rollout's current stage */

typedef enum {
#define INFERD_ROUTE_KIND_ENUM(suffix, label) INFERD_ROUTE_##suffix,
    INFERD_ROUTE_KINDS(INFERD_ROUTE_KIND_ENUM)
#undef INFERD_ROUTE_KIND_ENUM
        INFERD_ROUTE_KIND_COUNT
} inferd_route_kind_t;

/* What one variant's requests did. Counters are relaxed atomics; the moments of rewards, which
 * arrive rarely, are under `lock`. */
typedef struct inferd_variant_stats {
    atomic_uint_fast64_t requests;
    atomic_uint_fast64_t errors;
    atomic_uint_fast64_t latency_us_sum;
    atomic_uint_fast64_t latency_us_sumsq;
    atomic_uint_fast64_t latency_buckets[INFERD_ROUTER_LATENCY_BUCKETS + 1];
    pthread_mutex_t lock;
    uint64_t rewards;   /* feedback received */
    double reward_mean; /* Welford */
    double reward_m2;
    bool rewards_in_unit_interval; /* every reward so far was within [0, 1] */
    uint64_t labels;               /* feedback with a label */
    uint64_t labels_correct;       /* ... that matched the predicted class */
} inferd_variant_stats_t;

typedef struct inferd_variant {
    int64_t version;
    double weight; /* > 0; the weights of a rule need not add up to anything */
    inferd_variant_stats_t stats;
} inferd_variant_t;

/* One model's rule. Immutable once published, except for the statistics. */
typedef struct inferd_rule {
    char *model;
    inferd_route_kind_t kind;
    char *name; /* the A/B test's name, the canary's version; NULL for a split */
    inferd_strategy_t strategy;
    double epsilon; /* epsilon-greedy exploration */
    inferd_variant_t variants[INFERD_MAX_VARIANTS];
    size_t n_variants;
    int64_t created_at_ms;
    uint64_t id; /* increases with every rule the router publishes */
    atomic_int refs;
} inferd_rule_t;

/* Where a request went: the rule and variant it drew (a reference held), or none. */
typedef struct inferd_route {
    inferd_rule_t *rule; /* NULL: no rule, the model's own default answers */
    int variant;
    int64_t version; /* the version to ask for; 0 with no rule */
} inferd_route_t;

typedef struct inferd_router inferd_router_t;

/* Creates a router; `registry` (may be NULL) stores its rules. Returns 0 or INFERD_ENOMEM. */
int inferd_router_create(inferd_registry_t *registry, inferd_router_t **OUT_router);
void inferd_router_destroy(inferd_router_t *router);

/* Publishes the traffic rules stored in the registry for the models of `catalog` (start-up). */
void inferd_router_restore(inferd_router_t *router, const inferd_catalog_t *catalog);

/* ==== the request path (any thread) ==== */

/* Picks the variant for a request to `model` that names no version. `key` (may be NULL) is the
 * routing key of sticky rules (X-Routing-Key, or the request's routing_key/user_id parameter).
 * Never fails: with no rule, route->rule is NULL. Release with inferd_route_release. */
void inferd_router_route(inferd_router_t *router, const char *model, const char *key,
                         size_t key_len, inferd_route_t *OUT_route);

/* Records what the request did under its route (nothing when route->rule is NULL) and, when
 * `request_id` is given, remembers it for feedback (with the predicted class, or -1). */
void inferd_router_record(inferd_router_t *router, const inferd_route_t *route, uint64_t latency_ns,
                          bool is_error, const char *request_id, int64_t predicted_class);

void inferd_route_release(inferd_route_t *route);

/* ==== rules (the control thread) ==== */

/* The current rule of `model` with a reference taken, or NULL. */
inferd_rule_t *inferd_router_rule(inferd_router_t *router, const char *model);

/* A new rule (one reference), its variants' statistics zeroed. */
inferd_rule_t *inferd_rule_new(const char *model, inferd_route_kind_t kind, const char *name,
                               inferd_strategy_t strategy);

void inferd_rule_release(inferd_rule_t *rule);

/* Reads the split object at token `split` of `doc` ({"3": 90, "4": 10}) into rule's variants;
 * every version must be served and ready in `repo`. Returns 0 or an error saying what is wrong
 * (400 malformed, 404 unknown version, 503 not ready). */
int inferd_rule_read_split(const inferd_json_t *doc, int split, inferd_repo_t *repo,
                           const char *model, inferd_rule_t *rule, inferd_err_t *err);

/* Reads "strategy" and "epsilon" of the object at the root of `doc` into `rule`. */
int inferd_rule_read_strategy(const inferd_json_t *doc, inferd_arena_t *arena, inferd_rule_t *rule,
                              inferd_err_t *err);

/* Makes `rule` (a reference handed over; NULL removes the rule) the rule of `model` at once. */
void inferd_router_publish(inferd_router_t *router, const char *model, inferd_rule_t *rule);

/* Every model that has a rule, for rendering; a reference on each. Free with
 * inferd_router_rules_free. */
int inferd_router_rules(inferd_router_t *router, inferd_rule_t ***OUT_rules, size_t *OUT_count);
void inferd_router_rules_free(inferd_rule_t **rules, size_t count);

/* ==== feedback ==== */

/* Applies feedback to the variant that served `request_id`: a reward, or a label compared with
 * the class that was predicted (reward 1 when equal, else 0). Returns 0, INFERD_ENOTFOUND (the
 * id is unknown or too old, or its rule has ended) or INFERD_EINVAL. */
int inferd_router_feedback(inferd_router_t *router, const char *model, const char *request_id,
                           bool has_reward, double reward, bool has_label, int64_t label,
                           inferd_err_t *err);

/* ==== reading statistics ==== */

/* Counts one request of `latency_ns` in `stats` (requests, errors, latency moments and
 * histogram). */
void inferd_variant_record(inferd_variant_stats_t *stats, uint64_t latency_ns, bool is_error);

/* The latency quantile q (0..1) of a variant in milliseconds (0 with no requests). */
double inferd_variant_latency_ms(const inferd_variant_stats_t *stats, double q);

/* Mean and variance of a variant's latency in milliseconds. */
void inferd_variant_latency_moments(const inferd_variant_stats_t *stats, double *OUT_mean_ms,
                                    double *OUT_variance_ms2);

/* Writes `rule` as JSON: kind, name, strategy, traffic_split and per-variant statistics
 * (requests, errors, error_rate, latency_ms mean/p50/p95/p99, feedback). */
void inferd_rule_write_json(inferd_jsonw_t *w, const inferd_rule_t *rule);

/* Writes the rule's weights as {"3": 90, "4": 10}. */
void inferd_rule_write_split(inferd_jsonw_t *w, const inferd_rule_t *rule);

/* Writes the Prometheus series of the router (rules, routed requests by decision). */
void inferd_router_render_metrics(inferd_router_t *router, inferd_jsonw_t *w);

/* "random", "sticky", "epsilon_greedy", "thompson"; and back (-1 when unknown). */
const char *inferd_strategy_name(inferd_strategy_t strategy);
int inferd_strategy_parse(const char *text);
const char *inferd_route_kind_name(inferd_route_kind_t kind);

#endif
