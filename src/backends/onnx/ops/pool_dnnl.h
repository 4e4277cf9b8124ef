/* MaxPool of channels-last FP32 activations through oneDNN (pool_dnnl.c). */
#ifndef INFERD_ONNX_OPS_POOL_DNNL_H
#define INFERD_ONNX_OPS_POOL_DNNL_H

#include "conv.h"

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

#endif
