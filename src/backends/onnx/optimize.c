/* Load-time rewrites of a loaded graph, so that running it does less: nodes whose inputs are
 * all constants run once here and become constants (constant folding); an inference-mode
 * BatchNormalization after a Conv or Gemm is folded into its weights and bias; a residual Add,
 * an activation and a MaxPool after a Conv, and a bias Add and an activation after a Gemm or
 * MatMul, run inside that node; a Transpose feeding a MatMul's B is read through strides; a
 * LayerNorm exported as nine nodes becomes one (optimize_layer_norm.c); nodes whose outputs
 * nothing reads are dropped (dead-node removal); values between Convs and pools are kept
 * channels-last. Runs after the loader has ordered the nodes. */
#include "optimize_private.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs node `n` on its constant inputs and turns its outputs into constants. Returns 0, or a
 * negative code when the node cannot run on them (the model is then refused: it would fail on
 * every request too). */
static int fold_node(onnx_graph_t *g, const onnx_node_t *node, inferd_err_t *err)
{
    const inferd_tensor_t *in[ONNX_MAX_NODE_INPUTS];
    inferd_tensor_t out[ONNX_MAX_NODE_OUTPUTS];
    for (int k = 0; k < node->n_inputs; k++)
        in[k] = node->inputs[k] >= 0 ? &g->values[node->inputs[k]].constant : NULL;
    memset(out, 0, sizeof(out[0]) * (size_t)node->n_outputs);
    int rc = node->op->shape(node, in, out, err);
    for (int k = 0; rc == 0 && k < node->n_outputs; k++) {
        int64_t bytes = inferd_tensor_bytes(&out[k]);
        out[k].data = bytes >= 0 ? malloc((size_t)bytes + 1) : NULL;
        if (out[k].data == NULL)
            rc = inferd_fail(err, INFERD_ENOMEM, "out of memory folding a constant");
    }
    onnx_scratch_t scratch = {0};
    if (rc == 0)
        rc = node->op->run(node, in, out, &scratch, err);
    free(scratch.data);
    for (int k = 0; k < node->n_outputs; k++) {
        int v = node->outputs[k];
        if (rc != 0 || v < 0) {
            free(out[k].data);
            continue;
        }
        out[k].name = NULL;
        g->values[v].constant = out[k];
        g->values[v].is_constant = true;
        g->values[v].has_producer = false;
    }
    if (rc != 0)
        inferd_err_prefix(err, "node '%s' (%s) fails on its constant inputs: ", node->name,
                          node->op->op_type);
    return rc;
}

static bool has_only_constant_inputs(const onnx_graph_t *g, const onnx_node_t *node)
{
    for (int k = 0; k < node->n_inputs; k++)
        if (node->inputs[k] >= 0 && !g->values[node->inputs[k]].is_constant)
            return false;
    return true;
}

static void free_node(onnx_node_t *node)
{
    free(node->name);
    free(node->inputs);
    free(node->outputs);
    free(node->params);
    free(node->fused.pool);
}

/* Whether anything reads an output of node `n`: a later node or the graph's outputs. */
static bool is_needed(const onnx_graph_t *g, int n, const bool *is_read)
{
    const onnx_node_t *node = &g->nodes[n];
    for (int k = 0; k < node->n_outputs; k++) {
        int v = node->outputs[k];
        if (v >= 0 && (is_read[v] || g->values[v].graph_output >= 0))
            return true;
    }
    return false;
}

/* ==== Conv (or Gemm) + BatchNormalization ====
 * y = gamma * (conv(x, W) + b - mean) / sqrt(var + eps) + beta is the convolution with
 * W'[m] = W[m] * s[m] and b'[m] = (b[m] - mean[m]) * s[m] + beta[m], s = gamma / sqrt(var + eps);
 * likewise for a Gemm with transB, whose B holds one row per output channel.
 */

/* Appends a constant FP32 value owning `data`; returns its index or -1 when out of memory. */
static int add_constant(onnx_graph_t *g, const char *name, const int64_t *shape, int ndim,
                        float *data)
{
    onnx_value_t *grown = realloc(g->values, (size_t)(g->n_values + 1) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    g->values = grown;
    onnx_value_t *v = &g->values[g->n_values];
    memset(v, 0, sizeof(*v));
    if ((v->name = strdup(name)) == NULL)
        return -1;
    v->graph_input = v->graph_output = v->last_reader = -1;
    v->is_constant = true;
    v->constant.dtype = INFERD_DT_FP32;
    v->constant.ndim = ndim;
    memcpy(v->constant.shape, shape, (size_t)ndim * sizeof(int64_t));
    v->constant.data = data;
    return g->n_values++;
}

static const onnx_value_t *constant_input(const onnx_graph_t *g, const onnx_node_t *node, int k)
{
    if (k >= node->n_inputs || node->inputs[k] < 0 || !g->values[node->inputs[k]].is_constant)
        return NULL;
    return &g->values[node->inputs[k]];
}

static bool is_fp32_vector(const onnx_value_t *v, int64_t n)
{
    return v != NULL && v->constant.dtype == INFERD_DT_FP32 && v->constant.ndim == 1 &&
           v->constant.shape[0] == n;
}

/* The one node that reads value `v`, or -1 when none or several do (or it is a graph output). */
int onnx_opt_only_reader(const onnx_graph_t *g, int v)
{
    if (g->values[v].graph_output >= 0)
        return -1;
    int reader = -1;
    for (int n = 0; n < g->n_nodes; n++)
        for (int k = 0; k < g->nodes[n].n_inputs; k++)
            if (g->nodes[n].inputs[k] == v) {
                if (reader >= 0 && reader != n)
                    return -1;
                reader = n;
            }
    return reader;
}

/* Folds BatchNormalization node `bn_index` into Conv node `conv`, when every parameter is a
 * constant FP32 tensor of the right shape. Returns true when it did; the BN node is then left
 * with no output and dies in dead-node removal. */
static bool fold_batch_norm(onnx_graph_t *g, onnx_node_t *conv, onnx_node_t *bn, float epsilon)
{
    const onnx_value_t *w = constant_input(g, conv, 1);
    int min_ndim = strcmp(conv->op->op_type, "Conv") == 0 ? 3 : 2;
    if (w == NULL || w->constant.dtype != INFERD_DT_FP32 || w->constant.ndim < min_ndim ||
        bn->n_outputs != 1)
        return false;
    int64_t channels = w->constant.shape[0];
    const onnx_value_t *bias = constant_input(g, conv, 2);
    const onnx_value_t *scale = constant_input(g, bn, 1), *beta = constant_input(g, bn, 2),
                       *mean = constant_input(g, bn, 3), *var = constant_input(g, bn, 4);
    if (!is_fp32_vector(scale, channels) || !is_fp32_vector(beta, channels) ||
        !is_fp32_vector(mean, channels) || !is_fp32_vector(var, channels) ||
        (conv->n_inputs > 2 && conv->inputs[2] >= 0 && !is_fp32_vector(bias, channels)))
        return false;
    int64_t per_channel = inferd_tensor_count(&w->constant) / channels;
    float *new_w = malloc((size_t)(channels * per_channel) * sizeof(float));
    float *new_b = malloc((size_t)channels * sizeof(float));
    int *inputs = malloc(3 * sizeof(int));
    if (new_w == NULL || new_b == NULL || inputs == NULL) {
        free(new_w);
        free(new_b);
        free(inputs);
        return false;
    }
    const float *wd = w->constant.data, *gamma = scale->constant.data, *shift = beta->constant.data,
                *mu = mean->constant.data, *sigma2 = var->constant.data;
    for (int64_t m = 0; m < channels; m++) {
        float s = gamma[m] / sqrtf(sigma2[m] + epsilon);
        for (int64_t i = 0; i < per_channel; i++)
            new_w[m * per_channel + i] = wd[m * per_channel + i] * s;
        float b = bias != NULL ? ((const float *)bias->constant.data)[m] : 0.0f;
        new_b[m] = (b - mu[m]) * s + shift[m];
    }
    /* The folded weights and bias become new constant values (the originals may be shared). */
    char name[600];
    int64_t w_shape[INFERD_MAX_DIMS], bias_shape[1] = {channels};
    int w_ndim = w->constant.ndim;
    memcpy(w_shape, w->constant.shape, sizeof(w_shape));
    snprintf(name, sizeof(name), "%s/weights_with_batch_norm", conv->name);
    int w_value = add_constant(g, name, w_shape, w_ndim, new_w);
    snprintf(name, sizeof(name), "%s/bias_with_batch_norm", conv->name);
    int b_value = w_value >= 0 ? add_constant(g, name, bias_shape, 1, new_b) : -1;
    if (w_value < 0 || b_value < 0) {
        if (w_value < 0)
            free(new_w);
        if (b_value < 0)
            free(new_b);
        free(inputs);
        return false;
    }
    inputs[0] = conv->inputs[0];
    inputs[1] = w_value;
    inputs[2] = b_value;
    free(conv->inputs);
    conv->inputs = inputs;
    conv->n_inputs = 3;
    /* The Conv now writes the BN's output; the BN writes nothing and is removed. */
    int conv_out = conv->outputs[0];
    conv->outputs[0] = bn->outputs[0];
    bn->outputs[0] = -1;
    g->values[conv_out].has_producer = false;
    return true;
}

/* A Gemm that computes A * B' + C with B' = B transposed and C absent or a vector: its B is
 * laid out as a Conv's weights (one row per output channel), and folds a BatchNormalization the
 * same way (PyTorch's Linear followed by BatchNorm1d). */
static bool is_foldable_gemm(const onnx_node_t *node)
{
    const Onnx__NodeProto *proto = node->proto;
    return strcmp(node->op->op_type, "Gemm") == 0 && proto != NULL &&
           onnx_attr_float(proto, "alpha", 1.0f) == 1.0f &&
           onnx_attr_float(proto, "beta", 1.0f) == 1.0f && onnx_attr_int(proto, "transA", 0) == 0 &&
           onnx_attr_int(proto, "transB", 0) == 1;
}

static void fold_batch_norms(onnx_graph_t *g)
{
    for (int n = 0; n < g->n_nodes; n++) {
        onnx_node_t *conv = &g->nodes[n];
        if ((strcmp(conv->op->op_type, "Conv") != 0 && !is_foldable_gemm(conv)) ||
            conv->n_outputs != 1 || conv->outputs[0] < 0)
            continue;
        int reader = onnx_opt_only_reader(g, conv->outputs[0]);
        if (reader < 0 || strcmp(g->nodes[reader].op->op_type, "BatchNormalization") != 0 ||
            g->nodes[reader].inputs[0] != conv->outputs[0])
            continue;
        const Onnx__NodeProto *bn_proto = g->nodes[reader].proto;
        float epsilon = bn_proto != NULL ? onnx_attr_float(bn_proto, "epsilon", 1e-5f) : -1.0f;
        if (epsilon >= 0.0f)
            fold_batch_norm(g, conv, &g->nodes[reader], epsilon);
    }
}

/* ==== Conv + Add + Relu/Clip/Sigmoid + MaxPool ====
 * A Conv whose output only a residual Add reads, and whose result (or the Add's) only a Relu, a
 * Clip with constant bounds or a Sigmoid reads, computes all of it in one pass (oneDNN post-ops):
 * the Conv takes over the last node's output and the others die in dead-node removal. The residual
 * must be computed before the Conv runs (its producer comes first in execution order). A MaxPool
 * that alone reads the result of a Conv without a residual is run by the Conv too, on the
 * convolution's output while it is still in the primitive's own layout (LeNet's first Conv writes
 * 16-channel blocks for 6 channels: pooling them before the reorder to the graph's layout makes
 * that reorder 4 times smaller). */

/* The node writing value `v`, or -1 (a graph input or a constant). */
static int producer_of(const onnx_graph_t *g, int v)
{
    for (int n = 0; n < g->n_nodes; n++)
        for (int k = 0; k < g->nodes[n].n_outputs; k++)
            if (g->nodes[n].outputs[k] == v)
                return n;
    return -1;
}

bool onnx_opt_is_op(const onnx_node_t *node, const char *op_type)
{
    return strcmp(node->op->op_type, op_type) == 0;
}

/* A constant FP32 scalar (one element) of input k into *OUT_value; false when it is not one. */
bool onnx_opt_constant_scalar(const onnx_graph_t *g, const onnx_node_t *node, int k,
                              float *OUT_value)
{
    const onnx_value_t *v = constant_input(g, node, k);
    if (v == NULL || v->constant.dtype != INFERD_DT_FP32 || inferd_tensor_count(&v->constant) != 1)
        return false;
    *OUT_value = *(const float *)v->constant.data;
    return true;
}

/* The bounds of a Clip node, when they are known at load (attributes, or constant inputs). */
static bool clip_bounds(const onnx_graph_t *g, const onnx_node_t *clip, float *OUT_min,
                        float *OUT_max)
{
    float lo = -FLT_MAX, hi = FLT_MAX;
    if (clip->opset < 11) {
        if (clip->proto == NULL)
            return false;
        lo = onnx_attr_float(clip->proto, "min", -FLT_MAX);
        hi = onnx_attr_float(clip->proto, "max", FLT_MAX);
    } else {
        if (clip->n_inputs > 1 && clip->inputs[1] >= 0 &&
            !onnx_opt_constant_scalar(g, clip, 1, &lo))
            return false;
        if (clip->n_inputs > 2 && clip->inputs[2] >= 0 &&
            !onnx_opt_constant_scalar(g, clip, 2, &hi))
            return false;
    }
    if (!(lo <= hi)) /* min > max makes every element max: not oneDNN's clip */
        return false;
    *OUT_min = lo;
    *OUT_max = hi;
    return true;
}

/* Moves `from`'s single output onto `conv` (which then writes it); `from` writes nothing. */
static void take_output(onnx_graph_t *g, onnx_node_t *conv, onnx_node_t *from)
{
    g->values[conv->outputs[0]].has_producer = false;
    conv->outputs[0] = from->outputs[0];
    from->outputs[0] = -1;
}

/* Fuses a residual Add after `conv` (node index n). Returns true when it did. */
static bool fuse_residual(onnx_graph_t *g, int n)
{
    onnx_node_t *conv = &g->nodes[n];
    int y = conv->outputs[0];
    int reader = onnx_opt_only_reader(g, y);
    if (reader < 0 || !onnx_opt_is_op(&g->nodes[reader], "Add") || g->nodes[reader].n_inputs != 2 ||
        g->nodes[reader].n_outputs != 1 || g->nodes[reader].outputs[0] < 0)
        return false;
    onnx_node_t *add = &g->nodes[reader];
    int other = add->inputs[0] == y ? add->inputs[1] : add->inputs[0];
    if (other < 0 || other == y || g->values[other].is_constant)
        return false;
    int source = producer_of(g, other);
    if (source >= n || (source < 0 && g->values[other].graph_input < 0))
        return false;
    int *inputs = malloc(4 * sizeof(int));
    if (inputs == NULL)
        return false;
    inputs[0] = conv->inputs[0];
    inputs[1] = conv->inputs[1];
    inputs[2] = conv->n_inputs > 2 ? conv->inputs[2] : -1;
    inputs[3] = other;
    free(conv->inputs);
    conv->inputs = inputs;
    conv->n_inputs = 4;
    conv->fused.sum_input = 3;
    take_output(g, conv, add);
    return true;
}

/* Fuses the activation reading `node`'s only output into it (a Conv, Gemm or MatMul). Returns
 * true when it did. */
static bool fuse_activation(onnx_graph_t *g, onnx_node_t *node)
{
    int reader = onnx_opt_only_reader(g, node->outputs[0]);
    if (reader < 0 || g->nodes[reader].n_outputs != 1 || g->nodes[reader].outputs[0] < 0 ||
        g->nodes[reader].inputs[0] != node->outputs[0])
        return false;
    onnx_node_t *act = &g->nodes[reader];
    float lo, hi;
    if (onnx_opt_is_op(act, "Relu")) {
        node->fused.activation = ONNX_FUSED_RELU;
    } else if (onnx_opt_is_op(act, "Sigmoid")) {
        node->fused.activation = ONNX_FUSED_SIGMOID;
    } else if (onnx_opt_is_op(act, "Clip") && clip_bounds(g, act, &lo, &hi)) {
        node->fused.activation = ONNX_FUSED_CLIP;
        node->fused.alpha = lo;
        node->fused.beta = hi;
    } else {
        return false;
    }
    take_output(g, node, act);
    return true;
}

/* Fuses the MaxPool (without Indices) reading Conv `conv`'s only output into it: the Conv takes
 * the MaxPool's parameters. Returns true when it did. */
static bool fuse_pool(onnx_graph_t *g, onnx_node_t *conv)
{
    int reader = onnx_opt_only_reader(g, conv->outputs[0]);
    if (conv->fused.sum_input > 0 || reader < 0)
        return false;
    onnx_node_t *pool = &g->nodes[reader];
    bool has_indices = pool->n_outputs > 1 && pool->outputs[1] >= 0;
    if (!onnx_opt_is_op(pool, "MaxPool") || has_indices || pool->outputs[0] < 0 ||
        pool->inputs[0] != conv->outputs[0] || pool->params == NULL)
        return false;
    conv->fused.pool = pool->params;
    pool->params = NULL;
    take_output(g, conv, pool);
    return true;
}

static void fuse_into_convs(onnx_graph_t *g)
{
    for (int n = 0; n < g->n_nodes; n++) {
        onnx_node_t *conv = &g->nodes[n];
        if (!onnx_opt_is_op(conv, "Conv") || conv->n_outputs != 1 || conv->outputs[0] < 0 ||
            conv->n_inputs > 3)
            continue;
        fuse_residual(g, n);
        fuse_activation(g, conv);
        fuse_pool(g, conv);
    }
}

/* ==== Gemm/MatMul + bias Add + Relu/Clip/Sigmoid ====
 * A MatMul whose constant B has N columns, read only by an Add of a constant FP32 vector of N
 * values (or one), adds it as it writes its result (PyTorch's Linear on 3-D input exports as
 * MatMul and Add); a Gemm or such a MatMul read only by a Relu, a Clip with constant bounds or a
 * Sigmoid applies it there too. The fused nodes die in dead-node removal. */

/* Fuses the bias Add after MatMul `matmul`. Returns true when it did. */
static bool fuse_matmul_bias(onnx_graph_t *g, onnx_node_t *matmul)
{
    const onnx_value_t *b = constant_input(g, matmul, 1);
    if (b == NULL || b->constant.ndim < 2 || matmul->fused.b_perm_rank > 0)
        return false;
    int64_t n = b->constant.shape[b->constant.ndim - 1];
    int y = matmul->outputs[0];
    int reader = onnx_opt_only_reader(g, y);
    if (reader < 0 || !onnx_opt_is_op(&g->nodes[reader], "Add") || g->nodes[reader].n_inputs != 2 ||
        g->nodes[reader].n_outputs != 1 || g->nodes[reader].outputs[0] < 0)
        return false;
    onnx_node_t *add = &g->nodes[reader];
    int k = add->inputs[0] == y ? 1 : 0;
    const onnx_value_t *bias = constant_input(g, add, k);
    if (add->inputs[1 - k] != y || !(is_fp32_vector(bias, n) || is_fp32_vector(bias, 1)))
        return false;
    int *inputs = malloc(3 * sizeof(int));
    if (inputs == NULL)
        return false;
    inputs[0] = matmul->inputs[0];
    inputs[1] = matmul->inputs[1];
    inputs[2] = add->inputs[k];
    free(matmul->inputs);
    matmul->inputs = inputs;
    matmul->n_inputs = 3;
    matmul->fused.bias_input = 2;
    take_output(g, matmul, add);
    return true;
}

static void fuse_into_products(onnx_graph_t *g)
{
    for (int n = 0; n < g->n_nodes; n++) {
        onnx_node_t *node = &g->nodes[n];
        bool is_matmul = onnx_opt_is_op(node, "MatMul");
        if ((!is_matmul && !onnx_opt_is_op(node, "Gemm")) || node->n_outputs != 1 ||
            node->outputs[0] < 0)
            continue;
        if (is_matmul && node->n_inputs != 2)
            continue;
        if (is_matmul)
            fuse_matmul_bias(g, node);
        fuse_activation(g, node);
    }
}

/* ==== MatMul + Transpose ====
 * A Transpose feeding a MatMul's B, read by that MatMul alone, becomes a permutation the MatMul
 * reads B through (attention's K^T and V), so the copy is not made. */

static void fuse_transposes_into_matmuls(onnx_graph_t *g)
{
    for (int n = 0; n < g->n_nodes; n++) {
        onnx_node_t *matmul = &g->nodes[n];
        if (!onnx_opt_is_op(matmul, "MatMul") || matmul->n_inputs != 2 || matmul->inputs[1] < 0 ||
            matmul->fused.b_perm_rank > 0 || matmul->inputs[0] == matmul->inputs[1])
            continue;
        int b = matmul->inputs[1];
        int source = producer_of(g, b);
        if (source < 0 || !onnx_opt_is_op(&g->nodes[source], "Transpose") ||
            onnx_opt_only_reader(g, b) != n || g->nodes[source].proto == NULL ||
            g->nodes[source].n_inputs != 1 || g->nodes[source].inputs[0] < 0)
            continue;
        int64_t perm[ONNX_MATMUL_MAX_PERM];
        int rank = onnx_attr_ints(g->nodes[source].proto, "perm", perm, ONNX_MATMUL_MAX_PERM);
        bool is_permutation = rank >= 2 && rank <= ONNX_MATMUL_MAX_PERM;
        for (int d = 0; d < rank && is_permutation; d++) {
            is_permutation = perm[d] >= 0 && perm[d] < rank;
            for (int e = 0; e < d && is_permutation; e++)
                is_permutation = perm[e] != perm[d];
        }
        if (!is_permutation)
            continue;
        for (int d = 0; d < rank; d++)
            matmul->fused.b_perm[d] = (int8_t)perm[d];
        matmul->fused.b_perm_rank = rank;
        matmul->inputs[1] = g->nodes[source].inputs[0]; /* the Transpose, now unread, dies */
    }
}

/* ==== channels-last activations ====
 * oneDNN's convolutions here run on channels-last (NHWC) activations; keeping a value in that
 * layout from the Conv that writes it to the Convs and poolings that read it saves two reorders
 * per Conv. A value is kept so when its producer can write it and every reader can read it, and
 * it is no graph output; everywhere else values stay row-major. */

static bool writes_channels_last(const onnx_node_t *node, int k)
{
    if (k != 0)
        return false;
    if (onnx_opt_is_op(node, "Conv"))
        return true;
    bool has_indices = node->n_outputs > 1 && node->outputs[1] >= 0;
    return (onnx_opt_is_op(node, "MaxPool") && !has_indices) || onnx_opt_is_op(node, "AveragePool");
}

static bool reads_channels_last(const onnx_node_t *node, int k)
{
    if (onnx_opt_is_op(node, "Conv"))
        return k == 0 || (node->fused.sum_input > 0 && k == node->fused.sum_input);
    if (k != 0)
        return false;
    bool has_indices = node->n_outputs > 1 && node->outputs[1] >= 0;
    return (onnx_opt_is_op(node, "MaxPool") && !has_indices) ||
           onnx_opt_is_op(node, "AveragePool") || onnx_opt_is_op(node, "GlobalAveragePool") ||
           onnx_opt_is_op(node, "GlobalMaxPool");
}

static int plan_layouts(onnx_graph_t *g, inferd_err_t *err)
{
    /* per value: 1 can be channels-last so far, 0 cannot; decided over all readers */
    signed char *can = malloc((size_t)g->n_values + 1);
    if (can == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory optimizing the graph");
    memset(can, 0, (size_t)g->n_values + 1);
    for (int n = 0; n < g->n_nodes; n++)
        for (int k = 0; k < g->nodes[n].n_outputs; k++) {
            int v = g->nodes[n].outputs[k];
            if (v >= 0 && writes_channels_last(&g->nodes[n], k) && g->values[v].graph_output < 0)
                can[v] = 1;
        }
    bool *is_read = calloc((size_t)g->n_values + 1, sizeof(bool));
    if (is_read == NULL) {
        free(can);
        return inferd_fail(err, INFERD_ENOMEM, "out of memory optimizing the graph");
    }
    for (int n = 0; n < g->n_nodes; n++)
        for (int k = 0; k < g->nodes[n].n_inputs; k++) {
            int v = g->nodes[n].inputs[k];
            if (v < 0)
                continue;
            is_read[v] = true;
            if (!reads_channels_last(&g->nodes[n], k))
                can[v] = 0;
        }
    for (int n = 0; n < g->n_nodes; n++) {
        onnx_node_t *node = &g->nodes[n];
        node->channels_last_inputs = node->channels_last_outputs = 0;
        for (int k = 0; k < node->n_inputs && k < 64; k++)
            if (node->inputs[k] >= 0 && can[node->inputs[k]] && is_read[node->inputs[k]])
                node->channels_last_inputs |= (uint64_t)1 << k;
        for (int k = 0; k < node->n_outputs && k < 64; k++)
            if (node->outputs[k] >= 0 && can[node->outputs[k]] && is_read[node->outputs[k]])
                node->channels_last_outputs |= (uint64_t)1 << k;
    }
    free(is_read);
    free(can);
    return 0;
}

/* ==== finalize ====
 * Each op that wants it sees its constant inputs once the graph is final, and may take those
 * that only it reads (e.g. Conv keeps one copy of its weights in oneDNN's layout, shared by every
 * execution context, and drops the plain one). */

static int finalize_nodes(onnx_graph_t *g, inferd_err_t *err)
{
    int *reads = calloc((size_t)g->n_values + 1, sizeof(int));
    if (reads == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory optimizing the graph");
    for (int n = 0; n < g->n_nodes; n++)
        for (int k = 0; k < g->nodes[n].n_inputs; k++)
            if (g->nodes[n].inputs[k] >= 0)
                reads[g->nodes[n].inputs[k]]++;
    int rc = 0;
    for (int n = 0; n < g->n_nodes && rc == 0; n++) {
        onnx_node_t *node = &g->nodes[n];
        onnx_finalize_fn finalize = onnx_op_finalizer(node->op);
        if (finalize == NULL)
            continue;
        inferd_tensor_t *constants[ONNX_MAX_NODE_INPUTS];
        uint64_t is_owned = 0;
        for (int k = 0; k < node->n_inputs; k++) {
            int v = node->inputs[k];
            constants[k] = v >= 0 && g->values[v].is_constant ? &g->values[v].constant : NULL;
            if (constants[k] != NULL && k < 64 && reads[v] == 1 && g->values[v].graph_output < 0)
                is_owned |= (uint64_t)1 << k;
        }
        rc = finalize(node, constants, is_owned, err);
        if (rc != 0)
            inferd_err_prefix(err, "node '%s' (%s): ", node->name, node->op->op_type);
    }
    free(reads);
    return rc;
}

int onnx_graph_optimize(onnx_graph_t *g, inferd_err_t *err)
{
    /* Fold in execution order, so that folding one node can make its readers foldable. */
    int kept = 0;
    for (int n = 0; n < g->n_nodes; n++) {
        onnx_node_t *node = &g->nodes[n];
        if (node->n_inputs > 0 && has_only_constant_inputs(g, node)) {
            int rc = fold_node(g, node, err);
            if (rc != 0) { /* keep the graph whole for onnx_graph_free: the rest moves down */
                for (int rest = n; rest < g->n_nodes; rest++)
                    g->nodes[kept++] = g->nodes[rest];
                g->n_nodes = kept;
                return rc;
            }
            free_node(node);
            continue;
        }
        g->nodes[kept++] = *node;
    }
    g->n_nodes = kept;

    fold_batch_norms(g);
    fuse_into_convs(g);
    fuse_transposes_into_matmuls(g);
    fuse_into_products(g);
    onnx_opt_fuse_layer_norms(g);

    /* Drop dead nodes from the end back, so that a chain of them goes in one pass. */
    bool *is_read = calloc((size_t)g->n_values + 1, sizeof(bool));
    bool *is_dead = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    if (is_read == NULL || is_dead == NULL) {
        free(is_read);
        free(is_dead);
        return inferd_fail(err, INFERD_ENOMEM, "out of memory optimizing the graph");
    }
    for (int n = g->n_nodes - 1; n >= 0; n--) {
        if (!is_needed(g, n, is_read)) {
            is_dead[n] = true;
            continue;
        }
        for (int k = 0; k < g->nodes[n].n_inputs; k++)
            if (g->nodes[n].inputs[k] >= 0)
                is_read[g->nodes[n].inputs[k]] = true;
    }
    kept = 0;
    for (int n = 0; n < g->n_nodes; n++) {
        if (is_dead[n])
            free_node(&g->nodes[n]);
        else
            g->nodes[kept++] = g->nodes[n];
    }
    g->n_nodes = kept;
    free(is_read);
    free(is_dead);

    /* Which inputs are constants (ops may cache work derived from them), and which node reads
     * each value last (the executor recycles its buffer after that node). */
    for (int n = 0; n < g->n_nodes; n++) {
        g->nodes[n].constant_inputs = 0;
        for (int k = 0; k < g->nodes[n].n_inputs && k < 64; k++)
            if (g->nodes[n].inputs[k] >= 0 && g->values[g->nodes[n].inputs[k]].is_constant)
                g->nodes[n].constant_inputs |= (uint64_t)1 << k;
    }
    for (int v = 0; v < g->n_values; v++)
        g->values[v].last_reader = -1;
    for (int n = 0; n < g->n_nodes; n++)
        for (int k = 0; k < g->nodes[n].n_inputs; k++)
            if (g->nodes[n].inputs[k] >= 0)
                g->values[g->nodes[n].inputs[k]].last_reader = n;
    int rc = plan_layouts(g, err);
    return rc != 0 ? rc : finalize_nodes(g, err);
}
