/* Server-wide counters and the Prometheus text exposition of every metric (see
 * inferd/metrics.h). Per-version counters live in each version; this file only reads them. */
#include "inferd/metrics.h"
#include "inferd/sched.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "histogram.h"

/* HTTP statuses counted one by one; anything else falls into "other" of its class. */
static const int counted_statuses[] = {200, 400, 404, 405, 413, 415, 422, 429, 500, 503};
#define N_COUNTED (sizeof(counted_statuses) / sizeof(counted_statuses[0]))
static atomic_uint_fast64_t response_counts[N_COUNTED + 1];
static atomic_int_fast64_t open_connections;
static atomic_int_fast64_t connection_limit;
static atomic_uint_fast64_t accept_pauses;

static const char *const outcome_labels[] = {
#define INFERD_OUTCOME_LABEL(suffix, label) label,
    INFERD_OUTCOMES(INFERD_OUTCOME_LABEL)
#undef INFERD_OUTCOME_LABEL
};

inferd_outcome_t inferd_outcome_of_status(int http_status)
{
    if (http_status < 400)
        return INFERD_OUTCOME_SUCCESS;
    if (http_status == 503)
        return INFERD_OUTCOME_REJECTED;
    if (http_status == 504)
        return INFERD_OUTCOME_TIMEOUT;
    if (http_status < 500)
        return INFERD_OUTCOME_BAD_REQUEST;
    return INFERD_OUTCOME_ERROR;
}

void inferd_metrics_count_response(int status)
{
    size_t slot = N_COUNTED;
    for (size_t i = 0; i < N_COUNTED; i++)
        if (counted_statuses[i] == status)
            slot = i;
    atomic_fetch_add_explicit(&response_counts[slot], 1, memory_order_relaxed);
}

void inferd_metrics_add_connections(int delta)
{
    atomic_fetch_add_explicit(&open_connections, delta, memory_order_relaxed);
}

void inferd_metrics_set_connection_limit(int limit)
{
    atomic_store_explicit(&connection_limit, limit, memory_order_relaxed);
}

void inferd_metrics_count_accept_pause(void)
{
    atomic_fetch_add_explicit(&accept_pauses, 1, memory_order_relaxed);
}

static void write_header(inferd_jsonw_t *w, const char *name, const char *type, const char *help)
{
    inferd_jsonw_lit(w, "# HELP ");
    inferd_jsonw_lit(w, name);
    inferd_jsonw_lit(w, " ");
    inferd_jsonw_lit(w, help);
    inferd_jsonw_lit(w, "\n# TYPE ");
    inferd_jsonw_lit(w, name);
    inferd_jsonw_lit(w, " ");
    inferd_jsonw_lit(w, type);
    inferd_jsonw_lit(w, "\n");
}

/* Model names are folder names: label values are written with Prometheus's escapes. */
static void write_label_value(inferd_jsonw_t *w, const char *value)
{
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '\\' || *p == '"')
            inferd_jsonw_raw(w, "\\", 1);
        if (*p == '\n')
            inferd_jsonw_lit(w, "\\n");
        else
            inferd_jsonw_raw(w, p, 1);
    }
}

static void write_version_labels(inferd_jsonw_t *w, const char *name,
                                 const inferd_model_version_t *v)
{
    inferd_jsonw_lit(w, name);
    inferd_jsonw_lit(w, "{model=\"");
    write_label_value(w, v->model_name);
    inferd_jsonw_lit(w, "\",version=\"");
    inferd_jsonw_lit(w, v->version_str);
    inferd_jsonw_lit(w, "\"");
}

static uint64_t load(atomic_uint_fast64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static void write_seconds(inferd_jsonw_t *w, uint64_t ns)
{
    char text[32];
    snprintf(text, sizeof(text), " %.9f\n", (double)ns / 1e9);
    inferd_jsonw_lit(w, text);
}

/* Runs the statement that follows once for every version `v` of every model in `repo`. */
#define FOR_EACH_VERSION(repo, v)                                                                  \
    for (size_t mi_ = 0; mi_ < (repo)->n_models; mi_++)                                            \
        for (size_t vi_ = 0; vi_ < (repo)->models[mi_]->n_versions; vi_++)                         \
            for (inferd_model_version_t *v = (repo)->models[mi_]->versions[vi_]; v != NULL;        \
                 v = NULL)

static void render_requests(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    FOR_EACH_VERSION(repo, v)
    for (int o = 0; o < INFERD_OUTCOME_COUNT; o++) {
        write_version_labels(w, "inferd_requests_total", v);
        inferd_jsonw_lit(w, ",outcome=\"");
        inferd_jsonw_lit(w, outcome_labels[o]);
        inferd_jsonw_lit(w, "\"} ");
        inferd_jsonw_uint(w, load(&v->stats.requests[o]));
        inferd_jsonw_lit(w, "\n");
    }
}

/* One sample per version of the per-version counter at `offset` in inferd_version_stats_t;
 * counters of nanoseconds are written in seconds. */
static void render_version_counter(inferd_jsonw_t *w, const inferd_catalog_t *repo,
                                   const char *name, size_t offset, bool is_ns)
{
    FOR_EACH_VERSION(repo, v)
    {
        atomic_uint_fast64_t *counter = (atomic_uint_fast64_t *)((char *)&v->stats + offset);
        write_version_labels(w, name, v);
        if (is_ns) {
            inferd_jsonw_lit(w, "}");
            write_seconds(w, load(counter));
        } else {
            inferd_jsonw_lit(w, "} ");
            inferd_jsonw_uint(w, load(counter));
            inferd_jsonw_lit(w, "\n");
        }
    }
}

static void render_inferences(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    render_version_counter(w, repo, "inferd_inference_count_total",
                           offsetof(inferd_version_stats_t, inferences), false);
}

static void render_executions(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    render_version_counter(w, repo, "inferd_execution_count_total",
                           offsetof(inferd_version_stats_t, executions), false);
}

static void write_number(inferd_jsonw_t *w, double value, const char *format)
{
    char text[48];
    snprintf(text, sizeof(text), format, value);
    inferd_jsonw_lit(w, text);
}

/* One histogram per version: cumulative _bucket lines, _sum and _count. Durations are kept in
 * nanoseconds and written in seconds. */
static void render_histogram(inferd_jsonw_t *w, const inferd_catalog_t *repo, const char *name,
                             size_t offset, const uint64_t *bounds, int n_bounds, bool is_ns)
{
    char series[128];
    FOR_EACH_VERSION(repo, v)
    {
        inferd_histogram_t *h = (inferd_histogram_t *)((char *)&v->stats + offset);
        uint64_t cumulative = 0;
        snprintf(series, sizeof(series), "%s_bucket", name);
        for (int b = 0; b <= n_bounds; b++) {
            cumulative += load(&h->counts[b]);
            write_version_labels(w, series, v);
            inferd_jsonw_lit(w, ",le=\"");
            if (b == n_bounds)
                inferd_jsonw_lit(w, "+Inf");
            else if (is_ns)
                write_number(w, (double)bounds[b] / 1e9, "%g");
            else
                inferd_jsonw_uint(w, bounds[b]);
            inferd_jsonw_lit(w, "\"} ");
            inferd_jsonw_uint(w, cumulative);
            inferd_jsonw_lit(w, "\n");
        }
        snprintf(series, sizeof(series), "%s_sum", name);
        write_version_labels(w, series, v);
        inferd_jsonw_lit(w, "} ");
        uint64_t sum = load(&h->sum);
        if (is_ns)
            write_number(w, (double)sum / 1e9, "%.9f");
        else
            inferd_jsonw_uint(w, sum);
        inferd_jsonw_lit(w, "\n");
        snprintf(series, sizeof(series), "%s_count", name);
        write_version_labels(w, series, v);
        inferd_jsonw_lit(w, "} ");
        inferd_jsonw_uint(w, load(&h->count));
        inferd_jsonw_lit(w, "\n");
    }
}

static void render_request_duration(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    render_histogram(w, repo, "inferd_request_duration_seconds",
                     offsetof(inferd_version_stats_t, request_duration), duration_bounds_ns,
                     N_DURATION_BOUNDS, true);
}

static void render_queue_duration(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    render_histogram(w, repo, "inferd_queue_duration_seconds",
                     offsetof(inferd_version_stats_t, queue_duration), duration_bounds_ns,
                     N_DURATION_BOUNDS, true);
}

static void render_compute_duration(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    render_histogram(w, repo, "inferd_compute_duration_seconds",
                     offsetof(inferd_version_stats_t, compute_duration), duration_bounds_ns,
                     N_DURATION_BOUNDS, true);
}

static void render_batch_size(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    render_histogram(w, repo, "inferd_batch_size", offsetof(inferd_version_stats_t, batch_size),
                     size_bounds, N_SIZE_BOUNDS, false);
}

static void render_pending(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    FOR_EACH_VERSION(repo, v)
    {
        write_version_labels(w, "inferd_pending_requests", v);
        inferd_jsonw_lit(w, "} ");
        inferd_jsonw_int(w, v->sched != NULL ? inferd_sched_pending(v->sched) : 0);
        inferd_jsonw_lit(w, "\n");
    }
}

static void render_batch_limit(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    FOR_EACH_VERSION(repo, v)
    {
        write_version_labels(w, "inferd_batch_limit", v);
        inferd_jsonw_lit(w, "} ");
        int64_t limit = v->max_batch_size > 0 ? v->max_batch_size : 1;
        inferd_jsonw_int(w, v->sched != NULL ? inferd_sched_batch_limit(v->sched) : limit);
        inferd_jsonw_lit(w, "\n");
    }
}

/* One sample of a metric without labels: "name value". */
static void write_plain_sample(inferd_jsonw_t *w, const char *name, int64_t value)
{
    inferd_jsonw_lit(w, name);
    inferd_jsonw_lit(w, " ");
    inferd_jsonw_int(w, value);
    inferd_jsonw_lit(w, "\n");
}

static void render_connections(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    write_plain_sample(w, "inferd_http_connections",
                       atomic_load_explicit(&open_connections, memory_order_relaxed));
}

static void render_connection_limit(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    write_plain_sample(w, "inferd_http_connection_limit",
                       atomic_load_explicit(&connection_limit, memory_order_relaxed));
}

static void render_accept_pauses(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    write_plain_sample(w, "inferd_http_accept_pauses_total", (int64_t)load(&accept_pauses));
}

/* Resident pages from /proc/self/statm (its second field). */
static void render_resident_memory(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    long pages = 0, size;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &size, &pages) != 2)
            pages = 0;
        fclose(f);
    }
    write_plain_sample(w, "inferd_process_resident_memory_bytes",
                       (int64_t)pages * sysconf(_SC_PAGESIZE));
}

static void render_cpu_seconds(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double seconds = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
                     (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
    inferd_jsonw_lit(w, "inferd_process_cpu_seconds_total ");
    write_number(w, seconds, "%.6f");
    inferd_jsonw_lit(w, "\n");
}

static void render_ready(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    FOR_EACH_VERSION(repo, v)
    {
        write_version_labels(w, "inferd_model_ready", v);
        inferd_jsonw_lit(w, v->is_ready ? "} 1\n" : "} 0\n");
    }
}

static void render_load_seconds(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    FOR_EACH_VERSION(repo, v)
    {
        write_version_labels(w, "inferd_model_load_duration_seconds", v);
        inferd_jsonw_lit(w, "}");
        write_seconds(w, (uint64_t)(v->load_ms * 1e6));
    }
}

static void render_http_responses(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
    for (size_t i = 0; i <= N_COUNTED; i++) {
        char line[96];
        if (i < N_COUNTED)
            snprintf(line, sizeof(line), "inferd_http_responses_total{code=\"%d\"} ",
                     counted_statuses[i]);
        else
            snprintf(line, sizeof(line), "inferd_http_responses_total{code=\"other\"} ");
        inferd_jsonw_lit(w, line);
        inferd_jsonw_uint(w, load(&response_counts[i]));
        inferd_jsonw_lit(w, "\n");
    }
}

void inferd_metrics_render(inferd_jsonw_t *w, const inferd_catalog_t *repo)
{
#define METRIC(name, type, help, render)                                                           \
    write_header(w, #name, #type, help);                                                           \
    render(w, repo);
#include "metrics.def"
#undef METRIC
}
