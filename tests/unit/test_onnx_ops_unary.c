/* Unit tests for the unary ops (src/backends/onnx/ops/unary*.c): the math and trigonometric
 * functions, the integer forms of Abs/Neg/Sign/Relu, IsNaN/IsInf/Not, every activation's FP32
 * vector path against a double reference over a sweep of inputs (including the extremes, NaN and
 * rows whose length is not a multiple of 4), the FP64 and FP16 paths, and Clip in both opset
 * forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

#define D(x) ((int64_t)(x))

/* Runs a one-input op, failing the test on error; the caller frees .data. */
static inferd_tensor_t run1(op_case_t *c, inferd_tensor_t x)
{
    inferd_tensor_t out;
    inferd_err_t err = {0};
    if (run_op(c, &x, 1, &out, &err) != 0)
        fail_msg("%s failed: %s", c->op_type, err.msg);
    return out;
}

/* ==== math ==== */

static void math_functions(void **state)
{
    float x[5] = {0.25f, 1, 2.5f, 4, 9};
    struct {
        const char *op;
        float want[5];
    } cases[] = {
        {"Exp", {expf(0.25f), expf(1), expf(2.5f), expf(4), expf(9)}},
        {"Log", {logf(0.25f), 0, logf(2.5f), logf(4), logf(9)}},
        {"Sqrt", {0.5f, 1, sqrtf(2.5f), 2, 3}},
        {"Reciprocal", {4, 1, 0.4f, 0.25f, 1.0f / 9}},
        {"Erf", {erff(0.25f), erff(1), erff(2.5f), erff(4), 1}},
        {"Sin", {sinf(0.25f), sinf(1), sinf(2.5f), sinf(4), sinf(9)}},
        {"Cos", {cosf(0.25f), cosf(1), cosf(2.5f), cosf(4), cosf(9)}},
        {"Tan", {tanf(0.25f), tanf(1), tanf(2.5f), tanf(4), tanf(9)}},
        {"Atan", {atanf(0.25f), atanf(1), atanf(2.5f), atanf(4), atanf(9)}},
        {"Sinh", {sinhf(0.25f), sinhf(1), sinhf(2.5f), sinhf(4), sinhf(9)}},
        {"Cosh", {coshf(0.25f), coshf(1), coshf(2.5f), coshf(4), coshf(9)}},
        {"Asinh", {asinhf(0.25f), asinhf(1), asinhf(2.5f), asinhf(4), asinhf(9)}},
        {"Acosh", {NAN, 0, acoshf(2.5f), acoshf(4), acoshf(9)}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        op_case_t c = {.op_type = cases[i].op};
        inferd_tensor_t out = run1(&c, tensor(INFERD_DT_FP32, x, 1, D(5)));
        const float *y = out.data;
        for (int k = 0; k < 5; k++)
            if (isnan(cases[i].want[k])
                    ? !isnan(y[k])
                    : fabsf(y[k] - cases[i].want[k]) > 1e-5f * (1 + fabsf(cases[i].want[k])))
                fail_msg("%s(%g): got %.9g, want %.9g", cases[i].op, x[k], y[k], cases[i].want[k]);
        free(out.data);
    }
    float unit[3] = {-1, 0, 0.5f};
    op_case_t asin_op = {.op_type = "Asin"}, acos_op = {.op_type = "Acos"},
              atanh_op = {.op_type = "Atanh"};
    inferd_tensor_t out = run1(&asin_op, tensor(INFERD_DT_FP32, unit, 1, D(3)));
    assert_floats(out.data, (float[]){-(float)M_PI_2, 0, asinf(0.5f)}, 3);
    free(out.data);
    out = run1(&acos_op, tensor(INFERD_DT_FP32, unit, 1, D(3)));
    assert_floats(out.data, (float[]){(float)M_PI, (float)M_PI_2, acosf(0.5f)}, 3);
    free(out.data);
    out = run1(&atanh_op, tensor(INFERD_DT_FP32, unit, 1, D(3)));
    assert_true(isinf(((float *)out.data)[0]) && ((float *)out.data)[0] < 0);
    assert_floats((float *)out.data + 1, (float[]){0, atanhf(0.5f)}, 2);
    free(out.data);
}

static void rounding_functions(void **state)
{
    float x[8] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.7f, 2.7f, -0.2f};
    op_case_t round = {.op_type = "Round"}, floor_op = {.op_type = "Floor"},
              ceil_op = {.op_type = "Ceil"};
    inferd_tensor_t out = run1(&round, tensor(INFERD_DT_FP32, x, 1, D(8)));
    assert_floats(out.data, (float[]){0, 2, 2, 0, -2, -3, 3, 0}, 8); /* half to even */
    free(out.data);
    out = run1(&floor_op, tensor(INFERD_DT_FP32, x, 1, D(8)));
    assert_floats(out.data, (float[]){0, 1, 2, -1, -2, -3, 2, -1}, 8);
    free(out.data);
    out = run1(&ceil_op, tensor(INFERD_DT_FP32, x, 1, D(8)));
    assert_floats(out.data, (float[]){1, 2, 3, 0, -1, -2, 3, 0}, 8);
    free(out.data);
    double d[2] = {2.5, -3.5};
    out = run1(&round, tensor(INFERD_DT_FP64, d, 1, D(2)));
    assert_memory_equal(out.data, ((double[]){2, -4}), 16);
    free(out.data);
}

/* The vector exp against libm's double exp over its whole range, and its edges. */
static void exp_is_accurate_everywhere(void **state)
{
    enum { N = 4003 }; /* not a multiple of 4: the tail goes through the same path */
    static float x[N];
    for (int i = 0; i < N; i++)
        x[i] = -103.9f + 192.6f * (float)i / (N - 1);
    op_case_t c = {.op_type = "Exp"};
    inferd_tensor_t out = run1(&c, tensor(INFERD_DT_FP32, x, 1, D(N)));
    const float *y = out.data;
    for (int i = 0; i < N; i++) {
        double want = exp((double)x[i]);
        double tolerance = want < 1.2e-38 ? 1.5e-45 * 2 : 3e-7 * want; /* subnormals: absolute */
        if (want > 3.4028234e38)
            assert_true(isinf(y[i]));
        else if (fabs(y[i] - want) > tolerance)
            fail_msg("exp(%.9g): got %.9g, want %.9g", x[i], y[i], want);
    }
    free(out.data);
    float edges[6] = {NAN, INFINITY, -INFINITY, 88.7f, -200, 0};
    out = run1(&c, tensor(INFERD_DT_FP32, edges, 1, D(6)));
    y = out.data;
    assert_true(isnan(y[0]) && isinf(y[1]) && y[2] == 0 && y[4] == 0 && y[5] == 1);
    assert_true(fabs(y[3] - exp((double)88.7f)) < 3e-7 * exp((double)88.7f));
    free(out.data);
}

/* ==== Abs, Neg, Sign, Relu ==== */

static void integer_forms(void **state)
{
    int8_t i8[4] = {-128, -5, 0, 7};
    op_case_t abs_op = {.op_type = "Abs"}, neg = {.op_type = "Neg"}, sign = {.op_type = "Sign"};
    inferd_tensor_t out = run1(&abs_op, tensor(INFERD_DT_INT8, i8, 1, D(4)));
    assert_memory_equal(out.data, ((int8_t[]){-128, 5, 0, 7}), 4); /* |MIN| wraps, as numpy */
    free(out.data);
    out = run1(&neg, tensor(INFERD_DT_INT8, i8, 1, D(4)));
    assert_memory_equal(out.data, ((int8_t[]){-128, 5, 0, -7}), 4);
    free(out.data);
    out = run1(&sign, tensor(INFERD_DT_INT8, i8, 1, D(4)));
    assert_memory_equal(out.data, ((int8_t[]){-1, -1, 0, 1}), 4);
    free(out.data);
    uint32_t u32[2] = {0, 4000000000u};
    out = run1(&sign, tensor(INFERD_DT_UINT32, u32, 1, D(2)));
    assert_memory_equal(out.data, ((uint32_t[]){0, 1}), 8);
    free(out.data);
    int64_t i64[3] = {INT64_MIN, -1, 5};
    op_case_t relu14 = {.op_type = "Relu", .opset = 14}, relu13 = {.op_type = "Relu", .opset = 13};
    out = run1(&relu14, tensor(INFERD_DT_INT64, i64, 1, D(3)));
    assert_memory_equal(out.data, ((int64_t[]){0, 0, 5}), 24);
    free(out.data);
    inferd_tensor_t x = tensor(INFERD_DT_INT64, i64, 1, D(3));
    inferd_err_t err;
    assert_int_equal(run_op(&relu13, &x, 1, &out, &err), INFERD_EINVAL); /* floats only at 13 */
    assert_non_null(strstr(err.msg, "INT64 is not supported"));
    x = tensor(INFERD_DT_UINT32, u32, 1, D(2));
    assert_int_equal(run_op(&neg, &x, 1, &out, &err), INFERD_EINVAL); /* Neg is signed only */
    float f[4] = {-2, -0.0f, NAN, 3};
    out = run1(&sign, tensor(INFERD_DT_FP32, f, 1, D(4)));
    float *y = out.data;
    assert_true(y[0] == -1 && y[1] == 0 && isnan(y[2]) && y[3] == 1);
    free(out.data);
    out = run1(&relu13, tensor(INFERD_DT_FP32, f, 1, D(4)));
    y = out.data;
    assert_true(y[0] == 0 && y[1] == 0 && isnan(y[2]) && y[3] == 3); /* NaN stays NaN */
    free(out.data);
}

/* ==== IsNaN, IsInf, Not ==== */

static void tests_on_floats_and_not(void **state)
{
    float x[5] = {NAN, INFINITY, -INFINITY, 0, 1e38f};
    op_case_t isnan_op = {.op_type = "IsNaN"}, isinf_op = {.op_type = "IsInf"},
              positive = {.op_type = "IsInf"}, negative = {.op_type = "IsInf"};
    add_int_attr(&positive, "detect_negative", 0);
    add_int_attr(&negative, "detect_positive", 0);
    inferd_tensor_t out = run1(&isnan_op, tensor(INFERD_DT_FP32, x, 1, D(5)));
    assert_int_equal(out.dtype, INFERD_DT_BOOL);
    assert_memory_equal(out.data, ((uint8_t[]){1, 0, 0, 0, 0}), 5);
    free(out.data);
    out = run1(&isinf_op, tensor(INFERD_DT_FP32, x, 1, D(5)));
    assert_memory_equal(out.data, ((uint8_t[]){0, 1, 1, 0, 0}), 5);
    free(out.data);
    out = run1(&positive, tensor(INFERD_DT_FP32, x, 1, D(5)));
    assert_memory_equal(out.data, ((uint8_t[]){0, 1, 0, 0, 0}), 5);
    free(out.data);
    out = run1(&negative, tensor(INFERD_DT_FP32, x, 1, D(5)));
    assert_memory_equal(out.data, ((uint8_t[]){0, 0, 1, 0, 0}), 5);
    free(out.data);
    uint8_t flags[3] = {1, 0, 1};
    op_case_t not_op = {.op_type = "Not"};
    out = run1(&not_op, tensor(INFERD_DT_BOOL, flags, 1, D(3)));
    assert_memory_equal(out.data, ((uint8_t[]){0, 1, 0}), 3);
    free(out.data);
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 1, D(5));
    inferd_err_t err;
    assert_int_equal(run_op(&not_op, &in, 1, &out, &err), INFERD_EINVAL);
    in = tensor(INFERD_DT_BOOL, flags, 1, D(3));
    assert_int_equal(run_op(&isnan_op, &in, 1, &out, &err), INFERD_EINVAL);
    in = (inferd_tensor_t){0}; /* an omitted required input */
    assert_int_equal(run_op(&isnan_op, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "missing"));
}

/* ==== activations against double references ==== */

static double sigmoid_ref(double x)
{
    return 1 / (1 + exp(-x));
}
static double leaky_ref(double x)
{
    return x < 0 ? 0.1 * x : x;
}
static double elu_ref(double x)
{
    return x < 0 ? 2 * expm1(x) : x;
}
static double selu_ref(double x)
{
    return x <= 0 ? 1.05070102214813232421875 * 1.67326319217681884765625 * expm1(x)
                  : 1.05070102214813232421875 * x;
}
static double hard_sigmoid_ref(double x)
{
    return fmax(0, fmin(1, 0.2 * x + 0.5));
}
static double hard_swish_ref(double x)
{
    return x * fmax(0, fmin(1, x / 6 + 0.5));
}
static double softplus_ref(double x)
{
    return x > 30 ? x : log1p(exp(x));
}
static double softsign_ref(double x)
{
    return x / (1 + fabs(x));
}
static double thresholded_ref(double x)
{
    return x > 1.5 ? x : 0;
}
static double celu_ref(double x)
{
    return x < 0 ? 0.5 * expm1(x / 0.5) : x;
}
static double gelu_ref(double x)
{
    return 0.5 * x * erfc(-x / sqrt(2));
}
/* 0.5 x (1 + tanh(u)) written as x * sigmoid(2u), which double evaluates without cancelling. */
static double gelu_tanh_ref(double x)
{
    double u = sqrt(2 / M_PI) * (x + 0.044715 * x * x * x);
    return x / (1 + exp(-2 * u));
}

/* Runs `c` on a sweep over [-limit, limit] (plus values near 0) and compares every element with
 * `ref` within `relative` plus `absolute`. */
static void check_sweep(op_case_t *c, double (*ref)(double), float limit, double relative,
                        double absolute)
{
    enum { N = 2003 };
    static float x[N];
    for (int i = 0; i < N - 3; i++)
        x[i] = -limit + 2 * limit * (float)i / (N - 4);
    x[N - 3] = 1e-4f;
    x[N - 2] = -1e-4f;
    x[N - 1] = 1e-30f;
    inferd_tensor_t out = run1(c, tensor(INFERD_DT_FP32, x, 1, D(N)));
    const float *y = out.data;
    for (int i = 0; i < N; i++) {
        double want = ref(x[i]);
        if (fabs(y[i] - want) > relative * fabs(want) + absolute)
            fail_msg("%s(%.9g): got %.9g, want %.9g", c->op_type, x[i], y[i], want);
    }
    free(out.data);
}

static void activations_match_references(void **state)
{
    op_case_t sigmoid = {.op_type = "Sigmoid"}, th = {.op_type = "Tanh"};
    check_sweep(&sigmoid, sigmoid_ref, 90, 4e-7, 1e-30);
    check_sweep(&th, tanh, 12, 4e-7, 1e-30);
    check_sweep(&th, tanh, 0.6f, 4e-7, 1e-30); /* dense around the switch from polynomial to exp */
    op_case_t leaky = {.op_type = "LeakyRelu"};
    add_float_attr(&leaky, "alpha", 0.1f);
    check_sweep(&leaky, leaky_ref, 50, 1e-7, 1e-30);
    op_case_t elu = {.op_type = "Elu"};
    add_float_attr(&elu, "alpha", 2);
    check_sweep(&elu, elu_ref, 20, 4e-7, 1e-30);
    check_sweep(&elu, elu_ref, 0.5f, 4e-7, 1e-30); /* e^x - 1 near 0 keeps its precision */
    op_case_t selu = {.op_type = "Selu"};
    check_sweep(&selu, selu_ref, 20, 4e-7, 1e-30);
    op_case_t hard_sigmoid = {.op_type = "HardSigmoid"}, hard_swish = {.op_type = "HardSwish"};
    check_sweep(&hard_sigmoid, hard_sigmoid_ref, 5, 2e-7, 2e-7); /* a*x + b cancels near 0 */
    check_sweep(&hard_swish, hard_swish_ref, 5, 4e-7, 2e-7);
    op_case_t softplus = {.op_type = "Softplus"};
    check_sweep(&softplus, softplus_ref, 100, 4e-7, 1e-30);
    op_case_t softsign = {.op_type = "Softsign"}, thresholded = {.op_type = "ThresholdedRelu"},
              celu = {.op_type = "Celu"};
    check_sweep(&softsign, softsign_ref, 100, 2e-7, 1e-30);
    add_float_attr(&thresholded, "alpha", 1.5f);
    check_sweep(&thresholded, thresholded_ref, 5, 0, 1e-30);
    add_float_attr(&celu, "alpha", 0.5f);
    check_sweep(&celu, celu_ref, 10, 4e-7, 1e-30);
    op_case_t erf_op = {.op_type = "Erf"};
    check_sweep(&erf_op, erf, 6, 6e-7, 1e-30);
    check_sweep(&erf_op, erf, 1.2f, 6e-7, 1e-30); /* dense around the switch at 1 */
    op_case_t gelu = {.op_type = "Gelu"}, gelu_tanh = {.op_type = "Gelu"};
    add_string_attr(&gelu_tanh, "approximate", "tanh");
    /* The float rounding of the argument costs relative precision in the far negative tail,
     * where the values are below 1e-5. */
    check_sweep(&gelu, gelu_ref, 8, 1e-6, 1e-9);
    check_sweep(&gelu_tanh, gelu_tanh_ref, 8, 1e-6, 1e-9);
}

static void activations_keep_nan_and_saturate(void **state)
{
    float x[7] = {NAN, INFINITY, -INFINITY, 1000, -1000, 0, -0.0f};
    op_case_t sigmoid = {.op_type = "Sigmoid"}, th = {.op_type = "Tanh"};
    inferd_tensor_t out = run1(&sigmoid, tensor(INFERD_DT_FP32, x, 1, D(7)));
    float *y = out.data;
    assert_true(isnan(y[0]) && y[1] == 1 && y[2] == 0 && y[3] == 1 && y[4] == 0 && y[5] == 0.5f);
    free(out.data);
    out = run1(&th, tensor(INFERD_DT_FP32, x, 1, D(7)));
    y = out.data;
    assert_true(isnan(y[0]) && y[1] == 1 && y[2] == -1 && y[3] == 1 && y[4] == -1 && y[5] == 0);
    free(out.data);
}

static void fp64_and_fp16_paths(void **state)
{
    double d[3] = {-1, 0, 2};
    op_case_t sigmoid = {.op_type = "Sigmoid"}, hard_swish = {.op_type = "HardSwish"};
    inferd_tensor_t out = run1(&sigmoid, tensor(INFERD_DT_FP64, d, 1, D(3)));
    assert_int_equal(out.dtype, INFERD_DT_FP64);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(((double *)out.data)[i] - sigmoid_ref(d[i])) < 1e-15);
    free(out.data);
    uint16_t h[3] = {0xC000, 0x0000, 0x4200}; /* -2, 0, 3 */
    out = run1(&hard_swish, tensor(INFERD_DT_FP16, h, 1, D(3)));
    assert_int_equal(out.dtype, INFERD_DT_FP16);
    /* -2 * (1/6) = -0.33325195 in half (0xB555), 0, 3 */
    assert_memory_equal(out.data, ((uint16_t[]){0xB555, 0x0000, 0x4200}), 6);
    free(out.data);
    int32_t ints[1] = {1};
    inferd_tensor_t in = tensor(INFERD_DT_INT32, ints, 1, D(1));
    inferd_err_t err;
    assert_int_equal(run_op(&sigmoid, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "FP16, FP32, FP64"));
}

static void shrink_hard_and_soft(void **state)
{
    float x[5] = {-2, -0.5f, 0, 0.5f, 2};
    op_case_t hard = {.op_type = "Shrink"}, soft = {.op_type = "Shrink"};
    add_float_attr(&hard, "lambd", 1);
    add_float_attr(&soft, "lambd", 0.25f);
    add_float_attr(&soft, "bias", 0.25f);
    inferd_tensor_t out = run1(&hard, tensor(INFERD_DT_FP32, x, 1, D(5)));
    assert_floats(out.data, (float[]){-2, 0, 0, 0, 2}, 5);
    free(out.data);
    out = run1(&soft, tensor(INFERD_DT_FP32, x, 1, D(5)));
    assert_floats(out.data, (float[]){-1.75f, -0.25f, 0, 0.25f, 1.75f}, 5);
    free(out.data);
    op_case_t celu = {.op_type = "Celu"};
    add_float_attr(&celu, "alpha", 0);
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 1, D(5));
    inferd_err_t err;
    assert_int_equal(run_op(&celu, &in, 1, &out, &err), INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "alpha"));
}

static void gelu_refuses_unknown_approximation(void **state)
{
    float x[1] = {1};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 1, D(1)), out;
    inferd_err_t err;
    op_case_t gelu = {.op_type = "Gelu"};
    add_string_attr(&gelu, "approximate", "fast");
    assert_int_equal(run_op(&gelu, &in, 1, &out, &err), INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "approximate"));
}

/* ==== Clip ==== */

static void clip_with_inputs_and_attributes(void **state)
{
    float x[6] = {-3, -1, 0, 2, 7, NAN}, lo[1] = {-1.5f}, hi[1] = {5};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, x, 1, D(6)), tensor(INFERD_DT_FP32, lo, 0),
                             tensor(INFERD_DT_FP32, hi, 0)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t clip = {.op_type = "Clip"};
    assert_int_equal(run_op(&clip, in, 3, &out, &err), 0);
    float *y = out.data;
    assert_floats(y, (float[]){-1.5f, -1, 0, 2, 5}, 5);
    assert_true(isnan(y[5]));
    free(out.data);
    /* Only max (min omitted by an empty name). */
    in[1] = (inferd_tensor_t){0};
    assert_int_equal(run_op(&clip, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){-3, -1, 0, 2, 5}, 5);
    free(out.data);
    /* min > max: everything becomes max. */
    float big_lo[1] = {10};
    in[1] = tensor(INFERD_DT_FP32, big_lo, 0);
    assert_int_equal(run_op(&clip, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){5, 5, 5, 5, 5}, 5);
    free(out.data);
    /* Opset 6: attributes. */
    op_case_t old = {.op_type = "Clip", .opset = 6};
    add_float_attr(&old, "min", 0);
    add_float_attr(&old, "max", 6);
    assert_int_equal(run_op(&old, in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){0, 0, 0, 2, 6}, 5);
    free(out.data);
    /* Integers (opset 12 on), one bound. */
    int8_t i8[4] = {-128, -3, 5, 127}, i8_lo[1] = {-4};
    in[0] = tensor(INFERD_DT_INT8, i8, 1, D(4));
    in[1] = tensor(INFERD_DT_INT8, i8_lo, 0);
    assert_int_equal(run_op(&clip, in, 2, &out, &err), 0);
    assert_memory_equal(out.data, ((int8_t[]){-4, -3, 5, 127}), 4);
    free(out.data);
    /* Double, no bounds: a copy. */
    double d[2] = {-1e300, 1e300};
    in[0] = tensor(INFERD_DT_FP64, d, 1, D(2));
    assert_int_equal(run_op(&clip, in, 1, &out, &err), 0);
    assert_memory_equal(out.data, d, 16);
    free(out.data);
}

static void clip_refusals(void **state)
{
    float x[2] = {0, 1}, two[2] = {0, 1};
    double lo[1] = {0};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x, 1, D(2)),
                             tensor(INFERD_DT_FP32, two, 1, D(2))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t clip = {.op_type = "Clip"};
    assert_int_equal(run_op(&clip, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "scalar"));
    in[1] = tensor(INFERD_DT_FP64, lo, 0);
    assert_int_equal(run_op(&clip, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "datatype FP64"));
    op_case_t old = {.op_type = "Clip", .opset = 10};
    assert_int_equal(run_op(&old, in, 2, &out, &err), INFERD_EMODEL);
    int32_t ints[1] = {0};
    in[0] = tensor(INFERD_DT_INT32, ints, 1, D(1));
    assert_int_equal(run_op(&old, in, 1, &out, &err), INFERD_EINVAL); /* floats only then */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(math_functions),
        cmocka_unit_test(rounding_functions),
        cmocka_unit_test(exp_is_accurate_everywhere),
        cmocka_unit_test(integer_forms),
        cmocka_unit_test(tests_on_floats_and_not),
        cmocka_unit_test(activations_match_references),
        cmocka_unit_test(activations_keep_nan_and_saturate),
        cmocka_unit_test(fp64_and_fp16_paths),
        cmocka_unit_test(shrink_hard_and_soft),
        cmocka_unit_test(gelu_refuses_unknown_approximation),
        cmocka_unit_test(clip_with_inputs_and_attributes),
        cmocka_unit_test(clip_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
