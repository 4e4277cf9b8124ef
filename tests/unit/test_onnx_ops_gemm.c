/* Unit tests for the additions to the matrix-product family (src/backends/onnx/ops/gemm.c): Gemm
 * in FP64 and with every broadcastable C (scalar, [n], [m,1]), MatMul on integers and FP64, and
 * MatMulInteger with zero points. (FP32 Gemm/MatMul basics live in test_onnx_ops.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

/* A = [[1, 2, 3], [4, 5, 6]], B = [[1, 0], [0, 1], [1, 1]]: A*B = [[4, 5], [10, 11]] */

static void gemm_broadcasts_every_shape_of_c(void **state)
{
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, scalar = 10, column[2] = {1, 2};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, a, 2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_FP32, b, 2, (int64_t)3, (int64_t)2),
                             tensor(INFERD_DT_FP32, &scalar, 0)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "Gemm"};
    assert_int_equal(run_op(&c, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){14, 15, 20, 21}, 4);
    free(out.data);
    in[2] = tensor(INFERD_DT_FP32, column, 2, (int64_t)2, (int64_t)1); /* [m, 1] */
    assert_int_equal(run_op(&c, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){5, 6, 12, 13}, 4);
    free(out.data);
    in[2] = tensor(INFERD_DT_FP32, column, 1, (int64_t)1); /* [1] */
    assert_int_equal(run_op(&c, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){5, 6, 11, 12}, 4);
    free(out.data);
    in[2] = tensor(INFERD_DT_FP32, a, 1, (int64_t)3); /* [3] against n = 2 */
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "does not broadcast"));
}

static void gemm_fp64_with_transposes(void **state)
{
    /* A^T stored [3, 2], B^T stored [2, 3], C = [n] */
    double at[6] = {1, 4, 2, 5, 3, 6}, bt[6] = {1, 0, 1, 0, 1, 1}, c[2] = {1, -1};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP64, at, 2, (int64_t)3, (int64_t)2),
                             tensor(INFERD_DT_FP64, bt, 2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_FP64, c, 1, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t gemm = {.op_type = "Gemm"};
    add_int_attr(&gemm, "transA", 1);
    add_int_attr(&gemm, "transB", 1);
    add_float_attr(&gemm, "alpha", 2.0f);
    add_float_attr(&gemm, "beta", 0.5f);
    assert_int_equal(run_op(&gemm, in, 3, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_FP64);
    assert_shape(&out, 2, (int64_t[]){2, 2});
    double *y = out.data; /* 2 * [[4, 5], [10, 11]] + 0.5 * [1, -1] */
    assert_true(y[0] == 8.5 && y[1] == 9.5 && y[2] == 20.5 && y[3] == 21.5);
    free(out.data);
    float f[2] = {0};
    in[2] = tensor(INFERD_DT_FP32, f, 1, (int64_t)2);
    assert_int_equal(run_op(&gemm, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "different datatypes"));
}

static void matmul_integers_and_fp64(void **state)
{
    int32_t a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_INT32, a, 2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_INT32, b, 2, (int64_t)3, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "MatMul"};
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_INT32);
    assert_memory_equal(out.data, ((int32_t[]){4, 5, 10, 11}), 4 * sizeof(int32_t));
    free(out.data);

    int64_t big[2] = {(int64_t)1 << 40, 1}, col[2] = {1 << 20, 7};
    in[0] = tensor(INFERD_DT_INT64, big, 1, (int64_t)2); /* vector . vector: a scalar */
    in[1] = tensor(INFERD_DT_INT64, col, 1, (int64_t)2);
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
    assert_int_equal(out.ndim, 0);
    assert_true(((int64_t *)out.data)[0] == ((int64_t)1 << 60) + 7);
    free(out.data);

    /* FP64 [2, 1, 1, 2] x [3, 2, 1]: batches [2, 1] and [3] broadcast to [2, 3] */
    double x[4] = {1, 2, 3, 4}, w[6] = {1, 1, 0, 1, 2, 0};
    in[0] = tensor(INFERD_DT_FP64, x, 4, (int64_t)2, (int64_t)1, (int64_t)1, (int64_t)2);
    in[1] = tensor(INFERD_DT_FP64, w, 3, (int64_t)3, (int64_t)2, (int64_t)1);
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
    assert_shape(&out, 4, (int64_t[]){2, 3, 1, 1});
    double *y = out.data, want[6] = {3, 2, 2, 7, 4, 6};
    for (int i = 0; i < 6; i++)
        if (y[i] != want[i])
            fail_msg("element %d: got %g, want %g", i, y[i], want[i]);
    free(out.data);

    in[1] = tensor(INFERD_DT_FP32, w, 2, (int64_t)2, (int64_t)1);
    assert_int_equal(run_op(&c, in, 2, &out, &err), INFERD_EINVAL);
}

static void matmul_integer_subtracts_zero_points(void **state)
{
    uint8_t a[4] = {10, 11, 12, 13}, b[4] = {1, 2, 3, 4}, a_zero = 10, b_zero[2] = {1, 2};
    inferd_tensor_t in[4] = {tensor(INFERD_DT_UINT8, a, 2, (int64_t)2, (int64_t)2),
                             tensor(INFERD_DT_UINT8, b, 2, (int64_t)2, (int64_t)2),
                             tensor(INFERD_DT_UINT8, &a_zero, 0),
                             tensor(INFERD_DT_UINT8, b_zero, 1, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "MatMulInteger", .opset = 10};
    /* (A - 10) = [[0, 1], [2, 3]], (B - [1, 2] per column) = [[0, 0], [2, 2]] */
    assert_int_equal(run_op(&c, in, 4, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_INT32);
    assert_memory_equal(out.data, ((int32_t[]){2, 2, 6, 6}), 4 * sizeof(int32_t));
    free(out.data);
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0); /* no zero points */
    assert_memory_equal(out.data, ((int32_t[]){43, 64, 51, 76}), 4 * sizeof(int32_t));
    free(out.data);
    int8_t wrong = 0;
    in[2] = tensor(INFERD_DT_INT8, &wrong, 0);
    assert_int_equal(run_op(&c, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "a_zero_point"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemm_broadcasts_every_shape_of_c),
        cmocka_unit_test(gemm_fp64_with_transposes),
        cmocka_unit_test(matmul_integers_and_fp64),
        cmocka_unit_test(matmul_integer_subtracts_zero_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
