/* The table of backends inferd has. A new backend is one more row. */
#include "inferd/backend.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern const inferd_backend_t inferd_onnx_backend;

static const inferd_backend_t *const backends[] = {
    &inferd_onnx_backend,
};

#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

const inferd_backend_t *inferd_backend_find(const char *name)
{
    for (size_t i = 0; i < N_BACKENDS; i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

const inferd_backend_t *inferd_backend_for_dir(const char *dir)
{
    char path[4096];
    for (size_t i = 0; i < N_BACKENDS; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, backends[i]->file_name);
        if (access(path, F_OK) == 0)
            return backends[i];
    }
    return NULL;
}

void inferd_backends_thread_init(void)
{
    for (size_t i = 0; i < N_BACKENDS; i++)
        if (backends[i]->thread_init != NULL)
            backends[i]->thread_init();
}

const char *inferd_backend_names(void)
{
    return "onnx";
}
