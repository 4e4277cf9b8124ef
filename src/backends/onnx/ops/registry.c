/* The table of ONNX operators inferd runs. Constant is not here: the loader folds it into a
 * constant value. A new operator is one more row. */
#include "ops.h"

#include <string.h>

static const onnx_op_t *const ops[] = {
    &onnx_op_add,     &onnx_op_sub,     &onnx_op_mul,      &onnx_op_div,    &onnx_op_relu,
    &onnx_op_sigmoid, &onnx_op_tanh,    &onnx_op_gemm,     &onnx_op_matmul, &onnx_op_softmax,
    &onnx_op_flatten, &onnx_op_reshape, &onnx_op_identity,
};

const onnx_op_t *onnx_op_find(const char *op_type)
{
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i]->op_type, op_type) == 0)
            return ops[i];
    return NULL;
}
