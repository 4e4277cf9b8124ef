/* Unit tests for the indexing families (src/backends/onnx/ops/gather.c, positions.c): Gather,
 * GatherElements, ScatterElements with each reduction (and the old name Scatter), GatherND with
 * batch_dims, ScatterND replacing and adding, OneHot by opset, CumSum's exclusive and reverse
 * forms, NonZero, with values worked out by hand (several from the ONNX spec's examples), and the
 * refusal of out-of-range indices before anything is read or written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

static void gather_takes_blocks_along_an_axis(void **state)
{
    int64_t x[6] = {0, 1, 2, 3, 4, 5}; /* [[0,1],[2,3],[4,5]] */
    int32_t rows[4] = {2, 0, -1, 1};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_INT64, x, 2, (int64_t)3, (int64_t)2),
                             tensor(INFERD_DT_INT32, rows, 2, (int64_t)2, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t axis0 = {.op_type = "Gather"};
    assert_int_equal(run_op(&axis0, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){2, 2, 2});
    assert_memory_equal(out.data, ((int64_t[]){4, 5, 0, 1, 4, 5, 2, 3}), 8 * sizeof(int64_t));
    free(out.data);

    int64_t column[1] = {1};
    in[1] = tensor(INFERD_DT_INT64, column, 1, (int64_t)1);
    op_case_t axis1 = {.op_type = "Gather"};
    add_int_attr(&axis1, "axis", -1);
    assert_int_equal(run_op(&axis1, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){3, 1});
    assert_memory_equal(out.data, ((int64_t[]){1, 3, 5}), 3 * sizeof(int64_t));
    free(out.data);

    in[1] = tensor(INFERD_DT_INT64, column, 0); /* a scalar index drops the axis */
    assert_int_equal(run_op(&axis0, in, 2, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){2});
    assert_memory_equal(out.data, ((int64_t[]){2, 3}), 2 * sizeof(int64_t));
    free(out.data);

    column[0] = 3;
    assert_int_equal(run_op(&axis0, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "index 3 (element 0 of indices) is out of range"));
    column[0] = -4;
    assert_int_equal(run_op(&axis0, in, 2, &out, &err), INFERD_EINVAL);
    float fractional[1] = {1};
    in[1] = tensor(INFERD_DT_FP32, fractional, 1, (int64_t)1);
    assert_int_equal(run_op(&axis0, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "INT32 or INT64"));
}

static void gather_elements_reads_one_element_per_index(void **state)
{
    float x[4] = {1, 2, 3, 4};
    int64_t indices[4] = {0, 0, 1, 0};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x, 2, (int64_t)2, (int64_t)2),
                             tensor(INFERD_DT_INT64, indices, 2, (int64_t)2, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t axis1 = {.op_type = "GatherElements"};
    add_int_attr(&axis1, "axis", 1);
    assert_int_equal(run_op(&axis1, in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 1, 4, 3}, 4);
    free(out.data);

    float grid[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int32_t negative[6] = {-1, -2, 0, -2, 0, 0};
    in[0] = tensor(INFERD_DT_FP32, grid, 2, (int64_t)3, (int64_t)3);
    in[1] = tensor(INFERD_DT_INT32, negative, 2, (int64_t)2, (int64_t)3);
    op_case_t axis0 = {.op_type = "GatherElements"};
    assert_int_equal(run_op(&axis0, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 3});
    assert_floats(out.data, (float[]){7, 5, 3, 4, 2, 3}, 6);
    free(out.data);

    negative[4] = 3;
    assert_int_equal(run_op(&axis0, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "element 4"));
    in[1] = tensor(INFERD_DT_INT32, negative, 2, (int64_t)1, (int64_t)6); /* 6 columns > 3 */
    negative[4] = 0;
    assert_int_equal(run_op(&axis0, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "do not fit"));
}

static void scatter_elements_writes_and_reduces(void **state)
{
    float zeros[9] = {0};
    int64_t indices[6] = {1, 0, 2, 0, 2, 1};
    float updates[6] = {1.0f, 1.1f, 1.2f, 2.0f, 2.1f, 2.2f};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, zeros, 2, (int64_t)3, (int64_t)3),
                             tensor(INFERD_DT_INT64, indices, 2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_FP32, updates, 2, (int64_t)2, (int64_t)3)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "ScatterElements", .opset = 16}; /* the spec's example */
    assert_int_equal(run_op(&c, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){2.0f, 1.1f, 0, 1.0f, 0, 2.2f, 0, 2.1f, 1.2f}, 9);
    free(out.data);
    op_case_t old_name = {.op_type = "Scatter", .opset = 10};
    assert_int_equal(run_op(&old_name, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){2.0f, 1.1f, 0, 1.0f, 0, 2.2f, 0, 2.1f, 1.2f}, 9);
    free(out.data);

    float row[5] = {1, 2, 3, 4, 5};
    int64_t twice[2] = {1, -4}; /* the same element twice */
    float adds[2] = {1.1f, 2.1f};
    in[0] = tensor(INFERD_DT_FP32, row, 2, (int64_t)1, (int64_t)5);
    in[1] = tensor(INFERD_DT_INT64, twice, 2, (int64_t)1, (int64_t)2);
    in[2] = tensor(INFERD_DT_FP32, adds, 2, (int64_t)1, (int64_t)2);
    op_case_t add = {.op_type = "ScatterElements", .opset = 16};
    add_int_attr(&add, "axis", 1);
    add_string_attr(&add, "reduction", "add");
    assert_int_equal(run_op(&add, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 5.2f, 3, 4, 5}, 5);
    free(out.data);

    int32_t ints[3] = {INT32_MAX, 5, -6}, int_updates[3] = {1, 3, 2};
    int32_t where[3] = {0, 1, 2};
    in[0] = tensor(INFERD_DT_INT32, ints, 1, (int64_t)3);
    in[1] = tensor(INFERD_DT_INT32, where, 1, (int64_t)3);
    in[2] = tensor(INFERD_DT_INT32, int_updates, 1, (int64_t)3);
    struct {
        const char *reduction;
        int32_t want[3];
    } cases[] = {
        {"add", {INT32_MIN, 8, -4}}, /* wraps, as integer sums do */
        {"mul", {INT32_MAX, 15, -12}},
        {"max", {INT32_MAX, 5, 2}},
        {"min", {1, 3, -6}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        op_case_t r = {.op_type = "ScatterElements", .opset = 18};
        add_string_attr(&r, "reduction", cases[i].reduction);
        assert_int_equal(run_op(&r, in, 3, &out, &err), 0);
        assert_memory_equal(out.data, cases[i].want, sizeof(cases[i].want));
        free(out.data);
    }

    where[2] = 3;
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "out of range"));
    where[2] = 0;
    in[2] = tensor(INFERD_DT_FP32, adds, 1, (int64_t)3);
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
    op_case_t unknown = {.op_type = "ScatterElements", .opset = 18};
    add_string_attr(&unknown, "reduction", "average");
    assert_int_equal(run_op(&unknown, in, 3, &out, &err), INFERD_EMODEL);
}

static void onehot_marks_indices_and_wraps_negatives(void **state)
{
    int64_t indices[3] = {1, -1, 5};
    float depth = 3, values[2] = {0, 1};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_INT64, indices, 1, (int64_t)3),
                             tensor(INFERD_DT_FP32, &depth, 0),
                             tensor(INFERD_DT_FP32, values, 1, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "OneHot", .opset = 11};
    assert_int_equal(run_op(&c, in, 3, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){3, 3});
    assert_floats(out.data, (float[]){0, 1, 0, 0, 0, 1, 0, 0, 0}, 9); /* 5 is off */
    free(out.data);
    op_case_t opset10 = {.op_type = "OneHot", .opset = 10}; /* -1 is off before opset 11 */
    assert_int_equal(run_op(&opset10, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){0, 1, 0, 0, 0, 0, 0, 0, 0}, 9);
    free(out.data);
    op_case_t first = {.op_type = "OneHot", .opset = 11};
    add_int_attr(&first, "axis", 0);
    assert_int_equal(run_op(&first, in, 3, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){3, 3});
    assert_floats(out.data, (float[]){0, 0, 0, 1, 0, 0, 0, 1, 0}, 9);
    free(out.data);

    float fractional[2] = {1.7f, NAN}; /* truncated to 1; NaN is off */
    int32_t on_off[2] = {-5, 9};
    in[0] = tensor(INFERD_DT_FP32, fractional, 1, (int64_t)2);
    in[2] = tensor(INFERD_DT_INT32, on_off, 1, (int64_t)2);
    assert_int_equal(run_op(&c, in, 3, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_INT32);
    assert_memory_equal(out.data, ((int32_t[]){-5, 9, -5, -5, -5, -5}), 6 * sizeof(int32_t));
    free(out.data);

    depth = 0;
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "positive"));
    depth = 1e12f;
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "too large"));
    depth = 3;
    in[2].shape[0] = 1;
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
}

static void cumsum_inclusive_exclusive_and_reverse(void **state)
{
    double x[4] = {1, 2, 3, 4};
    int64_t axis = 0;
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP64, x, 1, (int64_t)4),
                             tensor(INFERD_DT_INT64, &axis, 0)};
    inferd_tensor_t out;
    inferd_err_t err;
    struct {
        int exclusive, reverse;
        double want[4];
    } cases[] = {
        {0, 0, {1, 3, 6, 10}},
        {1, 0, {0, 1, 3, 6}},
        {0, 1, {10, 9, 7, 4}},
        {1, 1, {9, 7, 4, 0}},
    };
    for (size_t i = 0; i < 4; i++) {
        op_case_t c = {.op_type = "CumSum", .opset = 14};
        add_int_attr(&c, "exclusive", cases[i].exclusive);
        add_int_attr(&c, "reverse", cases[i].reverse);
        assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
        assert_memory_equal(out.data, cases[i].want, sizeof(cases[i].want));
        free(out.data);
    }

    int32_t grid[4] = {1, 2, INT32_MAX, 4};
    int32_t last[1] = {-1};
    in[0] = tensor(INFERD_DT_INT32, grid, 2, (int64_t)2, (int64_t)2);
    in[1] = tensor(INFERD_DT_INT32, last, 1, (int64_t)1);
    op_case_t rows = {.op_type = "CumSum", .opset = 14};
    assert_int_equal(run_op(&rows, in, 2, &out, &err), 0);
    assert_memory_equal(out.data, ((int32_t[]){1, 3, INT32_MAX, INT32_MIN + 3}),
                        4 * sizeof(int32_t));
    free(out.data);

    last[0] = 2;
    assert_int_equal(run_op(&rows, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "out of range"));
    float float_axis = 0;
    in[1] = tensor(INFERD_DT_FP32, &float_axis, 0);
    assert_int_equal(run_op(&rows, in, 2, &out, &err), INFERD_EINVAL);
    int8_t narrow[2] = {1, 2};
    in[0] = tensor(INFERD_DT_INT8, narrow, 1, (int64_t)2);
    in[1] = tensor(INFERD_DT_INT64, &axis, 0);
    assert_int_equal(run_op(&rows, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "INT8"));
}

static void nonzero_lists_coordinates(void **state)
{
    float x[4] = {1, 0, 3, -0.0f}; /* [[1,0],[3,-0]]: (0,0) and (1,0) */
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 2, (int64_t)2, (int64_t)2);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "NonZero"};
    assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_INT64);
    assert_shape(&out, 2, (int64_t[]){2, 2});
    assert_memory_equal(out.data, ((int64_t[]){0, 1, 0, 0}), 4 * sizeof(int64_t));
    free(out.data);

    uint8_t flags[3] = {0, 1, 1};
    in = tensor(INFERD_DT_BOOL, flags, 1, (int64_t)3);
    assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){1, 2});
    assert_memory_equal(out.data, ((int64_t[]){1, 2}), 2 * sizeof(int64_t));
    free(out.data);
    flags[1] = flags[2] = 0;
    assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){1, 0});
    free(out.data);
    int32_t scalar = 5;
    in = tensor(INFERD_DT_INT32, &scalar, 0);
    assert_int_equal(run_op(&c, &in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){1, 1});
    assert_int_equal(*(int64_t *)out.data, 0);
    free(out.data);
}

/* GatherND: whole rows and single elements, a negative index, batch_dims 1, and the refusals of
 * an index out of range and of tuples longer than data's rank. */
static void gather_nd_picks_slices(void **state)
{
    (void)state;
    float data[2][2][3] = {{{0, 1, 2}, {3, 4, 5}}, {{6, 7, 8}, {9, 10, 11}}};
    int64_t rows[2][2] = {{1, 0}, {0, -1}}; /* [1][0] and [0][1] */
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, data, 3, (int64_t)2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_INT64, rows, 2, (int64_t)2, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t plain = {.op_type = "GatherND"};
    assert_int_equal(run_op(&plain, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 3});
    assert_floats(out.data, (float[]){6, 7, 8, 3, 4, 5}, 6);
    free(out.data);

    int64_t element[1][3] = {{1, 1, 2}};
    in[1] = tensor(INFERD_DT_INT64, element, 2, (int64_t)1, (int64_t)3);
    assert_int_equal(run_op(&plain, in, 2, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){1});
    assert_floats(out.data, (float[]){11}, 1);
    free(out.data);

    /* batch_dims 1: batch 0 takes its row 1, batch 1 its row 0 */
    int64_t per_batch[2][1] = {{1}, {0}};
    op_case_t batched = {.op_type = "GatherND"};
    add_int_attr(&batched, "batch_dims", 1);
    in[1] = tensor(INFERD_DT_INT64, per_batch, 2, (int64_t)2, (int64_t)1);
    assert_int_equal(run_op(&batched, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 3});
    assert_floats(out.data, (float[]){3, 4, 5, 6, 7, 8}, 6);
    free(out.data);

    per_batch[1][0] = 2;
    assert_int_equal(run_op(&batched, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "index 2 at position 1"));
    int64_t too_long[1][4] = {{0, 0, 0, 0}};
    in[1] = tensor(INFERD_DT_INT64, too_long, 2, (int64_t)1, (int64_t)4);
    assert_int_equal(run_op(&plain, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "from 1 to 3"));
}

/* ScatterND: rows replaced (a repeated index: the later update wins), elements added, and the
 * refusal of updates of the wrong shape. */
static void scatter_nd_writes_slices(void **state)
{
    (void)state;
    float data[3][2] = {{1, 2}, {3, 4}, {5, 6}};
    int64_t rows[3][1] = {{2}, {0}, {-3}};
    float updates[3][2] = {{10, 20}, {30, 40}, {50, 60}};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, data, 2, (int64_t)3, (int64_t)2),
                             tensor(INFERD_DT_INT64, rows, 2, (int64_t)3, (int64_t)1),
                             tensor(INFERD_DT_FP32, updates, 2, (int64_t)3, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t replace = {.op_type = "ScatterND"};
    assert_int_equal(run_op(&replace, in, 3, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){3, 2});
    assert_floats(out.data, (float[]){50, 60, 3, 4, 10, 20}, 6);
    free(out.data);

    op_case_t add = {.op_type = "ScatterND", .opset = 16};
    add_string_attr(&add, "reduction", "add");
    int64_t cells[2][2] = {{1, 1}, {1, 1}};
    float amounts[2] = {0.5f, 0.25f};
    in[1] = tensor(INFERD_DT_INT64, cells, 2, (int64_t)2, (int64_t)2);
    in[2] = tensor(INFERD_DT_FP32, amounts, 1, (int64_t)2);
    assert_int_equal(run_op(&add, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 2, 3, 4.75f, 5, 6}, 6);
    free(out.data);

    in[2] = tensor(INFERD_DT_FP32, amounts, 2, (int64_t)2, (int64_t)1);
    assert_int_equal(run_op(&add, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "updates must have"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gather_takes_blocks_along_an_axis),
        cmocka_unit_test(gather_elements_reads_one_element_per_index),
        cmocka_unit_test(scatter_elements_writes_and_reduces),
        cmocka_unit_test(onehot_marks_indices_and_wraps_negatives),
        cmocka_unit_test(cumsum_inclusive_exclusive_and_reverse),
        cmocka_unit_test(nonzero_lists_coordinates),
        cmocka_unit_test(gather_nd_picks_slices),
        cmocka_unit_test(scatter_nd_writes_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
