/* TF Serving REST JSON <-> inferd_request_t / inferd_response_t (see tfs_codec.h). Unlike V2
 * tensors, these values carry neither datatype nor shape: the datatype comes from the signature
 * and the shape from the nesting, which is walked twice, once to learn and check the shape
 * (naming the first list that does not fit, "instances[3] has 63 values, expected 64"), once to
 * convert the values in row-major order. Recursion is bounded by the input's rank, never by the
 * client's nesting. */
#include "tfs_codec.h"

#include "v2_codec.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ==== walking one input's values ==== */

typedef struct {
    const inferd_json_t *doc;
    const inferd_io_spec_t *spec;
    bool is_row;   /* the value is one instance: depth 0 is the list of instances */
    bool is_named; /* the value sat under the input's name */
    bool is_filling;
    int64_t dims[INFERD_MAX_DIMS];  /* -1 until the first list at that depth is seen */
    bool is_open[INFERD_MAX_DIMS];  /* the signature allows any size there */
    int64_t index[INFERD_MAX_DIMS]; /* where the walk is, for messages */
    void *data;                     /* filling: the tensor's values */
    int64_t n_filled;
    inferd_err_t *err;
} walk_t;

static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    if (*used + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int wrote = vsnprintf(buf + *used, size - *used, fmt, ap);
    va_end(ap);
    if (wrote > 0)
        *used = *used + (size_t)wrote < size ? *used + (size_t)wrote : size - 1;
}

/* "instances[3].mask[1]" or "inputs[0][2]": the JSON path of the value at `depth`. */
static const char *where(const walk_t *w, int depth, char *buf, size_t size)
{
    size_t used = 0;
    int d = 0;
    buf[0] = '\0';
    if (w->is_row) {
        append(buf, size, &used, "instances[%lld]", (long long)w->index[0]);
        d = 1;
    } else {
        append(buf, size, &used, "inputs");
    }
    if (w->is_named)
        append(buf, size, &used, ".%s", w->spec->name);
    for (; d < depth; d++)
        append(buf, size, &used, "[%lld]", (long long)w->index[d]);
    return buf;
}

static const char *kind_text(inferd_json_kind_t kind)
{
    switch (kind) {
    case INFERD_JSON_OBJECT:
        return "an object";
    case INFERD_JSON_ARRAY:
        return "a list";
    case INFERD_JSON_STRING:
        return "a string";
    case INFERD_JSON_NUMBER:
        return "a number";
    case INFERD_JSON_TRUE:
    case INFERD_JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static int walk(walk_t *w, int tok, int depth)
{
    char path[256], shape[128];
    const inferd_io_spec_t *spec = w->spec;
    inferd_json_kind_t kind = inferd_json_kind(w->doc, tok);
    if (depth == spec->ndim) {
        if (kind == INFERD_JSON_ARRAY || kind == INFERD_JSON_OBJECT)
            return inferd_fail(w->err, INFERD_EINVAL,
                               "%s is %s where input '%s' (shape %s) has a single value; nest "
                               "lists exactly as the shape",
                               where(w, depth, path, sizeof(path)), kind_text(kind), spec->name,
                               inferd_shape_str(spec->shape, spec->ndim, shape, sizeof(shape)));
        if (!w->is_filling)
            return 0;
        if (v2_decode_value(w->doc, tok, spec->dtype, w->data, w->n_filled) != 0) {
            size_t raw_len;
            const char *raw = inferd_json_raw(w->doc, tok, &raw_len);
            return inferd_fail(w->err, INFERD_EINVAL,
                               "%s is not a valid %s for input '%s': %s%.*s%s",
                               where(w, depth, path, sizeof(path)), inferd_dtype_name(spec->dtype),
                               spec->name, kind == INFERD_JSON_STRING ? "a string, " : "",
                               (int)(raw_len > 40 ? 40 : raw_len), raw, v2_value_hint(spec->dtype));
        }
        w->n_filled++;
        return 0;
    }
    const char *unit = depth == spec->ndim - 1 ? "values" : "lists";
    if (kind != INFERD_JSON_ARRAY) {
        if (w->dims[depth] >= 0)
            return inferd_fail(w->err, INFERD_EINVAL,
                               "%s is %s, expected a list of %lld %s (input '%s' has shape %s)",
                               where(w, depth, path, sizeof(path)), kind_text(kind),
                               (long long)w->dims[depth], unit, spec->name,
                               inferd_shape_str(spec->shape, spec->ndim, shape, sizeof(shape)));
        return inferd_fail(w->err, INFERD_EINVAL,
                           "%s is %s, expected a list (input '%s' has shape %s)",
                           where(w, depth, path, sizeof(path)), kind_text(kind), spec->name,
                           inferd_shape_str(spec->shape, spec->ndim, shape, sizeof(shape)));
    }
    int64_t size = inferd_json_size(w->doc, tok);
    const char *size_unit =
        depth == spec->ndim - 1 ? (size == 1 ? "value" : "values") : (size == 1 ? "list" : "lists");
    if (w->dims[depth] < 0) {
        w->dims[depth] = size;
    } else if (size != w->dims[depth]) {
        if (w->is_open[depth])
            return inferd_fail(w->err, INFERD_EINVAL,
                               "%s has %lld %s, expected %lld like the first list at that depth "
                               "(input '%s' has shape %s; lists must not be ragged)",
                               where(w, depth, path, sizeof(path)), (long long)size, size_unit,
                               (long long)w->dims[depth], spec->name,
                               inferd_shape_str(spec->shape, spec->ndim, shape, sizeof(shape)));
        return inferd_fail(w->err, INFERD_EINVAL,
                           "%s has %lld %s, expected %lld (input '%s' has shape %s)",
                           where(w, depth, path, sizeof(path)), (long long)size, size_unit,
                           (long long)w->dims[depth], spec->name,
                           inferd_shape_str(spec->shape, spec->ndim, shape, sizeof(shape)));
    }
    int child = tok + 1;
    for (int64_t i = 0; i < size; i++, child = inferd_json_next(w->doc, child)) {
        w->index[depth] = i;
        int rc = walk(w, child, depth + 1);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void walk_init(walk_t *w, const inferd_json_t *doc, const inferd_io_spec_t *spec,
                      bool is_row, bool is_named, inferd_err_t *err)
{
    memset(w, 0, sizeof(*w));
    w->doc = doc;
    w->spec = spec;
    w->is_row = is_row;
    w->is_named = is_named;
    w->err = err;
    for (int d = 0; d < spec->ndim; d++) {
        w->dims[d] = spec->shape[d];
        w->is_open[d] = spec->shape[d] < 0;
    }
}

/* After the checking walk: allocates the tensor for the shape learnt and starts filling. */
static int walk_allocate(walk_t *w, inferd_arena_t *arena, inferd_tensor_t *t)
{
    const inferd_io_spec_t *spec = w->spec;
    for (int d = 0; d < spec->ndim; d++)
        if (w->dims[d] < 0)
            w->dims[d] = 0; /* only empty lists were seen above this depth */
    t->name = spec->name;
    t->dtype = spec->dtype;
    t->ndim = spec->ndim;
    memcpy(t->shape, w->dims, sizeof(t->shape[0]) * (size_t)spec->ndim);
    int64_t bytes = inferd_tensor_bytes(t);
    if (bytes < 0 || (t->data = inferd_arena_alloc(arena, bytes ? (size_t)bytes : 1)) == NULL)
        return inferd_fail(w->err, INFERD_ETOOBIG,
                           "input '%s' is too large for the request memory limit", spec->name);
    w->data = t->data;
    w->is_filling = true;
    w->n_filled = 0;
    return 0;
}

/* ==== signatures ==== */

/* "'a', 'b'": the model's input names, for messages. */
static const char *input_names(const inferd_signature_t *sig, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sig->n_inputs; i++)
        append(buf, size, &used, "%s'%s'", i ? ", " : "", sig->inputs[i].name);
    return buf;
}

static int check_datatypes(const inferd_signature_t *sig, inferd_err_t *err)
{
    for (size_t i = 0; i < sig->n_inputs; i++) {
        inferd_dtype_t dtype = sig->inputs[i].dtype;
        if (dtype == INFERD_DT_FP16 || dtype == INFERD_DT_BYTES || dtype == INFERD_DT_INVALID)
            return inferd_fail(err, INFERD_EUNSUPPORTED,
                               "input '%s' has datatype %s, which inferd cannot read from JSON "
                               "yet",
                               sig->inputs[i].name, inferd_dtype_name(dtype));
    }
    return 0;
}

static int start_request(const inferd_signature_t *sig, inferd_arena_t *arena,
                         inferd_request_t *req, inferd_err_t *err)
{
    memset(req, 0, sizeof(*req));
    req->arena = arena;
    req->timeout_us = -1;
    req->inputs = inferd_arena_calloc(arena, sig->n_inputs + 1, sizeof(*req->inputs));
    if (req->inputs == NULL)
        return inferd_fail(err, INFERD_ETOOBIG, "request too large for the request memory limit");
    return check_datatypes(sig, err);
}

/* Checks that object `obj` names every input of `sig` once and nothing else; `what` says where
 * it is ("instances[2]", "inputs"). */
static int check_members(const inferd_json_t *doc, int obj, const inferd_signature_t *sig,
                         const char *what, inferd_err_t *err)
{
    char names[512];
    for (size_t i = 0; i < sig->n_inputs; i++)
        if (inferd_json_get(doc, obj, sig->inputs[i].name) < 0)
            return inferd_fail(err, INFERD_EINVAL, "%s has no input '%s' (the model takes %s)",
                               what, sig->inputs[i].name, input_names(sig, names, sizeof(names)));
    if ((size_t)inferd_json_size(doc, obj) == sig->n_inputs)
        return 0; /* every input found among exactly that many keys: no other key */
    int key = obj + 1;
    for (int m = 0; m < inferd_json_size(doc, obj); m++, key = inferd_json_next(doc, key + 1)) {
        bool is_known = false;
        for (size_t i = 0; i < sig->n_inputs && !is_known; i++)
            is_known = inferd_json_eq(doc, key, sig->inputs[i].name);
        if (!is_known) {
            size_t len;
            const char *raw = inferd_json_raw(doc, key, &len);
            return inferd_fail(
                err, INFERD_EINVAL, "%s has unknown input '%.*s' (the model takes %s)", what,
                (int)(len > 64 ? 64 : len), raw, input_names(sig, names, sizeof(names)));
        }
    }
    return inferd_fail(err, INFERD_EINVAL, "%s gives an input more than once", what);
}

/* ==== row format ==== */

static int decode_row_input(const inferd_json_t *doc, int instances, const inferd_io_spec_t *spec,
                            bool is_named, inferd_arena_t *arena, inferd_tensor_t *t,
                            inferd_err_t *err)
{
    char shape[128];
    int64_t rows = inferd_json_size(doc, instances);
    if (spec->ndim == 0)
        return inferd_fail(err, INFERD_EINVAL,
                           "input '%s' is a single value (shape []), which instances cannot "
                           "carry; send it in the columnar format, {\"inputs\": ...}",
                           spec->name);
    if (spec->shape[0] >= 0 && spec->shape[0] != rows)
        return inferd_fail(err, INFERD_EINVAL,
                           "\"instances\" has %lld items but input '%s' takes exactly %lld (shape "
                           "%s)",
                           (long long)rows, spec->name, (long long)spec->shape[0],
                           inferd_shape_str(spec->shape, spec->ndim, shape, sizeof(shape)));
    walk_t w;
    walk_init(&w, doc, spec, true, is_named, err);
    w.dims[0] = rows;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && walk_allocate(&w, arena, t) != 0)
            return err->code;
        int item = instances + 1;
        for (int64_t i = 0; i < rows; i++, item = inferd_json_next(doc, item)) {
            w.index[0] = i;
            int value = is_named ? inferd_json_get(doc, item, spec->name) : item;
            int rc = walk(&w, value, 1);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int tfs_decode_instances(const inferd_json_t *doc, int instances, const inferd_signature_t *sig,
                         inferd_arena_t *arena, inferd_request_t *req, int64_t *OUT_rows,
                         inferd_err_t *err)
{
    char names[512], what[64];
    *OUT_rows = -1;
    int rc = start_request(sig, arena, req, err);
    if (rc != 0)
        return rc;
    if (inferd_json_kind(doc, instances) != INFERD_JSON_ARRAY)
        return inferd_fail(err, INFERD_EINVAL,
                           "\"instances\" must be a list with one item per instance, e.g. "
                           "{\"instances\": [[1.0, 2.0], [3.0, 4.0]]}");
    int64_t rows = inferd_json_size(doc, instances);
    if (rows == 0)
        return inferd_fail(err, INFERD_EINVAL, "\"instances\" is empty; send at least one");
    bool is_named = inferd_json_kind(doc, instances + 1) == INFERD_JSON_OBJECT;
    if (!is_named && sig->n_inputs != 1)
        return inferd_fail(err, INFERD_EINVAL,
                           "the model takes %zu inputs (%s): each instance must be an object "
                           "{\"<input name>\": value, ...}",
                           sig->n_inputs, input_names(sig, names, sizeof(names)));
    if (is_named) {
        int item = instances + 1;
        for (int64_t i = 0; i < rows; i++, item = inferd_json_next(doc, item)) {
            snprintf(what, sizeof(what), "instances[%lld]", (long long)i);
            if (inferd_json_kind(doc, item) != INFERD_JSON_OBJECT)
                return inferd_fail(err, INFERD_EINVAL,
                                   "%s is %s but instances[0] is an object; give every instance "
                                   "the same form",
                                   what, kind_text(inferd_json_kind(doc, item)));
            if ((rc = check_members(doc, item, sig, what, err)) != 0)
                return rc;
        }
    }
    for (size_t i = 0; i < sig->n_inputs; i++) {
        rc = decode_row_input(doc, instances, &sig->inputs[i], is_named, arena, &req->inputs[i],
                              err);
        if (rc != 0)
            return rc;
    }
    req->n_inputs = sig->n_inputs;
    *OUT_rows = rows;
    return 0;
}

/* ==== columnar format ==== */

static int decode_column(const inferd_json_t *doc, int value, const inferd_io_spec_t *spec,
                         bool is_named, inferd_arena_t *arena, inferd_tensor_t *t,
                         inferd_err_t *err)
{
    walk_t w;
    walk_init(&w, doc, spec, false, is_named, err);
    int rc = walk(&w, value, 0);
    if (rc == 0)
        rc = walk_allocate(&w, arena, t);
    if (rc == 0)
        rc = walk(&w, value, 0);
    return rc;
}

int tfs_decode_columns(const inferd_json_t *doc, int inputs, const inferd_signature_t *sig,
                       inferd_arena_t *arena, inferd_request_t *req, inferd_err_t *err)
{
    char names[512];
    int rc = start_request(sig, arena, req, err);
    if (rc != 0)
        return rc;
    bool is_named = inferd_json_kind(doc, inputs) == INFERD_JSON_OBJECT;
    if (!is_named && sig->n_inputs != 1)
        return inferd_fail(err, INFERD_EINVAL,
                           "the model takes %zu inputs (%s): \"inputs\" must be an object "
                           "{\"<input name>\": value, ...}",
                           sig->n_inputs, input_names(sig, names, sizeof(names)));
    if (is_named && (rc = check_members(doc, inputs, sig, "\"inputs\"", err)) != 0)
        return rc;
    for (size_t i = 0; i < sig->n_inputs; i++) {
        int value = is_named ? inferd_json_get(doc, inputs, sig->inputs[i].name) : inputs;
        rc = decode_column(doc, value, &sig->inputs[i], is_named, arena, &req->inputs[i], err);
        if (rc != 0)
            return rc;
    }
    req->n_inputs = sig->n_inputs;
    return 0;
}

int tfs_decode_predict(const inferd_json_t *doc, const inferd_signature_t *sig,
                       inferd_arena_t *arena, inferd_request_t *req, tfs_format_t *OUT_format,
                       int64_t *OUT_rows, inferd_err_t *err)
{
    memset(req, 0, sizeof(*req));
    req->arena = arena;
    *OUT_rows = -1;
    if (inferd_json_kind(doc, 0) != INFERD_JSON_OBJECT)
        return inferd_fail(err, INFERD_EINVAL,
                           "request body must be a JSON object: {\"instances\": [...]} (row "
                           "format) or {\"inputs\": ...} (columnar format)");
    int signature = inferd_json_get(doc, 0, "signature_name");
    if (signature >= 0 && !inferd_json_eq(doc, signature, "") &&
        !inferd_json_eq(doc, signature, "serving_default")) {
        size_t len;
        const char *raw = inferd_json_raw(doc, signature, &len);
        return inferd_fail(err, INFERD_EINVAL,
                           "%s%.*s%s is not a signature of this model; its only signature is "
                           "\"serving_default\" (or leave signature_name out)",
                           inferd_json_kind(doc, signature) == INFERD_JSON_STRING
                               ? "signature_name '"
                               : "signature_name ",
                           (int)(len > 64 ? 64 : len), raw,
                           inferd_json_kind(doc, signature) == INFERD_JSON_STRING ? "'" : "");
    }
    int instances = inferd_json_get(doc, 0, "instances");
    int inputs = inferd_json_get(doc, 0, "inputs");
    if (instances >= 0 && inputs >= 0)
        return inferd_fail(err, INFERD_EINVAL,
                           "send either \"instances\" (row format) or \"inputs\" (columnar "
                           "format), not both");
    if (instances >= 0) {
        *OUT_format = TFS_FORMAT_ROW;
        return tfs_decode_instances(doc, instances, sig, arena, req, OUT_rows, err);
    }
    if (inputs >= 0) {
        *OUT_format = TFS_FORMAT_COLUMNAR;
        return tfs_decode_columns(doc, inputs, sig, arena, req, err);
    }
    return inferd_fail(err, INFERD_EINVAL,
                       "request body needs \"instances\" (row format, e.g. {\"instances\": [[1.0, "
                       "2.0]]}) or \"inputs\" (columnar format)");
}

/* ==== encoding ==== */

/* Writes the values of `t` from element *offset on as lists nested from dimension `depth`. */
static void write_nested(inferd_jsonw_t *w, const inferd_tensor_t *t, int depth, int64_t *offset)
{
    if (depth == t->ndim) {
        v2_encode_element(w, t->dtype, t->data, (*offset)++);
        return;
    }
    inferd_jsonw_raw(w, "[", 1);
    for (int64_t i = 0; i < t->shape[depth]; i++) {
        if (i > 0)
            inferd_jsonw_raw(w, ",", 1);
        write_nested(w, t, depth + 1, offset);
    }
    inferd_jsonw_raw(w, "]", 1);
}

static void write_row(inferd_jsonw_t *w, const inferd_tensor_t *t, int64_t rows, int64_t row)
{
    int64_t per_row = inferd_tensor_count(t) / rows;
    int64_t offset = row * per_row;
    write_nested(w, t, 1, &offset);
}

int tfs_encode_rows(inferd_jsonw_t *w, const inferd_response_t *resp, int64_t rows,
                    inferd_err_t *err)
{
    char shape[128];
    for (size_t o = 0; o < resp->n_outputs; o++) {
        const inferd_tensor_t *t = &resp->outputs[o];
        if (t->ndim < 1 || t->shape[0] != rows)
            return inferd_fail(err, INFERD_EINVAL,
                               "output '%s' has shape %s, not one row per instance (%lld); send "
                               "the columnar format, {\"inputs\": ...}, to get it whole",
                               t->name, inferd_shape_str(t->shape, t->ndim, shape, sizeof(shape)),
                               (long long)rows);
    }
    inferd_jsonw_raw(w, "[", 1);
    for (int64_t r = 0; r < rows; r++) {
        if (r > 0)
            inferd_jsonw_raw(w, ",", 1);
        if (resp->n_outputs == 1) {
            write_row(w, &resp->outputs[0], rows, r);
            continue;
        }
        inferd_jsonw_raw(w, "{", 1);
        for (size_t o = 0; o < resp->n_outputs; o++) {
            if (o > 0)
                inferd_jsonw_raw(w, ",", 1);
            inferd_jsonw_cstr(w, resp->outputs[o].name);
            inferd_jsonw_raw(w, ":", 1);
            write_row(w, &resp->outputs[o], rows, r);
        }
        inferd_jsonw_raw(w, "}", 1);
    }
    inferd_jsonw_raw(w, "]", 1);
    return 0;
}

void tfs_encode_columns(inferd_jsonw_t *w, const inferd_response_t *resp)
{
    int64_t offset = 0;
    if (resp->n_outputs == 1) {
        write_nested(w, &resp->outputs[0], 0, &offset);
        return;
    }
    inferd_jsonw_raw(w, "{", 1);
    for (size_t o = 0; o < resp->n_outputs; o++) {
        if (o > 0)
            inferd_jsonw_raw(w, ",", 1);
        inferd_jsonw_cstr(w, resp->outputs[o].name);
        inferd_jsonw_raw(w, ":", 1);
        offset = 0;
        write_nested(w, &resp->outputs[o], 0, &offset);
    }
    inferd_jsonw_raw(w, "}", 1);
}

/* TensorFlow's DataType name of `dtype` (tensorflow/core/framework/types.proto). */
static const char *tf_dtype_name(inferd_dtype_t dtype)
{
    static const char *const names[INFERD_DT_COUNT] = {
        [INFERD_DT_BOOL] = "DT_BOOL",     [INFERD_DT_UINT8] = "DT_UINT8",
        [INFERD_DT_UINT16] = "DT_UINT16", [INFERD_DT_UINT32] = "DT_UINT32",
        [INFERD_DT_UINT64] = "DT_UINT64", [INFERD_DT_INT8] = "DT_INT8",
        [INFERD_DT_INT16] = "DT_INT16",   [INFERD_DT_INT32] = "DT_INT32",
        [INFERD_DT_INT64] = "DT_INT64",   [INFERD_DT_FP16] = "DT_HALF",
        [INFERD_DT_FP32] = "DT_FLOAT",    [INFERD_DT_FP64] = "DT_DOUBLE",
        [INFERD_DT_BYTES] = "DT_STRING",
    };
    return dtype > INFERD_DT_INVALID && dtype < INFERD_DT_COUNT && names[dtype] ? names[dtype]
                                                                                : "DT_INVALID";
}

/* {"name": {"dtype", "tensor_shape": {"dim": [{"size": "-1", "name": ""}], "unknown_rank"},
 * "name"}, ...}: a TensorInfo map; sizes are strings as proto3 JSON writes int64. */
static void write_tensor_infos(inferd_jsonw_t *w, const inferd_io_spec_t *specs, size_t n)
{
    inferd_jsonw_raw(w, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            inferd_jsonw_raw(w, ",", 1);
        inferd_jsonw_cstr(w, specs[i].name);
        inferd_jsonw_lit(w, ":{\"dtype\":\"");
        inferd_jsonw_lit(w, tf_dtype_name(specs[i].dtype));
        inferd_jsonw_lit(w, "\",\"tensor_shape\":{\"dim\":[");
        for (int d = 0; d < specs[i].ndim; d++) {
            char size[24];
            snprintf(size, sizeof(size), "%lld", (long long)specs[i].shape[d]);
            inferd_jsonw_lit(w, d ? ",{\"size\":\"" : "{\"size\":\"");
            inferd_jsonw_lit(w, size);
            inferd_jsonw_lit(w, "\",\"name\":\"\"}");
        }
        inferd_jsonw_lit(w, "],\"unknown_rank\":false},\"name\":");
        inferd_jsonw_cstr(w, specs[i].name);
        inferd_jsonw_raw(w, "}", 1);
    }
    inferd_jsonw_raw(w, "}", 1);
}

void tfs_encode_metadata(inferd_jsonw_t *w, const inferd_model_version_t *v)
{
    inferd_jsonw_lit(w, "{\"model_spec\":{\"name\":");
    inferd_jsonw_cstr(w, v->model_name);
    inferd_jsonw_lit(w, ",\"signature_name\":\"\",\"version\":");
    inferd_jsonw_cstr(w, v->version_str);
    inferd_jsonw_lit(w, "},\"metadata\":{\"signature_def\":{\"signature_def\":{"
                        "\"serving_default\":{\"inputs\":");
    write_tensor_infos(w, v->sig.inputs, v->sig.n_inputs);
    inferd_jsonw_lit(w, ",\"outputs\":");
    write_tensor_infos(w, v->sig.outputs, v->sig.n_outputs);
    inferd_jsonw_lit(w, ",\"method_name\":\"tensorflow/serving/predict\"}}}}}");
}
