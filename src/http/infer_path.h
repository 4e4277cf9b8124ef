/* The one path every HTTP inference request takes, whatever its protocol (KServe V2, TF Serving,
 * the /v1 predict API): resolve the version, decode, run inline or through the version's
 * scheduler, encode, record the version's statistics. A protocol plugs in as a codec. */
#ifndef INFERD_HTTP_INFER_PATH_H
#define INFERD_HTTP_INFER_PATH_H

#include <stdbool.h>
#include <stdint.h>

#include "call.h"
#include "inferd/infer.h"
#include "inferd/json.h"
#include "inferd/model.h"

/* How one protocol reads a request body and writes its answer. The body is parsed once by the
 * shared path; the codec sees the parsed document. */
typedef struct http_infer_codec {
    const char *name; /* "v2", "tfs", "v1": for messages */

    /* Optional (NULL: the path alone picks the version). The version or label the body asks
     * for, used when the path names none: *OUT_version is NULL (the default version) or a
     * string in `arena`. Returns 0 or INFERD_EINVAL, which is answered once the model's default
     * version has been found, and counted against it. */
    int (*body_version)(const inferd_json_t *doc, inferd_arena_t *arena, const char **OUT_version,
                        inferd_err_t *err);

    /* Decodes `doc` for version `v` into `req`, every byte of `req` (and of *OUT_state, the
     * codec's own note for encode, or NULL) from `arena`, which becomes req->arena. The tokens
     * of `doc` may be gone by the time encode runs. Returns 0 or a negative code with the
     * message for the client. */
    int (*decode)(const inferd_json_t *doc, const inferd_model_version_t *v, inferd_arena_t *arena,
                  inferd_request_t *req, void **OUT_state, inferd_err_t *err);

    /* Writes the answer for `resp` to `w`; `elapsed_ns` is the time since the request arrived.
     * Returns 0, or a negative code (outputs the format cannot express) with the message; the
     * path then answers that error instead. */
    int (*encode)(inferd_jsonw_t *w, const inferd_model_version_t *v, const inferd_request_t *req,
                  const inferd_response_t *resp, void *state, uint64_t elapsed_ns,
                  inferd_err_t *err);
} http_infer_codec_t;

/* Answers `call`, an inference request in `codec`'s protocol. The version is the path's
 * :version or :label, else the body's (codec->body_version), else the model's default. Inline on
 * this loop thread when the version has no scheduler; otherwise queued, and answered later from
 * v2_on_jobs_done. Either way the version's statistics see exactly one request, and the
 * response carries X-Model-Version once a version is known. */
void http_infer(http_call_t *call, const http_infer_codec_t *codec);

/* True when the request's Content-Type is one a JSON body may come with (JSON itself, none,
 * and curl -d's form default). */
bool http_is_json_body(h2o_req_t *req);

/* Adds the X-Model-Version: <v> header to the response of `req`. */
void http_set_model_version_header(h2o_req_t *req, const inferd_model_version_t *v);

#endif
