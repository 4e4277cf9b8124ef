/* Unit tests for the reduction family (src/backends/onnx/ops/reduce.c): every Reduce* op on
 * hand-worked values, axes as attribute and as input by opset, keepdims, noop_with_empty_axes,
 * integer exactness, reductions over empty sets, ArgMax/ArgMin tie rules, and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

/* x = [[1, 2, 3], [4, 5, 6]] */
static float x23[6] = {1, 2, 3, 4, 5, 6};

static void sum_and_mean_over_one_axis(void **state)
{
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x23, 2, (int64_t)2, (int64_t)3);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t mean = {.op_type = "ReduceMean", .opset = 13};
    add_ints_attr(&mean, "axes", (int64_t[]){1}, 1);
    assert_int_equal(run_op(&mean, &in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 1}); /* keepdims defaults to 1 */
    assert_floats(out.data, (float[]){2, 5}, 2);
    free(out.data);

    op_case_t columns = {.op_type = "ReduceMean", .opset = 11};
    add_ints_attr(&columns, "axes", (int64_t[]){-2}, 1);
    add_int_attr(&columns, "keepdims", 0);
    assert_int_equal(run_op(&columns, &in, 1, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){3});
    assert_floats(out.data, (float[]){2.5f, 3.5f, 4.5f}, 3);
    free(out.data);

    /* ReduceSum takes axes as an input from opset 13 */
    int64_t axes[1] = {0};
    inferd_tensor_t with_axes[2] = {in, tensor(INFERD_DT_INT64, axes, 1, (int64_t)1)};
    op_case_t sum = {.op_type = "ReduceSum", .opset = 13};
    add_int_attr(&sum, "keepdims", 0);
    assert_int_equal(run_op(&sum, with_axes, 2, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){3});
    assert_floats(out.data, (float[]){5, 7, 9}, 3);
    free(out.data);

    /* ...and from opset 18 so do the others */
    op_case_t max18 = {.op_type = "ReduceMax", .opset = 18};
    with_axes[1] = tensor(INFERD_DT_INT64, (int64_t[]){1}, 1, (int64_t)1);
    assert_int_equal(run_op(&max18, with_axes, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 1});
    assert_floats(out.data, (float[]){3, 6}, 2);
    free(out.data);
}

static void empty_axes_reduce_all_or_nothing(void **state)
{
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x23, 2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_INT64, NULL, 1, (int64_t)0)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t all = {.op_type = "ReduceSum", .opset = 13};
    assert_int_equal(run_op(&all, in, 1, &out, &err), 0); /* no axes input: every axis */
    assert_shape(&out, 2, (int64_t[]){1, 1});
    assert_floats(out.data, (float[]){21}, 1);
    free(out.data);
    assert_int_equal(run_op(&all, in, 2, &out, &err), 0); /* an empty axes input: the same */
    assert_floats(out.data, (float[]){21}, 1);
    free(out.data);

    op_case_t noop = {.op_type = "ReduceSum", .opset = 13};
    add_int_attr(&noop, "noop_with_empty_axes", 1);
    assert_int_equal(run_op(&noop, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 3});
    assert_floats(out.data, x23, 6);
    free(out.data);

    /* reducing over no axes still applies the per-element part: squares for SumSquare */
    op_case_t square = {.op_type = "ReduceSumSquare", .opset = 18};
    add_int_attr(&square, "noop_with_empty_axes", 1);
    assert_int_equal(run_op(&square, in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 4, 9, 16, 25, 36}, 6);
    free(out.data);

    op_case_t all_no_keep = {.op_type = "ReduceProd", .opset = 13};
    add_int_attr(&all_no_keep, "keepdims", 0);
    assert_int_equal(run_op(&all_no_keep, in, 1, &out, &err), 0);
    assert_int_equal(out.ndim, 0);
    assert_floats(out.data, (float[]){720}, 1);
    free(out.data);
}

static void every_reduction_on_rows(void **state)
{
    float x[6] = {-1, 2, -3, 0.5f, 0.25f, 2};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 2, (int64_t)2, (int64_t)3);
    inferd_tensor_t out;
    inferd_err_t err;
    struct {
        const char *op;
        float want[2];
    } cases[] = {
        {"ReduceSum", {-2, 2.75f}},
        {"ReduceMean", {-2.0f / 3, 2.75f / 3}},
        {"ReduceMax", {2, 2}},
        {"ReduceMin", {-3, 0.25f}},
        {"ReduceProd", {6, 0.25f}},
        {"ReduceL1", {6, 2.75f}},
        {"ReduceL2", {sqrtf(14), sqrtf(4.3125f)}},
        {"ReduceSumSquare", {14, 4.3125f}},
        {"ReduceLogSumExp",
         {logf(expf(-1) + expf(2) + expf(-3)), logf(expf(0.5f) + expf(0.25f) + expf(2))}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        op_case_t c = {.op_type = cases[i].op, .opset = 12}; /* ReduceSum's axes: an attribute */
        add_ints_attr(&c, "axes", (int64_t[]){1}, 1);
        add_int_attr(&c, "keepdims", 0);
        assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
        assert_shape(&out, 1, (int64_t[]){2});
        assert_floats(out.data, cases[i].want, 2);
        free(out.data);
    }
    op_case_t log_sum = {.op_type = "ReduceLogSum", .opset = 13};
    in = tensor(INFERD_DT_FP32, x23, 2, (int64_t)2, (int64_t)3);
    add_ints_attr(&log_sum, "axes", (int64_t[]){0}, 1);
    assert_int_equal(run_op(&log_sum, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){logf(5), logf(7), logf(9)}, 3);
    free(out.data);
}

static void middle_axes_and_fp64(void **state)
{
    /* [2, 3, 2]: reduce axes 0 and 2, keep the middle */
    double x[12];
    for (int i = 0; i < 12; i++)
        x[i] = i;
    inferd_tensor_t in = tensor(INFERD_DT_FP64, x, 3, (int64_t)2, (int64_t)3, (int64_t)2);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "ReduceSum", .opset = 11};
    add_ints_attr(&c, "axes", (int64_t[]){2, 0}, 2);
    assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_FP64);
    assert_shape(&out, 3, (int64_t[]){1, 3, 1});
    double *y = out.data; /* (0+1+6+7), (2+3+8+9), (4+5+10+11) */
    assert_true(y[0] == 14 && y[1] == 22 && y[2] == 30);
    free(out.data);

    /* log-sum-exp stays finite for large inputs */
    double big[2] = {1000, 1000};
    in = tensor(INFERD_DT_FP64, big, 1, (int64_t)2);
    op_case_t lse = {.op_type = "ReduceLogSumExp", .opset = 13};
    assert_int_equal(run_op(&lse, &in, 1, &out, &err), 0);
    assert_true(fabs(((double *)out.data)[0] - (1000 + log(2))) < 1e-9);
    free(out.data);
}

static void integers_reduce_exactly(void **state)
{
    int64_t big[3] = {((int64_t)1 << 60) + 1, 2, -3};
    inferd_tensor_t in = tensor(INFERD_DT_INT64, big, 1, (int64_t)3);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t sum = {.op_type = "ReduceSum", .opset = 11};
    assert_int_equal(run_op(&sum, &in, 1, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_INT64);
    assert_true(((int64_t *)out.data)[0] == ((int64_t)1 << 60)); /* beyond a double's 53 bits */
    free(out.data);

    int32_t v[6] = {7, -2, 5, 1, 1, -9};
    in = tensor(INFERD_DT_INT32, v, 2, (int64_t)2, (int64_t)3);
    struct {
        const char *op;
        int32_t want[2];
    } cases[] = {
        {"ReduceMax", {7, 1}},     {"ReduceMin", {-2, -9}}, {"ReduceMean", {3, -2}},
        {"ReduceProd", {-70, -9}}, {"ReduceL1", {14, 11}},  {"ReduceSumSquare", {78, 83}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        op_case_t c = {.op_type = cases[i].op, .opset = 13};
        add_ints_attr(&c, "axes", (int64_t[]){1}, 1);
        add_int_attr(&c, "keepdims", 0);
        assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
        assert_int_equal(out.dtype, INFERD_DT_INT32);
        int32_t *y = out.data;
        if (y[0] != cases[i].want[0] || y[1] != cases[i].want[1])
            fail_msg("%s: got %d %d", cases[i].op, y[0], y[1]);
        free(out.data);
    }
}

static void reductions_over_an_empty_set(void **state)
{
    /* [2, 0, 3] reduced over its empty axis: each op's identity, shape [2, 1, 3] */
    float none[1];
    inferd_tensor_t in = tensor(INFERD_DT_FP32, none, 3, (int64_t)2, (int64_t)0, (int64_t)3);
    inferd_tensor_t out;
    inferd_err_t err;
    struct {
        const char *op;
        float want;
    } cases[] = {
        {"ReduceSum", 0},
        {"ReduceProd", 1},
        {"ReduceMax", -INFINITY},
        {"ReduceMin", INFINITY},
        {"ReduceL1", 0},
        {"ReduceL2", 0},
        {"ReduceSumSquare", 0},
        {"ReduceLogSum", -INFINITY},
        {"ReduceLogSumExp", -INFINITY},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        op_case_t c = {.op_type = cases[i].op, .opset = 12};
        add_ints_attr(&c, "axes", (int64_t[]){1}, 1);
        assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
        assert_shape(&out, 3, (int64_t[]){2, 1, 3});
        for (int k = 0; k < 6; k++)
            if (((float *)out.data)[k] != cases[i].want)
                fail_msg("%s: element %d is %g", cases[i].op, k, ((float *)out.data)[k]);
        free(out.data);
    }
    op_case_t mean = {.op_type = "ReduceMean", .opset = 13};
    add_ints_attr(&mean, "axes", (int64_t[]){1}, 1);
    assert_int_equal(run_op(&mean, &in, 1, &out, &err), 0);
    assert_true(isnan(((float *)out.data)[0]));
    free(out.data);

    int32_t inone[1];
    in = tensor(INFERD_DT_INT32, inone, 2, (int64_t)2, (int64_t)0);
    op_case_t max = {.op_type = "ReduceMax", .opset = 13};
    add_ints_attr(&max, "axes", (int64_t[]){1}, 1);
    assert_int_equal(run_op(&max, &in, 1, &out, &err), 0);
    assert_int_equal(((int32_t *)out.data)[0], INT32_MIN);
    free(out.data);
    op_case_t int_mean = {.op_type = "ReduceMean", .opset = 13};
    add_ints_attr(&int_mean, "axes", (int64_t[]){1}, 1);
    assert_int_equal(run_op(&int_mean, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "empty set"));
}

static void nan_propagates_through_max(void **state)
{
    float x[3] = {1, NAN, 3};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 1, (int64_t)3);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "ReduceMax", .opset = 13};
    assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
    assert_true(isnan(((float *)out.data)[0]));
    free(out.data);
}

static void reductions_refuse_bad_axes(void **state)
{
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x23, 2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_INT64, (int64_t[]){0}, 1, (int64_t)1)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t range = {.op_type = "ReduceMean", .opset = 13};
    add_ints_attr(&range, "axes", (int64_t[]){2}, 1);
    assert_int_equal(run_op(&range, in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "out of range"));
    op_case_t twice = {.op_type = "ReduceMean", .opset = 13};
    add_ints_attr(&twice, "axes", (int64_t[]){1, -1}, 2);
    assert_int_equal(run_op(&twice, in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "twice"));
    op_case_t input_too_early = {.op_type = "ReduceMean", .opset = 13};
    assert_int_equal(run_op(&input_too_early, in, 2, &out, &err), INFERD_EMODEL);
    op_case_t attribute_too_late = {.op_type = "ReduceSum", .opset = 13};
    add_ints_attr(&attribute_too_late, "axes", (int64_t[]){0}, 1);
    assert_int_equal(run_op(&attribute_too_late, in, 1, &out, &err), INFERD_EMODEL);
    float f[1] = {1};
    in[1] = tensor(INFERD_DT_FP32, f, 1, (int64_t)1);
    op_case_t float_axes = {.op_type = "ReduceSum", .opset = 13};
    assert_int_equal(run_op(&float_axes, in, 2, &out, &err), INFERD_EINVAL);
    uint8_t flags[2] = {1, 0};
    in[0] = tensor(INFERD_DT_BOOL, flags, 1, (int64_t)2);
    op_case_t boolean = {.op_type = "ReduceMax", .opset = 13};
    assert_int_equal(run_op(&boolean, in, 1, &out, &err), INFERD_EINVAL);
}

static void argmax_argmin_ties_and_axes(void **state)
{
    float x[6] = {2, 5, 5, 1, 1, 0};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 2, (int64_t)2, (int64_t)3);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t argmax = {.op_type = "ArgMax", .opset = 13};
    add_int_attr(&argmax, "axis", 1);
    assert_int_equal(run_op(&argmax, &in, 1, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_INT64);
    assert_shape(&out, 2, (int64_t[]){2, 1});
    assert_int_equal(((int64_t *)out.data)[0], 1); /* the first of the tied fives */
    assert_int_equal(((int64_t *)out.data)[1], 0);
    free(out.data);

    op_case_t last = {.op_type = "ArgMax", .opset = 13};
    add_int_attr(&last, "axis", -1);
    add_int_attr(&last, "select_last_index", 1);
    add_int_attr(&last, "keepdims", 0);
    assert_int_equal(run_op(&last, &in, 1, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){2});
    assert_int_equal(((int64_t *)out.data)[0], 2);
    assert_int_equal(((int64_t *)out.data)[1], 1);
    free(out.data);

    op_case_t argmin = {.op_type = "ArgMin", .opset = 13}; /* axis 0 by default */
    assert_int_equal(run_op(&argmin, &in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){1, 3});
    assert_int_equal(((int64_t *)out.data)[0], 1);
    assert_int_equal(((int64_t *)out.data)[1], 1);
    assert_int_equal(((int64_t *)out.data)[2], 1);
    free(out.data);

    int64_t ints[3] = {INT64_MAX, INT64_MAX - 1, INT64_MIN};
    in = tensor(INFERD_DT_INT64, ints, 1, (int64_t)3);
    op_case_t exact = {.op_type = "ArgMin", .opset = 13};
    assert_int_equal(run_op(&exact, &in, 1, &out, &err), 0);
    assert_int_equal(((int64_t *)out.data)[0], 2);
    free(out.data);
    assert_int_equal(run_op(&argmax, &in, 1, &out, &err), INFERD_EINVAL); /* axis 1 of rank 1 */

    float with_nan[3] = {1, NAN, 7};
    in = tensor(INFERD_DT_FP32, with_nan, 1, (int64_t)3);
    op_case_t nan_max = {.op_type = "ArgMax", .opset = 13};
    assert_int_equal(run_op(&nan_max, &in, 1, &out, &err), 0);
    assert_int_equal(((int64_t *)out.data)[0], 1); /* NaN wins, as in numpy */
    free(out.data);

    float none[1];
    in = tensor(INFERD_DT_FP32, none, 2, (int64_t)2, (int64_t)0);
    assert_int_equal(run_op(&argmax, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "empty axis"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sum_and_mean_over_one_axis),
        cmocka_unit_test(empty_axes_reduce_all_or_nothing),
        cmocka_unit_test(every_reduction_on_rows),
        cmocka_unit_test(middle_axes_and_fp64),
        cmocka_unit_test(integers_reduce_exactly),
        cmocka_unit_test(reductions_over_an_empty_set),
        cmocka_unit_test(nan_propagates_through_max),
        cmocka_unit_test(reductions_refuse_bad_axes),
        cmocka_unit_test(argmax_argmin_ties_and_axes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
