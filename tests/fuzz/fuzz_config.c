/* Fuzz target: config.json parsing on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "inferd/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    inferd_model_config_t config;
    inferd_err_t err;
    if (inferd_model_config_parse((const char *)data, size, &config, &err) == 0)
        inferd_model_config_free(&config);
    return 0;
}
