/* Fuzz target: TF Serving's REST predict decoder (row and columnar formats, shape learnt from
 * nesting, datatype conversion) against a few signatures on arbitrary bytes; whatever decodes
 * is encoded back as rows and columns, as the server would answer it. */
#include <stddef.h>
#include <stdint.h>

#include "http/tfs_codec.h"

static inferd_io_spec_t mlp_inputs[] = {{"input", INFERD_DT_FP32, 2, {-1, 4}}};
static inferd_io_spec_t pair_inputs[] = {{"ids", INFERD_DT_INT64, 2, {-1, 2}},
                                         {"mask", INFERD_DT_BOOL, 1, {-1}}};
static inferd_io_spec_t fixed_inputs[] = {{"x", INFERD_DT_UINT8, 2, {1, 3}}};
static inferd_io_spec_t open_inputs[] = {{"x", INFERD_DT_FP64, 3, {-1, -1, 2}}};
static inferd_io_spec_t scalar_inputs[] = {{"s", INFERD_DT_INT32, 0, {0}}};

static const inferd_signature_t signatures[] = {
    {mlp_inputs, 1, NULL, 0},  {pair_inputs, 2, NULL, 0},   {fixed_inputs, 1, NULL, 0},
    {open_inputs, 1, NULL, 0}, {scalar_inputs, 1, NULL, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    inferd_arena_t arena;
    inferd_arena_init(&arena, 16384, 256u << 20);
    inferd_json_t doc;
    inferd_err_t err;
    if (inferd_json_parse(&doc, (const char *)data, size, &arena, &err) == 0) {
        for (size_t s = 0; s < sizeof(signatures) / sizeof(signatures[0]); s++) {
            inferd_request_t req;
            tfs_format_t format;
            int64_t rows;
            if (tfs_decode_predict(&doc, &signatures[s], &arena, &req, &format, &rows, &err) != 0)
                continue;
            /* the inputs stand in for outputs */
            inferd_response_t resp = {req.inputs, req.n_inputs};
            inferd_jsonw_t w = {0};
            if (format == TFS_FORMAT_ROW)
                (void)tfs_encode_rows(&w, &resp, rows, &err);
            tfs_encode_columns(&w, &resp);
            inferd_jsonw_free(&w);
        }
    }
    inferd_arena_free(&arena);
    return 0;
}
