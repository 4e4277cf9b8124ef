/* Private to the conv and pool families: the sliding-window geometry they share (kernel, strides,
 * dilations, pads, auto_pad and the output size they give) and the entry points of conv's split
 * files. Spatial dimensions are kept promoted to three (depth, height, width): a 1-D or 2-D
 * window has leading dimensions of size 1, kernel 1, stride 1 and no padding. */
#ifndef INFERD_ONNX_OPS_CONV_H
#define INFERD_ONNX_OPS_CONV_H

#include "ops.h"

/* The most spatial dimensions a convolution or pooling window has here (3-D volumes). */
#define ONNX_WINDOW_MAX_SPATIAL 3

typedef enum {
    ONNX_AUTO_PAD_NOTSET,
    ONNX_AUTO_PAD_SAME_UPPER,
    ONNX_AUTO_PAD_SAME_LOWER,
    ONNX_AUTO_PAD_VALID,
} onnx_auto_pad_t;

/* The window attributes as the node gives them. A count is -1 when the attribute is absent. */
typedef struct {
    int n_kernel, n_strides, n_dilations, n_pads;
    int64_t kernel[ONNX_WINDOW_MAX_SPATIAL];
    int64_t strides[ONNX_WINDOW_MAX_SPATIAL];
    int64_t dilations[ONNX_WINDOW_MAX_SPATIAL];
    int64_t pads[2 * ONNX_WINDOW_MAX_SPATIAL]; /* begins, then ends */
    onnx_auto_pad_t auto_pad;
} onnx_window_attrs_t;

/* One window resolved against an input shape, promoted to 3 spatial dimensions. Pads may be
 * negative only in ConvTranspose (an output_shape larger than the natural one). */
typedef struct {
    int n_spatial; /* 1, 2 or 3: how many of the trailing dimensions are real */
    int64_t in[ONNX_WINDOW_MAX_SPATIAL], out[ONNX_WINDOW_MAX_SPATIAL];
    int64_t kernel[ONNX_WINDOW_MAX_SPATIAL], stride[ONNX_WINDOW_MAX_SPATIAL];
    int64_t dilation[ONNX_WINDOW_MAX_SPATIAL];
    int64_t pad_begin[ONNX_WINDOW_MAX_SPATIAL], pad_end[ONNX_WINDOW_MAX_SPATIAL];
} onnx_window_t;

/* Reads kernel_shape, strides, dilations, pads and auto_pad of `proto` into `attrs`. Returns 0 or
 * INFERD_EMODEL naming `op` when a list is too long or a value out of range (kernel, strides and
 * dilations at least 1, pads at least 0, all below 2^31). */
int onnx_window_parse(const Onnx__NodeProto *proto, const char *op, onnx_window_attrs_t *attrs,
                      inferd_err_t *err);

/* Resolves `attrs` for an input whose `n_spatial` spatial sizes are `in_dims`. `kernel` gives the
 * kernel (Conv takes it from W) or is NULL to use kernel_shape. With `is_ceil_mode` the output
 * size rounds up, but a window never starts in the right padding. Fills `window`; returns 0 or
 * INFERD_EINVAL naming `op` (attribute counts that do not match the input, a window larger than
 * the padded input). */
int onnx_window_resolve(const onnx_window_attrs_t *attrs, int n_spatial, const int64_t *in_dims,
                        const int64_t *kernel, bool is_ceil_mode, const char *op,
                        onnx_window_t *window, inferd_err_t *err);

/* The effective extent of the window along promoted axis `a`: (kernel - 1) * dilation + 1. */
static inline int64_t onnx_window_extent(const onnx_window_t *w, int a)
{
    return (w->kernel[a] - 1) * w->dilation[a] + 1;
}

/* Product of the three promoted sizes (no overflow: they come from tensor shapes and bounded
 * attributes, each product checked by the callers). */
static inline int64_t onnx_window_volume(const int64_t *sizes)
{
    return sizes[0] * sizes[1] * sizes[2];
}

/* ---- a MaxPool fused into a Conv (pool.c; the Conv's node->fused.pool holds its params) ---- */

/* The pooling of FP32 `x` (the convolution's output) by the MaxPool whose `params` the Conv took:
 * its window into *OUT_window and its output shape. Returns 0 or INFERD_EINVAL as MaxPool would. */
int onnx_max_pool_fused_plan(const void *params, const inferd_tensor_t *x,
                             onnx_window_t *OUT_window, int64_t *out_shape, inferd_err_t *err);

/* y = MaxPool(x) for row-major FP32 x, y row-major or (is_y_last) channels-last, with pool.c's
 * own loops. Returns 0 or a negative code with a message. */
int onnx_max_pool_fused_run(const void *params, const inferd_tensor_t *x, inferd_tensor_t *y,
                            bool is_y_last, onnx_scratch_t *scratch, inferd_err_t *err);

/* ---- Conv through oneDNN (conv_dnnl.c) ---- */

/* Everything that decides a oneDNN convolution primitive; compared byte for byte to reuse one,
 * so it is zeroed before being filled. Spatial arrays are promoted like onnx_window_t. */
typedef struct {
    int n_spatial;
    bool has_bias, has_sum;
    bool is_src_channels_last, is_dst_channels_last, is_sum_channels_last;
    onnx_fused_activation_t activation;
    float alpha, beta;                       /* the activation's parameters (Clip's bounds) */
    int64_t batch, channels, filters, group; /* channels and filters in total, not per group */
    int64_t in[ONNX_WINDOW_MAX_SPATIAL], out[ONNX_WINDOW_MAX_SPATIAL];
    int64_t kernel[ONNX_WINDOW_MAX_SPATIAL], stride[ONNX_WINDOW_MAX_SPATIAL];
    int64_t dilation[ONNX_WINDOW_MAX_SPATIAL];
    int64_t pad_begin[ONNX_WINDOW_MAX_SPATIAL], pad_end[ONNX_WINDOW_MAX_SPATIAL];
    bool has_pool;      /* a fused MaxPool: y is the pooled result, of pool.out's sizes */
    onnx_window_t pool; /* its window over the convolution's output (pool.in == out) */
} onnx_conv_desc_t;

/* The buffers of one convolution. w is NULL when the weights live in the node's shared state. */
typedef struct {
    const float *x, *w, *bias, *sum; /* sum: the fused residual (has_sum), else NULL */
    float *y;
    bool is_weights_constant; /* w is a constant of the model: its reordered copy is kept */
} onnx_conv_io_t;

/* The weights of one Conv node, shared by every execution context (node->shared): the plain
 * copy until a context first runs, then one copy in the layout oneDNN chose. */
typedef struct onnx_conv_shared onnx_conv_shared_t;

/* Takes `plain` (malloc'ed row-major weights of `plain_bytes`); NULL when out of memory (then
 * the caller still owns `plain`). */
onnx_conv_shared_t *onnx_conv_shared_new(float *plain, size_t plain_bytes);
void onnx_conv_shared_free(void *shared);

/* Writes the weights in row-major order into `out` (plain_bytes), for the fallback kernel.
 * Returns 0 or INFERD_EINTERNAL. */
int onnx_conv_shared_plain(onnx_conv_shared_t *shared, const onnx_conv_desc_t *d, float *out,
                           inferd_err_t *err);

/* The weights row-major for onnx_conv_few_run: a copy kept in `shared` from the first call on
 * (small: few channels). NULL when out of memory or oneDNN fails, with err set. */
const float *onnx_conv_shared_few(onnx_conv_shared_t *shared, const onnx_conv_desc_t *d,
                                  inferd_err_t *err);

/* y = conv(x, w) + bias, then the fused sum and activation, in the layouts `d` names, with a
 * primitive cached in `node_state` (rebuilt when `d` changes). `shared` (or NULL: weights from
 * io->w) holds the weights. Returns 0, INFERD_EUNSUPPORTED when oneDNN declines (the caller then
 * computes it another way), INFERD_ENOMEM or INFERD_EINTERNAL. */
int onnx_conv_dnnl(onnx_node_state_t *node_state, onnx_conv_shared_t *shared,
                   const onnx_conv_desc_t *d, const onnx_conv_io_t *io, onnx_scratch_t *scratch,
                   inferd_err_t *err);

/* ---- Conv with few channels, direct (conv_few.c) ---- */

/* Whether onnx_conv_few_run computes `d`: 2-D, one group, at most 4 input channels and fewer
 * than 16 filters (oneDNN pads them to 16), kernel at most 7x7, stride and dilation 1, no pads,
 * no fused residual or Sigmoid, a fused MaxPool only if 2x2 with stride 2 and no pads, output at
 * least 2x2, on a CPU with AVX-512. */
bool onnx_conv_few_fits(const onnx_conv_desc_t *d);

/* y = conv(x, w) + bias (NULL: none), then d's activation and MaxPool, for row-major x and
 * weights (oihw), y in d's output layout. On the calling thread only. */
void onnx_conv_few_run(const onnx_conv_desc_t *d, const float *x, const float *w, const float *bias,
                       float *y);

/* ---- ConvTranspose (conv_transpose.c), listed in conv.c's table ---- */
extern const onnx_op_t onnx_op_conv_transpose;

/* Multiplies with oneDNN's sgemm (row-major) as Gemm does, handling the empty cases: y = alpha *
 * op(a) * op(b) + beta * y. Returns 0 or INFERD_EINTERNAL. */
int onnx_conv_sgemm(bool trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                    const float *b, int64_t ldb, float beta, float *y, int64_t ldy,
                    inferd_err_t *err);

/* a * b * c, or -1 when any is negative or the product exceeds 2^62. */
int64_t onnx_conv_mul3(int64_t a, int64_t b, int64_t c);

#endif
