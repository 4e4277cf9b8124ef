/* Unit tests for TopK (src/backends/onnx/ops/topk.c): largest and smallest along the last and
 * an inner axis, ties broken by the lower index, k as input or (opset < 10) attribute, exact
 * integer order, NaN, and refusals of a bad k. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

static void assert_indices(const inferd_tensor_t *t, const int64_t *want, size_t n)
{
    assert_int_equal(t->dtype, INFERD_DT_INT64);
    for (size_t i = 0; i < n; i++)
        if (((int64_t *)t->data)[i] != want[i])
            fail_msg("index %zu: got %lld, want %lld", i, (long long)((int64_t *)t->data)[i],
                     (long long)want[i]);
}

static void largest_and_smallest_with_ties(void **state)
{
    float x[8] = {3, 1, 4, 1, 5, 9, 2, 6};
    int64_t k = 3;
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x, 2, (int64_t)2, (int64_t)4),
                             tensor(INFERD_DT_INT64, &k, 1, (int64_t)1)};
    inferd_tensor_t out[2];
    inferd_err_t err;
    op_case_t largest = {.op_type = "TopK", .opset = 11};
    assert_int_equal(run_op_n(&largest, in, 2, out, 2, &err), 0);
    assert_shape(&out[0], 2, (int64_t[]){2, 3});
    assert_shape(&out[1], 2, (int64_t[]){2, 3});
    assert_floats(out[0].data, (float[]){4, 3, 1, 9, 6, 5}, 6);
    assert_indices(&out[1], (int64_t[]){2, 0, 1, 1, 3, 0}, 6); /* the 1 at index 1 before 3 */
    free(out[0].data);
    free(out[1].data);

    op_case_t smallest = {.op_type = "TopK", .opset = 11};
    add_int_attr(&smallest, "largest", 0);
    add_int_attr(&smallest, "sorted", 0); /* unordered is allowed; inferd sorts anyway */
    assert_int_equal(run_op_n(&smallest, in, 2, out, 2, &err), 0);
    assert_floats(out[0].data, (float[]){1, 1, 3, 2, 5, 6}, 6);
    assert_indices(&out[1], (int64_t[]){1, 3, 0, 2, 0, 3}, 6);
    free(out[0].data);
    free(out[1].data);
}

static void inner_axis_and_attribute_k(void **state)
{
    /* [3, 2] along axis 0: columns (5, 7, 6) and (2, 2, 8) */
    int32_t x[6] = {5, 2, 7, 2, 6, 8};
    inferd_tensor_t in = tensor(INFERD_DT_INT32, x, 2, (int64_t)3, (int64_t)2);
    inferd_tensor_t out[2];
    inferd_err_t err;
    op_case_t c = {.op_type = "TopK", .opset = 9};
    add_int_attr(&c, "k", 2);
    add_int_attr(&c, "axis", 0);
    assert_int_equal(run_op_n(&c, &in, 1, out, 2, &err), 0);
    assert_shape(&out[0], 2, (int64_t[]){2, 2});
    int32_t *v = out[0].data;
    assert_true(v[0] == 7 && v[1] == 8 && v[2] == 6 && v[3] == 2);
    assert_indices(&out[1], (int64_t[]){1, 2, 2, 0}, 4);
    free(out[0].data);
    free(out[1].data);

    op_case_t missing_k = {.op_type = "TopK", .opset = 9};
    assert_int_equal(run_op_n(&missing_k, &in, 1, out, 2, &err), INFERD_EMODEL);
}

static void exact_integers_nan_and_zero_k(void **state)
{
    int64_t big[3] = {INT64_MAX - 1, INT64_MAX, INT64_MAX - 2}, k = 1;
    inferd_tensor_t in[2] = {tensor(INFERD_DT_INT64, big, 1, (int64_t)3),
                             tensor(INFERD_DT_INT64, &k, 1, (int64_t)1)};
    inferd_tensor_t out[2];
    inferd_err_t err;
    op_case_t c = {.op_type = "TopK", .opset = 11};
    assert_int_equal(run_op_n(&c, in, 2, out, 2, &err), 0);
    assert_true(((int64_t *)out[0].data)[0] == INT64_MAX); /* not rounded through a double */
    assert_indices(&out[1], (int64_t[]){1}, 1);
    free(out[0].data);
    free(out[1].data);

    float x[3] = {1, NAN, 2};
    k = 2;
    in[0] = tensor(INFERD_DT_FP32, x, 1, (int64_t)3);
    assert_int_equal(run_op_n(&c, in, 2, out, 2, &err), 0);
    assert_true(isnan(((float *)out[0].data)[0])); /* NaN ranks above every number */
    assert_indices(&out[1], (int64_t[]){1, 2}, 2);
    free(out[0].data);
    free(out[1].data);

    k = 0;
    assert_int_equal(run_op_n(&c, in, 2, out, 2, &err), 0);
    assert_shape(&out[0], 1, (int64_t[]){0});
    free(out[0].data);
    free(out[1].data);
}

static void topk_refuses_bad_k(void **state)
{
    float x[4] = {1, 2, 3, 4};
    int64_t k = 5;
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x, 1, (int64_t)4),
                             tensor(INFERD_DT_INT64, &k, 1, (int64_t)1)};
    inferd_tensor_t out[2];
    inferd_err_t err;
    op_case_t c = {.op_type = "TopK", .opset = 11};
    assert_int_equal(run_op_n(&c, in, 2, out, 2, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "k = 5"));
    k = -1;
    assert_int_equal(run_op_n(&c, in, 2, out, 2, &err), INFERD_EINVAL);
    int64_t two[2] = {1, 1};
    in[1] = tensor(INFERD_DT_INT64, two, 1, (int64_t)2);
    assert_int_equal(run_op_n(&c, in, 2, out, 2, &err), INFERD_EINVAL);
    op_case_t axis = {.op_type = "TopK", .opset = 11};
    add_int_attr(&axis, "axis", 1);
    in[1] = tensor(INFERD_DT_INT64, &k, 1, (int64_t)1);
    k = 1;
    assert_int_equal(run_op_n(&axis, in, 2, out, 2, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "out of range"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(largest_and_smallest_with_ties),
        cmocka_unit_test(inner_axis_and_attribute_k),
        cmocka_unit_test(exact_integers_nan_and_zero_k),
        cmocka_unit_test(topk_refuses_bad_k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
