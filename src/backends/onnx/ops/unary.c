/* Unary math: Exp, Log, Sqrt, Reciprocal, Floor, Ceil, Round, Erf and the trigonometric and
 * hyperbolic functions (Sin ... Atanh) on FP16/FP32/FP64; Abs, Neg,
 * Sign and Relu also on integers; IsNaN, IsInf (float in, BOOL out) and Not (BOOL). The activations
 * with attributes and Clip are in unary_activation.c; this file holds the family's table and
 * the driver float ops share (typed FP32 rows, double for FP64 and FP16). */
#include "unary.h"

#include <math.h>

/* ==== the float driver ==== */

int onnx_unary_float_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                           inferd_tensor_t *out, inferd_err_t *err)
{
    if (in[0] == NULL)
        return onnx_ew_check_present(in, 1, err);
    if (!onnx_is_float(in[0]->dtype))
        return onnx_fail_dtype(err, in[0], "FP16, FP32, FP64");
    onnx_set_shape(&out[0], in[0]->dtype, in[0]->shape, in[0]->ndim);
    return 0;
}

void onnx_unary_float_apply(const unary_params_t *p, const inferd_tensor_t *x, inferd_tensor_t *y,
                            unary_f32_row_t row_f32, unary_f64_fn_t fn_f64)
{
    int64_t n = inferd_tensor_count(x);
    if (x->dtype == INFERD_DT_FP32) {
        row_f32(p, x->data, y->data, n);
    } else if (x->dtype == INFERD_DT_FP64) {
        const double *from = x->data;
        double *to = y->data;
        for (int64_t i = 0; i < n; i++)
            to[i] = fn_f64(p, from[i]);
    } else {
        for (int64_t i = 0; i < n; i++)
            onnx_ew_half_store(y->data, i, fn_f64(p, onnx_ew_half_load(x->data, i)));
    }
}

/* ==== float math ==== */

static f32x4_t exp_f32x4(const unary_params_t *p, f32x4_t x)
{
    return f32x4_exp(x);
}
UNARY_ROW_VECTOR(exp_row, exp_f32x4)
static double exp_f64(const unary_params_t *p, double x)
{
    return exp(x);
}
UNARY_FLOAT_OP(static, exp, "Exp", NULL, exp_row, exp_f64)

/* Per-element ops over libm: the float function, its row, the double function and the op. */
#define LIBM_OP(var, name, f32_expr, f64_expr)                                                     \
    static float var##_f32(const unary_params_t *p, float x)                                       \
    {                                                                                              \
        return f32_expr;                                                                           \
    }                                                                                              \
    UNARY_ROW_SCALAR(var##_row, var##_f32)                                                         \
    static double var##_f64(const unary_params_t *p, double x)                                     \
    {                                                                                              \
        return f64_expr;                                                                           \
    }                                                                                              \
    UNARY_FLOAT_OP(static, var, name, NULL, var##_row, var##_f64)

LIBM_OP(log, "Log", logf(x), log(x))
LIBM_OP(sqrt, "Sqrt", sqrtf(x), sqrt(x))
LIBM_OP(reciprocal, "Reciprocal", 1.0f / x, 1.0 / x)
LIBM_OP(floor, "Floor", floorf(x), floor(x))
LIBM_OP(ceil, "Ceil", ceilf(x), ceil(x))
LIBM_OP(round, "Round", nearbyintf(x), nearbyint(x)) /* half to even: the default mode */
LIBM_OP(sin, "Sin", sinf(x), sin(x))
LIBM_OP(cos, "Cos", cosf(x), cos(x))
LIBM_OP(tan, "Tan", tanf(x), tan(x))
LIBM_OP(asin, "Asin", asinf(x), asin(x))
LIBM_OP(acos, "Acos", acosf(x), acos(x))
LIBM_OP(atan, "Atan", atanf(x), atan(x))
LIBM_OP(sinh, "Sinh", sinhf(x), sinh(x))
LIBM_OP(cosh, "Cosh", coshf(x), cosh(x))
LIBM_OP(asinh, "Asinh", asinhf(x), asinh(x))
LIBM_OP(acosh, "Acosh", acoshf(x), acosh(x))
LIBM_OP(atanh, "Atanh", atanhf(x), atanh(x))

static f32x4_t erf_f32x4(const unary_params_t *p, f32x4_t x)
{
    return f32x4_erf(x);
}
UNARY_ROW_VECTOR(erf_row, erf_f32x4)
static double erf_f64(const unary_params_t *p, double x)
{
    return erf(x);
}
UNARY_FLOAT_OP(static, erf, "Erf", NULL, erf_row, erf_f64)

/* ==== Abs, Neg, Sign, Relu: floats and integers ==== */

typedef void (*int_row_t)(const void *x, void *y, int64_t n);

/* An integer row `name`: T y = EXPR of T x. */
#define INT_ROW(name, T, EXPR)                                                                     \
    static void name(const void *from, void *to, int64_t n)                                        \
    {                                                                                              \
        const T *x_ = from;                                                                        \
        T *y_ = to;                                                                                \
        for (int64_t i_ = 0; i_ < n; i_++) {                                                       \
            const T x = x_[i_];                                                                    \
            y_[i_] = (EXPR);                                                                       \
        }                                                                                          \
    }
/* Negation runs unsigned so that MIN wraps to MIN (as numpy's does) instead of overflowing. */
#define SIGNED_ROWS(DT, name, T, U)                                                                \
    INT_ROW(abs_##name, T, x < 0 ? (T)((U)0 - (U)x) : x)                                           \
    INT_ROW(neg_##name, T, (T)((U)0 - (U)x))                                                       \
    INT_ROW(sign_##name, T, (T)((x > 0) - (x < 0)))                                                \
    INT_ROW(relu_##name, T, x < 0 ? (T)0 : x)
#define UNSIGNED_ROWS(DT, name, T, U)                                                              \
    INT_ROW(abs_##name, T, x)                                                                      \
    INT_ROW(sign_##name, T, (T)(x != 0))
ONNX_EW_SIGNED_TYPES(SIGNED_ROWS)
ONNX_EW_UNSIGNED_TYPES(UNSIGNED_ROWS)

static float abs_f32(const unary_params_t *p, float x)
{
    return fabsf(x);
}
static double abs_f64(const unary_params_t *p, double x)
{
    return fabs(x);
}
static float neg_f32(const unary_params_t *p, float x)
{
    return -x;
}
static double neg_f64(const unary_params_t *p, double x)
{
    return -x;
}
/* -1, 0 or 1; NaN stays NaN. */
static float sign_f32(const unary_params_t *p, float x)
{
    return x > 0 ? 1.0f : x < 0 ? -1.0f : x;
}
static double sign_f64(const unary_params_t *p, double x)
{
    return x > 0 ? 1.0 : x < 0 ? -1.0 : x;
}
/* NaN stays NaN (as numpy's maximum(x, 0)). */
static float relu_f32(const unary_params_t *p, float x)
{
    return x < 0 ? 0.0f : x;
}
static double relu_f64(const unary_params_t *p, double x)
{
    return x < 0 ? 0.0 : x;
}
UNARY_ROW_SCALAR(abs_row, abs_f32)
UNARY_ROW_SCALAR(neg_row, neg_f32)
UNARY_ROW_SCALAR(sign_row, sign_f32)
UNARY_ROW_SCALAR(relu_row, relu_f32)

typedef struct {
    unary_f32_row_t row_f32;
    unary_f64_fn_t fn_f64;
    int_row_t ints[INFERD_DT_COUNT]; /* NULL for integer types the op does not take */
    int ints_from_opset;             /* the first opset whose op takes integers */
    const char *supported;           /* datatype list for messages */
} numeric_unary_t;

#define SIGNED_ENTRY(op)                                                                           \
    [INFERD_DT_INT8] = op##_i8, [INFERD_DT_INT16] = op##_i16, [INFERD_DT_INT32] = op##_i32,        \
    [INFERD_DT_INT64] = op##_i64
#define UNSIGNED_ENTRY(op)                                                                         \
    [INFERD_DT_UINT8] = op##_u8, [INFERD_DT_UINT16] = op##_u16, [INFERD_DT_UINT32] = op##_u32,     \
    [INFERD_DT_UINT64] = op##_u64
#define ALL_TYPES    "FP16, FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64"
#define SIGNED_TYPES "FP16, FP32, FP64, INT8, INT16, INT32, INT64"

static const numeric_unary_t abs_desc = {
    abs_row, abs_f64, {SIGNED_ENTRY(abs), UNSIGNED_ENTRY(abs)}, 6, ALL_TYPES};
static const numeric_unary_t neg_desc = {neg_row, neg_f64, {SIGNED_ENTRY(neg)}, 6, SIGNED_TYPES};
static const numeric_unary_t sign_desc = {
    sign_row, sign_f64, {SIGNED_ENTRY(sign), UNSIGNED_ENTRY(sign)}, 9, ALL_TYPES};
/* Relu takes INT8..INT64 from opset 14; before, floats only. */
static const numeric_unary_t relu_desc = {
    relu_row, relu_f64, {SIGNED_ENTRY(relu)}, 14, SIGNED_TYPES " (integers from opset 14)"};

static int numeric_shape(const numeric_unary_t *desc, const onnx_node_t *node,
                         const inferd_tensor_t *const *in, inferd_tensor_t *out, inferd_err_t *err)
{
    if (in[0] == NULL)
        return onnx_ew_check_present(in, 1, err);
    inferd_dtype_t dtype = in[0]->dtype;
    bool is_supported =
        onnx_is_float(dtype) || (desc->ints[dtype] != NULL && node->opset >= desc->ints_from_opset);
    if (!is_supported)
        return onnx_fail_dtype(err, in[0], desc->supported);
    onnx_set_shape(&out[0], dtype, in[0]->shape, in[0]->ndim);
    return 0;
}

static void numeric_run(const numeric_unary_t *desc, const inferd_tensor_t *x, inferd_tensor_t *y)
{
    if (onnx_is_float(x->dtype))
        onnx_unary_float_apply(NULL, x, y, desc->row_f32, desc->fn_f64);
    else
        desc->ints[x->dtype](x->data, y->data, inferd_tensor_count(x));
}

#define NUMERIC_UNARY_OP(var, name)                                                                \
    static int shape_##var(const onnx_node_t *node, const inferd_tensor_t *const *in,              \
                           inferd_tensor_t *out, inferd_err_t *err)                                \
    {                                                                                              \
        return numeric_shape(&var##_desc, node, in, out, err);                                     \
    }                                                                                              \
    static int run_##var(const onnx_node_t *node, const inferd_tensor_t *const *in,                \
                         inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)         \
    {                                                                                              \
        numeric_run(&var##_desc, in[0], &out[0]);                                                  \
        return 0;                                                                                  \
    }                                                                                              \
    static const onnx_op_t onnx_op_##var = {name, 1, 1, 1, 1, NULL, shape_##var, run_##var};

NUMERIC_UNARY_OP(abs, "Abs")
NUMERIC_UNARY_OP(neg, "Neg")
NUMERIC_UNARY_OP(sign, "Sign")
NUMERIC_UNARY_OP(relu, "Relu")

/* ==== IsNaN, IsInf: float in, BOOL out ==== */

typedef struct {
    bool detects_negative, detects_positive;
} isinf_params_t;

static int isinf_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    isinf_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->detects_negative = onnx_attr_int(proto, "detect_negative", 1) != 0;
    p->detects_positive = onnx_attr_int(proto, "detect_positive", 1) != 0;
    return 0;
}

static int float_test_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                            inferd_tensor_t *out, inferd_err_t *err)
{
    if (in[0] == NULL)
        return onnx_ew_check_present(in, 1, err);
    if (!onnx_is_float(in[0]->dtype))
        return onnx_fail_dtype(err, in[0], "FP16, FP32, FP64");
    onnx_set_shape(&out[0], INFERD_DT_BOOL, in[0]->shape, in[0]->ndim);
    return 0;
}

static int isnan_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    int64_t n = inferd_tensor_count(in[0]);
    uint8_t *y = out[0].data;
    for (int64_t i = 0; i < n; i++)
        y[i] = isnan(onnx_ew_load_f64(in[0]->data, in[0]->dtype, i)) != 0;
    return 0;
}

static int isinf_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const isinf_params_t *p = node->params;
    int64_t n = inferd_tensor_count(in[0]);
    uint8_t *y = out[0].data;
    for (int64_t i = 0; i < n; i++) {
        double x = onnx_ew_load_f64(in[0]->data, in[0]->dtype, i);
        y[i] = isinf(x) && (x > 0 ? p->detects_positive : p->detects_negative);
    }
    return 0;
}

static const onnx_op_t onnx_op_isnan = {"IsNaN", 1, 1, 1, 1, NULL, float_test_shape, isnan_run};
static const onnx_op_t onnx_op_isinf = {"IsInf",          1,        1, 1, 1, isinf_prepare,
                                        float_test_shape, isinf_run};

/* ==== Not ==== */

static int not_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, inferd_err_t *err)
{
    if (in[0] == NULL)
        return onnx_ew_check_present(in, 1, err);
    if (in[0]->dtype != INFERD_DT_BOOL)
        return onnx_fail_dtype(err, in[0], "BOOL");
    onnx_set_shape(&out[0], INFERD_DT_BOOL, in[0]->shape, in[0]->ndim);
    return 0;
}

static int not_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                   onnx_scratch_t *scratch, inferd_err_t *err)
{
    int64_t n = inferd_tensor_count(in[0]);
    const uint8_t *x = in[0]->data;
    uint8_t *y = out[0].data;
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] == 0;
    return 0;
}

static const onnx_op_t onnx_op_not = {"Not", 1, 1, 1, 1, NULL, not_shape, not_run};

const onnx_op_t *const onnx_ops_unary[] = {
    &onnx_op_relu,
    &onnx_op_sigmoid,
    &onnx_op_tanh,
    &onnx_op_exp,
    &onnx_op_log,
    &onnx_op_sqrt,
    &onnx_op_abs,
    &onnx_op_neg,
    &onnx_op_reciprocal,
    &onnx_op_floor,
    &onnx_op_ceil,
    &onnx_op_round,
    &onnx_op_sign,
    &onnx_op_erf,
    &onnx_op_isnan,
    &onnx_op_isinf,
    &onnx_op_not,
    &onnx_op_leaky_relu,
    &onnx_op_elu,
    &onnx_op_selu,
    &onnx_op_hard_sigmoid,
    &onnx_op_hard_swish,
    &onnx_op_softplus,
    &onnx_op_gelu,
    &onnx_op_clip,
    &onnx_op_softsign,
    &onnx_op_thresholded_relu,
    &onnx_op_shrink,
    &onnx_op_celu,
    &onnx_op_sin,
    &onnx_op_cos,
    &onnx_op_tan,
    &onnx_op_asin,
    &onnx_op_acos,
    &onnx_op_atan,
    &onnx_op_sinh,
    &onnx_op_cosh,
    &onnx_op_asinh,
    &onnx_op_acosh,
    &onnx_op_atanh,
    NULL,
};
