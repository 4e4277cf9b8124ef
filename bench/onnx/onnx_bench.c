/* onnx_bench: how long inferd's ONNX executor takes to run one model, outside the server.
 * Loads MODEL.onnx with the backend's own loader, runs it on a deterministic random input of the
 * model's input shape (batch as given), and prints the median and p10 latency of one run in
 * microseconds. The ONNX Runtime side of the comparison is ort_bench.js; run.sh runs both.
 * --batches B1,B2,... cycles through several batch sizes, one per run (as dynamic batching does),
 * and --contexts N runs N execution contexts in turn (as N server instances would), for the cost
 * of shape changes and the memory each context adds.
 * Not a test: outputs are not checked against a reference, only that every run succeeds. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/onnx/exec.h"
#include "backends/onnx/exec_threads.h"
#include "backends/onnx/graph.h"
#include "inferd/arena.h"

/* Exit statuses run.sh relies on. */
enum { EXIT_RUN_FAILED = 1, EXIT_USAGE = 2, EXIT_UNSUPPORTED = 3 };

#define MIN_TIMED_RUNS    20
#define MAX_TIMED_RUNS    1000000
#define MIN_TIMED_NS      1000000000LL /* default: time at least 1 s of runs */
#define MIN_WARMUP_RUNS   3
#define MIN_WARMUP_NS     200000000LL /* oneDNN builds its primitives in the first runs */
#define INPUT_SEED        0x1f2e3d4c5b6a7988ULL
#define ARENA_BLOCK_BYTES (1 << 20)
#define MAX_BATCH_SIZES   16
#define MAX_CONTEXTS      64

typedef struct bench_options {
    const char *model_path;
    int64_t batch;                    /* the largest of batches[] */
    int64_t batches[MAX_BATCH_SIZES]; /* run i uses batches[i % n_batches] */
    int n_batches;
    int contexts; /* run i uses context i % contexts */
    int threads;
    int64_t runs;          /* 0: enough for MIN_TIMED_NS, at least MIN_TIMED_RUNS */
    const char *dump_path; /* write input 0 and output 0 there as raw FP32 (.in, .out), or NULL */
} bench_options_t;

static void usage(void)
{
    fprintf(stderr,
            "usage: onnx_bench MODEL.onnx --batch B|--batches B1,B2,... --threads T [--runs N]\n"
            "                  [--contexts N] [--dump PATH]\n"
            "exit status: 0 measured, 1 a run failed, 2 misuse, 3 the model does not load\n");
}

/* Parses a positive integer no larger than `max`; returns 0, or -1 when `text` is not one. */
static int parse_positive(const char *text, int64_t max, int64_t *OUT_value)
{
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 1 || value > max)
        return -1;
    *OUT_value = value;
    return 0;
}

/* Parses a comma-separated list of batch sizes into opts; returns 0 or -1 when malformed. */
static int parse_batches(const char *text, bench_options_t *opts)
{
    char item[32];
    opts->n_batches = 0;
    opts->batch = 0;
    while (*text != '\0') {
        size_t len = strcspn(text, ",");
        int64_t value;
        if (len == 0 || len >= sizeof(item) || opts->n_batches == MAX_BATCH_SIZES)
            return -1;
        memcpy(item, text, len);
        item[len] = '\0';
        if (parse_positive(item, 1 << 20, &value) != 0)
            return -1;
        opts->batches[opts->n_batches++] = value;
        if (value > opts->batch)
            opts->batch = value;
        text += len + (text[len] == ',');
    }
    return opts->n_batches > 0 ? 0 : -1;
}

/* Fills `opts` from the command line; returns 0, or -1 after printing what is wrong. */
static int parse_options(int argc, char **argv, bench_options_t *OUT_opts)
{
    bench_options_t opts = {.batch = 0, .threads = 0, .runs = 0, .contexts = 1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int64_t value = 0;
        if (arg[0] != '-') {
            if (opts.model_path != NULL) {
                fprintf(stderr, "onnx_bench: more than one model given ('%s')\n", arg);
                return -1;
            }
            opts.model_path = arg;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "onnx_bench: %s needs a value\n", arg);
            return -1;
        }
        const char *text = argv[++i];
        bool is_valid = true;
        if (strcmp(arg, "--dump") == 0) {
            opts.dump_path = text;
        } else if (strcmp(arg, "--batch") == 0 || strcmp(arg, "--batches") == 0) {
            is_valid = parse_batches(text, &opts) == 0 &&
                       (opts.n_batches == 1 || strcmp(arg, "--batches") == 0);
        } else if (strcmp(arg, "--contexts") == 0) {
            is_valid = parse_positive(text, MAX_CONTEXTS, &value) == 0;
            opts.contexts = (int)value;
        } else if (strcmp(arg, "--threads") == 0) {
            is_valid = parse_positive(text, 1024, &value) == 0;
            opts.threads = (int)value;
        } else if (strcmp(arg, "--runs") == 0) {
            is_valid = parse_positive(text, MAX_TIMED_RUNS, &value) == 0;
            opts.runs = value;
        } else {
            is_valid = false;
        }
        if (!is_valid) {
            fprintf(stderr, "onnx_bench: bad option or value: %s %s\n", arg, text);
            return -1;
        }
    }
    if (opts.model_path == NULL || opts.batch == 0 || opts.threads == 0) {
        fprintf(stderr,
                "onnx_bench: MODEL.onnx, --batch (or --batches) and --threads are required\n");
        return -1;
    }
    *OUT_opts = opts;
    return 0;
}

/* The process's resident set in MiB (VmRSS of /proc/self/status), or -1 when unknown. */
static double rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1.0;
    char line[256];
    double mib = -1.0;
    while (fgets(line, sizeof(line), f) != NULL) {
        long long kib;
        if (sscanf(line, "VmRSS: %lld kB", &kib) == 1) {
            mib = (double)kib / 1024.0;
            break;
        }
    }
    fclose(f);
    return mib;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* splitmix64: a small, well-mixed generator, so that the input is the same on every run. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Builds graph input `index` with `batch` rows: FP32 uniform in [-1, 1); integer types zero
 * (a valid index for any Gather). The data is malloc'ed: the caller frees t->data. Returns 0, or
 * -1 after printing why (a dimension other than the first is symbolic, or an unsupported
 * datatype). */
static int make_input(const onnx_graph_t *g, size_t index, int64_t batch, uint64_t *seed,
                      inferd_tensor_t *OUT_t)
{
    const inferd_io_spec_t *spec = &g->sig.inputs[index];
    inferd_tensor_t t = {.name = spec->name, .dtype = spec->dtype, .ndim = spec->ndim};
    if (spec->ndim < 1) {
        fprintf(stderr, "onnx_bench: input '%s' is a scalar: no batch dimension\n", spec->name);
        return -1;
    }
    for (int d = 0; d < spec->ndim; d++) {
        t.shape[d] = d == 0 ? batch : spec->shape[d];
        if (t.shape[d] < 0) {
            fprintf(stderr,
                    "onnx_bench: input '%s' has a symbolic dimension %d; only the first "
                    "(the batch) may be\n",
                    spec->name, d);
            return -1;
        }
    }
    int64_t count = inferd_tensor_count(&t);
    size_t element_bytes = inferd_dtype_size(t.dtype);
    if (count < 0 || element_bytes == 0) {
        fprintf(stderr, "onnx_bench: input '%s': cannot make a %s tensor of this shape\n",
                spec->name, inferd_dtype_name(t.dtype));
        return -1;
    }
    t.data = calloc((size_t)count + 1, element_bytes);
    if (t.data == NULL) {
        fprintf(stderr, "onnx_bench: out of memory for input '%s'\n", spec->name);
        return -1;
    }
    if (t.dtype == INFERD_DT_FP32) {
        float *values = t.data;
        for (int64_t i = 0; i < count; i++)
            values[i] = (float)(next_random(seed) >> 40) / (float)(1 << 23) - 1.0f;
    }
    *OUT_t = t;
    return 0;
}

/* Per-run latencies, grown as runs are added. */
typedef struct samples {
    double *us;
    int64_t count, capacity;
} samples_t;

/* Appends `value`; the first allocation holds `expected` values. Returns 0, or -1 when out of
 * memory (the samples so far are kept). */
static int samples_push(samples_t *samples, double value, int64_t expected)
{
    if (samples->count == samples->capacity) {
        int64_t capacity = samples->capacity > 0 ? samples->capacity * 2 : expected;
        double *grown = realloc(samples->us, (size_t)capacity * sizeof(*grown));
        if (grown == NULL)
            return -1;
        samples->us = grown;
        samples->capacity = capacity;
    }
    samples->us[samples->count++] = value;
    return 0;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The value at fraction `q` of the sorted `values` (nearest rank). */
static double quantile(const double *sorted, int64_t n, double q)
{
    int64_t rank = (int64_t)ceil(q * (double)n);
    return sorted[rank < 1 ? 0 : rank - 1];
}

/* Writes `t`'s data to `path`; returns 0 or -1 after printing why. */
static int write_raw(const char *path, const inferd_tensor_t *t)
{
    FILE *f = fopen(path, "wb");
    size_t bytes = (size_t)inferd_tensor_bytes(t);
    bool is_written = f != NULL && fwrite(t->data, 1, bytes, f) == bytes;
    if (f != NULL && fclose(f) != 0)
        is_written = false;
    if (!is_written)
        fprintf(stderr, "onnx_bench: cannot write %s\n", path);
    return is_written ? 0 : -1;
}

/* --dump PATH: the input as PATH.in and the output as PATH.out (raw values), to compare with
 * another engine's output for the same input (bench/onnx/compare.sh). */
static int dump(const char *path, const inferd_tensor_t *input, const inferd_tensor_t *output)
{
    char name[4096];
    snprintf(name, sizeof(name), "%s.in", path);
    if (write_raw(name, input) != 0)
        return -1;
    snprintf(name, sizeof(name), "%s.out", path);
    return write_raw(name, output);
}

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One run: the arena is reset first, as the server does per request; the inputs are the first
 * `batch` rows of `inputs` (made for the largest batch). Returns 0 or the executor's code with
 * err filled in. */
static int run_once(onnx_exec_t *ctx, const onnx_graph_t *g, const inferd_tensor_t *inputs,
                    int64_t batch, inferd_tensor_t *outputs, inferd_arena_t *arena,
                    int64_t *OUT_elapsed_ns, inferd_err_t *err)
{
    inferd_tensor_t rows[16];
    size_t n_inputs = g->sig.n_inputs;
    const inferd_tensor_t *run_inputs = inputs;
    if (n_inputs <= sizeof(rows) / sizeof(rows[0])) {
        for (size_t i = 0; i < n_inputs; i++) {
            rows[i] = inputs[i];
            rows[i].shape[0] = batch;
        }
        run_inputs = rows;
    }
    int64_t start_ns = now_ns();
    inferd_arena_reset(arena);
    int rc = onnx_exec_run(ctx, g, run_inputs, outputs, arena, err);
    *OUT_elapsed_ns = now_ns() - start_ns;
    return rc;
}

int main(int argc, char **argv)
{
    bench_options_t opts;
    if (parse_options(argc, argv, &opts) != 0) {
        usage();
        return EXIT_USAGE;
    }
    omp_set_num_threads(opts.threads);

    onnx_graph_t graph;
    inferd_err_t err = {0};
    int rc = onnx_graph_load(opts.model_path, &graph, &err);
    if (rc != 0) {
        fprintf(stderr, "onnx_bench: %s\n", err.msg);
        return rc == INFERD_EMODEL ? EXIT_UNSUPPORTED : EXIT_RUN_FAILED;
    }
    double rss_loaded_mib = rss_mib();

    int status = EXIT_RUN_FAILED;
    size_t n_inputs = graph.sig.n_inputs, n_outputs = graph.sig.n_outputs;
    inferd_tensor_t *inputs = calloc(n_inputs + 1, sizeof(*inputs));
    inferd_tensor_t *outputs = calloc(n_outputs + 1, sizeof(*outputs));
    samples_t samples[MAX_BATCH_SIZES] = {{0}};
    onnx_exec_t *contexts[MAX_CONTEXTS] = {NULL};
    bool has_contexts = true;
    for (int c = 0; c < opts.contexts; c++)
        has_contexts = has_contexts && (contexts[c] = onnx_exec_new(&graph)) != NULL;
    inferd_arena_t arena;
    inferd_arena_init(&arena, ARENA_BLOCK_BYTES, 0);
    if (inputs == NULL || outputs == NULL || !has_contexts) {
        fprintf(stderr, "onnx_bench: out of memory\n");
        goto done;
    }
    if (n_inputs > 16 && opts.n_batches > 1) {
        fprintf(stderr, "onnx_bench: --batches takes models of at most 16 inputs\n");
        status = EXIT_USAGE;
        goto done;
    }
    uint64_t seed = INPUT_SEED;
    for (size_t i = 0; i < n_inputs; i++)
        if (make_input(&graph, i, opts.batch, &seed, &inputs[i]) != 0) {
            status = EXIT_USAGE;
            goto done;
        }
    for (size_t o = 0; o < n_outputs; o++)
        outputs[o].name = graph.sig.outputs[o].name;

    /* Warm-up: the first runs build oneDNN primitives and grow the buffer pool; every context
     * sees every batch size at least once, and on more than one thread often enough to settle
     * which nodes run on one (exec_threads.h). */
    int64_t settle_runs =
        (opts.threads > 1 ? ONNX_THREAD_PLAN_RUNS : 1) * opts.n_batches * opts.contexts;
    int64_t min_warmup_runs = MIN_WARMUP_RUNS;
    if (min_warmup_runs < settle_runs + opts.n_batches * opts.contexts)
        min_warmup_runs = settle_runs + opts.n_batches * opts.contexts;
    int64_t warmup_runs = 0, warmup_ns = 0, steady_ns = 0, elapsed_ns;
    while (warmup_runs < min_warmup_runs || warmup_ns < MIN_WARMUP_NS) {
        int64_t batch = opts.batches[warmup_runs % opts.n_batches];
        onnx_exec_t *ctx = contexts[(warmup_runs / opts.n_batches) % opts.contexts];
        if (run_once(ctx, &graph, inputs, batch, outputs, &arena, &elapsed_ns, &err) != 0) {
            fprintf(stderr, "onnx_bench: run failed: %s\n", err.msg);
            goto done;
        }
        warmup_ns += elapsed_ns;
        if (warmup_runs++ >= settle_runs)
            steady_ns += elapsed_ns; /* the first runs pay one-time set-up */
    }

    /* Timed runs: exactly opts.runs, or until MIN_TIMED_NS have passed and there are at least
     * MIN_TIMED_RUNS. The warm-up's pace sizes the first allocation. */
    int64_t steady_runs = warmup_runs - settle_runs;
    int64_t per_run_ns = steady_ns / (steady_runs > 0 ? steady_runs : 1) + 1;
    int64_t expected_runs = opts.runs > 0 ? opts.runs : MIN_TIMED_NS / per_run_ns + MIN_TIMED_RUNS;
    int64_t timed_ns = 0, runs = 0, rows = 0, start_cpu_ns = cpu_ns();
    while (opts.runs > 0
               ? runs < opts.runs
               : (runs < MIN_TIMED_RUNS || timed_ns < MIN_TIMED_NS) && runs < MAX_TIMED_RUNS) {
        int b = (int)(runs % opts.n_batches);
        onnx_exec_t *ctx = contexts[(runs / opts.n_batches) % opts.contexts];
        if (run_once(ctx, &graph, inputs, opts.batches[b], outputs, &arena, &elapsed_ns, &err) !=
            0) {
            fprintf(stderr, "onnx_bench: run failed: %s\n", err.msg);
            goto done;
        }
        if (samples_push(&samples[b], (double)elapsed_ns / 1000.0,
                         expected_runs / opts.n_batches + 1) != 0) {
            fprintf(stderr, "onnx_bench: out of memory\n");
            goto done;
        }
        timed_ns += elapsed_ns;
        rows += opts.batches[b];
        runs++;
    }
    double cpu_us_per_row = (double)(cpu_ns() - start_cpu_ns) / 1000.0 / (double)rows;
    double rss_warm_mib = rss_mib();
    if (opts.dump_path != NULL && dump(opts.dump_path, &inputs[0], &outputs[0]) != 0)
        goto done;

    char out_shape[96];
    inferd_shape_str(outputs[0].shape, outputs[0].ndim, out_shape, sizeof(out_shape));
    if (opts.n_batches == 1) {
        samples_t *only = &samples[0];
        qsort(only->us, (size_t)only->count, sizeof(*only->us), compare_doubles);
        printf("engine=inferd batch=%lld threads=%d runs=%lld median_us=%.2f p10_us=%.2f ",
               (long long)opts.batch, opts.threads, (long long)runs,
               quantile(only->us, only->count, 0.5), quantile(only->us, only->count, 0.1));
    } else {
        printf("engine=inferd batches=");
        for (int b = 0; b < opts.n_batches; b++)
            printf("%s%lld", b > 0 ? "," : "", (long long)opts.batches[b]);
        printf(" threads=%d runs=%lld", opts.threads, (long long)runs);
        for (int b = 0; b < opts.n_batches; b++) {
            samples_t *one = &samples[b];
            qsort(one->us, (size_t)one->count, sizeof(*one->us), compare_doubles);
            printf(" median_us_b%lld=%.2f", (long long)opts.batches[b],
                   quantile(one->us, one->count, 0.5));
        }
        printf(" ");
    }
    printf("cpu_us_per_row=%.2f output=%s contexts=%d rss_loaded_mib=%.1f rss_run_mib=%.1f\n",
           cpu_us_per_row, out_shape, opts.contexts, rss_loaded_mib, rss_warm_mib);
    status = 0;

done:
    for (int b = 0; b < MAX_BATCH_SIZES; b++)
        free(samples[b].us);
    if (inputs != NULL)
        for (size_t i = 0; i < n_inputs; i++)
            free(inputs[i].data);
    free(inputs);
    free(outputs);
    inferd_arena_free(&arena);
    for (int c = 0; c < opts.contexts; c++)
        if (contexts[c] != NULL)
            onnx_exec_free(contexts[c]);
    onnx_graph_free(&graph);
    return status;
}
