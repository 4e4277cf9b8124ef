/* The statistics behind A/B tests, canaries and bandits: running summaries (Welford), Welch's
 * t-test, the two-proportion z-test, Wilson intervals, the normal and Student t distributions,
 * random draws for Thompson sampling, percentiles from bucketed histograms, and a comparison of
 * a variant with its control that the A/B API can print as it is.
 *
 * Everything here is a pure function of its arguments: no globals, no allocation, no locks, so
 * every call is thread-safe. The random draws advance a generator state the caller owns (one per
 * thread, or under the caller's lock). Only libm is used.
 *
 * Statuses: functions that can fail return 0, INFERD_SIG_NOT_ENOUGH_DATA (a positive value: the
 * inputs are valid but say nothing yet, e.g. one sample, or no variance on either side; the
 * result is then zeroed and its p-value is 1, never NaN), or INFERD_EINVAL (an argument out of
 * its domain: a level outside (0, 1), a negative variance, more successes than trials, NaN). */
#ifndef INFERD_SIGNIFICANCE_H
#define INFERD_SIGNIFICANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inferd/error.h"

/* The inputs are valid but too few or too uniform to test (see the top of this file). */
#define INFERD_SIG_NOT_ENOUGH_DATA 1

/* "ok", "not enough data", or inferd_strerror(status) for a negative status. */
const char *inferd_sig_status_name(int status);

/* ==== running summaries ==== */

/* Count, mean, sum of squared deviations (M2, Welford's method), min and max of a stream of
 * values. A zeroed struct is an empty summary; min and max mean nothing while count is 0. Not
 * synchronised: the caller serialises adds and merges on one summary. */
typedef struct inferd_sig_summary {
    uint64_t count;
    double mean;
    double m2; /* sum of (x - mean)^2 */
    double min, max;
} inferd_sig_summary_t;

/* Adds `x`. Returns 0, or INFERD_EINVAL (and leaves `s` unchanged) when `x` is NaN or infinite. */
int inferd_sig_summary_add(inferd_sig_summary_t *s, double x);

/* Folds `from` into `into` (Chan, Golub and LeVeque's pairwise update), as if every value added
 * to `from` had been added to `into`. */
void inferd_sig_summary_merge(inferd_sig_summary_t *into, const inferd_sig_summary_t *from);

/* The sample variance M2 / (count - 1); 0 when count < 2. */
double inferd_sig_summary_variance(const inferd_sig_summary_t *s);

/* The standard error of the mean, sqrt(variance / count); 0 when count < 2. */
double inferd_sig_summary_stderr(const inferd_sig_summary_t *s);

/* ==== tests of two samples ==== */

/* Welch's t-test of mean_b - mean_a (b is the variant, a the control). */
typedef struct inferd_sig_welch {
    double difference;      /* mean_b - mean_a */
    double ci_low, ci_high; /* the difference's confidence interval at `level` */
    double t;               /* difference / standard error */
    double df;              /* Welch-Satterthwaite degrees of freedom */
    double p_value;         /* two-sided; 1 when there is not enough data */
} inferd_sig_welch_t;

/* Welch's t-test from the two sides' sizes, means and sample variances; `level` is the
 * confidence level of the interval, e.g. 0.95. Returns 0 with *OUT filled,
 * INFERD_SIG_NOT_ENOUGH_DATA (n < 2 on a side, or both variances 0; *OUT zeroed, p-value 1), or
 * INFERD_EINVAL (level outside (0, 1), a negative or non-finite variance or mean). */
int inferd_sig_welch(uint64_t n_a, double mean_a, double var_a, uint64_t n_b, double mean_b,
                     double var_b, double level, inferd_sig_welch_t *OUT);

/* The same from two summaries. */
int inferd_sig_welch_summaries(const inferd_sig_summary_t *a, const inferd_sig_summary_t *b,
                               double level, inferd_sig_welch_t *OUT);

/* The two-proportion z-test of rate_b - rate_a, rate = successes / trials. */
typedef struct inferd_sig_proportions {
    double rate_a, rate_b;
    double difference;      /* rate_b - rate_a */
    double ci_low, ci_high; /* Wald (unpooled) interval at `level`, clamped to [-1, 1] */
    double z;               /* pooled z statistic */
    double p_value;         /* two-sided; 1 when there is not enough data */
} inferd_sig_proportions_t;

/* Returns 0 with *OUT filled, INFERD_SIG_NOT_ENOUGH_DATA (no trials on a side, or the pooled
 * rate is 0 or 1: nothing happened, or everything did, on both sides; *OUT holds the rates, the
 * rest zeroed, p-value 1), or INFERD_EINVAL (successes > trials, level outside (0, 1)). The Wald
 * interval has width 0 when both rates are 0 or 1 (e.g. 0 of 10 against 10 of 10). */
int inferd_sig_two_proportions(uint64_t successes_a, uint64_t trials_a, uint64_t successes_b,
                               uint64_t trials_b, double level, inferd_sig_proportions_t *OUT);

/* The Wilson score interval of one proportion at `level`, within [0, 1]. Returns 0,
 * INFERD_SIG_NOT_ENOUGH_DATA (no trials; the interval is [0, 1]) or INFERD_EINVAL. */
int inferd_sig_wilson(uint64_t successes, uint64_t trials, double level, double *OUT_low,
                      double *OUT_high);

/* ==== distributions ==== */

/* ln |Gamma(x)|, thread-safe (lgamma_r: libm's lgamma writes the global signgam). */
double inferd_sig_log_gamma(double x);

/* The regularized incomplete beta function I_x(a, b) for a, b > 0 and x in [0, 1]; NaN outside.
 * Relative accuracy about 1e-13 for moderate a and b. */
double inferd_sig_beta_inc(double x, double a, double b);

/* The standard normal: P(Z <= z), and its inverse for p in (0, 1) (-inf at 0, +inf at 1, NaN
 * outside), accurate to about 1e-15 relative. */
double inferd_sig_normal_cdf(double z);
double inferd_sig_normal_quantile(double p);

/* Student's t with `df` > 0 degrees of freedom (any real df; +inf gives the normal): P(T <= t),
 * and its inverse for p in (0, 1) (-inf at 0, +inf at 1). NaN for a df <= 0 or NaN arguments.
 * Relative error below 1e-9 for |t| <= 6 at any df (1e-11 up to df 1e5); smaller tails are
 * accurate to better than 1e-15 absolute. */
double inferd_sig_t_cdf(double t, double df);
double inferd_sig_t_quantile(double p, double df);

/* ==== random draws (Thompson sampling) ==== */

/* xoshiro256** (Blackman and Vigna), seeded through splitmix64. The state is the caller's: draws
 * from one state must not race, draws from different states may. */
typedef struct inferd_sig_rng {
    uint64_t s[4];
} inferd_sig_rng_t;

/* Seeds `rng` from any 64-bit value (0 included); the same seed gives the same draws. */
void inferd_sig_rng_seed(inferd_sig_rng_t *rng, uint64_t seed);

/* The next 64 random bits. */
uint64_t inferd_sig_rng_next(inferd_sig_rng_t *rng);

/* Uniform in the open interval (0, 1) (never 0 or 1), 53 random bits. */
double inferd_sig_uniform(inferd_sig_rng_t *rng);

/* Standard normal N(0, 1) (Box-Muller). */
double inferd_sig_normal(inferd_sig_rng_t *rng);

/* Gamma(shape, 1) for a finite shape > 0 (Marsaglia and Tsang; shape < 1 through
 * Gamma(shape + 1) * U^(1/shape)); NaN for any other shape. May be 0 for shapes far below 1. */
double inferd_sig_gamma(inferd_sig_rng_t *rng, double shape);

/* Beta(a, b) for finite a, b > 0, as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b) (computed in
 * logarithms, so tiny shapes still give a number in [0, 1]); NaN for other shapes. */
double inferd_sig_beta(inferd_sig_rng_t *rng, double a, double b);

/* ==== percentiles from histograms ==== */

/* The q-quantile (q in [0, 1]; 0.99 for p99) of values counted in buckets, as Prometheus'
 * histogram_quantile estimates it: bucket i holds counts[i] values in (upper_bounds[i-1],
 * upper_bounds[i]] (the first bucket starts at 0, or at its bound when that is <= 0), and the
 * value is interpolated linearly inside the bucket holding rank q * total. Bounds must increase
 * strictly; the last may be +INFINITY (an overflow bucket): a rank that lands there answers the
 * last finite bound. Counts are per bucket, not cumulative. Returns 0 with *OUT_value,
 * INFERD_SIG_NOT_ENOUGH_DATA (no values; *OUT_value 0) or INFERD_EINVAL (q outside [0, 1], bounds
 * not increasing, n_buckets 0, or only an overflow bucket). */
int inferd_sig_histogram_quantile(const double *upper_bounds, const uint64_t *counts,
                                  size_t n_buckets, double q, double *OUT_value);

/* ==== a variant against its control ==== */

/* What is known of one side of an A/B comparison. */
typedef struct inferd_sig_arm {
    inferd_sig_summary_t latency_ms; /* one value per request */
    inferd_sig_summary_t reward;     /* one value per feedback */
    uint64_t requests, errors;
} inferd_sig_arm_t;

typedef enum {
    INFERD_SIG_LATENCY,    /* Welch's t-test on latency_ms; lower is better */
    INFERD_SIG_REWARD,     /* Welch's t-test on reward; higher is better */
    INFERD_SIG_ERROR_RATE, /* two-proportion z-test on errors / requests; lower is better */
    INFERD_SIG_N_METRICS
} inferd_sig_metric_t;

typedef enum {
    INFERD_SIG_WINNER_NONE = 0,
    INFERD_SIG_WINNER_CONTROL,
    INFERD_SIG_WINNER_VARIANT,
} inferd_sig_winner_t;

/* One metric's test, in the variant-minus-control direction. */
typedef struct inferd_sig_test {
    int status;                                /* 0 or INFERD_SIG_NOT_ENOUGH_DATA */
    uint64_t n_control, n_variant;             /* samples (requests or feedbacks) */
    double control_estimate, variant_estimate; /* means or rates; NAN when a side has none */
    double difference;                         /* variant - control (0 without data) */
    double ci_low, ci_high;                    /* at level 1 - alpha (0 without data) */
    double statistic;                          /* t or z (0 without data) */
    double df;                                 /* Welch's df; INFINITY for the z-test */
    double p_value;                            /* two-sided; 1 without data */
    bool is_significant;                       /* status 0 and p_value < alpha */
} inferd_sig_test_t;

typedef struct inferd_sig_comparison {
    double alpha;                                  /* as given; intervals are at 1 - alpha */
    uint64_t min_samples;                          /* as given */
    inferd_sig_metric_t primary;                   /* the metric that decides the winner */
    inferd_sig_test_t tests[INFERD_SIG_N_METRICS]; /* indexed by inferd_sig_metric_t */
    bool has_min_samples; /* both sides have min_samples on the primary metric */
    inferd_sig_winner_t winner;
} inferd_sig_comparison_t;

/* Compares `variant` with `control` on every metric, each test at level alpha (two-sided), and
 * names a winner by this rule, and only this rule: the primary test has data, is significant
 * (p < alpha), and both sides have at least min_samples samples of the primary metric
 * (requests for latency and error rate, feedbacks for reward); then the side that is better in
 * the primary metric's direction wins (VARIANT if the variant is better, CONTROL if it is
 * worse). Otherwise the winner is NONE. The other metrics are reported, never decisive; with
 * several variants the caller compares each with the control and may correct alpha for the
 * number of comparisons. Returns 0 with *OUT filled, or INFERD_EINVAL (alpha outside (0, 1), an
 * unknown primary, errors > requests). */
int inferd_sig_compare(const inferd_sig_arm_t *control, const inferd_sig_arm_t *variant,
                       inferd_sig_metric_t primary, double alpha, uint64_t min_samples,
                       inferd_sig_comparison_t *OUT);

/* "latency_ms", "reward", "error_rate"; "none", "control", "variant" (for JSON keys). */
const char *inferd_sig_metric_name(inferd_sig_metric_t metric);
const char *inferd_sig_winner_name(inferd_sig_winner_t winner);

#endif
