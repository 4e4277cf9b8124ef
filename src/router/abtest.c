/* A/B tests (see inferd/abtest.h): starting, ending and promoting tests, the ticker that ends
 * them when their time is up or a variant fails too often, and the registry's copy that brings
 * them back after a restart. A test's results and JSON are abtest_doc.c's.
 *
 * Design notes
 *
 * A test goes through these states:
 *
 *   RUNNING --tick (duration over)----------------------> COMPLETED
 *      |    --tick (a variant's error rate > limit)------> ROLLED_BACK
 *      |    --inferd_ab_end------------------------------> STOPPED
 *      +----inferd_ab_promote----------------------------> PROMOTED
 *
 *   - inferd_ab_create publishes an AB rule (the test's split) and records the test RUNNING.
 *   - finish() makes every other transition: it removes the rule (all traffic back to what the
 *     model serves without a rule, normally the control), freezes the results as JSON, stores
 *     them in the registry and audits the transition.
 *
 * Invariants: at most one RUNNING test per model, and it owns the model's rule; a test's
 * statistics are those of its rule, kept (by reference) after it ends so that GET shows the
 * final figures; everything runs on the control thread except rendering metrics, so `lock`
 * guards only the list against the /metrics reader. */
#include "abtest_private.h"
#include "inferd/clock.h"
#include "inferd/log.h"
#include "inferd/thread.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct inferd_ab {
    inferd_repo_t *repo;
    inferd_router_t *router;
    pthread_mutex_t lock;
    ab_test_t **tests;
    size_t n_tests;
    pthread_t ticker;
    bool has_ticker;
    pthread_mutex_t ticker_lock;
    pthread_cond_t ticker_wake;
    bool is_stopping;
};

static void test_free(ab_test_t *t)
{
    if (t == NULL)
        return;
    inferd_rule_release(t->rule);
    free(t->model);
    free(t->name);
    free(t->end_reason);
    free(t->definition);
    free(t->results);
    free(t);
}

static ab_test_t *find_test(inferd_ab_t *ab, const char *model, const char *name)
{
    for (size_t i = 0; i < ab->n_tests; i++)
        if (strcmp(ab->tests[i]->model, model) == 0 &&
            (name == NULL ? ab->tests[i]->status == AB_RUNNING
                          : strcmp(ab->tests[i]->name, name) == 0))
            return ab->tests[i];
    return NULL;
}

/* ==== the registry ==== */

/* Stores the test (definition, status, results) in the registry under "ab:<name>". */
static void store(inferd_ab_t *ab, const ab_test_t *t, const char *actor, const char *action,
                  const char *reason)
{
    inferd_registry_t *registry = inferd_repo_registry(ab->repo);
    if (registry == NULL)
        return;
    inferd_jsonw_t w = {0};
    int64_t winner;
    ab_write_test(&w, t, &winner);
    const char *text = inferd_jsonw_cstr_of(&w);
    char key[300], detail[160];
    snprintf(key, sizeof(key), "ab:%s", t->name);
    snprintf(detail, sizeof(detail), "{\"status\":\"%s\"}", ab_status_names[t->status]);
    inferd_audit_t audit = {actor, action, t->model, 0, detail, reason};
    inferd_err_t err;
    if (text == NULL || inferd_registry_put_state(registry, t->model, key, text, &audit, &err) != 0)
        inferd_log_error("registry: storing A/B test '%s': %s", t->name,
                         text ? err.msg : "out of memory");
    inferd_jsonw_free(&w);
}

/* The names of the model's tests, as stored under "ab_tests". */
static void store_index(inferd_ab_t *ab, const char *model)
{
    inferd_registry_t *registry = inferd_repo_registry(ab->repo);
    if (registry == NULL)
        return;
    inferd_jsonw_t w = {0};
    inferd_jsonw_lit(&w, "[");
    size_t k = 0;
    pthread_mutex_lock(&ab->lock);
    for (size_t i = 0; i < ab->n_tests; i++) {
        if (strcmp(ab->tests[i]->model, model) != 0)
            continue;
        if (k++)
            inferd_jsonw_lit(&w, ",");
        inferd_jsonw_cstr(&w, ab->tests[i]->name);
    }
    pthread_mutex_unlock(&ab->lock);
    inferd_jsonw_lit(&w, "]");
    const char *text = inferd_jsonw_cstr_of(&w);
    inferd_err_t err;
    if (text != NULL)
        inferd_registry_put_state(registry, model, "ab_tests", text, NULL, &err);
    inferd_jsonw_free(&w);
}

/* ==== transitions ==== */

/* Ends a running test: its rule leaves the router, its results are frozen and stored. */
static void finish(inferd_ab_t *ab, ab_test_t *t, ab_status_t status, const char *reason,
                   const char *actor)
{
    inferd_rule_t *current = inferd_router_rule(ab->router, t->model);
    if (current == t->rule)
        inferd_router_publish(ab->router, t->model, NULL);
    inferd_rule_release(current);
    pthread_mutex_lock(&ab->lock);
    t->status = status;
    t->ended_at_ms = inferd_wall_ms();
    free(t->end_reason);
    t->end_reason = reason ? strdup(reason) : NULL;
    pthread_mutex_unlock(&ab->lock);
    static const char *const actions[] = {"ab_start", "ab_complete", "ab_stop", "ab_promote",
                                          "ab_rollback"};
    store(ab, t, actor, actions[status], reason);
    inferd_log_info("A/B test '%s' of model '%s' %s%s%s", t->name, t->model,
                    ab_status_names[status], reason ? ": " : "", reason ? reason : "");
}

/* Control thread, every tick: end tests whose time is up or whose variants fail too often. */
static void tick(void *arg)
{
    inferd_ab_t *ab = arg;
    int64_t now = inferd_wall_ms();
    for (size_t i = 0; i < ab->n_tests; i++) {
        ab_test_t *t = ab->tests[i];
        if (t->status != AB_RUNNING || t->rule == NULL)
            continue;
        for (size_t v = 0; t->rollback_error_rate > 0 && v < t->rule->n_variants; v++) {
            const inferd_variant_t *variant = &t->rule->variants[v];
            uint64_t n = atomic_load(&variant->stats.requests);
            uint64_t errors = atomic_load(&variant->stats.errors);
            if (variant->version == t->control_version || n == 0 ||
                (int64_t)n < (t->min_samples > 0 ? t->min_samples : 1))
                continue;
            double rate = (double)errors / (double)n;
            if (rate > t->rollback_error_rate) {
                char reason[200];
                snprintf(reason, sizeof(reason),
                         "version %lld failed %.1f%% of %llu requests, above "
                         "rollback_on_error_rate %.1f%%: traffic back to the control",
                         (long long)variant->version, rate * 100, (unsigned long long)n,
                         t->rollback_error_rate * 100);
                finish(ab, t, AB_ROLLED_BACK, reason, "ab-test");
                break;
            }
        }
        if (t->status == AB_RUNNING && t->duration_s > 0 &&
            now - t->started_at_ms >= t->duration_s * 1000)
            finish(ab, t, AB_COMPLETED, "its duration is over", "ab-test");
    }
}

static void *ticker_main(void *arg)
{
    inferd_ab_t *ab = arg;
    inferd_thread_name("abtest", NULL);
    pthread_mutex_lock(&ab->ticker_lock);
    while (!ab->is_stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000000L;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&ab->ticker_wake, &ab->ticker_lock, &until);
        if (ab->is_stopping)
            break;
        bool has_running = false;
        pthread_mutex_lock(&ab->lock);
        for (size_t i = 0; i < ab->n_tests; i++)
            has_running |= ab->tests[i]->status == AB_RUNNING;
        pthread_mutex_unlock(&ab->lock);
        if (has_running)
            inferd_repo_run(ab->repo, tick, ab);
    }
    pthread_mutex_unlock(&ab->ticker_lock);
    return NULL;
}

/* ==== the API ==== */

static bool name_is_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 64)
        return false;
    for (const char *p = name; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

/* An optional number member of the body in [min, max]. */
static int read_number(const inferd_json_t *doc, const char *key, double min, double max,
                       double *OUT, inferd_err_t *err)
{
    int tok = inferd_json_get(doc, 0, key);
    if (tok < 0)
        return 0;
    if (inferd_json_double(doc, tok, OUT) != 0 || !(*OUT >= min) || *OUT > max)
        return inferd_fail(err, INFERD_EINVAL, "%s must be a number from %g to %g", key, min, max);
    return 0;
}

int inferd_ab_create(inferd_ab_t *ab, const char *model, const char *body, size_t body_len,
                     const char *actor, inferd_jsonw_t *w, inferd_err_t *err)
{
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 1u << 20);
    inferd_json_t doc;
    ab_test_t *t = calloc(1, sizeof(*t));
    char *name = NULL, *primary = NULL;
    double duration = 0, min_samples = 30, rollback = 0, alpha = 0.05;
    int rc = t == NULL ? INFERD_ENOMEM : inferd_json_parse(&doc, body, body_len, &arena, err);
    if (rc == 0 && inferd_json_kind(&doc, 0) != INFERD_JSON_OBJECT)
        rc = inferd_fail(err, INFERD_EINVAL, "the request body must be a JSON object");
    int name_tok = rc == 0 ? inferd_json_get(&doc, 0, "name") : -1;
    if (rc == 0 && (name_tok < 0 || inferd_json_string(&doc, name_tok, &arena, &name, NULL) != 0 ||
                    !name_is_valid(name)))
        rc = inferd_fail(err, INFERD_EINVAL,
                         "an A/B test needs \"name\": 1-64 letters, digits, '_', '-' or '.'");
    if (rc == 0)
        rc = read_number(&doc, "duration_seconds", 0, 365 * 86400.0, &duration, err);
    if (rc == 0)
        rc = read_number(&doc, "min_samples", 2, 1e9, &min_samples, err);
    if (rc == 0)
        rc = read_number(&doc, "rollback_on_error_rate", 0, 1, &rollback, err);
    if (rc == 0)
        rc = read_number(&doc, "alpha", 1e-6, 0.5, &alpha, err);
    int primary_tok = rc == 0 ? inferd_json_get(&doc, 0, "primary_metric") : -1;
    t->primary = METRIC_REWARD;
    if (primary_tok >= 0) {
        bool known = false;
        if (inferd_json_string(&doc, primary_tok, &arena, &primary, NULL) == 0)
            for (int m = 0; m < 3; m++)
                if (strcmp(primary, ab_metric_names[m]) == 0) {
                    t->primary = (ab_metric_t)m;
                    known = true;
                }
        if (!known)
            rc = inferd_fail(err, INFERD_EINVAL,
                             "primary_metric must be \"reward\", \"latency\" or \"error_rate\"");
    }
    if (rc == 0 && find_test(ab, model, name) != NULL)
        rc = inferd_fail(err, INFERD_ECONFLICT,
                         "model '%s' already has an A/B test named '%s'; pick another name", model,
                         name);
    inferd_rule_t *current = rc == 0 ? inferd_router_rule(ab->router, model) : NULL;
    if (current != NULL && current->kind != INFERD_ROUTE_SPLIT)
        rc = inferd_fail(err, INFERD_ECONFLICT, "model '%s' has a %s running ('%s'); end it first",
                         model, current->kind == INFERD_ROUTE_AB ? "A/B test" : "canary",
                         current->name ? current->name : "");
    inferd_rule_release(current);
    inferd_rule_t *rule = NULL;
    if (rc == 0 &&
        (rule = inferd_rule_new(model, INFERD_ROUTE_AB, name, INFERD_STRATEGY_RANDOM)) == NULL)
        rc = INFERD_ENOMEM;
    if (rc == 0)
        rc = inferd_rule_read_split(&doc, inferd_json_get(&doc, 0, "versions"), ab->repo, model,
                                    rule, err);
    if (rc == 0 && rule->n_variants < 2)
        rc = inferd_fail(err, INFERD_EINVAL, "an A/B test compares at least two versions");
    if (rc == 0)
        rc = inferd_rule_read_strategy(&doc, &arena, rule, err);
    if (rc != 0) {
        if (rc == INFERD_ENOMEM)
            inferd_fail(err, INFERD_ENOMEM, "out of memory");
        inferd_rule_release(rule);
        free(t);
        inferd_arena_free(&arena);
        return rc;
    }
    /* the control: what answers now without a rule, if it takes part; else the first listed */
    t->control_version = rule->variants[0].version;
    inferd_catalog_t *catalog = inferd_repo_snapshot(ab->repo);
    const inferd_model_t *m = inferd_catalog_model(catalog, model);
    const inferd_model_version_t *serving = m ? inferd_model_serving_version(m) : NULL;
    for (size_t i = 0; serving != NULL && i < rule->n_variants; i++)
        if (rule->variants[i].version == serving->version)
            t->control_version = serving->version;
    inferd_catalog_release(catalog);
    t->model = strdup(model);
    t->name = strdup(name);
    t->definition = strndup(body, body_len);
    t->status = AB_RUNNING;
    t->started_at_ms = inferd_wall_ms();
    t->duration_s = (int64_t)duration;
    t->min_samples = (int64_t)min_samples;
    t->rollback_error_rate = rollback;
    t->alpha = alpha;
    t->rule = rule;
    inferd_arena_free(&arena);
    pthread_mutex_lock(&ab->lock);
    ab_test_t **grown = realloc(ab->tests, (ab->n_tests + 1) * sizeof(*grown));
    if (grown != NULL) {
        ab->tests = grown;
        ab->tests[ab->n_tests++] = t;
    }
    pthread_mutex_unlock(&ab->lock);
    if (grown == NULL || t->model == NULL || t->name == NULL || t->definition == NULL) {
        if (grown != NULL) {
            pthread_mutex_lock(&ab->lock);
            ab->n_tests--;
            pthread_mutex_unlock(&ab->lock);
        }
        test_free(t);
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    }
    atomic_fetch_add(&rule->refs, 1);
    inferd_router_publish(ab->router, model, rule); /* replaces a split, if there was one */
    store(ab, t, actor, "ab_start", NULL);
    store_index(ab, model);
    inferd_log_info("A/B test '%s' of model '%s' started by %s (control version %lld)", t->name,
                    model, actor, (long long)t->control_version);
    int64_t winner;
    ab_write_test(w, t, &winner);
    return 0;
}

int inferd_ab_describe(inferd_ab_t *ab, const char *model, const char *name, inferd_jsonw_t *w,
                       inferd_err_t *err)
{
    int64_t winner;
    if (name != NULL) {
        ab_test_t *t = find_test(ab, model, name);
        if (t == NULL)
            return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no A/B test '%s'", model,
                               name);
        ab_write_test(w, t, &winner);
        return 0;
    }
    inferd_jsonw_lit(w, "{\"model\":");
    inferd_jsonw_cstr(w, model);
    inferd_jsonw_lit(w, ",\"ab_tests\":[");
    size_t k = 0;
    for (size_t i = 0; i < ab->n_tests; i++) {
        const ab_test_t *t = ab->tests[i];
        if (strcmp(t->model, model) != 0)
            continue;
        inferd_jsonw_lit(w, k++ ? ",{\"name\":" : "{\"name\":");
        inferd_jsonw_cstr(w, t->name);
        ab_write_status(w, t);
        inferd_jsonw_lit(w, "}");
    }
    inferd_jsonw_lit(w, "]}");
    return 0;
}

int inferd_ab_end(inferd_ab_t *ab, const char *model, const char *name, const char *actor,
                  inferd_jsonw_t *w, inferd_err_t *err)
{
    ab_test_t *t = find_test(ab, model, name);
    if (t == NULL)
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no A/B test '%s'", model, name);
    if (t->status != AB_RUNNING)
        return inferd_fail(err, INFERD_ECONFLICT, "A/B test '%s' is already %s", name,
                           ab_status_names[t->status]);
    finish(ab, t, AB_STOPPED, "stopped through the API", actor);
    int64_t winner;
    ab_write_test(w, t, &winner);
    return 0;
}

int inferd_ab_promote(inferd_ab_t *ab, const char *model, const char *name, int64_t version,
                      const char *actor, inferd_jsonw_t *w, inferd_err_t *err)
{
    ab_test_t *t = find_test(ab, model, name);
    if (t == NULL)
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no A/B test '%s'", model, name);
    if (t->rule == NULL)
        return inferd_fail(err, INFERD_ECONFLICT,
                           "A/B test '%s' ended before this server started; promote a version "
                           "with PUT /v1/models/%s/versions/{v}/default",
                           name, model);
    inferd_jsonw_t scratch = {0};
    int64_t winner;
    ab_write_test(&scratch, t, &winner);
    inferd_jsonw_free(&scratch);
    if (version == 0 && winner == 0)
        return inferd_fail(err, INFERD_ECONFLICT,
                           "A/B test '%s' has no significant winner yet; wait for more data or "
                           "name the version to promote ({\"version\": N})",
                           name);
    int64_t chosen = version != 0 ? version : winner;
    bool takes_part = false;
    for (size_t i = 0; i < t->rule->n_variants; i++)
        takes_part |= t->rule->variants[i].version == chosen;
    if (!takes_part)
        return inferd_fail(err, INFERD_EINVAL, "version %lld is not part of A/B test '%s'",
                           (long long)chosen, name);
    char reason[160];
    snprintf(reason, sizeof(reason), "version %lld promoted%s", (long long)chosen,
             version == 0 ? " as the significant winner" : "");
    inferd_change_t change = {actor, reason};
    int rc = inferd_repo_set_default(ab->repo, model, chosen, &change, err);
    if (rc != 0)
        return rc;
    if (t->status == AB_RUNNING)
        finish(ab, t, AB_PROMOTED, reason, actor);
    else {
        t->status = AB_PROMOTED;
        store(ab, t, actor, "ab_promote", reason);
    }
    ab_write_test(w, t, &winner);
    return 0;
}

void inferd_ab_render_metrics(inferd_ab_t *ab, inferd_jsonw_t *w)
{
    inferd_jsonw_lit(w, "# HELP inferd_ab_test_running Whether the A/B test runs (1) or has "
                        "ended (0).\n# TYPE inferd_ab_test_running gauge\n");
    pthread_mutex_lock(&ab->lock);
    for (size_t i = 0; i < ab->n_tests; i++) {
        const ab_test_t *t = ab->tests[i];
        if (strpbrk(t->model, "\"\\\n") != NULL)
            continue;
        char line[400];
        int len =
            snprintf(line, sizeof(line), "inferd_ab_test_running{model=\"%s\",test=\"%s\"} %d\n",
                     t->model, t->name, t->status == AB_RUNNING);
        if (len > 0 && (size_t)len < sizeof(line))
            inferd_jsonw_raw(w, line, (size_t)len);
    }
    pthread_mutex_unlock(&ab->lock);
}

/* ==== start and stop ==== */

/* Control thread at start-up: tests stored in the registry come back; running ones start again
 * with fresh statistics, ended ones keep their frozen results. */
static void restore(inferd_ab_t *ab)
{
    inferd_registry_t *registry = inferd_repo_registry(ab->repo);
    if (registry == NULL)
        return;
    inferd_catalog_t *catalog = inferd_repo_snapshot(ab->repo);
    for (size_t m = 0; m < catalog->n_models; m++) {
        const char *model = catalog->models[m]->name;
        char *index = NULL;
        inferd_err_t err;
        if (inferd_registry_get_state(registry, model, "ab_tests", &index, &err) != 0)
            continue;
        inferd_arena_t arena;
        inferd_arena_init(&arena, 4096, 4u << 20);
        inferd_json_t list;
        if (inferd_json_parse(&list, index, strlen(index), &arena, NULL) == 0 &&
            inferd_json_kind(&list, 0) == INFERD_JSON_ARRAY) {
            for (int i = 0, tok = 1; i < inferd_json_size(&list, 0);
                 i++, tok = inferd_json_next(&list, tok)) {
                char *name, key[300], *stored = NULL;
                if (inferd_json_string(&list, tok, &arena, &name, NULL) != 0)
                    continue;
                snprintf(key, sizeof(key), "ab:%s", name);
                if (inferd_registry_get_state(registry, model, key, &stored, &err) != 0)
                    continue;
                inferd_json_t doc;
                inferd_arena_t scratch;
                inferd_arena_init(&scratch, 4096, 4u << 20);
                if (inferd_json_parse(&doc, stored, strlen(stored), &scratch, NULL) == 0) {
                    int status = inferd_json_get(&doc, 0, "status");
                    int definition = inferd_json_get(&doc, 0, "definition");
                    if (status >= 0 && inferd_json_eq(&doc, status, "running") && definition >= 0) {
                        size_t len;
                        const char *raw = inferd_json_raw(&doc, definition, &len);
                        inferd_jsonw_t ignored = {0};
                        if (inferd_ab_create(ab, model, raw, len, "startup", &ignored, &err) != 0)
                            inferd_log_error("A/B test '%s' of '%s' could not restart: %s", name,
                                             model, err.msg);
                        inferd_jsonw_free(&ignored);
                    } else if (status >= 0) {
                        ab_test_t *t = calloc(1, sizeof(*t));
                        size_t len;
                        int results = inferd_json_get(&doc, 0, "results");
                        const char *raw =
                            results >= 0 ? inferd_json_raw(&doc, results, &len) : NULL;
                        if (t != NULL) {
                            t->model = strdup(model);
                            t->name = strdup(name);
                            for (int s = 0; s < 5; s++)
                                if (inferd_json_eq(&doc, status, ab_status_names[s]))
                                    t->status = (ab_status_t)s;
                            t->results = raw ? strndup(raw, len) : NULL;
                            raw = definition >= 0 ? inferd_json_raw(&doc, definition, &len) : NULL;
                            t->definition = raw ? strndup(raw, len) : NULL;
                            pthread_mutex_lock(&ab->lock);
                            ab_test_t **grown =
                                realloc(ab->tests, (ab->n_tests + 1) * sizeof(*grown));
                            if (grown != NULL) {
                                ab->tests = grown;
                                ab->tests[ab->n_tests++] = t;
                            } else {
                                test_free(t);
                            }
                            pthread_mutex_unlock(&ab->lock);
                        }
                    }
                }
                inferd_arena_free(&scratch);
                free(stored);
            }
        }
        inferd_arena_free(&arena);
        free(index);
    }
    inferd_catalog_release(catalog);
}

int inferd_ab_start(inferd_repo_t *repo, inferd_router_t *router, inferd_ab_t **OUT_ab)
{
    inferd_ab_t *ab = calloc(1, sizeof(*ab));
    if (ab == NULL)
        return INFERD_ENOMEM;
    ab->repo = repo;
    ab->router = router;
    pthread_mutex_init(&ab->lock, NULL);
    pthread_mutex_init(&ab->ticker_lock, NULL);
    pthread_cond_init(&ab->ticker_wake, NULL);
    restore(ab);
    ab->has_ticker = pthread_create(&ab->ticker, NULL, ticker_main, ab) == 0;
    *OUT_ab = ab;
    return 0;
}

void inferd_ab_stop(inferd_ab_t *ab)
{
    if (ab == NULL)
        return;
    pthread_mutex_lock(&ab->ticker_lock);
    ab->is_stopping = true;
    pthread_cond_signal(&ab->ticker_wake);
    pthread_mutex_unlock(&ab->ticker_lock);
    if (ab->has_ticker)
        pthread_join(ab->ticker, NULL);
    inferd_repo_sync(ab->repo); /* a tick it queued has run */
    for (size_t i = 0; i < ab->n_tests; i++)
        test_free(ab->tests[i]);
    free(ab->tests);
    pthread_mutex_destroy(&ab->lock);
    pthread_mutex_destroy(&ab->ticker_lock);
    pthread_cond_destroy(&ab->ticker_wake);
    free(ab);
}
