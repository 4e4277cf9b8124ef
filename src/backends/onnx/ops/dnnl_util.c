/* The shared oneDNN engine and clean-up (see dnnl_util.h). */
#include "dnnl_util.h"

#include <pthread.h>

static dnnl_engine_t engine;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void create_engine(void)
{
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        engine = NULL;
}

dnnl_engine_t onnx_dnnl_engine(void)
{
    pthread_once(&engine_once, create_engine);
    return engine;
}

void onnx_dnnl_destroy(dnnl_primitive_t primitive, const dnnl_memory_t *memories, int n,
                       dnnl_stream_t stream)
{
    if (primitive != NULL)
        dnnl_primitive_destroy(primitive);
    for (int i = 0; i < n; i++)
        if (memories[i] != NULL)
            dnnl_memory_destroy(memories[i]);
    if (stream != NULL)
        dnnl_stream_destroy(stream);
}
