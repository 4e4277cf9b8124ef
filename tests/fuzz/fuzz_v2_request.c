/* Fuzz target: the KServe V2 inference request decoder (JSON tokenizer, string and number
 * conversions, tensor decoding) on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "http/v2_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    inferd_arena_t arena;
    inferd_arena_init(&arena, 16384, 256u << 20);
    inferd_request_t req;
    inferd_err_t err;
    if (v2_decode_infer_request((const char *)data, size, &arena, &req, &err) == 0) {
        inferd_jsonw_t w = {0};
        for (size_t i = 0; i < req.n_inputs; i++)
            v2_encode_tensor(&w, &req.inputs[i]);
        inferd_jsonw_free(&w);
    }
    inferd_arena_free(&arena);
    return 0;
}
