/* Bandits over the variants of a rule: epsilon-greedy (the best mean reward so far, a random
 * variant with probability epsilon) and Thompson sampling (each variant draws a plausible mean
 * reward from its posterior; the highest draw wins). Both learn from the rewards fed back
 * through inferd_router_feedback; a variant without feedback yet is explored first. */
#include "router_private.h"
#include "inferd/random.h"

#include <math.h>

/* A variant's reward summary, read under its lock. */
static void reward_summary(const inferd_variant_stats_t *stats, uint64_t *OUT_count,
                           double *OUT_mean, double *OUT_m2)
{
    pthread_mutex_t *lock = (pthread_mutex_t *)&stats->lock;
    pthread_mutex_lock(lock);
    *OUT_count = stats->rewards;
    *OUT_mean = stats->reward_mean;
    *OUT_m2 = stats->reward_m2;
    pthread_mutex_unlock(lock);
}

static int choose_epsilon_greedy(const inferd_rule_t *rule)
{
    if (inferd_uniform() < rule->epsilon)
        return (int)(inferd_uniform() * (double)rule->n_variants) % (int)rule->n_variants;
    int best = -1;
    double best_mean = -INFINITY;
    for (size_t i = 0; i < rule->n_variants; i++) {
        uint64_t count;
        double mean, m2;
        reward_summary(&rule->variants[i].stats, &count, &mean, &m2);
        if (count == 0)
            return (int)i; /* no feedback yet: try it */
        if (mean > best_mean) {
            best_mean = mean;
            best = (int)i;
        }
    }
    return best < 0 ? 0 : best;
}

int router_bandit_choose(const inferd_rule_t *rule)
{
    if (rule->strategy == INFERD_STRATEGY_THOMPSON)
        return router_thompson_choose(rule);
    return choose_epsilon_greedy(rule);
}
