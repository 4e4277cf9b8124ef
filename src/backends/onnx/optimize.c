/* Load-time rewrites of a loaded graph, so that running it does less: nodes whose inputs are
 * all constants run once here and become constants (constant folding), and nodes whose outputs
 * nothing reads are dropped (dead-node removal). Runs after the loader has ordered the nodes. */
#include "graph.h"

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

int onnx_graph_optimize(onnx_graph_t *g, inferd_err_t *err)
{
    /* Fold in execution order, so that folding one node can make its readers foldable. */
    int kept = 0;
    for (int n = 0; n < g->n_nodes; n++) {
        onnx_node_t *node = &g->nodes[n];
        if (node->n_inputs > 0 && has_only_constant_inputs(g, node)) {
            int rc = fold_node(g, node, err);
            if (rc != 0)
                return rc;
            free_node(node);
            continue;
        }
        g->nodes[kept++] = *node;
    }
    g->n_nodes = kept;

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

    /* Which node reads each value last: the executor recycles its buffer after that node. */
    for (int v = 0; v < g->n_values; v++)
        g->values[v].last_reader = -1;
    for (int n = 0; n < g->n_nodes; n++)
        for (int k = 0; k < g->nodes[n].n_inputs; k++)
            if (g->nodes[n].inputs[k] >= 0)
                g->values[g->nodes[n].inputs[k]].last_reader = n;
    return 0;
}
