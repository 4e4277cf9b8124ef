/* MaxPool of channels-last FP32 activations through oneDNN (pool_dnnl.c). */
#ifndef INFERD_ONNX_OPS_POOL_DNNL_H
#define INFERD_ONNX_OPS_POOL_DNNL_H

#include "conv.h"

#include <oneapi/dnnl/dnnl.h>

/* One pooling's shapes, compared byte for byte as a cache key: zero it before filling. */
typedef struct {
    int64_t batch, channels;
    onnx_window_t window;
} onnx_pool_desc_t;

/* y = MaxPool(x) for [batch, spatial..., channels] x and y. Returns 0, INFERD_EUNSUPPORTED when
 * oneDNN is missing or declines the shape (the caller runs its own loops), or another negative
 * code with a message. */
int onnx_max_pool_dnnl(onnx_node_state_t *node_state, const onnx_pool_desc_t *d, const float *x,
                       float *y, inferd_err_t *err);

/* A max pooling primitive descriptor for window `w` from `src` to `dst` (dst may be
 * format_tag_any): ceil_mode's output size reached by growing the right pads, which a maximum
 * ignores. Returns dnnl_success with *OUT_pd to destroy, or a failure (dnnl_unimplemented when no
 * right pad gives `w`'s output size or the primitive would need a workspace). */
dnnl_status_t onnx_max_pool_dnnl_pd(const onnx_window_t *w, const dnnl_memory_desc_t *src,
                                    const dnnl_memory_desc_t *dst, dnnl_primitive_desc_t *OUT_pd);

#endif
