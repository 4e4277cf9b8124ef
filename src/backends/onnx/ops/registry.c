/* The table of ONNX operators inferd runs: every family's table, searched in order. Constant is
 * not here: the loader folds it into a constant value. A new operator is one more row in its
 * family's table; a new family is one more line in ops.h. */
#include "ops.h"

#include <string.h>

static const onnx_op_t *const *const families[] = {
#define ONNX_OP_FAMILY_ROW(family) onnx_ops_##family,
    ONNX_OP_FAMILIES(ONNX_OP_FAMILY_ROW)
#undef ONNX_OP_FAMILY_ROW
};

const onnx_op_t *onnx_op_find(const char *op_type)
{
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
        for (const onnx_op_t *const *op = families[f]; *op != NULL; op++)
            if (strcmp((*op)->op_type, op_type) == 0)
                return *op;
    return NULL;
}

/* The ops with a finalize step, by name (most have none). */
static const struct {
    const char *op_type;
    onnx_finalize_fn finalize;
} finalizers[] = {
    {"Conv", onnx_conv_finalize},
    {"Gemm", onnx_gemm_finalize},
};

onnx_finalize_fn onnx_op_finalizer(const onnx_op_t *op)
{
    for (size_t i = 0; i < sizeof(finalizers) / sizeof(finalizers[0]); i++)
        if (strcmp(finalizers[i].op_type, op->op_type) == 0)
            return finalizers[i].finalize;
    return NULL;
}
