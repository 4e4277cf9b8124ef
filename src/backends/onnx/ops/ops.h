/* The operator families: each file exports one NULL-terminated table of its operators, and
 * registry.c lists the tables. */
#ifndef INFERD_ONNX_OPS_H
#define INFERD_ONNX_OPS_H

#include "../graph.h"
#include "common.h"

#define ONNX_OP_FAMILIES(X)                                                                        \
    X(elementwise) /* Add, Sub, Mul, Div, Pow, Mod, PRelu, Min, Max, Sum, Mean */                  \
    X(unary)       /* Relu, Sigmoid, Tanh, Exp, Log, ... and the other activations */              \
    X(logical)     /* comparisons, And/Or/Xor/Not, Where */                                        \
    X(cast)        /* Cast, CastLike */                                                            \
    X(gemm)        /* Gemm, MatMul */                                                              \
    X(softmax)     /* Softmax, LogSoftmax */                                                       \
    X(shape)       /* Flatten, Reshape, Identity, Shape, Size, ConstantOfShape, Range, Dropout */  \
    X(transform) /* Transpose, Squeeze, Unsqueeze, Concat, Split, Slice, Expand, Tile, Pad, Trilu  \
                  */                                                                               \
    X(gather)    /* Gather(ND), GatherElements, Scatter(Elements, ND) */                           \
    X(positions) /* OneHot, CumSum, NonZero */                                                     \
    X(conv)      /* Conv, ConvTranspose */                                                         \
    X(pool)      /* MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool */                      \
    X(norm)      /* BatchNormalization, InstanceNormalization, LayerNormalization */               \
    X(resize)    /* Resize */                                                                      \
    X(reduce)    /* Reduce*, ArgMax, ArgMin */                                                     \
    X(topk)      /* TopK */                                                                        \
    X(einsum)    /* Einsum */                                                                      \
    X(nms)       /* NonMaxSuppression */                                                           \
    X(quantize)  /* QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear */

#define ONNX_OP_FAMILY_DECLARE(family) extern const onnx_op_t *const onnx_ops_##family[];
ONNX_OP_FAMILIES(ONNX_OP_FAMILY_DECLARE)
#undef ONNX_OP_FAMILY_DECLARE

/* The finalize steps registry.c lists (see onnx_finalize_fn). */
int onnx_conv_finalize(onnx_node_t *node, inferd_tensor_t *const *constants, uint64_t is_owned,
                       inferd_err_t *err);
int onnx_gemm_finalize(onnx_node_t *node, inferd_tensor_t *const *constants, uint64_t is_owned,
                       inferd_err_t *err);

#endif
