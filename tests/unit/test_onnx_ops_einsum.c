/* Unit tests for Einsum (src/backends/onnx/ops/einsum.c): the sgemm forms (plain, transposed,
 * gathered, permuted output), permutations, diagonals and traces, ellipsis broadcasting, three
 * operands, integers and FP64 on the general loop, and refusals of malformed equations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

static float a23[6] = {1, 2, 3, 4, 5, 6}, b32[6] = {1, 0, 0, 1, 1, 1};

static int einsum(const char *equation, inferd_tensor_t *in, int n, inferd_tensor_t *out,
                  inferd_err_t *err)
{
    op_case_t c = {.op_type = "Einsum", .opset = 12};
    add_string_attr(&c, "equation", equation);
    return run_op(&c, in, n, out, err);
}

static void matmul_forms_run_through_sgemm(void **state)
{
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, a23, 2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_FP32, b32, 2, (int64_t)3, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    /* A*B = [[4, 5], [10, 11]] */
    assert_int_equal(einsum("ij,jk->ik", in, 2, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 2});
    assert_floats(out.data, (float[]){4, 5, 10, 11}, 4);
    free(out.data);
    assert_int_equal(einsum("ij, jk", in, 2, &out, &err), 0); /* implicit output: ik */
    assert_floats(out.data, (float[]){4, 5, 10, 11}, 4);
    free(out.data);
    assert_int_equal(einsum("ij,jk->ki", in, 2, &out, &err), 0); /* the result transposed */
    assert_floats(out.data, (float[]){4, 10, 5, 11}, 4);
    free(out.data);
    /* B^T stored: "ij,kj" contracts j with B's last axis */
    float bt[6] = {1, 0, 1, 0, 1, 1};
    in[1] = tensor(INFERD_DT_FP32, bt, 2, (int64_t)2, (int64_t)3);
    assert_int_equal(einsum("ij,kj->ik", in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){4, 5, 10, 11}, 4);
    free(out.data);
    /* A stored transposed and batch-last: "kb,bk->b" sums each column of A against a row of B */
    in[0] = tensor(INFERD_DT_FP32, a23, 2, (int64_t)3, (int64_t)2);
    assert_int_equal(einsum("kb,bk->b", in, 2, &out, &err), 0);
    /* b=0: 1*1 + 3*0 + 5*1 = 6; b=1: 2*0 + 4*1 + 6*1 = 10 */
    assert_floats(out.data, (float[]){6, 10}, 2);
    free(out.data);
    /* the inner product */
    in[0] = tensor(INFERD_DT_FP32, a23, 1, (int64_t)3);
    in[1] = tensor(INFERD_DT_FP32, a23 + 3, 1, (int64_t)3);
    assert_int_equal(einsum("i,i->", in, 2, &out, &err), 0);
    assert_int_equal(out.ndim, 0);
    assert_floats(out.data, (float[]){32}, 1);
    free(out.data);
}

/* reference: y[b,h,q,k] = sum_d x[b,h,q,d] * z[b,h,k,d] */
static void attention_scores_match_a_plain_loop(void **state)
{
    enum { H = 2, Q = 3, K = 4, D = 5 };
    float q[H * Q * D], k[H * K * D], want[H * Q * K];
    for (int i = 0; i < H * Q * D; i++)
        q[i] = (float)((i * 7) % 11) - 5;
    for (int i = 0; i < H * K * D; i++)
        k[i] = (float)((i * 5) % 13) - 6;
    for (int h = 0; h < H; h++)
        for (int i = 0; i < Q; i++)
            for (int j = 0; j < K; j++) {
                float s = 0;
                for (int d = 0; d < D; d++)
                    s += q[(h * Q + i) * D + d] * k[(h * K + j) * D + d];
                want[(h * Q + i) * K + j] = s;
            }
    inferd_tensor_t in[2] = {
        tensor(INFERD_DT_FP32, q, 4, (int64_t)1, (int64_t)H, (int64_t)Q, (int64_t)D),
        tensor(INFERD_DT_FP32, k, 4, (int64_t)1, (int64_t)H, (int64_t)K, (int64_t)D)};
    inferd_tensor_t out;
    inferd_err_t err;
    assert_int_equal(einsum("bhqd,bhkd->bhqk", in, 2, &out, &err), 0);
    assert_shape(&out, 4, (int64_t[]){1, H, Q, K});
    assert_floats(out.data, want, H * Q * K);
    free(out.data);
}

static void ellipsis_broadcasts_batch_dimensions(void **state)
{
    /* A [2, 1, 2, 3] and B [3, 3, 2]: the batch broadcasts to [2, 3] */
    float a[12], b[18], want[2 * 3 * 2 * 2];
    for (int i = 0; i < 12; i++)
        a[i] = (float)i - 4;
    for (int i = 0; i < 18; i++)
        b[i] = (float)(i % 5) - 1;
    for (int p = 0; p < 2; p++)
        for (int r = 0; r < 3; r++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) {
                    float s = 0;
                    for (int t = 0; t < 3; t++)
                        s += a[(p * 2 + i) * 3 + t] * b[(r * 3 + t) * 2 + j];
                    want[((p * 3 + r) * 2 + i) * 2 + j] = s;
                }
    inferd_tensor_t in[2] = {
        tensor(INFERD_DT_FP32, a, 4, (int64_t)2, (int64_t)1, (int64_t)2, (int64_t)3),
        tensor(INFERD_DT_FP32, b, 3, (int64_t)3, (int64_t)3, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    assert_int_equal(einsum("...ij,...jk->...ik", in, 2, &out, &err), 0);
    assert_shape(&out, 4, (int64_t[]){2, 3, 2, 2});
    assert_floats(out.data, want, 24);
    free(out.data);
}

static void permutations_diagonals_and_traces(void **state)
{
    int32_t x[6] = {1, 2, 3, 4, 5, 6};
    inferd_tensor_t in = tensor(INFERD_DT_INT32, x, 2, (int64_t)2, (int64_t)3);
    inferd_tensor_t out;
    inferd_err_t err;
    assert_int_equal(einsum("ij->ji", &in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){3, 2});
    assert_memory_equal(out.data, ((int32_t[]){1, 4, 2, 5, 3, 6}), sizeof(x));
    free(out.data);
    assert_int_equal(einsum("ij->i", &in, 1, &out, &err), 0);
    assert_true(((int32_t *)out.data)[0] == 6 && ((int32_t *)out.data)[1] == 15);
    free(out.data);

    float m[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    in = tensor(INFERD_DT_FP32, m, 2, (int64_t)3, (int64_t)3);
    assert_int_equal(einsum("ii->i", &in, 1, &out, &err), 0);
    assert_floats(out.data, (float[]){0, 4, 8}, 3);
    free(out.data);
    assert_int_equal(einsum("ii", &in, 1, &out, &err), 0); /* implicit: the trace */
    assert_int_equal(out.ndim, 0);
    assert_floats(out.data, (float[]){12}, 1);
    free(out.data);
    /* a batch of diagonals: [2, 2, 2] */
    float batch[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    in = tensor(INFERD_DT_FP32, batch, 3, (int64_t)2, (int64_t)2, (int64_t)2);
    assert_int_equal(einsum("...ii ->...i", &in, 1, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 2});
    assert_floats(out.data, (float[]){1, 4, 5, 8}, 4);
    free(out.data);
}

static void general_loop_three_operands_fp64_and_int64(void **state)
{
    double v[2] = {1, 2}, m[6] = {1, 2, 3, 4, 5, 6}, w[3] = {1, 0, 1};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP64, v, 1, (int64_t)2),
                             tensor(INFERD_DT_FP64, m, 2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_FP64, w, 1, (int64_t)3)};
    inferd_tensor_t out;
    inferd_err_t err;
    /* 1 * (1 + 3) + 2 * (4 + 6) */
    assert_int_equal(einsum("i,ij,j->", in, 3, &out, &err), 0);
    assert_true(((double *)out.data)[0] == 24);
    free(out.data);
    inferd_tensor_t pair[2] = {in[1], in[0]}; /* "ba,b": m^T v, on the general loop (FP64) */
    assert_int_equal(einsum("ba,b", pair, 2, &out, &err), 0);
    assert_shape(&out, 1, (int64_t[]){3});
    double *y = out.data; /* (1 + 8, 2 + 10, 3 + 12) */
    assert_true(y[0] == 9 && y[1] == 12 && y[2] == 15);
    free(out.data);

    int64_t big[2] = {(int64_t)1 << 40, 3}, ones[2] = {1 << 20, 1};
    in[0] = tensor(INFERD_DT_INT64, big, 1, (int64_t)2);
    in[1] = tensor(INFERD_DT_INT64, ones, 1, (int64_t)2);
    assert_int_equal(einsum("i,i", in, 2, &out, &err), 0);
    assert_true(((int64_t *)out.data)[0] == ((int64_t)1 << 60) + 3); /* exact past 2^53 */
    free(out.data);
}

static void einsum_refuses_malformed_equations(void **state)
{
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, a23, 2, (int64_t)2, (int64_t)3),
                             tensor(INFERD_DT_FP32, b32, 2, (int64_t)3, (int64_t)2)};
    inferd_tensor_t out;
    inferd_err_t err;
    const char *bad_models[] = {"ij,jk->ik", "i$,jk",  "ij,jk->ii",
                                "ij,jk->iz", "i.j,jk", "ij,jk->i->k"};
    assert_int_equal(einsum(bad_models[0], in, 1, &out, &err),
                     INFERD_EMODEL); /* 2 terms, 1 input */
    assert_non_null(strstr(err.msg, "more terms"));
    for (size_t i = 1; i < sizeof(bad_models) / sizeof(bad_models[0]); i++)
        if (einsum(bad_models[i], in, 2, &out, &err) != INFERD_EMODEL)
            fail_msg("'%s' was accepted", bad_models[i]);
    assert_int_equal(einsum("ijk,jk->ik", in, 2, &out, &err), INFERD_EINVAL); /* rank 2 */
    assert_non_null(strstr(err.msg, "rank"));
    assert_int_equal(einsum("ij,ik->jk", in, 2, &out, &err), INFERD_EINVAL); /* i is 2 and 3 */
    assert_non_null(strstr(err.msg, "label 'i'"));
    assert_int_equal(einsum("...j,jk->jk", in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "no '...'"));
    int32_t ints[6] = {0};
    in[1] = tensor(INFERD_DT_INT32, ints, 2, (int64_t)3, (int64_t)2);
    assert_int_equal(einsum("ij,jk->ik", in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "different datatypes"));
}

static void general_loop_refuses_runaway_work(void **state)
{
    /* "i,j->" over two long vectors would take 2^40 products on the general loop */
    float dummy[1] = {0};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP64, dummy, 1, (int64_t)1 << 20),
                             tensor(INFERD_DT_FP64, dummy, 1, (int64_t)1 << 20)};
    inferd_tensor_t out;
    inferd_err_t err;
    assert_int_equal(einsum("i,j->", in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "products"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matmul_forms_run_through_sgemm),
        cmocka_unit_test(attention_scores_match_a_plain_loop),
        cmocka_unit_test(ellipsis_broadcasts_batch_dimensions),
        cmocka_unit_test(permutations_diagonals_and_traces),
        cmocka_unit_test(general_loop_three_operands_fp64_and_int64),
        cmocka_unit_test(einsum_refuses_malformed_equations),
        cmocka_unit_test(general_loop_refuses_runaway_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
