/* Reductions: ReduceMean/Sum/Max/Min/Prod/L1/L2/SumSquare/LogSumExp, ArgMax, ArgMin.
 * (Being written: the table is empty until the family lands.) */
#include "ops.h"

const onnx_op_t *const onnx_ops_reduce[] = {NULL};
