/* Private to unary.c and unary_activation.c: the driver every float unary operator runs through
 * (a typed FP32 row function, a double function for FP64 and FP16), the attributes activations
 * read, and 4-wide FP32 vector helpers (GCC/Clang vector extensions) with exp, expm1, tanh,
 * sigmoid (about 2 ulp) and erf (about 6 ulp), so the hot activations vectorize without libm
 * calls. */
#ifndef INFERD_ONNX_OPS_UNARY_H
#define INFERD_ONNX_OPS_UNARY_H

#include <string.h>

#include "elementwise.h"

/* What an activation's prepare() parsed (unused fields stay 0). */
typedef struct {
    float alpha, beta, gamma, lambd, bias;
    bool is_tanh_approximation; /* Gelu approximate="tanh" */
} unary_params_t;

/* y[0..n) = f(x[0..n)) for FP32; the double function serves FP64 and FP16. */
typedef void (*unary_f32_row_t)(const unary_params_t *p, const float *x, float *y, int64_t n);
typedef double (*unary_f64_fn_t)(const unary_params_t *p, double x);

/* shape() of the float-only unary ops: FP16, FP32 or FP64 in, the same out. */
int onnx_unary_float_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                           inferd_tensor_t *out, inferd_err_t *err);

/* Applies the op to every element of x into y (same dtype and shape). */
void onnx_unary_float_apply(const unary_params_t *p, const inferd_tensor_t *x, inferd_tensor_t *y,
                            unary_f32_row_t row_f32, unary_f64_fn_t fn_f64);

/* Defines `const onnx_op_t onnx_op_<var>` for a float-only unary op; `linkage` is `static` or
 * empty (for ops another file's table lists). */
#define UNARY_FLOAT_OP(linkage, var, name, prepare_fn, row_f32, fn_f64)                            \
    static int run_##var(const onnx_node_t *node, const inferd_tensor_t *const *in,                \
                         inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)         \
    {                                                                                              \
        onnx_unary_float_apply(node->params, in[0], &out[0], row_f32, fn_f64);                     \
        return 0;                                                                                  \
    }                                                                                              \
    linkage const onnx_op_t onnx_op_##var = {                                                      \
        name, 1, 1, 1, 1, prepare_fn, onnx_unary_float_shape, run_##var};

/* ==== FP32 row functions from a per-element or a 4-wide function ==== */

/* A row applying `float fn(const unary_params_t *, float)` to each element. */
#define UNARY_ROW_SCALAR(name, fn)                                                                 \
    static void name(const unary_params_t *p, const float *x, float *y, int64_t n)                 \
    {                                                                                              \
        for (int64_t i = 0; i < n; i++)                                                            \
            y[i] = fn(p, x[i]);                                                                    \
    }

typedef float f32x4_t __attribute__((vector_size(16)));
typedef int32_t i32x4_t __attribute__((vector_size(16)));

/* A row applying `f32x4_t fn(const unary_params_t *, f32x4_t)` four elements at a time; the tail
 * goes through the same function (padded with zeros), so every element gets the same result
 * wherever it sits. */
#define UNARY_ROW_VECTOR(name, fn)                                                                 \
    static void name(const unary_params_t *p, const float *x, float *y, int64_t n)                 \
    {                                                                                              \
        int64_t i = 0;                                                                             \
        for (; i + 4 <= n; i += 4) {                                                               \
            f32x4_t v;                                                                             \
            memcpy(&v, x + i, sizeof(v));                                                          \
            v = fn(p, v);                                                                          \
            memcpy(y + i, &v, sizeof(v));                                                          \
        }                                                                                          \
        if (i < n) {                                                                               \
            f32x4_t v = {0, 0, 0, 0};                                                              \
            memcpy(&v, x + i, (size_t)(n - i) * sizeof(float));                                    \
            v = fn(p, v);                                                                          \
            memcpy(y + i, &v, (size_t)(n - i) * sizeof(float));                                    \
        }                                                                                          \
    }

static inline f32x4_t f32x4_splat(float v)
{
    return (f32x4_t){v, v, v, v};
}

/* Lane-wise mask ? if_true : if_false (mask lanes are all ones or all zeros). */
static inline f32x4_t f32x4_select(i32x4_t mask, f32x4_t if_true, f32x4_t if_false)
{
    return (f32x4_t)((mask & (i32x4_t)if_true) | (~mask & (i32x4_t)if_false));
}

static inline f32x4_t f32x4_abs(f32x4_t x)
{
    return (f32x4_t)((i32x4_t)x & 0x7FFFFFFF);
}

/* 2^k for integer lanes k in [-126, 127]. */
static inline f32x4_t f32x4_pow2(i32x4_t k)
{
    return (f32x4_t)((k + 127) << 23);
}

/* Splits finite x in [-104, 89] as exp(x) = 2^n * (1 + q), where n = round(x / ln 2) and
 * q = exp(r) - 1 for the remainder |r| <= ln(2) / 2 (Cody-Waite reduction with ln 2 in two
 * parts; q from the Taylor series to r^7, whose truncation error is below 1e-8). */
static inline f32x4_t f32x4_exp_parts(f32x4_t x, i32x4_t *n)
{
    const float round_shift = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    f32x4_t nf = (x * 1.44269504088896341f + round_shift) - round_shift;
    f32x4_t r = x - nf * 0.693359375f;
    r = r - nf * -2.12194440054690583e-4f;
    *n = __builtin_convertvector(nf, i32x4_t);
    f32x4_t p = r * (1.0f / 5040) + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    return r + r * r * p;
}

/* (1 + q) * 2^n, with 2^n applied in two halves so that n from -150 to 128 stays exact
 * (results under FLT_MIN come out subnormal, above FLT_MAX infinite). */
static inline f32x4_t f32x4_scale(f32x4_t one_plus_q, i32x4_t n)
{
    i32x4_t half = n >> 1;
    return one_plus_q * f32x4_pow2(half) * f32x4_pow2(n - half);
}

/* e^x per lane: NaN stays NaN, +inf and above 89 give +inf, below -104 give 0. */
static inline f32x4_t f32x4_exp(f32x4_t x)
{
    i32x4_t is_nan = x != x, is_over = x > 89.0f, is_under = x < -104.0f;
    f32x4_t xc = f32x4_select(is_nan | is_over | is_under, f32x4_splat(0.0f), x);
    i32x4_t n;
    f32x4_t q = f32x4_exp_parts(xc, &n);
    f32x4_t y = f32x4_scale(1.0f + q, n);
    y = f32x4_select(is_over, f32x4_splat(__builtin_inff()), y);
    y = f32x4_select(is_under, f32x4_splat(0.0f), y);
    return f32x4_select(is_nan, x, y);
}

/* e^x - 1 per lane, exact to about 2 ulp also near 0 (where q itself is the answer). */
static inline f32x4_t f32x4_expm1(f32x4_t x)
{
    i32x4_t is_nan = x != x, is_over = x > 89.0f, is_under = x < -104.0f;
    f32x4_t xc = f32x4_select(is_nan | is_over | is_under, f32x4_splat(0.0f), x);
    i32x4_t n;
    f32x4_t q = f32x4_exp_parts(xc, &n);
    f32x4_t y = f32x4_select(n == 0, q, f32x4_scale(1.0f + q, n) - 1.0f);
    y = f32x4_select(is_over, f32x4_splat(__builtin_inff()), y);
    y = f32x4_select(is_under, f32x4_splat(-1.0f), y);
    return f32x4_select(is_nan, x, y);
}

/* 1 / (1 + e^-x): no overflow (e^-x = inf gives 0), NaN stays NaN. */
static inline f32x4_t f32x4_sigmoid(f32x4_t x)
{
    return 1.0f / (1.0f + f32x4_exp(-x));
}

/* tanh per lane: below |x| = atanh(1/2) an odd polynomial x + x^3 P(x^2) (least-squares fit of
 * relative error on that interval, 1 ulp); above, 1 - 2 / (e^2|x| + 1) with x's sign. */
static inline f32x4_t f32x4_tanh(f32x4_t x)
{
    f32x4_t a = f32x4_abs(x), s = x * x;
    f32x4_t p = s * -0.00630120187997818f + 0.021091584116220474f;
    p = p * s + -0.05385741963982582f;
    p = p * s + 0.13332638144493103f;
    p = p * s + -0.33333319425582886f;
    f32x4_t small = x + x * s * p;
    f32x4_t large = 1.0f - 2.0f / (f32x4_exp(a + a) + 1.0f);
    large = (f32x4_t)((i32x4_t)large | ((i32x4_t)x & INT32_MIN));
    return f32x4_select(a < 0.54930614f, small, large);
}

/* erf(x) / x on |x| <= 1 as a polynomial in x^2 (least-squares fit of relative error, 3 ulp). */
static inline f32x4_t f32x4_erf_small(f32x4_t x)
{
    f32x4_t s = x * x;
    f32x4_t p = s * -0.000566793722f + 0.00492740376f;
    p = p * s + -0.0267208777f;
    p = p * s + 0.112805784f;
    p = p * s + -0.376123905f;
    p = p * s + 1.12837911f;
    return x * p;
}

/* erfc(a) for a >= 1 (NaN stays NaN; a is clamped to 10, where erfc is below FLT_MIN), as
 * e^-a^2 G(t) with t = 1 / (1 + a/2) and G a degree-7 polynomial fitted (relative least squares)
 * to e^a^2 erfc(a) on [1, 10]: about 6 ulp, plus what rounding a^2 costs e^-a^2. */
static inline f32x4_t f32x4_erfc_tail(f32x4_t a)
{
    a = f32x4_select(a > 10.0f, f32x4_splat(10.0f), a);
    a = f32x4_select(a < 1.0f, f32x4_splat(1.0f), a);
    f32x4_t t = 1.0f / (1.0f + 0.5f * a);
    f32x4_t g = t * 0.0710497946f + -0.319464028f;
    g = g * t + 0.362121731f;
    g = g * t + 0.0422664247f;
    g = g * t + 0.285261184f;
    g = g * t + 0.275552988f;
    g = g * t + 0.282704651f;
    g = g * t + -2.39454221e-05f;
    return f32x4_exp(-(a * a)) * g;
}

/* erf per lane: the small-argument polynomial below |x| = 1, 1 - erfc above (exactly +-1 from
 * |x| = 4 on); NaN stays NaN. */
static inline f32x4_t f32x4_erf(f32x4_t x)
{
    f32x4_t a = f32x4_abs(x);
    f32x4_t large = 1.0f - f32x4_erfc_tail(a);
    large = (f32x4_t)((i32x4_t)large | ((i32x4_t)x & INT32_MIN));
    return f32x4_select(a < 1.0f, f32x4_erf_small(x), large);
}

/* ==== operators unary.c's table takes from unary_activation.c ==== */
extern const onnx_op_t onnx_op_sigmoid, onnx_op_tanh, onnx_op_leaky_relu, onnx_op_elu, onnx_op_selu,
    onnx_op_hard_sigmoid, onnx_op_hard_swish, onnx_op_softplus, onnx_op_gelu, onnx_op_clip,
    onnx_op_softsign, onnx_op_thresholded_relu, onnx_op_shrink, onnx_op_celu;

#endif
