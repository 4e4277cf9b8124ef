/* Convolutions: Conv (1-D to 3-D, groups, dilations, strides, pads, auto_pad, optional bias) here,
 * ConvTranspose in conv_transpose.c; this file holds the family's table. FP32 only: each group of
 * each batch element is unfolded (im2col) into scratch memory and multiplied with its filters by
 * oneDNN's sgemm. The arithmetic is one function, conv_compute, so that a later switch to cached
 * oneDNN convolution primitives replaces it alone. */
#include "conv.h"
#include "unary.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

int onnx_conv_sgemm(bool trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                    const float *b, int64_t ldb, float beta, float *y, int64_t ldy,
                    inferd_err_t *err)
{
    if (m == 0 || n == 0)
        return 0;
    if (k == 0) { /* an empty sum: y = beta * y */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                y[i * ldy + j] = beta == 0.0f ? 0.0f : beta * y[i * ldy + j];
        return 0;
    }
    dnnl_status_t status =
        dnnl_sgemm(trans_a ? 'T' : 'N', 'N', m, n, k, 1.0f, a, lda, b, ldb, beta, y, ldy);
    if (status != dnnl_success)
        return inferd_fail(err, INFERD_EINTERNAL, "oneDNN sgemm failed (status %d)", (int)status);
    return 0;
}

/* ==== Conv ==== */

typedef struct {
    onnx_window_attrs_t window;
    int64_t group;
} conv_params_t;

/* What one Conv computes, derived from the input shapes. */
typedef struct {
    onnx_window_t window;
    int64_t batch, group;
    int64_t in_channels, out_channels; /* per group */
    int64_t in_size, out_size, kernel_size;
    bool is_pointwise; /* 1x1 kernel, stride 1, no pads: the input is its own im2col */
} conv_plan_t;

static int conv_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    conv_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->group = onnx_attr_int(proto, "group", 1);
    if (p->group < 1 || p->group >= ((int64_t)1 << 31))
        return inferd_fail(err, INFERD_EMODEL, "Conv: group %lld is out of range",
                           (long long)p->group);
    return onnx_window_parse(proto, "Conv", &p->window, err);
}

/* Checks the inputs and fills `plan` and the output shape. Returns 0 or INFERD_EINVAL. */
static int conv_plan(const conv_params_t *p, const inferd_tensor_t *const *in, int n_inputs,
                     conv_plan_t *plan, int64_t *out_shape, inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0], *w = in[1], *b = n_inputs > 2 ? in[2] : NULL;
    if (x->dtype != INFERD_DT_FP32)
        return onnx_fail_dtype(err, x, "FP32");
    if (w->dtype != INFERD_DT_FP32 || (b != NULL && b->dtype != INFERD_DT_FP32))
        return inferd_fail(err, INFERD_EINVAL, "Conv: W and B must be FP32 like X");
    if (x->ndim < 3 || x->ndim > 2 + ONNX_WINDOW_MAX_SPATIAL || w->ndim != x->ndim)
        return inferd_fail(err, INFERD_EINVAL,
                           "Conv needs X of rank 3 to 5 and W of the same rank (got %d and %d)",
                           x->ndim, w->ndim);
    int64_t channels = x->shape[1], filters = w->shape[0];
    if (channels % p->group != 0 || w->shape[1] != channels / p->group || filters % p->group != 0)
        return inferd_fail(err, INFERD_EINVAL,
                           "Conv: W of %lld filters x %lld channels does not fit X's %lld channels "
                           "in %lld groups",
                           (long long)filters, (long long)w->shape[1], (long long)channels,
                           (long long)p->group);
    if (b != NULL && (b->ndim != 1 || b->shape[0] != filters))
        return inferd_fail(err, INFERD_EINVAL, "Conv: B must have %lld values (one per filter)",
                           (long long)filters);
    int n_spatial = x->ndim - 2;
    int rc = onnx_window_resolve(&p->window, n_spatial, x->shape + 2, w->shape + 2, false, "Conv",
                                 &plan->window, err);
    if (rc != 0)
        return rc;
    const onnx_window_t *win = &plan->window;
    plan->batch = x->shape[0];
    plan->group = p->group;
    plan->in_channels = channels / p->group;
    plan->out_channels = filters / p->group;
    plan->in_size = onnx_window_volume(win->in);
    plan->out_size = onnx_conv_mul3(win->out[0], win->out[1], win->out[2]);
    plan->kernel_size = onnx_window_volume(win->kernel);
    plan->is_pointwise = plan->kernel_size == 1;
    for (int a = 0; a < ONNX_WINDOW_MAX_SPATIAL; a++)
        if (win->stride[a] != 1 || win->pad_begin[a] != 0 || win->pad_end[a] != 0)
            plan->is_pointwise = false;
    if (plan->out_size < 0 || onnx_conv_mul3(plan->batch, filters, plan->out_size) < 0 ||
        onnx_conv_mul3(plan->in_channels, plan->kernel_size, plan->out_size) < 0)
        return inferd_fail(err, INFERD_EINVAL, "Conv: the unfolded input would be too large");
    out_shape[0] = plan->batch;
    out_shape[1] = filters;
    for (int i = 0; i < n_spatial; i++)
        out_shape[2 + i] = win->out[ONNX_WINDOW_MAX_SPATIAL - n_spatial + i];
    return 0;
}

/* The plan of node's convolution, and the output shape and window of its fused MaxPool (when it
 * has one: `pool_window` and `conv_out`, the unpooled result, are then filled). Returns 0 or
 * INFERD_EINVAL. */
static int conv_pool_plan(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          conv_plan_t *plan, int64_t *out_shape, onnx_window_t *pool_window,
                          inferd_tensor_t *conv_out, inferd_err_t *err)
{
    int rc = conv_plan(node->params, in, node->n_inputs, plan, out_shape, err);
    if (rc != 0 || node->fused.pool == NULL)
        return rc;
    memset(conv_out, 0, sizeof(*conv_out));
    onnx_set_shape(conv_out, INFERD_DT_FP32, out_shape, in[0]->ndim);
    rc = onnx_max_pool_fused_plan(node->fused.pool, conv_out, pool_window, out_shape, err);
    if (rc != 0)
        inferd_err_prefix(err, "the MaxPool fused into this Conv: ");
    return rc;
}

static int conv_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, inferd_err_t *err)
{
    conv_plan_t plan;
    onnx_window_t pool_window;
    inferd_tensor_t conv_out;
    int64_t shape[INFERD_MAX_DIMS];
    int rc = conv_pool_plan(node, in, &plan, shape, &pool_window, &conv_out, err);
    if (rc == 0)
        onnx_set_shape(&out[0], INFERD_DT_FP32, shape, in[0]->ndim);
    return rc;
}

/* The positions j in [0, n) whose source index first + j * stride lies in [0, len): [*lo, *hi). */
static void valid_range(int64_t first, int64_t stride, int64_t len, int64_t n, int64_t *lo,
                        int64_t *hi)
{
    *lo = first >= 0 ? 0 : (-first + stride - 1) / stride;
    *hi = first >= len ? 0 : (len - 1 - first) / stride + 1;
    if (*hi > n)
        *hi = n;
    if (*lo > *hi)
        *lo = *hi;
}

/* Unfolds `channels` planes of `x` into `col`, a [channels * kernel volume, out volume] matrix
 * whose row (c, kd, kh, kw) holds, for every output position, the input value under that kernel
 * tap (0 in the padding). */
static void im2col(const onnx_window_t *w, int64_t channels, const float *x, float *col)
{
    const int64_t in_plane = onnx_window_volume(w->in);
    const int64_t out_d = w->out[0], out_h = w->out[1], out_w = w->out[2];
    const int64_t stride_w = w->stride[2];
    float *dst = col;
    for (int64_t c = 0; c < channels; c++) {
        const float *plane = x + c * in_plane;
        for (int64_t kd = 0; kd < w->kernel[0]; kd++)
            for (int64_t kh = 0; kh < w->kernel[1]; kh++)
                for (int64_t kw = 0; kw < w->kernel[2]; kw++) {
                    /* the output columns this tap reads inside the input, the same on every row */
                    int64_t first_w = kw * w->dilation[2] - w->pad_begin[2], lo, hi;
                    valid_range(first_w, stride_w, w->in[2], out_w, &lo, &hi);
                    for (int64_t od = 0; od < out_d; od++) {
                        int64_t id = od * w->stride[0] - w->pad_begin[0] + kd * w->dilation[0];
                        for (int64_t oh = 0; oh < out_h; oh++, dst += out_w) {
                            int64_t ih = oh * w->stride[1] - w->pad_begin[1] + kh * w->dilation[1];
                            if (id < 0 || id >= w->in[0] || ih < 0 || ih >= w->in[1]) {
                                memset(dst, 0, sizeof(float) * (size_t)out_w);
                                continue;
                            }
                            const float *row = plane + (id * w->in[1] + ih) * w->in[2];
                            for (int64_t j = 0; j < lo; j++)
                                dst[j] = 0.0f;
                            if (stride_w == 1) {
                                memcpy(dst + lo, row + first_w + lo,
                                       sizeof(float) * (size_t)(hi - lo));
                            } else {
                                for (int64_t j = lo; j < hi; j++)
                                    dst[j] = row[first_w + j * stride_w];
                            }
                            for (int64_t j = hi; j < out_w; j++)
                                dst[j] = 0.0f;
                        }
                    }
                }
    }
}

/* The convolution itself: y = conv(x, w) + bias (bias may be NULL). `col` is scratch of
 * in_channels * kernel_size * out_size floats (unused for pointwise plans). */
static int conv_compute(const conv_plan_t *plan, const float *x, const float *w, const float *bias,
                        float *y, float *col, inferd_err_t *err)
{
    const int64_t channels = plan->in_channels * plan->group;
    const int64_t filters = plan->out_channels * plan->group;
    const int64_t depth = plan->in_channels * plan->kernel_size; /* the sum's length */
    for (int64_t n = 0; n < plan->batch; n++)
        for (int64_t g = 0; g < plan->group; g++) {
            const float *xg = x + (n * channels + g * plan->in_channels) * plan->in_size;
            float *yg = y + (n * filters + g * plan->out_channels) * plan->out_size;
            const float *wg = w + g * plan->out_channels * depth;
            const float *unfolded = xg;
            if (!plan->is_pointwise) {
                im2col(&plan->window, plan->in_channels, xg, col);
                unfolded = col;
            }
            float beta = 0.0f;
            if (bias != NULL) {
                for (int64_t f = 0; f < plan->out_channels; f++) {
                    float value = bias[g * plan->out_channels + f];
                    float *row = yg + f * plan->out_size;
                    for (int64_t i = 0; i < plan->out_size; i++)
                        row[i] = value;
                }
                beta = 1.0f;
            }
            int rc = onnx_conv_sgemm(false, plan->out_channels, plan->out_size, depth, wg, depth,
                                     unfolded, plan->out_size, beta, yg, plan->out_size, err);
            if (rc != 0)
                return rc;
        }
    return 0;
}

/* Row-major [batch, channels, spatial] to channels-last [batch, spatial, channels], or back. */
static void to_channels_last(const float *x, int64_t batch, int64_t channels, int64_t spatial,
                             float *y)
{
    for (int64_t n = 0; n < batch; n++)
        for (int64_t c = 0; c < channels; c++)
            for (int64_t i = 0; i < spatial; i++)
                y[(n * spatial + i) * channels + c] = x[(n * channels + c) * spatial + i];
}

static void from_channels_last(const float *x, int64_t batch, int64_t channels, int64_t spatial,
                               float *y)
{
    for (int64_t n = 0; n < batch; n++)
        for (int64_t c = 0; c < channels; c++)
            for (int64_t i = 0; i < spatial; i++)
                y[(n * channels + c) * spatial + i] = x[(n * spatial + i) * channels + c];
}

/* [batch, channels, spatial...] of t: the sizes the layout conversions need. */
static void tensor_ncs(const inferd_tensor_t *t, int64_t *batch, int64_t *channels,
                       int64_t *spatial)
{
    *batch = t->ndim > 0 ? t->shape[0] : 1;
    *channels = t->ndim > 1 ? t->shape[1] : 1;
    *spatial = 1;
    for (int d = 2; d < t->ndim; d++)
        *spatial *= t->shape[d];
}

static void apply_activation(const onnx_fused_t *f, float *y, int64_t count)
{
    if (f->activation == ONNX_FUSED_RELU) {
        for (int64_t i = 0; i < count; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
    } else if (f->activation == ONNX_FUSED_CLIP) {
        for (int64_t i = 0; i < count; i++) {
            float v = y[i] < f->alpha ? f->alpha : y[i];
            y[i] = v > f->beta ? f->beta : v;
        }
    } else if (f->activation == ONNX_FUSED_SIGMOID) {
        for (int64_t i = 0; i < count; i++) {
            f32x4_t v = {y[i], 0, 0, 0};
            y[i] = f32x4_sigmoid(v)[0];
        }
    }
}

/* Scratch carved into consecutive 64-byte aligned regions. */
typedef struct {
    uint8_t *base;
    size_t used;
} carve_t;

static size_t carve_size(int64_t floats)
{
    return ((size_t)(floats > 0 ? floats : 1) * sizeof(float) + 63) & ~(size_t)63;
}

static float *carve(carve_t *c, int64_t floats)
{
    float *p = (float *)(c->base + c->used);
    c->used += carve_size(floats);
    return p;
}

/* The slow but general path, all in row-major layout: when oneDNN declines the shape, or a fused
 * residual must broadcast. With `is_conv_done` the convolution already sits in out[0] (in its
 * layout, without the residual or activation); else it is computed here. */
static int conv_general(const onnx_node_t *node, const conv_plan_t *plan, const onnx_conv_desc_t *d,
                        const inferd_tensor_t *const *in, inferd_tensor_t *out, bool is_conv_done,
                        onnx_scratch_t *scratch, inferd_err_t *err)
{
    const onnx_fused_t *f = &node->fused;
    const inferd_tensor_t *sum = f->sum_input > 0 ? in[f->sum_input] : NULL;
    bool is_x_last = (node->channels_last_inputs & 1u) != 0;
    bool is_y_last = (node->channels_last_outputs & 1u) != 0;
    bool is_sum_last = sum != NULL && (node->channels_last_inputs >> f->sum_input & 1u) != 0;
    int64_t xn, xc, xs, yn, yc, ys, sn = 0, sc = 0, ss = 0;
    tensor_ncs(in[0], &xn, &xc, &xs);
    tensor_ncs(&out[0], &yn, &yc, &ys);
    if (sum != NULL)
        tensor_ncs(sum, &sn, &sc, &ss);
    int64_t col_count = plan->is_pointwise || is_conv_done
                            ? 0
                            : onnx_conv_mul3(plan->in_channels, plan->kernel_size, plan->out_size);
    int64_t w_count = inferd_tensor_count(in[1]);
    bool needs_w = !is_conv_done && in[1]->data == NULL;
    size_t bytes = carve_size(col_count) + (needs_w ? carve_size(w_count) : 0) +
                   (is_x_last && !is_conv_done ? carve_size(xn * xc * xs) : 0) +
                   (is_y_last ? carve_size(yn * yc * ys) : 0) +
                   (is_sum_last ? carve_size(sn * sc * ss) : 0);
    carve_t c = {onnx_scratch_get(scratch, bytes), 0};
    if (c.base == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "Conv: out of memory for %zu bytes of scratch",
                           bytes);
    float *col = carve(&c, col_count);
    float *y = is_y_last ? carve(&c, yn * yc * ys) : out[0].data;
    if (is_conv_done) {
        if (is_y_last)
            from_channels_last(out[0].data, yn, yc, ys, y);
    } else {
        const float *x = in[0]->data, *w = in[1]->data;
        if (is_x_last) {
            float *plain = carve(&c, xn * xc * xs);
            from_channels_last(x, xn, xc, xs, plain);
            x = plain;
        }
        if (needs_w) {
            float *plain = carve(&c, w_count);
            int rc = onnx_conv_shared_plain(node->shared, d, plain, err);
            if (rc != 0)
                return rc;
            w = plain;
        }
        const inferd_tensor_t *b = node->n_inputs > 2 ? in[2] : NULL;
        int rc = conv_compute(plan, x, w, b != NULL ? b->data : NULL, y, col, err);
        if (rc != 0)
            return rc;
    }
    int64_t count = yn * yc * ys;
    if (sum != NULL) { /* y += sum, numpy broadcasting (the shapes were checked by the Add) */
        const float *s = sum->data;
        if (is_sum_last) {
            float *plain = carve(&c, sn * sc * ss);
            from_channels_last(s, sn, sc, ss, plain);
            s = plain;
        }
        int64_t strides[INFERD_MAX_DIMS], index[INFERD_MAX_DIMS] = {0};
        int rank = out[0].ndim;
        onnx_broadcast_strides(sum, rank, out[0].shape, strides);
        int64_t offset = 0;
        for (int64_t i = 0; i < count; i++) {
            y[i] += s[offset];
            for (int a = rank - 1; a >= 0; a--) { /* the next index, odometer style */
                offset += strides[a];
                if (++index[a] < out[0].shape[a])
                    break;
                offset -= strides[a] * index[a];
                index[a] = 0;
            }
        }
    }
    apply_activation(f, y, count);
    if (is_y_last)
        to_channels_last(y, yn, yc, ys, out[0].data);
    return 0;
}

static bool is_same_shape(const inferd_tensor_t *a, const inferd_tensor_t *b)
{
    return a->ndim == b->ndim && memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) == 0;
}

/* A Conv with a fused MaxPool that oneDNN declined: the convolution (and its activation) into a
 * row-major buffer of its own, then pool.c's loops. A path for shapes oneDNN cannot run (and
 * load-time folding), so the buffer is allocated here rather than planned. */
static int conv_then_pool(const onnx_node_t *node, const conv_plan_t *plan,
                          const onnx_conv_desc_t *d, const inferd_tensor_t *const *in,
                          inferd_tensor_t *conv_out, inferd_tensor_t *out, onnx_scratch_t *scratch,
                          inferd_err_t *err)
{
    onnx_node_t plain = *node; /* writes conv_out row-major */
    plain.channels_last_outputs = 0;
    int64_t bytes = inferd_tensor_bytes(conv_out);
    conv_out->data = malloc(bytes > 0 ? (size_t)bytes : 1);
    if (conv_out->data == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "Conv: out of memory for %lld bytes",
                           (long long)bytes);
    int rc = conv_general(&plain, plan, d, in, conv_out, false, scratch, err);
    if (rc == 0)
        rc = onnx_max_pool_fused_run(node->fused.pool, conv_out, &out[0],
                                     (node->channels_last_outputs & 1u) != 0, scratch, err);
    free(conv_out->data);
    conv_out->data = NULL;
    return rc;
}

static int conv_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                    onnx_scratch_t *scratch, inferd_err_t *err)
{
    conv_plan_t plan;
    onnx_window_t pool_window;
    inferd_tensor_t conv_out;
    int64_t shape[INFERD_MAX_DIMS];
    int rc = conv_pool_plan(node, in, &plan, shape, &pool_window, &conv_out, err);
    if (rc != 0)
        return rc;
    if (inferd_tensor_count(&out[0]) == 0)
        return 0; /* an empty output */
    const onnx_fused_t *f = &node->fused;
    const inferd_tensor_t *b = node->n_inputs > 2 ? in[2] : NULL;
    const inferd_tensor_t *sum = f->sum_input > 0 ? in[f->sum_input] : NULL;
    if (sum != NULL && sum->dtype != INFERD_DT_FP32)
        return onnx_fail_dtype(err, sum, "FP32");
    /* a residual of the output's shape is summed by oneDNN; one that broadcasts, after it */
    bool is_sum_fused = sum != NULL && is_same_shape(sum, &out[0]);
    onnx_conv_desc_t d;
    memset(&d, 0, sizeof(d)); /* compared byte for byte, padding included */
    d.n_spatial = in[0]->ndim - 2;
    d.has_bias = b != NULL;
    d.has_sum = is_sum_fused;
    d.is_src_channels_last = (node->channels_last_inputs & 1u) != 0;
    d.is_dst_channels_last = (node->channels_last_outputs & 1u) != 0;
    d.is_sum_channels_last = is_sum_fused && (node->channels_last_inputs >> f->sum_input & 1u) != 0;
    if (sum == NULL || is_sum_fused) {
        d.activation = f->activation;
        d.alpha = f->alpha;
        d.beta = f->beta;
    }
    d.batch = plan.batch;
    d.channels = plan.in_channels * plan.group;
    d.filters = plan.out_channels * plan.group;
    d.group = plan.group;
    for (int a = 0; a < ONNX_WINDOW_MAX_SPATIAL; a++) {
        d.in[a] = plan.window.in[a];
        d.out[a] = plan.window.out[a];
        d.kernel[a] = plan.window.kernel[a];
        d.stride[a] = plan.window.stride[a];
        d.dilation[a] = plan.window.dilation[a];
        d.pad_begin[a] = plan.window.pad_begin[a];
        d.pad_end[a] = plan.window.pad_end[a];
    }
    if (node->fused.pool != NULL) {
        d.has_pool = true;
        d.pool = pool_window;
    }
    if (sum == NULL && onnx_conv_few_fits(&d)) {
        const float *w =
            node->shared != NULL ? onnx_conv_shared_few(node->shared, &d, err) : in[1]->data;
        if (w == NULL)
            return err->code != 0 ? err->code : INFERD_EINTERNAL;
        onnx_conv_few_run(&d, in[0]->data, w, b != NULL ? b->data : NULL, out[0].data);
        return 0;
    }
    rc = INFERD_EUNSUPPORTED;
    if (scratch->node_state != NULL) {
        onnx_conv_io_t io = {
            .x = in[0]->data,
            .w = in[1]->data,
            .bias = b != NULL ? b->data : NULL,
            .sum = is_sum_fused ? sum->data : NULL,
            .y = out[0].data,
            .is_weights_constant = (node->constant_inputs & 2u) != 0,
        };
        rc = onnx_conv_dnnl(scratch->node_state, node->shared, &d, &io, scratch, err);
        if (rc == 0 && (is_sum_fused || sum == NULL))
            return 0;
    }
    if (rc != 0 && rc != INFERD_EUNSUPPORTED)
        return rc;
    if (node->fused.pool != NULL)
        return conv_then_pool(node, &plan, &d, in, &conv_out, out, scratch, err);
    return conv_general(node, &plan, &d, in, out, rc == 0, scratch, err);
}

/* Takes the weights into node->shared when only this Conv reads them: oneDNN's reordered copy
 * then replaces the plain one, once for all execution contexts. */
int onnx_conv_finalize(onnx_node_t *node, inferd_tensor_t *const *constants, uint64_t is_owned,
                       inferd_err_t *err)
{
    inferd_tensor_t *w = node->n_inputs > 1 ? constants[1] : NULL;
    if (w == NULL || !(is_owned & 2u) || w->dtype != INFERD_DT_FP32 || w->data == NULL)
        return 0;
    int64_t bytes = inferd_tensor_bytes(w);
    if (bytes <= 0)
        return 0;
    onnx_conv_shared_t *shared = onnx_conv_shared_new(w->data, (size_t)bytes);
    if (shared == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    w->data = NULL;
    node->shared = shared;
    node->shared_free = onnx_conv_shared_free;
    return 0;
}

static const onnx_op_t onnx_op_conv = {"Conv", 2, 3, 1, 1, conv_prepare, conv_shape, conv_run};

const onnx_op_t *const onnx_ops_conv[] = {&onnx_op_conv, &onnx_op_conv_transpose, NULL};
