/* The LayerNormalization fusion of optimize.c: the nine nodes PyTorch exports for a LayerNorm over
 * the last axis become one LayerNormalization node (ops/norm.c). */
#include "optimize_private.h"

#include <stdlib.h>
#include <string.h>

/* ==== LayerNormalization ====
 * PyTorch exports LayerNorm over the last axis as nine nodes: m = ReduceMean(x, [-1]);
 * d = x - m; v = ReduceMean(d ^ 2, [-1]); y = d / Sqrt(v + eps) * gamma + beta. With constant
 * eps, gamma and beta (vectors), and each intermediate read only inside the pattern, the last node
 * becomes one LayerNormalization (norm.c) over the last axis and the others die. */

/* The other input of binary node `node` than `v`, or -1 when `v` is not exactly one of them. */
static int other_input(const onnx_node_t *node, int v)
{
    if (node->n_inputs != 2 || node->n_outputs != 1)
        return -1;
    if (node->inputs[0] == v && node->inputs[1] != v)
        return node->inputs[1];
    if (node->inputs[1] == v && node->inputs[0] != v)
        return node->inputs[0];
    return -1;
}

/* The single reader of node `n`'s output 0 when it is an `op_type` node, else -1. */
static int next_in_chain(const onnx_graph_t *g, int n, const char *op_type)
{
    if (g->nodes[n].n_outputs != 1 || g->nodes[n].outputs[0] < 0)
        return -1;
    int reader = onnx_opt_only_reader(g, g->nodes[n].outputs[0]);
    return reader >= 0 && onnx_opt_is_op(&g->nodes[reader], op_type) ? reader : -1;
}

/* ReduceMean over the last axis only, keeping it (attribute axes [-1], opset below 18). */
static bool is_last_axis_mean(const onnx_node_t *node)
{
    int64_t axes[2];
    return onnx_opt_is_op(node, "ReduceMean") && node->n_inputs == 1 && node->opset < 18 &&
           node->proto != NULL && onnx_attr_ints(node->proto, "axes", axes, 2) == 1 &&
           axes[0] == -1 && onnx_attr_int(node->proto, "keepdims", 1) == 1;
}

/* A constant FP32 vector or scalar for gamma/beta (it must not widen the result's shape). */
static bool is_affine_operand(const onnx_graph_t *g, int v)
{
    return v >= 0 && g->values[v].is_constant && g->values[v].constant.dtype == INFERD_DT_FP32 &&
           g->values[v].constant.ndim <= 1;
}

static void fuse_layer_norm_at(onnx_graph_t *g, int mean_node, const onnx_op_t *layer_norm)
{
    onnx_node_t *mean = &g->nodes[mean_node];
    if (!is_last_axis_mean(mean) || mean->outputs[0] < 0 || mean->n_outputs != 1)
        return;
    int x = mean->inputs[0];
    int sub = next_in_chain(g, mean_node, "Sub");
    if (sub < 0 || g->nodes[sub].inputs[0] != x || g->nodes[sub].inputs[1] != mean->outputs[0])
        return;
    int d = g->nodes[sub].outputs[0];
    if (d < 0 || g->values[d].graph_output >= 0)
        return;
    /* d is read by exactly the Pow and the Div */
    int pow = -1, div = -1, readers = 0;
    for (int n = 0; n < g->n_nodes; n++)
        for (int k = 0; k < g->nodes[n].n_inputs; k++)
            if (g->nodes[n].inputs[k] == d) {
                readers++;
                if (onnx_opt_is_op(&g->nodes[n], "Pow") && k == 0)
                    pow = n;
                else if (onnx_opt_is_op(&g->nodes[n], "Div") && k == 0)
                    div = n;
            }
    float value;
    if (readers != 2 || pow < 0 || div < 0 ||
        !onnx_opt_constant_scalar(g, &g->nodes[pow], 1, &value) || value != 2.0f)
        return;
    int variance = next_in_chain(g, pow, "ReduceMean");
    if (variance < 0 || !is_last_axis_mean(&g->nodes[variance]))
        return;
    int add_eps = next_in_chain(g, variance, "Add");
    if (add_eps < 0)
        return;
    int eps_value = other_input(&g->nodes[add_eps], g->nodes[variance].outputs[0]);
    float epsilon;
    if (eps_value < 0 || !g->values[eps_value].is_constant ||
        g->values[eps_value].constant.dtype != INFERD_DT_FP32 ||
        inferd_tensor_count(&g->values[eps_value].constant) != 1)
        return;
    epsilon = *(const float *)g->values[eps_value].constant.data;
    int sqrt = next_in_chain(g, add_eps, "Sqrt");
    if (sqrt < 0 || next_in_chain(g, sqrt, "Div") != div ||
        g->nodes[div].inputs[1] != g->nodes[sqrt].outputs[0] || !(epsilon >= 0.0f))
        return;
    int mul = next_in_chain(g, div, "Mul");
    if (mul < 0)
        return;
    int gamma = other_input(&g->nodes[mul], g->nodes[div].outputs[0]);
    int add_beta = next_in_chain(g, mul, "Add");
    if (add_beta < 0 || !is_affine_operand(g, gamma))
        return;
    int beta = other_input(&g->nodes[add_beta], g->nodes[mul].outputs[0]);
    if (!is_affine_operand(g, beta))
        return;

    /* The last Add becomes LayerNormalization(x, gamma, beta, axis -1, epsilon). */
    onnx_node_t *last = &g->nodes[add_beta];
    Onnx__AttributeProto axis_attr, epsilon_attr, *attrs[2] = {&axis_attr, &epsilon_attr};
    onnx__attribute_proto__init(&axis_attr);
    axis_attr.name = "axis";
    axis_attr.has_type = 1;
    axis_attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    axis_attr.has_i = 1;
    axis_attr.i = -1;
    onnx__attribute_proto__init(&epsilon_attr);
    epsilon_attr.name = "epsilon";
    epsilon_attr.has_type = 1;
    epsilon_attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    epsilon_attr.has_f = 1;
    epsilon_attr.f = epsilon;
    Onnx__NodeProto proto;
    onnx__node_proto__init(&proto);
    proto.op_type = "LayerNormalization";
    proto.n_attribute = 2;
    proto.attribute = attrs;
    int *inputs = malloc(3 * sizeof(int));
    if (inputs == NULL)
        return;
    void *old_params = last->params;
    last->params = NULL;
    inferd_err_t err;
    if (layer_norm->prepare(last, &proto, &err) != 0) {
        free(last->params);
        last->params = old_params;
        free(inputs);
        return;
    }
    free(old_params);
    inputs[0] = x;
    inputs[1] = gamma;
    inputs[2] = beta;
    free(last->inputs);
    last->inputs = inputs;
    last->n_inputs = 3;
    last->op = layer_norm;
    last->proto = NULL; /* the Add's attributes no longer describe it */
    /* the pattern's other nodes write nothing now and die */
    int dead[] = {mean_node, sub, pow, variance, add_eps, sqrt, div, mul};
    for (size_t i = 0; i < sizeof(dead) / sizeof(dead[0]); i++) {
        int v = g->nodes[dead[i]].outputs[0];
        g->values[v].has_producer = false;
        g->nodes[dead[i]].outputs[0] = -1;
    }
}

void onnx_opt_fuse_layer_norms(onnx_graph_t *g)
{
    const onnx_op_t *layer_norm = onnx_op_find("LayerNormalization");
    if (layer_norm == NULL)
        return;
    for (int n = 0; n < g->n_nodes; n++)
        fuse_layer_norm_at(g, n, layer_norm);
}
