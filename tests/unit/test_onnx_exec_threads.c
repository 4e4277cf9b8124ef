/* Unit tests for the per-node thread choice (exec_threads.c), fed made-up timings so that every
 * decision is known in advance: the warm-up runs, the timed runs of both thread counts, the mix
 * of the nodes' faster settings, the choice of the fastest whole run, one plan per input shape,
 * failed runs that teach nothing, and a full table that forgets its least recently used shape;
 * and the state cache keeping a node's states per thread count and freeing, once a plan settles,
 * those its trials built for the thread count it did not choose.
 * That real runs on two threads stay correct and allocate nothing once settled is checked in
 * test_onnx_exec.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <omp.h>

#include "backends/onnx/exec_threads.h"
#include "backends/onnx/ops/state_cache.h"

enum { N_NODES = 3, THREADS = 2 };

static inferd_tensor_t input_of_batch(int64_t batch)
{
    return (inferd_tensor_t){.dtype = INFERD_DT_FP32, .ndim = 2, .shape = {batch, 8}};
}

/* One run of the shape `batch`: checks the threads each node gets against `expect` (NULL: not
 * checked), reports `ns[n]` for node n when the run is timed and `run_ns` for the run. */
static void run(onnx_thread_plans_t *plans, int64_t batch, const int *expect, const int64_t *ns,
                int64_t run_ns, bool is_ok)
{
    inferd_tensor_t input = input_of_batch(batch);
    onnx_thread_plan_t *plan = onnx_thread_plan_begin(plans, &input, 1, THREADS);
    assert_non_null(plan);
    for (int n = 0; n < N_NODES; n++) {
        if (expect != NULL)
            assert_int_equal(onnx_thread_plan_node_threads(plan, n), expect[n]);
        if (onnx_thread_plan_is_timing(plan))
            onnx_thread_plan_node_ns(plan, n, ns[n]);
    }
    onnx_thread_plan_end(plan, run_ns, is_ok);
}

static const int ALL_MANY[N_NODES] = {THREADS, THREADS, THREADS}, ALL_ONE[N_NODES] = {1, 1, 1};

/* The six calibration runs before the mix: warm-ups, then N threads and one thread in turn. */
static void calibrate(onnx_thread_plans_t *plans, int64_t batch, const int64_t *many_ns,
                      int64_t many_run_ns, const int64_t *one_ns, int64_t one_run_ns)
{
    run(plans, batch, ALL_MANY, many_ns, many_run_ns, true);
    run(plans, batch, ALL_ONE, one_ns, one_run_ns, true);
    for (int i = 0; i < 2; i++) {
        run(plans, batch, ALL_MANY, many_ns, many_run_ns, true);
        run(plans, batch, ALL_ONE, one_ns, one_run_ns, true);
    }
}

static bool is_settled(onnx_thread_plans_t *plans, int64_t batch)
{
    inferd_tensor_t input = input_of_batch(batch);
    onnx_thread_plan_t *plan = onnx_thread_plan_begin(plans, &input, 1, THREADS);
    bool settled = onnx_thread_plan_is_settled(plan) && !onnx_thread_plan_is_timing(plan);
    onnx_thread_plan_end(plan, 1, false); /* a look, not a run */
    return settled;
}

/* Node 0 is faster alone, node 1 on both threads, node 2 the same either way (one thread wins a
 * tie: it leaves the other core free). The mix runs fastest and is kept. */
static void keeps_the_mix_when_it_runs_fastest(void **state)
{
    (void)state;
    onnx_thread_plans_t *plans = onnx_thread_plans_new(N_NODES);
    assert_non_null(plans);
    static const int64_t many[] = {100, 100, 10}, one[] = {50, 300, 10};
    calibrate(plans, 1, many, 210, one, 360);
    static const int mix[] = {1, THREADS, 1};
    assert_false(is_settled(plans, 1));
    run(plans, 1, mix, NULL, 165, true);
    run(plans, 1, mix, NULL, 160, true);
    assert_true(is_settled(plans, 1));
    for (int i = 0; i < 5; i++)
        run(plans, 1, mix, NULL, 500, true); /* settled: later timings change nothing */
    onnx_thread_plans_free(plans);
}

/* The same per-node timings, but the mix runs slower than all on N threads (a thread team that
 * wakes for every other node): all on N threads is kept. */
static void keeps_all_threads_when_the_mix_runs_slower(void **state)
{
    (void)state;
    onnx_thread_plans_t *plans = onnx_thread_plans_new(N_NODES);
    static const int64_t many[] = {100, 100, 10}, one[] = {50, 300, 10};
    calibrate(plans, 3, many, 210, one, 360);
    static const int mix[] = {1, THREADS, 1};
    run(plans, 3, mix, NULL, 400, true);
    run(plans, 3, mix, NULL, 390, true);
    assert_true(is_settled(plans, 3));
    run(plans, 3, ALL_MANY, NULL, 1, true);
    onnx_thread_plans_free(plans);
}

/* Every node faster alone: the mix is "all on one thread", so no mixed run is tried and one
 * thread is kept at once; every node faster on N threads likewise keeps N. */
static void settles_without_a_mix_when_one_setting_wins_every_node(void **state)
{
    (void)state;
    onnx_thread_plans_t *plans = onnx_thread_plans_new(N_NODES);
    static const int64_t slow[] = {90, 90, 90}, fast[] = {30, 30, 30};
    calibrate(plans, 1, slow, 270, fast, 90);
    assert_true(is_settled(plans, 1));
    run(plans, 1, ALL_ONE, NULL, 1, true);
    calibrate(plans, 64, fast, 90, slow, 270);
    assert_true(is_settled(plans, 64));
    run(plans, 64, ALL_MANY, NULL, 1, true);
    /* each shape kept its own choice */
    run(plans, 1, ALL_ONE, NULL, 1, true);
    onnx_thread_plans_free(plans);
}

/* A run that failed (a bad input, out of memory) does not count: the same step comes again. */
static void failed_runs_teach_nothing(void **state)
{
    (void)state;
    onnx_thread_plans_t *plans = onnx_thread_plans_new(N_NODES);
    static const int64_t ns[] = {10, 10, 10};
    run(plans, 2, ALL_MANY, ns, 30, false);
    run(plans, 2, ALL_MANY, ns, 30, false);
    run(plans, 2, ALL_MANY, ns, 30, true);
    run(plans, 2, ALL_ONE, ns, 30, false);
    run(plans, 2, ALL_ONE, ns, 30, true);
    assert_false(is_settled(plans, 2));
    onnx_thread_plans_free(plans);
}

/* More shapes than the table holds: the least recently used is forgotten and calibrated again
 * when it returns, while the shapes in use keep their plans. */
static void forgets_the_least_recently_used_shape(void **state)
{
    (void)state;
    onnx_thread_plans_t *plans = onnx_thread_plans_new(N_NODES);
    static const int64_t slow[] = {90, 90, 90}, fast[] = {30, 30, 30};
    calibrate(plans, 1000, slow, 270, fast, 90);
    for (int64_t batch = 1; batch <= 200; batch++) {
        calibrate(plans, batch, slow, 270, fast, 90);
        assert_true(is_settled(plans, batch));
    }
    assert_true(is_settled(plans, 200));
    /* shape 1000 was used least recently: it starts over, on N threads for its first run */
    run(plans, 1000, ALL_MANY, NULL, 1, true);
    run(plans, 1000, ALL_ONE, NULL, 1, true);
    onnx_thread_plans_free(plans);
}

static int freed_states;

static void free_state(void *state)
{
    (void)state;
    freed_states++;
}

/* States are found only under the thread count they were built with; the trials of plan 7 with
 * one thread go when plan 7 keeps two, while plan 8's states and a state plan 9 has used since
 * stay. */
static void releases_the_states_a_plan_tried_and_did_not_choose(void **state)
{
    (void)state;
    static int x, y, z;
    onnx_node_state_t node = {.plan = 7};
    omp_set_num_threads(2);
    assert_int_equal(onnx_state_cache_put(&node, "a", 1, &x, free_state), 0);
    omp_set_num_threads(1);
    assert_null(onnx_state_cache_find(&node, "a", 1)); /* built for two threads */
    assert_int_equal(onnx_state_cache_put(&node, "a", 1, &y, free_state), 0);
    node.plan = 8;
    assert_int_equal(onnx_state_cache_put(&node, "b", 1, &z, free_state), 0);

    freed_states = 0;
    assert_int_equal(onnx_state_cache_release_trials(&node, 7, 2), 1);
    assert_int_equal(freed_states, 1);
    assert_null(onnx_state_cache_find(&node, "a", 1)); /* y is gone */
    assert_ptr_equal(onnx_state_cache_find(&node, "b", 1), &z);
    omp_set_num_threads(2);
    node.plan = 9;
    assert_ptr_equal(onnx_state_cache_find(&node, "a", 1), &x); /* now last used by plan 9 */
    assert_int_equal(onnx_state_cache_release_trials(&node, 7, 1), 0);
    assert_ptr_equal(onnx_state_cache_find(&node, "a", 1), &x);

    node.free(node.data);
    assert_int_equal(freed_states, 3);
    omp_set_num_threads(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keeps_the_mix_when_it_runs_fastest),
        cmocka_unit_test(keeps_all_threads_when_the_mix_runs_slower),
        cmocka_unit_test(settles_without_a_mix_when_one_setting_wins_every_node),
        cmocka_unit_test(failed_runs_teach_nothing),
        cmocka_unit_test(forgets_the_least_recently_used_shape),
        cmocka_unit_test(releases_the_states_a_plan_tried_and_did_not_choose),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
