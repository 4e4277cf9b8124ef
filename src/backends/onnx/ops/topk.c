/* TopK.
 * (Being written: the table is empty until the family lands.) */
#include "ops.h"

const onnx_op_t *const onnx_ops_topk[] = {NULL};
