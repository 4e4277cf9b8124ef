/* Unit tests for the comparison and logic ops (src/backends/onnx/ops/logical.c): the five
 * comparisons on floats (NaN), integers and BOOL with broadcasting, And/Or/Xor, Where with a
 * three-way broadcast over datatypes of every width, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

#define D(x) ((int64_t)(x))

static void comparisons_broadcast_to_bool(void **state)
{
    /* [2,1] against [3]. */
    float a[2] = {1, NAN}, b[3] = {0, 1, 2};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, a, 2, D(2), D(1)),
                             tensor(INFERD_DT_FP32, b, 1, D(3))};
    inferd_tensor_t out;
    inferd_err_t err;
    struct {
        const char *op;
        uint8_t want[6];
    } cases[] = {
        /* NaN compares false everywhere */
        {"Equal", {0, 1, 0, 0, 0, 0}},       {"Greater", {1, 0, 0, 0, 0, 0}},
        {"Less", {0, 0, 1, 0, 0, 0}},        {"GreaterOrEqual", {1, 1, 0, 0, 0, 0}},
        {"LessOrEqual", {0, 1, 1, 0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        op_case_t c = {.op_type = cases[i].op};
        assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
        assert_int_equal(out.dtype, INFERD_DT_BOOL);
        assert_shape(&out, 2, (int64_t[]){2, 3});
        assert_memory_equal(out.data, cases[i].want, 6);
        free(out.data);
    }
}

static void comparisons_on_integers_and_bool(void **state)
{
    uint64_t ua[2] = {UINT64_MAX, 0}, ub[1] = {1};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_UINT64, ua, 1, D(2)),
                             tensor(INFERD_DT_UINT64, ub, 0)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t greater = {.op_type = "Greater"}, equal = {.op_type = "Equal"},
              less = {.op_type = "Less"};
    assert_int_equal(run_op(&greater, in, 2, &out, &err), 0); /* unsigned, not wrapped */
    assert_memory_equal(out.data, ((uint8_t[]){1, 0}), 2);
    free(out.data);
    int64_t ia[3] = {INT64_MIN, 5, 9}, ib[3] = {INT64_MIN, 6, 9};
    in[0] = tensor(INFERD_DT_INT64, ia, 1, D(3));
    in[1] = tensor(INFERD_DT_INT64, ib, 1, D(3));
    assert_int_equal(run_op(&equal, in, 2, &out, &err), 0);
    assert_memory_equal(out.data, ((uint8_t[]){1, 0, 1}), 3);
    free(out.data);
    uint8_t ba[4] = {0, 1, 2, 0}, bb[4] = {0, 1, 1, 1}; /* 2 is true too */
    in[0] = tensor(INFERD_DT_BOOL, ba, 1, D(4));
    in[1] = tensor(INFERD_DT_BOOL, bb, 1, D(4));
    assert_int_equal(run_op(&equal, in, 2, &out, &err), 0);
    assert_memory_equal(out.data, ((uint8_t[]){1, 1, 1, 0}), 4);
    free(out.data);
    assert_int_equal(run_op(&less, in, 2, &out, &err), 0);
    assert_memory_equal(out.data, ((uint8_t[]){0, 0, 0, 1}), 4);
    free(out.data);
    uint16_t ha[2] = {0x3C00, 0x7E00}, hb[2] = {0x4000, 0x7E00}; /* 1 < 2; NaN != NaN */
    in[0] = tensor(INFERD_DT_FP16, ha, 1, D(2));
    in[1] = tensor(INFERD_DT_FP16, hb, 1, D(2));
    assert_int_equal(run_op(&less, in, 2, &out, &err), 0);
    assert_memory_equal(out.data, ((uint8_t[]){1, 0}), 2);
    free(out.data);
    assert_int_equal(run_op(&equal, in, 2, &out, &err), 0);
    assert_memory_equal(out.data, ((uint8_t[]){0, 0}), 2);
    free(out.data);
}

static void and_or_xor(void **state)
{
    uint8_t a[4] = {0, 0, 1, 1}, b[2] = {0, 1};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_BOOL, a, 2, D(2), D(2)),
                             tensor(INFERD_DT_BOOL, b, 1, D(2))};
    inferd_tensor_t out;
    inferd_err_t err;
    struct {
        const char *op;
        uint8_t want[4];
    } cases[] = {{"And", {0, 0, 0, 1}}, {"Or", {0, 1, 1, 1}}, {"Xor", {0, 1, 1, 0}}};
    for (size_t i = 0; i < 3; i++) {
        op_case_t c = {.op_type = cases[i].op};
        assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
        assert_memory_equal(out.data, cases[i].want, 4);
        free(out.data);
    }
    int32_t ints[2] = {0, 1};
    in[1] = tensor(INFERD_DT_INT32, ints, 1, D(2));
    op_case_t c = {.op_type = "And"};
    assert_int_equal(run_op(&c, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "INT32 is not supported"));
}

static void where_broadcasts_three_ways(void **state)
{
    /* condition [2,1], X [3], Y scalar -> [2,3] */
    uint8_t condition[2] = {1, 0};
    float x[3] = {1, 2, 3}, y[1] = {-1};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_BOOL, condition, 2, D(2), D(1)),
                             tensor(INFERD_DT_FP32, x, 1, D(3)), tensor(INFERD_DT_FP32, y, 0)};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t where = {.op_type = "Where"};
    assert_int_equal(run_op(&where, in, 3, &out, &err), 0);
    assert_shape(&out, 2, (int64_t[]){2, 3});
    assert_floats(out.data, (float[]){1, 2, 3, -1, -1, -1}, 6);
    free(out.data);
    /* Same shapes, INT64 (the contiguous path), and 1- and 2-byte types. */
    uint8_t mask[3] = {1, 0, 1};
    int64_t lx[3] = {10, 20, 30}, ly[3] = {-10, -20, -30};
    in[0] = tensor(INFERD_DT_BOOL, mask, 1, D(3));
    in[1] = tensor(INFERD_DT_INT64, lx, 1, D(3));
    in[2] = tensor(INFERD_DT_INT64, ly, 1, D(3));
    assert_int_equal(run_op(&where, in, 3, &out, &err), 0);
    assert_memory_equal(out.data, ((int64_t[]){10, -20, 30}), 24);
    free(out.data);
    uint16_t hx[1] = {0x3C00}, hy[3] = {0, 0x4000, 0x4200};
    in[1] = tensor(INFERD_DT_FP16, hx, 1, D(1));
    in[2] = tensor(INFERD_DT_FP16, hy, 1, D(3));
    assert_int_equal(run_op(&where, in, 3, &out, &err), 0);
    assert_memory_equal(out.data, ((uint16_t[]){0x3C00, 0x4000, 0x3C00}), 6);
    free(out.data);
    uint8_t bx[3] = {1, 1, 1}, by[3] = {0, 0, 0};
    in[1] = tensor(INFERD_DT_BOOL, bx, 1, D(3));
    in[2] = tensor(INFERD_DT_BOOL, by, 1, D(3));
    assert_int_equal(run_op(&where, in, 3, &out, &err), 0);
    assert_int_equal(out.dtype, INFERD_DT_BOOL);
    assert_memory_equal(out.data, mask, 3);
    free(out.data);
}

static void refusals(void **state)
{
    float f[3] = {0}, g[2] = {0};
    double d[3] = {0};
    uint8_t mask[3] = {1, 0, 1};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, f, 1, D(3)),
                             tensor(INFERD_DT_FP64, d, 1, D(3))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t equal = {.op_type = "Equal"}, where = {.op_type = "Where"};
    assert_int_equal(run_op(&equal, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "different datatypes"));
    in[1] = tensor(INFERD_DT_FP32, g, 1, D(2));
    assert_int_equal(run_op(&equal, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "do not broadcast"));
    in[0] = tensor(INFERD_DT_FP32, f, 1, D(3)); /* a float condition */
    in[1] = tensor(INFERD_DT_FP32, f, 1, D(3));
    in[2] = tensor(INFERD_DT_FP32, f, 1, D(3));
    assert_int_equal(run_op(&where, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "condition must be BOOL"));
    in[0] = tensor(INFERD_DT_BOOL, mask, 1, D(3));
    in[2] = tensor(INFERD_DT_FP64, d, 1, D(3));
    assert_int_equal(run_op(&where, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "different datatypes"));
    in[2] = tensor(INFERD_DT_FP32, g, 1, D(2));
    assert_int_equal(run_op(&where, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "do not broadcast"));
    in[0] = (inferd_tensor_t){0};
    assert_int_equal(run_op(&where, in, 3, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "missing"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(comparisons_broadcast_to_bool),
        cmocka_unit_test(comparisons_on_integers_and_bool),
        cmocka_unit_test(and_or_xor),
        cmocka_unit_test(where_broadcasts_three_ways),
        cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
