/* Shadow traffic (see inferd/mirror.h).
 *
 * Design notes
 *
 * A copy goes: offered (request thread) --queue--> taken (worker) --run, compare--> counted.
 *
 *   - inferd_mirror_offer decides under `lock` (the model's shadow, its percent, the version
 *     that answered), copies the inputs and the answer into one allocation of its own, and
 *     queues it; a full queue drops it. The request thread never waits for the worker.
 *   - The worker takes a copy, references the shadow version (it may have been unloaded since:
 *     then the copy counts as an error), runs it with inferd_infer, compares every output the
 *     caller got with the shadow's output of the same name, and adds to the shadow's
 *     statistics under `lock`.
 *
 * Invariants: `queue_length` never exceeds QUEUE_CAPACITY, so memory stays bounded whatever
 * the load; a shadow's statistics belong to one (model, version) and restart when the version
 * changes; nothing here touches the caller's answer. */
#include "inferd/mirror.h"
#include "inferd/random.h"
#include "inferd/clock.h"
#include "inferd/log.h"
#include "inferd/router.h"
#include "inferd/thread.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_CAPACITY 256

typedef struct shadow {
    char *model;
    bool is_active; /* cleared shadows stay allocated until the mirror stops */
    int64_t version;
    double percent;
    /* statistics, under the mirror's lock */
    uint64_t mirrored, completed, dropped, errors;
    uint64_t compared, matched; /* rows (class outputs) or whole outputs compared, and equal */
    uint64_t diff_count;
    double diff_sum, diff_max;
    inferd_variant_stats_t latency; /* of the shadow runs */
} shadow_t;

typedef struct copy {
    struct copy *next;
    char *model;
    int64_t version;
    inferd_tensor_t *inputs;
    size_t n_inputs;
    inferd_tensor_t *outputs; /* what the caller got */
    size_t n_outputs;
} copy_t;

struct inferd_mirror {
    inferd_repo_t *repo;
    inferd_router_t *router; /* may be NULL: no traffic rules */
    pthread_mutex_t lock;    /* guards shadows, the queue and the statistics */
    pthread_cond_t has_work;
    shadow_t **shadows;
    size_t n_shadows;
    atomic_size_t n_active; /* active shadows, readable without the lock */
    copy_t *head, *tail;
    size_t queue_length;
    bool is_stopping;
    pthread_t worker;
    bool has_worker;
};

/* The model's shadow record (active or not), or NULL. */
static shadow_t *find_record(inferd_mirror_t *m, const char *model)
{
    for (size_t i = 0; i < m->n_shadows; i++)
        if (strcmp(m->shadows[i]->model, model) == 0)
            return m->shadows[i];
    return NULL;
}

static shadow_t *find_shadow(inferd_mirror_t *m, const char *model)
{
    shadow_t *s = find_record(m, model);
    return s != NULL && s->is_active ? s : NULL;
}

/* ==== copying ==== */

/* Bytes a tensor list needs when copied: the structs, names and data, 16-byte aligned. */
static size_t tensors_bytes(const inferd_tensor_t *t, size_t n)
{
    size_t bytes = (n + 1) * sizeof(*t);
    for (size_t i = 0; i < n; i++) {
        int64_t data = inferd_tensor_bytes(&t[i]);
        bytes += ((strlen(t[i].name) + 16) & ~(size_t)15) +
                 ((size_t)(data > 0 ? data : 0) + 15) / 16 * 16;
    }
    return bytes;
}

static inferd_tensor_t *copy_tensors(const inferd_tensor_t *t, size_t n, char **cursor)
{
    inferd_tensor_t *out = (inferd_tensor_t *)*cursor;
    *cursor += (n + 1) * sizeof(*t);
    for (size_t i = 0; i < n; i++) {
        out[i] = t[i];
        size_t name = strlen(t[i].name) + 1;
        memcpy(*cursor, t[i].name, name);
        out[i].name = *cursor;
        *cursor += (name + 15) & ~(size_t)15;
        int64_t data = inferd_tensor_bytes(&t[i]);
        if (data > 0)
            memcpy(*cursor, t[i].data, (size_t)data);
        out[i].data = *cursor;
        *cursor += ((size_t)(data > 0 ? data : 0) + 15) / 16 * 16;
    }
    return out;
}

void inferd_mirror_offer(inferd_mirror_t *m, const char *model, int64_t answered_version,
                         const inferd_request_t *req, const inferd_response_t *resp)
{
    if (m == NULL || atomic_load_explicit(&m->n_active, memory_order_relaxed) == 0)
        return; /* no shadow anywhere: the common case costs no lock */
    pthread_mutex_lock(&m->lock);
    shadow_t *s = find_shadow(m, model);
    bool is_wanted =
        s != NULL && s->version != answered_version && inferd_uniform() * 100.0 < s->percent;
    int64_t version = s ? s->version : 0;
    if (is_wanted && m->queue_length >= QUEUE_CAPACITY) {
        s->dropped++;
        is_wanted = false;
    }
    if (is_wanted)
        s->mirrored++;
    pthread_mutex_unlock(&m->lock);
    if (!is_wanted)
        return;
    size_t bytes = sizeof(copy_t) + strlen(model) + 16 + tensors_bytes(req->inputs, req->n_inputs) +
                   tensors_bytes(resp->outputs, resp->n_outputs);
    copy_t *c = malloc(bytes);
    if (c == NULL) { /* counted as dropped: `mirrored` promises a run */
        pthread_mutex_lock(&m->lock);
        if ((s = find_shadow(m, model)) != NULL && s->version == version) {
            s->mirrored--;
            s->dropped++;
        }
        pthread_mutex_unlock(&m->lock);
        return;
    }
    char *cursor = (char *)(c + 1);
    c->next = NULL;
    c->model = cursor;
    strcpy(cursor, model);
    cursor += (strlen(model) + 16) & ~(size_t)15;
    c->version = version;
    c->inputs = copy_tensors(req->inputs, req->n_inputs, &cursor);
    c->n_inputs = req->n_inputs;
    c->outputs = copy_tensors(resp->outputs, resp->n_outputs, &cursor);
    c->n_outputs = resp->n_outputs;
    pthread_mutex_lock(&m->lock);
    if (m->tail != NULL)
        m->tail->next = c;
    else
        m->head = c;
    m->tail = c;
    m->queue_length++;
    pthread_cond_signal(&m->has_work);
    pthread_mutex_unlock(&m->lock);
}

/* ==== running and comparing (the worker) ==== */

static double element(const inferd_tensor_t *t, int64_t i)
{
    switch (t->dtype) {
    case INFERD_DT_FP32:
        return ((const float *)t->data)[i];
    case INFERD_DT_FP64:
        return ((const double *)t->data)[i];
    case INFERD_DT_INT32:
        return ((const int32_t *)t->data)[i];
    case INFERD_DT_INT64:
        return (double)((const int64_t *)t->data)[i];
    case INFERD_DT_BOOL:
    case INFERD_DT_UINT8:
        return ((const uint8_t *)t->data)[i];
    default:
        return NAN;
    }
}

typedef struct {
    uint64_t compared, matched, diff_count;
    double diff_sum, diff_max;
} comparison_t;

/* Compares the caller's output `a` with the shadow's `b` (same name): class outputs ([rows, K]
 * floats) by their arg max per row, other outputs element by element; float outputs also by
 * absolute difference. */
static void compare(const inferd_tensor_t *a, const inferd_tensor_t *b, comparison_t *c)
{
    int64_t n = inferd_tensor_count(a);
    bool same_shape = a->dtype == b->dtype && a->ndim == b->ndim;
    for (int d = 0; same_shape && d < a->ndim; d++)
        same_shape = a->shape[d] == b->shape[d];
    if (!same_shape) {
        c->compared++; /* a different shape is a disagreement */
        return;
    }
    bool is_float = a->dtype == INFERD_DT_FP32 || a->dtype == INFERD_DT_FP64;
    for (int64_t i = 0; is_float && i < n; i++) {
        double diff = fabs(element(a, i) - element(b, i));
        c->diff_sum += diff;
        c->diff_count++;
        if (diff > c->diff_max)
            c->diff_max = diff;
    }
    int64_t classes = a->ndim >= 1 ? a->shape[a->ndim - 1] : 1;
    if (is_float && classes > 1 && n > 0) {
        for (int64_t row = 0; row < n / classes; row++) {
            int64_t best_a = 0, best_b = 0;
            for (int64_t k = 1; k < classes; k++) {
                if (element(a, row * classes + k) > element(a, row * classes + best_a))
                    best_a = k;
                if (element(b, row * classes + k) > element(b, row * classes + best_b))
                    best_b = k;
            }
            c->compared++;
            c->matched += best_a == best_b;
        }
        return;
    }
    bool equal = true;
    for (int64_t i = 0; equal && i < n; i++)
        equal = element(a, i) == element(b, i);
    c->compared++;
    c->matched += equal;
}

static void run_copy(inferd_mirror_t *m, copy_t *c)
{
    char number[24];
    snprintf(number, sizeof(number), "%lld", (long long)c->version);
    inferd_model_version_t *v = NULL;
    inferd_err_t err;
    inferd_arena_t arena;
    inferd_arena_init(&arena, 16 * 1024, 0);
    inferd_request_t req = {
        .arena = &arena, .inputs = c->inputs, .n_inputs = c->n_inputs, .timeout_us = -1};
    inferd_response_t resp = {0};
    comparison_t result = {0};
    uint64_t start = inferd_monotonic_ns();
    int rc = inferd_repo_acquire(m->repo, c->model, number, &v, &err);
    if (rc == 0)
        rc = inferd_infer(v, &req, &resp, &err);
    uint64_t elapsed = inferd_monotonic_ns() - start;
    for (size_t i = 0; rc == 0 && i < c->n_outputs; i++)
        for (size_t j = 0; j < resp.n_outputs; j++)
            if (strcmp(c->outputs[i].name, resp.outputs[j].name) == 0)
                compare(&c->outputs[i], &resp.outputs[j], &result);
    inferd_version_release(v);
    inferd_arena_free(&arena);
    pthread_mutex_lock(&m->lock);
    shadow_t *s = find_shadow(m, c->model);
    if (s != NULL && s->version == c->version) {
        s->completed++;
        if (rc != 0)
            s->errors++;
        s->compared += result.compared;
        s->matched += result.matched;
        s->diff_count += result.diff_count;
        s->diff_sum += result.diff_sum;
        if (result.diff_max > s->diff_max)
            s->diff_max = result.diff_max;
        inferd_variant_record(&s->latency, elapsed, rc != 0);
    }
    pthread_mutex_unlock(&m->lock);
}

static void *worker_main(void *arg)
{
    inferd_mirror_t *m = arg;
    inferd_thread_name("mirror", NULL);
    pthread_mutex_lock(&m->lock);
    for (;;) {
        while (m->head == NULL && !m->is_stopping)
            pthread_cond_wait(&m->has_work, &m->lock);
        if (m->is_stopping)
            break;
        copy_t *c = m->head;
        m->head = c->next;
        if (m->head == NULL)
            m->tail = NULL;
        m->queue_length--;
        pthread_mutex_unlock(&m->lock);
        run_copy(m, c);
        free(c);
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/* ==== the control side ==== */

/* Stores `model`'s shadow (`version` at `percent`; version 0: none) as its "shadow" document,
 * audited as `action` by `actor`. A registry failure is logged: the setting holds until exit. */
static void store(inferd_mirror_t *m, const char *model, int64_t version, double percent,
                  const char *actor, const char *action)
{
    inferd_registry_t *registry = inferd_repo_registry(m->repo);
    if (registry == NULL)
        return;
    char json[128];
    if (version != 0)
        snprintf(json, sizeof(json), "{\"version\":%lld,\"percent\":%.17g}", (long long)version,
                 percent);
    const char *doc = version != 0 ? json : NULL;
    inferd_audit_t audit = {actor, action, model, version, doc, NULL};
    inferd_err_t err;
    if (inferd_registry_put_state(registry, model, "shadow", doc, &audit, &err) != 0)
        inferd_log_error("registry: storing the shadow of '%s': %s", model, err.msg);
}

/* Whether every request of `model` that names no version is answered by `version`: it is the
 * serving version and no traffic rule sends a share of the requests to another one. */
static bool answers_every_request(inferd_mirror_t *m, const char *model, int64_t version)
{
    inferd_catalog_t *catalog = inferd_repo_snapshot(m->repo);
    const inferd_model_t *entry = inferd_catalog_model(catalog, model);
    const inferd_model_version_t *serving =
        entry != NULL ? inferd_model_serving_version(entry) : NULL;
    bool is_serving = serving != NULL && serving->version == version;
    inferd_catalog_release(catalog);
    if (!is_serving)
        return false;
    inferd_rule_t *rule = m->router != NULL ? inferd_router_rule(m->router, model) : NULL;
    bool has_other_variant = false;
    for (size_t i = 0; rule != NULL && i < rule->n_variants; i++)
        has_other_variant |= rule->variants[i].version != version && rule->variants[i].weight > 0;
    if (rule != NULL)
        inferd_rule_release(rule);
    return !has_other_variant;
}

/* Makes `version` (served and ready) the shadow of `model` at `percent`; its statistics start
 * from zero unless it already was the shadow. Stores nothing. Returns 0, the code of
 * inferd_repo_acquire, or INFERD_ENOMEM. */
static int activate(inferd_mirror_t *m, const char *model, int64_t version, double percent,
                    inferd_err_t *err)
{
    char number[24];
    snprintf(number, sizeof(number), "%lld", (long long)version);
    inferd_model_version_t *v;
    int rc = inferd_repo_acquire(m->repo, model, number, &v, err);
    if (rc != 0)
        return rc;
    inferd_version_release(v);
    pthread_mutex_lock(&m->lock);
    shadow_t *s = find_record(m, model);
    if (s == NULL) {
        shadow_t **grown = realloc(m->shadows, (m->n_shadows + 1) * sizeof(*grown));
        s = grown != NULL ? calloc(1, sizeof(*s)) : NULL;
        if (grown != NULL)
            m->shadows = grown;
        if (s != NULL && (s->model = strdup(model)) == NULL) {
            free(s);
            s = NULL;
        }
        if (s == NULL) {
            pthread_mutex_unlock(&m->lock);
            return inferd_fail(err, INFERD_ENOMEM, "out of memory");
        }
        pthread_mutex_init(&s->latency.lock, NULL);
        m->shadows[m->n_shadows++] = s;
    }
    bool was_active = s->is_active;
    if (!s->is_active || s->version != version) { /* another shadow: its own statistics */
        char *name = s->model;
        pthread_mutex_destroy(&s->latency.lock);
        memset(s, 0, sizeof(*s));
        pthread_mutex_init(&s->latency.lock, NULL);
        s->model = name;
    }
    if (!was_active)
        atomic_fetch_add(&m->n_active, 1);
    s->is_active = true;
    s->version = version;
    s->percent = percent;
    pthread_mutex_unlock(&m->lock);
    inferd_log_info("model '%s': %g%% of requests mirrored to version %lld", model, percent,
                    (long long)version);
    return 0;
}

int inferd_mirror_set(inferd_mirror_t *m, const char *model, int64_t version, double percent,
                      const char *actor, inferd_err_t *err)
{
    if (!(percent >= 0) || percent > 100)
        return inferd_fail(err, INFERD_EINVAL, "percent must be a number from 0 to 100");
    if (answers_every_request(m, model, version))
        return inferd_fail(err, INFERD_ECONFLICT,
                           "version %lld answers every request of model '%s' itself (it is the "
                           "serving version and no traffic rule sends requests elsewhere): a "
                           "shadow must be another version",
                           (long long)version, model);
    int rc = activate(m, model, version, percent, err);
    if (rc != 0)
        return rc;
    store(m, model, version, percent, actor, "set_shadow");
    return 0;
}

int inferd_mirror_clear(inferd_mirror_t *m, const char *model, const char *actor, inferd_err_t *err)
{
    pthread_mutex_lock(&m->lock);
    shadow_t *s = find_shadow(m, model);
    if (s != NULL) {
        s->is_active = false;
        atomic_fetch_sub(&m->n_active, 1);
    }
    pthread_mutex_unlock(&m->lock);
    if (s == NULL)
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no shadow", model);
    store(m, model, 0, 0, actor, "delete_shadow");
    return 0;
}

static void write_number(inferd_jsonw_t *w, double value)
{
    if (isfinite(value))
        inferd_jsonw_f64(w, value);
    else
        inferd_jsonw_lit(w, "null");
}

int inferd_mirror_describe(inferd_mirror_t *m, const char *model, inferd_jsonw_t *w,
                           inferd_err_t *err)
{
    pthread_mutex_lock(&m->lock);
    shadow_t *s = find_shadow(m, model);
    if (s == NULL) {
        pthread_mutex_unlock(&m->lock);
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no shadow", model);
    }
    shadow_t copy = *s;
    pthread_mutex_unlock(&m->lock);
    inferd_jsonw_lit(w, "{\"model\":");
    inferd_jsonw_cstr(w, model);
    inferd_jsonw_lit(w, ",\"version\":");
    inferd_jsonw_int(w, copy.version);
    inferd_jsonw_lit(w, ",\"percent\":");
    write_number(w, copy.percent);
    inferd_jsonw_lit(w, ",\"mirrored\":");
    inferd_jsonw_uint(w, copy.mirrored);
    inferd_jsonw_lit(w, ",\"completed\":");
    inferd_jsonw_uint(w, copy.completed);
    inferd_jsonw_lit(w, ",\"dropped\":");
    inferd_jsonw_uint(w, copy.dropped);
    inferd_jsonw_lit(w, ",\"errors\":");
    inferd_jsonw_uint(w, copy.errors);
    inferd_jsonw_lit(w, ",\"latency_ms\":{\"p50\":");
    write_number(w, inferd_variant_latency_ms(&s->latency, 0.50));
    inferd_jsonw_lit(w, ",\"p95\":");
    write_number(w, inferd_variant_latency_ms(&s->latency, 0.95));
    inferd_jsonw_lit(w, ",\"p99\":");
    write_number(w, inferd_variant_latency_ms(&s->latency, 0.99));
    inferd_jsonw_lit(w, "},\"agreement\":{\"compared\":");
    inferd_jsonw_uint(w, copy.compared);
    inferd_jsonw_lit(w, ",\"exact_match_rate\":");
    write_number(w, copy.compared ? (double)copy.matched / (double)copy.compared : NAN);
    inferd_jsonw_lit(w, ",\"mean_abs_diff\":");
    write_number(w, copy.diff_count ? copy.diff_sum / (double)copy.diff_count : NAN);
    inferd_jsonw_lit(w, ",\"max_abs_diff\":");
    write_number(w, copy.diff_count ? copy.diff_max : NAN);
    inferd_jsonw_lit(w, "}}");
    return 0;
}

void inferd_mirror_render_metrics(inferd_mirror_t *m, inferd_jsonw_t *w)
{
    static const char *const names[][3] = {
        {"inferd_shadow_requests_total", "counter", "Requests copied to the model's shadow."},
        {"inferd_shadow_dropped_total", "counter",
         "Copies dropped because the shadow's queue was full."},
        {"inferd_shadow_errors_total", "counter", "Shadow runs that failed."},
        {"inferd_shadow_agreement_ratio", "gauge",
         "Share of compared shadow outputs (rows of class scores, or whole outputs) equal to "
         "the answer given."},
        {"inferd_shadow_abs_diff_max", "gauge",
         "Largest absolute difference between a shadow's float output and the answer given."},
    };
    pthread_mutex_lock(&m->lock);
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        char line[512];
        int len = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", names[n][0],
                           names[n][2], names[n][0], names[n][1]);
        inferd_jsonw_raw(w, line, (size_t)len);
        for (size_t i = 0; i < m->n_shadows; i++) {
            const shadow_t *s = m->shadows[i];
            if (!s->is_active || strpbrk(s->model, "\"\\\n") != NULL)
                continue;
            double values[] = {(double)s->mirrored, (double)s->dropped, (double)s->errors,
                               s->compared ? (double)s->matched / (double)s->compared : 0,
                               s->diff_max};
            len = snprintf(line, sizeof(line), "%s{model=\"%s\",version=\"%lld\"} %.17g\n",
                           names[n][0], s->model, (long long)s->version, values[n]);
            if (len > 0 && (size_t)len < sizeof(line))
                inferd_jsonw_raw(w, line, (size_t)len);
        }
    }
    pthread_mutex_unlock(&m->lock);
}

void inferd_mirror_restore(inferd_mirror_t *m)
{
    inferd_registry_t *registry = inferd_repo_registry(m->repo);
    if (registry == NULL)
        return;
    inferd_catalog_t *catalog = inferd_repo_snapshot(m->repo);
    for (size_t i = 0; i < catalog->n_models; i++) {
        const char *model = catalog->models[i]->name;
        char *json = NULL;
        inferd_err_t err;
        if (inferd_registry_get_state(registry, model, "shadow", &json, &err) != 0)
            continue;
        inferd_arena_t arena;
        inferd_arena_init(&arena, 1024, 1u << 20);
        inferd_json_t doc;
        int64_t version;
        double percent;
        if (inferd_json_parse(&doc, json, strlen(json), &arena, NULL) == 0 &&
            inferd_json_int64(&doc, inferd_json_get(&doc, 0, "version"), &version) == 0 &&
            inferd_json_double(&doc, inferd_json_get(&doc, 0, "percent"), &percent) == 0 &&
            percent >= 0 && percent <= 100 && activate(m, model, version, percent, &err) != 0)
            inferd_log_warn("model '%s': its shadow (version %lld) is not restored: %s", model,
                            (long long)version, err.msg);
        inferd_arena_free(&arena);
        free(json);
    }
    inferd_catalog_release(catalog);
}

int inferd_mirror_start(inferd_repo_t *repo, inferd_router_t *router, inferd_mirror_t **OUT_mirror)
{
    inferd_mirror_t *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return INFERD_ENOMEM;
    m->repo = repo;
    m->router = router;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->has_work, NULL);
    if (pthread_create(&m->worker, NULL, worker_main, m) != 0) {
        pthread_mutex_destroy(&m->lock);
        pthread_cond_destroy(&m->has_work);
        free(m);
        return INFERD_EINTERNAL;
    }
    m->has_worker = true;
    *OUT_mirror = m;
    return 0;
}

void inferd_mirror_stop(inferd_mirror_t *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    m->is_stopping = true;
    pthread_cond_signal(&m->has_work);
    pthread_mutex_unlock(&m->lock);
    if (m->has_worker)
        pthread_join(m->worker, NULL);
    while (m->head != NULL) {
        copy_t *c = m->head;
        m->head = c->next;
        free(c);
    }
    for (size_t i = 0; i < m->n_shadows; i++) {
        pthread_mutex_destroy(&m->shadows[i]->latency.lock);
        free(m->shadows[i]->model);
        free(m->shadows[i]);
    }
    free(m->shadows);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->has_work);
    free(m);
}
