/* Unit tests for the shape family (src/backends/onnx/ops/shape.c): Shape with start/end, Size,
 * ConstantOfShape with its value tensor, Range over floats and integers, Dropout at inference,
 * Reshape's allowzero and Flatten edge cases, each with values worked out by hand, and the
 * refusals of bad or absurd input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

static float x234[24];

static int setup_data(void **state)
{
    for (int i = 0; i < 24; i++)
        x234[i] = (float)i;
    return 0;
}

static void shape_reports_a_clamped_range_of_dimensions(void **state)
{
    inferd_tensor_t in = tensor(INFERD_DT_INT8, x234, 3, (int64_t)2, (int64_t)3, (int64_t)4);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t all = {.op_type = "Shape", .opset = 15};
    assert_int_equal(run_op(&all, &in, 1, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_INT64);
    assert_shape(&out, 1, (int64_t[]){3});
    assert_memory_equal(out.data, ((int64_t[]){2, 3, 4}), 3 * sizeof(int64_t));
    free(out.data);

    struct {
        int64_t start, end;
        int n;
        int64_t want[3];
    } cases[] = {
        {1, 100, 2, {3, 4}},  /* end clamped to the rank */
        {-10, -1, 2, {2, 3}}, /* start clamped to 0, end counted from the back */
        {-1, 100, 1, {4}},    /* the last dimension */
        {2, 1, 0, {0}},       /* end before start: empty */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        op_case_t c = {.op_type = "Shape", .opset = 15};
        add_int_attr(&c, "start", cases[i].start);
        add_int_attr(&c, "end", cases[i].end);
        assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
        assert_shape(&out, 1, (int64_t[]){cases[i].n});
        if (cases[i].n > 0)
            assert_memory_equal(out.data, cases[i].want, (size_t)cases[i].n * sizeof(int64_t));
        free(out.data);
    }

    op_case_t size = {.op_type = "Size"};
    assert_int_equal(run_op(&size, &in, 1, &out, &err), 0);
    assert_int_equal(out.ndim, 0);
    assert_int_equal(*(int64_t *)out.data, 24);
    free(out.data);
}

static void constant_of_shape_fills_with_the_value(void **state)
{
    int64_t dims[2] = {2, 3};
    inferd_tensor_t in = tensor(INFERD_DT_INT64, dims, 1, (int64_t)2);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t zeros = {.op_type = "ConstantOfShape", .opset = 9};
    assert_int_equal(run_op(&zeros, &in, 1, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_FP32); /* the default: float 0 */
    assert_shape(&out, 2, dims);
    assert_floats(out.data, (float[]){0, 0, 0, 0, 0, 0}, 6);
    free(out.data);

    /* value: a one-element INT32 tensor holding 7 */
    Onnx__TensorProto value;
    onnx__tensor_proto__init(&value);
    int64_t value_dims[1] = {1};
    int32_t seven[1] = {7};
    value.n_dims = 1;
    value.dims = value_dims;
    value.has_data_type = 1;
    value.data_type = 6;
    value.n_int32_data = 1;
    value.int32_data = seven;
    op_case_t sevens = {.op_type = "ConstantOfShape", .opset = 9};
    next_attr(&sevens, "value")->t = &value;
    assert_int_equal(run_op(&sevens, &in, 1, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_INT32);
    assert_memory_equal(out.data, ((int32_t[]){7, 7, 7, 7, 7, 7}), 6 * sizeof(int32_t));
    free(out.data);

    in.shape[0] = 0; /* an empty shape: a scalar */
    assert_int_equal(run_op(&sevens, &in, 1, &out, &err), 0);
    assert_int_equal(out.ndim, 0);
    assert_int_equal(*(int32_t *)out.data, 7);
    free(out.data);

    int64_t negative[2] = {2, -1}, huge[2] = {(int64_t)1 << 20, (int64_t)1 << 20};
    in = tensor(INFERD_DT_INT64, negative, 1, (int64_t)2);
    assert_int_equal(run_op(&sevens, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "negative or too large"));
    in.data = huge; /* 4 TiB of INT32 from 16 bytes of input */
    assert_int_equal(run_op(&sevens, &in, 1, &out, &err), INFERD_EINVAL);

    int32_t two[2] = {1, 2};
    value.dims[0] = 2;
    value.n_int32_data = 2;
    value.int32_data = two;
    assert_int_equal(run_op(&sevens, &in, 1, &out, &err), INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "one element"));
}

static void range_counts_and_fills(void **state)
{
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "Range", .opset = 11};

    float fs[3] = {1.0f, 2.0f, 0.3f}; /* ceil(1 / 0.3) = 4 values */
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, &fs[0], 0), tensor(INFERD_DT_FP32, &fs[1], 0),
                             tensor(INFERD_DT_FP32, &fs[2], 0)};
    assert_int_equal(run_op(&c, in, 3, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){4});
    assert_floats(out.data, (float[]){1.0f, 1.3f, 1.6f, 1.9f}, 4);
    free(out.data);

    int32_t is[3] = {10, 4, -3}; /* 10, 7 */
    for (int k = 0; k < 3; k++)
        in[k] = tensor(INFERD_DT_INT32, &is[k], 0);
    assert_int_equal(run_op(&c, in, 3, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){2});
    assert_memory_equal(out.data, ((int32_t[]){10, 7}), 2 * sizeof(int32_t));
    free(out.data);

    int64_t ls[3] = {0, 5, -1}; /* the wrong direction: empty */
    for (int k = 0; k < 3; k++)
        in[k] = tensor(INFERD_DT_INT64, &ls[k], 0);
    assert_int_equal(run_op(&c, in, 3, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){0});
    free(out.data);

    int64_t extremes[3] = {INT64_MIN + 1, INT64_MAX, (int64_t)1 << 62}; /* no overflow */
    for (int k = 0; k < 3; k++)
        in[k] = tensor(INFERD_DT_INT64, &extremes[k], 0);
    assert_int_equal(run_op(&c, in, 3, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){4});
    assert_int_equal(((int64_t *)out.data)[3], ((int64_t)1 << 62) + 1); /* -2^63 + 1 + 3 * 2^62 */
    free(out.data);

    ls[2] = 0;
    for (int k = 0; k < 3; k++)
        in[k] = tensor(INFERD_DT_INT64, &ls[k], 0);
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "delta is 0"));
    int64_t absurd[3] = {0, (int64_t)1 << 40, 1};
    for (int k = 0; k < 3; k++)
        in[k] = tensor(INFERD_DT_INT64, &absurd[k], 0);
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "too many"));
    float nan_limit[3] = {0, NAN, 1};
    for (int k = 0; k < 3; k++)
        in[k] = tensor(INFERD_DT_FP32, &nan_limit[k], 0);
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
    in[1] = tensor(INFERD_DT_INT64, &ls[1], 0);
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "differ in datatype"));
}

static void dropout_is_the_identity_with_a_full_mask(void **state)
{
    float x[3] = {1, -2, 3}, ratio = 0.5f, zero_ratio = 0.0f;
    uint8_t is_training = 1;
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, x, 1, (int64_t)3),
                             tensor(INFERD_DT_FP32, &ratio, 0),
                             tensor(INFERD_DT_BOOL, &is_training, 0)};
    inferd_tensor_t out[2];
    inferd_err_t err;
    op_case_t c = {.op_type = "Dropout", .opset = 13};
    assert_int_equal(run_op_n(&c, in, 2, out, 2, &err), 0);
    assert_floats(out[0].data, x, 3);
    assert_int_equal(out[1].dtype, INFERD_DT_BOOL);
    assert_memory_equal(out[1].data, ((uint8_t[]){1, 1, 1}), 3);
    free(out[0].data);
    free(out[1].data);

    op_case_t old = {.op_type = "Dropout", .opset = 9}; /* before 10 the mask has the data's type */
    add_float_attr(&old, "ratio", 0.3f);
    assert_int_equal(run_op_n(&old, in, 1, out, 2, &err), 0);
    assert_int_equal(out[1].dtype, INFERD_DT_FP32);
    assert_floats(out[1].data, (float[]){1, 1, 1}, 3);
    free(out[0].data);
    free(out[1].data);

    assert_int_equal(run_op_n(&c, in, 3, out, 1, &err), INFERD_EINVAL); /* training, ratio 0.5 */
    assert_non_null(strstr(err.msg, "training mode"));
    in[1] = tensor(INFERD_DT_FP32, &zero_ratio, 0); /* training with ratio 0 drops nothing */
    assert_int_equal(run_op_n(&c, in, 3, out, 1, &err), 0);
    assert_floats(out[0].data, x, 3);
    free(out[0].data);
}

static void reshape_allowzero_and_refusals(void **state)
{
    inferd_tensor_t out;
    inferd_err_t err;
    int64_t target[3] = {3, 4, 0};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x234, 3, (int64_t)0, (int64_t)3, (int64_t)4),
                             tensor(INFERD_DT_INT64, target, 1, (int64_t)3)};
    op_case_t allow_zero = {.op_type = "Reshape", .opset = 14};
    add_int_attr(&allow_zero, "allowzero", 1);
    assert_int_equal(run_op(&allow_zero, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){3, 4, 0}); /* 0 stays 0 */
    free(out.data);
    op_case_t copy_zero = {.op_type = "Reshape", .opset = 14};
    assert_int_equal(run_op(&copy_zero, in, 2, &out, &err), INFERD_EINVAL); /* 0 copies the 3 */

    in[0] = tensor(INFERD_DT_FP32, x234, 3, (int64_t)2, (int64_t)3, (int64_t)4);
    int32_t narrow[2] = {-1, 8};
    in[1] = tensor(INFERD_DT_INT32, narrow, 1, (int64_t)2);
    assert_int_equal(run_op(&copy_zero, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){3, 8});
    assert_floats(out.data, x234, 24);
    free(out.data);

    int64_t overflow[3] = {(int64_t)1 << 40, (int64_t)1 << 40, -1};
    in[1] = tensor(INFERD_DT_INT64, overflow, 1, (int64_t)3);
    assert_int_equal(run_op(&copy_zero, in, 2, &out, &err), INFERD_EINVAL);
    in[1] = (inferd_tensor_t){0}; /* the shape input left out */
    assert_int_equal(run_op(&copy_zero, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "required"));
}

static void flatten_scalar_and_negative_axis(void **state)
{
    inferd_tensor_t out;
    inferd_err_t err;
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x234, 0);
    op_case_t c = {.op_type = "Flatten"};
    add_int_attr(&c, "axis", 0);
    assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){1, 1});
    free(out.data);
    in = tensor(INFERD_DT_FP32, x234, 3, (int64_t)2, (int64_t)3, (int64_t)4);
    op_case_t negative = {.op_type = "Flatten"};
    add_int_attr(&negative, "axis", -1);
    assert_int_equal(run_op(&negative, &in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){6, 4});
    free(out.data);
    op_case_t too_far = {.op_type = "Flatten"};
    add_int_attr(&too_far, "axis", 4);
    assert_int_equal(run_op(&too_far, &in, 1, &out, &err), INFERD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shape_reports_a_clamped_range_of_dimensions),
        cmocka_unit_test(constant_of_shape_fills_with_the_value),
        cmocka_unit_test(range_counts_and_fills),
        cmocka_unit_test(dropout_is_the_identity_with_a_full_mask),
        cmocka_unit_test(reshape_allowzero_and_refusals),
        cmocka_unit_test(flatten_scalar_and_negative_axis),
    };
    return cmocka_run_group_tests(tests, setup_data, NULL);
}
