/* Recording what each model version serves: outcome counts, histograms of request, queue and
 * compute time and of batch sizes, per-batch-size counters; and the statistics extension's JSON
 * (Triton's shape) built from them. Called from the request path: relaxed atomics only. */
#include "inferd/metrics.h"
#include "inferd/clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "histogram.h"

int inferd_stats_init(inferd_version_stats_t *stats, int64_t max_rows)
{
    stats->max_batch_rows = max_rows > 0 ? max_rows : 1;
    stats->batch_executions =
        calloc((size_t)stats->max_batch_rows + 1, sizeof(atomic_uint_fast64_t));
    stats->batch_compute_ns =
        calloc((size_t)stats->max_batch_rows + 1, sizeof(atomic_uint_fast64_t));
    if (stats->batch_executions == NULL || stats->batch_compute_ns == NULL) {
        inferd_stats_free(stats);
        return INFERD_ENOMEM;
    }
    return 0;
}

void inferd_stats_free(inferd_version_stats_t *stats)
{
    free(stats->batch_executions);
    free(stats->batch_compute_ns);
    stats->batch_executions = stats->batch_compute_ns = NULL;
    stats->max_batch_rows = 0;
}

static void add(atomic_uint_fast64_t *counter, uint64_t value)
{
    atomic_fetch_add_explicit(counter, value, memory_order_relaxed);
}

void inferd_stats_record_request(inferd_model_version_t *v, inferd_outcome_t outcome,
                                 uint64_t request_ns, uint64_t queue_ns)
{
    inferd_version_stats_t *stats = &v->stats;
    add(&stats->requests[outcome], 1);
    add(outcome == INFERD_OUTCOME_SUCCESS ? &stats->success_ns : &stats->fail_ns, request_ns);
    histogram_observe(&stats->request_duration, duration_bounds_ns, N_DURATION_BOUNDS, request_ns);
    if (outcome == INFERD_OUTCOME_SUCCESS)
        histogram_observe(&stats->queue_duration, duration_bounds_ns, N_DURATION_BOUNDS, queue_ns);
}

void inferd_stats_record_execution(inferd_model_version_t *v, int64_t rows, uint64_t compute_ns)
{
    inferd_version_stats_t *stats = &v->stats;
    add(&stats->executions, 1);
    add(&stats->inferences, (uint64_t)rows);
    atomic_store_explicit(&stats->last_inference_ms, (uint64_t)inferd_wall_ms(),
                          memory_order_relaxed);
    histogram_observe(&stats->compute_duration, duration_bounds_ns, N_DURATION_BOUNDS, compute_ns);
    histogram_observe(&stats->batch_size, size_bounds, N_SIZE_BOUNDS, (uint64_t)rows);
    if (stats->batch_executions != NULL && rows >= 1 && rows <= stats->max_batch_rows) {
        add(&stats->batch_executions[rows], 1);
        add(&stats->batch_compute_ns[rows], compute_ns);
    }
}

/* ==== the statistics extension (Triton's JSON) ==== */

static uint64_t load(atomic_uint_fast64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static void write_duration(inferd_jsonw_t *w, const char *name, uint64_t count, uint64_t ns)
{
    inferd_jsonw_lit(w, "\"");
    inferd_jsonw_lit(w, name);
    inferd_jsonw_lit(w, "\":{\"count\":");
    inferd_jsonw_uint(w, count);
    inferd_jsonw_lit(w, ",\"ns\":");
    inferd_jsonw_uint(w, ns);
    inferd_jsonw_lit(w, "}");
}

static void write_version_stats(inferd_jsonw_t *w, inferd_model_version_t *v)
{
    inferd_version_stats_t *s = &v->stats;
    uint64_t success = load(&s->requests[INFERD_OUTCOME_SUCCESS]), failed = 0;
    for (int o = 0; o < INFERD_OUTCOME_COUNT; o++)
        if (o != INFERD_OUTCOME_SUCCESS)
            failed += load(&s->requests[o]);
    uint64_t executions = load(&s->executions);
    inferd_jsonw_lit(w, "{\"name\":");
    inferd_jsonw_cstr(w, v->model_name);
    inferd_jsonw_lit(w, ",\"version\":");
    inferd_jsonw_cstr(w, v->version_str);
    inferd_jsonw_lit(w, ",\"last_inference\":");
    inferd_jsonw_uint(w, load(&s->last_inference_ms));
    inferd_jsonw_lit(w, ",\"inference_count\":");
    inferd_jsonw_uint(w, load(&s->inferences));
    inferd_jsonw_lit(w, ",\"execution_count\":");
    inferd_jsonw_uint(w, executions);
    inferd_jsonw_lit(w, ",\"inference_stats\":{");
    write_duration(w, "success", success, load(&s->success_ns));
    inferd_jsonw_lit(w, ",");
    write_duration(w, "fail", failed, load(&s->fail_ns));
    inferd_jsonw_lit(w, ",");
    write_duration(w, "queue", load(&s->queue_duration.count), load(&s->queue_duration.sum));
    inferd_jsonw_lit(w, ",");
    write_duration(w, "compute_input", executions, 0);
    inferd_jsonw_lit(w, ",");
    write_duration(w, "compute_infer", executions, load(&s->compute_duration.sum));
    inferd_jsonw_lit(w, ",");
    write_duration(w, "compute_output", executions, 0);
    inferd_jsonw_lit(w, "},\"batch_stats\":[");
    bool is_first = true;
    for (int64_t rows = 1; s->batch_executions != NULL && rows <= s->max_batch_rows; rows++) {
        uint64_t count = load(&s->batch_executions[rows]);
        if (count == 0)
            continue;
        inferd_jsonw_lit(w, is_first ? "{\"batch_size\":" : ",{\"batch_size\":");
        is_first = false;
        inferd_jsonw_int(w, rows);
        inferd_jsonw_lit(w, ",");
        write_duration(w, "compute_input", count, 0);
        inferd_jsonw_lit(w, ",");
        write_duration(w, "compute_infer", count, load(&s->batch_compute_ns[rows]));
        inferd_jsonw_lit(w, ",");
        write_duration(w, "compute_output", count, 0);
        inferd_jsonw_lit(w, "}");
    }
    inferd_jsonw_lit(w, "]}");
}

void inferd_stats_render(inferd_jsonw_t *w, const inferd_catalog_t *repo, const char *model,
                         const char *version)
{
    inferd_jsonw_lit(w, "{\"model_stats\":[");
    bool is_first = true;
    for (size_t m = 0; m < repo->n_models; m++) {
        const inferd_model_t *entry = repo->models[m];
        if (model != NULL && strcmp(entry->name, model) != 0)
            continue;
        for (size_t i = 0; i < entry->n_versions; i++) {
            inferd_model_version_t *v = entry->versions[i];
            if ((version != NULL && strcmp(v->version_str, version) != 0) || !v->is_ready)
                continue;
            if (!is_first)
                inferd_jsonw_lit(w, ",");
            is_first = false;
            write_version_stats(w, v);
        }
    }
    inferd_jsonw_lit(w, "]}");
}
