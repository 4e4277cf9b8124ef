/* Unit tests for the pooling family (MaxPool with Indices, AveragePool, GlobalMaxPool,
 * GlobalAveragePool): windows, pads, ceil mode, dilations and datatypes worked out by hand, and
 * refusals of inconsistent shapes and attributes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

#define I(v) ((int64_t)(v))

static void max_pool_values_and_indices(void **state)
{
    /* channel 1 is channel 0 + 100: same maxima, indices 9 further */
    float x[18] = {1, 9, 2, 4, 3, 8, 7, 5, 6};
    for (int i = 0; i < 9; i++)
        x[9 + i] = x[i] + 100;
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 4, I(1), I(2), I(3), I(3));
    inferd_tensor_t out[2];
    inferd_err_t err;
    op_case_t c = {.op_type = "MaxPool"};
    add_ints_attr(&c, "kernel_shape", (int64_t[]){2, 2}, 2);
    assert_int_equal(run_op_n(&c, &in, 1, out, 2, &err), 0);
    assert_shape(&out[0], 4, (int64_t[]){1, 2, 2, 2});
    assert_shape(&out[1], 4, (int64_t[]){1, 2, 2, 2});
    assert_int_equal(out[1].dtype, INFERD_DT_INT64);
    assert_floats(out[0].data, (float[]){9, 9, 7, 8, 109, 109, 107, 108}, 8);
    int64_t *indices = out[1].data;
    int64_t row_major[8] = {1, 1, 6, 5, 10, 10, 15, 14};
    assert_memory_equal(indices, row_major, sizeof(row_major));
    free(out[0].data);
    free(out[1].data);
    /* storage_order 1 numbers spatial positions column by column: (h, w) -> w * 3 + h */
    op_case_t columns = {.op_type = "MaxPool"};
    add_ints_attr(&columns, "kernel_shape", (int64_t[]){2, 2}, 2);
    add_int_attr(&columns, "storage_order", 1);
    assert_int_equal(run_op_n(&columns, &in, 1, out, 2, &err), 0);
    int64_t column_major[8] = {3, 3, 2, 7, 12, 12, 11, 16};
    assert_memory_equal(out[1].data, column_major, sizeof(column_major));
    free(out[0].data);
    free(out[1].data);
}

static void ceil_mode_and_right_padding(void **state)
{
    float x[5] = {1, 2, 3, 4, 5};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 3, I(1), I(1), I(5));
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t max = {.op_type = "MaxPool"}, avg = {.op_type = "AveragePool"};
    add_ints_attr(&max, "kernel_shape", (int64_t[]){2}, 1);
    add_ints_attr(&max, "strides", (int64_t[]){2}, 1);
    add_int_attr(&max, "ceil_mode", 1);
    add_ints_attr(&avg, "kernel_shape", (int64_t[]){2}, 1);
    add_ints_attr(&avg, "strides", (int64_t[]){2}, 1);
    add_int_attr(&avg, "ceil_mode", 1);
    assert_int_equal(run_op(&max, &in, 1, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 1, 3}); /* the last window holds 5 alone */
    assert_floats(out.data, (float[]){2, 4, 5}, 3);
    free(out.data);
    assert_int_equal(run_op(&avg, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){1.5f, 3.5f, 5}, 3);
    free(out.data);
    /* length 4 padded by 1 at the end: a third window would start in that padding */
    in.shape[2] = 4;
    add_ints_attr(&max, "pads", (int64_t[]){0, 1}, 2);
    assert_int_equal(run_op(&max, &in, 1, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 1, 2});
    assert_floats(out.data, (float[]){2, 4}, 2);
    free(out.data);
}

static void average_pool_padding_counts(void **state)
{
    float x[3] = {3, 6, 9};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 3, I(1), I(1), I(3));
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t excluded = {.op_type = "AveragePool"}, included = {.op_type = "AveragePool"};
    add_ints_attr(&excluded, "kernel_shape", (int64_t[]){3}, 1);
    add_ints_attr(&excluded, "pads", (int64_t[]){1, 1}, 2);
    add_ints_attr(&included, "kernel_shape", (int64_t[]){3}, 1);
    add_ints_attr(&included, "pads", (int64_t[]){1, 1}, 2);
    add_int_attr(&included, "count_include_pad", 1);
    assert_int_equal(run_op(&excluded, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){4.5f, 6, 7.5f}, 3);
    free(out.data);
    assert_int_equal(run_op(&included, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){3, 6, 5}, 3);
    free(out.data);
    /* a kernel of 2 needs one pad: SAME_LOWER puts it before, SAME_UPPER after */
    op_case_t lower = {.op_type = "AveragePool"}, upper = {.op_type = "AveragePool"};
    add_ints_attr(&lower, "kernel_shape", (int64_t[]){2}, 1);
    add_string_attr(&lower, "auto_pad", "SAME_LOWER");
    add_ints_attr(&upper, "kernel_shape", (int64_t[]){2}, 1);
    add_string_attr(&upper, "auto_pad", "SAME_UPPER");
    assert_int_equal(run_op(&lower, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){3, 4.5f, 7.5f}, 3);
    free(out.data);
    assert_int_equal(run_op(&upper, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){4.5f, 7.5f, 9}, 3);
    free(out.data);
}

static void dilations_3d_and_other_datatypes(void **state)
{
    float line[5] = {1, 5, 2, 4, 3};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, line, 3, I(1), I(1), I(5));
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t dilated = {.op_type = "MaxPool"};
    add_ints_attr(&dilated, "kernel_shape", (int64_t[]){2}, 1);
    add_ints_attr(&dilated, "dilations", (int64_t[]){2}, 1);
    assert_int_equal(run_op(&dilated, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){2, 5, 3}, 3);
    free(out.data);

    float cube[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    in = tensor(INFERD_DT_FP32, cube, 5, I(1), I(1), I(2), I(2), I(2));
    op_case_t volume = {.op_type = "AveragePool"};
    add_ints_attr(&volume, "kernel_shape", (int64_t[]){2, 2, 2}, 3);
    assert_int_equal(run_op(&volume, &in, 1, &out, &err), 0);
    assert_shape(&out, 5, (int64_t[]){1, 1, 1, 1, 1});
    assert_floats(out.data, (float[]){4.5f}, 1);
    free(out.data);

    uint8_t bytes[4] = {200, 7, 255, 3};
    in = tensor(INFERD_DT_UINT8, bytes, 3, I(1), I(1), I(4));
    op_case_t pairs = {.op_type = "MaxPool"};
    add_ints_attr(&pairs, "kernel_shape", (int64_t[]){2}, 1);
    add_ints_attr(&pairs, "strides", (int64_t[]){2}, 1);
    assert_int_equal(run_op(&pairs, &in, 1, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_UINT8);
    assert_memory_equal(out.data, ((uint8_t[]){200, 255}), 2);
    free(out.data);
    double doubles[4] = {1e-12, 3e-12, 1, 2};
    in = tensor(INFERD_DT_FP64, doubles, 3, I(1), I(1), I(4));
    op_case_t mean = {.op_type = "AveragePool"};
    add_ints_attr(&mean, "kernel_shape", (int64_t[]){2}, 1);
    add_ints_attr(&mean, "strides", (int64_t[]){2}, 1);
    assert_int_equal(run_op(&mean, &in, 1, &out, &err), 0);
    assert_true(fabs(((double *)out.data)[0] - 2e-12) < 1e-24);
    assert_true(((double *)out.data)[1] == 1.5);
    free(out.data);
}

static void global_pools(void **state)
{
    float x[8] = {1, 2, 3, 4, -10, -20, -30, -40};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 4, I(1), I(2), I(2), I(2));
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t avg = {.op_type = "GlobalAveragePool"}, max = {.op_type = "GlobalMaxPool"};
    assert_int_equal(run_op(&avg, &in, 1, &out, &err), 0);
    assert_shape(&out, 4, (int64_t[]){1, 2, 1, 1});
    assert_floats(out.data, (float[]){2.5f, -25}, 2);
    free(out.data);
    assert_int_equal(run_op(&max, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){4, -10}, 2);
    free(out.data);
    double d[3] = {1, 2, 6};
    in = tensor(INFERD_DT_FP64, d, 3, I(1), I(1), I(3));
    assert_int_equal(run_op(&avg, &in, 1, &out, &err), 0);
    assert_true(((double *)out.data)[0] == 3.0);
    free(out.data);
    in = tensor(INFERD_DT_FP32, x, 2, I(2), I(4));
    assert_int_equal(run_op(&max, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "rank 3"));
}

static void pools_refuse_bad_shapes_and_attributes(void **state)
{
    float x[9] = {0};
    int32_t ints[9] = {0};
    int8_t bytes[9] = {0};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 4, I(1), I(1), I(3), I(3));
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t no_kernel = {.op_type = "MaxPool"};
    assert_int_equal(run_op(&no_kernel, &in, 1, &out, &err), INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "kernel_shape"));
    op_case_t one_d = {.op_type = "MaxPool"}; /* a 1-D kernel on a 2-D input */
    add_ints_attr(&one_d, "kernel_shape", (int64_t[]){2}, 1);
    assert_int_equal(run_op(&one_d, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "rank"));
    op_case_t all_padding = {.op_type = "MaxPool"};
    add_ints_attr(&all_padding, "kernel_shape", (int64_t[]){2, 2}, 2);
    add_ints_attr(&all_padding, "pads", (int64_t[]){2, 0, 0, 0}, 4);
    assert_int_equal(run_op(&all_padding, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "entirely in the padding"));
    op_case_t too_big = {.op_type = "AveragePool"};
    add_ints_attr(&too_big, "kernel_shape", (int64_t[]){4, 4}, 2);
    assert_int_equal(run_op(&too_big, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "does not fit"));
    op_case_t avg = {.op_type = "AveragePool"}, max = {.op_type = "MaxPool"};
    add_ints_attr(&avg, "kernel_shape", (int64_t[]){2, 2}, 2);
    add_ints_attr(&max, "kernel_shape", (int64_t[]){2, 2}, 2);
    in = tensor(INFERD_DT_INT32, ints, 4, I(1), I(1), I(3), I(3));
    assert_int_equal(run_op(&max, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "INT32"));
    in = tensor(INFERD_DT_INT8, bytes, 4, I(1), I(1), I(3), I(3));
    assert_int_equal(run_op(&avg, &in, 1, &out, &err), INFERD_EINVAL); /* MaxPool only */
    op_case_t order = {.op_type = "MaxPool"};
    add_ints_attr(&order, "kernel_shape", (int64_t[]){2, 2}, 2);
    add_int_attr(&order, "storage_order", 2);
    assert_int_equal(run_op(&order, &in, 1, &out, &err), INFERD_EMODEL);
    op_case_t four_d = {.op_type = "MaxPool"};
    add_ints_attr(&four_d, "kernel_shape", (int64_t[]){1, 1, 1, 1}, 4);
    assert_int_equal(run_op(&four_d, &in, 1, &out, &err), INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "at most 3"));
}

/* MaxPool 2x2 stride 2 (the CNN case with its own fast path): every 2x2 block's maximum, the odd
 * last row and column dropped. */
static void max_pool_2x2_stride_2(void **state)
{
    float x[2 * 5 * 5];
    for (int i = 0; i < 50; i++)
        x[i] = (float)((i * 37) % 50) - 25.0f;
    inferd_tensor_t in[1] = {
        tensor(INFERD_DT_FP32, x, 4, (int64_t)1, (int64_t)2, (int64_t)5, (int64_t)5)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "MaxPool"};
    int64_t kernel[2] = {2, 2}, strides[2] = {2, 2};
    add_ints_attr(&c, "kernel_shape", kernel, 2);
    add_ints_attr(&c, "strides", strides, 2);
    assert_int_equal(run_op(&c, in, 1, &out, &err), 0);
    assert_shape(&out, 4, (int64_t[]){1, 2, 2, 2});
    const float *y = out.data;
    for (int plane = 0; plane < 2; plane++)
        for (int oh = 0; oh < 2; oh++)
            for (int ow = 0; ow < 2; ow++) {
                const float *p = x + plane * 25 + (2 * oh) * 5 + 2 * ow;
                float want = fmaxf(fmaxf(p[0], p[1]), fmaxf(p[5], p[6]));
                assert_true(y[(plane * 2 + oh) * 2 + ow] == want);
            }
    free(out.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(max_pool_2x2_stride_2),
        cmocka_unit_test(max_pool_values_and_indices),
        cmocka_unit_test(ceil_mode_and_right_padding),
        cmocka_unit_test(average_pool_padding_counts),
        cmocka_unit_test(dilations_3d_and_other_datatypes),
        cmocka_unit_test(global_pools),
        cmocka_unit_test(pools_refuse_bad_shapes_and_attributes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
