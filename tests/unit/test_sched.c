/* The scheduler (src/sched): queued requests merge into one backend call and get exactly their
 * rows back, requests of different shapes never share a batch, max_batch_size caps a batch, a
 * full batch starts at once, a batch takes the largest preferred size the queue reaches, a
 * higher priority runs first, each priority level's queue policy bounds its queue and times its
 * requests out (REJECT or DELAY, with or without the request's own timeout), adaptive batching
 * steps its limit, several instances keep running after racing for the same batch, and every
 * accepted job is done once, also when the scheduler stops.
 *
 * The model is a test backend, "gate": y = x + 1 for a [rows, width] input, which holds every
 * inference until the test opens the gate. With the one instance thread held, the test sets up
 * exactly the queue it wants. No assertion depends on how the threads are scheduled: where time
 * plays a part (a queue delay, instances racing for a batch), what is asserted holds either way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inferd/backend.h"
#include "inferd/infer.h"
#include "inferd/sched.h"

#define MAX_CALLS 64

/* ==== the gate backend ==== */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool is_open;
    int running; /* inferences waiting at the gate */
    int calls;   /* inferences that passed it, since gate_reset */
    int64_t call_rows[MAX_CALLS];
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, true, 0, 0, {0}};

static int gate_load(const char *path, const inferd_model_config_t *config, void **OUT_state,
                     inferd_signature_t *OUT_sig, inferd_err_t *err)
{
    (void)path, (void)config, (void)err;
    OUT_sig->inputs = calloc(1, sizeof(inferd_io_spec_t));
    OUT_sig->outputs = calloc(1, sizeof(inferd_io_spec_t));
    OUT_sig->n_inputs = OUT_sig->n_outputs = 1;
    *OUT_sig->inputs = (inferd_io_spec_t){.name = strdup("x"), .dtype = INFERD_DT_FP32, .ndim = 2};
    *OUT_sig->outputs = (inferd_io_spec_t){.name = strdup("y"), .dtype = INFERD_DT_FP32, .ndim = 2};
    for (int d = 0; d < 2; d++)
        OUT_sig->inputs->shape[d] = OUT_sig->outputs->shape[d] = -1;
    *OUT_state = &gate;
    return 0;
}

static int gate_infer(void *state, const inferd_tensor_t *inputs, inferd_tensor_t *outputs,
                      inferd_arena_t *arena, inferd_err_t *err)
{
    (void)state, (void)err;
    pthread_mutex_lock(&gate.lock);
    gate.running++;
    pthread_cond_broadcast(&gate.changed);
    while (!gate.is_open)
        pthread_cond_wait(&gate.changed, &gate.lock);
    gate.running--;
    if (gate.calls < MAX_CALLS)
        gate.call_rows[gate.calls] = inputs[0].shape[0];
    gate.calls++;
    pthread_mutex_unlock(&gate.lock);
    outputs[0].dtype = INFERD_DT_FP32;
    outputs[0].ndim = 2;
    outputs[0].shape[0] = inputs[0].shape[0];
    outputs[0].shape[1] = inputs[0].shape[1];
    int64_t n = inputs[0].shape[0] * inputs[0].shape[1];
    float *y = inferd_arena_alloc(arena, sizeof(float) * (size_t)n + 1);
    const float *x = inputs[0].data;
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] + 1;
    outputs[0].data = y;
    return 0;
}

static void gate_unload(void *state)
{
    (void)state;
}

static const inferd_backend_t gate_backend = {.name = "gate",
                                              .platform = "test",
                                              .file_name = "gate",
                                              .load = gate_load,
                                              .infer = gate_infer,
                                              .unload = gate_unload};

static void gate_set(bool is_open)
{
    pthread_mutex_lock(&gate.lock);
    gate.is_open = is_open;
    pthread_cond_broadcast(&gate.changed);
    pthread_mutex_unlock(&gate.lock);
}

/* Waits (at most 10 s, then fails the test) until `count` inferences are held at the gate. */
static void wait_running(int count)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&gate.lock);
    while (gate.running != count)
        if (pthread_cond_timedwait(&gate.changed, &gate.lock, &until) != 0)
            break;
    int running = gate.running;
    pthread_mutex_unlock(&gate.lock);
    assert_int_equal(running, count);
}

/* ==== jobs ==== */

typedef struct {
    inferd_job_t job; /* first: done() gets this back */
    inferd_request_t req;
    inferd_arena_t arena;
    inferd_tensor_t input;
    float data[64];
    int done_order; /* 1 for the first job done, ...; 0 while not done */
} test_job_t;

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_changed = PTHREAD_COND_INITIALIZER;
static int done_count;

static void on_done(inferd_job_t *job)
{
    test_job_t *t = (test_job_t *)job;
    pthread_mutex_lock(&done_lock);
    t->done_order = ++done_count;
    pthread_cond_broadcast(&done_changed);
    pthread_mutex_unlock(&done_lock);
}

static void wait_done(test_job_t *t)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&done_lock);
    while (t->done_order == 0)
        if (pthread_cond_timedwait(&done_changed, &done_lock, &until) != 0)
            break;
    int order = t->done_order;
    pthread_mutex_unlock(&done_lock);
    assert_true(order > 0);
}

/* Submits a [rows, width] request whose element (r, c) is base + 10 r + c, at `priority` (0:
 * the default) with `timeout_us` (-1: the level's default). Returns what submit returned. */
static int submit(inferd_model_version_t *v, test_job_t *t, int rows, int width, float base,
                  int priority, int64_t timeout_us)
{
    memset(t, 0, sizeof(*t));
    inferd_arena_init(&t->arena, 4096, 0);
    for (int i = 0; i < rows * width; i++)
        t->data[i] = base + (float)(10 * (i / width) + i % width);
    t->input = (inferd_tensor_t){.name = "x", .dtype = INFERD_DT_FP32, .ndim = 2};
    t->input.shape[0] = rows;
    t->input.shape[1] = width;
    t->input.data = t->data;
    t->req = (inferd_request_t){.arena = &t->arena, .inputs = &t->input, .n_inputs = 1};
    inferd_err_t err;
    assert_int_equal(inferd_infer_prepare(v, &t->req, &t->job.prepared, &err), 0);
    t->job.req = &t->req;
    t->job.priority = priority;
    t->job.timeout_us = timeout_us;
    t->job.done = on_done;
    return inferd_sched_submit(v->sched, &t->job, &t->job.err);
}

/* The job ran, alone or batched, and got back exactly its own rows of y = x + 1. */
static void assert_answered(const test_job_t *t)
{
    assert_int_equal(t->job.rc, 0);
    assert_int_equal(t->job.resp.n_outputs, 1);
    const inferd_tensor_t *y = &t->job.resp.outputs[0];
    assert_int_equal(y->ndim, 2);
    assert_int_equal(y->shape[0], t->input.shape[0]);
    assert_int_equal(y->shape[1], t->input.shape[1]);
    for (int64_t i = 0; i < y->shape[0] * y->shape[1]; i++)
        assert_true(((const float *)y->data)[i] == t->data[i] + 1);
}

static void free_job(test_job_t *t)
{
    inferd_arena_free(&t->arena);
}

/* wait_done and free_job for each of `n` jobs. */
static void wait_all_done(test_job_t *jobs, int n)
{
    for (int i = 0; i < n; i++)
        wait_done(&jobs[i]);
}

static void free_jobs(test_job_t *jobs, int n)
{
    for (int i = 0; i < n; i++)
        free_job(&jobs[i]);
}

/* A version of the gate model with `sched` (its scheduler started), the gate open. */
static inferd_model_version_t *load_version(int64_t max_batch_size,
                                            const inferd_sched_config_t *sched)
{
    inferd_model_config_t config = {.max_batch_size = max_batch_size, .sched = *sched};
    inferd_model_version_t *v = inferd_version_new("gate", 1, "/nonexistent/gate");
    inferd_err_t err;
    assert_non_null(v);
    gate_set(true);
    int rc = inferd_version_load(v, &gate_backend, &config, &err);
    if (rc != 0)
        fail_msg("load: %s", err.msg);
    assert_non_null(v->sched);
    pthread_mutex_lock(&gate.lock);
    gate.calls = 0; /* the warm-up's */
    pthread_mutex_unlock(&gate.lock);
    pthread_mutex_lock(&done_lock);
    done_count = 0;
    pthread_mutex_unlock(&done_lock);
    return v;
}

static inferd_sched_config_t one_instance(void)
{
    return (inferd_sched_config_t){.instance_count = 1};
}

/* ==== tests ==== */

static void queued_requests_merge_and_get_their_own_rows(void **state)
{
    (void)state;
    inferd_sched_config_t sched = one_instance();
    sched.has_dynamic_batching = true; /* no queue delay: a batch is what waits when one ends */
    inferd_model_version_t *v = load_version(8, &sched);
    test_job_t first, a, wide, b;
    gate_set(false);
    assert_int_equal(submit(v, &first, 1, 2, 100, 0, -1), 0);
    wait_running(1);
    assert_int_equal(submit(v, &a, 2, 2, 200, 0, -1), 0);
    assert_int_equal(submit(v, &wide, 1, 3, 300, 0, -1), 0); /* another width: never merged */
    assert_int_equal(submit(v, &b, 3, 2, 400, 0, -1), 0);
    assert_int_equal(inferd_sched_pending(v->sched), 3);
    gate_set(true);
    test_job_t *all[] = {&first, &a, &wide, &b};
    for (int i = 0; i < 4; i++)
        wait_done(all[i]);
    for (int i = 0; i < 4; i++)
        assert_answered(all[i]);
    /* three calls: the first job alone, then a and b together (5 rows), then the wide one */
    assert_int_equal(gate.calls, 3);
    assert_int_equal(gate.call_rows[0], 1);
    assert_int_equal(gate.call_rows[1], 5);
    assert_int_equal(gate.call_rows[2], 1);
    assert_int_equal(a.job.batch_rows, 5);
    assert_int_equal(b.job.batch_rows, 5);
    assert_int_equal(wide.job.batch_rows, 1);
    assert_true(wide.done_order > b.done_order);
    assert_int_equal(inferd_sched_pending(v->sched), 0);
    inferd_version_release(v);
    for (int i = 0; i < 4; i++)
        free_job(all[i]);
}

static void max_batch_size_caps_a_batch(void **state)
{
    (void)state;
    inferd_sched_config_t sched = one_instance();
    sched.has_dynamic_batching = true;
    inferd_model_version_t *v = load_version(4, &sched);
    test_job_t first, jobs[3];
    gate_set(false);
    assert_int_equal(submit(v, &first, 1, 2, 0, 0, -1), 0);
    wait_running(1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(submit(v, &jobs[i], 2, 2, (float)(100 * i), 0, -1), 0);
    gate_set(true);
    wait_all_done(jobs, 3);
    wait_done(&first);
    assert_int_equal(gate.calls, 3); /* 1 row, then 2 + 2, then the third 2 */
    assert_int_equal(gate.call_rows[1], 4);
    assert_int_equal(gate.call_rows[2], 2);
    for (int i = 0; i < 3; i++)
        assert_answered(&jobs[i]);
    inferd_version_release(v);
    free_job(&first);
    free_jobs(jobs, 3);
}

/* The instance waiting for a batch to fill starts it as soon as it is full, long before the
 * queue delay (30 s here; wait_done gives up after 10). */
static void a_full_batch_runs_without_waiting_the_delay(void **state)
{
    (void)state;
    inferd_sched_config_t sched = one_instance();
    sched.has_dynamic_batching = true;
    sched.max_queue_delay_us = 30 * 1000 * 1000;
    inferd_model_version_t *v = load_version(4, &sched);
    test_job_t jobs[3];
    assert_int_equal(submit(v, &jobs[0], 1, 2, 0, 0, -1), 0); /* the instance starts waiting */
    usleep(10 * 1000);
    assert_int_equal(submit(v, &jobs[1], 1, 2, 100, 0, -1), 0);
    assert_int_equal(submit(v, &jobs[2], 2, 2, 200, 0, -1), 0); /* 4 rows: full */
    for (int i = 0; i < 3; i++) {
        wait_done(&jobs[i]);
        assert_answered(&jobs[i]);
        assert_int_equal(jobs[i].job.batch_rows, 4);
    }
    assert_int_equal(gate.calls, 1);
    inferd_version_release(v);
    free_jobs(jobs, 3);
}

/* With preferred sizes, a batch is the largest preferred size the queue reaches, at once; what
 * is left waits for the queue delay and then goes as it is. */
static void a_batch_takes_the_largest_preferred_size_reached(void **state)
{
    (void)state;
    inferd_sched_config_t sched = one_instance();
    sched.has_dynamic_batching = true;
    sched.max_queue_delay_us = 50 * 1000;
    sched.preferred_batch_sizes[0] = 2;
    sched.preferred_batch_sizes[1] = 4;
    sched.n_preferred_batch_sizes = 2;
    inferd_model_version_t *v = load_version(8, &sched);
    test_job_t first, jobs[5];
    gate_set(false);
    assert_int_equal(submit(v, &first, 4, 2, 0, 0, -1), 0); /* a preferred size: runs at once */
    wait_running(1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(submit(v, &jobs[i], 1, 2, (float)(100 * i), 0, -1), 0);
    gate_set(true);
    wait_all_done(jobs, 5);
    wait_done(&first);
    assert_int_equal(gate.calls, 3); /* 4 rows; then 4 of the 5 queued, not 5; then the last */
    assert_int_equal(gate.call_rows[0], 4);
    assert_int_equal(gate.call_rows[1], 4);
    assert_int_equal(gate.call_rows[2], 1);
    assert_true(jobs[4].job.queue_ns >= 40 * 1000 * 1000); /* the last one waited the delay */
    for (int i = 0; i < 5; i++)
        assert_answered(&jobs[i]);
    inferd_version_release(v);
    free_job(&first);
    free_jobs(jobs, 5);
}

static void a_higher_priority_runs_first(void **state)
{
    (void)state;
    inferd_sched_config_t sched = one_instance(); /* one request per call */
    sched.priority_levels = 3;
    sched.default_priority_level = 3;
    inferd_model_version_t *v = load_version(8, &sched);
    test_job_t first, low, middle, high, low2;
    gate_set(false);
    assert_int_equal(submit(v, &first, 1, 2, 0, 0, -1), 0);
    wait_running(1);
    assert_int_equal(submit(v, &low, 1, 2, 0, 0, -1), 0); /* the default level, 3 */
    assert_int_equal(submit(v, &middle, 1, 2, 0, 2, -1), 0);
    assert_int_equal(submit(v, &low2, 1, 2, 0, 3, -1), 0);
    assert_int_equal(submit(v, &high, 1, 2, 0, 1, -1), 0);
    test_job_t outside;
    assert_int_equal(submit(v, &outside, 1, 2, 0, 4, -1), INFERD_EINVAL);
    gate_set(true);
    test_job_t *order[] = {&first, &high, &middle, &low, &low2};
    for (int i = 0; i < 5; i++)
        wait_done(order[i]);
    for (int i = 0; i < 5; i++)
        assert_int_equal(order[i]->done_order, i + 1);
    assert_int_equal(outside.done_order, 0);
    inferd_version_release(v);
    for (int i = 0; i < 5; i++)
        free_job(order[i]);
    free_job(&outside);
}

static void each_level_bounds_its_own_queue(void **state)
{
    (void)state;
    inferd_sched_config_t sched = one_instance();
    sched.priority_levels = 2;
    sched.default_priority_level = 2;
    sched.policies[0].max_queue_size = 1;
    sched.policies[1].max_queue_size = 2;
    inferd_model_version_t *v = load_version(8, &sched);
    test_job_t first, high[2], low[3];
    gate_set(false);
    assert_int_equal(submit(v, &first, 1, 2, 0, 0, -1), 0);
    wait_running(1); /* running: no longer queued */
    assert_int_equal(submit(v, &high[0], 1, 2, 0, 1, -1), 0);
    assert_int_equal(submit(v, &high[1], 1, 2, 0, 1, -1), INFERD_EUNAVAIL);
    assert_non_null(strstr(high[1].job.err.msg, "priority level 1"));
    assert_int_equal(submit(v, &low[0], 1, 2, 0, 2, -1), 0); /* level 2 has room of its own */
    assert_int_equal(submit(v, &low[1], 1, 2, 0, 0, -1), 0);
    assert_int_equal(submit(v, &low[2], 1, 2, 0, 2, -1), INFERD_EUNAVAIL);
    assert_non_null(strstr(low[2].job.err.msg, "overloaded"));
    assert_int_equal(inferd_sched_pending(v->sched), 3);
    gate_set(true);
    wait_done(&first);
    wait_done(&high[0]);
    wait_done(&low[0]);
    wait_done(&low[1]);
    /* the queues emptied: level 1 takes a request again */
    test_job_t again;
    assert_int_equal(submit(v, &again, 1, 2, 0, 1, -1), 0);
    wait_done(&again);
    assert_answered(&again);
    assert_int_equal(high[1].done_order, 0);
    assert_int_equal(low[2].done_order, 0);
    inferd_version_release(v);
    free_job(&first), free_job(&again);
    free_jobs(high, 2);
    free_jobs(low, 3);
}

static void timeouts_follow_each_levels_policy(void **state)
{
    (void)state;
    inferd_sched_config_t sched = one_instance();
    sched.priority_levels = 3;
    sched.default_priority_level = 3;
    /* level 1: 1 ms, REJECT, the request's own timeout does not count */
    sched.policies[0] = (inferd_queue_policy_t){.default_timeout_us = 1000};
    /* level 2: no timeout unless the request gives one */
    sched.policies[1] = (inferd_queue_policy_t){.allow_timeout_override = true};
    /* level 3: 1 ms, but DELAY: a late request still runs */
    sched.policies[2] =
        (inferd_queue_policy_t){.default_timeout_us = 1000, .timeout_action = INFERD_TIMEOUT_DELAY};
    inferd_model_version_t *v = load_version(8, &sched);
    test_job_t first, strict, own_timeout, no_timeout, delayed;
    gate_set(false);
    assert_int_equal(submit(v, &first, 1, 2, 0, 0, -1), 0);
    wait_running(1);
    assert_int_equal(submit(v, &strict, 1, 2, 0, 1, 60000000), 0); /* override not allowed */
    assert_int_equal(submit(v, &own_timeout, 1, 2, 0, 2, 1000), 0);
    assert_int_equal(submit(v, &no_timeout, 1, 2, 0, 2, -1), 0);
    assert_int_equal(submit(v, &delayed, 1, 2, 0, 3, -1), 0);
    usleep(20 * 1000); /* every timeout above has passed */
    gate_set(true);
    test_job_t *all[] = {&first, &strict, &own_timeout, &no_timeout, &delayed};
    for (int i = 0; i < 5; i++)
        wait_done(all[i]);
    assert_int_equal(strict.job.rc, INFERD_ETIMEOUT);
    assert_non_null(strstr(strict.job.err.msg, "timeout"));
    assert_int_equal(own_timeout.job.rc, INFERD_ETIMEOUT);
    assert_answered(&first);
    assert_answered(&no_timeout);
    assert_answered(&delayed);
    inferd_version_release(v);
    for (int i = 0; i < 5; i++)
        free_job(all[i]);
}

/* One quick request: its latency is far under a 100 ms target. */
static void run_quick(inferd_model_version_t *v)
{
    test_job_t t;
    assert_int_equal(submit(v, &t, 1, 2, 0, 0, -1), 0);
    wait_done(&t);
    assert_answered(&t);
    free_job(&t);
}

static void adaptive_batching_steps_its_limit(void **state)
{
    (void)state;
    inferd_sched_config_t sched = one_instance();
    sched.has_dynamic_batching = true;
    sched.adaptive_target_us = 100000; /* 100 ms */
    inferd_model_version_t *v = load_version(8, &sched);
    assert_int_equal(inferd_sched_batch_limit(v->sched), 1); /* starts small */
    for (int i = 0; i < 3; i++)
        run_quick(v);
    assert_int_equal(inferd_sched_batch_limit(v->sched), 4); /* additive increase: a row a batch */
    for (int i = 0; i < 10; i++)
        run_quick(v);
    assert_int_equal(inferd_sched_batch_limit(v->sched), 8); /* up to max_batch_size */
    test_job_t slow;
    gate_set(false);
    assert_int_equal(submit(v, &slow, 1, 2, 0, 0, -1), 0);
    wait_running(1);
    usleep(150 * 1000);
    gate_set(true);
    wait_done(&slow);
    assert_int_equal(inferd_sched_batch_limit(v->sched), 6); /* multiplicative decrease: 3/4 */
    run_quick(v);
    assert_int_equal(inferd_sched_batch_limit(v->sched), 7);
    inferd_version_release(v);
    free_job(&slow);
}

/* With several instances and a queue delay, instances that wait for the same batch race for it:
 * the one that loses finds the queue empty and must go back to waiting, not exit. After rounds
 * of such races, both instances still run at once. */
static void every_instance_keeps_serving_after_losing_a_race(void **state)
{
    (void)state;
    inferd_sched_config_t sched = {.instance_count = 2, .has_dynamic_batching = true};
    sched.max_queue_delay_us = 2000;
    inferd_model_version_t *v = load_version(2, &sched);
    for (int round = 0; round < 20; round++) {
        test_job_t a, b;
        assert_int_equal(submit(v, &a, 1, 2, 0, 0, -1), 0); /* wakes an instance to wait */
        assert_int_equal(submit(v, &b, 1, 2, 1, 0, -1), 0); /* fills the batch */
        wait_done(&a);
        wait_done(&b);
        assert_answered(&a);
        assert_answered(&b);
        free_job(&a);
        free_job(&b);
        usleep(3000); /* past the delay: the losing instance has woken and found no work */
    }
    test_job_t full1, full2, more;
    gate_set(false);
    assert_int_equal(submit(v, &full1, 2, 2, 0, 0, -1), 0);
    wait_running(1);
    assert_int_equal(submit(v, &full2, 2, 2, 0, 0, -1), 0);
    wait_running(2); /* the second instance is alive and took it */
    assert_int_equal(submit(v, &more, 2, 2, 0, 0, -1), 0);
    gate_set(true);
    test_job_t *all[] = {&full1, &full2, &more};
    for (int i = 0; i < 3; i++) {
        wait_done(all[i]);
        assert_answered(all[i]);
    }
    inferd_version_release(v);
    for (int i = 0; i < 3; i++)
        free_job(all[i]);
}

static void stopping_runs_every_queued_job(void **state)
{
    (void)state;
    inferd_sched_config_t sched = one_instance();
    inferd_model_version_t *v = load_version(8, &sched);
    test_job_t jobs[5];
    gate_set(false);
    assert_int_equal(submit(v, &jobs[0], 1, 2, 0, 0, -1), 0);
    wait_running(1);
    for (int i = 1; i < 5; i++)
        assert_int_equal(submit(v, &jobs[i], 1, 2, (float)i, 0, -1), 0);
    gate_set(true);
    inferd_sched_destroy(v->sched); /* returns once everything queued has run */
    v->sched = NULL;
    for (int i = 0; i < 5; i++) {
        assert_true(jobs[i].done_order > 0);
        assert_answered(&jobs[i]);
    }
    inferd_version_release(v);
    free_jobs(jobs, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(queued_requests_merge_and_get_their_own_rows),
        cmocka_unit_test(max_batch_size_caps_a_batch),
        cmocka_unit_test(a_full_batch_runs_without_waiting_the_delay),
        cmocka_unit_test(a_batch_takes_the_largest_preferred_size_reached),
        cmocka_unit_test(a_higher_priority_runs_first),
        cmocka_unit_test(each_level_bounds_its_own_queue),
        cmocka_unit_test(timeouts_follow_each_levels_policy),
        cmocka_unit_test(adaptive_batching_steps_its_limit),
        cmocka_unit_test(every_instance_keeps_serving_after_losing_a_race),
        cmocka_unit_test(stopping_runs_every_queued_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
