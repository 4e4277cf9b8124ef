/* Unit tests for the load-time graph rewrites (src/backends/onnx/optimize.c): constant
 * subgraphs are computed once at load and dead nodes are dropped, without changing results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/onnx/exec.h"
#include "backends/onnx/graph.h"
#include "onnx_build.h"

static void folds_constants_and_drops_dead_nodes(void **state)
{
    /* c = Constant([1, 2]); doubled = Add(c, c); y = Mul(x, doubled); unused = Relu(x) */
    float constant_values[2] = {1, 2};
    int64_t constant_dims[1] = {2};
    Onnx__TensorProto value;
    onnx_build_tensor(&value, NULL, constant_dims, 1, constant_values);
    Onnx__AttributeProto value_attr, *attrs[1] = {&value_attr};
    onnx__attribute_proto__init(&value_attr);
    value_attr.name = "value";
    value_attr.t = &value;

    onnx_build_node_t nodes[] = {
        {"Constant", {NULL}, "c", attrs, 1},
        {"Add", {"c", "c"}, "doubled", NULL, 0},
        {"Relu", {"x"}, "unused", NULL, 0},
        {"Mul", {"x", "doubled"}, "y", NULL, 0},
    };

    onnx_build_info_t inputs[1], outputs[1];
    int64_t vector_dims[1] = {2};
    onnx_build_info(&inputs[0], "x", vector_dims, 1);
    onnx_build_info(&outputs[0], "y", vector_dims, 1);
    onnx_graph_t g;
    onnx_build_load(&g, "g", nodes, 4, NULL, 0, inputs, 1, outputs, 1);

    assert_int_equal(g.n_nodes, 1); /* only Mul is left to run */
    assert_string_equal(g.nodes[0].op->op_type, "Mul");
    int doubled = g.nodes[0].inputs[1];
    assert_true(g.values[doubled].is_constant);
    assert_true(((float *)g.values[doubled].constant.data)[1] == 4.0f);

    inferd_arena_t arena;
    float x[2] = {3, 5};
    inferd_tensor_t input = {
        .name = "x", .dtype = INFERD_DT_FP32, .ndim = 1, .shape = {2}, .data = x};
    inferd_tensor_t y = {.name = "y"};
    onnx_build_run(NULL, &g, &input, &y, &arena);
    assert_true(((float *)y.data)[0] == 6.0f && ((float *)y.data)[1] == 20.0f);
    inferd_arena_free(&arena);
    onnx_graph_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(folds_constants_and_drops_dead_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
