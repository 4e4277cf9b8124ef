/* Comparisons and logic with numpy-style broadcasting: Equal, Greater, Less, GreaterOrEqual,
 * LessOrEqual (numeric or BOOL inputs, BOOL out; NaN compares false, and unequal), And, Or, Xor
 * (BOOL), and Where (a BOOL condition choosing between X and Y of any fixed-size datatype, all
 * three broadcast together). */
#include "elementwise.h"

/* ==== comparisons ==== */

typedef enum {
    CMP_EQUAL,
    CMP_GREATER,
    CMP_LESS,
    CMP_GREATER_EQUAL,
    CMP_LESS_EQUAL,
    CMP_COUNT
} cmp_t;

#define COMPARE_ROWS(DT, name, T, U)                                                               \
    ONNX_EW_BINARY_ROW(equal_##name, T, uint8_t, x == z)                                           \
    ONNX_EW_BINARY_ROW(greater_##name, T, uint8_t, x > z)                                          \
    ONNX_EW_BINARY_ROW(less_##name, T, uint8_t, x < z)                                             \
    ONNX_EW_BINARY_ROW(greater_equal_##name, T, uint8_t, x >= z)                                   \
    ONNX_EW_BINARY_ROW(less_equal_##name, T, uint8_t, x <= z)
ONNX_EW_FLOAT_TYPES(COMPARE_ROWS)
ONNX_EW_SIGNED_TYPES(COMPARE_ROWS)
ONNX_EW_UNSIGNED_TYPES(COMPARE_ROWS)
#undef COMPARE_ROWS
ONNX_EW_BINARY_ROW_HALF(equal_f16, uint8_t, x == z)
ONNX_EW_BINARY_ROW_HALF(greater_f16, uint8_t, x > z)
ONNX_EW_BINARY_ROW_HALF(less_f16, uint8_t, x < z)
ONNX_EW_BINARY_ROW_HALF(greater_equal_f16, uint8_t, x >= z)
ONNX_EW_BINARY_ROW_HALF(less_equal_f16, uint8_t, x <= z)
/* BOOL compares truth values (any nonzero byte is true; false < true). */
ONNX_EW_BINARY_ROW(equal_bool, uint8_t, uint8_t, (x != 0) == (z != 0))
ONNX_EW_BINARY_ROW(greater_bool, uint8_t, uint8_t, (x != 0) > (z != 0))
ONNX_EW_BINARY_ROW(less_bool, uint8_t, uint8_t, (x != 0) < (z != 0))
ONNX_EW_BINARY_ROW(greater_equal_bool, uint8_t, uint8_t, (x != 0) >= (z != 0))
ONNX_EW_BINARY_ROW(less_equal_bool, uint8_t, uint8_t, (x != 0) <= (z != 0))

#define COMPARE_ENTRY(DT, name, T, U)                                                              \
    [INFERD_DT_##DT] = {equal_##name, greater_##name, less_##name, greater_equal_##name,           \
                        less_equal_##name},
/* compare_kernels[dtype][comparison] */
static const onnx_ew_row_t compare_kernels[INFERD_DT_COUNT][CMP_COUNT] = {
    ONNX_EW_FLOAT_TYPES(COMPARE_ENTRY) ONNX_EW_SIGNED_TYPES(COMPARE_ENTRY)
        ONNX_EW_UNSIGNED_TYPES(COMPARE_ENTRY) COMPARE_ENTRY(FP16, f16, half, half)
            COMPARE_ENTRY(BOOL, bool, uint8_t, uint8_t)};
#undef COMPARE_ENTRY

typedef struct {
    cmp_t comparison;
} compare_params_t;

static int compare_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, inferd_err_t *err)
{
    const compare_params_t *p = node->params;
    int rc = onnx_ew_check_same_dtype(in, 2, err);
    if (rc != 0)
        return rc;
    if (compare_kernels[in[0]->dtype][p->comparison] == NULL)
        return onnx_fail_dtype(err, in[0],
                               "BOOL, FP16, FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, "
                               "UINT32, UINT64");
    return onnx_ew_shape_broadcast(in, 2, INFERD_DT_BOOL, out, err);
}

static int compare_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const compare_params_t *p = node->params;
    onnx_ew_walk(in, 2, &out[0], compare_kernels[in[0]->dtype][p->comparison], NULL);
    return 0;
}

#define DEFINE_COMPARE_OP(var, name, kind)                                                         \
    static int prepare_##var(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)   \
    {                                                                                              \
        compare_params_t *p = onnx_params_new(node, sizeof(*p));                                   \
        if (p == NULL)                                                                             \
            return INFERD_ENOMEM;                                                                  \
        p->comparison = kind;                                                                      \
        return 0;                                                                                  \
    }                                                                                              \
    static const onnx_op_t onnx_op_##var = {name,          2,          2, 1, 1, prepare_##var,     \
                                            compare_shape, compare_run};

DEFINE_COMPARE_OP(equal, "Equal", CMP_EQUAL)
DEFINE_COMPARE_OP(greater, "Greater", CMP_GREATER)
DEFINE_COMPARE_OP(less, "Less", CMP_LESS)
DEFINE_COMPARE_OP(greater_equal, "GreaterOrEqual", CMP_GREATER_EQUAL)
DEFINE_COMPARE_OP(less_equal, "LessOrEqual", CMP_LESS_EQUAL)

/* ==== And, Or, Xor ==== */

ONNX_EW_BINARY_ROW(and_row, uint8_t, uint8_t, (x != 0) & (z != 0))
ONNX_EW_BINARY_ROW(or_row, uint8_t, uint8_t, (x != 0) | (z != 0))
ONNX_EW_BINARY_ROW(xor_row, uint8_t, uint8_t, (x != 0) ^ (z != 0))

static int logic_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_ew_check_present(in, 2, err);
    if (rc != 0)
        return rc;
    for (int k = 0; k < 2; k++)
        if (in[k]->dtype != INFERD_DT_BOOL)
            return onnx_fail_dtype(err, in[k], "BOOL");
    return onnx_ew_shape_broadcast(in, 2, INFERD_DT_BOOL, out, err);
}

#define DEFINE_LOGIC_OP(var, name)                                                                 \
    static int run_##var(const onnx_node_t *node, const inferd_tensor_t *const *in,                \
                         inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)         \
    {                                                                                              \
        onnx_ew_walk(in, 2, &out[0], var##_row, NULL);                                             \
        return 0;                                                                                  \
    }                                                                                              \
    static const onnx_op_t onnx_op_##var = {name, 2, 2, 1, 1, NULL, logic_shape, run_##var};

DEFINE_LOGIC_OP(and, "And")
DEFINE_LOGIC_OP(or, "Or")
DEFINE_LOGIC_OP(xor, "Xor")

/* ==== Where ==== */

/* Rows choosing elements by their size: the datatype does not matter, only its width. */
#define WHERE_ROW(bytes, T)                                                                        \
    static void where_##bytes(void *ctx, const void *const *in, const int64_t *step, void *out,    \
                              int64_t count)                                                       \
    {                                                                                              \
        const uint8_t *condition = in[0];                                                          \
        const T *x = in[1], *y = in[2];                                                            \
        T *to = out;                                                                               \
        if (step[0] != 0 && step[1] != 0 && step[2] != 0) {                                        \
            for (int64_t i = 0; i < count; i++)                                                    \
                to[i] = condition[i] ? x[i] : y[i];                                                \
            return;                                                                                \
        }                                                                                          \
        for (int64_t i = 0; i < count; i++)                                                        \
            to[i] = condition[i * step[0]] ? x[i * step[1]] : y[i * step[2]];                      \
    }
WHERE_ROW(1, uint8_t)
WHERE_ROW(2, uint16_t)
WHERE_ROW(4, uint32_t)
WHERE_ROW(8, uint64_t)
#undef WHERE_ROW

static onnx_ew_row_t where_row(inferd_dtype_t dtype)
{
    switch (inferd_dtype_size(dtype)) {
    case 1:
        return where_1;
    case 2:
        return where_2;
    case 4:
        return where_4;
    case 8:
        return where_8;
    default:
        return NULL;
    }
}

static int where_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_ew_check_present(in, 3, err);
    if (rc != 0)
        return rc;
    if (in[0]->dtype != INFERD_DT_BOOL)
        return inferd_fail(err, INFERD_EINVAL, "the condition must be BOOL, not %s",
                           inferd_dtype_name(in[0]->dtype));
    if (in[1]->dtype != in[2]->dtype)
        return inferd_fail(err, INFERD_EINVAL, "X and Y have different datatypes (%s and %s)",
                           inferd_dtype_name(in[1]->dtype), inferd_dtype_name(in[2]->dtype));
    if (where_row(in[1]->dtype) == NULL)
        return onnx_fail_dtype(err, in[1], "fixed-size datatypes");
    return onnx_ew_shape_broadcast(in, 3, in[1]->dtype, out, err);
}

static int where_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    onnx_ew_walk(in, 3, &out[0], where_row(in[1]->dtype), NULL);
    return 0;
}

static const onnx_op_t onnx_op_where = {"Where", 3, 3, 1, 1, NULL, where_shape, where_run};

const onnx_op_t *const onnx_ops_logical[] = {
    &onnx_op_equal, &onnx_op_greater, &onnx_op_less, &onnx_op_greater_equal, &onnx_op_less_equal,
    &onnx_op_and,   &onnx_op_or,      &onnx_op_xor,  &onnx_op_where,         NULL,
};
