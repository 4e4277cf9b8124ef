/* What the canary controller's files share (canary.c: the controller; canary_doc.c: its JSON).
 * Not for other modules (they use inferd/canary.h). */
#ifndef INFERD_CANARY_PRIVATE_H
#define INFERD_CANARY_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "inferd/canary.h"

typedef enum {
    CANARY_RUNNING,
    CANARY_PROMOTED,
    CANARY_ROLLED_BACK,
    CANARY_ABORTED,
    CANARY_STATUS_COUNT
} canary_status_t;

/* The transitions counted by inferd_canary_transitions_total{to=...}. */
typedef enum {
    CANARY_TO_ADVANCE,
    CANARY_TO_ROLLBACK,
    CANARY_TO_PROMOTE,
    CANARY_TO_ABORT,
    CANARY_TO_COUNT
} canary_transition_t;

typedef struct canary_stage {
    double percent;          /* (0, 100]: the canary's share of unversioned requests */
    double duration_seconds; /* > 0 */
} canary_stage_t;

/* One line of a canary's history. Owned strings. */
typedef struct canary_event {
    int64_t at_ms;
    char *from, *to; /* "none", "stage 2", "promoted", "rolled_back", "aborted" */
    char *reason;
} canary_event_t;

/* One canary of a model. Changed on the control thread only; `status` and `stage` are also
 * read by /metrics, under the controller's lock. */
typedef struct canary_run {
    int64_t version;          /* the canary */
    int64_t baseline_version; /* what served unversioned requests when it started */
    canary_status_t status;
    canary_stage_t stages[INFERD_CANARY_MAX_STAGES];
    size_t n_stages;
    size_t stage; /* 0-based: the running stage, or the last one that ran */
    inferd_canary_criteria_t criteria;
    int64_t started_at_ms, stage_started_at_ms, ended_at_ms; /* wall clock, ms since the epoch */
    int64_t stage_started_mono_ms;                           /* the stage timer (monotonic) */
    char *actor;                                             /* who started it */
    char *reason;                                            /* why, as they said; may be NULL */
    char *end_reason;                                        /* NULL while running */
    canary_event_t *history;
    size_t n_history;
    inferd_rule_t *rule; /* a reference: the published stage rule while running, the last
                            stage's (final statistics) after; NULL when restored finished */
    char *rule_json;     /* restored finished: the last stage's rule as stored, or NULL */
} canary_run_t;

/* A model that has had a canary. `transitions` count since the process started. */
typedef struct canary_model {
    char *model;
    canary_run_t *run; /* the current or last canary */
    uint64_t transitions[CANARY_TO_COUNT];
} canary_model_t;

struct inferd_canary {
    inferd_repo_t *repo;
    inferd_router_t *router;
    pthread_mutex_t lock; /* guards `models` (and runs' status and stage) against /metrics */
    canary_model_t *models;
    size_t n_models;
    atomic_int n_running;
    atomic_bool is_tick_queued;
    pthread_t ticker;
    bool has_ticker;
    pthread_mutex_t ticker_lock;
    pthread_cond_t ticker_wake;
    bool is_stopping;
};

extern const char *const canary_status_names[CANARY_STATUS_COUNT];

/* canary_doc.c */

/* Reads a POST body's version, stages, success_criteria and reason into `run` (strings
 * copied). Returns 0 or INFERD_EINVAL with what is wrong. */
int canary_read_definition(const char *body, size_t body_len, canary_run_t *run, inferd_err_t *err);

/* Writes `run` of `model` as GET shows it (and as the registry stores it). */
void canary_write(inferd_jsonw_t *w, const char *model, const canary_run_t *run);

/* The canary stored as `json`, or NULL when it cannot be read. */
canary_run_t *canary_from_stored(const char *json);

/* Appends an event to run's history. Returns 0 or INFERD_ENOMEM. */
int canary_add_event(canary_run_t *run, int64_t at_ms, const char *from, const char *to,
                     const char *reason);

/* "stage 2" (1-based) into `out`. */
void canary_stage_name(size_t stage, char *out, size_t size);

void canary_run_free(canary_run_t *run);

#endif
