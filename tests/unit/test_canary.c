/* Unit tests for the canary's stage judge (inferd_canary_judge): no verdict before
 * min_requests, a failure as soon as a criterion breaks (before the stage's time is over), a pass
 * only once the time is over, a stage that waits for min_requests after its time, the boundaries
 * (a value equal to its limit holds), and reasons that name the criterion, the measured value and
 * the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "inferd/canary.h"

static const inferd_canary_criteria_t criteria = {0.05, 50, 20};

static inferd_canary_verdict_t judge(uint64_t requests, uint64_t errors, double p95_ms,
                                     int64_t elapsed_ms, char *reason, size_t size)
{
    inferd_canary_observed_t seen = {requests, errors, p95_ms};
    return inferd_canary_judge(&criteria, &seen, elapsed_ms, 1000, reason, size);
}

static void test_no_verdict_before_min_requests(void **state)
{
    (void)state;
    char reason[256];
    /* every request failed and was slow, but 19 < 20: wait, even after the stage's time */
    assert_int_equal(judge(19, 19, 900, 500, reason, sizeof(reason)), INFERD_CANARY_WAIT);
    assert_int_equal(judge(19, 0, 1, 5000, reason, sizeof(reason)), INFERD_CANARY_WAIT);
    assert_int_equal(judge(0, 0, 0, 5000, reason, sizeof(reason)), INFERD_CANARY_WAIT);
    assert_string_equal(reason, "");
}

static void test_error_rate_fails_at_once(void **state)
{
    (void)state;
    char reason[256];
    assert_int_equal(judge(20, 10, 3, 10, reason, sizeof(reason)), INFERD_CANARY_FAIL);
    assert_non_null(strstr(reason, "error rate 0.5"));
    assert_non_null(strstr(reason, "10 of 20"));
    assert_non_null(strstr(reason, "error_rate_max 0.05"));
}

static void test_latency_fails_at_once(void **state)
{
    (void)state;
    char reason[256];
    assert_int_equal(judge(40, 0, 75.5, 10, reason, sizeof(reason)), INFERD_CANARY_FAIL);
    assert_non_null(strstr(reason, "p95 latency 75.5 ms"));
    assert_non_null(strstr(reason, "latency_p95_max_ms 50"));
}

static void test_error_rate_is_judged_before_latency(void **state)
{
    (void)state;
    char reason[256];
    assert_int_equal(judge(40, 20, 75.5, 10, reason, sizeof(reason)), INFERD_CANARY_FAIL);
    assert_non_null(strstr(reason, "error rate"));
}

static void test_limits_themselves_hold(void **state)
{
    (void)state;
    char reason[256];
    /* 1 of 20 is exactly 0.05; p95 exactly 50 ms */
    assert_int_equal(judge(20, 1, 50, 999, reason, sizeof(reason)), INFERD_CANARY_WAIT);
    assert_int_equal(judge(20, 1, 50, 1000, reason, sizeof(reason)), INFERD_CANARY_PASS);
    assert_int_equal(judge(20, 2, 50, 1000, reason, sizeof(reason)), INFERD_CANARY_FAIL);
}

static void test_pass_only_when_the_time_is_over(void **state)
{
    (void)state;
    char reason[256];
    assert_int_equal(judge(500, 0, 2, 999, reason, sizeof(reason)), INFERD_CANARY_WAIT);
    assert_int_equal(judge(500, 0, 2, 1000, reason, sizeof(reason)), INFERD_CANARY_PASS);
    assert_non_null(strstr(reason, "500 requests >= min_requests 20"));
    assert_non_null(strstr(reason, "p95 latency 2 ms <= latency_p95_max_ms 50"));
    /* a stage whose time is over passes once min_requests arrive */
    assert_int_equal(judge(20, 0, 2, 60000, reason, sizeof(reason)), INFERD_CANARY_PASS);
}

static void test_without_a_latency_criterion(void **state)
{
    (void)state;
    inferd_canary_criteria_t errors_only = {0, 0, 1};
    inferd_canary_observed_t slow = {5, 0, 4000};
    char reason[256];
    assert_int_equal(inferd_canary_judge(&errors_only, &slow, 10, 10, reason, sizeof(reason)),
                     INFERD_CANARY_PASS);
    assert_null(strstr(reason, "p95"));
    inferd_canary_observed_t one_error = {5, 1, 1};
    assert_int_equal(inferd_canary_judge(&errors_only, &one_error, 0, 10, NULL, 0),
                     INFERD_CANARY_FAIL); /* error_rate_max 0: any error fails */
}

static void test_short_reason_buffer_is_cut_not_overrun(void **state)
{
    (void)state;
    char reason[16];
    memset(reason, 'x', sizeof(reason));
    assert_int_equal(judge(20, 10, 3, 10, reason, 8), INFERD_CANARY_FAIL);
    assert_int_equal(strlen(reason), 7);
    assert_int_equal(reason[8], 'x');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_verdict_before_min_requests),
        cmocka_unit_test(test_error_rate_fails_at_once),
        cmocka_unit_test(test_latency_fails_at_once),
        cmocka_unit_test(test_error_rate_is_judged_before_latency),
        cmocka_unit_test(test_limits_themselves_hold),
        cmocka_unit_test(test_pass_only_when_the_time_is_over),
        cmocka_unit_test(test_without_a_latency_criterion),
        cmocka_unit_test(test_short_reason_buffer_is_cut_not_overrun),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
