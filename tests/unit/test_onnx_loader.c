/* Unit tests for the ONNX backend's loader and executor: the committed example and test models
 * load with the signatures they declare, run to their torch/numpy reference outputs at several
 * batch sizes, and broken files are refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "backends/onnx/exec.h"
#include "backends/onnx/graph.h"
#include "inferd/backend.h"
#include "inferd/json.h"
#include "test_util.h"

extern const inferd_backend_t inferd_onnx_backend;

static void mnist_loads_with_its_signature(void **state)
{
    void *model;
    inferd_signature_t sig;
    inferd_err_t err;
    inferd_model_config_t config = {0};
    int rc = inferd_onnx_backend.load(source_path("examples/models/mnist_mlp/2/model.onnx"),
                                      &config, &model, &sig, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(sig.n_inputs, 1);
    assert_string_equal(sig.inputs[0].name, "input");
    assert_int_equal(sig.inputs[0].dtype, INFERD_DT_FP32);
    assert_int_equal(sig.inputs[0].ndim, 2);
    assert_int_equal(sig.inputs[0].shape[0], -1); /* the symbolic batch dimension */
    assert_int_equal(sig.inputs[0].shape[1], 64);
    assert_int_equal(sig.n_outputs, 1);
    assert_string_equal(sig.outputs[0].name, "probabilities");
    assert_int_equal(sig.outputs[0].shape[1], 10);
    inferd_signature_free(&sig);
    inferd_onnx_backend.unload(model);
}

/* Reads tensor `tok` ({"datatype","shape","data"}) of a reference file as FP32. */
static void read_reference_tensor(const inferd_json_t *doc, int tok, inferd_tensor_t *t,
                                  inferd_arena_t *arena)
{
    int shape = inferd_json_get(doc, tok, "shape"), data = inferd_json_get(doc, tok, "data");
    t->dtype = INFERD_DT_FP32;
    t->ndim = inferd_json_size(doc, shape);
    for (int d = 0, dim = shape + 1; d < t->ndim; d++, dim = inferd_json_next(doc, dim))
        assert_int_equal(inferd_json_int64(doc, dim, &t->shape[d]), 0);
    int64_t n = inferd_tensor_count(t);
    assert_int_equal(n, inferd_json_size(doc, data));
    float *values = inferd_arena_alloc(arena, (size_t)n * sizeof(float));
    for (int64_t i = 0, v = data + 1; i < n; i++, v = inferd_json_next(doc, v)) {
        double x;
        assert_int_equal(inferd_json_double(doc, v, &x), 0);
        values[i] = (float)x;
    }
    t->data = values;
}

/* Runs every case of a reference file through the backend; outputs within 1e-5. */
static void check_reference(const char *model_path, const char *reference_path)
{
    void *model;
    inferd_signature_t sig;
    inferd_err_t err;
    inferd_model_config_t config = {0};
    assert_int_equal(inferd_onnx_backend.load(source_path(model_path), &config, &model, &sig, &err),
                     0);
    size_t len;
    char *text = read_whole_file(source_path(reference_path), &len);
    inferd_arena_t arena;
    inferd_arena_init(&arena, 1 << 16, 0);
    inferd_json_t doc;
    assert_int_equal(inferd_json_parse(&doc, text, len, &arena, &err), 0);
    int cases = inferd_json_get(&doc, 0, "cases");
    assert_true(inferd_json_size(&doc, cases) >= 3);
    for (int c = 0, item = cases + 1; c < inferd_json_size(&doc, cases);
         c++, item = inferd_json_next(&doc, item)) {
        int inputs_tok = inferd_json_get(&doc, item, "inputs");
        int outputs_tok = inferd_json_get(&doc, item, "outputs");
        inferd_tensor_t inputs[4] = {0}, outputs[4] = {0};
        for (size_t i = 0; i < sig.n_inputs; i++) {
            inputs[i].name = sig.inputs[i].name;
            read_reference_tensor(&doc, inferd_json_get(&doc, inputs_tok, sig.inputs[i].name),
                                  &inputs[i], &arena);
        }
        for (size_t o = 0; o < sig.n_outputs; o++)
            outputs[o].name = sig.outputs[o].name;
        assert_int_equal(inferd_onnx_backend.infer(model, inputs, outputs, &arena, &err), 0);
        for (size_t o = 0; o < sig.n_outputs; o++) {
            inferd_tensor_t want;
            read_reference_tensor(&doc, inferd_json_get(&doc, outputs_tok, sig.outputs[o].name),
                                  &want, &arena);
            assert_int_equal(outputs[o].ndim, want.ndim);
            for (int d = 0; d < want.ndim; d++)
                assert_int_equal(outputs[o].shape[d], want.shape[d]);
            const float *got = outputs[o].data, *expected = want.data;
            for (int64_t i = 0; i < inferd_tensor_count(&want); i++)
                if (fabsf(got[i] - expected[i]) > 1e-5f)
                    fail_msg("%s case %d output %s[%lld]: %.9g, reference %.9g", model_path, c,
                             sig.outputs[o].name, (long long)i, got[i], expected[i]);
        }
    }
    inferd_arena_free(&arena);
    free(text);
    inferd_signature_free(&sig);
    inferd_onnx_backend.unload(model);
}

static void mnist_matches_torch(void **state)
{
    check_reference("examples/models/mnist_mlp/1/model.onnx",
                    "tests/data/reference/mnist_mlp_v1.json");
    check_reference("examples/models/mnist_mlp/2/model.onnx",
                    "tests/data/reference/mnist_mlp_v2.json");
}

static void credit_risk_matches_torch(void **state)
{
    check_reference("examples/models/credit_risk/1/model.onnx",
                    "tests/data/reference/credit_risk_v1.json");
}

static void ops_mix_matches_numpy(void **state)
{
    check_reference("tests/data/models/ops_mix/1/model.onnx",
                    "tests/data/reference/ops_mix_v1.json");
}

static void constant_nodes_are_folded(void **state)
{
    onnx_graph_t graph;
    inferd_err_t err;
    assert_int_equal(
        onnx_graph_load(source_path("examples/models/mnist_mlp/1/model.onnx"), &graph, &err), 0);
    /* Constant, Div, Gemm, Relu, Gemm, Relu, Gemm, Softmax: the Constant never runs, and each
     * Relu runs inside the Gemm before it */
    assert_int_equal(graph.n_nodes, 5);
    int fused_relus = 0;
    for (int i = 0; i < graph.n_nodes; i++) {
        assert_string_not_equal(graph.nodes[i].op->op_type, "Constant");
        assert_string_not_equal(graph.nodes[i].op->op_type, "Relu");
        fused_relus += strcmp(graph.nodes[i].op->op_type, "Gemm") == 0 &&
                       graph.nodes[i].fused.activation == ONNX_FUSED_RELU;
    }
    assert_int_equal(fused_relus, 2);
    onnx_graph_free(&graph);
}

static void unsupported_op_names_op_and_node(void **state)
{
    onnx_graph_t graph;
    inferd_err_t err = {0};
    int rc =
        onnx_graph_load(source_path("tests/data/models/unsupported_op/1/model.onnx"), &graph, &err);
    assert_int_equal(rc, INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "FrobnicateOp"));
    assert_non_null(strstr(err.msg, "mystery_node"));
}

static void truncated_and_missing_files_are_refused(void **state)
{
    size_t len;
    char *bytes = read_whole_file(source_path("examples/models/mnist_mlp/1/model.onnx"), &len);
    onnx_graph_t graph;
    inferd_err_t err = {0};
    for (size_t cut = len / 2; cut > 16; cut /= 3) {
        int rc = onnx_graph_parse((const uint8_t *)bytes, cut, "truncated", &graph, &err);
        assert_int_equal(rc, INFERD_EMODEL);
        assert_true(strlen(err.msg) > 0);
    }
    free(bytes);
    assert_int_equal(onnx_graph_load("/nonexistent/model.onnx", &graph, &err), INFERD_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/model.onnx"));
}

static void executor_reuses_buffers_across_runs_and_batches(void **state)
{
    onnx_graph_t graph;
    inferd_err_t err;
    assert_int_equal(
        onnx_graph_load(source_path("examples/models/mnist_mlp/2/model.onnx"), &graph, &err), 0);
    onnx_exec_t *ctx = onnx_exec_new(&graph);
    inferd_arena_t arena;
    inferd_arena_init(&arena, 1 << 16, 0);
    static float pixels[64 * 64];
    for (int i = 0; i < 64 * 64; i++)
        pixels[i] = (float)(i % 17);
    float first_row[10];
    int64_t batches[] = {1, 64, 3, 64, 1};
    for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
        inferd_tensor_t input = {.name = "input",
                                 .dtype = INFERD_DT_FP32,
                                 .ndim = 2,
                                 .shape = {batches[b], 64},
                                 .data = pixels};
        inferd_tensor_t output = {.name = "probabilities"};
        inferd_arena_reset(&arena);
        assert_int_equal(onnx_exec_run(ctx, &graph, &input, &output, &arena, &err), 0);
        assert_int_equal(output.shape[0], batches[b]);
        const float *probabilities = output.data;
        if (b == 0)
            memcpy(first_row, probabilities, sizeof(first_row));
        /* row 0 does not depend on the batch around it (to rounding: sgemm picks a different
         * kernel, and summation order, for one row than for 64) */
        for (int k = 0; k < 10; k++)
            assert_true(fabsf(first_row[k] - probabilities[k]) < 1e-6f);
        for (int64_t r = 0; r < batches[b]; r++) {
            float sum = 0;
            for (int k = 0; k < 10; k++)
                sum += probabilities[r * 10 + k];
            assert_true(fabsf(sum - 1.0f) < 1e-5f);
        }
    }
    inferd_arena_free(&arena);
    onnx_exec_free(ctx);
    onnx_graph_free(&graph);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mnist_loads_with_its_signature),
        cmocka_unit_test(mnist_matches_torch),
        cmocka_unit_test(credit_risk_matches_torch),
        cmocka_unit_test(ops_mix_matches_numpy),
        cmocka_unit_test(constant_nodes_are_folded),
        cmocka_unit_test(unsupported_op_names_op_and_node),
        cmocka_unit_test(truncated_and_missing_files_are_refused),
        cmocka_unit_test(executor_reuses_buffers_across_runs_and_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
