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

/* A float tensor value_info named `name` of shape [n]. */
static Onnx__ValueInfoProto *float_vector_info(const char *name, int64_t n)
{
    static Onnx__TensorShapeProto__Dimension dims[4], *dim_ptrs[4];
    static Onnx__TensorShapeProto shapes[4];
    static Onnx__TypeProto__Tensor tensor_types[4];
    static Onnx__TypeProto types[4];
    static Onnx__ValueInfoProto infos[4];
    static int used;
    int i = used++;
    onnx__tensor_shape_proto__dimension__init(&dims[i]);
    dims[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    dims[i].dim_value = n;
    dim_ptrs[i] = &dims[i];
    onnx__tensor_shape_proto__init(&shapes[i]);
    shapes[i].n_dim = 1;
    shapes[i].dim = &dim_ptrs[i];
    onnx__type_proto__tensor__init(&tensor_types[i]);
    tensor_types[i].has_elem_type = 1;
    tensor_types[i].elem_type = 1; /* FLOAT */
    tensor_types[i].shape = &shapes[i];
    onnx__type_proto__init(&types[i]);
    types[i].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    types[i].tensor_type = &tensor_types[i];
    onnx__value_info_proto__init(&infos[i]);
    infos[i].name = (char *)name;
    infos[i].type = &types[i];
    return &infos[i];
}

static void set_node(Onnx__NodeProto *node, const char *op_type, char **inputs, size_t n_inputs,
                     char **outputs)
{
    onnx__node_proto__init(node);
    node->op_type = (char *)op_type;
    node->input = inputs;
    node->n_input = n_inputs;
    node->output = outputs;
    node->n_output = 1;
}

static void folds_constants_and_drops_dead_nodes(void **state)
{
    /* c = Constant([1, 2]); doubled = Add(c, c); y = Mul(x, doubled); unused = Relu(x) */
    float constant_values[2] = {1, 2};
    int64_t constant_dims[1] = {2};
    Onnx__TensorProto value;
    onnx__tensor_proto__init(&value);
    value.n_dims = 1;
    value.dims = constant_dims;
    value.has_data_type = 1;
    value.data_type = 1;
    value.n_float_data = 2;
    value.float_data = constant_values;
    Onnx__AttributeProto value_attr, *attrs[1] = {&value_attr};
    onnx__attribute_proto__init(&value_attr);
    value_attr.name = "value";
    value_attr.t = &value;

    char *c_out[] = {"c"}, *add_in[] = {"c", "c"}, *add_out[] = {"doubled"};
    char *mul_in[] = {"x", "doubled"}, *mul_out[] = {"y"}, *relu_in[] = {"x"},
         *relu_out[] = {"unused"};
    Onnx__NodeProto nodes[4], *node_ptrs[4] = {&nodes[0], &nodes[1], &nodes[2], &nodes[3]};
    set_node(&nodes[0], "Constant", NULL, 0, c_out);
    nodes[0].n_attribute = 1;
    nodes[0].attribute = attrs;
    set_node(&nodes[1], "Add", add_in, 2, add_out);
    set_node(&nodes[2], "Relu", relu_in, 1, relu_out);
    set_node(&nodes[3], "Mul", mul_in, 2, mul_out);

    Onnx__ValueInfoProto *inputs[1] = {float_vector_info("x", 2)};
    Onnx__ValueInfoProto *outputs[1] = {float_vector_info("y", 2)};
    Onnx__GraphProto graph_proto;
    onnx__graph_proto__init(&graph_proto);
    graph_proto.name = "g";
    graph_proto.n_node = 4;
    graph_proto.node = node_ptrs;
    graph_proto.n_input = 1;
    graph_proto.input = inputs;
    graph_proto.n_output = 1;
    graph_proto.output = outputs;
    Onnx__OperatorSetIdProto opset, *opsets[1] = {&opset};
    onnx__operator_set_id_proto__init(&opset);
    opset.domain = "";
    opset.has_version = 1;
    opset.version = 13;
    Onnx__ModelProto model;
    onnx__model_proto__init(&model);
    model.has_ir_version = 1;
    model.ir_version = 8;
    model.graph = &graph_proto;
    model.n_opset_import = 1;
    model.opset_import = opsets;

    size_t len = onnx__model_proto__get_packed_size(&model);
    uint8_t *bytes = malloc(len);
    onnx__model_proto__pack(&model, bytes);
    onnx_graph_t g;
    inferd_err_t err;
    assert_int_equal(onnx_graph_parse(bytes, len, "built", &g, &err), 0);
    free(bytes);

    assert_int_equal(g.n_nodes, 1); /* only Mul is left to run */
    assert_string_equal(g.nodes[0].op->op_type, "Mul");
    int doubled = g.nodes[0].inputs[1];
    assert_true(g.values[doubled].is_constant);
    assert_true(((float *)g.values[doubled].constant.data)[1] == 4.0f);

    onnx_exec_t *ctx = onnx_exec_new(&g);
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 0);
    float x[2] = {3, 5};
    inferd_tensor_t input = {
        .name = "x", .dtype = INFERD_DT_FP32, .ndim = 1, .shape = {2}, .data = x};
    inferd_tensor_t y = {.name = "y"};
    assert_int_equal(onnx_exec_run(ctx, &g, &input, &y, &arena, &err), 0);
    assert_true(((float *)y.data)[0] == 6.0f && ((float *)y.data)[1] == 20.0f);
    inferd_arena_free(&arena);
    onnx_exec_free(ctx);
    onnx_graph_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(folds_constants_and_drops_dead_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
