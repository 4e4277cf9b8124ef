/* The scheduler of one model version: a bounded queue per priority level, a dynamic batcher, and
 * instance threads that run batches and hand each request its slice of the outputs. Requests
 * enter as jobs from any thread; results leave through each job's `done` callback, called on an
 * instance thread (the HTTP layer forwards them to the loop that owns the request). */
#ifndef INFERD_SCHED_H
#define INFERD_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "inferd/error.h"
#include "inferd/infer.h"
#include "inferd/model.h"

typedef struct inferd_job inferd_job_t;

/* One request inside the scheduler. The submitter fills the request part; the scheduler fills
 * the result part and then calls done(job) exactly once, on an instance thread (or, when
 * inferd_sched_submit fails, never). */
struct inferd_job {
    /* ---- request (owned by the submitter, valid until done) ---- */
    inferd_request_t *req;      /* decoded; its arena receives the outputs */
    inferd_prepared_t prepared; /* checked by inferd_infer_prepare */
    int priority;               /* 0: the default level */
    int64_t timeout_us;         /* -1: the default */
    void (*done)(inferd_job_t *job);
    /* ---- result ---- */
    int rc;
    inferd_err_t err;
    inferd_response_t resp;
    uint64_t queue_ns;   /* time spent waiting */
    uint64_t compute_ns; /* time of the batch it ran in */
    int64_t batch_rows;  /* rows of the batch it ran in */
    /* ---- scheduler's own ---- */
    uint64_t enqueued_ns, deadline_ns;
    inferd_job_t *next;
};

/* Starts the instance threads of `v` (which the scheduler references until destroyed). Returns
 * 0 or INFERD_ENOMEM / INFERD_EINVAL (a config that cannot work, with the reason). */
int inferd_sched_create(inferd_model_version_t *v, const inferd_sched_config_t *config,
                        inferd_sched_t **OUT_sched, inferd_err_t *err);

/* Queues `job`. Returns 0 (done will be called), INFERD_EUNAVAIL when the queue is full or the
 * scheduler is stopping, or INFERD_EINVAL for a priority outside the configured levels; on
 * error `done` is never called. */
int inferd_sched_submit(inferd_sched_t *sched, inferd_job_t *job, inferd_err_t *err);

/* Requests waiting right now (for the pending-requests gauge). */
int64_t inferd_sched_pending(const inferd_sched_t *sched);

/* The most rows a batch may hold now: max_batch_size, or what adaptive batching has tuned it to. */
int64_t inferd_sched_batch_limit(const inferd_sched_t *sched);

/* Runs what is queued, stops the instance threads and frees the scheduler. */
void inferd_sched_destroy(inferd_sched_t *sched);

#endif
