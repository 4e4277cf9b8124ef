/* Unit tests for Cast and CastLike (src/backends/onnx/ops/cast.c): truncation and the defined
 * results for NaN and out-of-range floats, modular integer narrowing, BOOL both ways, FP16 in
 * and out, CastLike's target from its second input, and the refusal of types inferd lacks. */
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

/* ONNX TensorProto.DataType values. */
enum {
    ONNX_FLOAT = 1,
    ONNX_UINT8 = 2,
    ONNX_INT8 = 3,
    ONNX_INT32 = 6,
    ONNX_INT64 = 7,
    ONNX_STRING = 8,
    ONNX_BOOL = 9,
    ONNX_FLOAT16 = 10,
    ONNX_DOUBLE = 11,
    ONNX_UINT32 = 12,
    ONNX_UINT64 = 13,
    ONNX_BFLOAT16 = 16
};

/* Casts x to ONNX type `to`; fails the test on error. The caller frees .data. */
static inferd_tensor_t cast(inferd_tensor_t x, int to)
{
    op_case_t c = {.op_type = "Cast"};
    add_int_attr(&c, "to", to);
    inferd_tensor_t out;
    inferd_err_t err = {0};
    if (run_op(&c, &x, 1, &out, &err) != 0)
        fail_msg("Cast to %d failed: %s", to, err.msg);
    return out;
}

static void float_to_integer_truncates_and_saturates(void **state)
{
    float x[8] = {2.9f, -2.9f, NAN, 1e10f, -1e10f, INFINITY, -INFINITY, -0.5f};
    inferd_tensor_t out = cast(tensor(INFERD_DT_FP32, x, 1, D(8)), ONNX_INT32);
    assert_int_equal(out.dtype, INFERD_DT_INT32);
    assert_memory_equal(out.data,
                        ((int32_t[]){2, -2, 0, INT32_MAX, INT32_MIN, INT32_MAX, INT32_MIN, 0}), 32);
    free(out.data);
    out = cast(tensor(INFERD_DT_FP32, x, 1, D(8)), ONNX_UINT8);
    assert_memory_equal(out.data, ((uint8_t[]){2, 0, 0, 255, 0, 255, 0, 0}), 8);
    free(out.data);
    double big[4] = {9.3e18, -9.3e18, 1.8e19, 4294967295.9};
    out = cast(tensor(INFERD_DT_FP64, big, 1, D(4)), ONNX_INT64);
    assert_true(((int64_t *)out.data)[0] == INT64_MAX && ((int64_t *)out.data)[1] == INT64_MIN);
    free(out.data);
    out = cast(tensor(INFERD_DT_FP64, big, 1, D(4)), ONNX_UINT64);
    assert_true(((uint64_t *)out.data)[1] == 0 &&
                ((uint64_t *)out.data)[2] == 18000000000000000000u);
    free(out.data);
    out = cast(tensor(INFERD_DT_FP64, big, 1, D(4)), ONNX_UINT32);
    assert_true(((uint32_t *)out.data)[3] == UINT32_MAX);
    free(out.data);
}

static void integers_narrow_modularly_and_widen_exactly(void **state)
{
    int32_t x[3] = {300, -1, 128};
    inferd_tensor_t out = cast(tensor(INFERD_DT_INT32, x, 1, D(3)), ONNX_UINT8);
    assert_memory_equal(out.data, ((uint8_t[]){44, 255, 128}), 3);
    free(out.data);
    out = cast(tensor(INFERD_DT_INT32, x, 1, D(3)), ONNX_INT8);
    assert_memory_equal(out.data, ((int8_t[]){44, -1, -128}), 3);
    free(out.data);
    out = cast(tensor(INFERD_DT_INT32, x, 1, D(3)), ONNX_UINT64);
    assert_true(((uint64_t *)out.data)[1] == UINT64_MAX);
    free(out.data);
    int64_t big[1] = {INT64_C(9007199254740993)}; /* 2^53 + 1: not a double */
    out = cast(tensor(INFERD_DT_INT64, big, 1, D(1)), ONNX_UINT64);
    assert_true(((uint64_t *)out.data)[0] == UINT64_C(9007199254740993));
    free(out.data);
    out = cast(tensor(INFERD_DT_INT64, big, 1, D(1)), ONNX_DOUBLE);
    assert_true(((double *)out.data)[0] == 9007199254740992.0);
    free(out.data);
}

static void bool_both_ways(void **state)
{
    float x[4] = {0, -0.0f, NAN, -3};
    inferd_tensor_t out = cast(tensor(INFERD_DT_FP32, x, 1, D(4)), ONNX_BOOL);
    assert_int_equal(out.dtype, INFERD_DT_BOOL);
    assert_memory_equal(out.data, ((uint8_t[]){0, 0, 1, 1}), 4);
    free(out.data);
    uint8_t flags[3] = {0, 1, 7}; /* any nonzero byte is true */
    out = cast(tensor(INFERD_DT_BOOL, flags, 1, D(3)), ONNX_FLOAT);
    assert_floats(out.data, (float[]){0, 1, 1}, 3);
    free(out.data);
    out = cast(tensor(INFERD_DT_BOOL, flags, 1, D(3)), ONNX_INT64);
    assert_memory_equal(out.data, ((int64_t[]){0, 1, 1}), 24);
    free(out.data);
    int64_t ints[2] = {0, -5};
    out = cast(tensor(INFERD_DT_INT64, ints, 1, D(2)), ONNX_BOOL);
    assert_memory_equal(out.data, ((uint8_t[]){0, 1}), 2);
    free(out.data);
}

static void fp16_in_and_out(void **state)
{
    float x[5] = {1, 65504, 1e6f, 0.1f, -2.5f};
    inferd_tensor_t out = cast(tensor(INFERD_DT_FP32, x, 1, D(5)), ONNX_FLOAT16);
    assert_int_equal(out.dtype, INFERD_DT_FP16);
    /* 1e6 overflows to inf; 0.1 rounds to 0x2E66 */
    assert_memory_equal(out.data, ((uint16_t[]){0x3C00, 0x7BFF, 0x7C00, 0x2E66, 0xC100}), 10);
    free(out.data);
    uint16_t h[4] = {0x3C00, 0xC100, 0x7C00, 0x7E00};
    out = cast(tensor(INFERD_DT_FP16, h, 1, D(4)), ONNX_DOUBLE);
    double *d = out.data;
    assert_true(d[0] == 1 && d[1] == -2.5 && isinf(d[2]) && isnan(d[3]));
    free(out.data);
    out = cast(tensor(INFERD_DT_FP16, h, 1, D(4)), ONNX_INT32);
    assert_memory_equal(out.data, ((int32_t[]){1, -2, INT32_MAX, 0}), 16);
    free(out.data);
    out = cast(tensor(INFERD_DT_FP16, h, 1, D(4)), ONNX_FLOAT16); /* same type: a copy */
    assert_memory_equal(out.data, h, 8);
    free(out.data);
}

static void castlike_takes_the_second_inputs_type(void **state)
{
    double x[2] = {1.5, -7.25};
    int8_t like[1] = {0};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP64, x, 2, D(1), D(2)),
                             tensor(INFERD_DT_INT8, like, 1, D(1))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "CastLike"};
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_INT8);
    assert_shape(&out, 2, (int64_t[]){1, 2});
    assert_memory_equal(out.data, ((int8_t[]){1, -7}), 2);
    free(out.data);
}

static void types_inferd_lacks_are_refused_at_load(void **state)
{
    float x[1] = {1};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 1, D(1)), out;
    inferd_err_t err;
    op_case_t to_string = {.op_type = "Cast"}, to_bfloat16 = {.op_type = "Cast"},
              unknown = {.op_type = "Cast"}, missing = {.op_type = "Cast"};
    add_int_attr(&to_string, "to", ONNX_STRING);
    add_int_attr(&to_bfloat16, "to", ONNX_BFLOAT16);
    add_int_attr(&unknown, "to", 99);
    assert_int_equal(run_op(&to_string, &in, 1, &out, &err), INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "STRING"));
    assert_int_equal(run_op(&to_bfloat16, &in, 1, &out, &err), INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "BFLOAT16"));
    assert_int_equal(run_op(&unknown, &in, 1, &out, &err), INFERD_EMODEL);
    assert_int_equal(run_op(&missing, &in, 1, &out, &err), INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "'to'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(float_to_integer_truncates_and_saturates),
        cmocka_unit_test(integers_narrow_modularly_and_widen_exactly),
        cmocka_unit_test(bool_both_ways),
        cmocka_unit_test(fp16_in_and_out),
        cmocka_unit_test(castlike_takes_the_second_inputs_type),
        cmocka_unit_test(types_inferd_lacks_are_refused_at_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
