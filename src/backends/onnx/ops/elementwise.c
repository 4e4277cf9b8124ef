/* Binary and variadic arithmetic with numpy-style (multidirectional) broadcasting: Add, Sub, Mul,
 * Div, and Sum, Mean, Min, Max over any number of inputs, on every numeric datatype (FP16
 * through double); before opset 7, Add/Sub/Mul/Div also take the legacy `broadcast`/`axis`
 * attributes. Integer arithmetic wraps; integer division by zero is refused before anything is
 * computed. Pow, Mod, PRelu and BitShift live in elementwise_special.c; this file holds the
 * family's table. */
#include "elementwise.h"

#include <math.h>
#include <string.h>

/* ==== kernels ==== */

typedef enum {
    ARITH_ADD,
    ARITH_SUB,
    ARITH_MUL,
    ARITH_DIV,
    ARITH_MIN,
    ARITH_MAX,
    ARITH_COUNT
} arith_t;

/* Min and Max propagate NaN as numpy's minimum/maximum do: a NaN on either side wins. */
#define FLOAT_KERNELS(DT, name, T, U)                                                              \
    ONNX_EW_BINARY_ROW(add_##name, T, T, x + z)                                                    \
    ONNX_EW_BINARY_ROW(sub_##name, T, T, x - z)                                                    \
    ONNX_EW_BINARY_ROW(mul_##name, T, T, x *z)                                                     \
    ONNX_EW_BINARY_ROW(div_##name, T, T, x / z)                                                    \
    ONNX_EW_BINARY_ROW(min_##name, T, T, (x != x || x < z) ? x : z)                                \
    ONNX_EW_BINARY_ROW(max_##name, T, T, (x != x || x > z) ? x : z)
/* Division: the caller has refused zero divisors; MIN / -1 wraps instead of trapping. */
#define SIGNED_KERNELS(DT, name, T, U)                                                             \
    ONNX_EW_BINARY_ROW(add_##name, T, T, (T)((U)x + (U)z))                                         \
    ONNX_EW_BINARY_ROW(sub_##name, T, T, (T)((U)x - (U)z))                                         \
    ONNX_EW_BINARY_ROW(mul_##name, T, T, (T)((U)x * (U)z))                                         \
    ONNX_EW_BINARY_ROW(div_##name, T, T, z == -1 ? (T)((U)0 - (U)x) : (T)(x / z))                  \
    ONNX_EW_BINARY_ROW(min_##name, T, T, x < z ? x : z)                                            \
    ONNX_EW_BINARY_ROW(max_##name, T, T, x > z ? x : z)
#define UNSIGNED_KERNELS(DT, name, T, U)                                                           \
    ONNX_EW_BINARY_ROW(add_##name, T, T, (T)((U)x + (U)z))                                         \
    ONNX_EW_BINARY_ROW(sub_##name, T, T, (T)((U)x - (U)z))                                         \
    ONNX_EW_BINARY_ROW(mul_##name, T, T, (T)((U)x * (U)z))                                         \
    ONNX_EW_BINARY_ROW(div_##name, T, T, (T)(x / z))                                               \
    ONNX_EW_BINARY_ROW(min_##name, T, T, x < z ? x : z)                                            \
    ONNX_EW_BINARY_ROW(max_##name, T, T, x > z ? x : z)
ONNX_EW_FLOAT_TYPES(FLOAT_KERNELS)
ONNX_EW_SIGNED_TYPES(SIGNED_KERNELS)
ONNX_EW_UNSIGNED_TYPES(UNSIGNED_KERNELS)
ONNX_EW_BINARY_ROW_HALF(add_f16, half, x + z)
ONNX_EW_BINARY_ROW_HALF(sub_f16, half, x - z)
ONNX_EW_BINARY_ROW_HALF(mul_f16, half, x *z)
ONNX_EW_BINARY_ROW_HALF(div_f16, half, x / z)
ONNX_EW_BINARY_ROW_HALF(min_f16, half, (x != x || x < z) ? x : z)
ONNX_EW_BINARY_ROW_HALF(max_f16, half, (x != x || x > z) ? x : z)

#define KERNEL_ROW(DT, name, T, U)                                                                 \
    [INFERD_DT_##DT] = {add_##name, sub_##name, mul_##name, div_##name, min_##name, max_##name},
/* kernels[dtype][op]; NULL for a datatype the arithmetic does not take. */
static const onnx_ew_row_t kernels[INFERD_DT_COUNT][ARITH_COUNT] = {
    ONNX_EW_FLOAT_TYPES(KERNEL_ROW) ONNX_EW_SIGNED_TYPES(KERNEL_ROW)
        ONNX_EW_UNSIGNED_TYPES(KERNEL_ROW) KERNEL_ROW(FP16, f16, half, half)};
#undef KERNEL_ROW

static const char numeric_types[] =
    "FP16, FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64";

/* ==== Add, Sub, Mul, Div ==== */

typedef struct {
    arith_t kind;
    bool is_legacy_broadcast; /* opset < 7 with broadcast=1: B is placed at A's `axis` */
    bool has_axis;
    int64_t axis;
} arith_params_t;

static int binary_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, arith_t kind,
                          inferd_err_t *err)
{
    arith_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->kind = kind;
    p->is_legacy_broadcast = node->opset < 7 && onnx_attr_int(proto, "broadcast", 0) != 0;
    p->has_axis = onnx_attr(proto, "axis") != NULL;
    p->axis = onnx_attr_int(proto, "axis", 0);
    return 0;
}

/* The second operand as the walk sees it (a header over b's data): b itself, or under the legacy
 * broadcast (before opset 7) b's dimensions placed at A's `axis` (by default against A's last
 * ones) with 1s after them; a one-element b is a scalar. Returns 0, or INFERD_EINVAL when b's
 * dimensions are neither A's there nor 1 (the result must keep A's shape). */
static int second_operand(const arith_params_t *p, const inferd_tensor_t *a,
                          const inferd_tensor_t *b, inferd_tensor_t *view, inferd_err_t *err)
{
    *view = *b;
    if (!p->is_legacy_broadcast)
        return 0;
    if (inferd_tensor_count(b) == 1) {
        view->ndim = 0;
        return 0;
    }
    int64_t axis = p->has_axis ? p->axis : a->ndim - b->ndim;
    if (axis < 0)
        axis += a->ndim;
    bool fits = b->ndim <= a->ndim && axis >= 0 && axis + b->ndim <= a->ndim;
    for (int d = 0; d < b->ndim && fits; d++)
        fits = b->shape[d] == a->shape[axis + d] || b->shape[d] == 1;
    if (!fits) {
        char as[128], bs[128];
        return inferd_fail(err, INFERD_EINVAL,
                           "B's shape %s does not match A's shape %s at axis %lld",
                           inferd_shape_str(b->shape, b->ndim, bs, sizeof(bs)),
                           inferd_shape_str(a->shape, a->ndim, as, sizeof(as)), (long long)axis);
    }
    view->ndim = a->ndim - (int)axis;
    for (int d = b->ndim; d < view->ndim; d++)
        view->shape[d] = 1;
    return 0;
}

static int binary_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, inferd_err_t *err)
{
    const arith_params_t *p = node->params;
    int rc = onnx_ew_check_same_dtype(in, 2, err);
    if (rc != 0)
        return rc;
    if (kernels[in[0]->dtype][p->kind] == NULL)
        return onnx_fail_dtype(err, in[0], numeric_types);
    inferd_tensor_t b;
    rc = second_operand(p, in[0], in[1], &b, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *operands[2] = {in[0], &b};
    rc = onnx_ew_shape_broadcast(operands, 2, in[0]->dtype, out, err);
    if (rc != 0)
        return rc;
    /* Every divisor element is used when the output is not empty: refuse before computing. */
    if (p->kind == ARITH_DIV && onnx_is_integer(in[1]->dtype) && inferd_tensor_count(out) > 0 &&
        onnx_ew_has_zero(in[1]))
        return inferd_fail(err, INFERD_EINVAL, "integer division by zero");
    return 0;
}

static int binary_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const arith_params_t *p = node->params;
    inferd_tensor_t b;
    int rc = second_operand(p, in[0], in[1], &b, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *operands[2] = {in[0], &b};
    onnx_ew_walk(operands, 2, &out[0], kernels[in[0]->dtype][p->kind], NULL);
    return 0;
}

#define DEFINE_BINARY_OP(var, name, kind)                                                          \
    static int prepare_##var(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)   \
    {                                                                                              \
        return binary_prepare(node, proto, kind, err);                                             \
    }                                                                                              \
    static const onnx_op_t onnx_op_##var = {name,         2,         2, 1, 1, prepare_##var,       \
                                            binary_shape, binary_run};

DEFINE_BINARY_OP(add, "Add", ARITH_ADD)
DEFINE_BINARY_OP(sub, "Sub", ARITH_SUB)
DEFINE_BINARY_OP(mul, "Mul", ARITH_MUL)
DEFINE_BINARY_OP(div, "Div", ARITH_DIV)

/* ==== Sum, Mean, Min, Max: 1 to N inputs ==== */

typedef struct {
    arith_t kind;  /* ARITH_ADD for Sum and Mean */
    bool is_mean;  /* divide the sum by the input count */
    bool is_float; /* only float datatypes (Mean) */
} variadic_params_t;

static int variadic_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          inferd_tensor_t *out, inferd_err_t *err)
{
    const variadic_params_t *p = node->params;
    int rc = onnx_ew_check_same_dtype(in, node->n_inputs, err);
    if (rc != 0)
        return rc;
    if (p->is_float ? !onnx_is_float(in[0]->dtype) : kernels[in[0]->dtype][p->kind] == NULL)
        return onnx_fail_dtype(err, in[0], p->is_float ? "FP16, FP32, FP64" : numeric_types);
    return onnx_ew_shape_broadcast(in, node->n_inputs, in[0]->dtype, out, err);
}

/* y /= count over all of y (a float tensor). */
static void divide_by(inferd_tensor_t *y, int count)
{
    int64_t n = inferd_tensor_count(y);
    if (y->dtype == INFERD_DT_FP32) {
        float *v = y->data;
        for (int64_t i = 0; i < n; i++)
            v[i] /= (float)count;
    } else if (y->dtype == INFERD_DT_FP64) {
        double *v = y->data;
        for (int64_t i = 0; i < n; i++)
            v[i] /= count;
    } else {
        for (int64_t i = 0; i < n; i++)
            onnx_ew_half_store(y->data, i, onnx_ew_half_load(y->data, i) / count);
    }
}

/* Folds the inputs left to right into y: y = in0 op in1, then y = y op in_k. The first step
 * broadcasts both to y's (final) shape, later ones accumulate in place. */
static int variadic_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const variadic_params_t *p = node->params;
    inferd_tensor_t *y = &out[0];
    onnx_ew_row_t kernel = kernels[y->dtype][p->kind];
    if (node->n_inputs == 1) {
        int64_t bytes = inferd_tensor_bytes(y);
        if (bytes > 0)
            memcpy(y->data, in[0]->data, (size_t)bytes);
        return 0;
    }
    onnx_ew_walk(in, 2, y, kernel, NULL);
    for (int k = 2; k < node->n_inputs; k++) {
        const inferd_tensor_t *operands[2] = {y, in[k]};
        onnx_ew_walk(operands, 2, y, kernel, NULL);
    }
    if (p->is_mean)
        divide_by(y, node->n_inputs);
    return 0;
}

#define DEFINE_VARIADIC_OP(var, name, kind_value, mean, floats_only)                               \
    static int prepare_##var(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)   \
    {                                                                                              \
        variadic_params_t *p = onnx_params_new(node, sizeof(*p));                                  \
        if (p == NULL)                                                                             \
            return INFERD_ENOMEM;                                                                  \
        *p = (variadic_params_t){.kind = kind_value, .is_mean = mean, .is_float = floats_only};    \
        return 0;                                                                                  \
    }                                                                                              \
    static const onnx_op_t onnx_op_##var = {                                                       \
        name, 1, ONNX_MAX_NODE_INPUTS, 1, 1, prepare_##var, variadic_shape, variadic_run};

DEFINE_VARIADIC_OP(sum, "Sum", ARITH_ADD, false, false)
DEFINE_VARIADIC_OP(mean, "Mean", ARITH_ADD, true, true)
DEFINE_VARIADIC_OP(min, "Min", ARITH_MIN, false, false)
DEFINE_VARIADIC_OP(max, "Max", ARITH_MAX, false, false)

const onnx_op_t *const onnx_ops_elementwise[] = {
    &onnx_op_add,   &onnx_op_sub,      &onnx_op_mul,  &onnx_op_div, &onnx_op_pow,
    &onnx_op_mod,   &onnx_op_sum,      &onnx_op_mean, &onnx_op_min, &onnx_op_max,
    &onnx_op_prelu, &onnx_op_bitshift, NULL,
};
