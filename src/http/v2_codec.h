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

/* Writes the V2 response for `resp` (outputs of version `v`, echoing req->id) to `w`. */
void v2_encode_infer_response(inferd_jsonw_t *w, const inferd_model_version_t *v,
                              const inferd_request_t *req, const inferd_response_t *resp);

/* Writes one tensor as {"name","datatype","shape","data"} to `w`. */
void v2_encode_tensor(inferd_jsonw_t *w, const inferd_tensor_t *t);

#endif
