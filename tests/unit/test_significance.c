/* Unit tests for the A/B statistics module (src/monitor/significance.c).
 *
 * Reference values were computed offline at 40 significant digits with mpmath 1.3 (Debian's
 * python3-mpmath): the t CDF as betainc(df/2, 1/2, 0, df/(df+t^2), regularized=True)/2, its
 * quantiles by findroot on that CDF, normal quantiles by findroot on ncdf, p-values with erfc.
 * The Welch p-value also agrees with SciPy 1.10's ttest_ind(b, a, equal_var=False). (SciPy's
 * stats.t.ppf was not used: at df = 30, p = 0.05 it is off by 8e-9.) Closed forms are used where
 * they exist (df = 1 and df = 2). Nothing here runs Python. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "inferd/significance.h"

/* assert_close: |actual - expected| <= tolerance; assert_rel: <= tolerance * |expected|. */
#define assert_close(actual, expected, tolerance)                                                  \
    do {                                                                                           \
        double a_ = (actual), e_ = (expected);                                                     \
        if (!(fabs(a_ - e_) <= (tolerance)))                                                       \
            fail_msg("%s = %.17g, expected %.17g", #actual, a_, e_);                               \
    } while (0)

#define assert_rel(actual, expected, tolerance)                                                    \
    do {                                                                                           \
        double a_ = (actual), e_ = (expected);                                                     \
        if (!(fabs(a_ - e_) <= (tolerance)*fabs(e_)))                                              \
            fail_msg("%s = %.17g, expected %.17g", #actual, a_, e_);                               \
    } while (0)

/* ==== distributions ==== */

static void normal_quantile_matches_reference(void **state)
{
    assert_rel(inferd_sig_normal_quantile(0.975), 1.9599639845400542355, 1e-14);
    assert_rel(inferd_sig_normal_quantile(0.995), 2.575829303548900761, 1e-14);
    assert_rel(inferd_sig_normal_quantile(0.025), -1.9599639845400542355, 1e-14);
    assert_rel(inferd_sig_normal_quantile(1e-10), -6.3613409024040562047, 1e-14);
    assert_close(inferd_sig_normal_quantile(0.5), 0, 1e-16);
    assert_true(isinf(inferd_sig_normal_quantile(0)) && inferd_sig_normal_quantile(0) < 0);
    assert_true(isinf(inferd_sig_normal_quantile(1)) && inferd_sig_normal_quantile(1) > 0);
    assert_true(isnan(inferd_sig_normal_quantile(1.5)));
    assert_true(isnan(inferd_sig_normal_quantile(NAN)));
    /* round trip through the CDF across the range, including the far tail, within the
     * problem's condition: a relative error e in x moves Phi(x) by about x^2 e relatively */
    for (double p = 1e-300; p < 0.5; p *= 7.3) {
        double x = inferd_sig_normal_quantile(p);
        assert_rel(inferd_sig_normal_cdf(x), p, 1e-14 * (1 + x * x));
    }
}

static void t_distribution_matches_reference(void **state)
{
    assert_rel(inferd_sig_t_cdf(2.0, 5), 0.9490302605850708218773, 1e-14);
    assert_rel(inferd_sig_t_cdf(-1.3, 12.5), 0.1085310053171445381418, 1e-13);
    assert_rel(inferd_sig_t_cdf(-8, 3), 0.002038288793892734122197, 1e-13);
    assert_rel(inferd_sig_t_cdf(0.7, 1e6), 0.7580362663567292918133, 1e-13);
    assert_rel(inferd_sig_t_cdf(-4, 1e9), 3.167124410823381732241e-05, 1e-10);
    assert_close(inferd_sig_t_cdf(0, 3), 0.5, 1e-16);
    assert_close(inferd_sig_t_cdf(INFINITY, 3), 1, 0);
    assert_true(isnan(inferd_sig_t_cdf(1, 0)));
    assert_true(isnan(inferd_sig_t_cdf(1, -2)));
    /* closed forms: df = 1 is Cauchy, 1/2 + atan(t)/pi; df = 2 is 1/2 + t / (2 sqrt(2 + t^2));
     * for t < 0 written without cancellation: atan(1/|t|)/pi and 1 / (s (s + |t|)), s the root */
    for (double t = -50; t < 0; t += 2.5) {
        double s = sqrt(2 + t * t);
        assert_rel(inferd_sig_t_cdf(t, 1), atan(-1 / t) / M_PI, 1e-13);
        assert_rel(inferd_sig_t_cdf(t, 2), 1 / (s * (s - t)), 1e-13);
        assert_rel(inferd_sig_t_cdf(-t, 1), 0.5 + atan(-t) / M_PI, 1e-14);
        assert_rel(inferd_sig_t_cdf(-t, 2), 0.5 - t / (2 * s), 1e-14);
    }
    assert_rel(inferd_sig_t_quantile(0.975, 7.3), 2.345066736547703633, 1e-12);
    assert_rel(inferd_sig_t_quantile(0.05, 30), -1.697260886593957849, 1e-12);
    assert_rel(inferd_sig_t_quantile(1e-8, 4), -131.5947369406235524, 1e-12);
    assert_rel(inferd_sig_t_quantile(0.9, 1), tan(M_PI * 0.4), 1e-12);
    assert_rel(inferd_sig_t_quantile(0.975, INFINITY), 1.9599639845400542355, 1e-14);
    assert_close(inferd_sig_t_quantile(0.5, 4), 0, 0);
    assert_true(isnan(inferd_sig_t_quantile(0.5, NAN)));
    /* quantile and CDF invert each other for fractional and huge df */
    const double dfs[] = {0.7, 3.5, 41.2, 2e4, 5e8};
    const double ps[] = {1e-12, 0.001, 0.05, 0.3, 0.7, 0.99};
    for (size_t i = 0; i < sizeof(dfs) / sizeof(dfs[0]); i++)
        for (size_t j = 0; j < sizeof(ps) / sizeof(ps[0]); j++)
            assert_rel(inferd_sig_t_cdf(inferd_sig_t_quantile(ps[j], dfs[i]), dfs[i]), ps[j],
                       1e-10);
}

static void incomplete_beta_matches_reference(void **state)
{
    assert_rel(inferd_sig_beta_inc(0.3, 2.5, 3.5), 0.2967529892956663986, 1e-13);
    assert_rel(inferd_sig_beta_inc(0.9, 0.5, 0.5), 0.7951672353008665484, 1e-13);
    assert_rel(inferd_sig_beta_inc(0.99, 200, 0.5), 0.04509410713707978212, 1e-12);
    /* I_x(1, 1) = x; I_x(a, 1) = x^a */
    assert_rel(inferd_sig_beta_inc(0.37, 1, 1), 0.37, 1e-14);
    assert_rel(inferd_sig_beta_inc(0.6, 3.2, 1), pow(0.6, 3.2), 1e-13);
    assert_close(inferd_sig_beta_inc(0, 2, 3), 0, 0);
    assert_close(inferd_sig_beta_inc(1, 2, 3), 1, 0);
    assert_true(isnan(inferd_sig_beta_inc(0.5, 0, 3)));
    assert_true(isnan(inferd_sig_beta_inc(1.5, 1, 3)));
}

/* ==== summaries and tests ==== */

static const double sample_a[] = {12.1, 11.4, 13.2, 12.8, 11.9, 12.5, 13.0, 12.2};
static const double sample_b[] = {13.5, 14.1, 12.9, 13.8, 14.4, 13.2, 13.9};

static inferd_sig_summary_t summarize(const double *values, size_t n)
{
    inferd_sig_summary_t s = {0};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(inferd_sig_summary_add(&s, values[i]), 0);
    return s;
}

static void summaries_add_and_merge(void **state)
{
    inferd_sig_summary_t a = summarize(sample_a, 8);
    assert_int_equal(a.count, 8);
    assert_rel(a.mean, 12.3875, 1e-15);
    assert_rel(inferd_sig_summary_variance(&a), 0.3641071428571426935, 1e-13);
    assert_rel(inferd_sig_summary_stderr(&a), sqrt(0.3641071428571426935 / 8), 1e-13);
    assert_close(a.min, 11.4, 0);
    assert_close(a.max, 13.2, 0);
    assert_int_equal(inferd_sig_summary_add(&a, NAN), INFERD_EINVAL);
    assert_int_equal(inferd_sig_summary_add(&a, INFINITY), INFERD_EINVAL);
    assert_int_equal(a.count, 8);

    /* merging the halves equals adding everything in turn */
    double all[15];
    for (int i = 0; i < 8; i++)
        all[i] = sample_a[i];
    for (int i = 0; i < 7; i++)
        all[8 + i] = sample_b[i];
    inferd_sig_summary_t whole = summarize(all, 15);
    inferd_sig_summary_t merged = summarize(sample_a, 8), b = summarize(sample_b, 7);
    inferd_sig_summary_merge(&merged, &b);
    assert_int_equal(merged.count, 15);
    assert_rel(merged.mean, whole.mean, 1e-15);
    assert_rel(merged.m2, whole.m2, 1e-13);
    assert_close(merged.min, 11.4, 0);
    assert_close(merged.max, 14.4, 0);
    inferd_sig_summary_t empty = {0};
    inferd_sig_summary_merge(&empty, &b);
    assert_int_equal(empty.count, 7);
    assert_close(empty.min, 12.9, 0);
    inferd_sig_summary_t unchanged = b, nothing = {0};
    inferd_sig_summary_merge(&unchanged, &nothing);
    assert_memory_equal(&unchanged, &b, sizeof(b));

    /* Welford keeps the variance of values around 1e9 that differ by 1 (sum of squares would
     * lose it entirely) */
    inferd_sig_summary_t big = {0};
    for (int i = 0; i < 1000; i++)
        inferd_sig_summary_add(&big, 1e9 + (i % 2));
    assert_rel(inferd_sig_summary_variance(&big), 0.25 * 1000 / 999, 1e-9);
    inferd_sig_summary_t one = summarize(sample_a, 1);
    assert_close(inferd_sig_summary_variance(&one), 0, 0);
    assert_close(inferd_sig_summary_stderr(&one), 0, 0);
}

static void welch_matches_reference(void **state)
{
    inferd_sig_summary_t a = summarize(sample_a, 8), b = summarize(sample_b, 7);
    inferd_sig_welch_t r;
    assert_int_equal(inferd_sig_welch_summaries(&a, &b, 0.95, &r), 0);
    assert_rel(r.difference, 1.298214285714285860, 1e-13);
    assert_rel(r.t, 4.471581831264610180, 1e-12);
    assert_rel(r.df, 12.99988113425998213, 1e-12);
    assert_rel(r.p_value, 0.0006292199811882185315, 1e-11);
    assert_rel(r.ci_low, 0.6710035659087551131, 1e-11);
    assert_rel(r.ci_high, 1.925425005519816607, 1e-11);
    /* the other direction flips the signs, not the p-value */
    assert_int_equal(inferd_sig_welch_summaries(&b, &a, 0.95, &r), 0);
    assert_rel(r.t, -4.471581831264610180, 1e-12);
    assert_rel(r.ci_high, -0.6710035659087551131, 1e-11);
    assert_rel(r.p_value, 0.0006292199811882185315, 1e-11);

    /* not enough data: a status and a p-value of 1, never NaN */
    assert_int_equal(inferd_sig_welch(1, 1, 0, 5, 2, 1, 0.95, &r), INFERD_SIG_NOT_ENOUGH_DATA);
    assert_close(r.p_value, 1, 0);
    assert_int_equal(inferd_sig_welch(5, 1, 0, 5, 3, 0, 0.95, &r), INFERD_SIG_NOT_ENOUGH_DATA);
    assert_close(r.p_value, 1, 0);
    assert_false(isnan(r.t) || isnan(r.ci_low) || isnan(r.df));
    /* one side without variance is still a test */
    assert_int_equal(inferd_sig_welch(5, 1, 0, 5, 3, 1, 0.95, &r), 0);
    assert_true(r.p_value < 0.05);
    assert_int_equal(inferd_sig_welch(5, 1, -1, 5, 3, 1, 0.95, &r), INFERD_EINVAL);
    assert_int_equal(inferd_sig_welch(5, NAN, 1, 5, 3, 1, 0.95, &r), INFERD_EINVAL);
    assert_int_equal(inferd_sig_welch(5, 1, 1, 5, 3, 1, 1.0, &r), INFERD_EINVAL);
    assert_string_equal(inferd_sig_status_name(INFERD_SIG_NOT_ENOUGH_DATA), "not enough data");
    assert_string_equal(inferd_sig_status_name(0), "ok");
}

static void proportions_match_reference(void **state)
{
    inferd_sig_proportions_t r;
    /* 30/200 against 50/200: pooled rate 0.2, se 0.04, z = 2.5 exactly */
    assert_int_equal(inferd_sig_two_proportions(30, 200, 50, 200, 0.95, &r), 0);
    assert_close(r.rate_a, 0.15, 1e-16);
    assert_close(r.rate_b, 0.25, 1e-16);
    assert_rel(r.difference, 0.1, 1e-15);
    assert_rel(r.z, 2.5, 1e-14);
    assert_rel(r.p_value, 0.01241933065155227033, 1e-13);
    assert_rel(r.ci_low, 0.02221634077395658815, 1e-12);
    assert_rel(r.ci_high, 0.1777836592260434119, 1e-13);

    /* degenerate: no trials, nothing happened on either side, everything did */
    assert_int_equal(inferd_sig_two_proportions(0, 0, 5, 10, 0.95, &r), INFERD_SIG_NOT_ENOUGH_DATA);
    assert_int_equal(inferd_sig_two_proportions(0, 100, 0, 50, 0.95, &r),
                     INFERD_SIG_NOT_ENOUGH_DATA);
    assert_close(r.p_value, 1, 0);
    assert_int_equal(inferd_sig_two_proportions(100, 100, 50, 50, 0.95, &r),
                     INFERD_SIG_NOT_ENOUGH_DATA);
    assert_close(r.rate_a, 1, 0);
    /* all-or-nothing but different sides: a test, with a zero-width Wald interval */
    assert_int_equal(inferd_sig_two_proportions(0, 10, 10, 10, 0.95, &r), 0);
    assert_true(r.p_value < 1e-4);
    assert_close(r.ci_low, 1, 0);
    assert_close(r.ci_high, 1, 0);
    assert_int_equal(inferd_sig_two_proportions(11, 10, 1, 10, 0.95, &r), INFERD_EINVAL);

    double low, high;
    assert_int_equal(inferd_sig_wilson(8, 10, 0.95, &low, &high), 0);
    assert_rel(low, 0.4901624715366417033, 1e-13);
    assert_rel(high, 0.9433178485456247451, 1e-13);
    assert_int_equal(inferd_sig_wilson(0, 20, 0.95, &low, &high), 0);
    assert_close(low, 0, 0);
    assert_true(high > 0.1 && high < 0.2); /* 3.84 / 23.84 */
    assert_int_equal(inferd_sig_wilson(0, 0, 0.95, &low, &high), INFERD_SIG_NOT_ENOUGH_DATA);
    assert_int_equal(inferd_sig_wilson(3, 2, 0.95, &low, &high), INFERD_EINVAL);
}

/* ==== random draws ==== */

static void generator_is_seeded_and_open_interval(void **state)
{
    inferd_sig_rng_t a, b, c;
    inferd_sig_rng_seed(&a, 42);
    inferd_sig_rng_seed(&b, 42);
    inferd_sig_rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = inferd_sig_rng_next(&a);
        assert_true(x == inferd_sig_rng_next(&b));
        differ += x != inferd_sig_rng_next(&c);
    }
    assert_int_equal(differ, 100);
    inferd_sig_rng_t zero;
    inferd_sig_rng_seed(&zero, 0);
    assert_true(inferd_sig_rng_next(&zero) != inferd_sig_rng_next(&zero));
    inferd_sig_summary_t u = {0};
    for (int i = 0; i < 100000; i++) {
        double x = inferd_sig_uniform(&a);
        assert_true(x > 0 && x < 1);
        inferd_sig_summary_add(&u, x);
    }
    assert_close(u.mean, 0.5, 0.005);
    assert_close(inferd_sig_summary_variance(&u), 1.0 / 12, 0.002);
}

/* The mean and variance of 200,000 draws are within 5 standard errors of the distribution's
 * (the variance's standard error estimated from the fourth moment bound 3 var^2, loosely). */
static void check_moments(const char *what, const inferd_sig_summary_t *s, double mean,
                          double variance)
{
    double n = (double)s->count;
    double mean_tolerance = 5 * sqrt(variance / n);
    double variance_tolerance = 5 * variance * sqrt(8 / n);
    if (fabs(s->mean - mean) > mean_tolerance)
        fail_msg("%s: mean %.6g, expected %.6g +- %.2g", what, s->mean, mean, mean_tolerance);
    double v = inferd_sig_summary_variance(s);
    if (fabs(v - variance) > variance_tolerance)
        fail_msg("%s: variance %.6g, expected %.6g +- %.2g", what, v, variance, variance_tolerance);
}

static void samplers_have_their_moments(void **state)
{
    enum { DRAWS = 200000 };
    inferd_sig_rng_t rng;
    inferd_sig_rng_seed(&rng, 20240611);
    inferd_sig_summary_t normal = {0}, gamma_small = {0}, gamma_big = {0}, beta = {0},
                         beta_small = {0};
    for (int i = 0; i < DRAWS; i++) {
        inferd_sig_summary_add(&normal, inferd_sig_normal(&rng));
        double g = inferd_sig_gamma(&rng, 0.4);
        assert_true(g >= 0);
        inferd_sig_summary_add(&gamma_small, g);
        inferd_sig_summary_add(&gamma_big, inferd_sig_gamma(&rng, 3.7));
        double x = inferd_sig_beta(&rng, 2, 5);
        assert_true(x >= 0 && x <= 1);
        inferd_sig_summary_add(&beta, x);
        x = inferd_sig_beta(&rng, 0.3, 0.7);
        assert_true(x >= 0 && x <= 1);
        inferd_sig_summary_add(&beta_small, x);
    }
    check_moments("N(0,1)", &normal, 0, 1);
    check_moments("Gamma(0.4)", &gamma_small, 0.4, 0.4); /* mean = variance = shape */
    check_moments("Gamma(3.7)", &gamma_big, 3.7, 3.7);
    /* Beta(a, b): mean a / (a + b), variance a b / ((a + b)^2 (a + b + 1)) */
    check_moments("Beta(2,5)", &beta, 2.0 / 7, 10.0 / (49 * 8));
    check_moments("Beta(0.3,0.7)", &beta_small, 0.3, 0.21 / 2);
    /* tiny shapes still give numbers, and bad shapes give NaN */
    double tiny = inferd_sig_beta(&rng, 1e-3, 1e-3);
    assert_true(tiny >= 0 && tiny <= 1);
    assert_true(isnan(inferd_sig_gamma(&rng, 0)));
    assert_true(isnan(inferd_sig_gamma(&rng, INFINITY)));
    assert_true(isnan(inferd_sig_beta(&rng, -1, 2)));
}

/* ==== histogram percentiles ==== */

static void histogram_quantile_interpolates(void **state)
{
    /* 100 values: 10 in (0, 0.1], 20 in (0.1, 0.5], 60 in (0.5, 1], 10 above 1 */
    const double bounds[] = {0.1, 0.5, 1, INFINITY};
    const uint64_t counts[] = {10, 20, 60, 10};
    double v;
    assert_int_equal(inferd_sig_histogram_quantile(bounds, counts, 4, 0.5, &v), 0);
    assert_close(v, 0.5 + 0.5 * (20.0 / 60), 1e-15); /* rank 50: 20 of 60 into (0.5, 1] */
    assert_int_equal(inferd_sig_histogram_quantile(bounds, counts, 4, 0.05, &v), 0);
    assert_close(v, 0.05, 1e-15); /* rank 5 of 10 in (0, 0.1] */
    assert_int_equal(inferd_sig_histogram_quantile(bounds, counts, 4, 0.9, &v), 0);
    assert_close(v, 1, 1e-15); /* rank 90: the top of (0.5, 1] */
    assert_int_equal(inferd_sig_histogram_quantile(bounds, counts, 4, 0.99, &v), 0);
    assert_close(v, 1, 0); /* the overflow bucket answers the last finite bound */
    assert_int_equal(inferd_sig_histogram_quantile(bounds, counts, 4, 0, &v), 0);
    assert_close(v, 0, 0);

    /* empty leading buckets: q = 0 answers the first occupied bucket's lower bound */
    const uint64_t late[] = {0, 0, 4, 0};
    assert_int_equal(inferd_sig_histogram_quantile(bounds, late, 4, 0, &v), 0);
    assert_close(v, 0.5, 0);
    assert_int_equal(inferd_sig_histogram_quantile(bounds, late, 4, 0.95, &v), 0);
    assert_close(v, 0.5 + 0.5 * 0.95, 1e-15);

    const uint64_t none[] = {0, 0, 0, 0};
    assert_int_equal(inferd_sig_histogram_quantile(bounds, none, 4, 0.5, &v),
                     INFERD_SIG_NOT_ENOUGH_DATA);
    const double unsorted[] = {0.1, 0.1, 1, INFINITY};
    assert_int_equal(inferd_sig_histogram_quantile(unsorted, counts, 4, 0.5, &v), INFERD_EINVAL);
    assert_int_equal(inferd_sig_histogram_quantile(bounds, counts, 4, 1.5, &v), INFERD_EINVAL);
    assert_int_equal(inferd_sig_histogram_quantile(bounds, counts, 0, 0.5, &v), INFERD_EINVAL);
    const double only_overflow[] = {INFINITY};
    assert_int_equal(inferd_sig_histogram_quantile(only_overflow, counts, 1, 0.5, &v),
                     INFERD_EINVAL);
}

/* ==== comparisons ==== */

static void fill_arm(inferd_sig_arm_t *arm, inferd_sig_rng_t *rng, int requests,
                     double latency_mean, double error_rate, int rewards, double reward_rate)
{
    *arm = (inferd_sig_arm_t){0};
    for (int i = 0; i < requests; i++) {
        inferd_sig_summary_add(&arm->latency_ms, latency_mean + 2 * inferd_sig_normal(rng));
        arm->requests++;
        arm->errors += inferd_sig_uniform(rng) < error_rate;
    }
    for (int i = 0; i < rewards; i++)
        inferd_sig_summary_add(&arm->reward, inferd_sig_uniform(rng) < reward_rate);
}

static void comparison_names_a_winner_only_when_significant(void **state)
{
    inferd_sig_rng_t rng;
    inferd_sig_rng_seed(&rng, 7);
    inferd_sig_arm_t control, variant;
    /* the variant is 1 ms faster (sd 2 ms, 2000 requests each: about 16 standard errors) */
    fill_arm(&control, &rng, 2000, 10, 0.02, 500, 0.30);
    fill_arm(&variant, &rng, 2000, 9, 0.02, 500, 0.30);
    inferd_sig_comparison_t c;
    assert_int_equal(inferd_sig_compare(&control, &variant, INFERD_SIG_LATENCY, 0.05, 1000, &c), 0);
    const inferd_sig_test_t *latency = &c.tests[INFERD_SIG_LATENCY];
    assert_int_equal(latency->status, 0);
    assert_true(latency->is_significant);
    assert_true(latency->difference < -0.8 && latency->difference > -1.2);
    assert_true(latency->ci_low < latency->difference && latency->difference < latency->ci_high);
    assert_true(latency->ci_high < 0);
    assert_int_equal(latency->n_control, 2000);
    assert_true(c.has_min_samples);
    assert_int_equal(c.winner, INFERD_SIG_WINNER_VARIANT);
    assert_string_equal(inferd_sig_winner_name(c.winner), "variant");
    assert_true(isinf(c.tests[INFERD_SIG_ERROR_RATE].df));

    /* the same data with too few samples for min_samples: no winner */
    assert_int_equal(inferd_sig_compare(&control, &variant, INFERD_SIG_LATENCY, 0.05, 5000, &c), 0);
    assert_false(c.has_min_samples);
    assert_int_equal(c.winner, INFERD_SIG_WINNER_NONE);

    /* swapping the sides makes the control the winner */
    assert_int_equal(inferd_sig_compare(&variant, &control, INFERD_SIG_LATENCY, 0.05, 100, &c), 0);
    assert_int_equal(c.winner, INFERD_SIG_WINNER_CONTROL);

    /* reward as the primary metric: the same reward rate, so no winner */
    assert_int_equal(inferd_sig_compare(&control, &variant, INFERD_SIG_REWARD, 0.05, 100, &c), 0);
    assert_int_equal(c.tests[INFERD_SIG_REWARD].status, 0);
    assert_int_equal(c.winner, INFERD_SIG_WINNER_NONE);

    /* no feedback at all: the reward test has no data, p = 1, estimates NaN, no winner */
    control.reward = variant.reward = (inferd_sig_summary_t){0};
    assert_int_equal(inferd_sig_compare(&control, &variant, INFERD_SIG_REWARD, 0.05, 0, &c), 0);
    const inferd_sig_test_t *reward = &c.tests[INFERD_SIG_REWARD];
    assert_int_equal(reward->status, INFERD_SIG_NOT_ENOUGH_DATA);
    assert_close(reward->p_value, 1, 0);
    assert_false(reward->is_significant);
    assert_true(isnan(reward->control_estimate));
    assert_int_equal(c.winner, INFERD_SIG_WINNER_NONE);

    /* error rate: 2% against 6% over 3000 requests each */
    fill_arm(&control, &rng, 3000, 10, 0.02, 0, 0);
    fill_arm(&variant, &rng, 3000, 10, 0.06, 0, 0);
    assert_int_equal(inferd_sig_compare(&control, &variant, INFERD_SIG_ERROR_RATE, 0.05, 0, &c), 0);
    assert_true(c.tests[INFERD_SIG_ERROR_RATE].is_significant);
    assert_int_equal(c.winner, INFERD_SIG_WINNER_CONTROL);
    assert_string_equal(inferd_sig_metric_name(c.primary), "error_rate");

    assert_int_equal(inferd_sig_compare(&control, &variant, INFERD_SIG_LATENCY, 0, 0, &c),
                     INFERD_EINVAL);
    assert_int_equal(inferd_sig_compare(&control, &variant, INFERD_SIG_N_METRICS, 0.05, 0, &c),
                     INFERD_EINVAL);
}

/* A/A tests: two samples of the same distribution differ significantly at alpha = 0.05 in about
 * 5% of tests. 400 tests: 20 expected, binomial standard deviation 4.4. */
static void aa_tests_are_calibrated(void **state)
{
    inferd_sig_rng_t rng;
    inferd_sig_rng_seed(&rng, 99);
    int welch_flagged = 0, z_flagged = 0;
    for (int test = 0; test < 400; test++) {
        inferd_sig_arm_t a, b;
        fill_arm(&a, &rng, 200, 10, 0.1, 0, 0);
        fill_arm(&b, &rng, 200, 10, 0.1, 0, 0);
        inferd_sig_comparison_t c;
        assert_int_equal(inferd_sig_compare(&a, &b, INFERD_SIG_LATENCY, 0.05, 0, &c), 0);
        welch_flagged += c.tests[INFERD_SIG_LATENCY].is_significant;
        z_flagged += c.tests[INFERD_SIG_ERROR_RATE].is_significant;
    }
    if (welch_flagged < 8 || welch_flagged > 34 || z_flagged < 8 || z_flagged > 34)
        fail_msg("A/A: Welch flagged %d of 400, z-test %d of 400 (about 20 expected)",
                 welch_flagged, z_flagged);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normal_quantile_matches_reference),
        cmocka_unit_test(t_distribution_matches_reference),
        cmocka_unit_test(incomplete_beta_matches_reference),
        cmocka_unit_test(summaries_add_and_merge),
        cmocka_unit_test(welch_matches_reference),
        cmocka_unit_test(proportions_match_reference),
        cmocka_unit_test(generator_is_seeded_and_open_interval),
        cmocka_unit_test(samplers_have_their_moments),
        cmocka_unit_test(histogram_quantile_interpolates),
        cmocka_unit_test(comparison_names_a_winner_only_when_significant),
        cmocka_unit_test(aa_tests_are_calibrated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
