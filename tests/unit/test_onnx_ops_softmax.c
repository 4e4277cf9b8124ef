/* Unit tests for Softmax, LogSoftmax and Hardmax (src/backends/onnx/ops/softmax.c): values
 * worked out by hand along the last and inner axes, the pre-13 coercion to 2-D, FP64, large
 * logits, and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

/* x = [[1, 2], [3, 5]] */
static float x22[4] = {1, 2, 3, 5};

static void log_softmax_along_each_axis(void **state)
{
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x22, 2, (int64_t)2, (int64_t)2);
    inferd_tensor_t out;
    inferd_err_t err;
    float l12 = logf(expf(1) + expf(2)), l35 = logf(expf(3) + expf(5));
    float l13 = logf(expf(1) + expf(3)), l25 = logf(expf(2) + expf(5));
    op_case_t rows = {.op_type = "LogSoftmax", .opset = 13};
    assert_int_equal(run_op(&rows, &in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 2});
    assert_floats(out.data, (float[]){1 - l12, 2 - l12, 3 - l35, 5 - l35}, 4);
    free(out.data);
    op_case_t columns = {.op_type = "LogSoftmax", .opset = 13};
    add_int_attr(&columns, "axis", 0);
    assert_int_equal(run_op(&columns, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){1 - l13, 2 - l25, 3 - l13, 5 - l25}, 4);
    free(out.data);
    /* opset 11, axis 0: the whole tensor is one row */
    op_case_t coerced = {.op_type = "LogSoftmax", .opset = 11};
    add_int_attr(&coerced, "axis", 0);
    assert_int_equal(run_op(&coerced, &in, 1, &out, &err), 0);
    float all = logf(expf(1) + expf(2) + expf(3) + expf(5));
    assert_floats(out.data, (float[]){1 - all, 2 - all, 3 - all, 5 - all}, 4);
    free(out.data);
}

static void softmax_inner_axis_of_rank_three(void **state)
{
    /* [2, 2, 2] normalised along the middle axis: pairs (x[i,0,k], x[i,1,k]) */
    float x[8] = {0, 1, 2, 3, 4, 6, 4, 6};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 3, (int64_t)2, (int64_t)2, (int64_t)2);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "Softmax", .opset = 13};
    add_int_attr(&c, "axis", 1);
    assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
    float a = 1 / (1 + expf(2)); /* softmax of (0, 2) at the first */
    assert_floats(out.data, (float[]){a, a, 1 - a, 1 - a, 0.5f, 0.5f, 0.5f, 0.5f}, 8);
    free(out.data);
    /* opset 11 with axis 1 flattens [2, 2*2]: rows (0,1,2,3) and (4,6,4,6) */
    op_case_t coerced = {.op_type = "Softmax", .opset = 11};
    assert_int_equal(run_op(&coerced, &in, 1, &out, &err), 0);
    float s0 = 1 + expf(1) + expf(2) + expf(3), s1 = 2 + 2 * expf(2);
    assert_floats(out.data,
                  (float[]){1 / s0, expf(1) / s0, expf(2) / s0, expf(3) / s0, 1 / s1, expf(2) / s1,
                            1 / s1, expf(2) / s1},
                  8);
    free(out.data);
}

static void softmax_fp64_and_large_logits(void **state)
{
    double x[3] = {1000, 1001, 1002};
    inferd_tensor_t in = tensor(INFERD_DT_FP64, x, 1, (int64_t)3);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "Softmax", .opset = 13};
    assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_FP64);
    double s = 1 + exp(1) + exp(2), *y = out.data;
    assert_true(fabs(y[0] - 1 / s) < 1e-12 && fabs(y[2] - exp(2) / s) < 1e-12);
    free(out.data);
    op_case_t log_softmax = {.op_type = "LogSoftmax", .opset = 13};
    assert_int_equal(run_op(&log_softmax, &in, 1, &out, &err), 0);
    y = out.data;
    assert_true(fabs(y[0] - (-log(s))) < 1e-9); /* finite, not -inf */
    free(out.data);
}

static void hardmax_marks_the_first_maximum(void **state)
{
    float x[6] = {1, 3, 3, 7, 2, 7};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 2, (int64_t)2, (int64_t)3);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t rows = {.op_type = "Hardmax", .opset = 13};
    assert_int_equal(run_op(&rows, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){0, 1, 0, 1, 0, 0}, 6);
    free(out.data);
    op_case_t columns = {.op_type = "Hardmax", .opset = 13};
    add_int_attr(&columns, "axis", 0);
    assert_int_equal(run_op(&columns, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){0, 1, 0, 1, 0, 1}, 6);
    free(out.data);
    op_case_t coerced = {.op_type = "Hardmax", .opset = 11};
    add_int_attr(&coerced, "axis", 0); /* one row of six: the first 7 */
    assert_int_equal(run_op(&coerced, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){0, 0, 0, 1, 0, 0}, 6);
    free(out.data);
}

static void softmax_family_refuses_bad_input(void **state)
{
    int32_t ints[2] = {1, 2};
    inferd_tensor_t in = tensor(INFERD_DT_INT32, ints, 1, (int64_t)2);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "LogSoftmax", .opset = 13};
    assert_int_equal(run_op(&c, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "INT32"));
    in = tensor(INFERD_DT_FP32, x22, 2, (int64_t)2, (int64_t)2);
    op_case_t axis = {.op_type = "Hardmax", .opset = 13};
    add_int_attr(&axis, "axis", 2);
    assert_int_equal(run_op(&axis, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "out of range"));
    float scalar = 1;
    in = tensor(INFERD_DT_FP32, &scalar, 0);
    op_case_t s = {.op_type = "Softmax", .opset = 13};
    assert_int_equal(run_op(&s, &in, 1, &out, &err), INFERD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_softmax_along_each_axis),
        cmocka_unit_test(softmax_inner_axis_of_rank_three),
        cmocka_unit_test(softmax_fp64_and_large_logits),
        cmocka_unit_test(hardmax_marks_the_first_maximum),
        cmocka_unit_test(softmax_family_refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
