/* The scheduler of one model version (see inferd/sched.h): bounded priority queues, the dynamic
 * batcher and the instance threads.
 *
 * Design notes
 *
 * A job is in exactly one of these states:
 *
 *   submitted --inferd_sched_submit--> QUEUED --take_batch--> RUNNING --run_batch--> DONE
 *                                        |                                          ^
 *                                        +--take_batch (deadline passed, REJECT)----+
 *
 *   - inferd_sched_submit: QUEUED, at the tail of its priority's list with the deadline of
 *     its level's policy, or refused (that level's queue full, stopping, bad priority) and
 *     never DONE.
 *   - take_batch (instance thread, under the lock): moves jobs from the queues, highest priority
 *     first and FIFO within a level, into one batch whose inputs share every non-batch
 *     dimension, up to max_batch_size rows (without dynamic batching: one job). Jobs whose
 *     deadline passed are taken out as expired or left to run, as their level's policy says
 *     (REJECT, DELAY).
 *   - run_batch (no lock held): concatenates the inputs, runs the backend once, copies each
 *     job's rows of each requested output into its request's arena, then calls done(job).
 *
 * Invariants: `queued[l]` counts the jobs in level l + 1's queue and never exceeds the
 * max_queue_size of that level's policy (its priority_queue_policy entry, or else
 * default_queue_policy); `pending` is their sum; a job is touched by the scheduler only between
 * submit and done; no lock is held while a model runs; done is called exactly once per accepted
 * job, including when the scheduler is destroyed (it runs what is queued first).
 *
 * Waiting for a batch: an instance waits while the queue holds fewer rows than max_batch_size
 * (or than the largest preferred size it can reach), but never past the oldest job's enqueue
 * time + max_queue_delay_us. Submitting wakes an instance only when that changes something: a
 * first job for an idle instance, a batch now full, or any job when batches are not formed; an
 * instance that leaves jobs in the queue wakes another one for them; a shrinking adaptive
 * limit that makes the queued rows a full batch wakes one too. Every other wake-up would only
 * find the batch still filling.
 *
 * Adaptive batching (config adaptive_target_us, after Clipper): `batch_limit` caps the rows of a
 * batch. After each batch, run_batch compares the slowest request's latency (its queue time plus
 * the batch's compute time) with the target: above it, the limit shrinks by a quarter
 * (multiplicative decrease); below it, it grows by one row (additive increase), between 1 and
 * max_batch_size. */
#include "inferd/sched.h"
#include "inferd/clock.h"
#include "inferd/thread.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inferd/backend.h"

typedef struct {
    inferd_job_t *head, *tail;
} job_list_t;

struct inferd_sched {
    inferd_model_version_t *version;
    inferd_sched_config_t config;
    int levels;
    pthread_mutex_t lock;
    pthread_cond_t has_work;
    job_list_t queues[INFERD_MAX_PRIORITY_LEVELS]; /* index 0: priority level 1, the highest */
    int64_t queued[INFERD_MAX_PRIORITY_LEVELS];    /* jobs in each queue */
    int64_t pending;                               /* jobs in all the queues */
    int64_t pending_rows;
    int64_t batch_limit; /* rows a batch may hold now (adaptive batching tunes it) */
    bool is_stopping;
    pthread_t *threads;
    int n_threads;
};

static int64_t job_rows(const inferd_job_t *job)
{
    return job->prepared.batch > 0 ? job->prepared.batch : 1;
}

/* Whether jobs are merged into batches (else each runs alone). */
static bool batches_jobs(const inferd_sched_t *s)
{
    return s->config.has_dynamic_batching && s->version->max_batch_size > 0;
}

static int64_t target_rows(const inferd_sched_t *s);

/* ==== submitting ==== */

int inferd_sched_submit(inferd_sched_t *s, inferd_job_t *job, inferd_err_t *err)
{
    int level = job->priority > 0 ? job->priority : s->config.default_priority_level;
    if (level < 1 || level > s->levels)
        return inferd_fail(err, INFERD_EINVAL,
                           "priority %d is outside this model's levels 1 (highest) to %d",
                           job->priority, s->levels);
    const inferd_queue_policy_t *policy = &s->config.policies[level - 1];
    int64_t timeout_us = policy->default_timeout_us;
    if (job->timeout_us >= 0 && policy->allow_timeout_override)
        timeout_us = job->timeout_us;
    job->enqueued_ns = inferd_monotonic_ns();
    job->deadline_ns = timeout_us > 0 ? job->enqueued_ns + (uint64_t)timeout_us * 1000u : 0;
    job->next = NULL;
    int64_t limit =
        policy->max_queue_size > 0 ? policy->max_queue_size : INFERD_DEFAULT_MAX_QUEUE_SIZE;
    pthread_mutex_lock(&s->lock);
    if (s->is_stopping || s->queued[level - 1] >= limit) {
        bool is_stopping = s->is_stopping;
        pthread_mutex_unlock(&s->lock);
        if (is_stopping)
            return inferd_fail(err, INFERD_EUNAVAIL, "model '%s' version %s is being unloaded",
                               s->version->model_name, s->version->version_str);
        return inferd_fail(err, INFERD_EUNAVAIL,
                           "model '%s' version %s is overloaded: %lld requests are already "
                           "queued at priority level %d; retry later",
                           s->version->model_name, s->version->version_str, (long long)limit,
                           level);
    }
    job_list_t *queue = &s->queues[level - 1];
    if (queue->tail != NULL)
        queue->tail->next = job;
    else
        queue->head = job;
    queue->tail = job;
    s->queued[level - 1]++;
    s->pending++;
    s->pending_rows += job_rows(job);
    /* An instance waiting for a batch to fill only needs waking when it is full; until then it
     * wakes at the oldest job's deadline by itself. Idle instances need waking for a first job. */
    if (!batches_jobs(s) || s->pending == 1 || s->pending_rows >= target_rows(s))
        pthread_cond_signal(&s->has_work);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int64_t inferd_sched_pending(const inferd_sched_t *s)
{
    return __atomic_load_n(&s->pending, __ATOMIC_RELAXED);
}

/* ==== forming a batch (lock held) ==== */

static inferd_job_t *oldest_job(const inferd_sched_t *s)
{
    inferd_job_t *oldest = NULL;
    for (int l = 0; l < s->levels; l++)
        if (s->queues[l].head != NULL &&
            (oldest == NULL || s->queues[l].head->enqueued_ns < oldest->enqueued_ns))
            oldest = s->queues[l].head;
    return oldest;
}

/* The batch size to aim for: max_batch_size, or the largest preferred size the queue reaches. */
static int64_t target_rows(const inferd_sched_t *s)
{
    int64_t max_rows = s->batch_limit;
    int64_t best = 0;
    for (int i = 0; i < s->config.n_preferred_batch_sizes; i++) {
        int64_t size = s->config.preferred_batch_sizes[i];
        if (size <= s->pending_rows && size <= max_rows && size > best)
            best = size;
    }
    return best > 0 ? best : max_rows;
}

/* Whether `job` can join a batch whose first job is `first`: every input has the same
 * non-batch dimensions. */
static bool can_join(const inferd_sched_t *s, const inferd_job_t *first, const inferd_job_t *job)
{
    for (size_t i = 0; i < s->version->sig.n_inputs; i++) {
        const inferd_tensor_t *a = &first->prepared.inputs[i], *b = &job->prepared.inputs[i];
        if (a->ndim != b->ndim)
            return false;
        for (int d = 1; d < a->ndim; d++)
            if (a->shape[d] != b->shape[d])
                return false;
    }
    return true;
}

/* Moves the next batch out of the queues into `batch` and expired jobs into `expired`. */
static void take_batch(inferd_sched_t *s, job_list_t *batch, job_list_t *expired)
{
    bool is_batching = batches_jobs(s);
    int64_t limit = is_batching ? target_rows(s) : 1, rows = 0;
    uint64_t now = inferd_monotonic_ns();
    inferd_job_t *first = NULL;
    for (int l = 0; l < s->levels; l++) {
        inferd_job_t **link = &s->queues[l].head, *previous = NULL;
        while (*link != NULL) {
            inferd_job_t *job = *link;
            bool is_expired = job->deadline_ns != 0 && now > job->deadline_ns &&
                              s->config.policies[l].timeout_action == INFERD_TIMEOUT_REJECT;
            bool fits = !is_expired && (first == NULL || (is_batching && can_join(s, first, job) &&
                                                          rows + job_rows(job) <= limit));
            if (!is_expired && !fits) {
                if (!is_batching || rows >= limit)
                    break;
                previous = job, link = &job->next;
                continue;
            }
            /* unlink */
            *link = job->next;
            if (s->queues[l].tail == job)
                s->queues[l].tail = previous;
            s->queued[l]--;
            s->pending--;
            s->pending_rows -= job_rows(job);
            job->next = NULL;
            job_list_t *to = is_expired ? expired : batch;
            if (to->tail != NULL)
                to->tail->next = job;
            else
                to->head = job;
            to->tail = job;
            if (!is_expired) {
                first = first ? first : job;
                rows += job_rows(job);
            }
        }
        if (first != NULL && (!is_batching || rows >= limit))
            break;
    }
}

/* Blocks until there is work and, when batching, until the batch is full or the oldest job has
 * waited its queue delay. Returns false when the scheduler stops with nothing left to do. With
 * several instances, another one may take the jobs this one was waiting on: this one then waits
 * again (returning would end its thread, and the model would lose an instance for good). */
static bool wait_for_work(inferd_sched_t *s)
{
    for (;;) {
        while (s->pending == 0) {
            if (s->is_stopping)
                return false;
            pthread_cond_wait(&s->has_work, &s->lock);
        }
        while (batches_jobs(s) && !s->is_stopping && s->pending > 0 &&
               s->pending_rows < target_rows(s)) {
            uint64_t until =
                oldest_job(s)->enqueued_ns + (uint64_t)s->config.max_queue_delay_us * 1000u;
            if (inferd_monotonic_ns() >= until)
                break;
            /* has_work runs on the monotonic clock (inferd_sched_create), so the deadline is
             * `until` itself: no second reading of the clock, which after a preemption could
             * be past `until` and make the wait endless */
            struct timespec deadline = {.tv_sec = (time_t)(until / 1000000000u),
                                        .tv_nsec = (long)(until % 1000000000u)};
            pthread_cond_timedwait(&s->has_work, &s->lock, &deadline);
        }
        if (s->pending > 0)
            return true;
    }
}

/* Adaptive batching: one additive-increase / multiplicative-decrease step from the latency of
 * the slowest request of the batch just run. */
static void adapt_batch_limit(inferd_sched_t *s, uint64_t worst_queue_ns, uint64_t compute_ns)
{
    if (s->config.adaptive_target_us <= 0)
        return;
    uint64_t worst_ns = worst_queue_ns + compute_ns;
    int64_t max_rows = s->version->max_batch_size > 0 ? s->version->max_batch_size : 1;
    pthread_mutex_lock(&s->lock);
    if (worst_ns > (uint64_t)s->config.adaptive_target_us * 1000u) {
        s->batch_limit = s->batch_limit * 3 / 4 > 1 ? s->batch_limit * 3 / 4 : 1;
        if (s->pending > 0 && s->pending_rows >= target_rows(s))
            pthread_cond_signal(&s->has_work); /* what waits is a full batch now */
    } else if (s->batch_limit < max_rows) {
        s->batch_limit++;
    }
    pthread_mutex_unlock(&s->lock);
}

int64_t inferd_sched_batch_limit(const inferd_sched_t *s)
{
    return __atomic_load_n(&s->batch_limit, __ATOMIC_RELAXED);
}

/* ==== running a batch (no lock held) ==== */

static void finish(inferd_job_t *job, int rc)
{
    job->rc = rc;
    job->done(job);
}

static void finish_all(job_list_t *list, int rc, const inferd_err_t *err)
{
    for (inferd_job_t *job = list->head, *next; job != NULL; job = next) {
        next = job->next;
        if (err != NULL)
            job->err = *err;
        finish(job, rc);
    }
}

/* Copies rows [row, row + rows) of `batch_out` into a tensor in `arena`. */
static int slice_rows(const inferd_tensor_t *batch_out, int64_t row, int64_t rows,
                      inferd_tensor_t *out, inferd_arena_t *arena)
{
    *out = *batch_out;
    out->shape[0] = rows;
    int64_t row_bytes =
        batch_out->shape[0] > 0 ? inferd_tensor_bytes(batch_out) / batch_out->shape[0] : 0;
    out->data = inferd_arena_alloc(arena, (size_t)(row_bytes * rows) + 1);
    if (out->data == NULL)
        return INFERD_ETOOBIG;
    memcpy(out->data, (const char *)batch_out->data + row * row_bytes, (size_t)(row_bytes * rows));
    return 0;
}

/* Runs one batch: a single job runs as it is; several are concatenated along the batch
 * dimension into `work`, run once, and split back. */
static void run_batch(inferd_sched_t *s, job_list_t *batch, inferd_arena_t *work)
{
    inferd_model_version_t *v = s->version;
    const inferd_signature_t *sig = &v->sig;
    uint64_t start = inferd_monotonic_ns();
    int64_t total_rows = 0;
    int n_jobs = 0;
    uint64_t worst_queue_ns = 0;
    for (inferd_job_t *job = batch->head; job != NULL; job = job->next) {
        job->queue_ns = start - job->enqueued_ns;
        worst_queue_ns = job->queue_ns > worst_queue_ns ? job->queue_ns : worst_queue_ns;
        total_rows += job_rows(job);
        n_jobs++;
    }
    if (n_jobs == 1) {
        inferd_job_t *job = batch->head;
        int rc = inferd_infer_run(v, job->req, &job->prepared, &job->resp, &job->err);
        job->compute_ns = inferd_monotonic_ns() - start;
        job->batch_rows = total_rows;
        adapt_batch_limit(s, worst_queue_ns, job->compute_ns);
        finish(job, rc);
        return;
    }
    inferd_arena_reset(work);
    inferd_err_t err = {0};
    int rc = 0;
    inferd_request_t merged = {.arena = work};
    inferd_prepared_t prepared = {.batch = total_rows};
    prepared.inputs = inferd_arena_calloc(work, sig->n_inputs + 1, sizeof(inferd_tensor_t));
    prepared.wanted = inferd_arena_calloc(work, sig->n_outputs + 1, sizeof(int));
    if (prepared.inputs == NULL || prepared.wanted == NULL)
        rc = inferd_fail(&err, INFERD_ENOMEM, "out of memory forming a batch");
    for (size_t i = 0; rc == 0 && i < sig->n_inputs; i++) {
        inferd_tensor_t *t = &prepared.inputs[i];
        *t = batch->head->prepared.inputs[i];
        t->shape[0] = total_rows;
        int64_t bytes = inferd_tensor_bytes(t);
        char *data = bytes >= 0 ? inferd_arena_alloc(work, (size_t)bytes + 1) : NULL;
        if (data == NULL) {
            rc = inferd_fail(&err, INFERD_ENOMEM, "out of memory forming a batch");
            break;
        }
        t->data = data;
        for (inferd_job_t *job = batch->head; job != NULL; job = job->next) {
            int64_t job_bytes = inferd_tensor_bytes(&job->prepared.inputs[i]);
            memcpy(data, job->prepared.inputs[i].data, (size_t)job_bytes);
            data += job_bytes;
        }
    }
    for (size_t o = 0; o < sig->n_outputs; o++)
        prepared.wanted[o] = (int)o;
    prepared.n_wanted = sig->n_outputs;
    inferd_response_t resp = {0};
    if (rc == 0)
        rc = inferd_infer_run(v, &merged, &prepared, &resp, &err);
    for (size_t o = 0; rc == 0 && o < resp.n_outputs; o++)
        if (resp.outputs[o].ndim == 0 || resp.outputs[o].shape[0] != total_rows)
            rc = inferd_fail(&err, INFERD_EINTERNAL,
                             "output '%s' does not have the batch as its first dimension",
                             sig->outputs[o].name);
    uint64_t compute_ns = inferd_monotonic_ns() - start;
    adapt_batch_limit(s, worst_queue_ns, compute_ns);
    if (rc != 0) {
        finish_all(batch, rc, &err);
        return;
    }
    int64_t row = 0;
    for (inferd_job_t *job = batch->head, *next; job != NULL; job = next) {
        next = job->next;
        int job_rc = 0;
        job->compute_ns = compute_ns;
        job->batch_rows = total_rows;
        job->resp.outputs = inferd_arena_calloc(job->req->arena, job->prepared.n_wanted + 1,
                                                sizeof(inferd_tensor_t));
        job->resp.n_outputs = job->prepared.n_wanted;
        if (job->resp.outputs == NULL)
            job_rc = INFERD_ETOOBIG;
        for (size_t k = 0; job_rc == 0 && k < job->prepared.n_wanted; k++)
            job_rc = slice_rows(&resp.outputs[job->prepared.wanted[k]], row, job_rows(job),
                                &job->resp.outputs[k], job->req->arena);
        if (job_rc != 0)
            inferd_fail(&job->err, job_rc, "response too large for the request memory limit");
        row += job_rows(job);
        finish(job, job_rc);
    }
}

static void *instance_main(void *arg)
{
    inferd_sched_t *s = arg;
    inferd_thread_name("sched:", s->version->model_name);
    inferd_backends_thread_init();
    inferd_arena_t work;
    inferd_arena_init(&work, 256 * 1024, 0);
    pthread_mutex_lock(&s->lock);
    while (wait_for_work(s)) {
        job_list_t batch = {0}, expired = {0};
        take_batch(s, &batch, &expired);
        if (s->pending > 0) /* more than this batch: another instance may start on it */
            pthread_cond_signal(&s->has_work);
        pthread_mutex_unlock(&s->lock);
        if (expired.head != NULL) {
            inferd_err_t err;
            inferd_fail(&err, INFERD_ETIMEOUT,
                        "the request waited in the queue of model '%s' version %s longer than "
                        "its timeout",
                        s->version->model_name, s->version->version_str);
            finish_all(&expired, INFERD_ETIMEOUT, &err);
        }
        if (batch.head != NULL)
            run_batch(s, &batch, &work);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    inferd_arena_free(&work);
    return NULL;
}

/* ==== lifetime ==== */

int inferd_sched_create(inferd_model_version_t *v, const inferd_sched_config_t *config,
                        inferd_sched_t **OUT_sched, inferd_err_t *err)
{
    int levels = config->priority_levels > 0 ? config->priority_levels : 1;
    if (levels > INFERD_MAX_PRIORITY_LEVELS)
        return inferd_fail(err, INFERD_EMODEL, "priority_levels is %d; at most %d are supported",
                           levels, INFERD_MAX_PRIORITY_LEVELS);
    if (config->default_priority_level > levels)
        return inferd_fail(err, INFERD_EMODEL,
                           "default_priority_level %d is above priority_levels %d",
                           config->default_priority_level, levels);
    inferd_sched_t *s = calloc(1, sizeof(*s));
    int n_threads = config->instance_count > 0 ? config->instance_count : 1;
    if (s == NULL || (s->threads = calloc((size_t)n_threads, sizeof(pthread_t))) == NULL) {
        free(s);
        return inferd_fail(err, INFERD_ENOMEM, "out of memory creating the scheduler");
    }
    s->version = v;
    s->config = *config;
    s->levels = levels;
    int64_t max_rows = v->max_batch_size > 0 ? v->max_batch_size : 1;
    s->batch_limit = config->adaptive_target_us > 0 ? 1 : max_rows; /* adaptive starts small */
    if (s->config.default_priority_level < 1)
        s->config.default_priority_level = (levels + 1) / 2;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* the clock of inferd_monotonic_ns */
    pthread_cond_init(&s->has_work, &attr);
    pthread_condattr_destroy(&attr);
    for (int i = 0; i < n_threads; i++) {
        if (pthread_create(&s->threads[i], NULL, instance_main, s) != 0)
            break;
        s->n_threads++;
    }
    if (s->n_threads == 0) {
        inferd_sched_destroy(s);
        return inferd_fail(err, INFERD_ENOMEM, "cannot start instance threads");
    }
    *OUT_sched = s;
    return 0;
}

void inferd_sched_destroy(inferd_sched_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->is_stopping = true;
    pthread_cond_broadcast(&s->has_work);
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < s->n_threads; i++)
        pthread_join(s->threads[i], NULL);
    pthread_cond_destroy(&s->has_work);
    pthread_mutex_destroy(&s->lock);
    free(s->threads);
    free(s);
}
