/* Thompson sampling over a rule's variants: each variant draws a plausible mean reward from its
 * posterior, and the highest draw gets the request. Rewards within [0, 1] (clicks, labels that
 * were right or wrong, fractions) use a Beta(1 + successes, 1 + failures) posterior; other
 * rewards a normal one around their mean with its standard error. A variant without feedback
 * draws from the uniform prior, so that every variant is tried. */
#include "inferd/significance.h"
#include "inferd/clock.h"
#include "router_private.h"

#include <math.h>
#include <time.h>

static inferd_sig_rng_t *thread_state(void)
{
    static _Thread_local inferd_sig_rng_t state;
    static _Thread_local bool is_seeded;
    if (!is_seeded) {
        inferd_sig_rng_seed(&state, (inferd_monotonic_ns() << 17) ^ (uint64_t)(uintptr_t)&state);
        is_seeded = true;
    }
    return &state;
}

int router_thompson_choose(const inferd_rule_t *rule)
{
    inferd_sig_rng_t *state = thread_state();
    int best = 0;
    double best_draw = -INFINITY;
    for (size_t i = 0; i < rule->n_variants; i++) {
        const inferd_variant_stats_t *stats = &rule->variants[i].stats;
        pthread_mutex_t *lock = (pthread_mutex_t *)&stats->lock;
        pthread_mutex_lock(lock);
        uint64_t n = stats->rewards;
        double mean = stats->reward_mean, m2 = stats->reward_m2;
        bool is_unit = stats->rewards_in_unit_interval;
        pthread_mutex_unlock(lock);
        double draw;
        if (n == 0) {
            draw = inferd_sig_uniform(state);
        } else if (is_unit) {
            double successes = mean * (double)n;
            draw = inferd_sig_beta(state, 1 + successes, 1 + (double)n - successes);
        } else {
            double variance = n > 1 ? m2 / (double)(n - 1) : 1;
            draw = mean + sqrt(variance / (double)n) * inferd_sig_normal(state);
        }
        if (draw > best_draw) {
            best_draw = draw;
            best = (int)i;
        }
    }
    return best;
}
