/* Unit tests for the transform family (src/backends/onnx/ops/transform.c, transform_slice.c):
 * Transpose, Squeeze/Unsqueeze by opset, Concat, Split, Slice with negative steps and clamping,
 * Expand, Tile, Pad in its three modes, DepthToSpace/SpaceToDepth, Trilu, over several datatypes,
 * with values worked out by hand, and the refusals of malformed axes, sizes and pads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

static const inferd_tensor_t omitted = {0};

static void free_outputs(inferd_tensor_t *out, int n)
{
    for (int k = 0; k < n; k++)
        free(out[k].data);
}

static void transpose_permutes_any_datatype(void **state)
{
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)i;
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 3, (int64_t)2, (int64_t)2, (int64_t)3);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "Transpose"};
    add_ints_attr(&c, "perm", (int64_t[]){2, 0, 1}, 3); /* out[k][i][j] = x[i][j][k] */
    assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){3, 2, 2});
    assert_floats(out.data, (float[]){0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11}, 12);
    free(out.data);

    int16_t small[6] = {1, 2, 3, 4, 5, 6};
    in = tensor(INFERD_DT_INT16, small, 2, (int64_t)2, (int64_t)3);
    op_case_t reverse = {.op_type = "Transpose"};
    assert_int_equal(run_op(&reverse, &in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){3, 2});
    assert_memory_equal(out.data, ((int16_t[]){1, 4, 2, 5, 3, 6}), sizeof(small));
    free(out.data);

    /* rank 8: reversing [2,1,1,1,1,1,1,2] swaps the two outer indices */
    in = tensor(INFERD_DT_FP32, x, 8, (int64_t)2, (int64_t)1, (int64_t)1, (int64_t)1, (int64_t)1,
                (int64_t)1, (int64_t)1, (int64_t)2);
    assert_int_equal(run_op(&reverse, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){0, 2, 1, 3}, 4);
    free(out.data);

    op_case_t repeated = {.op_type = "Transpose"};
    add_ints_attr(&repeated, "perm", (int64_t[]){0, 0, 1, 2, 3, 4, 5, 6}, 8);
    assert_int_equal(run_op(&repeated, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "not a permutation"));
    assert_int_equal(run_op(&c, &in, 1, &out, &err), INFERD_EINVAL); /* 3 values for rank 8 */
}

static void squeeze_and_unsqueeze_take_axes_by_opset(void **state)
{
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t axes[2] = {0, -2};
    inferd_tensor_t in[2] = {
        tensor(INFERD_DT_FP32, x, 4, (int64_t)1, (int64_t)3, (int64_t)1, (int64_t)2),
        tensor(INFERD_DT_INT64, axes, 1, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t attribute = {.op_type = "Squeeze", .opset = 11};
    add_ints_attr(&attribute, "axes", axes, 2);
    assert_int_equal(run_op(&attribute, in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){3, 2});
    assert_floats(out.data, x, 6);
    free(out.data);
    op_case_t input = {.op_type = "Squeeze", .opset = 13};
    assert_int_equal(run_op(&input, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){3, 2});
    free(out.data);
    assert_int_equal(run_op(&input, in, 1, &out, &err), 0); /* no axes: every 1 goes */
    assert_shape(&out, 2, (int64_t[]){3, 2});
    free(out.data);
    axes[1] = 1; /* a dimension of 3 */
    assert_int_equal(run_op(&input, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "cannot squeeze"));

    int64_t where[2] = {0, -1};
    in[0] = tensor(INFERD_DT_FP32, x, 1, (int64_t)3);
    in[1] = tensor(INFERD_DT_INT64, where, 1, (int64_t)2);
    op_case_t unsqueeze = {.op_type = "Unsqueeze", .opset = 13};
    assert_int_equal(run_op(&unsqueeze, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 3, 1}); /* -1 counts in the output's rank */
    assert_floats(out.data, x, 3);
    free(out.data);
    where[1] = 2; /* 0 and 2 of rank 3 */
    assert_int_equal(run_op(&unsqueeze, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 3, 1});
    free(out.data);
    where[1] = 0;
    assert_int_equal(run_op(&unsqueeze, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "repeated"));
    assert_int_equal(run_op(&unsqueeze, in, 1, &out, &err), INFERD_EINVAL); /* no axes */
    int64_t many[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    in[1] = tensor(INFERD_DT_INT64, many, 1, (int64_t)8);
    assert_int_equal(run_op(&unsqueeze, in, 2, &out, &err), INFERD_EINVAL); /* rank 9 */
    op_case_t old = {.op_type = "Unsqueeze", .opset = 11};
    add_ints_attr(&old, "axes", (int64_t[]){1}, 1);
    assert_int_equal(run_op(&old, in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){3, 1});
    free(out.data);
}

static void concat_joins_along_an_axis(void **state)
{
    int64_t a[2] = {1, 2}, b[4] = {3, 4, 5, 6}, c[1] = {0};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_INT64, a, 2, (int64_t)2, (int64_t)1),
                             tensor(INFERD_DT_INT64, b, 2, (int64_t)2, (int64_t)2),
                             tensor(INFERD_DT_INT64, c, 2, (int64_t)2, (int64_t)0)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t concat = {.op_type = "Concat"};
    add_int_attr(&concat, "axis", -1);
    assert_int_equal(run_op(&concat, in, 3, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 3});
    assert_memory_equal(out.data, ((int64_t[]){1, 3, 4, 2, 5, 6}), 6 * sizeof(int64_t));
    free(out.data);
    op_case_t rows = {.op_type = "Concat"};
    add_int_attr(&rows, "axis", 0);
    assert_int_equal(run_op(&rows, in, 2, &out, &err), INFERD_EINVAL); /* 1 and 2 columns */
    assert_non_null(strstr(err.msg, "does not concatenate"));
    int32_t narrow[2] = {0};
    in[1] = tensor(INFERD_DT_INT32, narrow, 2, (int64_t)2, (int64_t)1);
    assert_int_equal(run_op(&concat, in, 2, &out, &err), INFERD_EINVAL);
    in[1] = omitted;
    assert_int_equal(run_op(&concat, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "required"));
}

static void split_by_attribute_input_and_equal_parts(void **state)
{
    float x[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    int64_t sizes[2] = {1, 4};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x, 2, (int64_t)2, (int64_t)5),
                             tensor(INFERD_DT_INT64, sizes, 1, (int64_t)2)};
    inferd_tensor_t out[2];
    inferd_err_t err;
    op_case_t attribute = {.op_type = "Split", .opset = 11};
    add_int_attr(&attribute, "axis", 1);
    add_ints_attr(&attribute, "split", (int64_t[]){2, 3}, 2);
    assert_int_equal(run_op_n(&attribute, in, 1, out, 2, &err), 0);
    assert_shape(&out[0], 2, (int64_t[]){2, 2});
    assert_floats(out[0].data, (float[]){0, 1, 5, 6}, 4);
    assert_floats(out[1].data, (float[]){2, 3, 4, 7, 8, 9}, 6);
    free_outputs(out, 2);

    op_case_t input = {.op_type = "Split", .opset = 13};
    add_int_attr(&input, "axis", -1);
    assert_int_equal(run_op_n(&input, in, 2, out, 2, &err), 0);
    assert_floats(out[0].data, (float[]){0, 5}, 2);
    assert_floats(out[1].data, (float[]){1, 2, 3, 4, 6, 7, 8, 9}, 8);
    free_outputs(out, 2);

    op_case_t rows = {.op_type = "Split", .opset = 13}; /* equal parts along axis 0 */
    assert_int_equal(run_op_n(&rows, in, 1, out, 2, &err), 0);
    assert_floats(out[1].data, (float[]){5, 6, 7, 8, 9}, 5);
    free_outputs(out, 2);

    assert_int_equal(run_op_n(&input, in, 1, out, 2, &err), INFERD_EINVAL); /* 5 in 2 parts */
    assert_non_null(strstr(err.msg, "equal parts"));
    op_case_t ceil_parts = {.op_type = "Split", .opset = 18};
    add_int_attr(&ceil_parts, "axis", 1);
    add_int_attr(&ceil_parts, "num_outputs", 2);
    assert_int_equal(run_op_n(&ceil_parts, in, 1, out, 2, &err), 0);
    assert_shape(&out[0], 2, (int64_t[]){2, 3});
    assert_shape(&out[1], 2, (int64_t[]){2, 2});
    assert_floats(out[1].data, (float[]){3, 4, 8, 9}, 4);
    free_outputs(out, 2);

    sizes[1] = 3; /* 1 + 3 != 5 */
    assert_int_equal(run_op_n(&input, in, 2, out, 2, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "add up"));
    sizes[0] = -1;
    sizes[1] = 6;
    assert_int_equal(run_op_n(&input, in, 2, out, 2, &err), INFERD_EINVAL);
    op_case_t mismatch = {.op_type = "Split", .opset = 11};
    add_ints_attr(&mismatch, "split", (int64_t[]){5}, 1);
    assert_int_equal(run_op_n(&mismatch, in, 1, out, 2, &err), INFERD_EMODEL);
}

static void slice_steps_clamps_and_opsets(void **state)
{
    float x[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    int64_t starts[1] = {8}, ends[1] = {1}, axes[1] = {0}, steps[1] = {-3};
    inferd_tensor_t in[5] = {
        tensor(INFERD_DT_FP32, x, 1, (int64_t)10), tensor(INFERD_DT_INT64, starts, 1, (int64_t)1),
        tensor(INFERD_DT_INT64, ends, 1, (int64_t)1), tensor(INFERD_DT_INT64, axes, 1, (int64_t)1),
        tensor(INFERD_DT_INT64, steps, 1, (int64_t)1)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "Slice", .opset = 13};
    assert_int_equal(run_op(&c, in, 5, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){3});
    assert_floats(out.data, (float[]){8, 5, 2}, 3);
    free(out.data);

    starts[0] = INT64_MAX; /* clamped to 9 */
    ends[0] = INT64_MIN;   /* clamped to -1: through element 0 */
    steps[0] = INT64_MIN;  /* one element, no overflow */
    assert_int_equal(run_op(&c, in, 5, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){1});
    assert_floats(out.data, (float[]){9}, 1);
    free(out.data);

    int32_t starts32[1] = {-100}, ends32[1] = {100}, steps32[1] = {4};
    in[1] = tensor(INFERD_DT_INT32, starts32, 1, (int64_t)1);
    in[2] = tensor(INFERD_DT_INT32, ends32, 1, (int64_t)1);
    in[3] = omitted; /* axes left out, steps given */
    in[4] = tensor(INFERD_DT_INT32, steps32, 1, (int64_t)1);
    assert_int_equal(run_op(&c, in, 5, &out, &err), 0);
    assert_floats(out.data, (float[]){0, 4, 8}, 3);
    free(out.data);

    in[0] = tensor(INFERD_DT_FP32, x, 2, (int64_t)2, (int64_t)5); /* columns 1, 3 of both rows */
    int64_t from[1] = {1}, to[1] = {-1}, last[1] = {-1}, two[1] = {2};
    in[1] = tensor(INFERD_DT_INT64, from, 1, (int64_t)1);
    in[2] = tensor(INFERD_DT_INT64, to, 1, (int64_t)1);
    in[3] = tensor(INFERD_DT_INT64, last, 1, (int64_t)1);
    in[4] = tensor(INFERD_DT_INT64, two, 1, (int64_t)1);
    assert_int_equal(run_op(&c, in, 5, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 2});
    assert_floats(out.data, (float[]){1, 3, 6, 8}, 4);
    free(out.data);

    op_case_t old = {.op_type = "Slice", .opset = 9};
    add_ints_attr(&old, "starts", (int64_t[]){1, 0}, 2);
    add_ints_attr(&old, "ends", (int64_t[]){1000, -3}, 2);
    assert_int_equal(run_op(&old, in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){1, 2});
    assert_floats(out.data, (float[]){5, 6}, 2);
    free(out.data);

    two[0] = 0;
    assert_int_equal(run_op(&c, in, 5, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "step 0"));
    two[0] = 1;
    last[0] = 2;
    assert_int_equal(run_op(&c, in, 5, &out, &err), INFERD_EINVAL); /* axis 2 of rank 2 */
    int64_t pair[2] = {0, 0};
    in[3] = tensor(INFERD_DT_INT64, pair, 1, (int64_t)2);
    assert_int_equal(run_op(&c, in, 5, &out, &err), INFERD_EINVAL); /* lengths differ */
    op_case_t no_ends = {.op_type = "Slice", .opset = 13};
    assert_int_equal(run_op(&no_ends, in, 2, &out, &err), INFERD_EMODEL);
}

static void expand_and_tile_repeat_data(void **state)
{
    uint8_t column[3] = {1, 2, 3};
    int64_t shape[3] = {2, 1, 2};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_UINT8, column, 2, (int64_t)3, (int64_t)1),
                             tensor(INFERD_DT_INT64, shape, 1, (int64_t)3)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t expand = {.op_type = "Expand"};
    assert_int_equal(run_op(&expand, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){2, 3, 2}); /* the 1 in shape keeps the input's 3 */
    assert_memory_equal(out.data, ((uint8_t[]){1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}), 12);
    free(out.data);
    int64_t wrong[2] = {2, 1}; /* 3 rows against 2 */
    in[1] = tensor(INFERD_DT_INT64, wrong, 1, (int64_t)2);
    assert_int_equal(run_op(&expand, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "does not broadcast"));
    int64_t huge[3] = {(int64_t)1 << 30, 3, (int64_t)1 << 10}; /* 3 TiB from 24 bytes */
    in[1] = tensor(INFERD_DT_INT64, huge, 1, (int64_t)3);
    assert_int_equal(run_op(&expand, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "bytes"));

    int8_t square[4] = {1, 2, 3, 4};
    int64_t repeats[2] = {2, 2};
    in[0] = tensor(INFERD_DT_INT8, square, 2, (int64_t)2, (int64_t)2);
    in[1] = tensor(INFERD_DT_INT64, repeats, 1, (int64_t)2);
    op_case_t tile = {.op_type = "Tile"};
    assert_int_equal(run_op(&tile, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){4, 4});
    assert_memory_equal(out.data, ((int8_t[]){1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4}), 16);
    free(out.data);
    repeats[0] = 0;
    assert_int_equal(run_op(&tile, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){0, 4});
    free(out.data);
    repeats[0] = -1;
    assert_int_equal(run_op(&tile, in, 2, &out, &err), INFERD_EINVAL);
    in[1].shape[0] = 1;
    assert_int_equal(run_op(&tile, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "rank"));
}

static void pad_constant_reflect_edge_and_crop(void **state)
{
    float x[3] = {1, 2, 3};
    int64_t pads[2] = {2, 1};
    float nine = 9;
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, x, 1, (int64_t)3),
                             tensor(INFERD_DT_INT64, pads, 1, (int64_t)2),
                             tensor(INFERD_DT_FP32, &nine, 0)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t constant = {.op_type = "Pad", .opset = 13};
    assert_int_equal(run_op(&constant, in, 3, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){6});
    assert_floats(out.data, (float[]){9, 9, 1, 2, 3, 9}, 6);
    free(out.data);
    pads[0] = -1; /* crop one in front, pad with 0 (no constant given) behind */
    assert_int_equal(run_op(&constant, in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){2, 3, 0}, 3);
    free(out.data);

    op_case_t reflect = {.op_type = "Pad", .opset = 13};
    add_string_attr(&reflect, "mode", "reflect");
    pads[0] = 2;
    pads[1] = 2;
    assert_int_equal(run_op(&reflect, in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){3, 2, 1, 2, 3, 2, 1}, 7);
    free(out.data);
    op_case_t edge = {.op_type = "Pad", .opset = 13};
    add_string_attr(&edge, "mode", "edge");
    pads[0] = 1;
    assert_int_equal(run_op(&edge, in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 1, 2, 3, 3, 3}, 6);
    free(out.data);

    /* 2-D reflect: rows read 1,0,1,0 and columns 1,0,1,2,1 */
    float grid[6] = {1, 2, 3, 4, 5, 6};
    int64_t pads2[4] = {1, 1, 1, 1};
    in[0] = tensor(INFERD_DT_FP32, grid, 2, (int64_t)2, (int64_t)3);
    in[1] = tensor(INFERD_DT_INT64, pads2, 1, (int64_t)4);
    assert_int_equal(run_op(&reflect, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){4, 5});
    assert_floats(out.data, (float[]){5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2},
                  20);
    free(out.data);

    int32_t ints[2] = {7, 8};
    in[0] = tensor(INFERD_DT_INT32, ints, 1, (int64_t)2);
    op_case_t old = {.op_type = "Pad", .opset = 10};
    add_ints_attr(&old, "pads", (int64_t[]){1, 0}, 2);
    add_float_attr(&old, "value", 2.0f);
    assert_int_equal(run_op(&old, in, 1, &out, &err), 0);
    assert_memory_equal(out.data, ((int32_t[]){2, 7, 8}), 3 * sizeof(int32_t));
    free(out.data);

    pads[0] = -3; /* crops past the 2 elements */
    pads[1] = 0;
    in[1] = tensor(INFERD_DT_INT64, pads, 1, (int64_t)2);
    assert_int_equal(run_op(&constant, in, 2, &out, &err), INFERD_EINVAL);
    in[1].shape[0] = 1;
    assert_int_equal(run_op(&constant, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "pads has 1 values"));
    in[0] = tensor(INFERD_DT_INT32, ints, 1, (int64_t)0);
    in[1].shape[0] = 2;
    pads[0] = 1;
    assert_int_equal(run_op(&edge, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "empty dimension"));
    op_case_t unknown = {.op_type = "Pad", .opset = 13};
    add_string_attr(&unknown, "mode", "wrap-around");
    assert_int_equal(run_op(&unknown, in, 2, &out, &err), INFERD_EMODEL);
}

static void depth_to_space_and_back(void **state)
{
    float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    inferd_tensor_t in =
        tensor(INFERD_DT_FP32, x, 4, (int64_t)1, (int64_t)8, (int64_t)1, (int64_t)1);
    inferd_tensor_t out, back;
    inferd_err_t err;
    op_case_t dcr = {.op_type = "DepthToSpace"};
    add_int_attr(&dcr, "blocksize", 2);
    assert_int_equal(run_op(&dcr, &in, 1, &out, &err), 0);
    assert_shape(&out, 4, (int64_t[]){1, 2, 2, 2});
    /* DCR: output channel c, block (i, j) reads input channel (i * 2 + j) * 2 + c */
    assert_floats(out.data, (float[]){0, 2, 4, 6, 1, 3, 5, 7}, 8);
    op_case_t s2d = {.op_type = "SpaceToDepth"};
    add_int_attr(&s2d, "blocksize", 2);
    assert_int_equal(run_op(&s2d, &out, 1, &back, &err), 0);
    assert_shape(&back, 4, (int64_t[]){1, 8, 1, 1});
    assert_floats(back.data, x, 8); /* SpaceToDepth inverts DCR */
    free(out.data);
    free(back.data);

    op_case_t crd = {.op_type = "DepthToSpace"};
    add_int_attr(&crd, "blocksize", 2);
    add_string_attr(&crd, "mode", "CRD"); /* channel c * 4 + i * 2 + j */
    assert_int_equal(run_op(&crd, &in, 1, &out, &err), 0);
    assert_floats(out.data, x, 8);
    free(out.data);

    in.shape[1] = 6;
    assert_int_equal(run_op(&crd, &in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "not a multiple"));
    in = tensor(INFERD_DT_FP32, x, 2, (int64_t)2, (int64_t)4);
    assert_int_equal(run_op(&s2d, &in, 1, &out, &err), INFERD_EINVAL);
    op_case_t no_block = {.op_type = "SpaceToDepth"};
    assert_int_equal(run_op(&no_block, &in, 1, &out, &err), INFERD_EMODEL);
}

/* Trilu on a batch of two 3x4 matrices: upper and lower, diagonals inside and beyond the
 * matrix, BOOL data, and an input of rank 1 refused. */
static void trilu_keeps_a_triangle(void **state)
{
    (void)state;
    float x[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)(i + 1);
    int64_t k = 0;
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x, 3, (int64_t)2, (int64_t)3, (int64_t)4),
                             tensor(INFERD_DT_INT64, &k, 0)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t upper = {.op_type = "Trilu", .opset = 14};
    assert_int_equal(run_op(&upper, in, 1, &out, &err), 0); /* k omitted: 0 */
    assert_shape(&out, 3, (int64_t[]){2, 3, 4});
    assert_floats(out.data, (float[]){1,  2,  3,  4,  0, 6,  7,  8,  0, 0, 11, 12,
                                      13, 14, 15, 16, 0, 18, 19, 20, 0, 0, 23, 24},
                  24);
    free(out.data);
    k = -1; /* one diagonal below the main one is kept too */
    assert_int_equal(run_op(&upper, in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 11, 12}, 12);
    free(out.data);

    op_case_t lower = {.op_type = "Trilu", .opset = 14};
    add_int_attr(&lower, "upper", 0);
    k = 1;
    assert_int_equal(run_op(&lower, in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 2, 0, 0, 5, 6, 7, 0, 9, 10, 11, 12}, 12);
    free(out.data);
    k = INT64_MIN; /* below every element: all zero, and no overflow */
    assert_int_equal(run_op(&lower, in, 2, &out, &err), 0);
    for (int i = 0; i < 24; i++)
        assert_true(((float *)out.data)[i] == 0.0f);
    free(out.data);
    k = INT64_MAX; /* lower with a diagonal past the matrix keeps everything */
    assert_int_equal(run_op(&lower, in, 2, &out, &err), 0);
    assert_floats(out.data, x, 24);
    free(out.data);

    uint8_t flags[4] = {1, 1, 1, 1};
    k = 0;
    in[0] = tensor(INFERD_DT_BOOL, flags, 2, (int64_t)2, (int64_t)2);
    assert_int_equal(run_op(&lower, in, 2, &out, &err), 0);
    assert_memory_equal(out.data, ((uint8_t[]){1, 0, 1, 1}), 4);
    free(out.data);

    in[0] = tensor(INFERD_DT_FP32, x, 1, (int64_t)4);
    assert_int_equal(run_op(&upper, in, 1, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "rank 1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transpose_permutes_any_datatype),
        cmocka_unit_test(squeeze_and_unsqueeze_take_axes_by_opset),
        cmocka_unit_test(concat_joins_along_an_axis),
        cmocka_unit_test(split_by_attribute_input_and_equal_parts),
        cmocka_unit_test(slice_steps_clamps_and_opsets),
        cmocka_unit_test(expand_and_tile_repeat_data),
        cmocka_unit_test(pad_constant_reflect_edge_and_crop),
        cmocka_unit_test(depth_to_space_and_back),
        cmocka_unit_test(trilu_keeps_a_triangle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
