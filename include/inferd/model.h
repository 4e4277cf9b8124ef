/* Models as the server sees them: a model has versions; a version has a backend, a signature
 * (its inputs and outputs) and a state (ready, or failed with a reason). A version is refcounted
 * so that it can be unloaded only after the last request using it lets go. */
#ifndef INFERD_MODEL_H
#define INFERD_MODEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "inferd/error.h"
#include "inferd/tensor.h"

/* One input or output. shape[i] == -1 means any size along that dimension. */
typedef struct inferd_io_spec {
    char *name;
    inferd_dtype_t dtype;
    int ndim;
    int64_t shape[INFERD_MAX_DIMS];
} inferd_io_spec_t;

typedef struct inferd_signature {
    inferd_io_spec_t *inputs;
    size_t n_inputs;
    inferd_io_spec_t *outputs;
    size_t n_outputs;
} inferd_signature_t;

#define INFERD_MAX_PREFERRED_BATCH_SIZES 8
#define INFERD_DEFAULT_MAX_QUEUE_SIZE    1024
#define INFERD_MAX_PRIORITY_LEVELS       16

typedef enum { INFERD_TIMEOUT_REJECT, INFERD_TIMEOUT_DELAY } inferd_timeout_action_t;

/* How the queue of one priority level treats its requests (Triton's ModelQueuePolicy). */
typedef struct inferd_queue_policy {
    inferd_timeout_action_t timeout_action; /* a request past its timeout: 504, or run anyway */
    int64_t default_timeout_us;             /* 0: requests do not time out */
    bool allow_timeout_override;            /* a request's "timeout" parameter counts */
    int64_t max_queue_size; /* requests this level holds; 0: INFERD_DEFAULT_MAX_QUEUE_SIZE */
} inferd_queue_policy_t;

/* config.json's instance_group and dynamic_batching (Triton's names). */
typedef struct inferd_sched_config {
    int instance_count;         /* instance threads; 0: no scheduler, requests run inline */
    bool has_dynamic_batching;  /* merge queued requests into batches */
    int64_t max_queue_delay_us; /* how long a request may wait for a batch to fill */
    int64_t preferred_batch_sizes[INFERD_MAX_PREFERRED_BATCH_SIZES];
    int n_preferred_batch_sizes;
    int priority_levels;        /* 1..N, 1 the highest; 0 or 1: one level */
    int default_priority_level; /* for requests that give none */
    /* policies[l] governs level l + 1: its entry in priority_queue_policy, or else
     * default_queue_policy */
    inferd_queue_policy_t policies[INFERD_MAX_PRIORITY_LEVELS];
    int64_t adaptive_target_us; /* > 0: tune the batch size to keep latency under this (AIMD) */
} inferd_sched_config_t;

/* config.json's "fault_injection": makes a version slow or failing on purpose, for tests and
 * demonstrations of canary rollback. Applies to requests only, never to the load-time warm-up. */
typedef struct inferd_fault_config {
    int64_t delay_us;  /* added to every execution, before the backend runs */
    double error_rate; /* share of executions that fail with a 500, 0..1 */
} inferd_fault_config_t;

typedef enum {
    INFERD_POLICY_LATEST,   /* the newest num_versions versions (default: 1) */
    INFERD_POLICY_ALL,      /* every version folder */
    INFERD_POLICY_SPECIFIC, /* the versions listed */
} inferd_version_policy_kind_t;

/* config.json's version_policy (Triton's names). */
typedef struct inferd_version_policy {
    inferd_version_policy_kind_t kind;
    int64_t latest_num_versions;
    int64_t *specific_versions;
    size_t n_specific_versions;
} inferd_version_policy_t;

/* One sample of config.json's model_warmup (Triton's names): inputs made of zeros or random
 * values, or read from a file in the model's warmup/ folder. */
typedef struct inferd_warmup_input {
    char *name;
    inferd_dtype_t dtype;
    int ndim;
    int64_t dims[INFERD_MAX_DIMS]; /* without the batch dimension when max_batch_size > 0 */
    bool is_random;
    char *data_file; /* absolute path, or NULL */
} inferd_warmup_input_t;

typedef struct inferd_warmup_sample {
    char *name;
    int64_t batch_size;
    int64_t count;
    inferd_warmup_input_t *inputs;
    size_t n_inputs;
} inferd_warmup_sample_t;

typedef struct inferd_sched inferd_sched_t;

/* What config.json says (Triton's field names). Every field is optional. */
typedef struct inferd_model_config {
    char *name;                  /* NULL: the folder's name */
    char *backend;               /* NULL: chosen by the file found in the version folder */
    int64_t max_batch_size;      /* > 0: the first dimension is the batch, at most this big */
    int intra_op_threads;        /* threads one inference may use; 0: the default, 1 */
    inferd_sched_config_t sched; /* instance_group, dynamic_batching */
    inferd_fault_config_t fault; /* fault_injection */
    inferd_version_policy_t version_policy;
    char **label_names; /* version_labels {"stable": 3}: names and versions */
    int64_t *label_versions;
    size_t n_labels;
    int64_t default_version; /* 0: none */
    inferd_warmup_sample_t *warmup;
    size_t n_warmup;
    bool has_signature;     /* "input"/"output" were given */
    inferd_signature_t sig; /* dims as in config.json: without the batch dimension */
} inferd_model_config_t;

/*        enum suffix   label value     */
#define INFERD_OUTCOMES(X)                                                                         \
    X(SUCCESS, "success")         /* answered 200 */                                               \
    X(BAD_REQUEST, "bad_request") /* 4xx: the request was wrong */                                 \
    X(REJECTED, "rejected")       /* 503: queue full, not ready, unloading */                      \
    X(TIMEOUT, "timeout")         /* 504: waited past its timeout */                               \
    X(ERROR, "error")             /* 5xx: inferd's or the backend's failure */

typedef enum {
#define INFERD_OUTCOME_ENUM(suffix, label) INFERD_OUTCOME_##suffix,
    INFERD_OUTCOMES(INFERD_OUTCOME_ENUM)
#undef INFERD_OUTCOME_ENUM
        INFERD_OUTCOME_COUNT
} inferd_outcome_t;

#define INFERD_HISTOGRAM_MAX_BUCKETS 20

/* A Prometheus histogram: cumulative counts are computed when rendered; `counts[i]` holds the
 * observations in (bounds[i-1], bounds[i]], the last slot those above every bound. */
typedef struct inferd_histogram {
    atomic_uint_fast64_t counts[INFERD_HISTOGRAM_MAX_BUCKETS + 1];
    atomic_uint_fast64_t sum; /* nanoseconds for durations, rows for batch sizes */
    atomic_uint_fast64_t count;
} inferd_histogram_t;

/* What one model version has served (relaxed atomics: cheap to bump, exact in total). */
typedef struct inferd_version_stats {
    atomic_uint_fast64_t requests[INFERD_OUTCOME_COUNT];
    atomic_uint_fast64_t success_ns;        /* request time of successful requests */
    atomic_uint_fast64_t fail_ns;           /* request time of failed ones */
    atomic_uint_fast64_t inferences;        /* rows (batch elements) run */
    atomic_uint_fast64_t executions;        /* backend calls (one per batch) */
    atomic_uint_fast64_t last_inference_ms; /* wall clock, ms since the epoch */
    inferd_histogram_t request_duration;
    inferd_histogram_t queue_duration;
    inferd_histogram_t compute_duration; /* per execution */
    inferd_histogram_t batch_size;       /* rows per execution */
    /* executions and compute time by exact batch size 1..max_batch_rows (Triton's batch_stats) */
    atomic_uint_fast64_t *batch_executions;
    atomic_uint_fast64_t *batch_compute_ns;
    int64_t max_batch_rows;
} inferd_version_stats_t;

typedef struct inferd_backend inferd_backend_t;

typedef struct inferd_model_version {
    const char *model_name; /* owned by the version */
    int64_t version;
    char version_str[24];
    char *path; /* the model file */
    bool is_ready;
    char *failure; /* why it is not ready; NULL when ready */
    const inferd_backend_t *backend;
    void *backend_state;
    inferd_signature_t sig; /* as served: batch dimension included */
    int64_t max_batch_size;
    double load_ms;
    inferd_version_stats_t stats;
    inferd_sched_t *sched; /* NULL: requests run inline on the thread that received them */
    inferd_fault_config_t fault;
    uint64_t fingerprint; /* what it was loaded from (file, config); a change means reload */
    atomic_int refs;
} inferd_model_version_t;

struct inferd_jsonw;

/* Writes `specs` as [{"name", "datatype", "shape"}, ...] (the V2 metadata form). */
void inferd_specs_write_json(struct inferd_jsonw *w, const inferd_io_spec_t *specs, size_t n);

/* Frees the names and arrays of `sig` (not `sig` itself) and zeroes it. */
void inferd_signature_free(inferd_signature_t *sig);

/* Deep-copies `src` into `dst`. Returns 0 or INFERD_ENOMEM. */
int inferd_signature_copy(inferd_signature_t *dst, const inferd_signature_t *src);

/* Takes a reference on `v`; the caller must inferd_version_release it. */
void inferd_version_acquire(inferd_model_version_t *v);

/* Drops a reference; the last one unloads the backend state and frees the version (through the
 * reaper when one is set, so that request threads never pay for an unload). */
void inferd_version_release(inferd_model_version_t *v);

/* Unloads and frees `v` now (its references are gone). */
void inferd_version_free(inferd_model_version_t *v);

/* From now on, versions whose last reference drops are handed to `reap` (which must free them
 * with inferd_version_free, soon, on a thread of its choosing); NULL frees them inline. */
void inferd_version_set_reaper(void (*reap)(inferd_model_version_t *v));

/* Creates an unloaded version record (refcount 1) for `model_name` (borrowed), version `number`,
 * backed by `path` (copied). NULL when out of memory. */
inferd_model_version_t *inferd_version_new(const char *model_name, int64_t number,
                                           const char *path);

/* Loads `v` with `backend` under `config`: on success it is ready; on failure it records the
 * reason in v->failure and err. Returns 0 or a negative code. */
int inferd_version_load(inferd_model_version_t *v, const inferd_backend_t *backend,
                        const inferd_model_config_t *config, inferd_err_t *err);

/* Frees the config's strings and signature and zeroes it. */
void inferd_model_config_free(inferd_model_config_t *config);

/* Parses config.json text into `config`. Unknown fields are ignored so that Triton configs load;
 * fields with the wrong type are errors. Returns 0 or INFERD_EINVAL with the reason. */
int inferd_model_config_parse(const char *text, size_t len, inferd_model_config_t *config,
                              inferd_err_t *err);

#endif
