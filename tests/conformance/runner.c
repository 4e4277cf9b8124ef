/* The ONNX backend test suite runner: loads each test model of Debian's libonnx-testdata through
 * inferd's ONNX loader, runs every test_data_set_N through the executor and compares with the
 * stored outputs (rtol 1e-3, atol 1e-7, as ONNX's own runner). Prints PASS / FAIL /
 * UNSUPPORTED per test and counts per suite; with --expect, fails when any test listed as
 * passing no longer passes, so conformance cannot regress silently. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/onnx/exec.h"
#include "backends/onnx/graph.h"
#include "backends/onnx/ops/common.h"
#include "inferd/log.h"

#define DEFAULT_DATA_DIR     "/usr/share/libonnx-testdata/data"
#define TEST_TIMEOUT_SECONDS 20
#define RTOL                 1e-3
#define ATOL                 1e-7

typedef enum { RESULT_PASS, RESULT_FAIL, RESULT_UNSUPPORTED } result_t;

typedef struct {
    char **names;
    size_t count, capacity;
} name_list_t;

static void list_add(name_list_t *list, const char *name)
{
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? list->capacity * 2 : 256;
        list->names = realloc(list->names, list->capacity * sizeof(char *));
        if (list->names == NULL)
            abort();
    }
    list->names[list->count++] = strdup(name);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool list_has(const name_list_t *list, const char *name)
{
    return bsearch(&name, list->names, list->count, sizeof(char *), compare_strings) != NULL;
}

/* The sorted sub-folder names of `dir`. */
static name_list_t subdirs(const char *dir, const char *prefix)
{
    name_list_t list = {0};
    DIR *d = opendir(dir);
    if (d == NULL)
        return list;
    struct dirent *entry;
    char path[4096];
    struct stat st;
    while ((entry = readdir(d)) != NULL) {
        if (entry->d_name[0] == '.' || strncmp(entry->d_name, prefix, strlen(prefix)) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            list_add(&list, entry->d_name);
    }
    closedir(d);
    if (list.count > 1)
        qsort(list.names, list.count, sizeof(char *), compare_strings);
    return list;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
    if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
        free(data);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return data;
}

/* Reads DIR/<kind>_<i>.pb as a tensor. Returns 1 when loaded, 0 when the file does not exist,
 * -1 when it is not a tensor inferd can hold (sequences, strings...). */
static int read_tensor_file(const char *dir, const char *kind, int i, inferd_tensor_t *t, char *why,
                            size_t why_len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s_%d.pb", dir, kind, i);
    size_t len;
    uint8_t *bytes = read_file(path, &len);
    if (bytes == NULL)
        return 0;
    Onnx__TensorProto *proto = onnx__tensor_proto__unpack(NULL, len, bytes);
    free(bytes);
    if (proto == NULL) {
        snprintf(why, why_len, "%s_%d.pb is not a TensorProto (sequence or optional)", kind, i);
        return -1;
    }
    inferd_err_t err = {0};
    int rc = onnx_tensor_from_proto(proto, t, &err);
    onnx__tensor_proto__free_unpacked(proto, NULL);
    if (rc != 0) {
        snprintf(why, why_len, "%s_%d.pb: %s", kind, i, err.msg);
        return -1;
    }
    return 1;
}

static bool is_float_type(inferd_dtype_t dtype)
{
    return dtype == INFERD_DT_FP32 || dtype == INFERD_DT_FP64 || dtype == INFERD_DT_FP16;
}

/* Compares one output; on a mismatch writes why and returns false. */
static bool outputs_match(const inferd_tensor_t *got, const inferd_tensor_t *want, int index,
                          char *why, size_t why_len)
{
    char a[128], b[128];
    if (got->dtype != want->dtype) {
        snprintf(why, why_len, "output %d has datatype %s, expected %s", index,
                 inferd_dtype_name(got->dtype), inferd_dtype_name(want->dtype));
        return false;
    }
    bool same_shape = got->ndim == want->ndim;
    for (int d = 0; same_shape && d < got->ndim; d++)
        same_shape = got->shape[d] == want->shape[d];
    if (!same_shape) {
        snprintf(why, why_len, "output %d has shape %s, expected %s", index,
                 inferd_shape_str(got->shape, got->ndim, a, sizeof(a)),
                 inferd_shape_str(want->shape, want->ndim, b, sizeof(b)));
        return false;
    }
    int64_t n = inferd_tensor_count(want);
    for (int64_t i = 0; i < n; i++) {
        double g = onnx_get_f64(got, i), w = onnx_get_f64(want, i);
        bool ok;
        if (is_float_type(want->dtype))
            ok = (isnan(g) && isnan(w)) || (isinf(w) && g == w) ||
                 fabs(g - w) <= ATOL + RTOL * fabs(w);
        else
            ok = memcmp((const char *)got->data + i * (int64_t)inferd_dtype_size(got->dtype),
                        (const char *)want->data + i * (int64_t)inferd_dtype_size(want->dtype),
                        inferd_dtype_size(want->dtype)) == 0;
        if (!ok) {
            snprintf(why, why_len, "output %d element %lld: got %.9g, expected %.9g", index,
                     (long long)i, g, w);
            return false;
        }
    }
    return true;
}

static result_t run_test(const char *test_dir, char *why, size_t why_len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/model.onnx", test_dir);
    onnx_graph_t graph;
    inferd_err_t err = {0};
    if (onnx_graph_load(path, &graph, &err) != 0) {
        snprintf(why, why_len, "%s", err.msg);
        return RESULT_UNSUPPORTED;
    }
    onnx_exec_t *ctx = onnx_exec_new(&graph);
    inferd_arena_t arena;
    inferd_arena_init(&arena, 1 << 20, 0);
    name_list_t sets = subdirs(test_dir, "test_data_set_");
    result_t result = sets.count ? RESULT_PASS : RESULT_UNSUPPORTED;
    if (sets.count == 0)
        snprintf(why, why_len, "no test_data_set folders");
    inferd_tensor_t inputs[ONNX_MAX_NODE_INPUTS], outputs[ONNX_MAX_NODE_OUTPUTS],
        expected[ONNX_MAX_NODE_OUTPUTS];
    for (size_t s = 0; s < sets.count && result == RESULT_PASS; s++) {
        char set_dir[4096];
        snprintf(set_dir, sizeof(set_dir), "%s/%s", test_dir, sets.names[s]);
        int n_inputs = 0, n_expected = 0, rc;
        memset(inputs, 0, sizeof(inputs));
        memset(outputs, 0, sizeof(outputs));
        memset(expected, 0, sizeof(expected));
        while (n_inputs < ONNX_MAX_NODE_INPUTS &&
               (rc = read_tensor_file(set_dir, "input", n_inputs, &inputs[n_inputs], why,
                                      why_len)) == 1)
            n_inputs++;
        if (rc < 0) {
            result = RESULT_UNSUPPORTED;
        } else {
            while (n_expected < ONNX_MAX_NODE_OUTPUTS &&
                   (rc = read_tensor_file(set_dir, "output", n_expected, &expected[n_expected], why,
                                          why_len)) == 1)
                n_expected++;
            if (rc < 0)
                result = RESULT_UNSUPPORTED;
        }
        if (result == RESULT_PASS && n_inputs != graph.n_inputs) {
            snprintf(why, why_len, "the test gives %d inputs, the graph takes %d", n_inputs,
                     graph.n_inputs);
            result = RESULT_UNSUPPORTED;
        }
        if (result == RESULT_PASS && n_expected != graph.n_outputs) {
            snprintf(why, why_len, "the test expects %d outputs, the graph has %d", n_expected,
                     graph.n_outputs);
            result = RESULT_FAIL;
        }
        if (result == RESULT_PASS) {
            for (int i = 0; i < n_inputs; i++)
                inputs[i].name = graph.values[graph.inputs[i]].name;
            inferd_arena_reset(&arena);
            if (onnx_exec_run(ctx, &graph, inputs, outputs, &arena, &err) != 0) {
                snprintf(why, why_len, "%s", err.msg);
                result = RESULT_FAIL;
            }
        }
        for (int o = 0; result == RESULT_PASS && o < n_expected; o++)
            if (!outputs_match(&outputs[o], &expected[o], o, why, why_len))
                result = RESULT_FAIL;
        for (int i = 0; i < n_inputs; i++)
            free(inputs[i].data);
        for (int o = 0; o < n_expected; o++)
            free(expected[o].data);
    }
    for (size_t s = 0; s < sets.count; s++)
        free(sets.names[s]);
    free(sets.names);
    inferd_arena_free(&arena);
    onnx_exec_free(ctx);
    onnx_graph_free(&graph);
    return result;
}

static const char *current_test = "";

static void on_timeout(int sig)
{
    fprintf(stderr, "TIMEOUT %s: ran longer than %d s\n", current_test, TEST_TIMEOUT_SECONDS);
    _exit(3);
}

static void usage(FILE *to)
{
    fprintf(to, "usage: onnx_conformance [--data DIR] [--suite NAME]... [--filter TEXT]\n"
                "                        [--expect FILE] [--write-expect FILE] [-q]\n"
                "  --suite    node, pytorch-converted, pytorch-operator, simple (default: all)\n"
                "  --filter   run only tests whose name contains TEXT\n"
                "  --expect   fail when a test listed in FILE (suite/test per line) does not pass\n"
                "  --write-expect  write the passing tests to FILE\n"
                "  -q         print only failures and the summary\n");
}

int main(int argc, char **argv)
{
    const char *data_dir = DEFAULT_DATA_DIR, *filter = NULL, *expect_path = NULL,
               *write_path = NULL;
    const char *suites[8];
    int n_suites = 0;
    bool is_quiet = false;
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--data") == 0 && has_value)
            data_dir = argv[++i];
        else if (strcmp(argv[i], "--suite") == 0 && has_value && n_suites < 8)
            suites[n_suites++] = argv[++i];
        else if (strcmp(argv[i], "--filter") == 0 && has_value)
            filter = argv[++i];
        else if (strcmp(argv[i], "--expect") == 0 && has_value)
            expect_path = argv[++i];
        else if (strcmp(argv[i], "--write-expect") == 0 && has_value)
            write_path = argv[++i];
        else if (strcmp(argv[i], "-q") == 0)
            is_quiet = true;
        else {
            usage(strcmp(argv[i], "--help") == 0 ? stdout : stderr);
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (n_suites == 0) {
        static const char *const all[] = {"node", "pytorch-converted", "pytorch-operator",
                                          "simple"};
        for (int i = 0; i < 4; i++)
            suites[n_suites++] = all[i];
    }
    inferd_log_set_level(INFERD_LOG_ERROR + 1);
    signal(SIGALRM, on_timeout);
    name_list_t passed = {0};
    int total_pass = 0, total_fail = 0, total_unsupported = 0;
    char why[1024], name[512];
    for (int s = 0; s < n_suites; s++) {
        char suite_dir[4096];
        snprintf(suite_dir, sizeof(suite_dir), "%s/%s", data_dir, suites[s]);
        name_list_t tests = subdirs(suite_dir, "");
        if (tests.count == 0) {
            fprintf(stderr, "no tests in %s (install libonnx-testdata)\n", suite_dir);
            return 2;
        }
        int pass = 0, fail = 0, unsupported = 0;
        for (size_t t = 0; t < tests.count; t++) {
            if (filter != NULL && strstr(tests.names[t], filter) == NULL)
                continue;
            char test_dir[4096];
            snprintf(test_dir, sizeof(test_dir), "%s/%s", suite_dir, tests.names[t]);
            snprintf(name, sizeof(name), "%s/%s", suites[s], tests.names[t]);
            current_test = name;
            why[0] = '\0';
            alarm(TEST_TIMEOUT_SECONDS);
            result_t result = run_test(test_dir, why, sizeof(why));
            alarm(0);
            if (result == RESULT_PASS) {
                pass++;
                list_add(&passed, name);
                if (!is_quiet)
                    printf("PASS %s\n", name);
            } else if (result == RESULT_FAIL) {
                fail++;
                printf("FAIL %s: %s\n", name, why);
            } else {
                unsupported++;
                if (!is_quiet)
                    printf("UNSUPPORTED %s: %s\n", name, why);
            }
        }
        printf("suite %s: %d passed, %d failed, %d unsupported\n", suites[s], pass, fail,
               unsupported);
        total_pass += pass;
        total_fail += fail;
        total_unsupported += unsupported;
        for (size_t t = 0; t < tests.count; t++)
            free(tests.names[t]);
        free(tests.names);
    }
    if (passed.count > 1)
        qsort(passed.names, passed.count, sizeof(char *), compare_strings);
    int status = 0;
    if (write_path != NULL) {
        FILE *f = fopen(write_path, "w");
        if (f == NULL) {
            perror(write_path);
            return 2;
        }
        for (size_t i = 0; i < passed.count; i++)
            fprintf(f, "%s\n", passed.names[i]);
        fclose(f);
    }
    if (expect_path != NULL) {
        FILE *f = fopen(expect_path, "r");
        if (f == NULL) {
            perror(expect_path);
            return 2;
        }
        char line[512];
        int expected = 0, regressed = 0;
        while (fgets(line, sizeof(line), f) != NULL) {
            line[strcspn(line, "\r\n")] = '\0';
            if (line[0] == '\0' || line[0] == '#')
                continue;
            if (filter != NULL && strstr(line, filter) == NULL)
                continue;
            expected++;
            if (!list_has(&passed, line)) {
                printf("REGRESSION %s: listed as passing in %s\n", line, expect_path);
                regressed++;
            }
        }
        fclose(f);
        printf("expected-pass list: %d of %d still pass\n", expected - regressed, expected);
        if (regressed > 0)
            status = 1;
    }
    printf("%d passed, %d failed, %d unsupported\n", total_pass, total_fail, total_unsupported);
    for (size_t i = 0; i < passed.count; i++)
        free(passed.names[i]);
    free(passed.names);
    return status;
}
