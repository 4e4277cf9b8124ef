/* Unary math and activations: Exp, Log, Sqrt, Abs, Neg, Reciprocal, Floor, Ceil, Round, Sign,
 * Erf, IsNaN, IsInf, Not, LeakyRelu, Elu, Selu, HardSigmoid, HardSwish, Softplus, Gelu, Clip.
 * (Being written: the table is empty until the family lands.) */
#include "ops.h"

const onnx_op_t *const onnx_ops_unary[] = {NULL};
