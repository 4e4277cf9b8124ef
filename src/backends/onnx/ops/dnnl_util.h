/* What every op running a oneDNN primitive needs: the process's one CPU engine, and releasing a
 * primitive with its memories and stream. */
#ifndef INFERD_ONNX_OPS_DNNL_UTIL_H
#define INFERD_ONNX_OPS_DNNL_UTIL_H

#include <oneapi/dnnl/dnnl.h>

/* The CPU engine, made on first use and kept for the process; NULL when oneDNN cannot make one
 * (callers then run their own kernels). */
dnnl_engine_t onnx_dnnl_engine(void);

/* Destroys whichever of `primitive`, the `n` memories and `stream` are not NULL. */
void onnx_dnnl_destroy(dnnl_primitive_t primitive, const dnnl_memory_t *memories, int n,
                       dnnl_stream_t stream);

#endif
