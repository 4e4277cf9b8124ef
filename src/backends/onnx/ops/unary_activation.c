/* Activations: Sigmoid, Tanh, LeakyRelu, Elu, Selu, Celu, HardSigmoid, HardSwish, Softplus,
 * Softsign, ThresholdedRelu, Shrink, Gelu, and Clip. FP32 runs 4 lanes at a time through unary.h's
 * vector helpers (these ops are the hot path of real models); FP64 and FP16 go through double. Clip
 * also takes integers. unary.c lists these ops in the family's table. */
#include "unary.h"

#include <float.h>
#include <math.h>

/* ==== Sigmoid, Tanh ==== */

static f32x4_t sigmoid_f32x4(const unary_params_t *p, f32x4_t x)
{
    return f32x4_sigmoid(x);
}
UNARY_ROW_VECTOR(sigmoid_row, sigmoid_f32x4)
/* 1 / (1 + e^-x) written so that exp() never overflows. */
static double sigmoid_f64(const unary_params_t *p, double x)
{
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}
UNARY_FLOAT_OP(, sigmoid, "Sigmoid", NULL, sigmoid_row, sigmoid_f64)

static f32x4_t tanh_f32x4(const unary_params_t *p, f32x4_t x)
{
    return f32x4_tanh(x);
}
UNARY_ROW_VECTOR(tanh_row, tanh_f32x4)
static double tanh_f64(const unary_params_t *p, double x)
{
    return tanh(x);
}
UNARY_FLOAT_OP(, tanh, "Tanh", NULL, tanh_row, tanh_f64)

/* ==== activations with alpha, beta, gamma ==== */

/* Reads alpha, beta and gamma (with the op's defaults) into a new unary_params_t. */
static int read_coefficients(onnx_node_t *node, const Onnx__NodeProto *proto, float alpha,
                             float beta, float gamma)
{
    unary_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->alpha = onnx_attr_float(proto, "alpha", alpha);
    p->beta = onnx_attr_float(proto, "beta", beta);
    p->gamma = onnx_attr_float(proto, "gamma", gamma);
    return 0;
}

/* LeakyRelu: x < 0 ? alpha * x : x (alpha 0.01). */
static int leaky_relu_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    return read_coefficients(node, proto, 0.01f, 0.0f, 0.0f);
}
static f32x4_t leaky_relu_f32x4(const unary_params_t *p, f32x4_t x)
{
    return f32x4_select(x < 0.0f, x * p->alpha, x);
}
UNARY_ROW_VECTOR(leaky_relu_row, leaky_relu_f32x4)
static double leaky_relu_f64(const unary_params_t *p, double x)
{
    return x < 0 ? x * p->alpha : x;
}
UNARY_FLOAT_OP(, leaky_relu, "LeakyRelu", leaky_relu_prepare, leaky_relu_row, leaky_relu_f64)

/* Elu: x < 0 ? alpha * (e^x - 1) : x (alpha 1). */
static int elu_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    return read_coefficients(node, proto, 1.0f, 0.0f, 0.0f);
}
static f32x4_t elu_f32x4(const unary_params_t *p, f32x4_t x)
{
    return f32x4_select(x < 0.0f, f32x4_expm1(x) * p->alpha, x);
}
UNARY_ROW_VECTOR(elu_row, elu_f32x4)
static double elu_f64(const unary_params_t *p, double x)
{
    return x < 0 ? p->alpha * expm1(x) : x;
}
UNARY_FLOAT_OP(, elu, "Elu", elu_prepare, elu_row, elu_f64)

/* Selu: gamma * (x <= 0 ? alpha * (e^x - 1) : x), with ONNX's default alpha and gamma. */
static int selu_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    return read_coefficients(node, proto, 1.67326319217681884765625f, 0.0f,
                             1.05070102214813232421875f);
}
static f32x4_t selu_f32x4(const unary_params_t *p, f32x4_t x)
{
    return f32x4_select(x <= 0.0f, f32x4_expm1(x) * (p->alpha * p->gamma), x * p->gamma);
}
UNARY_ROW_VECTOR(selu_row, selu_f32x4)
static double selu_f64(const unary_params_t *p, double x)
{
    return x <= 0 ? (double)p->gamma * p->alpha * expm1(x) : (double)p->gamma * x;
}
UNARY_FLOAT_OP(, selu, "Selu", selu_prepare, selu_row, selu_f64)

/* HardSigmoid: max(0, min(1, alpha * x + beta)) (alpha 0.2, beta 0.5); NaN stays NaN. */
static int hard_sigmoid_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    return read_coefficients(node, proto, 0.2f, 0.5f, 0.0f);
}
static f32x4_t hard_sigmoid_line(f32x4_t x, float alpha, float beta)
{
    f32x4_t v = x * alpha + beta;
    v = f32x4_select(v < 0.0f, f32x4_splat(0.0f), v);
    return f32x4_select(v > 1.0f, f32x4_splat(1.0f), v);
}
static f32x4_t hard_sigmoid_f32x4(const unary_params_t *p, f32x4_t x)
{
    return hard_sigmoid_line(x, p->alpha, p->beta);
}
UNARY_ROW_VECTOR(hard_sigmoid_row, hard_sigmoid_f32x4)
static double hard_sigmoid_f64(const unary_params_t *p, double x)
{
    double v = (double)p->alpha * x + p->beta;
    v = v < 0 ? 0 : v;
    return v > 1 ? 1 : v;
}
UNARY_FLOAT_OP(, hard_sigmoid, "HardSigmoid", hard_sigmoid_prepare, hard_sigmoid_row,
               hard_sigmoid_f64)

/* HardSwish: x * HardSigmoid(x) with alpha 1/6 and beta 0.5. */
static f32x4_t hard_swish_f32x4(const unary_params_t *p, f32x4_t x)
{
    return x * hard_sigmoid_line(x, 1.0f / 6.0f, 0.5f);
}
UNARY_ROW_VECTOR(hard_swish_row, hard_swish_f32x4)
static double hard_swish_f64(const unary_params_t *p, double x)
{
    double v = x / 6.0 + 0.5;
    v = v < 0 ? 0 : v;
    return x * (v > 1 ? 1 : v);
}
UNARY_FLOAT_OP(, hard_swish, "HardSwish", NULL, hard_swish_row, hard_swish_f64)

/* Softplus: log(1 + e^x), as max(x, 0) + log1p(e^-|x|) so that nothing overflows. */
static float softplus_f32(const unary_params_t *p, float x)
{
    return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x));
}
UNARY_ROW_SCALAR(softplus_row, softplus_f32)
static double softplus_f64(const unary_params_t *p, double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}
UNARY_FLOAT_OP(, softplus, "Softplus", NULL, softplus_row, softplus_f64)

/* Softsign: x / (1 + |x|). */
static f32x4_t softsign_f32x4(const unary_params_t *p, f32x4_t x)
{
    return x / (1.0f + f32x4_abs(x));
}
UNARY_ROW_VECTOR(softsign_row, softsign_f32x4)
static double softsign_f64(const unary_params_t *p, double x)
{
    return x / (1.0 + fabs(x));
}
UNARY_FLOAT_OP(, softsign, "Softsign", NULL, softsign_row, softsign_f64)

/* ThresholdedRelu: x > alpha ? x : 0 (alpha 1). */
static int thresholded_relu_prepare(onnx_node_t *node, const Onnx__NodeProto *proto,
                                    inferd_err_t *err)
{
    return read_coefficients(node, proto, 1.0f, 0.0f, 0.0f);
}
static f32x4_t thresholded_relu_f32x4(const unary_params_t *p, f32x4_t x)
{
    return f32x4_select(x > p->alpha, x, f32x4_splat(0.0f));
}
UNARY_ROW_VECTOR(thresholded_relu_row, thresholded_relu_f32x4)
static double thresholded_relu_f64(const unary_params_t *p, double x)
{
    return x > p->alpha ? x : 0.0;
}
UNARY_FLOAT_OP(, thresholded_relu, "ThresholdedRelu", thresholded_relu_prepare,
               thresholded_relu_row, thresholded_relu_f64)

/* Celu: max(0, x) + min(0, alpha (e^(x / alpha) - 1)) (alpha 1, which must not be 0). */
static int celu_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    int rc = read_coefficients(node, proto, 1.0f, 0.0f, 0.0f);
    const unary_params_t *p = node->params;
    if (rc == 0 && p->alpha == 0.0f)
        return inferd_fail(err, INFERD_EMODEL, "alpha must not be 0");
    return rc;
}
static f32x4_t celu_f32x4(const unary_params_t *p, f32x4_t x)
{
    return f32x4_select(x < 0.0f, f32x4_expm1(x / p->alpha) * p->alpha, x);
}
UNARY_ROW_VECTOR(celu_row, celu_f32x4)
static double celu_f64(const unary_params_t *p, double x)
{
    return x < 0 ? p->alpha * expm1(x / p->alpha) : x;
}
UNARY_FLOAT_OP(, celu, "Celu", celu_prepare, celu_row, celu_f64)

/* Shrink: x < -lambd ? x + bias : x > lambd ? x - bias : 0 (lambd 0.5, bias 0). */
static int shrink_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    unary_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->lambd = onnx_attr_float(proto, "lambd", 0.5f);
    p->bias = onnx_attr_float(proto, "bias", 0.0f);
    return 0;
}
static f32x4_t shrink_f32x4(const unary_params_t *p, f32x4_t x)
{
    f32x4_t y = f32x4_select(x > p->lambd, x - p->bias, f32x4_splat(0.0f));
    return f32x4_select(x < -p->lambd, x + p->bias, y);
}
UNARY_ROW_VECTOR(shrink_row, shrink_f32x4)
static double shrink_f64(const unary_params_t *p, double x)
{
    return x < -p->lambd ? x + p->bias : x > p->lambd ? x - p->bias : 0.0;
}
UNARY_FLOAT_OP(, shrink, "Shrink", shrink_prepare, shrink_row, shrink_f64)

/* ==== Gelu (opset 20; accepted at any opset) ==== */

/* approximate="none": x * Phi(x) = 0.5 x erfc(-x / sqrt 2) (erfc keeps precision for negative
 * x, where 1 + erf cancels); approximate="tanh": 0.5 x (1 + tanh(u)) = x * sigmoid(2u) with
 * u = sqrt(2 / pi) (x + 0.044715 x^3). */
static int gelu_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    unary_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    const char *approximate = onnx_attr_string(proto, "approximate", "none");
    if (strcmp(approximate, "tanh") != 0 && strcmp(approximate, "none") != 0)
        return inferd_fail(err, INFERD_EMODEL,
                           "approximate must be \"none\" or \"tanh\", not \"%s\"", approximate);
    p->is_tanh_approximation = strcmp(approximate, "tanh") == 0;
    return 0;
}
static f32x4_t gelu_tanh_f32x4(const unary_params_t *p, f32x4_t x)
{
    f32x4_t u = (x + x * x * x * 0.044715f) * 0.797884560802865355f;
    return x * f32x4_sigmoid(u + u);
}
UNARY_ROW_VECTOR(gelu_tanh_row, gelu_tanh_f32x4)
/* x Phi(x), z = x / sqrt 2: Phi = 1 - erfc(|z|) / 2 for z >= 0 and erfc(|z|) / 2 below, so
 * the negative tail keeps its relative precision. */
static f32x4_t gelu_erf_f32x4(const unary_params_t *p, f32x4_t x)
{
    f32x4_t z = x * 0.707106781186547524f, a = f32x4_abs(z);
    f32x4_t erfc_a = f32x4_select(a < 1.0f, 1.0f - f32x4_erf_small(a), f32x4_erfc_tail(a));
    f32x4_t half = erfc_a * 0.5f;
    return x * f32x4_select(z < 0.0f, half, 1.0f - half);
}
UNARY_ROW_VECTOR(gelu_erf_row, gelu_erf_f32x4)
static void gelu_row(const unary_params_t *p, const float *x, float *y, int64_t n)
{
    if (p->is_tanh_approximation)
        gelu_tanh_row(p, x, y, n);
    else
        gelu_erf_row(p, x, y, n);
}
static double gelu_f64(const unary_params_t *p, double x)
{
    if (!p->is_tanh_approximation)
        return 0.5 * x * erfc(-x * 0.707106781186547524);
    double u = 0.797884560802865355 * (x + 0.044715 * x * x * x);
    return 0.5 * x * (1.0 + tanh(u));
}
UNARY_FLOAT_OP(, gelu, "Gelu", gelu_prepare, gelu_row, gelu_f64)

/* ==== Clip ==== */

/* Before opset 11 the bounds are float attributes (defaulting to the float range); from 11 they
 * are optional one-element inputs of X's datatype. y = min(max(x, min), max): when min > max
 * every element becomes max; NaN stays NaN. */
typedef struct {
    bool has_attribute_bounds;
    float min, max;
} clip_params_t;

static int clip_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    clip_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->has_attribute_bounds = node->opset < 11;
    p->min = onnx_attr_float(proto, "min", -FLT_MAX);
    p->max = onnx_attr_float(proto, "max", FLT_MAX);
    if (node->opset < 11 && node->n_inputs > 1)
        return inferd_fail(err, INFERD_EMODEL,
                           "before opset 11 Clip takes its bounds as attributes");
    return 0;
}

/* The bound input k (1 min, 2 max), or NULL when omitted. */
static const inferd_tensor_t *clip_bound(const onnx_node_t *node, const inferd_tensor_t *const *in,
                                         int k)
{
    return node->n_inputs > k ? in[k] : NULL;
}

static int clip_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, inferd_err_t *err)
{
    const clip_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    if (x == NULL)
        return onnx_ew_check_present(in, 1, err);
    if (p->has_attribute_bounds ? !onnx_is_float(x->dtype) : !onnx_ew_is_numeric(x->dtype))
        return onnx_fail_dtype(err, x,
                               p->has_attribute_bounds ? "FP16, FP32, FP64"
                                                       : "FP16, FP32, FP64, INT8, INT16, INT32, "
                                                         "INT64, UINT8, UINT16, UINT32, UINT64");
    for (int k = 1; k <= 2; k++) {
        const inferd_tensor_t *bound = clip_bound(node, in, k);
        if (bound == NULL)
            continue;
        if (bound->dtype != x->dtype)
            return inferd_fail(err, INFERD_EINVAL, "%s has datatype %s; the input's is %s",
                               k == 1 ? "min" : "max", inferd_dtype_name(bound->dtype),
                               inferd_dtype_name(x->dtype));
        if (inferd_tensor_count(bound) != 1)
            return inferd_fail(err, INFERD_EINVAL, "%s must be a scalar, not %lld values",
                               k == 1 ? "min" : "max", (long long)inferd_tensor_count(bound));
    }
    onnx_set_shape(&out[0], x->dtype, x->shape, x->ndim);
    return 0;
}

/* Integer clips: an omitted bound is the type's own limit. */
#define CLIP_INT(DT, name, T, U)                                                                   \
    static void clip_##name(const void *from, void *to, int64_t n, const inferd_tensor_t *lo_t,    \
                            const inferd_tensor_t *hi_t)                                           \
    {                                                                                              \
        const T *x = from;                                                                         \
        T *y = to;                                                                                 \
        bool has_lo = lo_t != NULL, has_hi = hi_t != NULL;                                         \
        T lo = has_lo ? ((const T *)lo_t->data)[0] : 0,                                            \
          hi = has_hi ? ((const T *)hi_t->data)[0] : 0;                                            \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T v = x[i];                                                                            \
            v = has_lo && v < lo ? lo : v;                                                         \
            y[i] = has_hi && v > hi ? hi : v;                                                      \
        }                                                                                          \
    }
ONNX_EW_SIGNED_TYPES(CLIP_INT)
ONNX_EW_UNSIGNED_TYPES(CLIP_INT)
#undef CLIP_INT

typedef void (*clip_int_t)(const void *, void *, int64_t, const inferd_tensor_t *,
                           const inferd_tensor_t *);
#define CLIP_ENTRY(DT, name, T, U) [INFERD_DT_##DT] = clip_##name,
static const clip_int_t clip_ints[INFERD_DT_COUNT] = {ONNX_EW_SIGNED_TYPES(CLIP_ENTRY)
                                                          ONNX_EW_UNSIGNED_TYPES(CLIP_ENTRY)};
#undef CLIP_ENTRY

static int clip_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                    onnx_scratch_t *scratch, inferd_err_t *err)
{
    const clip_params_t *p = node->params;
    const inferd_tensor_t *x = in[0], *lo_t = clip_bound(node, in, 1),
                          *hi_t = clip_bound(node, in, 2);
    int64_t n = inferd_tensor_count(x);
    if (onnx_is_integer(x->dtype)) {
        clip_ints[x->dtype](x->data, out[0].data, n, lo_t, hi_t);
        return 0;
    }
    double lo = -INFINITY, hi = INFINITY;
    if (p->has_attribute_bounds) {
        lo = p->min;
        hi = p->max;
    }
    if (lo_t != NULL)
        lo = onnx_ew_load_f64(lo_t->data, lo_t->dtype, 0);
    if (hi_t != NULL)
        hi = onnx_ew_load_f64(hi_t->data, hi_t->dtype, 0);
    if (x->dtype == INFERD_DT_FP32) {
        const float *from = x->data, lo_f = (float)lo, hi_f = (float)hi;
        float *to = out[0].data;
        for (int64_t i = 0; i < n; i++) {
            float v = from[i] < lo_f ? lo_f : from[i];
            to[i] = v > hi_f ? hi_f : v;
        }
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = onnx_ew_load_f64(x->data, x->dtype, i);
        v = v < lo ? lo : v;
        onnx_ew_store_f64(out[0].data, x->dtype, i, v > hi ? hi : v);
    }
    return 0;
}

const onnx_op_t onnx_op_clip = {"Clip", 1, 3, 1, 1, clip_prepare, clip_shape, clip_run};
