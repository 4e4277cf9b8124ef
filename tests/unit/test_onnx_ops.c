/* Unit tests for each ONNX operator of src/backends/onnx/ops, run through the operator table the
 * executor uses (prepare, shape, run) on hand-made tensors, compared with values worked out by
 * hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

static void add_broadcasts_rows_and_columns(void **state)
{
    float a[6] = {1, 2, 3, 4, 5, 6}, row[3] = {10, 20, 30}, column[2] = {100, 200};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, a, 2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_FP32, row, 1, (int64_t)3)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "Add"};
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 3});
    assert_floats(out.data, (float[]){11, 22, 33, 14, 25, 36}, 6);
    free(out.data);
    in[1] = tensor(INFERD_DT_FP32, column, 2, (int64_t)2, (int64_t)1);
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){101, 102, 103, 204, 205, 206}, 6);
    free(out.data);
}

static void binary_ops_compute_and_broadcast_both_ways(void **state)
{
    float column[3] = {1, 2, 4}, row[2] = {8, 16};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, column, 2, (int64_t)3, (int64_t)1),
                             tensor(INFERD_DT_FP32, row, 1, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    struct {
        const char *op;
        float want[6];
    } cases[] = {
        {"Sub", {-7, -15, -6, -14, -4, -12}},
        {"Mul", {8, 16, 16, 32, 32, 64}},
        {"Div", {0.125f, 0.0625f, 0.25f, 0.125f, 0.5f, 0.25f}},
    };
    for (size_t i = 0; i < 3; i++) {
        op_case_t c = {.op_type = cases[i].op};
        assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
        assert_shape(&out, 2, (int64_t[]){3, 2});
        assert_floats(out.data, cases[i].want, 6);
        free(out.data);
    }
}

static void integer_arithmetic_and_division_by_zero(void **state)
{
    int64_t a[3] = {7, -7, 9}, b[3] = {2, 2, 0};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_INT64, a, 1, (int64_t)3),
                             tensor(INFERD_DT_INT64, b, 1, (int64_t)1)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "Div"};
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
    assert_int_equal(((int64_t *)out.data)[0], 3);
    assert_int_equal(((int64_t *)out.data)[1], -3); /* truncation, as ONNX specifies */
    free(out.data);
    in[1].shape[0] = 3;
    assert_int_equal(run_op(&c, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "division by zero"));
    free(out.data);
    c.op_type = "Mul";
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
    assert_int_equal(((int64_t *)out.data)[2], 0);
    free(out.data);
}

static void binary_ops_refuse_mismatches(void **state)
{
    float a[6] = {0}, b[4] = {0};
    int32_t ints[2] = {0};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, a, 2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_FP32, b, 1, (int64_t)4)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "Add"};
    assert_int_equal(run_op(&c, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "do not broadcast"));
    in[1] = tensor(INFERD_DT_INT32, ints, 1, (int64_t)2);
    assert_int_equal(run_op(&c, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "different datatypes"));
}

static void activations(void **state)
{
    float x[4] = {-2, -0.5f, 0, 3};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 1, (int64_t)4);
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t relu = {.op_type = "Relu"}, sigmoid = {.op_type = "Sigmoid"},
              th = {.op_type = "Tanh"};
    assert_int_equal(run_op(&relu, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){0, 0, 0, 3}, 4);
    free(out.data);
    assert_int_equal(run_op(&sigmoid, &in, 1, &out, &err), 0);
    assert_floats(out.data,
                  (float[]){1 / (1 + expf(2)), 1 / (1 + expf(0.5f)), 0.5f, 1 / (1 + expf(-3))}, 4);
    free(out.data);
    assert_int_equal(run_op(&th, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){tanhf(-2), tanhf(-0.5f), 0, tanhf(3)}, 4);
    free(out.data);
    float extreme[2] = {-1000, 1000};
    in = tensor(INFERD_DT_FP32, extreme, 1, (int64_t)2);
    assert_int_equal(run_op(&sigmoid, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){0, 1}, 2); /* no NaN from overflowing exp */
    free(out.data);
    int32_t ints[1] = {1};
    in = tensor(INFERD_DT_INT32, ints, 1, (int64_t)1);
    assert_int_equal(run_op(&relu, &in, 1, &out, &err), INFERD_EINVAL);
}

static void gemm_with_transposes_and_bias(void **state)
{
    /* A is 2x3, B^T given as 2x3 (transB), C a row vector broadcast over rows */
    float a[6] = {1, 2, 3, 4, 5, 6}, bt[6] = {1, 0, 1, 0, 1, 0}, c[2] = {0.5f, -1};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, a, 2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_FP32, bt, 2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_FP32, c, 1, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t gemm = {.op_type = "Gemm"};
    add_int_attr(&gemm, "transB", 1);
    add_float_attr(&gemm, "alpha", 2.0f);
    add_float_attr(&gemm, "beta", 3.0f);
    assert_int_equal(run_op(&gemm, in, 3, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 2});
    /* A*B = [[4,2],[10,5]]; 2*AB + 3*C */
    assert_floats(out.data, (float[]){9.5f, 1, 21.5f, 7}, 4);
    free(out.data);
    op_case_t transposed_a = {.op_type = "Gemm"};
    add_int_attr(&transposed_a, "transA", 1);
    in[0] = tensor(INFERD_DT_FP32, a, 2, (int64_t)3, (int64_t)2); /* A^T stored 3x2 */
    in[1] = tensor(INFERD_DT_FP32, bt, 2, (int64_t)3, (int64_t)2);
    assert_int_equal(run_op(&transposed_a, in, 2, &out, &err), 0);
    /* A = [[1,3,5],[2,4,6]], B = [[1,0],[1,0],[1,0]] */
    assert_floats(out.data, (float[]){9, 0, 12, 0}, 4);
    free(out.data);
    in[1] = tensor(INFERD_DT_FP32, bt, 2, (int64_t)2, (int64_t)3);
    assert_int_equal(run_op(&transposed_a, in, 2, &out, &err), INFERD_EINVAL);
}

static void matmul_batched_broadcast_and_vectors(void **state)
{
    float a[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, b[6] = {1, 0, 0, 1, 1, 1};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, a, 3, (int64_t)2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_FP32, b, 2, (int64_t)3, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "MatMul"};
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){2, 2, 2});
    assert_floats(out.data, (float[]){4, 5, 10, 11, 16, 17, 22, 23}, 8);
    free(out.data);
    float v[3] = {1, 1, 1};
    in[1] = tensor(INFERD_DT_FP32, v, 1, (int64_t)3); /* matrix times vector */
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 2});
    assert_floats(out.data, (float[]){6, 15, 24, 33}, 4);
    free(out.data);
    in[0] = tensor(INFERD_DT_FP32, v, 1, (int64_t)3); /* vector times matrix */
    in[1] = tensor(INFERD_DT_FP32, b, 2, (int64_t)3, (int64_t)2);
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){2});
    assert_floats(out.data, (float[]){2, 2}, 2);
    free(out.data);
    in[1] = tensor(INFERD_DT_FP32, b, 2, (int64_t)2, (int64_t)3);
    assert_int_equal(run_op(&c, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "inner dimensions"));
}

static void softmax_axes_by_opset(void **state)
{
    float x[4] = {1, 2, 3, 4};
    inferd_tensor_t in = tensor(INFERD_DT_FP32, x, 2, (int64_t)2, (int64_t)2);
    inferd_tensor_t out;
    inferd_err_t err;
    float e1 = expf(1), e2 = expf(2), e3 = expf(3), e4 = expf(4);
    op_case_t last_axis = {.op_type = "Softmax", .opset = 13};
    assert_int_equal(run_op(&last_axis, &in, 1, &out, &err), 0);
    assert_floats(out.data,
                  (float[]){e1 / (e1 + e2), e2 / (e1 + e2), e3 / (e3 + e4), e4 / (e3 + e4)}, 4);
    free(out.data);
    op_case_t first_axis = {.op_type = "Softmax", .opset = 13};
    add_int_attr(&first_axis, "axis", 0);
    assert_int_equal(run_op(&first_axis, &in, 1, &out, &err), 0);
    assert_floats(out.data,
                  (float[]){e1 / (e1 + e3), e2 / (e2 + e4), e3 / (e1 + e3), e4 / (e2 + e4)}, 4);
    free(out.data);
    op_case_t coerced = {.op_type = "Softmax", .opset = 11}; /* axis 0: one row of 4 */
    add_int_attr(&coerced, "axis", 0);
    assert_int_equal(run_op(&coerced, &in, 1, &out, &err), 0);
    float sum = e1 + e2 + e3 + e4;
    assert_floats(out.data, (float[]){e1 / sum, e2 / sum, e3 / sum, e4 / sum}, 4);
    free(out.data);
    float big[2] = {1000, 1000};
    in = tensor(INFERD_DT_FP32, big, 1, (int64_t)2);
    assert_int_equal(run_op(&last_axis, &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){0.5f, 0.5f}, 2); /* stable for large logits */
    free(out.data);
}

static void flatten_reshape_identity(void **state)
{
    int32_t x[24];
    for (int i = 0; i < 24; i++)
        x[i] = i;
    inferd_tensor_t in[2] = {tensor(INFERD_DT_INT32, x, 3, (int64_t)2, (int64_t)3, (int64_t)4)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t flatten = {.op_type = "Flatten"};
    add_int_attr(&flatten, "axis", 2);
    assert_int_equal(run_op(&flatten, in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){6, 4});
    assert_memory_equal(out.data, x, sizeof(x));
    free(out.data);
    op_case_t flatten0 = {.op_type = "Flatten"};
    add_int_attr(&flatten0, "axis", 0);
    assert_int_equal(run_op(&flatten0, in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){1, 24});
    free(out.data);

    op_case_t reshape = {.op_type = "Reshape"};
    int64_t target[3] = {0, -1, 2};
    in[1] = tensor(INFERD_DT_INT64, target, 1, (int64_t)3);
    assert_int_equal(run_op(&reshape, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){2, 6, 2}); /* 0 copies the input's dimension */
    assert_memory_equal(out.data, x, sizeof(x));
    free(out.data);
    int64_t bad[2] = {5, -1};
    in[1] = tensor(INFERD_DT_INT64, bad, 1, (int64_t)2);
    assert_int_equal(run_op(&reshape, in, 2, &out, &err), INFERD_EINVAL);
    int64_t two_unknown[2] = {-1, -1};
    in[1] = tensor(INFERD_DT_INT64, two_unknown, 1, (int64_t)2);
    assert_int_equal(run_op(&reshape, in, 2, &out, &err), INFERD_EINVAL);

    op_case_t identity = {.op_type = "Identity"};
    assert_int_equal(run_op(&identity, in, 1, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){2, 3, 4});
    assert_memory_equal(out.data, x, sizeof(x));
    free(out.data);
}

static void unknown_ops_are_absent(void **state)
{
    assert_null(onnx_op_find("FrobnicateOp"));
    assert_null(onnx_op_find("Constant")); /* folded by the loader, never run */
    assert_non_null(onnx_op_find("MatMul"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_broadcasts_rows_and_columns),
        cmocka_unit_test(binary_ops_compute_and_broadcast_both_ways),
        cmocka_unit_test(integer_arithmetic_and_division_by_zero),
        cmocka_unit_test(binary_ops_refuse_mismatches),
        cmocka_unit_test(activations),
        cmocka_unit_test(gemm_with_transposes_and_bias),
        cmocka_unit_test(matmul_batched_broadcast_and_vectors),
        cmocka_unit_test(softmax_axes_by_opset),
        cmocka_unit_test(flatten_reshape_identity),
        cmocka_unit_test(unknown_ops_are_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
