/* Unit tests for config.json parsing, repository scanning and version resolution
 * (src/repo, src/core/model.c), on repositories built in a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "inferd/log.h"
#include "inferd/repo.h"
#include "test_util.h"

static char repo_dir[256];

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Creates DIR/<model>/<version>/model.onnx from a source file (cut to `keep` bytes, 0 = all). */
static void add_version(const char *model, const char *version, const char *source, size_t keep)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", repo_dir, model);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", repo_dir, model, version);
    mkdir(path, 0755);
    if (source == NULL)
        return;
    size_t len;
    char *data = read_whole_file(source_path(source), &len);
    snprintf(path, sizeof(path), "%s/%s/%s/model.onnx", repo_dir, model, version);
    write_file(path, data, keep ? keep : len);
    free(data);
}

static void add_config(const char *model, const char *json)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s/config.json", repo_dir, model);
    write_file(path, json, strlen(json));
}

static int make_repo(void **state)
{
    snprintf(repo_dir, sizeof(repo_dir), "/tmp/inferd-test-repo-XXXXXX");
    assert_non_null(mkdtemp(repo_dir));
    inferd_log_set_level(INFERD_LOG_ERROR + 1); /* the failures below are expected */
    const char *mnist = "examples/models/mnist_mlp/1/model.onnx";
    add_version("mnist", "1", mnist, 0);
    add_version("mnist", "2", mnist, 0);
    add_version("mnist", "10", mnist, 0);
    add_version("mnist", "007", mnist, 0); /* leading zeros: not a version */
    add_version("mnist", "notes", NULL, 0);
    add_config("mnist", "{\"max_batch_size\": 8, \"instance_group\": [{\"count\": 2}], "
                        "\"version_policy\": {\"all\": {}}}");
    add_version("half", "1", mnist, 4000);
    add_version("half", "2", NULL, 0); /* no model file */
    add_config("half", "{\"version_policy\": {\"all\": {}}}");
    add_version("latest2", "1", mnist, 0);
    add_version("latest2", "2", mnist, 0);
    add_version("latest2", "3", mnist, 0);
    add_config("latest2", "{\"version_policy\": {\"latest\": {\"num_versions\": 2}}, "
                          "\"version_labels\": {\"stable\": 2, \"canary\": 3}, "
                          "\"default_version\": 2}");
    add_version("specific", "1", mnist, 0);
    add_version("specific", "2", mnist, 0);
    add_version("specific", "3", mnist, 0);
    add_config("specific", "{\"version_policy\": {\"specific\": {\"versions\": [1, 3]}}}");
    add_version("unsupported", "1", "tests/data/models/unsupported_op/1/model.onnx", 0);
    add_version("wrong_input", "1", mnist, 0);
    add_config("wrong_input",
               "{\"input\": [{\"name\": \"pixels\", \"data_type\": \"TYPE_FP32\"}]}");
    add_version("wrong_dims", "1", mnist, 0);
    add_config("wrong_dims", "{\"max_batch_size\": 4, \"input\": [{\"name\": \"input\", "
                             "\"data_type\": \"TYPE_FP32\", \"dims\": [65]}]}");
    add_version("renamed", "1", mnist, 0);
    add_config("renamed", "{\"name\": \"other\"}");
    add_version("bad_json", "1", mnist, 0);
    add_config("bad_json", "{\"max_batch_size\": }");
    char path[512];
    snprintf(path, sizeof(path), "%s/no_versions", repo_dir);
    mkdir(path, 0755);
    return 0;
}

static int remove_repo(void **state)
{
    char command[512];
    snprintf(command, sizeof(command), "rm -rf '%s'", repo_dir);
    return system(command);
}

static void config_reads_triton_fields(void **state)
{
    const char *text =
        "{\"name\": \"m\", \"platform\": \"onnxruntime_onnx\", \"max_batch_size\": 16,"
        " \"input\": [{\"name\": \"x\", \"data_type\": \"TYPE_FP32\", \"dims\": [3, -1]}],"
        " \"output\": [{\"name\": \"y\", \"data_type\": \"TYPE_STRING\", \"dims\": [1]}],"
        " \"dynamic_batching\": {\"max_queue_delay_microseconds\": 100}}";
    inferd_model_config_t config;
    inferd_err_t err;
    assert_int_equal(inferd_model_config_parse(text, strlen(text), &config, &err), 0);
    assert_string_equal(config.name, "m");
    assert_string_equal(config.backend, "onnx");
    assert_int_equal(config.max_batch_size, 16);
    assert_true(config.has_signature);
    assert_int_equal(config.sig.n_inputs, 1);
    assert_int_equal(config.sig.inputs[0].dtype, INFERD_DT_FP32);
    assert_int_equal(config.sig.inputs[0].ndim, 2);
    assert_int_equal(config.sig.inputs[0].shape[1], -1);
    assert_int_equal(config.sig.outputs[0].dtype, INFERD_DT_BYTES);
    inferd_model_config_free(&config);
}

static void config_reads_intra_op_threads_in_both_forms(void **state)
{
    const char *plain = "{\"intra_op_threads\": 2}";
    const char *triton = "{\"parameters\": {\"intra_op_thread_count\": {\"string_value\": \"3\"}}}";
    const char *bad[] = {
        "{\"intra_op_threads\": -1}", "{\"intra_op_threads\": 1000}",
        "{\"parameters\": {\"intra_op_thread_count\": {\"string_value\": \"x\"}}}"};
    inferd_model_config_t config;
    inferd_err_t err;
    assert_int_equal(inferd_model_config_parse(plain, strlen(plain), &config, &err), 0);
    assert_int_equal(config.intra_op_threads, 2);
    inferd_model_config_free(&config);
    assert_int_equal(inferd_model_config_parse(triton, strlen(triton), &config, &err), 0);
    assert_int_equal(config.intra_op_threads, 3);
    inferd_model_config_free(&config);
    assert_int_equal(inferd_model_config_parse("{}", 2, &config, &err), 0);
    assert_int_equal(config.intra_op_threads, 0); /* the backend's default, 1 */
    inferd_model_config_free(&config);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(inferd_model_config_parse(bad[i], strlen(bad[i]), &config, &err),
                         INFERD_EINVAL);
}

static void config_reads_queue_policies_per_priority_level(void **state)
{
    const char *text =
        "{\"dynamic_batching\": {\"priority_levels\": 3,"
        " \"default_queue_policy\": {\"max_queue_size\": 8, \"default_timeout_microseconds\": 500,"
        "  \"allow_timeout_override\": true, \"timeout_action\": \"DELAY\"},"
        " \"priority_queue_policy\": {\"1\": {\"max_queue_size\": 2},"
        "  \"3\": {\"default_timeout_microseconds\": 70, \"timeout_action\": \"DELAY\"}}}}";
    inferd_model_config_t config;
    inferd_err_t err;
    assert_int_equal(inferd_model_config_parse(text, strlen(text), &config, &err), 0);
    const inferd_queue_policy_t *p = config.sched.policies;
    /* level 1: its own policy; what it leaves out is Triton's default, not the default policy's */
    assert_int_equal(p[0].max_queue_size, 2);
    assert_int_equal(p[0].default_timeout_us, 0);
    assert_false(p[0].allow_timeout_override);
    assert_int_equal(p[0].timeout_action, INFERD_TIMEOUT_REJECT);
    /* level 2: the default policy */
    assert_int_equal(p[1].max_queue_size, 8);
    assert_int_equal(p[1].default_timeout_us, 500);
    assert_true(p[1].allow_timeout_override);
    assert_int_equal(p[1].timeout_action, INFERD_TIMEOUT_DELAY);
    /* level 3: its own */
    assert_int_equal(p[2].max_queue_size, 0);
    assert_int_equal(p[2].default_timeout_us, 70);
    assert_int_equal(p[2].timeout_action, INFERD_TIMEOUT_DELAY);
    inferd_model_config_free(&config);

    const char *bad[] = {
        /* a level the model does not have, or not a level at all */
        "{\"dynamic_batching\": {\"priority_levels\": 2, \"priority_queue_policy\": {\"3\": {}}}}",
        "{\"dynamic_batching\": {\"priority_queue_policy\": {\"2\": {}}}}",
        "{\"dynamic_batching\": {\"priority_levels\": 2, \"priority_queue_policy\": {\"0\": {}}}}",
        "{\"dynamic_batching\": {\"priority_levels\": 2, \"priority_queue_policy\": {\"01\": {}}}}",
        "{\"dynamic_batching\": {\"priority_levels\": 2, \"priority_queue_policy\": {\"x\": {}}}}",
        /* the wrong shapes */
        "{\"dynamic_batching\": {\"priority_queue_policy\": [{}]}}",
        "{\"dynamic_batching\": {\"priority_queue_policy\": {\"1\": 5}}}",
        "{\"dynamic_batching\": {\"default_queue_policy\": []}}",
        "{\"dynamic_batching\": {\"priority_queue_policy\": {\"1\": {\"timeout_action\": "
        "\"WAIT\"}}}}",
        "{\"dynamic_batching\": {\"priority_queue_policy\": {\"1\": {\"max_queue_size\": -1}}}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(inferd_model_config_parse(bad[i], strlen(bad[i]), &config, &err),
                         INFERD_EINVAL);
        if (i < 5)
            assert_non_null(strstr(err.msg, "priority_queue_policy key"));
    }
}

static void config_refuses_wrong_types(void **state)
{
    const char *bad[] = {"[]",
                         "{\"max_batch_size\": -1}",
                         "{\"max_batch_size\": \"8\"}",
                         "{\"name\": 3}",
                         "{\"input\": {}}",
                         "{\"input\": [{\"dims\": [1]}]}",
                         "{\"input\": [{\"name\": \"x\", \"data_type\": \"TYPE_FP128\"}]}",
                         "{\"input\": [{\"name\": \"x\", \"dims\": [-2]}]}",
                         "{"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        inferd_model_config_t config;
        inferd_err_t err = {0};
        if (inferd_model_config_parse(bad[i], strlen(bad[i]), &config, &err) == 0)
            fail_msg("config %s was accepted", bad[i]);
        assert_non_null(strstr(err.msg, "config.json"));
    }
}

static inferd_repo_t *open_repo(void)
{
    inferd_repo_t *repo;
    inferd_err_t err;
    inferd_repo_options_t options = {.dir = repo_dir, .mode = INFERD_CONTROL_NONE};
    assert_int_equal(inferd_repo_open(&options, &repo, &err), 0);
    return repo;
}

static void scans_models_and_versions_in_order(void **state)
{
    inferd_repo_t *repo = open_repo();
    inferd_catalog_t *catalog = inferd_repo_snapshot(repo);
    assert_int_equal(catalog->n_models, 10);
    for (size_t i = 1; i < catalog->n_models; i++)
        assert_true(strcmp(catalog->models[i - 1]->name, catalog->models[i]->name) < 0);
    inferd_model_t *mnist = inferd_catalog_model(catalog, "mnist");
    assert_non_null(mnist);
    assert_int_equal(mnist->n_versions, 3);
    assert_int_equal(mnist->versions[0]->version, 1);
    assert_int_equal(mnist->versions[2]->version, 10); /* numeric order, not by name */
    assert_true(mnist->versions[2]->is_ready);
    assert_int_equal(mnist->versions[2]->max_batch_size, 8);
    assert_ptr_equal(inferd_model_serving_version(mnist), mnist->versions[2]);
    assert_null(inferd_catalog_model(catalog, "absent"));
    inferd_catalog_release(catalog);
    inferd_repo_close(repo);
}

static void version_policies_labels_and_default(void **state)
{
    inferd_repo_t *repo = open_repo();
    inferd_catalog_t *catalog = inferd_repo_snapshot(repo);
    inferd_model_t *latest2 = inferd_catalog_model(catalog, "latest2");
    assert_int_equal(latest2->n_versions, 2); /* the newest two: 2 and 3 */
    assert_int_equal(latest2->versions[0]->version, 2);
    assert_int_equal(latest2->versions[1]->version, 3);
    inferd_model_t *specific = inferd_catalog_model(catalog, "specific");
    assert_int_equal(specific->n_versions, 2);
    assert_int_equal(specific->versions[0]->version, 1);
    assert_int_equal(specific->versions[1]->version, 3);
    inferd_catalog_release(catalog);
    inferd_model_version_t *v;
    inferd_err_t err;
    assert_int_equal(inferd_repo_acquire(repo, "latest2", NULL, &v, &err), 0);
    assert_int_equal(v->version, 2); /* the default version, not the highest */
    inferd_version_release(v);
    assert_int_equal(inferd_repo_acquire_label(repo, "latest2", "canary", &v, &err), 0);
    assert_int_equal(v->version, 3);
    inferd_version_release(v);
    assert_int_equal(inferd_repo_acquire(repo, "latest2", "stable", &v, &err), 0);
    assert_int_equal(v->version, 2);
    inferd_version_release(v);
    assert_int_equal(inferd_repo_acquire_label(repo, "latest2", "beta", &v, &err),
                     INFERD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "labels: canary, stable"));
    assert_int_equal(inferd_repo_acquire(repo, "latest2", "1", &v, &err), INFERD_ENOTFOUND);
    assert_int_equal(inferd_repo_acquire(repo, "specific", "2", &v, &err), INFERD_ENOTFOUND);
    inferd_repo_close(repo);
}

static void resolves_versions_with_clear_errors(void **state)
{
    inferd_repo_t *repo = open_repo();
    inferd_model_version_t *v;
    inferd_err_t err;
    assert_int_equal(inferd_repo_acquire(repo, "mnist", NULL, &v, &err), 0);
    assert_string_equal(v->version_str, "10");
    inferd_version_release(v);
    assert_int_equal(inferd_repo_acquire(repo, "mnist", "2", &v, &err), 0);
    assert_string_equal(v->version_str, "2");
    inferd_version_release(v);
    assert_int_equal(inferd_repo_acquire(repo, "mnist", "3", &v, &err), INFERD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "versions: 1, 2, 10"));
    assert_int_equal(inferd_repo_acquire(repo, "mnist", "latest", &v, &err), INFERD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no version or label 'latest'"));
    assert_int_equal(inferd_repo_acquire(repo, "nope", NULL, &v, &err), INFERD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "unknown model 'nope'"));
    inferd_repo_close(repo);
}

/* The model is present but has nothing to serve, and says why (with `needle`). */
static void expect_unavailable(inferd_repo_t *repo, const char *model, const char *needle)
{
    inferd_model_version_t *v = NULL;
    inferd_err_t err = {0};
    int rc = inferd_repo_acquire(repo, model, NULL, &v, &err);
    if (rc != INFERD_EUNAVAIL || strstr(err.msg, needle) == NULL)
        fail_msg("model %s: rc %d, '%s'; wanted 503 mentioning '%s'", model, rc, err.msg, needle);
    assert_null(v);
}

static void broken_models_are_unavailable_with_reasons(void **state)
{
    inferd_repo_t *repo = open_repo();
    expect_unavailable(repo, "half", "no model file");
    expect_unavailable(repo, "unsupported", "FrobnicateOp");
    expect_unavailable(repo, "wrong_input", "'pixels'");
    expect_unavailable(repo, "wrong_dims", "65");
    expect_unavailable(repo, "renamed", "'other'");
    expect_unavailable(repo, "bad_json", "config.json");
    expect_unavailable(repo, "no_versions", "no version folders");
    /* the truncated version 1 of "half" reports its own reason */
    inferd_model_version_t *v;
    inferd_err_t err;
    assert_int_equal(inferd_repo_acquire(repo, "half", "1", &v, &err), INFERD_EUNAVAIL);
    assert_non_null(strstr(err.msg, "not a valid ONNX model"));
    assert_int_equal(inferd_repo_find_version(repo, "half", "1", &v, &err), 0);
    assert_false(v->is_ready);
    assert_non_null(v->failure);
    inferd_version_release(v);
    inferd_repo_close(repo);
}

static void a_version_outlives_the_repository_while_held(void **state)
{
    inferd_repo_t *repo = open_repo();
    inferd_model_version_t *v;
    inferd_err_t err;
    assert_int_equal(inferd_repo_acquire(repo, "mnist", "1", &v, &err), 0);
    inferd_repo_close(repo); /* the request still holds version 1 */
    assert_true(v->is_ready);
    assert_int_equal(atomic_load(&v->refs), 1);
    inferd_version_release(v); /* the last reference frees it (checked by the ASan build) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_reads_triton_fields),
        cmocka_unit_test(config_reads_intra_op_threads_in_both_forms),
        cmocka_unit_test(config_reads_queue_policies_per_priority_level),
        cmocka_unit_test(config_refuses_wrong_types),
        cmocka_unit_test(scans_models_and_versions_in_order),
        cmocka_unit_test(resolves_versions_with_clear_errors),
        cmocka_unit_test(version_policies_labels_and_default),
        cmocka_unit_test(broken_models_are_unavailable_with_reasons),
        cmocka_unit_test(a_version_outlives_the_repository_while_held),
    };
    return cmocka_run_group_tests(tests, make_repo, remove_repo);
}
