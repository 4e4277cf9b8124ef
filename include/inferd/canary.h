/* Canary rollouts: a new version of a model gets a small share of the requests that name no
 * version, then a larger one, stage by stage, while its error rate and p95 latency are watched.
 * inferd advances the stages itself, promotes the version (it becomes the default) after the
 * last stage, and rolls back at once when a stage fails its success criteria (traffic back to
 * the baseline; both versions stay loaded, so no request is lost). Every transition is audited
 * in the registry and stored there, so that a canary survives a restart.
 *
 * The controller's functions run on the repository's control thread, except
 * inferd_canary_render_metrics (any thread) and inferd_canary_judge (pure). */
#ifndef INFERD_CANARY_H
#define INFERD_CANARY_H

#include <stddef.h>
#include <stdint.h>

#include "inferd/error.h"
#include "inferd/json.h"
#include "inferd/repo.h"
#include "inferd/router.h"

#define INFERD_CANARY_MAX_STAGES 16

/* ==== judging a stage (pure) ==== */

typedef struct inferd_canary_criteria {
    double error_rate_max;     /* 0..1: the canary fails above it */
    double latency_p95_max_ms; /* the canary fails above it; 0: no latency criterion */
    uint64_t min_requests;     /* no verdict before the canary served this many in the stage */
} inferd_canary_criteria_t;

/* What the canary version did in the current stage. */
typedef struct inferd_canary_observed {
    uint64_t requests;
    uint64_t errors;
    double latency_p95_ms;
} inferd_canary_observed_t;

typedef enum {
    INFERD_CANARY_WAIT, /* too few requests, or the stage's time is not over */
    INFERD_CANARY_PASS, /* the stage is over: min_requests met and every criterion held */
    INFERD_CANARY_FAIL, /* min_requests met and a criterion broken: roll back */
} inferd_canary_verdict_t;

/* Judges a stage that has run `elapsed_ms` of its `duration_ms`. A criterion is judged as soon
 * as min_requests is met, whatever the time; a stage passes only once its time is over. A stage
 * whose time is over without min_requests waits for them. With PASS or FAIL, `reason` (may be
 * NULL) gets a sentence naming each criterion with its measured value and its limit. */
inferd_canary_verdict_t inferd_canary_judge(const inferd_canary_criteria_t *criteria,
                                            const inferd_canary_observed_t *seen,
                                            int64_t elapsed_ms, int64_t duration_ms, char *reason,
                                            size_t reason_size);

/* ==== the controller ==== */

typedef struct inferd_canary inferd_canary_t;

/* Creates the controller of `router`'s canaries: brings back the canaries stored in the
 * registry (on the control thread; a running one resumes at its stage with its timer
 * restarted) and starts the ticker that evaluates running canaries every 200 ms on the control
 * thread. Returns 0 or INFERD_ENOMEM. Stop it with inferd_canary_stop before closing `repo`. */
int inferd_canary_start(inferd_repo_t *repo, inferd_router_t *router, inferd_canary_t **OUT_canary);

/* Stops the ticker, waits for a tick it queued, and frees the controller. Running canaries
 * stay as stored (their rule is the router's until it is destroyed) and resume on the next
 * start. NULL is a no-op. */
void inferd_canary_stop(inferd_canary_t *canary);

/* The controller started for `router`, or NULL: how HTTP handlers, which hold the router,
 * reach it. */
inferd_canary_t *inferd_canary_of(const inferd_router_t *router);

/* POST /v1/models/{m}/canary (control thread): starts a canary from the JSON `body`. On
 * success writes the canary as GET shows it to `w` and returns 0; else 400 (bad definition),
 * 404 (unknown model or version), 409 (an A/B test or a canary runs, or the version already
 * serves every request) or 503 (the version is not ready), with the reason in err. */
int inferd_canary_create(inferd_canary_t *canary, const char *model, const char *body,
                         size_t body_len, const char *actor, inferd_jsonw_t *w, inferd_err_t *err);

/* GET /v1/models/{m}/canary (control thread): the model's current or last canary, or
 * INFERD_ENOTFOUND when it never had one. */
int inferd_canary_describe(inferd_canary_t *canary, const char *model, inferd_jsonw_t *w,
                           inferd_err_t *err);

/* DELETE /v1/models/{m}/canary (control thread): aborts the running canary (its rule goes,
 * traffic back to the baseline). INFERD_ENOTFOUND when none runs. */
int inferd_canary_abort(inferd_canary_t *canary, const char *model, const char *actor,
                        const char *reason, inferd_jsonw_t *w, inferd_err_t *err);

/* Writes inferd_canary_stage, inferd_canary_percent and inferd_canary_transitions_total for
 * every model that had a canary (any thread; NULL writes nothing). */
void inferd_canary_render_metrics(inferd_canary_t *canary, inferd_jsonw_t *w);

#endif
