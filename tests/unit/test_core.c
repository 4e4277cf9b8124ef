/* Unit tests for src/core: the datatype table, shape arithmetic, the arena and the error table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "inferd/arena.h"
#include "inferd/error.h"
#include "inferd/tensor.h"

static void dtype_names_round_trip(void **state)
{
    for (int dt = 1; dt < INFERD_DT_COUNT; dt++) {
        const char *name = inferd_dtype_name((inferd_dtype_t)dt);
        assert_int_equal(inferd_dtype_from_name(name, strlen(name)), dt);
    }
    assert_int_equal(inferd_dtype_from_name("FP3", 3), INFERD_DT_INVALID);
    assert_int_equal(inferd_dtype_from_name("fp32", 4), INFERD_DT_INVALID);
    assert_string_equal(inferd_dtype_name(INFERD_DT_INVALID), "INVALID");
}

static void dtype_onnx_codes_and_sizes(void **state)
{
    assert_int_equal(inferd_dtype_from_onnx(1), INFERD_DT_FP32);
    assert_int_equal(inferd_dtype_from_onnx(7), INFERD_DT_INT64);
    assert_int_equal(inferd_dtype_from_onnx(9), INFERD_DT_BOOL);
    assert_int_equal(inferd_dtype_from_onnx(13), INFERD_DT_UINT64);
    assert_int_equal(inferd_dtype_from_onnx(99), INFERD_DT_INVALID);
    assert_int_equal(inferd_dtype_size(INFERD_DT_FP64), 8);
    assert_int_equal(inferd_dtype_size(INFERD_DT_INT16), 2);
    assert_int_equal(inferd_dtype_size(INFERD_DT_BOOL), 1);
    assert_int_equal(inferd_dtype_size(INFERD_DT_BYTES), 0);
}

static void shape_count_refuses_overflow_and_negatives(void **state)
{
    int64_t ok[] = {3, 4, 5}, zero[] = {3, 0, 5}, negative[] = {3, -1},
            huge[] = {1LL << 40, 1LL << 30};
    assert_int_equal(inferd_shape_count(ok, 3), 60);
    assert_int_equal(inferd_shape_count(ok, 0), 1);
    assert_int_equal(inferd_shape_count(zero, 3), 0);
    assert_int_equal(inferd_shape_count(negative, 2), -1);
    assert_int_equal(inferd_shape_count(huge, 2), -1);
    int64_t zero_then_negative[] = {0, -1};
    assert_int_equal(inferd_shape_count(zero_then_negative, 2), -1);
}

static void shape_str_formats(void **state)
{
    int64_t shape[] = {-1, 64};
    char buf[32];
    assert_string_equal(inferd_shape_str(shape, 2, buf, sizeof(buf)), "[-1,64]");
    assert_string_equal(inferd_shape_str(shape, 0, buf, sizeof(buf)), "[]");
}

static void arena_aligns_grows_and_resets(void **state)
{
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 0);
    char *a = inferd_arena_alloc(&arena, 10);
    char *b = inferd_arena_alloc(&arena, 10);
    assert_non_null(a);
    assert_true(((uintptr_t)a % 64) == 0 && ((uintptr_t)b % 64) == 0);
    assert_true(b != a);
    char *big = inferd_arena_alloc(&arena, 1 << 20); /* its own block */
    assert_non_null(big);
    memset(big, 1, 1 << 20);
    char *after = inferd_arena_alloc(&arena, 10); /* still from the small block */
    assert_non_null(after);
    assert_true(after > b && after < b + 4096);
    inferd_arena_reset(&arena);
    assert_int_equal(arena.total_bytes, 4096);
    char *again = inferd_arena_alloc(&arena, 10);
    assert_ptr_equal(again, a); /* the kept block is reused from its start */
    assert_string_equal(inferd_arena_strndup(&arena, "abcdef", 3), "abc");
    inferd_arena_free(&arena);
}

static void arena_respects_its_limit(void **state)
{
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 8192);
    assert_non_null(inferd_arena_alloc(&arena, 4000));
    assert_null(inferd_arena_alloc(&arena, 100000));
    assert_null(inferd_arena_alloc(&arena, SIZE_MAX - 10));
    assert_null(inferd_arena_calloc(&arena, SIZE_MAX / 2, 4));
    inferd_arena_free(&arena);
}

static void error_table_maps_statuses(void **state)
{
    assert_int_equal(inferd_http_status(INFERD_EINVAL), 400);
    assert_int_equal(inferd_http_status(INFERD_ENOTFOUND), 404);
    assert_int_equal(inferd_http_status(INFERD_EMETHOD), 405);
    assert_int_equal(inferd_http_status(INFERD_ETOOBIG), 413);
    assert_int_equal(inferd_http_status(INFERD_EUNAVAIL), 503);
    assert_int_equal(inferd_http_status(12345), 500);
    assert_string_equal(inferd_strerror(INFERD_ENOTFOUND), "not found");
    inferd_err_t err;
    assert_int_equal(inferd_fail(&err, INFERD_EINVAL, "input '%s' bad", "x"), INFERD_EINVAL);
    assert_string_equal(err.msg, "input 'x' bad");
    inferd_err_prefix(&err, "node %d: ", 3);
    assert_string_equal(err.msg, "node 3: input 'x' bad");
    assert_int_equal(inferd_fail(NULL, INFERD_EIO, "ignored"), INFERD_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dtype_names_round_trip),
        cmocka_unit_test(dtype_onnx_codes_and_sizes),
        cmocka_unit_test(shape_count_refuses_overflow_and_negatives),
        cmocka_unit_test(shape_str_formats),
        cmocka_unit_test(arena_aligns_grows_and_resets),
        cmocka_unit_test(arena_respects_its_limit),
        cmocka_unit_test(error_table_maps_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
