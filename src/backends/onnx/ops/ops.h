/* The operator rows the registry lists; one family per file. */
#ifndef INFERD_ONNX_OPS_H
#define INFERD_ONNX_OPS_H

#include "../graph.h"

/* elementwise.c */
extern const onnx_op_t onnx_op_add, onnx_op_sub, onnx_op_mul, onnx_op_div;
extern const onnx_op_t onnx_op_relu, onnx_op_sigmoid, onnx_op_tanh;
/* gemm.c */
extern const onnx_op_t onnx_op_gemm, onnx_op_matmul;
/* softmax.c */
extern const onnx_op_t onnx_op_softmax;
/* shape.c */
extern const onnx_op_t onnx_op_flatten, onnx_op_reshape, onnx_op_identity;

#endif
