/* A/B tests: a named experiment that splits a model's traffic between versions for a while,
 * measures each (requests, errors, latency, rewards fed back), compares every variant with the
 * control (Welch's t-test on latency and reward, a two-proportion z-test on error rates) and
 * names a winner only when the difference is significant. A test ends when its duration is
 * over, when a variant's error rate passes rollback_on_error_rate (traffic returns to the
 * control), or when stopped or promoted through the API. Every function here runs on the
 * repository's control thread. */
#ifndef INFERD_ABTEST_H
#define INFERD_ABTEST_H

#include "inferd/json.h"
#include "inferd/repo.h"
#include "inferd/router.h"

typedef struct inferd_ab inferd_ab_t;

/* Creates the A/B test keeper (and its ticker, which evaluates running tests on the control
 * thread); running tests stored in the registry start again (with fresh statistics). */
int inferd_ab_start(inferd_repo_t *repo, inferd_router_t *router, inferd_ab_t **OUT_ab);

/* Stops the ticker and frees everything. */
void inferd_ab_stop(inferd_ab_t *ab);

/* POST /v1/models/{m}/ab-tests: `body` is the request JSON. On success writes the test to `w`
 * and returns 0; otherwise an error (400 bad definition, 404 unknown version, 409 a test or
 * canary runs, or the name is taken). */
int inferd_ab_create(inferd_ab_t *ab, const char *model, const char *body, size_t body_len,
                     const char *actor, inferd_jsonw_t *w, inferd_err_t *err);

/* GET .../ab-tests (name NULL: the list) or .../ab-tests/{name}. */
int inferd_ab_describe(inferd_ab_t *ab, const char *model, const char *name, inferd_jsonw_t *w,
                       inferd_err_t *err);

/* POST .../ab-tests/{name}/stop: ends a running test, traffic back to the control. */
int inferd_ab_end(inferd_ab_t *ab, const char *model, const char *name, const char *actor,
                  inferd_jsonw_t *w, inferd_err_t *err);

/* POST .../ab-tests/{name}/promote: makes `version` (0: the significant winner; 409 when there
 * is none) the model's default version and ends the test. */
int inferd_ab_promote(inferd_ab_t *ab, const char *model, const char *name, int64_t version,
                      const char *actor, inferd_jsonw_t *w, inferd_err_t *err);

/* Writes the inferd_ab_* Prometheus series (running tests as gauges). */
void inferd_ab_render_metrics(inferd_ab_t *ab, inferd_jsonw_t *w);

#endif
