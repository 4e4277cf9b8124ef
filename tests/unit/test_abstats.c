/* Unit tests for the A/B statistics (src/router/abstats.c). Reference values were computed
 * with SciPy 1.10 (scipy.stats.t, scipy.stats.norm, scipy.special.betainc,
 * scipy.stats.ttest_ind with equal_var=False) and are written here as constants. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "inferd/abstats.h"

#define assert_close(actual, expected, tolerance)                                                  \
    do {                                                                                           \
        double a_ = (actual), e_ = (expected);                                                     \
        if (!(fabs(a_ - e_) <= (tolerance)))                                                       \
            fail_msg("%s = %.12g, expected %.12g", #actual, a_, e_);                               \
    } while (0)

static void distributions_match_scipy(void **state)
{
    assert_close(inferd_stat_t_cdf(2.0, 5), 0.9490302605850709, 1e-10);
    assert_close(inferd_stat_t_cdf(-1.3, 12.5), 0.10853100531714448, 1e-10);
    assert_close(inferd_stat_t_quantile(0.975, 7.3), 2.345066736150929, 1e-8);
    assert_close(inferd_stat_normal_quantile(0.975), 1.959963984540054, 1e-9);
    assert_close(inferd_stat_normal_quantile(1e-10), -6.361340902404056, 1e-8);
    assert_close(inferd_stat_beta_inc(0.3, 2.5, 3.5), 0.2967529892956661, 1e-12);
    assert_close(inferd_stat_beta_inc(0.9, 0.5, 0.5), 0.7951672353008662, 1e-12);
    assert_close(inferd_stat_t_cdf(0, 3), 0.5, 1e-15);
}

static void welch_matches_scipy(void **state)
{
    /* a = [12.1, 11.4, 13.2, 12.8, 11.9, 12.5, 13.0, 12.2], b = [13.5, 14.1, 12.9, 13.8, 14.4,
     * 13.2, 13.9]: ttest_ind(b, a, equal_var=False) */
    inferd_stat_welch_t r;
    assert_int_equal(inferd_stat_welch(8, 12.3875, 0.36410714285714274, 7, 13.685714285714287,
                                       0.2714285714285715, 0.95, &r),
                     0);
    assert_close(r.difference, 1.298214285714287, 1e-12);
    assert_close(r.t, 4.471581831264616, 1e-9);
    assert_close(r.df, 12.999881134259986, 1e-9);
    assert_close(r.p_value, 0.0006292199811882118, 1e-10);
    assert_close(r.ci_low, 0.6710035659092735, 1e-7);
    assert_close(r.ci_high, 1.9254250055193016, 1e-7);
    /* not enough data */
    assert_int_equal(inferd_stat_welch(1, 1, 0, 5, 2, 1, 0.95, &r), -1);
    assert_int_equal(inferd_stat_welch(5, 1, 0, 5, 1, 0, 0.95, &r), -1);
}

static void two_proportions(void **state)
{
    inferd_stat_proportions_t r;
    assert_int_equal(inferd_stat_two_proportions(30, 200, 50, 200, 0.95, &r), 0);
    assert_close(r.difference, 0.1, 1e-15);
    assert_close(r.z, 2.5, 1e-12);
    assert_close(r.p_value, 0.012419330651552265, 1e-12);
    double se = sqrt(0.15 * 0.85 / 200 + 0.25 * 0.75 / 200);
    assert_close(r.ci_low, 0.1 - 1.959963984540054 * se, 1e-8);
    assert_close(r.ci_high, 0.1 + 1.959963984540054 * se, 1e-8);
    assert_int_equal(inferd_stat_two_proportions(0, 0, 1, 10, 0.95, &r), -1);
    assert_int_equal(inferd_stat_two_proportions(0, 10, 0, 10, 0.95, &r), -1);
    assert_int_equal(inferd_stat_two_proportions(10, 10, 10, 10, 0.95, &r), -1);
}

static void samplers_have_the_right_moments(void **state)
{
    uint64_t rng = 42;
    const int n = 200000;
    double sum = 0, sumsq = 0;
    for (int i = 0; i < n; i++) {
        double x = inferd_stat_beta(&rng, 2, 5); /* mean 2/7, variance 10/392 */
        sum += x, sumsq += x * x;
    }
    double mean = sum / n, variance = sumsq / n - mean * mean;
    assert_close(mean, 2.0 / 7, 0.003);
    assert_close(variance, 10.0 / 392, 0.001);
    sum = sumsq = 0;
    for (int i = 0; i < n; i++) {
        double x = inferd_stat_gamma(&rng, 0.5); /* mean 0.5, variance 0.5 */
        sum += x, sumsq += x * x;
    }
    mean = sum / n, variance = sumsq / n - mean * mean;
    assert_close(mean, 0.5, 0.01);
    assert_close(variance, 0.5, 0.03);
    sum = sumsq = 0;
    for (int i = 0; i < n; i++) {
        double x = inferd_stat_normal(&rng);
        sum += x, sumsq += x * x;
    }
    assert_close(sum / n, 0, 0.01);
    assert_close(sumsq / n, 1, 0.01);
    for (int i = 0; i < 1000; i++) {
        double u = inferd_stat_uniform(&rng);
        assert_true(u > 0 && u < 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distributions_match_scipy),
        cmocka_unit_test(welch_matches_scipy),
        cmocka_unit_test(two_proportions),
        cmocka_unit_test(samplers_have_the_right_moments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
