/* The prediction APIs under /v1 for people coming from TF Serving and from hand-written
 * services: TF Serving's REST :predict (row and columnar formats) and model metadata, and
 * POST /v1/models/{m}/predict in the seed designs' shape ({"instances"} -> {"predictions",
 * "model_name", "model_version", "latency_ms", "request_id"}). Both predict APIs are codecs on
 * the shared inference path (infer_path.c); the body formats live in tfs_codec.c. */
#include "call.h"
#include "inferd/random.h"
#include "infer_path.h"
#include "tfs_codec.h"
#include "v2_codec.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <time.h>

/* ==== TF Serving: POST /v1/models/{m}[/versions/{v}|/labels/{l}]:predict ==== */

typedef struct {
    tfs_format_t format;
    int64_t rows; /* instances, row format only */
} tfs_state_t;

static int tfs_decode(const inferd_json_t *doc, const inferd_model_version_t *v,
                      inferd_arena_t *arena, inferd_request_t *req, void **OUT_state,
                      inferd_err_t *err)
{
    tfs_state_t *state = inferd_arena_alloc(arena, sizeof(*state));
    if (state == NULL)
        return inferd_fail(err, INFERD_ETOOBIG, "request too large for the request memory limit");
    *OUT_state = state;
    return tfs_decode_predict(doc, &v->sig, arena, req, &state->format, &state->rows, err);
}

/* {"predictions": ...} or {"outputs": ...}, nothing else, as TF Serving answers. */
static int tfs_encode(inferd_jsonw_t *w, const inferd_model_version_t *v,
                      const inferd_request_t *req, const inferd_response_t *resp, void *state,
                      uint64_t elapsed_ns, inferd_err_t *err)
{
    const tfs_state_t *tfs = state;
    if (tfs->format == TFS_FORMAT_COLUMNAR) {
        inferd_jsonw_lit(w, "{\"outputs\":");
        tfs_encode_columns(w, resp);
    } else {
        inferd_jsonw_lit(w, "{\"predictions\":");
        int rc = tfs_encode_rows(w, resp, tfs->rows, err);
        if (rc != 0)
            return rc;
    }
    inferd_jsonw_lit(w, "}");
    return 0;
}

static const http_infer_codec_t tfs_predict_codec = {
    .name = "tfs",
    .decode = tfs_decode,
    .encode = tfs_encode,
};

void tfs_predict(http_call_t *call)
{
    http_infer(call, &tfs_predict_codec);
}

/* ==== TF Serving: GET /v1/models/{m}[/versions/{v}|/labels/{l}]/metadata ==== */

void tfs_metadata(http_call_t *call)
{
    inferd_err_t err;
    inferd_model_version_t *v;
    int rc = call->label != NULL
                 ? inferd_repo_acquire_label(call->repo, call->model, call->label, &v, &err)
                 : inferd_repo_acquire(call->repo, call->model, call->version, &v, &err);
    if (rc != 0) {
        http_reply_error(call, &err);
        return;
    }
    http_set_model_version_header(call->req, v);
    tfs_encode_metadata(call->out, v);
    inferd_version_release(v);
    http_reply_json(call, 200);
}

/* ==== POST /v1/models/{m}/predict ==== */

typedef struct {
    int64_t rows;
    const char *request_id;
} v1_state_t;

/* A request id shaped like a UUID (in the arena): 64 random bits drawn once per process, then a
 * bijective mix of a counter, so no two calls in one process collide and runs differ. */
static const char *new_request_id(inferd_arena_t *arena)
{
    static atomic_uint_fast64_t counter;
    static _Atomic uint64_t process_bits;
    uint64_t bits = atomic_load_explicit(&process_bits, memory_order_relaxed);
    if (bits == 0) {
        uint64_t fresh = 0;
        if (getrandom(&fresh, sizeof(fresh), 0) != (ssize_t)sizeof(fresh)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            fresh = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
        }
        fresh |= 1; /* never 0, the "not yet" mark */
        uint64_t expected = 0;
        atomic_compare_exchange_strong(&process_bits, &expected, fresh);
        bits = atomic_load_explicit(&process_bits, memory_order_relaxed);
    }
    uint64_t n = atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
    uint64_t z = inferd_splitmix64(&n); /* a bijection: distinct counters give distinct ids */
    char *id = inferd_arena_alloc(arena, 40);
    if (id != NULL)
        snprintf(id, 40, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(bits >> 32),
                 (unsigned)(bits >> 16) & 0xffffu, (unsigned)bits & 0xffffu,
                 (unsigned)(z >> 48) & 0xffffu, (unsigned long long)(z & 0xffffffffffffu));
    return id;
}

/* "version": "2" (or 2, or a label such as "stable"). */
static int v1_body_version(const inferd_json_t *doc, inferd_arena_t *arena,
                           const char **OUT_version, inferd_err_t *err)
{
    *OUT_version = NULL;
    int version = inferd_json_get(doc, 0, "version");
    if (version < 0 || inferd_json_kind(doc, version) == INFERD_JSON_NULL)
        return 0;
    char *text = NULL;
    int64_t number;
    if (inferd_json_kind(doc, version) == INFERD_JSON_STRING) {
        if (inferd_json_string(doc, version, arena, &text, NULL) != 0)
            return inferd_fail(err, INFERD_EINVAL, "\"version\" is not a valid string");
    } else if (inferd_json_int64(doc, version, &number) == 0 && number > 0) {
        size_t len;
        const char *raw = inferd_json_raw(doc, version, &len);
        text = inferd_arena_strndup(arena, raw, len);
    } else {
        return inferd_fail(err, INFERD_EINVAL,
                           "\"version\" must be a version number such as \"2\" or a label");
    }
    if (text == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory reading \"version\"");
    *OUT_version = text;
    return 0;
}

/* The request's "request_id" (or "id"): a string, or a whole number kept as written. */
static int read_request_id(const inferd_json_t *doc, inferd_arena_t *arena, const char **OUT_id,
                           inferd_err_t *err)
{
    int id = inferd_json_get(doc, 0, "request_id");
    const char *field = "request_id";
    if (id < 0) {
        id = inferd_json_get(doc, 0, "id");
        field = "id";
    }
    char *text = NULL;
    int64_t number;
    if (id < 0 || inferd_json_kind(doc, id) == INFERD_JSON_NULL) {
        *OUT_id = new_request_id(arena);
    } else if (inferd_json_kind(doc, id) == INFERD_JSON_STRING) {
        if (inferd_json_string(doc, id, arena, &text, NULL) != 0)
            return inferd_fail(err, INFERD_EINVAL, "\"%s\" is not a valid string", field);
        *OUT_id = text;
    } else if (inferd_json_int64(doc, id, &number) == 0) {
        size_t len;
        const char *raw = inferd_json_raw(doc, id, &len);
        *OUT_id = inferd_arena_strndup(arena, raw, len);
    } else {
        return inferd_fail(err, INFERD_EINVAL, "\"%s\" must be a string", field);
    }
    return *OUT_id == NULL ? inferd_fail(err, INFERD_ETOOBIG, "request id too large") : 0;
}

static int v1_decode(const inferd_json_t *doc, const inferd_model_version_t *v,
                     inferd_arena_t *arena, inferd_request_t *req, void **OUT_state,
                     inferd_err_t *err)
{
    memset(req, 0, sizeof(*req));
    req->arena = arena;
    if (inferd_json_kind(doc, 0) != INFERD_JSON_OBJECT)
        return inferd_fail(err, INFERD_EINVAL,
                           "request body must be a JSON object: {\"instances\": [...]}");
    int instances = inferd_json_get(doc, 0, "instances");
    if (instances < 0)
        return inferd_fail(err, INFERD_EINVAL,
                           inferd_json_get(doc, 0, "inputs") >= 0
                               ? "this endpoint takes rows, {\"instances\": [...]}; for the "
                                 "columnar \"inputs\" use POST /v1/models/{model}:predict"
                               : "request body needs \"instances\", a list with one item per "
                                 "instance, e.g. {\"instances\": [[1.0, 2.0], [3.0, 4.0]]}");
    v1_state_t *state = inferd_arena_alloc(arena, sizeof(*state));
    if (state == NULL)
        return inferd_fail(err, INFERD_ETOOBIG, "request too large for the request memory limit");
    *OUT_state = state;
    int rc = tfs_decode_instances(doc, instances, &v->sig, arena, req, &state->rows, err);
    if (rc == 0)
        rc = v2_decode_parameters(doc, inferd_json_get(doc, 0, "parameters"), req, err);
    if (rc == 0)
        rc = read_request_id(doc, arena, &state->request_id, err);
    return rc;
}

static int v1_encode(inferd_jsonw_t *w, const inferd_model_version_t *v,
                     const inferd_request_t *req, const inferd_response_t *resp, void *state,
                     uint64_t elapsed_ns, inferd_err_t *err)
{
    const v1_state_t *v1 = state;
    char latency[32];
    inferd_jsonw_lit(w, "{\"predictions\":");
    int rc = tfs_encode_rows(w, resp, v1->rows, err);
    if (rc != 0)
        return rc;
    inferd_jsonw_lit(w, ",\"model_name\":");
    inferd_jsonw_cstr(w, v->model_name);
    inferd_jsonw_lit(w, ",\"model_version\":");
    inferd_jsonw_cstr(w, v->version_str);
    snprintf(latency, sizeof(latency), "%.3f", (double)elapsed_ns / 1e6);
    inferd_jsonw_lit(w, ",\"latency_ms\":");
    inferd_jsonw_lit(w, latency);
    inferd_jsonw_lit(w, ",\"request_id\":");
    inferd_jsonw_cstr(w, v1->request_id);
    inferd_jsonw_lit(w, "}");
    return 0;
}

static const http_infer_codec_t v1_predict_codec = {
    .name = "v1",
    .body_version = v1_body_version,
    .decode = v1_decode,
    .encode = v1_encode,
};

void v1_predict(http_call_t *call)
{
    http_infer(call, &v1_predict_codec);
}
