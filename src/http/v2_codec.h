/* The KServe V2 JSON forms of an inference request and response. */
#ifndef INFERD_HTTP_V2_CODEC_H
#define INFERD_HTTP_V2_CODEC_H

#include "inferd/arena.h"
#include "inferd/error.h"
#include "inferd/infer.h"
#include "inferd/json.h"
#include "inferd/model.h"

/* Decodes a V2 inference request body into `req`, everything allocated from `arena` (which also
 * becomes req->arena). Checks the JSON form and each tensor's own consistency (datatype known,
 * shape valid, element count equal to the shape's, every value representable in the datatype);
 * checking against a model is inferd_infer's job. Returns 0 or INFERD_EINVAL / INFERD_ETOOBIG /
 * INFERD_EUNSUPPORTED with a message naming the input. */
int v2_decode_infer_request(const char *body, size_t len, inferd_arena_t *arena,
                            inferd_request_t *req, inferd_err_t *err);

/* As v2_decode_infer_request for a body already parsed into `doc` (whose tokens may live in
 * another arena: nothing in `req` points into them). */
int v2_decode_infer_doc(const inferd_json_t *doc, inferd_arena_t *arena, inferd_request_t *req,
                        inferd_err_t *err);

/* Reads the scheduling parameters (priority, timeout) of the "parameters" object at token
 * `parameters` (-1: none given) into `req`; other parameters are ignored. Sets
 * req->timeout_us to -1 when none is given. Returns 0 or INFERD_EINVAL. */
int v2_decode_parameters(const inferd_json_t *doc, int parameters, inferd_request_t *req,
                         inferd_err_t *err);

/* Converts JSON value `tok` into element `i` of the array `data` of `dtype`: true/false for BOOL,
 * whole numbers within range for the integer types, finite numbers for FP32, any number for FP64.
 * Returns 0, INFERD_EINVAL (not representable) or INFERD_EUNSUPPORTED (FP16, BYTES). */
int v2_decode_value(const inferd_json_t *doc, int tok, inferd_dtype_t dtype, void *data, int64_t i);

/* What values `dtype` accepts, for error messages: " (use true or false)". */
const char *v2_value_hint(inferd_dtype_t dtype);

/* Writes the V2 response for `resp` (outputs of version `v`, echoing req->id) to `w`. */
void v2_encode_infer_response(inferd_jsonw_t *w, const inferd_model_version_t *v,
                              const inferd_request_t *req, const inferd_response_t *resp);

/* Writes element `i` of the array `data` of `dtype` as a JSON value (null for FP16 and BYTES). */
void v2_encode_element(inferd_jsonw_t *w, inferd_dtype_t dtype, const void *data, int64_t i);

/* Writes one tensor as {"name","datatype","shape","data"} to `w`. */
void v2_encode_tensor(inferd_jsonw_t *w, const inferd_tensor_t *t);

#endif
