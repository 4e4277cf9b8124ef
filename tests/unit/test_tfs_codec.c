/* Unit tests for TF Serving's REST JSON codec (src/http/tfs_codec.c): the row and columnar
 * request formats against a signature (shapes from nesting, datatype conversion), the errors a
 * client sees and where they point, and the predictions/outputs/metadata answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/tfs_codec.h"

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

/* Signatures as a version serves them (batch dimension included). */
static inferd_io_spec_t mlp_inputs[] = {{"input", INFERD_DT_FP32, 2, {-1, 4}}};
static inferd_io_spec_t mlp_outputs[] = {{"probabilities", INFERD_DT_FP32, 2, {-1, 2}}};
static const inferd_signature_t mlp = {mlp_inputs, 1, mlp_outputs, 1};

static inferd_io_spec_t pair_inputs[] = {{"ids", INFERD_DT_INT64, 2, {-1, 2}},
                                         {"mask", INFERD_DT_BOOL, 1, {-1}}};
static const inferd_signature_t pair = {pair_inputs, 2, mlp_outputs, 1};

static inferd_io_spec_t fixed_inputs[] = {{"x", INFERD_DT_UINT8, 2, {1, 3}}}; /* no batch dim */
static const inferd_signature_t fixed = {fixed_inputs, 1, mlp_outputs, 1};

static inferd_io_spec_t open_inputs[] = {{"x", INFERD_DT_FP64, 3, {-1, -1, 2}}};
static const inferd_signature_t open_dims = {open_inputs, 1, mlp_outputs, 1};

static inferd_io_spec_t scalar_inputs[] = {{"s", INFERD_DT_INT32, 0, {0}}};
static const inferd_signature_t scalar = {scalar_inputs, 1, mlp_outputs, 1};

static inferd_io_spec_t text_inputs[] = {{"text", INFERD_DT_BYTES, 1, {-1}}};
static const inferd_signature_t text = {text_inputs, 1, mlp_outputs, 1};

static int decode(const char *body, const inferd_signature_t *sig, inferd_request_t *req,
                  tfs_format_t *format, int64_t *rows, inferd_err_t *err)
{
    inferd_json_t doc;
    inferd_arena_reset(&arena);
    memset(err, 0, sizeof(*err));
    int rc = inferd_json_parse(&doc, body, strlen(body), &arena, err);
    if (rc != 0)
        return rc;
    return tfs_decode_predict(&doc, sig, &arena, req, format, rows, err);
}

/* Decoding `body` must fail with `code` and a message containing `needle`. */
static void expect_error(const char *body, const inferd_signature_t *sig, int code,
                         const char *needle)
{
    inferd_request_t req;
    inferd_err_t err;
    tfs_format_t format;
    int64_t rows;
    int rc = decode(body, sig, &req, &format, &rows, &err);
    if (rc != code || strstr(err.msg, needle) == NULL)
        fail_msg("body %s: rc %d (want %d), message \"%s\" lacks \"%s\"", body, rc, code, err.msg,
                 needle);
}

static void rows_of_one_input_stack_along_a_new_first_dimension(void **state)
{
    inferd_request_t req;
    inferd_err_t err;
    tfs_format_t format;
    int64_t rows;
    assert_int_equal(decode("{\"signature_name\":\"serving_default\",\"instances\":"
                            "[[1,2,3,4],[5,6,7,8.5],[0,0,0,-1]]}",
                            &mlp, &req, &format, &rows, &err),
                     0);
    assert_int_equal(format, TFS_FORMAT_ROW);
    assert_int_equal(rows, 3);
    assert_int_equal(req.n_inputs, 1);
    assert_string_equal(req.inputs[0].name, "input");
    assert_int_equal(req.inputs[0].dtype, INFERD_DT_FP32);
    assert_int_equal(req.inputs[0].ndim, 2);
    assert_int_equal(req.inputs[0].shape[0], 3);
    assert_int_equal(req.inputs[0].shape[1], 4);
    const float *x = req.inputs[0].data;
    assert_true(x[0] == 1.0f && x[7] == 8.5f && x[11] == -1.0f);
    assert_int_equal(req.timeout_us, -1);
    assert_false(req.has_output_filter);
}

static void named_rows_convert_each_input_to_its_datatype(void **state)
{
    inferd_request_t req;
    inferd_err_t err;
    tfs_format_t format;
    int64_t rows;
    assert_int_equal(decode("{\"instances\":[{\"mask\":true,\"ids\":[9007199254740993,-2]},"
                            "{\"ids\":[3,4],\"mask\":false}]}",
                            &pair, &req, &format, &rows, &err),
                     0);
    assert_int_equal(rows, 2);
    assert_int_equal(req.n_inputs, 2);
    const int64_t *ids = req.inputs[0].data;
    const uint8_t *mask = req.inputs[1].data;
    assert_true(ids[0] == 9007199254740993LL && ids[1] == -2 && ids[3] == 4);
    assert_int_equal(req.inputs[1].ndim, 1);
    assert_int_equal(req.inputs[1].shape[0], 2);
    assert_true(mask[0] == 1 && mask[1] == 0);
}

static void columns_take_whole_tensors(void **state)
{
    inferd_request_t req;
    inferd_err_t err;
    tfs_format_t format;
    int64_t rows;
    assert_int_equal(decode("{\"inputs\":[[1,2,3,4]]}", &mlp, &req, &format, &rows, &err), 0);
    assert_int_equal(format, TFS_FORMAT_COLUMNAR);
    assert_int_equal(rows, -1);
    assert_int_equal(req.inputs[0].shape[0], 1);
    assert_int_equal(decode("{\"inputs\":{\"ids\":[[1,2],[3,4],[5,6]],\"mask\":[true]}}", &pair,
                            &req, &format, &rows, &err),
                     0);
    assert_int_equal(req.inputs[0].shape[0], 3); /* columns need not share a first dimension */
    assert_int_equal(req.inputs[1].shape[0], 1);
    assert_int_equal(((int64_t *)req.inputs[0].data)[5], 6);
    assert_int_equal(decode("{\"inputs\":7}", &scalar, &req, &format, &rows, &err), 0);
    assert_int_equal(req.inputs[0].ndim, 0);
    assert_int_equal(((int32_t *)req.inputs[0].data)[0], 7);
}

static void open_dimensions_are_learnt_from_the_first_list(void **state)
{
    inferd_request_t req;
    inferd_err_t err;
    tfs_format_t format;
    int64_t rows;
    assert_int_equal(decode("{\"instances\":[[[1,2],[3,4],[5,6]],[[7,8],[9,10],[11,12]]]}",
                            &open_dims, &req, &format, &rows, &err),
                     0);
    assert_int_equal(req.inputs[0].shape[1], 3);
    assert_true(((double *)req.inputs[0].data)[11] == 12.0);
    /* every instance has an empty list: the open dimension is 0, and so is the data */
    assert_int_equal(decode("{\"instances\":[[],[]]}", &open_dims, &req, &format, &rows, &err), 0);
    assert_int_equal(req.inputs[0].shape[1], 0);
    expect_error("{\"instances\":[[[1,2],[3,4]],[[5,6]]]}", &open_dims, INFERD_EINVAL,
                 "instances[1] has 1 list, expected 2 like the first list at that depth");
}

static void models_without_a_batch_dimension_take_exactly_their_shape(void **state)
{
    inferd_request_t req;
    inferd_err_t err;
    tfs_format_t format;
    int64_t rows;
    assert_int_equal(decode("{\"instances\":[[0,128,255]]}", &fixed, &req, &format, &rows, &err),
                     0);
    assert_int_equal(((uint8_t *)req.inputs[0].data)[2], 255);
    expect_error("{\"instances\":[[0,1,2],[3,4,5]]}", &fixed, INFERD_EINVAL,
                 "\"instances\" has 2 items but input 'x' takes exactly 1 (shape [1,3])");
    expect_error("{\"inputs\":[[0,1]]}", &fixed, INFERD_EINVAL,
                 "inputs[0] has 2 values, expected 3");
    expect_error("{\"instances\":[1,2]}", &scalar, INFERD_EINVAL, "send it in the columnar format");
}

static void errors_say_what_is_wrong_and_where(void **state)
{
    expect_error("{\"instances\":[[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3]]}", &mlp, INFERD_EINVAL,
                 "instances[3] has 3 values, expected 4 (input 'input' has shape [-1,4])");
    expect_error("{\"instances\":[[1,2,3,4],5]}", &mlp, INFERD_EINVAL,
                 "instances[1] is a number, expected a list of 4 values");
    expect_error("{\"instances\":[[1,2,[3],4]]}", &mlp, INFERD_EINVAL,
                 "instances[0][2] is a list where input 'input' (shape [-1,4]) has a single value");
    expect_error("{\"instances\":[[1,2,\"x\",4]]}", &mlp, INFERD_EINVAL,
                 "instances[0][2] is not a valid FP32 for input 'input': a string");
    expect_error("{\"instances\":[[1,2,1e39,4]]}", &mlp, INFERD_EINVAL,
                 "instances[0][2] is not a valid FP32 for input 'input': 1e39 (finite numbers");
    expect_error("{\"instances\":[{\"ids\":[1,2],\"mask\":1}]}", &pair, INFERD_EINVAL,
                 "instances[0].mask is not a valid BOOL for input 'mask': 1 (use true or false)");
    expect_error("{\"instances\":[{\"ids\":[1,2.5],\"mask\":true}]}", &pair, INFERD_EINVAL,
                 "instances[0].ids[1] is not a valid INT64");
    expect_error("{\"instances\":[{\"ids\":[1,2]}]}", &pair, INFERD_EINVAL,
                 "instances[0] has no input 'mask' (the model takes 'ids', 'mask')");
    expect_error("{\"instances\":[{\"ids\":[1,2],\"mask\":true,\"extra\":1}]}", &pair,
                 INFERD_EINVAL, "instances[0] has unknown input 'extra'");
    expect_error("{\"instances\":[{\"ids\":[1,2],\"mask\":true},[1,2]]}", &pair, INFERD_EINVAL,
                 "instances[1] is a list but instances[0] is an object");
    expect_error("{\"instances\":[[1,2]]}", &pair, INFERD_EINVAL,
                 "the model takes 2 inputs ('ids', 'mask'): each instance must be an object");
    expect_error("{\"inputs\":[[1,2]]}", &pair, INFERD_EINVAL, "\"inputs\" must be an object");
    expect_error("{\"inputs\":{\"ids\":[[1,2]]}}", &pair, INFERD_EINVAL,
                 "\"inputs\" has no input 'mask'");
    expect_error("{\"inputs\":{\"ids\":[[1,2],[3]],\"mask\":[true]}}", &pair, INFERD_EINVAL,
                 "inputs.ids[1] has 1 value, expected 2");
    expect_error("{\"instances\":[]}", &mlp, INFERD_EINVAL, "\"instances\" is empty");
    expect_error("{\"instances\":{\"input\":[1,2,3,4]}}", &mlp, INFERD_EINVAL,
                 "\"instances\" must be a list");
    expect_error("{\"instances\":[[1,2,3,4]],\"inputs\":[[1,2,3,4]]}", &mlp, INFERD_EINVAL,
                 "not both");
    expect_error("{\"examples\":[]}", &mlp, INFERD_EINVAL, "needs \"instances\"");
    expect_error("[1,2]", &mlp, INFERD_EINVAL, "must be a JSON object");
    expect_error("{\"signature_name\":\"classify\",\"instances\":[[1,2,3,4]]}", &mlp, INFERD_EINVAL,
                 "signature_name 'classify' is not a signature of this model");
    expect_error("{\"instances\":[\"a\"]}", &text, INFERD_EUNSUPPORTED,
                 "input 'text' has datatype BYTES");
}

/* Nesting deeper than the input's rank is refused at the first list too deep, never walked. */
static void deep_nesting_is_refused_at_the_rank(void **state)
{
    char body[512];
    size_t used = (size_t)snprintf(body, sizeof(body), "{\"instances\":[");
    for (int i = 0; i < 60; i++)
        body[used++] = '[';
    for (int i = 0; i < 60; i++)
        body[used++] = ']';
    snprintf(body + used, sizeof(body) - used, "]}");
    expect_error(body, &mlp, INFERD_EINVAL, "instances[0] has 1 value, expected 4");
}

static inferd_tensor_t tensor_of(const char *name, inferd_dtype_t dtype, int ndim,
                                 const int64_t *shape, void *data)
{
    inferd_tensor_t t = {.name = name, .dtype = dtype, .ndim = ndim, .data = data};
    memcpy(t.shape, shape, sizeof(int64_t) * (size_t)ndim);
    return t;
}

static void encodes_rows_and_columns(void **state)
{
    float probabilities[] = {0.25f, 0.75f, 1.0f, 0.0f};
    int32_t labels[] = {7, -3};
    inferd_tensor_t outputs[2] = {
        tensor_of("p", INFERD_DT_FP32, 2, (int64_t[]){2, 2}, probabilities),
        tensor_of("label", INFERD_DT_INT32, 1, (int64_t[]){2}, labels)};
    inferd_response_t one = {outputs, 1}, both = {outputs, 2};
    inferd_jsonw_t w = {0};
    inferd_err_t err;

    assert_int_equal(tfs_encode_rows(&w, &one, 2, &err), 0);
    inferd_jsonw_raw(&w, "", 1);
    assert_string_equal(w.buf, "[[0.25,0.75],[1,0]]");
    inferd_jsonw_reset(&w);
    assert_int_equal(tfs_encode_rows(&w, &both, 2, &err), 0);
    inferd_jsonw_raw(&w, "", 1);
    assert_string_equal(w.buf, "[{\"p\":[0.25,0.75],\"label\":7},{\"p\":[1,0],\"label\":-3}]");
    inferd_jsonw_reset(&w);
    tfs_encode_columns(&w, &one);
    inferd_jsonw_raw(&w, "", 1);
    assert_string_equal(w.buf, "[[0.25,0.75],[1,0]]");
    inferd_jsonw_reset(&w);
    tfs_encode_columns(&w, &both);
    inferd_jsonw_raw(&w, "", 1);
    assert_string_equal(w.buf, "{\"p\":[[0.25,0.75],[1,0]],\"label\":[7,-3]}");
    inferd_jsonw_reset(&w);
    /* an output without one row per instance cannot be split into rows */
    assert_int_equal(tfs_encode_rows(&w, &both, 3, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "output 'p' has shape [2,2], not one row per instance (3)"));
    assert_int_equal(w.len, 0);
    inferd_jsonw_free(&w);
}

static void encodes_metadata_in_tf_serving_shape(void **state)
{
    inferd_model_version_t v = {.model_name = "pair", .version_str = "3", .sig = pair};
    inferd_jsonw_t w = {0};
    tfs_encode_metadata(&w, &v);
    inferd_jsonw_raw(&w, "", 1);
    assert_non_null(strstr(w.buf, "{\"model_spec\":{\"name\":\"pair\",\"signature_name\":\"\","
                                  "\"version\":\"3\"},\"metadata\":{\"signature_def\":{"
                                  "\"signature_def\":{\"serving_default\":{\"inputs\":{\"ids\":{"
                                  "\"dtype\":\"DT_INT64\",\"tensor_shape\":{\"dim\":[{\"size\":"
                                  "\"-1\",\"name\":\"\"},{\"size\":\"2\",\"name\":\"\"}],"
                                  "\"unknown_rank\":false},\"name\":\"ids\"},\"mask\":{\"dtype\":"
                                  "\"DT_BOOL\""));
    assert_non_null(strstr(w.buf, "\"method_name\":\"tensorflow/serving/predict\"}}}}}"));
    inferd_jsonw_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_of_one_input_stack_along_a_new_first_dimension),
        cmocka_unit_test(named_rows_convert_each_input_to_its_datatype),
        cmocka_unit_test(columns_take_whole_tensors),
        cmocka_unit_test(open_dimensions_are_learnt_from_the_first_list),
        cmocka_unit_test(models_without_a_batch_dimension_take_exactly_their_shape),
        cmocka_unit_test(errors_say_what_is_wrong_and_where),
        cmocka_unit_test(deep_nesting_is_refused_at_the_rank),
        cmocka_unit_test(encodes_rows_and_columns),
        cmocka_unit_test(encodes_metadata_in_tf_serving_shape),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
