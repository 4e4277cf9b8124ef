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

/* `w`'s geometry as oneDNN's pooling takes it, for its n_spatial real axes: dilations counted
 * from 0, and the right pads grown so that oneDNN's rounded-down output size gives ceil_mode's.
 * Returns dnnl_success, or dnnl_unimplemented when no right pad gives `w`'s output size. */
dnnl_status_t onnx_pool_dnnl_geometry(const onnx_window_t *w, dnnl_dims_t strides,
                                      dnnl_dims_t kernel, dnnl_dims_t dilation, dnnl_dims_t pad_l,
                                      dnnl_dims_t pad_r);

#endif
