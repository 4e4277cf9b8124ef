/* TF Serving's REST forms of a prediction: the row format ({"instances": [...]}) and the columnar
 * format ({"inputs": ...}) of a request, checked and converted against a model's signature; the
 * {"predictions"} / {"outputs"} answers; and the GetModelMetadata answer. The /v1 predict API
 * reuses the row format. */
#ifndef INFERD_HTTP_TFS_CODEC_H
#define INFERD_HTTP_TFS_CODEC_H

#include <stdint.h>

#include "inferd/arena.h"
#include "inferd/error.h"
#include "inferd/infer.h"
#include "inferd/json.h"
#include "inferd/model.h"

typedef enum { TFS_FORMAT_ROW, TFS_FORMAT_COLUMNAR } tfs_format_t;

/* Decodes a TF Serving predict body, {"signature_name"?, "instances": ...} or
 * {"signature_name"?, "inputs": ...}, for a model with signature `sig` into `req` (memory from
 * `arena`, which becomes req->arena). signature_name may be absent, "" or "serving_default".
 * *OUT_format tells which format came; *OUT_rows the number of instances (row format) or -1.
 * Returns 0, INFERD_EINVAL with a message saying what is wrong and where ("instances[3] has 63
 * values, expected 64 ..."), INFERD_EUNSUPPORTED (an input whose datatype JSON cannot carry) or
 * INFERD_ETOOBIG. */
int tfs_decode_predict(const inferd_json_t *doc, const inferd_signature_t *sig,
                       inferd_arena_t *arena, inferd_request_t *req, tfs_format_t *OUT_format,
                       int64_t *OUT_rows, inferd_err_t *err);

/* Decodes the row-format list at token `instances` into `req` (reset first; every input of
 * `sig` given, each the instances stacked along a new first dimension). An instance is the
 * input's value (models with one input) or an object {input name: value}. Every value's nesting
 * gives its shape, which must fit the signature (-1: any size, the same for every instance).
 * *OUT_rows is the number of instances. Returns as tfs_decode_predict. */
int tfs_decode_instances(const inferd_json_t *doc, int instances, const inferd_signature_t *sig,
                         inferd_arena_t *arena, inferd_request_t *req, int64_t *OUT_rows,
                         inferd_err_t *err);

/* Decodes the columnar value at token `inputs` (the input's whole value for models with one
 * input, or an object {input name: value}) into `req` (reset first). Returns as
 * tfs_decode_predict. */
int tfs_decode_columns(const inferd_json_t *doc, int inputs, const inferd_signature_t *sig,
                       inferd_arena_t *arena, inferd_request_t *req, inferd_err_t *err);

/* Writes the row-format list of predictions for `resp`: per row, the output's slice (one output)
 * or an object {output name: slice}. Returns 0, or INFERD_EINVAL (writing nothing) when an
 * output does not have `rows` rows along its first dimension. */
int tfs_encode_rows(inferd_jsonw_t *w, const inferd_response_t *resp, int64_t rows,
                    inferd_err_t *err);

/* Writes the columnar answer for `resp`: the output as nested lists (one output) or an object
 * {output name: nested lists}. */
void tfs_encode_columns(inferd_jsonw_t *w, const inferd_response_t *resp);

/* Writes TF Serving's GetModelMetadataResponse for version `v`: model_spec and the one
 * "serving_default" signature_def with every input's and output's dtype and tensor_shape. */
void tfs_encode_metadata(inferd_jsonw_t *w, const inferd_model_version_t *v);

#endif
