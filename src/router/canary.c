/* The canary controller (see inferd/canary.h): starting a canary, judging its stages, and
 * advancing, promoting, rolling back or aborting it, each transition published to the router,
 * stored in the registry with its audit entry, and counted for /metrics.
 *
 * Design notes
 *
 * A canary goes through these states:
 *
 *            create                 tick: stage i passed
 *   none -------------> RUNNING(0) ----------------------> RUNNING(i+1)
 *                          |                                  |
 *                          |  tick: the last stage passed     |
 *                          +----------------------------------+--> PROMOTED
 *                          |  tick: a criterion broken, or    |
 *                          |  a version stopped serving       |
 *                          +----------------------------------+--> ROLLED_BACK
 *                          |  inferd_canary_abort, or its     |
 *                          |  rule was replaced               |
 *                          +----------------------------------+--> ABORTED
 *
 *   - inferd_canary_create publishes a CANARY rule [baseline 100-p, canary p] for stage 0.
 *   - tick() (the control thread, every 200 ms, queued by the ticker thread) judges the running
 *     stage with inferd_canary_judge on the canary variant's statistics in the stage's rule:
 *     advance() publishes a new rule (fresh statistics per stage) for the next stage;
 *     promote() makes the canary the default version, then removes the rule; end() removes the
 *     rule for a rollback or an abort, so that every unversioned request goes to the baseline
 *     (which stayed loaded all along) from the next request on.
 *
 * Invariants: every change runs on the control thread, one at a time, so a transition is never
 * half-seen by another; at most one RUNNING canary per model, and it owns the model's rule
 * (run->rule is the published rule, checked on every tick); each transition is stored (the
 * "canary" state document) and audited in one registry transaction before the next one can
 * start; a restart resumes a RUNNING canary at its stage with the stage timer restarted and
 * fresh statistics. `lock` guards only what /metrics reads from a loop thread. */
#include "canary_private.h"
#include "inferd/clock.h"
#include "inferd/log.h"
#include "inferd/thread.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS          200
#define CONTROLLER_ACTOR "canary" /* the actor of the transitions inferd makes by itself */

static const char *const transition_names[CANARY_TO_COUNT] = {"advance", "rollback", "promote",
                                                              "abort"};
static const char *const transition_actions[CANARY_TO_COUNT] = {"canary_advance", "canary_rollback",
                                                                "canary_promote", "canary_abort"};

static int64_t mono_ms(void)
{
    return (int64_t)(inferd_monotonic_ns() / 1000000);
}

/* ==== judging a stage ==== */

inferd_canary_verdict_t inferd_canary_judge(const inferd_canary_criteria_t *criteria,
                                            const inferd_canary_observed_t *seen,
                                            int64_t elapsed_ms, int64_t duration_ms, char *reason,
                                            size_t reason_size)
{
    char scratch[8];
    if (reason == NULL || reason_size == 0) {
        reason = scratch;
        reason_size = sizeof(scratch);
    }
    reason[0] = '\0';
    if (seen->requests == 0 || seen->requests < criteria->min_requests)
        return INFERD_CANARY_WAIT;
    double error_rate = (double)seen->errors / (double)seen->requests;
    if (error_rate > criteria->error_rate_max) {
        snprintf(reason, reason_size,
                 "error rate %.4g (%llu of %llu requests failed) > error_rate_max %.4g", error_rate,
                 (unsigned long long)seen->errors, (unsigned long long)seen->requests,
                 criteria->error_rate_max);
        return INFERD_CANARY_FAIL;
    }
    if (criteria->latency_p95_max_ms > 0 && seen->latency_p95_ms > criteria->latency_p95_max_ms) {
        snprintf(
            reason, reason_size, "p95 latency %.4g ms (%llu requests) > latency_p95_max_ms %.4g",
            seen->latency_p95_ms, (unsigned long long)seen->requests, criteria->latency_p95_max_ms);
        return INFERD_CANARY_FAIL;
    }
    if (elapsed_ms < duration_ms)
        return INFERD_CANARY_WAIT;
    int len =
        snprintf(reason, reason_size,
                 "%llu requests >= min_requests %llu, error rate %.4g <= error_rate_max %.4g",
                 (unsigned long long)seen->requests, (unsigned long long)criteria->min_requests,
                 error_rate, criteria->error_rate_max);
    if (criteria->latency_p95_max_ms > 0 && len > 0 && (size_t)len < reason_size)
        snprintf(reason + len, reason_size - (size_t)len,
                 ", p95 latency %.4g ms <= latency_p95_max_ms %.4g", seen->latency_p95_ms,
                 criteria->latency_p95_max_ms);
    return INFERD_CANARY_PASS;
}

/* ==== finding the controller of a router ==== */

#define MAX_CONTROLLERS 8

static pthread_mutex_t controllers_lock = PTHREAD_MUTEX_INITIALIZER;
static inferd_canary_t *controllers[MAX_CONTROLLERS];

inferd_canary_t *inferd_canary_of(const inferd_router_t *router)
{
    inferd_canary_t *found = NULL;
    pthread_mutex_lock(&controllers_lock);
    for (size_t i = 0; i < MAX_CONTROLLERS && found == NULL; i++)
        if (controllers[i] != NULL && controllers[i]->router == router)
            found = controllers[i];
    pthread_mutex_unlock(&controllers_lock);
    return found;
}

static void set_controller(inferd_canary_t *canary, inferd_canary_t *replacement)
{
    pthread_mutex_lock(&controllers_lock);
    for (size_t i = 0; i < MAX_CONTROLLERS; i++)
        if (controllers[i] == canary) {
            controllers[i] = replacement;
            break;
        }
    pthread_mutex_unlock(&controllers_lock);
}

/* ==== models ==== */

static canary_model_t *find_model(inferd_canary_t *canary, const char *model)
{
    for (size_t i = 0; i < canary->n_models; i++)
        if (strcmp(canary->models[i].model, model) == 0)
            return &canary->models[i];
    return NULL;
}

/* Makes `run` the current canary of `model` (taking it over), replacing a finished one. */
static int install_run(inferd_canary_t *canary, const char *model, canary_run_t *run)
{
    pthread_mutex_lock(&canary->lock);
    canary_model_t *slot = find_model(canary, model);
    if (slot == NULL) {
        char *name = strdup(model);
        canary_model_t *grown =
            name ? realloc(canary->models, (canary->n_models + 1) * sizeof(*grown)) : NULL;
        if (grown == NULL) {
            pthread_mutex_unlock(&canary->lock);
            free(name);
            return INFERD_ENOMEM;
        }
        canary->models = grown;
        slot = &grown[canary->n_models++];
        *slot = (canary_model_t){.model = name};
    }
    canary_run_t *old = slot->run;
    slot->run = run;
    pthread_mutex_unlock(&canary->lock);
    canary_run_free(old);
    if (run->status == CANARY_RUNNING)
        atomic_fetch_add(&canary->n_running, 1);
    return 0;
}

/* ==== transitions ==== */

/* Stores `run` as the model's "canary" state document, audited as `action`. */
static void store(inferd_canary_t *canary, const char *model, const canary_run_t *run,
                  const char *actor, const char *action, const char *detail_json,
                  const char *reason)
{
    inferd_registry_t *registry = inferd_repo_registry(canary->repo);
    if (registry == NULL)
        return;
    inferd_jsonw_t w = {0};
    canary_write(&w, model, run);
    const char *text = inferd_jsonw_cstr_of(&w);
    inferd_audit_t audit = {actor, action, model, run->version, detail_json, reason};
    inferd_err_t err;
    if (text == NULL || inferd_registry_put_state(registry, model, "canary", text, &audit, &err))
        inferd_log_error("registry: storing the canary of '%s': %s", model,
                         text ? err.msg : "out of memory");
    inferd_jsonw_free(&w);
}

/* A new CANARY rule sending `percent` of the unversioned requests to the canary. */
static inferd_rule_t *stage_rule(const char *model, const canary_run_t *run, double percent)
{
    char name[24];
    snprintf(name, sizeof(name), "%lld", (long long)run->version);
    inferd_rule_t *rule = inferd_rule_new(model, INFERD_ROUTE_CANARY, name, INFERD_STRATEGY_RANDOM);
    if (rule == NULL)
        return NULL;
    rule->variants[0].version = run->baseline_version;
    rule->variants[0].weight = 100 - percent;
    rule->variants[1].version = run->version;
    rule->variants[1].weight = percent;
    rule->n_variants = 2;
    return rule;
}

/* Publishes a rule for run's current stage and restarts the stage timer. */
static int publish_stage(inferd_canary_t *canary, const char *model, canary_run_t *run)
{
    inferd_rule_t *rule = stage_rule(model, run, run->stages[run->stage].percent);
    if (rule == NULL)
        return INFERD_ENOMEM;
    atomic_fetch_add(&rule->refs, 1); /* one for the router, one for run->rule */
    inferd_router_publish(canary->router, model, rule);
    inferd_rule_release(run->rule);
    run->rule = rule;
    run->stage_started_at_ms = inferd_wall_ms();
    run->stage_started_mono_ms = mono_ms();
    return 0;
}

/* The canary variant's figures in the stage's rule. */
static inferd_canary_observed_t observe(const inferd_rule_t *rule)
{
    const inferd_variant_stats_t *stats = &rule->variants[1].stats;
    return (inferd_canary_observed_t){
        atomic_load_explicit(&stats->requests, memory_order_relaxed),
        atomic_load_explicit(&stats->errors, memory_order_relaxed),
        inferd_variant_latency_ms(stats, 0.95),
    };
}

/* {"from", "to", "stage", "percent", "canary": {requests, errors, error_rate, p95_ms}} */
static void write_detail(inferd_jsonw_t *w, const canary_run_t *run, const char *from,
                         const char *to)
{
    inferd_jsonw_lit(w, "{\"from\":");
    inferd_jsonw_cstr(w, from);
    inferd_jsonw_lit(w, ",\"to\":");
    inferd_jsonw_cstr(w, to);
    inferd_jsonw_lit(w, ",\"baseline_version\":");
    inferd_jsonw_int(w, run->baseline_version);
    inferd_jsonw_lit(w, ",\"stage\":");
    inferd_jsonw_uint(w, run->stage);
    inferd_jsonw_lit(w, ",\"percent\":");
    inferd_jsonw_f64(w, run->stages[run->stage].percent);
    if (run->rule != NULL) {
        inferd_canary_observed_t seen = observe(run->rule);
        inferd_jsonw_lit(w, ",\"canary\":{\"requests\":");
        inferd_jsonw_uint(w, seen.requests);
        inferd_jsonw_lit(w, ",\"errors\":");
        inferd_jsonw_uint(w, seen.errors);
        inferd_jsonw_lit(w, ",\"p95_ms\":");
        inferd_jsonw_f64(w, seen.latency_p95_ms);
        inferd_jsonw_lit(w, "}");
    }
    inferd_jsonw_lit(w, "}");
}

/* Records a transition from `from` to `to`: history, counter (`counted`, or -1 for none),
 * registry document and audit entry (`action`, with `detail_json`), and the log. */
static void record(inferd_canary_t *canary, canary_model_t *slot, int counted, const char *action,
                   const char *from, const char *to, const char *detail_json, const char *actor,
                   const char *reason)
{
    canary_run_t *run = slot->run;
    if (canary_add_event(run, inferd_wall_ms(), from, to, reason) != 0)
        inferd_log_error("canary of '%s': out of memory recording its history", slot->model);
    if (counted >= 0) {
        pthread_mutex_lock(&canary->lock);
        slot->transitions[counted]++;
        pthread_mutex_unlock(&canary->lock);
    }
    store(canary, slot->model, run, actor, action, detail_json, reason);
    inferd_log_info("canary of '%s' version %lld: %s -> %s%s%s", slot->model,
                    (long long)run->version, from, to, reason ? ": " : "", reason ? reason : "");
}

/* Ends a running canary with `status`: its rule leaves the router (when it is still the
 * model's), so that unversioned requests go to the model's default again. */
static void end(inferd_canary_t *canary, canary_model_t *slot, canary_status_t status,
                canary_transition_t kind, const char *actor, const char *reason)
{
    canary_run_t *run = slot->run;
    inferd_rule_t *current = inferd_router_rule(canary->router, slot->model);
    if (current != NULL && current == run->rule)
        inferd_router_publish(canary->router, slot->model, NULL);
    inferd_rule_release(current);
    char from[32];
    canary_stage_name(run->stage, from, sizeof(from));
    inferd_jsonw_t detail = {0};
    write_detail(&detail, run, from, canary_status_names[status]);
    pthread_mutex_lock(&canary->lock);
    run->status = status;
    pthread_mutex_unlock(&canary->lock);
    atomic_fetch_sub(&canary->n_running, 1);
    run->ended_at_ms = inferd_wall_ms();
    free(run->end_reason);
    run->end_reason = reason ? strdup(reason) : NULL;
    record(canary, slot, (int)kind, transition_actions[kind], from, canary_status_names[status],
           inferd_jsonw_cstr_of(&detail), actor, reason);
    inferd_jsonw_free(&detail);
}

static void rollback(inferd_canary_t *canary, canary_model_t *slot, const char *why)
{
    canary_run_t *run = slot->run;
    char reason[512];
    snprintf(reason, sizeof(reason),
             "stage %zu (%g%%) failed: %s; all traffic back to version %lld", run->stage + 1,
             run->stages[run->stage].percent, why, (long long)run->baseline_version);
    end(canary, slot, CANARY_ROLLED_BACK, CANARY_TO_ROLLBACK, CONTROLLER_ACTOR, reason);
}

static void advance(inferd_canary_t *canary, canary_model_t *slot, const char *why)
{
    canary_run_t *run = slot->run;
    char from[32], to[32], reason[512];
    canary_stage_name(run->stage, from, sizeof(from));
    canary_stage_name(run->stage + 1, to, sizeof(to));
    snprintf(reason, sizeof(reason), "stage %zu (%g%%) passed after %.1f s: %s; now %g%%",
             run->stage + 1, run->stages[run->stage].percent,
             (double)(mono_ms() - run->stage_started_mono_ms) / 1000.0, why,
             run->stages[run->stage + 1].percent);
    inferd_jsonw_t detail = {0};
    write_detail(&detail, run, from, to); /* the passing stage's figures, before its rule goes */
    size_t passed = run->stage;
    pthread_mutex_lock(&canary->lock);
    run->stage++;
    pthread_mutex_unlock(&canary->lock);
    if (publish_stage(canary, slot->model, run) != 0) {
        pthread_mutex_lock(&canary->lock);
        run->stage = passed;
        pthread_mutex_unlock(&canary->lock);
        inferd_jsonw_free(&detail);
        inferd_log_error("canary of '%s': out of memory advancing; will try again", slot->model);
        return;
    }
    record(canary, slot, CANARY_TO_ADVANCE, transition_actions[CANARY_TO_ADVANCE], from, to,
           inferd_jsonw_cstr_of(&detail), CONTROLLER_ACTOR, reason);
    inferd_jsonw_free(&detail);
}

static void promote(inferd_canary_t *canary, canary_model_t *slot, const char *why)
{
    canary_run_t *run = slot->run;
    char reason[512];
    snprintf(reason, sizeof(reason),
             "last stage (%g%%) passed after %.1f s: %s; version %lld is the default version",
             run->stages[run->stage].percent,
             (double)(mono_ms() - run->stage_started_mono_ms) / 1000.0, why,
             (long long)run->version);
    inferd_change_t change = {CONTROLLER_ACTOR, reason};
    inferd_err_t err;
    if (inferd_repo_set_default(canary->repo, slot->model, run->version, &change, &err) != 0) {
        char why_not[400];
        snprintf(why_not, sizeof(why_not), "it could not be made the default version (%s)",
                 err.msg);
        rollback(canary, slot, why_not);
        return;
    }
    /* The default now answers what the rule sent to the baseline: remove the rule after. */
    end(canary, slot, CANARY_PROMOTED, CANARY_TO_PROMOTE, CONTROLLER_ACTOR, reason);
}

/* Why the versions of `run` cannot go on (one of them stopped serving), or NULL. */
static const char *versions_broken(inferd_canary_t *canary, const char *model,
                                   const canary_run_t *run, char *why, size_t size)
{
    inferd_catalog_t *catalog = inferd_repo_snapshot(canary->repo);
    const inferd_model_t *m = inferd_catalog_model(catalog, model);
    const char *broken = NULL;
    int64_t versions[2] = {run->version, run->baseline_version};
    for (size_t k = 0; k < 2 && broken == NULL; k++) {
        bool is_ready = false;
        for (size_t i = 0; m != NULL && i < m->n_versions; i++)
            is_ready |= m->versions[i]->version == versions[k] && m->versions[i]->is_ready;
        if (!is_ready) {
            snprintf(why, size, "%s version %lld no longer serves (or is not ready)",
                     k == 0 ? "the canary" : "the baseline", (long long)versions[k]);
            broken = why;
        }
    }
    inferd_catalog_release(catalog);
    return broken;
}

/* Control thread: judges one running canary. */
static void evaluate(inferd_canary_t *canary, canary_model_t *slot)
{
    canary_run_t *run = slot->run;
    char why[400];
    inferd_rule_t *current = inferd_router_rule(canary->router, slot->model);
    bool is_ours = current != NULL && current == run->rule;
    inferd_rule_release(current);
    if (!is_ours) {
        end(canary, slot, CANARY_ABORTED, CANARY_TO_ABORT, CONTROLLER_ACTOR,
            "the canary's traffic rule was replaced or removed");
        return;
    }
    if (versions_broken(canary, slot->model, run, why, sizeof(why)) != NULL) {
        rollback(canary, slot, why);
        return;
    }
    inferd_canary_observed_t seen = observe(run->rule);
    int64_t duration_ms = (int64_t)(run->stages[run->stage].duration_seconds * 1000.0);
    switch (inferd_canary_judge(&run->criteria, &seen, mono_ms() - run->stage_started_mono_ms,
                                duration_ms, why, sizeof(why))) {
    case INFERD_CANARY_FAIL:
        rollback(canary, slot, why);
        break;
    case INFERD_CANARY_PASS:
        if (run->stage + 1 < run->n_stages)
            advance(canary, slot, why);
        else
            promote(canary, slot, why);
        break;
    case INFERD_CANARY_WAIT:
        break;
    }
}

/* ==== the ticker ==== */

static void tick(void *arg)
{
    inferd_canary_t *canary = arg;
    atomic_store(&canary->is_tick_queued, false);
    for (size_t i = 0; i < canary->n_models; i++)
        if (canary->models[i].run->status == CANARY_RUNNING)
            evaluate(canary, &canary->models[i]);
}

static void *ticker_main(void *arg)
{
    inferd_canary_t *canary = arg;
    inferd_thread_name("canary", NULL);
    pthread_mutex_lock(&canary->ticker_lock);
    while (!canary->is_stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&canary->ticker_wake, &canary->ticker_lock, &until);
        if (canary->is_stopping)
            break;
        /* One tick queued at a time: a control thread busy loading a model is not flooded. */
        if (atomic_load(&canary->n_running) > 0 &&
            !atomic_exchange(&canary->is_tick_queued, true) &&
            inferd_repo_run(canary->repo, tick, canary) != 0)
            atomic_store(&canary->is_tick_queued, false);
    }
    pthread_mutex_unlock(&canary->ticker_lock);
    return NULL;
}

/* ==== the API ==== */

static int check_can_start(inferd_canary_t *canary, const char *model, canary_run_t *run,
                           inferd_err_t *err)
{
    canary_model_t *slot = find_model(canary, model);
    if (slot != NULL && slot->run->status == CANARY_RUNNING)
        return inferd_fail(err, INFERD_ECONFLICT,
                           "model '%s' has a canary of version %lld running; abort it (DELETE "
                           "/v1/models/%s/canary) before starting another",
                           model, (long long)slot->run->version, model);
    inferd_rule_t *current = inferd_router_rule(canary->router, model);
    int rc = 0;
    if (current != NULL && current->kind != INFERD_ROUTE_SPLIT)
        rc = inferd_fail(err, INFERD_ECONFLICT,
                         "model '%s' has %s running ('%s'); stop it before starting a canary",
                         model, current->kind == INFERD_ROUTE_AB ? "an A/B test" : "a canary",
                         current->name ? current->name : "");
    inferd_rule_release(current);
    if (rc != 0)
        return rc;
    inferd_catalog_t *catalog = inferd_repo_snapshot(canary->repo);
    const inferd_model_t *m = inferd_catalog_model(catalog, model);
    const inferd_model_version_t *serving = m ? inferd_model_serving_version(m) : NULL;
    const inferd_model_version_t *candidate = NULL;
    for (size_t i = 0; m != NULL && i < m->n_versions; i++)
        if (m->versions[i]->version == run->version)
            candidate = m->versions[i];
    if (m == NULL)
        rc = inferd_fail(err, INFERD_ENOTFOUND, "unknown model '%s'", model);
    else if (candidate == NULL)
        rc = inferd_fail(err, INFERD_ENOTFOUND,
                         "model '%s' version %lld is not served; deploy it (POST "
                         "/v1/models/%s/deployments {\"version\": %lld}) before its canary",
                         model, (long long)run->version, model, (long long)run->version);
    else if (!candidate->is_ready)
        rc = inferd_fail(err, INFERD_EUNAVAIL,
                         "model '%s' version %lld is not ready; wait for it to load", model,
                         (long long)run->version);
    else if (serving == NULL)
        rc = inferd_fail(err, INFERD_EUNAVAIL,
                         "model '%s' has no ready serving version to compare the canary with",
                         model);
    else if (serving->version == run->version)
        rc = inferd_fail(err, INFERD_ECONFLICT,
                         "model '%s' version %lld already answers every unversioned request; a "
                         "canary needs another version as its baseline",
                         model, (long long)run->version);
    else
        run->baseline_version = serving->version;
    inferd_catalog_release(catalog);
    return rc;
}

int inferd_canary_create(inferd_canary_t *canary, const char *model, const char *body,
                         size_t body_len, const char *actor, inferd_jsonw_t *w, inferd_err_t *err)
{
    canary_run_t *run = calloc(1, sizeof(*run));
    if (run == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    int rc = canary_read_definition(body, body_len, run, err);
    if (rc == 0)
        rc = check_can_start(canary, model, run, err);
    if (rc == 0 && (run->actor = strdup(actor)) == NULL)
        rc = inferd_fail(err, INFERD_ENOMEM, "out of memory");
    run->status = CANARY_RUNNING;
    run->started_at_ms = inferd_wall_ms();
    if (rc == 0 && (rc = publish_stage(canary, model, run)) != 0)
        inferd_fail(err, rc, "out of memory");
    if (rc == 0 && (rc = install_run(canary, model, run)) != 0) {
        inferd_router_publish(canary->router, model, NULL);
        inferd_fail(err, rc, "out of memory");
    }
    if (rc != 0) {
        canary_run_free(run);
        return rc;
    }
    /* A plain split the canary replaced does not come back after it (nor after a restart). */
    inferd_registry_t *registry = inferd_repo_registry(canary->repo);
    char *split = NULL;
    inferd_err_t ignored;
    if (registry != NULL &&
        inferd_registry_get_state(registry, model, "traffic", &split, &ignored) == 0) {
        char why[128];
        snprintf(why, sizeof(why), "replaced by the canary of version %lld",
                 (long long)run->version);
        inferd_audit_t audit = {actor, "delete_traffic", model, 0, split, why};
        inferd_registry_put_state(registry, model, "traffic", NULL, &audit, &ignored);
        free(split);
    }
    inferd_jsonw_t detail = {0};
    write_detail(&detail, run, "none", "stage 1");
    record(canary, find_model(canary, model), -1, "canary_start", "none", "stage 1",
           inferd_jsonw_cstr_of(&detail), actor, run->reason);
    inferd_jsonw_free(&detail);
    canary_write(w, model, run);
    return 0;
}

int inferd_canary_describe(inferd_canary_t *canary, const char *model, inferd_jsonw_t *w,
                           inferd_err_t *err)
{
    canary_model_t *slot = find_model(canary, model);
    if (slot == NULL)
        return inferd_fail(err, INFERD_ENOTFOUND,
                           "model '%s' has never had a canary; start one with POST "
                           "/v1/models/%s/canary",
                           model, model);
    canary_write(w, model, slot->run);
    return 0;
}

int inferd_canary_abort(inferd_canary_t *canary, const char *model, const char *actor,
                        const char *reason, inferd_jsonw_t *w, inferd_err_t *err)
{
    canary_model_t *slot = find_model(canary, model);
    if (slot == NULL || slot->run->status != CANARY_RUNNING)
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no canary running%s%s", model,
                           slot ? "; the last one was " : "",
                           slot ? canary_status_names[slot->run->status] : "");
    char why[400];
    snprintf(why, sizeof(why), "aborted by %s%s%s; all traffic back to version %lld", actor,
             reason ? ": " : "", reason ? reason : "", (long long)slot->run->baseline_version);
    end(canary, slot, CANARY_ABORTED, CANARY_TO_ABORT, actor, why);
    canary_write(w, model, slot->run);
    return 0;
}

/* ==== metrics ==== */

void inferd_canary_render_metrics(inferd_canary_t *canary, inferd_jsonw_t *w)
{
    if (canary == NULL)
        return;
    pthread_mutex_lock(&canary->lock);
    if (canary->n_models == 0) {
        pthread_mutex_unlock(&canary->lock);
        return;
    }
    static const struct {
        const char *name, *type, *help;
    } series[] = {
        {"inferd_canary_stage", "gauge",
         "The running canary's stage of the model, from 1; 0 when no canary runs."},
        {"inferd_canary_percent", "gauge",
         "The share of the model's unversioned requests its running canary gets; 0 when none "
         "runs."},
        {"inferd_canary_transitions_total", "counter",
         "Canary transitions of the model since the server started, by the state they led to."},
    };
    char line[512];
    for (size_t s = 0; s < sizeof(series) / sizeof(series[0]); s++) {
        int len = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", series[s].name,
                           series[s].help, series[s].name, series[s].type);
        if (len > 0 && (size_t)len < sizeof(line))
            inferd_jsonw_raw(w, line, (size_t)len);
        for (size_t i = 0; i < canary->n_models; i++) {
            const canary_model_t *slot = &canary->models[i];
            bool is_running = slot->run->status == CANARY_RUNNING;
            if (s < 2) {
                double value = !is_running ? 0
                               : s == 0    ? (double)(slot->run->stage + 1)
                                           : slot->run->stages[slot->run->stage].percent;
                len = snprintf(line, sizeof(line), "%s{model=\"%s\"} %.17g\n", series[s].name,
                               slot->model, value);
                if (len > 0 && (size_t)len < sizeof(line))
                    inferd_jsonw_raw(w, line, (size_t)len);
                continue;
            }
            for (size_t t = 0; t < CANARY_TO_COUNT; t++) {
                len = snprintf(line, sizeof(line), "%s{model=\"%s\",to=\"%s\"} %llu\n",
                               series[s].name, slot->model, transition_names[t],
                               (unsigned long long)slot->transitions[t]);
                if (len > 0 && (size_t)len < sizeof(line))
                    inferd_jsonw_raw(w, line, (size_t)len);
            }
        }
    }
    pthread_mutex_unlock(&canary->lock);
}

/* ==== start-up and shutdown ==== */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t done;
    bool is_done;
    void (*fn)(void *arg);
    void *arg;
} control_call_t;

static void run_control_call(void *arg)
{
    control_call_t *call = arg;
    if (call->fn != NULL)
        call->fn(call->arg);
    pthread_mutex_lock(&call->lock);
    call->is_done = true;
    pthread_cond_signal(&call->done);
    pthread_mutex_unlock(&call->lock);
}

/* Runs fn(arg) (NULL: nothing) on the control thread after what is queued, and waits for it.
 * Not from the control thread. */
static void on_control_thread(inferd_repo_t *repo, void (*fn)(void *arg), void *arg)
{
    control_call_t call = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, fn, arg};
    int rc = inferd_repo_run(repo, run_control_call, &call);
    pthread_mutex_lock(&call.lock);
    while (rc == 0 && !call.is_done)
        pthread_cond_wait(&call.done, &call.lock);
    pthread_mutex_unlock(&call.lock);
    pthread_mutex_destroy(&call.lock);
    pthread_cond_destroy(&call.done);
}

/* Control thread, at start-up: the canaries stored for the models that serve. */
static void restore(void *arg)
{
    inferd_canary_t *canary = arg;
    inferd_registry_t *registry = inferd_repo_registry(canary->repo);
    if (registry == NULL)
        return;
    inferd_catalog_t *catalog = inferd_repo_snapshot(canary->repo);
    for (size_t i = 0; i < catalog->n_models; i++) {
        const char *model = catalog->models[i]->name;
        char *json = NULL;
        inferd_err_t err;
        if (inferd_registry_get_state(registry, model, "canary", &json, &err) != 0)
            continue;
        canary_run_t *run = canary_from_stored(json);
        free(json);
        if (run == NULL) {
            inferd_log_warn("model '%s': the stored canary cannot be read; left out", model);
            continue;
        }
        bool is_running = run->status == CANARY_RUNNING;
        if (is_running && publish_stage(canary, model, run) != 0) {
            canary_run_free(run);
            continue;
        }
        if (install_run(canary, model, run) != 0) {
            if (is_running)
                inferd_router_publish(canary->router, model, NULL);
            canary_run_free(run);
            continue;
        }
        if (!is_running)
            continue;
        canary_model_t *slot = find_model(canary, model);
        char why[400];
        if (versions_broken(canary, model, run, why, sizeof(why)) != NULL) {
            rollback(canary, slot, why);
            continue;
        }
        char stage[32];
        canary_stage_name(run->stage, stage, sizeof(stage));
        canary_add_event(run, inferd_wall_ms(), stage, stage,
                         "resumed after a restart: stage timer restarted, statistics afresh");
        store(canary, model, run, "startup", "canary_resume", NULL, "resumed after a restart");
        inferd_log_info("model '%s': canary of version %lld resumed at %s (%g%%)", model,
                        (long long)run->version, stage, run->stages[run->stage].percent);
    }
    inferd_catalog_release(catalog);
}

int inferd_canary_start(inferd_repo_t *repo, inferd_router_t *router, inferd_canary_t **OUT_canary)
{
    inferd_canary_t *canary = calloc(1, sizeof(*canary));
    if (canary == NULL)
        return INFERD_ENOMEM;
    canary->repo = repo;
    canary->router = router;
    pthread_mutex_init(&canary->lock, NULL);
    pthread_mutex_init(&canary->ticker_lock, NULL);
    pthread_cond_init(&canary->ticker_wake, NULL);
    atomic_init(&canary->n_running, 0);
    atomic_init(&canary->is_tick_queued, false);
    on_control_thread(repo, restore, canary);
    canary->has_ticker = pthread_create(&canary->ticker, NULL, ticker_main, canary) == 0;
    if (!canary->has_ticker)
        inferd_log_error("cannot start the canary ticker: canaries will not advance by themselves");
    set_controller(NULL, canary);
    *OUT_canary = canary;
    return 0;
}

void inferd_canary_stop(inferd_canary_t *canary)
{
    if (canary == NULL)
        return;
    set_controller(canary, NULL);
    pthread_mutex_lock(&canary->ticker_lock);
    canary->is_stopping = true;
    pthread_cond_signal(&canary->ticker_wake);
    pthread_mutex_unlock(&canary->ticker_lock);
    if (canary->has_ticker)
        pthread_join(canary->ticker, NULL);
    on_control_thread(canary->repo, NULL, NULL); /* a tick it queued has run */
    for (size_t i = 0; i < canary->n_models; i++) {
        free(canary->models[i].model);
        canary_run_free(canary->models[i].run);
    }
    free(canary->models);
    pthread_mutex_destroy(&canary->lock);
    pthread_mutex_destroy(&canary->ticker_lock);
    pthread_cond_destroy(&canary->ticker_wake);
    free(canary);
}
