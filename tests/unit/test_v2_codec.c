/* Unit tests for the KServe V2 JSON codec (src/http/v2_codec.c): every datatype, flat and nested
 * data, and the errors a client sees for malformed tensors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/v2_codec.h"

static inferd_arena_t arena;

static int setup(void **state)
{
    inferd_arena_init(&arena, 4096, 1 << 24);
    return 0;
}

static int teardown(void **state)
{
    inferd_arena_free(&arena);
    return 0;
}

static int decode(const char *body, inferd_request_t *req, inferd_err_t *err)
{
    inferd_arena_reset(&arena);
    memset(err, 0, sizeof(*err));
    return v2_decode_infer_request(body, strlen(body), &arena, req, err);
}

static void decodes_flat_and_nested_data_alike(void **state)
{
    inferd_request_t flat, nested;
    inferd_err_t err;
    assert_int_equal(decode("{\"id\":\"r1\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\","
                            "\"shape\":[2,3],\"data\":[1,2,3,4,5,6.5]}]}",
                            &flat, &err),
                     0);
    float flat_values[6];
    memcpy(flat_values, flat.inputs[0].data, sizeof(flat_values));
    assert_string_equal(flat.id, "r1");
    assert_int_equal(flat.n_inputs, 1);
    assert_string_equal(flat.inputs[0].name, "x");
    assert_int_equal(flat.inputs[0].ndim, 2);
    assert_false(flat.has_output_filter);
    assert_int_equal(decode("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2,3],"
                            "\"data\":[[1,2,3],[4,5,6.5]]}],\"outputs\":[{\"name\":\"b\"},"
                            "{\"name\":\"a\"}],\"parameters\":{\"anything\":1}}",
                            &nested, &err),
                     0);
    assert_null(nested.id);
    assert_memory_equal(flat_values, nested.inputs[0].data, sizeof(flat_values));
    assert_true(flat_values[5] == 6.5f);
    assert_true(nested.has_output_filter);
    assert_int_equal(nested.n_output_names, 2);
    assert_string_equal(nested.output_names[0], "b");
}

static void decodes_every_integer_type_at_its_limits(void **state)
{
    inferd_request_t req;
    inferd_err_t err;
    assert_int_equal(
        decode("{\"inputs\":["
               "{\"name\":\"a\",\"datatype\":\"INT8\",\"shape\":[2],\"data\":[-128,127]},"
               "{\"name\":\"b\",\"datatype\":\"UINT8\",\"shape\":[2],\"data\":[0,255]},"
               "{\"name\":\"c\",\"datatype\":\"INT16\",\"shape\":[2],\"data\":[-32768,32767]},"
               "{\"name\":\"d\",\"datatype\":\"UINT16\",\"shape\":[1],\"data\":[65535]},"
               "{\"name\":\"e\",\"datatype\":\"INT32\",\"shape\":[1],\"data\":[-2147483648]},"
               "{\"name\":\"f\",\"datatype\":\"UINT32\",\"shape\":[1],\"data\":[4294967295]},"
               "{\"name\":\"g\",\"datatype\":\"INT64\",\"shape\":[1],"
               "\"data\":[-9223372036854775808]},"
               "{\"name\":\"h\",\"datatype\":\"UINT64\",\"shape\":[1],"
               "\"data\":[18446744073709551615]},"
               "{\"name\":\"i\",\"datatype\":\"BOOL\",\"shape\":[2],\"data\":[true,false]},"
               "{\"name\":\"j\",\"datatype\":\"FP64\",\"shape\":[1],\"data\":[1e308]}]}",
               &req, &err),
        0);
    assert_int_equal(req.n_inputs, 10);
    assert_int_equal(((int8_t *)req.inputs[0].data)[0], -128);
    assert_int_equal(((uint8_t *)req.inputs[1].data)[1], 255);
    assert_int_equal(((int16_t *)req.inputs[2].data)[0], -32768);
    assert_int_equal(((uint16_t *)req.inputs[3].data)[0], 65535);
    assert_int_equal(((int32_t *)req.inputs[4].data)[0], INT32_MIN);
    assert_true(((uint32_t *)req.inputs[5].data)[0] == UINT32_MAX);
    assert_true(((int64_t *)req.inputs[6].data)[0] == INT64_MIN);
    assert_true(((uint64_t *)req.inputs[7].data)[0] == UINT64_MAX);
    assert_int_equal(((uint8_t *)req.inputs[8].data)[0], 1);
    assert_int_equal(((uint8_t *)req.inputs[8].data)[1], 0);
    assert_true(((double *)req.inputs[9].data)[0] == 1e308);
}

/* Each body must be refused with `code` and a message containing `needle`. */
static void expect_refusal(const char *body, int code, const char *needle)
{
    inferd_request_t req;
    inferd_err_t err;
    int rc = decode(body, &req, &err);
    if (rc != code || strstr(err.msg, needle) == NULL)
        fail_msg("body %s: got %d '%s', wanted %d containing '%s'", body, rc, err.msg, code,
                 needle);
}

static void refuses_bad_tensors_naming_the_input(void **state)
{
    expect_refusal("[1,2]", INFERD_EINVAL, "JSON object");
    expect_refusal("{\"inputs\":{}}", INFERD_EINVAL, "\"inputs\"");
    expect_refusal("{\"id\":5,\"inputs\":[]}", INFERD_EINVAL, "\"id\"");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP33\",\"shape\":[1],"
                   "\"data\":[1]}]}",
                   INFERD_EINVAL, "'x'");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"BYTES\",\"shape\":[1],"
                   "\"data\":[\"a\"]}]}",
                   INFERD_EUNSUPPORTED, "not supported");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2],"
                   "\"data\":[1]}]}",
                   INFERD_EINVAL, "has 1 values but shape [2] needs 2");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[-1],"
                   "\"data\":[1]}]}",
                   INFERD_EINVAL, "'x'");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1.5],"
                   "\"data\":[1]}]}",
                   INFERD_EINVAL, "'x'");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":"
                   "[4294967296,4294967296,4294967296],\"data\":[1]}]}",
                   INFERD_EINVAL, "'x'");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT8\",\"shape\":[1],"
                   "\"data\":[128]}]}",
                   INFERD_EINVAL, "'x'");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"UINT8\",\"shape\":[1],"
                   "\"data\":[-1]}]}",
                   INFERD_EINVAL, "'x'");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT32\",\"shape\":[1],"
                   "\"data\":[1.5]}]}",
                   INFERD_EINVAL, "'x'");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],"
                   "\"data\":[1e39]}]}",
                   INFERD_EINVAL, "'x'");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],"
                   "\"data\":[\"1\"]}]}",
                   INFERD_EINVAL, "'x'");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"BOOL\",\"shape\":[1],"
                   "\"data\":[1]}]}",
                   INFERD_EINVAL, "true or false");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1]}]}",
                   INFERD_EINVAL, "\"data\" is missing");
    expect_refusal("{\"inputs\":[{\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}]}",
                   INFERD_EINVAL, "\"name\"");
    expect_refusal("{\"inputs\":[],\"outputs\":[{\"nam\":\"y\"}]}", INFERD_EINVAL, "\"outputs\"");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2,3],"
                   "\"data\":[[1,2,3],[[4],[5,6]]]}]}",
                   INFERD_EINVAL, "does not follow shape [2,3]");
    expect_refusal("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2,3],"
                   "\"data\":[[1,2],[3,4],[5,6]]}]}",
                   INFERD_EINVAL, "does not follow shape");
}

static void encodes_every_datatype(void **state)
{
    uint8_t flags[2] = {1, 0};
    int64_t big[2] = {INT64_MIN, INT64_MAX};
    float f[3] = {0.5f, -1.25f, 0.1f};
    inferd_tensor_t tensors[] = {
        {.name = "flags", .dtype = INFERD_DT_BOOL, .ndim = 1, .shape = {2}, .data = flags},
        {.name = "big", .dtype = INFERD_DT_INT64, .ndim = 2, .shape = {1, 2}, .data = big},
        {.name = "f", .dtype = INFERD_DT_FP32, .ndim = 1, .shape = {3}, .data = f},
    };
    const char *expected[] = {
        "{\"name\":\"flags\",\"datatype\":\"BOOL\",\"shape\":[2],\"data\":[true,false]}",
        "{\"name\":\"big\",\"datatype\":\"INT64\",\"shape\":[1,2],"
        "\"data\":[-9223372036854775808,9223372036854775807]}",
        "{\"name\":\"f\",\"datatype\":\"FP32\",\"shape\":[3],\"data\":[0.5,-1.25,0.100000001]}",
    };
    for (size_t i = 0; i < 3; i++) {
        inferd_jsonw_t w = {0};
        v2_encode_tensor(&w, &tensors[i]);
        inferd_jsonw_raw(&w, "", 1);
        assert_string_equal(w.buf, expected[i]);
        inferd_jsonw_free(&w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_flat_and_nested_data_alike),
        cmocka_unit_test(decodes_every_integer_type_at_its_limits),
        cmocka_unit_test(refuses_bad_tensors_naming_the_input),
        cmocka_unit_test(encodes_every_datatype),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
