/* An A/B test as JSON (abtest_private.h): the comparison of every variant with the control
 * (Welch's t-test on latency and reward, a two-proportion z-test on error rates), the winner it
 * names, and the test as GET /v1/models/{m}/ab-tests/{name} shows it (the same text is what the
 * registry stores). Not for changing a test: the controller (abtest.c) does that. */
#include "abtest_private.h"
#include "inferd/significance.h"

#include <math.h>
#include <pthread.h>

const char *const ab_status_names[] = {"running", "completed", "stopped", "promoted",
                                       "rolled_back"};

const char *const ab_metric_names[] = {"latency", "reward", "error_rate"};

static void write_number(inferd_jsonw_t *w, double value)
{
    if (isfinite(value))
        inferd_jsonw_f64(w, value);
    else
        inferd_jsonw_lit(w, "null");
}

/* ==== statistics ==== */

typedef struct {
    uint64_t n;
    double mean, variance;
} sample_t;

static sample_t latency_sample(const inferd_variant_stats_t *stats)
{
    sample_t s;
    s.n = atomic_load_explicit(&stats->requests, memory_order_relaxed);
    inferd_variant_latency_moments(stats, &s.mean, &s.variance);
    return s;
}

static sample_t reward_sample(const inferd_variant_stats_t *stats)
{
    pthread_mutex_t *lock = (pthread_mutex_t *)&stats->lock;
    pthread_mutex_lock(lock);
    sample_t s = {stats->rewards, stats->reward_mean,
                  stats->rewards > 1 ? stats->reward_m2 / (double)(stats->rewards - 1) : 0};
    pthread_mutex_unlock(lock);
    return s;
}

/* What a test of the difference found, whichever test it was: the difference (variant minus
 * control), its confidence interval, the test's own statistics ("t" and "df" for Welch's, "z"
 * for two proportions) and the p-value. */
typedef struct {
    double difference, ci_low, ci_high;
    struct {
        const char *name;
        double value;
    } statistics[2];
    size_t n_statistics;
    double p_value;
} outcome_t;

/* The end of a comparison's object, the same for every test, closing what the caller opened:
 * "status": "not enough data" when the test could not run (rc != 0), else the outcome and
 * whether it is significant at `alpha`. *OUT_significant and *OUT_difference: false and 0 when
 * the test could not run. */
static void write_outcome(inferd_jsonw_t *w, int rc, const outcome_t *outcome, double alpha,
                          bool *OUT_significant, double *OUT_difference)
{
    *OUT_significant = false;
    *OUT_difference = 0;
    if (rc != 0) {
        inferd_jsonw_lit(w, ",\"status\":\"not enough data\"}");
        return;
    }
    *OUT_significant = outcome->p_value < alpha;
    *OUT_difference = outcome->difference;
    inferd_jsonw_lit(w, ",\"difference\":");
    write_number(w, outcome->difference);
    inferd_jsonw_lit(w, ",\"ci\":[");
    write_number(w, outcome->ci_low);
    inferd_jsonw_lit(w, ",");
    write_number(w, outcome->ci_high);
    inferd_jsonw_lit(w, "]");
    for (size_t i = 0; i < outcome->n_statistics; i++) {
        inferd_jsonw_lit(w, ",\"");
        inferd_jsonw_lit(w, outcome->statistics[i].name);
        inferd_jsonw_lit(w, "\":");
        write_number(w, outcome->statistics[i].value);
    }
    inferd_jsonw_lit(w, ",\"p_value\":");
    write_number(w, outcome->p_value);
    inferd_jsonw_lit(w, ",\"significant\":");
    inferd_jsonw_bool(w, *OUT_significant);
    inferd_jsonw_lit(w, "}");
}

/* {"control_mean": x, "variant_mean": y, "samples": [n_a, n_b], "difference": d, "ci": [lo, hi],
 *  "t": t, "df": df, "p_value": p, "significant": bool}, or with "status": "not enough data" in
 *  place of everything after "samples". */
static void write_welch(inferd_jsonw_t *w, sample_t a, sample_t b, double alpha,
                        bool *OUT_significant, double *OUT_difference)
{
    inferd_sig_welch_t result;
    int rc = inferd_sig_welch(a.n, a.mean, a.variance, b.n, b.mean, b.variance, 1 - alpha, &result);
    inferd_jsonw_lit(w, "{\"control_mean\":");
    write_number(w, a.n ? a.mean : NAN);
    inferd_jsonw_lit(w, ",\"variant_mean\":");
    write_number(w, b.n ? b.mean : NAN);
    inferd_jsonw_lit(w, ",\"samples\":[");
    inferd_jsonw_uint(w, a.n);
    inferd_jsonw_lit(w, ",");
    inferd_jsonw_uint(w, b.n);
    inferd_jsonw_lit(w, "]");
    outcome_t outcome = {.difference = result.difference,
                         .ci_low = result.ci_low,
                         .ci_high = result.ci_high,
                         .statistics = {{"t", result.t}, {"df", result.df}},
                         .n_statistics = 2,
                         .p_value = result.p_value};
    write_outcome(w, rc, &outcome, alpha, OUT_significant, OUT_difference);
}

/* {"control_rate": x, "variant_rate": y, "difference": d, "ci": [lo, hi], "z": z, "p_value": p,
 *  "significant": bool}, or with "status": "not enough data" after the rates. */
static void write_proportions(inferd_jsonw_t *w, uint64_t errors_a, uint64_t n_a, uint64_t errors_b,
                              uint64_t n_b, double alpha, bool *OUT_significant,
                              double *OUT_difference)
{
    inferd_sig_proportions_t result;
    int rc = inferd_sig_two_proportions(errors_a, n_a, errors_b, n_b, 1 - alpha, &result);
    inferd_jsonw_lit(w, "{\"control_rate\":");
    write_number(w, n_a ? (double)errors_a / (double)n_a : NAN);
    inferd_jsonw_lit(w, ",\"variant_rate\":");
    write_number(w, n_b ? (double)errors_b / (double)n_b : NAN);
    outcome_t outcome = {.difference = result.difference,
                         .ci_low = result.ci_low,
                         .ci_high = result.ci_high,
                         .statistics = {{"z", result.z}},
                         .n_statistics = 1,
                         .p_value = result.p_value};
    write_outcome(w, rc, &outcome, alpha, OUT_significant, OUT_difference);
}

/* The comparisons of every variant with the control, and the winner: the variant that is
 * significantly better than the control on the primary metric (lower latency, higher reward,
 * lower error rate) with min_samples on both sides; the control wins when every variant is
 * significantly worse. *OUT_winner: the winning version, or 0. */
static void write_results(inferd_jsonw_t *w, const ab_test_t *t, int64_t *OUT_winner)
{
    const inferd_rule_t *rule = t->rule;
    *OUT_winner = 0;
    size_t control = 0;
    for (size_t i = 0; i < rule->n_variants; i++)
        if (rule->variants[i].version == t->control_version)
            control = i;
    const inferd_variant_stats_t *cs = &rule->variants[control].stats;
    uint64_t control_n = atomic_load(&cs->requests);
    inferd_jsonw_lit(w, "{\"control_version\":");
    inferd_jsonw_int(w, t->control_version);
    inferd_jsonw_lit(w, ",\"primary_metric\":");
    inferd_jsonw_cstr(w, ab_metric_names[t->primary]);
    inferd_jsonw_lit(w, ",\"alpha\":");
    write_number(w, t->alpha);
    inferd_jsonw_lit(w, ",\"comparisons\":[");
    int64_t best = 0;
    double best_gain = 0;
    size_t worse = 0, compared = 0;
    for (size_t i = 0; i < rule->n_variants; i++) {
        if (i == control)
            continue;
        const inferd_variant_stats_t *vs = &rule->variants[i].stats;
        uint64_t n = atomic_load(&vs->requests);
        if (compared++)
            inferd_jsonw_lit(w, ",");
        inferd_jsonw_lit(w, "{\"version\":");
        inferd_jsonw_int(w, rule->variants[i].version);
        bool significant[3];
        double difference[3];
        inferd_jsonw_lit(w, ",\"latency_ms\":");
        write_welch(w, latency_sample(cs), latency_sample(vs), t->alpha, &significant[0],
                    &difference[0]);
        inferd_jsonw_lit(w, ",\"reward\":");
        write_welch(w, reward_sample(cs), reward_sample(vs), t->alpha, &significant[1],
                    &difference[1]);
        inferd_jsonw_lit(w, ",\"error_rate\":");
        write_proportions(w, atomic_load(&cs->errors), control_n, atomic_load(&vs->errors), n,
                          t->alpha, &significant[2], &difference[2]);
        inferd_jsonw_lit(w, "}");
        /* gain > 0: the variant is better than the control on the primary metric */
        double gain =
            t->primary == METRIC_REWARD ? difference[t->primary] : -difference[t->primary];
        uint64_t samples = t->primary == METRIC_REWARD ? reward_sample(vs).n : n;
        uint64_t control_samples = t->primary == METRIC_REWARD ? reward_sample(cs).n : control_n;
        bool has_samples =
            (int64_t)samples >= t->min_samples && (int64_t)control_samples >= t->min_samples;
        if (has_samples && significant[t->primary] && gain > best_gain) {
            best_gain = gain;
            best = rule->variants[i].version;
        }
        if (has_samples && significant[t->primary] && gain < 0)
            worse++;
    }
    if (best != 0)
        *OUT_winner = best;
    else if (compared > 0 && worse == compared)
        *OUT_winner = t->control_version;
    inferd_jsonw_lit(w, "],\"winner\":");
    if (*OUT_winner != 0)
        inferd_jsonw_int(w, *OUT_winner);
    else
        inferd_jsonw_lit(w, "null");
    inferd_jsonw_lit(w, "}");
}

/* ==== JSON ==== */

void ab_write_status(inferd_jsonw_t *w, const ab_test_t *t)
{
    inferd_jsonw_lit(w, ",\"status\":");
    inferd_jsonw_cstr(w, ab_status_names[t->status]);
    inferd_jsonw_lit(w, ",\"started_at\":");
    inferd_jsonw_time_ms(w, t->started_at_ms);
    inferd_jsonw_lit(w, ",\"ended_at\":");
    inferd_jsonw_time_ms(w, t->ended_at_ms);
}

void ab_write_test(inferd_jsonw_t *w, const ab_test_t *t, int64_t *OUT_winner)
{
    *OUT_winner = 0;
    inferd_jsonw_lit(w, "{\"name\":");
    inferd_jsonw_cstr(w, t->name);
    inferd_jsonw_lit(w, ",\"model\":");
    inferd_jsonw_cstr(w, t->model);
    ab_write_status(w, t);
    inferd_jsonw_lit(w, ",\"end_reason\":");
    if (t->end_reason != NULL)
        inferd_jsonw_cstr(w, t->end_reason);
    else
        inferd_jsonw_lit(w, "null");
    inferd_jsonw_lit(w, ",\"definition\":");
    inferd_jsonw_lit(w, t->definition ? t->definition : "null");
    if (t->rule != NULL) {
        inferd_jsonw_lit(w, ",\"rule\":");
        inferd_rule_write_json(w, t->rule);
        inferd_jsonw_lit(w, ",\"results\":");
        write_results(w, t, OUT_winner);
    } else {
        inferd_jsonw_lit(w, ",\"results\":");
        inferd_jsonw_lit(w, t->results ? t->results : "null");
    }
    inferd_jsonw_lit(w, "}");
}
