/* Unit tests for the binary and variadic elementwise ops (src/backends/onnx/ops/elementwise*.c):
 * Add, Sub, Mul, Div, Pow, Mod, PRelu, BitShift, Sum, Mean, Min, Max, through the operator table,
 * on hand-worked values: broadcasting in every direction, wrapping integer arithmetic, the refusals
 * (division by zero, mismatched types and shapes). */
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

/* Runs a two-input op and returns its output (caller frees .data); fails the test on error. */
static inferd_tensor_t run2(op_case_t *c, inferd_tensor_t a, inferd_tensor_t b)
{
    inferd_tensor_t in[2] = {a, b}, out;
    inferd_err_t err = {0};
    int rc = run_op(c, in, 2, &out, &err);
    if (rc != 0)
        fail_msg("%s failed: %s", c->op_type, err.msg);
    return out;
}

/* Runs a two-input op expecting `rc`, with `needle` in the message. */
static void refuse2(op_case_t *c, inferd_tensor_t a, inferd_tensor_t b, int rc, const char *needle)
{
    inferd_tensor_t in[2] = {a, b}, out;
    inferd_err_t err = {0};
    assert_int_equal(run_op(c, in, 2, &out, &err), rc);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    free(out.data);
}

/* ==== Add, Sub, Mul, Div ==== */

static void integer_arithmetic_wraps_on_every_width(void **state)
{
    op_case_t add = {.op_type = "Add"}, mul = {.op_type = "Mul"}, sub = {.op_type = "Sub"};
    int8_t i8a[3] = {127, -128, 5}, i8b[3] = {1, -1, -7};
    inferd_tensor_t out =
        run2(&add, tensor(INFERD_DT_INT8, i8a, 1, D(3)), tensor(INFERD_DT_INT8, i8b, 1, D(3)));
    assert_memory_equal(out.data, ((int8_t[]){-128, 127, -2}), 3);
    free(out.data);
    uint16_t u16a[2] = {65535, 3}, u16b[2] = {65535, 4};
    out = run2(&mul, tensor(INFERD_DT_UINT16, u16a, 1, D(2)),
               tensor(INFERD_DT_UINT16, u16b, 1, D(2)));
    assert_memory_equal(out.data, ((uint16_t[]){1, 12}), 4); /* (2^16-1)^2 mod 2^16 = 1 */
    free(out.data);
    int32_t i32a[2] = {INT32_MAX, INT32_MIN}, i32b[1] = {2};
    out = run2(&mul, tensor(INFERD_DT_INT32, i32a, 1, D(2)), tensor(INFERD_DT_INT32, i32b, 0));
    assert_memory_equal(out.data, ((int32_t[]){-2, 0}), 8);
    free(out.data);
    uint8_t u8a[2] = {3, 250}, u8b[2] = {5, 10};
    out = run2(&sub, tensor(INFERD_DT_UINT8, u8a, 1, D(2)), tensor(INFERD_DT_UINT8, u8b, 1, D(2)));
    assert_memory_equal(out.data, ((uint8_t[]){254, 240}), 2);
    free(out.data);
    int64_t i64a[1] = {INT64_MIN}, i64b[1] = {1};
    out =
        run2(&sub, tensor(INFERD_DT_INT64, i64a, 1, D(1)), tensor(INFERD_DT_INT64, i64b, 1, D(1)));
    assert_true(((int64_t *)out.data)[0] == INT64_MAX);
    free(out.data);
}

static void integer_division_truncates_and_refuses_zero(void **state)
{
    op_case_t div = {.op_type = "Div"};
    int32_t a[4] = {7, -7, INT32_MIN, 9}, b[4] = {2, 2, -1, -4};
    inferd_tensor_t out =
        run2(&div, tensor(INFERD_DT_INT32, a, 1, D(4)), tensor(INFERD_DT_INT32, b, 1, D(4)));
    assert_memory_equal(out.data, ((int32_t[]){3, -3, INT32_MIN, -2}), 16); /* MIN/-1 wraps */
    free(out.data);
    uint8_t ua[2] = {200, 9}, ub[2] = {7, 0};
    refuse2(&div, tensor(INFERD_DT_UINT8, ua, 1, D(2)), tensor(INFERD_DT_UINT8, ub, 1, D(2)),
            INFERD_EINVAL, "division by zero");
    int8_t ia[1] = {1}, ib[2] = {0, 1};
    refuse2(&div, tensor(INFERD_DT_INT8, ia, 1, D(1)), tensor(INFERD_DT_INT8, ib, 1, D(2)),
            INFERD_EINVAL, "division by zero");
    /* An empty output divides nothing: no refusal. */
    inferd_tensor_t in[2] = {tensor(INFERD_DT_INT8, ia, 2, D(0), D(2)),
                             tensor(INFERD_DT_INT8, ib, 1, D(2))};
    inferd_err_t err;
    assert_int_equal(run_op(&div, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){0, 2});
    free(out.data);
    /* Float division by zero is IEEE's. */
    float fa[2] = {1, -1}, fb[1] = {0};
    out = run2(&div, tensor(INFERD_DT_FP32, fa, 1, D(2)), tensor(INFERD_DT_FP32, fb, 1, D(1)));
    assert_true(isinf(((float *)out.data)[0]) && ((float *)out.data)[0] > 0);
    assert_true(isinf(((float *)out.data)[1]) && ((float *)out.data)[1] < 0);
    free(out.data);
}

static void broadcasting_in_every_direction(void **state)
{
    op_case_t add = {.op_type = "Add"};
    /* [2,3,4] + [3,1]: the second operand repeats along the first and last dimensions. */
    float a[24], b[3] = {100, 200, 300};
    for (int i = 0; i < 24; i++)
        a[i] = (float)i;
    inferd_tensor_t out = run2(&add, tensor(INFERD_DT_FP32, a, 3, D(2), D(3), D(4)),
                               tensor(INFERD_DT_FP32, b, 2, D(3), D(1)));
    assert_shape(&out, 3, (int64_t[]){2, 3, 4});
    for (int i = 0; i < 24; i++)
        assert_true(((float *)out.data)[i] == a[i] + b[(i / 4) % 3]);
    free(out.data);
    /* [2,1,4] + [3,1]: both sides grow to [2,3,4]. */
    float c[8] = {0, 1, 2, 3, 10, 11, 12, 13};
    out = run2(&add, tensor(INFERD_DT_FP32, c, 3, D(2), D(1), D(4)),
               tensor(INFERD_DT_FP32, b, 2, D(3), D(1)));
    assert_shape(&out, 3, (int64_t[]){2, 3, 4});
    for (int i = 0; i < 24; i++)
        assert_true(((float *)out.data)[i] == c[(i / 12) * 4 + i % 4] + b[(i / 4) % 3]);
    free(out.data);
    /* A rank-0 scalar on the left, FP64. */
    double s[1] = {0.5}, v[3] = {1, 2, 3};
    out = run2(&add, tensor(INFERD_DT_FP64, s, 0), tensor(INFERD_DT_FP64, v, 1, D(3)));
    assert_shape(&out, 1, (int64_t[]){3});
    assert_memory_equal(out.data, ((double[]){1.5, 2.5, 3.5}), 24);
    free(out.data);
    /* Two scalars. */
    out = run2(&add, tensor(INFERD_DT_FP64, s, 0), tensor(INFERD_DT_FP64, s, 0));
    assert_int_equal(out.ndim, 0);
    assert_true(((double *)out.data)[0] == 1.0);
    free(out.data);
}

static void fp16_arithmetic_rounds_to_half(void **state)
{
    op_case_t mul = {.op_type = "Mul"};
    uint16_t a[3] = {0x3C00, 0x4000, 0x7BFF}, b[1] = {0x3800}; /* 1, 2, 65504 times 0.5 */
    inferd_tensor_t out =
        run2(&mul, tensor(INFERD_DT_FP16, a, 1, D(3)), tensor(INFERD_DT_FP16, b, 1, D(1)));
    assert_int_equal(out.dtype, INFERD_DT_FP16);
    assert_memory_equal(out.data, ((uint16_t[]){0x3800, 0x3C00, 0x77FF}), 6);
    free(out.data);
}

static void binary_refusals(void **state)
{
    op_case_t add = {.op_type = "Add"};
    uint8_t flags[2] = {1, 0};
    refuse2(&add, tensor(INFERD_DT_BOOL, flags, 1, D(2)), tensor(INFERD_DT_BOOL, flags, 1, D(2)),
            INFERD_EINVAL, "BOOL is not supported");
    float f[2] = {0};
    double d[2] = {0};
    refuse2(&add, tensor(INFERD_DT_FP32, f, 1, D(2)), tensor(INFERD_DT_FP64, d, 1, D(2)),
            INFERD_EINVAL, "different datatypes");
    refuse2(&add, tensor(INFERD_DT_FP32, f, 1, D(2)), tensor(INFERD_DT_FP32, f, 1, D(3)),
            INFERD_EINVAL, "do not broadcast");
    /* An omitted input (empty name) is refused, not dereferenced. */
    refuse2(&add, tensor(INFERD_DT_FP32, f, 1, D(2)), (inferd_tensor_t){0}, INFERD_EINVAL,
            "missing");
}

/* Before opset 7: broadcast=1 places B at A's `axis` (by default against A's last dimensions). */
static void legacy_broadcast_attribute(void **state)
{
    float a[24], b3[3] = {100, 200, 300}, b4[4] = {1, 2, 3, 4}, b5[5] = {0};
    for (int i = 0; i < 24; i++)
        a[i] = (float)i;
    op_case_t at_axis = {.op_type = "Add", .opset = 6}, suffix = {.op_type = "Mul", .opset = 6};
    add_int_attr(&at_axis, "broadcast", 1);
    add_int_attr(&at_axis, "axis", 1);
    add_int_attr(&suffix, "broadcast", 1);
    inferd_tensor_t out = run2(&at_axis, tensor(INFERD_DT_FP32, a, 3, D(2), D(3), D(4)),
                               tensor(INFERD_DT_FP32, b3, 1, D(3)));
    assert_shape(&out, 3, (int64_t[]){2, 3, 4});
    for (int i = 0; i < 24; i++)
        assert_true(((float *)out.data)[i] == a[i] + b3[(i / 4) % 3]);
    free(out.data);
    out = run2(&suffix, tensor(INFERD_DT_FP32, a, 3, D(2), D(3), D(4)),
               tensor(INFERD_DT_FP32, b4, 1, D(4)));
    for (int i = 0; i < 24; i++)
        assert_true(((float *)out.data)[i] == a[i] * b4[i % 4]);
    free(out.data);
    /* A size-1 dimension of B repeats (as the PyTorch exporter relies on). */
    out = run2(&suffix, tensor(INFERD_DT_FP32, a, 2, D(2), D(3)),
               tensor(INFERD_DT_FP32, b3, 2, D(2), D(1)));
    assert_floats(out.data, (float[]){0, 100, 200, 600, 800, 1000}, 6);
    free(out.data);
    refuse2(&suffix, tensor(INFERD_DT_FP32, a, 3, D(2), D(3), D(4)),
            tensor(INFERD_DT_FP32, b5, 1, D(5)), INFERD_EINVAL, "does not match");
    refuse2(&at_axis, tensor(INFERD_DT_FP32, a, 3, D(2), D(3), D(4)),
            tensor(INFERD_DT_FP32, b4, 1, D(4)), INFERD_EINVAL, "at axis 1");
}

/* ==== Pow ==== */

static void pow_on_floats_and_mixed_types(void **state)
{
    op_case_t pow_op = {.op_type = "Pow"};
    float base[4] = {2, -3, 0.25f, 9}, exps[4] = {10, 3, 0.5f, -0.5f};
    inferd_tensor_t out =
        run2(&pow_op, tensor(INFERD_DT_FP32, base, 1, D(4)), tensor(INFERD_DT_FP32, exps, 1, D(4)));
    assert_floats(out.data, (float[]){1024, -27, 0.5f, 1.0f / 3}, 4);
    free(out.data);
    float two[1] = {2};
    out = run2(&pow_op, tensor(INFERD_DT_FP32, base, 1, D(4)), tensor(INFERD_DT_FP32, two, 0));
    assert_floats(out.data, (float[]){4, 9, 0.0625f, 81}, 4);
    free(out.data);
    /* Float base, integer exponent: the result keeps the base's type. */
    int64_t int_exps[2] = {3, -2};
    out = run2(&pow_op, tensor(INFERD_DT_FP32, base, 1, D(2)),
               tensor(INFERD_DT_INT64, int_exps, 1, D(2)));
    assert_int_equal(out.dtype, INFERD_DT_FP32);
    assert_floats(out.data, (float[]){8, 1.0f / 9}, 2);
    free(out.data);
    /* Integer base, float exponent: computed in double, truncated into the base's type. */
    int32_t ints[3] = {2, 3, 10};
    float fexps[3] = {0.5f, 2, 20};
    out = run2(&pow_op, tensor(INFERD_DT_INT32, ints, 1, D(3)),
               tensor(INFERD_DT_FP32, fexps, 1, D(3)));
    assert_int_equal(out.dtype, INFERD_DT_INT32);
    assert_memory_equal(out.data, ((int32_t[]){1, 9, INT32_MAX}), 12); /* 1e20 saturates */
    free(out.data);
}

static void pow_on_integers_is_exact(void **state)
{
    op_case_t pow_op = {.op_type = "Pow"};
    int64_t base[6] = {3, -2, 2, 1, -1, 5}, exps[6] = {39, 3, -1, -7, -3, 0};
    inferd_tensor_t out = run2(&pow_op, tensor(INFERD_DT_INT64, base, 1, D(6)),
                               tensor(INFERD_DT_INT64, exps, 1, D(6)));
    /* 3^39 = 4052555153018976267 needs all 63 bits: exact, unlike through double. */
    assert_true(((int64_t *)out.data)[0] == INT64_C(4052555153018976267));
    assert_memory_equal((int64_t *)out.data + 1, ((int64_t[]){-8, 0, 1, -1, 1}), 40);
    free(out.data);
    int32_t wrap_base[1] = {65536}, wrap_exp[1] = {2};
    out = run2(&pow_op, tensor(INFERD_DT_INT32, wrap_base, 1, D(1)),
               tensor(INFERD_DT_INT32, wrap_exp, 1, D(1)));
    assert_int_equal(((int32_t *)out.data)[0], 0); /* 2^32 wraps to 0 in 32 bits */
    free(out.data);
    int32_t zero[1] = {0}, negative[1] = {-1};
    refuse2(&pow_op, tensor(INFERD_DT_INT32, zero, 1, D(1)),
            tensor(INFERD_DT_INT32, negative, 1, D(1)), INFERD_EINVAL, "negative power");
    uint8_t flags[1] = {1};
    refuse2(&pow_op, tensor(INFERD_DT_BOOL, flags, 1, D(1)), tensor(INFERD_DT_INT32, zero, 1, D(1)),
            INFERD_EINVAL, "BOOL is not supported");
}

/* ==== Mod ==== */

static void mod_takes_the_divisors_sign_or_cs(void **state)
{
    op_case_t mod = {.op_type = "Mod"}, fmod_op = {.op_type = "Mod"};
    add_int_attr(&fmod_op, "fmod", 1);
    int32_t x[6] = {-4, 4, -4, 7, INT32_MIN, 0}, z[6] = {3, -3, -3, 7, -1, 5};
    inferd_tensor_t out =
        run2(&mod, tensor(INFERD_DT_INT32, x, 1, D(6)), tensor(INFERD_DT_INT32, z, 1, D(6)));
    assert_memory_equal(out.data, ((int32_t[]){2, -2, -1, 0, 0, 0}), 24);
    free(out.data);
    out = run2(&fmod_op, tensor(INFERD_DT_INT32, x, 1, D(6)), tensor(INFERD_DT_INT32, z, 1, D(6)));
    assert_memory_equal(out.data, ((int32_t[]){-1, 1, -1, 0, 0, 0}), 24);
    free(out.data);
    int8_t small[2] = {-128, 100}, divisor[1] = {-7};
    out = run2(&mod, tensor(INFERD_DT_INT8, small, 1, D(2)), tensor(INFERD_DT_INT8, divisor, 0));
    assert_memory_equal(out.data, ((int8_t[]){-2, -5}), 2);
    free(out.data);
    float fx[3] = {-4.5f, 5.25f, -1}, fz[3] = {2, -2, 4};
    out = run2(&fmod_op, tensor(INFERD_DT_FP32, fx, 1, D(3)), tensor(INFERD_DT_FP32, fz, 1, D(3)));
    assert_floats(out.data, (float[]){-0.5f, 1.25f, -1}, 3);
    free(out.data);
    out = run2(&mod, tensor(INFERD_DT_FP32, fx, 1, D(3)), tensor(INFERD_DT_FP32, fz, 1, D(3)));
    assert_floats(out.data, (float[]){1.5f, -0.75f, 3}, 3); /* numpy's mod for floats */
    free(out.data);
    uint64_t ux[2] = {UINT64_MAX, 10}, uz[2] = {10, 3};
    out = run2(&mod, tensor(INFERD_DT_UINT64, ux, 1, D(2)), tensor(INFERD_DT_UINT64, uz, 1, D(2)));
    assert_true(((uint64_t *)out.data)[0] == 5 && ((uint64_t *)out.data)[1] == 1);
    free(out.data);
    int32_t zero[1] = {0};
    refuse2(&mod, tensor(INFERD_DT_INT32, x, 1, D(6)), tensor(INFERD_DT_INT32, zero, 1, D(1)),
            INFERD_EINVAL, "modulo by zero");
    op_case_t bad = {.op_type = "Mod"};
    add_int_attr(&bad, "fmod", 2);
    refuse2(&bad, tensor(INFERD_DT_INT32, x, 1, D(6)), tensor(INFERD_DT_INT32, z, 1, D(6)),
            INFERD_EMODEL, "fmod");
}

/* ==== PRelu ==== */

static void prelu_broadcasts_the_slope_to_x(void **state)
{
    op_case_t prelu = {.op_type = "PRelu"};
    /* X [1,2,2,2] with a per-channel slope [2,1,1]. */
    float x[8] = {-1, 2, -3, 4, -1, 2, -3, 4}, slope[2] = {0.5f, 2};
    inferd_tensor_t out = run2(&prelu, tensor(INFERD_DT_FP32, x, 4, D(1), D(2), D(2), D(2)),
                               tensor(INFERD_DT_FP32, slope, 3, D(2), D(1), D(1)));
    assert_shape(&out, 4, (int64_t[]){1, 2, 2, 2});
    assert_floats(out.data, (float[]){-0.5f, 2, -1.5f, 4, -2, 2, -6, 4}, 8);
    free(out.data);
    float nan_x[1] = {NAN};
    out = run2(&prelu, tensor(INFERD_DT_FP32, nan_x, 1, D(1)),
               tensor(INFERD_DT_FP32, slope, 1, D(1)));
    assert_true(isnan(((float *)out.data)[0]));
    free(out.data);
    int32_t ix[3] = {-5, 0, 5}, islope[1] = {3};
    out = run2(&prelu, tensor(INFERD_DT_INT32, ix, 1, D(3)),
               tensor(INFERD_DT_INT32, islope, 1, D(1)));
    assert_memory_equal(out.data, ((int32_t[]){-15, 0, 5}), 12);
    free(out.data);
    /* Before opset 7 a 1-D slope as long as the channel dimension is per channel. */
    op_case_t legacy = {.op_type = "PRelu", .opset = 6};
    out = run2(&legacy, tensor(INFERD_DT_FP32, x, 3, D(2), D(2), D(2)),
               tensor(INFERD_DT_FP32, slope, 1, D(2)));
    assert_floats(out.data, (float[]){-0.5f, 2, -6, 4, -0.5f, 2, -6, 4}, 8);
    free(out.data);
    /* The slope may not grow X. */
    refuse2(&prelu, tensor(INFERD_DT_FP32, x, 1, D(1)), tensor(INFERD_DT_FP32, slope, 1, D(2)),
            INFERD_EINVAL, "does not broadcast to X");
}

/* ==== BitShift ==== */

static void bitshift_on_unsigned_integers(void **state)
{
    op_case_t left = {.op_type = "BitShift"}, right = {.op_type = "BitShift"};
    add_string_attr(&left, "direction", "LEFT");
    add_string_attr(&right, "direction", "RIGHT");
    uint8_t x[4] = {1, 0x81, 255, 7}, shift[4] = {7, 1, 8, 200};
    inferd_tensor_t out =
        run2(&left, tensor(INFERD_DT_UINT8, x, 1, D(4)), tensor(INFERD_DT_UINT8, shift, 1, D(4)));
    assert_memory_equal(out.data, ((uint8_t[]){0x80, 0x02, 0, 0}), 4); /* >= width gives 0 */
    free(out.data);
    out =
        run2(&right, tensor(INFERD_DT_UINT8, x, 1, D(4)), tensor(INFERD_DT_UINT8, shift, 1, D(4)));
    assert_memory_equal(out.data, ((uint8_t[]){0, 0x40, 0, 0}), 4);
    free(out.data);
    uint64_t big[1] = {UINT64_MAX}, by[2] = {63, 64};
    out =
        run2(&right, tensor(INFERD_DT_UINT64, big, 1, D(1)), tensor(INFERD_DT_UINT64, by, 1, D(2)));
    assert_true(((uint64_t *)out.data)[0] == 1 && ((uint64_t *)out.data)[1] == 0);
    free(out.data);
    int32_t signed_x[1] = {1};
    refuse2(&left, tensor(INFERD_DT_INT32, signed_x, 1, D(1)),
            tensor(INFERD_DT_INT32, signed_x, 1, D(1)), INFERD_EINVAL, "INT32 is not supported");
    op_case_t sideways = {.op_type = "BitShift"};
    add_string_attr(&sideways, "direction", "UP");
    refuse2(&sideways, tensor(INFERD_DT_UINT8, x, 1, D(1)), tensor(INFERD_DT_UINT8, x, 1, D(1)),
            INFERD_EMODEL, "direction");
}

/* ==== Sum, Mean, Min, Max ==== */

static void variadic_ops_fold_broadcast_inputs(void **state)
{
    float a[2] = {1, 2}, b[3] = {10, 20, 30}, c[1] = {100};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, a, 2, D(2), D(1)),
                             tensor(INFERD_DT_FP32, b, 1, D(3)), tensor(INFERD_DT_FP32, c, 0)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t sum = {.op_type = "Sum"}, mean = {.op_type = "Mean"}, min = {.op_type = "Min"},
              max = {.op_type = "Max"};
    assert_int_equal(run_op(&sum, in, 3, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 3});
    assert_floats(out.data, (float[]){111, 121, 131, 112, 122, 132}, 6);
    free(out.data);
    assert_int_equal(run_op(&mean, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){37, 121.0f / 3, 131.0f / 3, 112.0f / 3, 122.0f / 3, 44}, 6);
    free(out.data);
    assert_int_equal(run_op(&min, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 1, 1, 2, 2, 2}, 6);
    free(out.data);
    assert_int_equal(run_op(&max, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){100, 100, 100, 100, 100, 100}, 6);
    free(out.data);
    /* One input: a copy. */
    assert_int_equal(run_op(&sum, in + 1, 1, &out, &err), 0);
    assert_floats(out.data, b, 3);
    free(out.data);
}

static void min_max_propagate_nan_and_take_integers(void **state)
{
    float a[3] = {NAN, 1, 5}, b[3] = {0, NAN, 3};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, a, 1, D(3)),
                             tensor(INFERD_DT_FP32, b, 1, D(3))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t min = {.op_type = "Min"}, max = {.op_type = "Max"};
    assert_int_equal(run_op(&max, in, 2, &out, &err), 0);
    float *y = out.data;
    assert_true(isnan(y[0]) && isnan(y[1]) && y[2] == 5);
    free(out.data);
    assert_int_equal(run_op(&min, in, 2, &out, &err), 0);
    y = out.data;
    assert_true(isnan(y[0]) && isnan(y[1]) && y[2] == 3);
    free(out.data);
    uint64_t ua[2] = {UINT64_MAX, 0}, ub[2] = {1, 7};
    in[0] = tensor(INFERD_DT_UINT64, ua, 1, D(2));
    in[1] = tensor(INFERD_DT_UINT64, ub, 1, D(2));
    assert_int_equal(run_op(&max, in, 2, &out, &err), 0);
    assert_true(((uint64_t *)out.data)[0] == UINT64_MAX && ((uint64_t *)out.data)[1] == 7);
    free(out.data);
    int16_t ia[2] = {-300, 4}, ib[1] = {-2};
    in[0] = tensor(INFERD_DT_INT16, ia, 1, D(2));
    in[1] = tensor(INFERD_DT_INT16, ib, 1, D(1));
    assert_int_equal(run_op(&min, in, 2, &out, &err), 0);
    assert_memory_equal(out.data, ((int16_t[]){-300, -2}), 4);
    free(out.data);
}

static void variadic_refusals(void **state)
{
    int32_t i[2] = {1, 2};
    float f[2] = {1, 2};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_INT32, i, 1, D(2)),
                             tensor(INFERD_DT_INT32, i, 1, D(2))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t mean = {.op_type = "Mean"}, sum = {.op_type = "Sum"};
    assert_int_equal(run_op(&mean, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "INT32 is not supported"));
    in[1] = tensor(INFERD_DT_FP32, f, 1, D(2));
    assert_int_equal(run_op(&sum, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "different datatypes"));
    in[1] = tensor(INFERD_DT_INT32, i, 1, D(3));
    assert_int_equal(run_op(&sum, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "do not broadcast"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integer_arithmetic_wraps_on_every_width),
        cmocka_unit_test(integer_division_truncates_and_refuses_zero),
        cmocka_unit_test(broadcasting_in_every_direction),
        cmocka_unit_test(fp16_arithmetic_rounds_to_half),
        cmocka_unit_test(binary_refusals),
        cmocka_unit_test(legacy_broadcast_attribute),
        cmocka_unit_test(pow_on_floats_and_mixed_types),
        cmocka_unit_test(pow_on_integers_is_exact),
        cmocka_unit_test(mod_takes_the_divisors_sign_or_cs),
        cmocka_unit_test(prelu_broadcasts_the_slope_to_x),
        cmocka_unit_test(bitshift_on_unsigned_integers),
        cmocka_unit_test(variadic_ops_fold_broadcast_inputs),
        cmocka_unit_test(min_max_propagate_nan_and_take_integers),
        cmocka_unit_test(variadic_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
