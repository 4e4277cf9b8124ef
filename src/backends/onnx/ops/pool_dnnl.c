/* MaxPool through oneDNN's pooling primitive, for FP32 activations kept channels-last between
 * Convs (optimize.c): oneDNN's kernels vectorize across channels and run on the model's OpenMP
 * threads, where pool.c's own loops run on one. One primitive per shape and context
 * (state_cache.h). pool.c falls back to its loops when oneDNN declines. */
#include "pool_dnnl.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>

#include "dnnl_util.h"
#include "state_cache.h"

typedef struct {
    dnnl_primitive_t pool;
    dnnl_memory_t x, y;
    dnnl_stream_t stream;
} pool_state_t;

static void pool_state_free(void *data)
{
    pool_state_t *s = data;
    if (s == NULL)
        return;
    dnnl_memory_t memories[] = {s->x, s->y};
    onnx_dnnl_destroy(s->pool, memories, 2, s->stream);
    free(s);
}

dnnl_status_t onnx_max_pool_dnnl_pd(const onnx_window_t *w, const dnnl_memory_desc_t *src,
                                    const dnnl_memory_desc_t *dst, dnnl_primitive_desc_t *OUT_pd)
{
    *OUT_pd = NULL;
    dnnl_dims_t strides, kernel, dilation, pad_l, pad_r;
    int n = w->n_spatial, first = ONNX_WINDOW_MAX_SPATIAL - n;
    for (int a = 0; a < n; a++) {
        int64_t in = w->in[first + a], out = w->out[first + a], stride = w->stride[first + a];
        int64_t extent = (w->kernel[first + a] - 1) * w->dilation[first + a] + 1;
        strides[a] = stride;
        kernel[a] = w->kernel[first + a];
        dilation[a] = w->dilation[first + a] - 1;
        pad_l[a] = w->pad_begin[first + a];
        /* oneDNN sizes the output by rounding down; ceil_mode's last window reaches further
         * right, into padding that a maximum ignores */
        pad_r[a] = w->pad_end[first + a];
        if ((in + pad_l[a] + pad_r[a] - extent) / stride + 1 != out)
            pad_r[a] = (out - 1) * stride + extent - in - pad_l[a];
        if (pad_r[a] < 0)
            return dnnl_unimplemented;
    }
    dnnl_pooling_v2_desc_t desc;
    dnnl_status_t st =
        dnnl_pooling_v2_forward_desc_init(&desc, dnnl_forward_inference, dnnl_pooling_max, src, dst,
                                          strides, kernel, dilation, pad_l, pad_r);
    if (st == dnnl_success)
        st = dnnl_primitive_desc_create(OUT_pd, &desc, NULL, onnx_dnnl_engine(), NULL);
    if (st != dnnl_success)
        return st;
    const dnnl_memory_desc_t *ws =
        dnnl_primitive_desc_query_md(*OUT_pd, dnnl_query_workspace_md, 0);
    if (ws != NULL && dnnl_memory_desc_get_size(ws) > 0) { /* inference keeps none: none planned */
        dnnl_primitive_desc_destroy(*OUT_pd);
        *OUT_pd = NULL;
        return dnnl_unimplemented;
    }
    return dnnl_success;
}

static dnnl_status_t build(pool_state_t *s, const onnx_pool_desc_t *d)
{
    static const dnnl_format_tag_t channels_last[] = {dnnl_nwc, dnnl_nhwc, dnnl_ndhwc};
    int n = d->window.n_spatial, first = ONNX_WINDOW_MAX_SPATIAL - n;
    dnnl_dims_t x_dims = {d->batch, d->channels}, y_dims = {d->batch, d->channels};
    for (int a = 0; a < n; a++) {
        x_dims[2 + a] = d->window.in[first + a];
        y_dims[2 + a] = d->window.out[first + a];
    }
    dnnl_memory_desc_t x_md, y_md;
    dnnl_status_t st =
        dnnl_memory_desc_init_by_tag(&x_md, n + 2, x_dims, dnnl_f32, channels_last[n - 1]);
    if (st == dnnl_success)
        st = dnnl_memory_desc_init_by_tag(&y_md, n + 2, y_dims, dnnl_f32, channels_last[n - 1]);
    dnnl_primitive_desc_t pd = NULL;
    if (st == dnnl_success)
        st = onnx_max_pool_dnnl_pd(&d->window, &x_md, &y_md, &pd);
    if (st != dnnl_success)
        return st;
    st = dnnl_primitive_create(&s->pool, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st == dnnl_success)
        st = dnnl_memory_create(&s->x, &x_md, onnx_dnnl_engine(), DNNL_MEMORY_NONE);
    if (st == dnnl_success)
        st = dnnl_memory_create(&s->y, &y_md, onnx_dnnl_engine(), DNNL_MEMORY_NONE);
    if (st == dnnl_success)
        st = dnnl_stream_create(&s->stream, onnx_dnnl_engine(), dnnl_stream_default_flags);
    return st;
}

int onnx_max_pool_dnnl(onnx_node_state_t *node_state, const onnx_pool_desc_t *d, const float *x,
                       float *y, inferd_err_t *err)
{
    if (onnx_dnnl_engine() == NULL || node_state == NULL)
        return INFERD_EUNSUPPORTED;
    pool_state_t *s = onnx_state_cache_find(node_state, d, sizeof(*d));
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            return inferd_fail(err, INFERD_ENOMEM, "MaxPool: out of memory");
        if (build(s, d) != dnnl_success) {
            pool_state_free(s);
            return INFERD_EUNSUPPORTED; /* the caller's own loops */
        }
        if (onnx_state_cache_put(node_state, d, sizeof(*d), s, pool_state_free) != 0)
            return inferd_fail(err, INFERD_ENOMEM, "MaxPool: out of memory");
    }
    dnnl_status_t st = dnnl_memory_set_data_handle(s->x, (void *)x);
    if (st == dnnl_success)
        st = dnnl_memory_set_data_handle(s->y, y);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, s->x}, {DNNL_ARG_DST, s->y}};
        st = dnnl_primitive_execute(s->pool, s->stream, 2, args);
    }
    if (st == dnnl_success)
        st = dnnl_stream_wait(s->stream);
    if (st != dnnl_success)
        return inferd_fail(err, INFERD_EINTERNAL, "MaxPool: oneDNN failed (status %d)", (int)st);
    return 0;
}
