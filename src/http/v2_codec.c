/* KServe V2 JSON <-> inferd_request_t / inferd_response_t. Tensor data may be flat or nested:
 * the values are the non-array tokens under "data" in document order, which is row-major order
 * whatever the nesting, so no recursion is needed however deep a client nests. */
#include "v2_codec.h"

#include <math.h>
#include <string.h>

static int decode_fail(inferd_err_t *err, int code, const char *input, const char *what)
{
    return inferd_fail(err, code, "input '%s': %s", input, what);
}

/* JSON value `tok` as an FP32 into *OUT_value: a number within the float's range. */
static int decode_f32(const inferd_json_t *doc, int tok, float *OUT_value)
{
    double d;
    if (inferd_json_double(doc, tok, &d) != 0 || !isfinite((float)d))
        return INFERD_EINVAL;
    *OUT_value = (float)d;
    return 0;
}

int v2_decode_value(const inferd_json_t *doc, int tok, inferd_dtype_t dtype, void *data, int64_t i)
{
    int64_t s;
    uint64_t u;
    double d;
    switch (dtype) {
    case INFERD_DT_BOOL: {
        inferd_json_kind_t kind = inferd_json_kind(doc, tok);
        if (kind != INFERD_JSON_TRUE && kind != INFERD_JSON_FALSE)
            return INFERD_EINVAL;
        ((uint8_t *)data)[i] = kind == INFERD_JSON_TRUE;
        return 0;
    }
#define SIGNED_CASE(suffix, type, lo, hi)                                                          \
    case INFERD_DT_##suffix:                                                                       \
        if (inferd_json_int64(doc, tok, &s) != 0 || s < (lo) || s > (hi))                          \
            return INFERD_EINVAL;                                                                  \
        ((type *)data)[i] = (type)s;                                                               \
        return 0;
        SIGNED_CASE(INT8, int8_t, INT8_MIN, INT8_MAX)
        SIGNED_CASE(INT16, int16_t, INT16_MIN, INT16_MAX)
        SIGNED_CASE(INT32, int32_t, INT32_MIN, INT32_MAX)
        SIGNED_CASE(INT64, int64_t, INT64_MIN, INT64_MAX)
#undef SIGNED_CASE
#define UNSIGNED_CASE(suffix, type, hi)                                                            \
    case INFERD_DT_##suffix:                                                                       \
        if (inferd_json_uint64(doc, tok, &u) != 0 || u > (hi))                                     \
            return INFERD_EINVAL;                                                                  \
        ((type *)data)[i] = (type)u;                                                               \
        return 0;
        UNSIGNED_CASE(UINT8, uint8_t, UINT8_MAX)
        UNSIGNED_CASE(UINT16, uint16_t, UINT16_MAX)
        UNSIGNED_CASE(UINT32, uint32_t, UINT32_MAX)
        UNSIGNED_CASE(UINT64, uint64_t, UINT64_MAX)
#undef UNSIGNED_CASE
    case INFERD_DT_FP32:
        return decode_f32(doc, tok, (float *)data + i);
    case INFERD_DT_FP64:
        if (inferd_json_double(doc, tok, &d) != 0)
            return INFERD_EINVAL;
        ((double *)data)[i] = d;
        return 0;
    default:
        return INFERD_EUNSUPPORTED;
    }
}

/* Nested data must follow the shape: the lists at depth d hold shape[d] items, and values sit
 * at depth ndim only. (Flat data is one list of values, checked by count alone.) Recursion is
 * bounded by the tensor's rank, not by the client's nesting. */
static bool nesting_matches(const inferd_json_t *doc, int tok, const inferd_tensor_t *t, int depth)
{
    bool is_list = inferd_json_kind(doc, tok) == INFERD_JSON_ARRAY;
    if (depth == t->ndim)
        return !is_list;
    if (!is_list || inferd_json_size(doc, tok) != t->shape[depth])
        return false;
    int child = tok + 1;
    for (int i = 0; i < inferd_json_size(doc, tok); i++, child = inferd_json_next(doc, child))
        if (!nesting_matches(doc, child, t, depth + 1))
            return false;
    return true;
}

const char *v2_value_hint(inferd_dtype_t dtype)
{
    if (dtype == INFERD_DT_BOOL)
        return " (use true or false)";
    if (dtype == INFERD_DT_FP32 || dtype == INFERD_DT_FP64)
        return " (finite numbers only)";
    return " (whole numbers within the type's range)";
}

static bool is_flat_list(const inferd_json_t *doc, int tok)
{
    if (inferd_json_kind(doc, tok) != INFERD_JSON_ARRAY)
        return false;
    return inferd_json_next(doc, tok) == tok + 1 + inferd_json_size(doc, tok);
}

static int decode_data(const inferd_json_t *doc, int data_tok, inferd_tensor_t *t,
                       inferd_arena_t *arena, inferd_err_t *err)
{
    char shape[128];
    int end = inferd_json_next(doc, data_tok);
    int64_t leaves = 0;
    bool is_scalar = inferd_json_kind(doc, data_tok) != INFERD_JSON_ARRAY;
    int first = is_scalar ? data_tok : data_tok + 1;
    for (int tok = first; tok < end; tok++) {
        inferd_json_kind_t kind = inferd_json_kind(doc, tok);
        if (kind == INFERD_JSON_ARRAY)
            continue;
        if (kind == INFERD_JSON_OBJECT || kind == INFERD_JSON_STRING || kind == INFERD_JSON_NULL)
            return decode_fail(err, INFERD_EINVAL, t->name,
                               "\"data\" may hold only numbers (or true/false for BOOL), in flat "
                               "or nested lists");
        leaves++;
    }
    int64_t expected = inferd_tensor_count(t);
    bool is_flat_array = is_flat_list(doc, data_tok);
    if (leaves == expected && !is_flat_array && !nesting_matches(doc, data_tok, t, 0))
        return inferd_fail(err, INFERD_EINVAL,
                           "input '%s': nested \"data\" does not follow shape %s; send one flat "
                           "list of values or lists nested exactly as the shape",
                           t->name, inferd_shape_str(t->shape, t->ndim, shape, sizeof(shape)));
    if (leaves != expected)
        return inferd_fail(
            err, INFERD_EINVAL, "input '%s': \"data\" has %lld values but shape %s needs %lld",
            t->name, (long long)leaves, inferd_shape_str(t->shape, t->ndim, shape, sizeof(shape)),
            (long long)expected);
    size_t bytes = (size_t)expected * inferd_dtype_size(t->dtype);
    t->data = inferd_arena_alloc(arena, bytes ? bytes : 1);
    if (t->data == NULL)
        return decode_fail(err, INFERD_ETOOBIG, t->name, "too large for the request memory limit");
    /* in a flat list, the common case, every token from `first` on is a value: no nested lists
     * to skip, and FP32 values convert directly */
    bool is_flat = is_scalar || is_flat_array;
    int64_t i = 0;
    for (int tok = first; tok < end; tok++) {
        if (is_flat && t->dtype == INFERD_DT_FP32 &&
            decode_f32(doc, tok, (float *)t->data + i) == 0) {
            i++;
            continue;
        }
        if (!is_flat && inferd_json_kind(doc, tok) == INFERD_JSON_ARRAY)
            continue;
        if (v2_decode_value(doc, tok, t->dtype, t->data, i) != 0) {
            size_t raw_len;
            const char *raw = inferd_json_raw(doc, tok, &raw_len);
            return inferd_fail(err, INFERD_EINVAL,
                               "input '%s': value %lld (%.*s) is not a valid %s%s", t->name,
                               (long long)i, (int)(raw_len > 40 ? 40 : raw_len), raw,
                               inferd_dtype_name(t->dtype), v2_value_hint(t->dtype));
        }
        i++;
    }
    return 0;
}

static int decode_input(const inferd_json_t *doc, int tok, inferd_arena_t *arena,
                        inferd_tensor_t *t, inferd_err_t *err)
{
    if (inferd_json_kind(doc, tok) != INFERD_JSON_OBJECT)
        return inferd_fail(err, INFERD_EINVAL,
                           "each entry of \"inputs\" must be an object with "
                           "name, datatype, shape and data");
    int name = inferd_json_get(doc, tok, "name");
    char *text;
    size_t text_len;
    if (name < 0 || inferd_json_string(doc, name, arena, &text, NULL) != 0)
        return inferd_fail(err, INFERD_EINVAL, "an input has no \"name\" string");
    t->name = text;
    int datatype = inferd_json_get(doc, tok, "datatype");
    if (datatype < 0 || inferd_json_string(doc, datatype, arena, &text, &text_len) != 0)
        return decode_fail(err, INFERD_EINVAL, t->name, "\"datatype\" string is missing");
    t->dtype = inferd_dtype_from_name(text, text_len);
    if (t->dtype == INFERD_DT_BYTES || t->dtype == INFERD_DT_FP16)
        return inferd_fail(err, INFERD_EUNSUPPORTED, "input '%s': datatype %s is not supported yet",
                           t->name, text);
    if (t->dtype == INFERD_DT_INVALID)
        return inferd_fail(err, INFERD_EINVAL,
                           "input '%s': unknown datatype '%s' (use BOOL, INT8, INT16, INT32, "
                           "INT64, UINT8, UINT16, UINT32, UINT64, FP32 or FP64)",
                           t->name, text);
    int shape = inferd_json_get(doc, tok, "shape");
    if (shape < 0 || inferd_json_kind(doc, shape) != INFERD_JSON_ARRAY ||
        inferd_json_size(doc, shape) > INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EINVAL,
                           "input '%s': \"shape\" must be a list of at most %d dimensions", t->name,
                           INFERD_MAX_DIMS);
    t->ndim = inferd_json_size(doc, shape);
    for (int d = 0, dim = shape + 1; d < t->ndim; d++, dim = inferd_json_next(doc, dim))
        if (inferd_json_int64(doc, dim, &t->shape[d]) != 0 || t->shape[d] < 0)
            return decode_fail(err, INFERD_EINVAL, t->name,
                               "\"shape\" must hold non-negative integers");
    if (inferd_tensor_count(t) < 0)
        return decode_fail(err, INFERD_EINVAL, t->name, "\"shape\" is too large");
    int parameters = inferd_json_get(doc, tok, "parameters");
    if (parameters >= 0 && inferd_json_get(doc, parameters, "binary_data_size") >= 0)
        return decode_fail(err, INFERD_EUNSUPPORTED, t->name,
                           "the binary tensor extension is not supported yet; send \"data\"");
    int data = inferd_json_get(doc, tok, "data");
    if (data < 0)
        return decode_fail(err, INFERD_EINVAL, t->name, "\"data\" is missing");
    return decode_data(doc, data, t, arena, err);
}

static int decode_outputs(const inferd_json_t *doc, int tok, inferd_arena_t *arena,
                          inferd_request_t *req, inferd_err_t *err)
{
    if (inferd_json_kind(doc, tok) != INFERD_JSON_ARRAY)
        return inferd_fail(err, INFERD_EINVAL, "\"outputs\" must be a list of {\"name\": ...}");
    size_t count = (size_t)inferd_json_size(doc, tok);
    req->output_names = inferd_arena_calloc(arena, count + 1, sizeof(char *));
    if (req->output_names == NULL)
        return inferd_fail(err, INFERD_ETOOBIG, "too many outputs requested");
    int item = tok + 1;
    for (size_t i = 0; i < count; i++, item = inferd_json_next(doc, item)) {
        int name = inferd_json_get(doc, item, "name");
        if (name < 0 || inferd_json_string(doc, name, arena, &req->output_names[i], NULL) != 0)
            return inferd_fail(err, INFERD_EINVAL,
                               "each entry of \"outputs\" must be an object with a \"name\"");
    }
    req->n_output_names = count;
    req->has_output_filter = true;
    return 0;
}

int v2_decode_parameters(const inferd_json_t *doc, int parameters, inferd_request_t *req,
                         inferd_err_t *err)
{
    req->timeout_us = -1;
    if (parameters < 0)
        return 0;
    if (inferd_json_kind(doc, parameters) != INFERD_JSON_OBJECT)
        return inferd_fail(err, INFERD_EINVAL, "\"parameters\" must be an object");
    int priority = inferd_json_get(doc, parameters, "priority");
    if (priority >= 0 && (inferd_json_int64(doc, priority, &req->priority) != 0 ||
                          req->priority < 0 || req->priority > 1000000))
        return inferd_fail(err, INFERD_EINVAL,
                           "parameters.priority must be a whole number (1 is the highest level)");
    int timeout = inferd_json_get(doc, parameters, "timeout");
    if (timeout >= 0 &&
        (inferd_json_int64(doc, timeout, &req->timeout_us) != 0 || req->timeout_us < 0))
        return inferd_fail(err, INFERD_EINVAL,
                           "parameters.timeout must be a whole number of microseconds");
    return 0;
}

int v2_decode_infer_request(const char *body, size_t len, inferd_arena_t *arena,
                            inferd_request_t *req, inferd_err_t *err)
{
    inferd_json_t doc;
    memset(req, 0, sizeof(*req));
    req->arena = arena;
    int rc = inferd_json_parse(&doc, body, len, arena, err);
    return rc != 0 ? rc : v2_decode_infer_doc(&doc, arena, req, err);
}

int v2_decode_infer_doc(const inferd_json_t *doc, inferd_arena_t *arena, inferd_request_t *req,
                        inferd_err_t *err)
{
    int rc;
    memset(req, 0, sizeof(*req));
    req->arena = arena;
    if (inferd_json_kind(doc, 0) != INFERD_JSON_OBJECT)
        return inferd_fail(err, INFERD_EINVAL,
                           "request body must be a JSON object with an \"inputs\" list");
    int id = inferd_json_get(doc, 0, "id");
    if (id >= 0 && inferd_json_string(doc, id, arena, &req->id, NULL) != 0)
        return inferd_fail(err, INFERD_EINVAL, "\"id\" must be a string");
    rc = v2_decode_parameters(doc, inferd_json_get(doc, 0, "parameters"), req, err);
    if (rc != 0)
        return rc;
    int inputs = inferd_json_get(doc, 0, "inputs");
    if (inputs < 0 || inferd_json_kind(doc, inputs) != INFERD_JSON_ARRAY)
        return inferd_fail(err, INFERD_EINVAL,
                           "request body needs an \"inputs\" list of tensors, e.g. {\"inputs\": "
                           "[{\"name\": \"input\", \"datatype\": \"FP32\", \"shape\": [1, 2], "
                           "\"data\": [0.5, 1.5]}]}");
    size_t n_inputs = (size_t)inferd_json_size(doc, inputs);
    req->inputs = inferd_arena_calloc(arena, n_inputs + 1, sizeof(*req->inputs));
    if (req->inputs == NULL)
        return inferd_fail(err, INFERD_ETOOBIG, "too many inputs");
    int item = inputs + 1;
    for (size_t i = 0; i < n_inputs; i++, item = inferd_json_next(doc, item)) {
        rc = decode_input(doc, item, arena, &req->inputs[i], err);
        if (rc != 0)
            return rc;
    }
    req->n_inputs = n_inputs;
    int outputs = inferd_json_get(doc, 0, "outputs");
    if (outputs >= 0)
        return decode_outputs(doc, outputs, arena, req, err);
    return 0;
}

/* ==== encoding ==== */

void v2_encode_element(inferd_jsonw_t *w, inferd_dtype_t dtype, const void *data, int64_t i)
{
    switch (dtype) {
    case INFERD_DT_BOOL:
        inferd_jsonw_bool(w, ((const uint8_t *)data)[i] != 0);
        break;
    case INFERD_DT_UINT8:
        inferd_jsonw_uint(w, ((const uint8_t *)data)[i]);
        break;
    case INFERD_DT_UINT16:
        inferd_jsonw_uint(w, ((const uint16_t *)data)[i]);
        break;
    case INFERD_DT_UINT32:
        inferd_jsonw_uint(w, ((const uint32_t *)data)[i]);
        break;
    case INFERD_DT_UINT64:
        inferd_jsonw_uint(w, ((const uint64_t *)data)[i]);
        break;
    case INFERD_DT_INT8:
        inferd_jsonw_int(w, ((const int8_t *)data)[i]);
        break;
    case INFERD_DT_INT16:
        inferd_jsonw_int(w, ((const int16_t *)data)[i]);
        break;
    case INFERD_DT_INT32:
        inferd_jsonw_int(w, ((const int32_t *)data)[i]);
        break;
    case INFERD_DT_INT64:
        inferd_jsonw_int(w, ((const int64_t *)data)[i]);
        break;
    case INFERD_DT_FP32:
        inferd_jsonw_f32(w, ((const float *)data)[i]);
        break;
    case INFERD_DT_FP64:
        inferd_jsonw_f64(w, ((const double *)data)[i]);
        break;
    default:
        inferd_jsonw_lit(w, "null");
        break;
    }
}

void v2_encode_tensor(inferd_jsonw_t *w, const inferd_tensor_t *t)
{
    inferd_jsonw_lit(w, "{\"name\":");
    inferd_jsonw_cstr(w, t->name);
    inferd_jsonw_lit(w, ",\"datatype\":\"");
    inferd_jsonw_lit(w, inferd_dtype_name(t->dtype));
    inferd_jsonw_lit(w, "\",\"shape\":[");
    for (int d = 0; d < t->ndim; d++) {
        if (d > 0)
            inferd_jsonw_lit(w, ",");
        inferd_jsonw_int(w, t->shape[d]);
    }
    inferd_jsonw_lit(w, "],\"data\":[");
    int64_t n = inferd_tensor_count(t);
    for (int64_t i = 0; i < n; i++) {
        if (i > 0)
            inferd_jsonw_raw(w, ",", 1);
        v2_encode_element(w, t->dtype, t->data, i);
    }
    inferd_jsonw_lit(w, "]}");
}

void v2_encode_infer_response(inferd_jsonw_t *w, const inferd_model_version_t *v,
                              const inferd_request_t *req, const inferd_response_t *resp)
{
    inferd_jsonw_lit(w, "{\"model_name\":");
    inferd_jsonw_cstr(w, v->model_name);
    inferd_jsonw_lit(w, ",\"model_version\":");
    inferd_jsonw_cstr(w, v->version_str);
    if (req->id != NULL) {
        inferd_jsonw_lit(w, ",\"id\":");
        inferd_jsonw_cstr(w, req->id);
    }
    inferd_jsonw_lit(w, ",\"outputs\":[");
    for (size_t i = 0; i < resp->n_outputs; i++) {
        if (i > 0)
            inferd_jsonw_lit(w, ",");
        v2_encode_tensor(w, &resp->outputs[i]);
    }
    inferd_jsonw_lit(w, "]}");
}
