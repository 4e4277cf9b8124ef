/* Indexing: Gather, GatherElements, ScatterElements, OneHot, CumSum, NonZero.
 * (Being written: the table is empty until the family lands.) */
#include "ops.h"

const onnx_op_t *const onnx_ops_gather[] = {NULL};
