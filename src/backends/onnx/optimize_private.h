/* Private to the graph optimizer (optimize.c and the passes split from it). */
#ifndef INFERD_ONNX_OPTIMIZE_PRIVATE_H
#define INFERD_ONNX_OPTIMIZE_PRIVATE_H

#include <stdbool.h>

#include "graph.h"

/* The only node that reads value `v`, or -1 when none, several, or `v` is a graph output. */
int onnx_opt_only_reader(const onnx_graph_t *g, int v);

/* Whether `node` runs op `op_type`. */
bool onnx_opt_is_op(const onnx_node_t *node, const char *op_type);

/* A constant FP32 scalar (one element) of input k into *OUT_value; false when it is not one. */
bool onnx_opt_constant_scalar(const onnx_graph_t *g, const onnx_node_t *node, int k,
                              float *OUT_value);

/* Fuses each LayerNorm PyTorch exported as nine nodes into one LayerNormalization
 * (optimize_layer_norm.c); the replaced nodes die in dead-node removal. */
void onnx_opt_fuse_layer_norms(onnx_graph_t *g);

#endif
