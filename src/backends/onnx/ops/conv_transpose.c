/* ConvTranspose (1-D to 3-D; groups, dilations, strides, pads, output_padding, output_shape,
 * auto_pad, optional bias), FP32. The adjoint of Conv: for each group of each batch element
 * oneDNN's sgemm multiplies the transposed filters with the input into a column matrix, and
 * col2im adds every column value to the output position it lands on. Listed in conv.c's table. */
#include "conv.h"

#include <string.h>

typedef struct {
    onnx_window_attrs_t window;
    int64_t group;
    int n_output_padding, n_output_shape; /* -1 when absent */
    int64_t output_padding[ONNX_WINDOW_MAX_SPATIAL];
    int64_t output_shape[ONNX_WINDOW_MAX_SPATIAL + 2];
} conv_transpose_params_t;

/* What one ConvTranspose computes. `window` describes the Conv whose adjoint this is: its `in` is
 * Y's spatial size and its `out` is X's. */
typedef struct {
    onnx_window_t window;
    int64_t batch, group;
    int64_t in_channels, out_channels; /* per group */
    int64_t in_size, out_size, kernel_size;
    bool is_pointwise; /* 1x1 kernel, stride 1, no pads, same size: col2im is the identity */
} conv_transpose_plan_t;

static int conv_transpose_prepare(onnx_node_t *node, const Onnx__NodeProto *proto,
                                  inferd_err_t *err)
{
    conv_transpose_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->group = onnx_attr_int(proto, "group", 1);
    if (p->group < 1 || p->group >= ((int64_t)1 << 31))
        return inferd_fail(err, INFERD_EMODEL, "ConvTranspose: group %lld is out of range",
                           (long long)p->group);
    int rc = onnx_window_parse(proto, "ConvTranspose", &p->window, err);
    if (rc != 0)
        return rc;
    p->n_output_padding =
        onnx_attr_ints(proto, "output_padding", p->output_padding, ONNX_WINDOW_MAX_SPATIAL);
    p->n_output_shape =
        onnx_attr_ints(proto, "output_shape", p->output_shape, ONNX_WINDOW_MAX_SPATIAL + 2);
    if (p->n_output_padding > ONNX_WINDOW_MAX_SPATIAL ||
        p->n_output_shape > ONNX_WINDOW_MAX_SPATIAL + 2)
        return inferd_fail(err, INFERD_EMODEL,
                           "ConvTranspose: output_padding or output_shape has too many values");
    for (int i = 0; i < p->n_output_padding; i++)
        if (p->output_padding[i] < 0 || p->output_padding[i] >= ((int64_t)1 << 31))
            return inferd_fail(err, INFERD_EMODEL,
                               "ConvTranspose: output_padding %lld is out of "
                               "range",
                               (long long)p->output_padding[i]);
    for (int i = 0; i < p->n_output_shape; i++)
        if (p->output_shape[i] < 1 || p->output_shape[i] >= ((int64_t)1 << 40))
            return inferd_fail(err, INFERD_EMODEL,
                               "ConvTranspose: output_shape %lld is out of "
                               "range",
                               (long long)p->output_shape[i]);
    return 0;
}

/* floor(total / 2), also for negative totals (the spec's equations use floor division). */
static int64_t half_floor(int64_t total)
{
    return total >= 0 ? total / 2 : -((-total + 1) / 2);
}

/* Resolves the geometry of spatial axis `i` (promoted axis `a`) into plan->window. */
static int resolve_axis(const conv_transpose_params_t *p, int n_spatial, int i, int64_t in,
                        int64_t kernel, onnx_window_t *w, inferd_err_t *err)
{
    const onnx_window_attrs_t *attrs = &p->window;
    int a = ONNX_WINDOW_MAX_SPATIAL - n_spatial + i;
    if (attrs->n_kernel >= 0 && attrs->kernel[i] != kernel)
        return inferd_fail(err, INFERD_EINVAL,
                           "ConvTranspose: kernel_shape %lld differs from W's %lld",
                           (long long)attrs->kernel[i], (long long)kernel);
    if (kernel < 1 || kernel >= ((int64_t)1 << 31) || in < 1)
        return inferd_fail(err, INFERD_EINVAL,
                           "ConvTranspose: kernel size %lld or input size %lld is out of range",
                           (long long)kernel, (long long)in);
    int64_t s = attrs->n_strides > 0 ? attrs->strides[i] : 1;
    int64_t d = attrs->n_dilations > 0 ? attrs->dilations[i] : 1;
    int64_t extra = p->n_output_padding > 0 ? p->output_padding[i] : 0;
    int64_t spread;
    if (__builtin_mul_overflow(s, in - 1, &spread) || spread > ((int64_t)1 << 61))
        return inferd_fail(err, INFERD_EINVAL, "ConvTranspose: the output would be too large");
    int64_t natural = spread + extra + (kernel - 1) * d + 1;
    int64_t out, pad_begin = 0, pad_end = 0;
    bool is_same =
        attrs->auto_pad == ONNX_AUTO_PAD_SAME_UPPER || attrs->auto_pad == ONNX_AUTO_PAD_SAME_LOWER;
    if (p->n_output_shape > 0 || is_same) {
        if (p->n_output_shape > 0)
            out = p->output_shape[p->n_output_shape - n_spatial + i];
        else if (__builtin_mul_overflow(in, s, &out))
            return inferd_fail(err, INFERD_EINVAL, "ConvTranspose: the output would be too large");
        int64_t total = natural - out;
        if (attrs->auto_pad == ONNX_AUTO_PAD_SAME_UPPER) {
            pad_begin = half_floor(total);
            pad_end = total - pad_begin;
        } else {
            pad_end = half_floor(total);
            pad_begin = total - pad_end;
        }
    } else {
        if (attrs->auto_pad == ONNX_AUTO_PAD_NOTSET && attrs->n_pads > 0) {
            pad_begin = attrs->pads[i];
            pad_end = attrs->pads[n_spatial + i];
        }
        out = natural - pad_begin - pad_end;
    }
    if (out < 1)
        return inferd_fail(err, INFERD_EINVAL,
                           "ConvTranspose: pads %lld and %lld leave no output along spatial "
                           "dimension %d",
                           (long long)pad_begin, (long long)pad_end, i);
    w->in[a] = out; /* the adjoint Conv reads Y's positions and writes X's */
    w->out[a] = in;
    w->kernel[a] = kernel;
    w->stride[a] = s;
    w->dilation[a] = d;
    w->pad_begin[a] = pad_begin;
    w->pad_end[a] = pad_end;
    return 0;
}

/* Checks the inputs and fills `plan` and the output shape. Returns 0 or INFERD_EINVAL. */
static int conv_transpose_plan(const conv_transpose_params_t *p, const inferd_tensor_t *const *in,
                               int n_inputs, conv_transpose_plan_t *plan, int64_t *out_shape,
                               inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0], *w = in[1], *b = n_inputs > 2 ? in[2] : NULL;
    if (x->dtype != INFERD_DT_FP32)
        return onnx_fail_dtype(err, x, "FP32");
    if (w->dtype != INFERD_DT_FP32 || (b != NULL && b->dtype != INFERD_DT_FP32))
        return inferd_fail(err, INFERD_EINVAL, "ConvTranspose: W and B must be FP32 like X");
    if (x->ndim < 3 || x->ndim > 2 + ONNX_WINDOW_MAX_SPATIAL || w->ndim != x->ndim)
        return inferd_fail(
            err, INFERD_EINVAL,
            "ConvTranspose needs X of rank 3 to 5 and W of the same rank (got %d and %d)", x->ndim,
            w->ndim);
    int64_t channels = x->shape[1];
    if (w->shape[0] != channels || channels % p->group != 0)
        return inferd_fail(err, INFERD_EINVAL,
                           "ConvTranspose: W's first dimension %lld must equal X's %lld channels, "
                           "a multiple of group %lld",
                           (long long)w->shape[0], (long long)channels, (long long)p->group);
    int64_t filters;
    if (__builtin_mul_overflow(w->shape[1], p->group, &filters))
        return inferd_fail(err, INFERD_EINVAL, "ConvTranspose: too many output channels");
    if (b != NULL && (b->ndim != 1 || b->shape[0] != filters))
        return inferd_fail(err, INFERD_EINVAL,
                           "ConvTranspose: B must have %lld values (one per output channel)",
                           (long long)filters);
    int n_spatial = x->ndim - 2;
    const onnx_window_attrs_t *attrs = &p->window;
    if ((attrs->n_kernel >= 0 && attrs->n_kernel != n_spatial) ||
        (attrs->n_strides >= 0 && attrs->n_strides != n_spatial) ||
        (attrs->n_dilations >= 0 && attrs->n_dilations != n_spatial) ||
        (attrs->n_pads > 0 && attrs->n_pads != 2 * n_spatial) ||
        (p->n_output_padding > 0 && p->n_output_padding != n_spatial) ||
        (p->n_output_shape > 0 && p->n_output_shape != n_spatial &&
         p->n_output_shape != n_spatial + 2))
        return inferd_fail(err, INFERD_EINVAL,
                           "ConvTranspose: an attribute's length does not match the input's %d "
                           "spatial dimensions",
                           n_spatial);
    onnx_window_t *win = &plan->window;
    win->n_spatial = n_spatial;
    for (int a = 0; a < ONNX_WINDOW_MAX_SPATIAL; a++) {
        win->in[a] = win->out[a] = win->kernel[a] = win->stride[a] = win->dilation[a] = 1;
        win->pad_begin[a] = win->pad_end[a] = 0;
    }
    for (int i = 0; i < n_spatial; i++) {
        int rc = resolve_axis(p, n_spatial, i, x->shape[2 + i], w->shape[2 + i], win, err);
        if (rc != 0)
            return rc;
    }
    plan->batch = x->shape[0];
    plan->group = p->group;
    plan->in_channels = channels / p->group;
    plan->out_channels = w->shape[1];
    plan->in_size = onnx_window_volume(win->out);
    plan->out_size = onnx_conv_mul3(win->in[0], win->in[1], win->in[2]);
    plan->kernel_size = onnx_window_volume(win->kernel);
    plan->is_pointwise = plan->kernel_size == 1;
    for (int a = 0; a < ONNX_WINDOW_MAX_SPATIAL; a++)
        if (win->stride[a] != 1 || win->pad_begin[a] != 0 || win->pad_end[a] != 0 ||
            win->in[a] != win->out[a])
            plan->is_pointwise = false;
    if (plan->out_size < 0 || onnx_conv_mul3(filters, plan->out_size, plan->batch) < 0 ||
        onnx_conv_mul3(plan->out_channels, plan->kernel_size, plan->in_size) < 0)
        return inferd_fail(err, INFERD_EINVAL, "ConvTranspose: the output would be too large");
    out_shape[0] = plan->batch;
    out_shape[1] = filters;
    for (int i = 0; i < n_spatial; i++)
        out_shape[2 + i] = win->in[ONNX_WINDOW_MAX_SPATIAL - n_spatial + i];
    return 0;
}

static int conv_transpose_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                                inferd_tensor_t *out, inferd_err_t *err)
{
    conv_transpose_plan_t plan;
    int64_t shape[INFERD_MAX_DIMS];
    int rc = conv_transpose_plan(node->params, in, node->n_inputs, &plan, shape, err);
    if (rc == 0)
        onnx_set_shape(&out[0], INFERD_DT_FP32, shape, in[0]->ndim);
    return rc;
}

/* Adds `n` values of `src` to `dst` at `first + j * stride`, skipping those outside [0, len). */
static void scatter_row(float *dst, const float *src, int64_t n, int64_t first, int64_t stride,
                        int64_t len)
{
    int64_t lo = first >= 0 ? 0 : (-first + stride - 1) / stride;
    int64_t hi = first >= len ? 0 : (len - 1 - first) / stride + 1;
    if (hi > n)
        hi = n;
    float *d = dst + first + lo * stride;
    for (int64_t j = lo; j < hi; j++, d += stride)
        *d += src[j];
}

/* The adjoint of conv.c's im2col: adds row (c, kd, kh, kw) of `col`, one value per position of
 * the window's `out` grid, to `y` (channels planes of the window's `in` size) where that kernel
 * tap lands; taps landing in the padding are dropped. */
static void col2im(const onnx_window_t *w, int64_t channels, const float *col, float *y)
{
    const int64_t plane_size = onnx_window_volume(w->in);
    const int64_t out_d = w->out[0], out_h = w->out[1], out_w = w->out[2];
    const float *src = col;
    for (int64_t c = 0; c < channels; c++) {
        float *plane = y + c * plane_size;
        for (int64_t kd = 0; kd < w->kernel[0]; kd++)
            for (int64_t kh = 0; kh < w->kernel[1]; kh++)
                for (int64_t kw = 0; kw < w->kernel[2]; kw++) {
                    int64_t first_w = kw * w->dilation[2] - w->pad_begin[2];
                    for (int64_t od = 0; od < out_d; od++) {
                        int64_t id = od * w->stride[0] - w->pad_begin[0] + kd * w->dilation[0];
                        for (int64_t oh = 0; oh < out_h; oh++, src += out_w) {
                            int64_t ih = oh * w->stride[1] - w->pad_begin[1] + kh * w->dilation[1];
                            if (id < 0 || id >= w->in[0] || ih < 0 || ih >= w->in[1])
                                continue;
                            scatter_row(plane + (id * w->in[1] + ih) * w->in[2], src, out_w,
                                        first_w, w->stride[2], w->in[2]);
                        }
                    }
                }
    }
}

/* The transposed convolution itself: y = conv_transpose(x, w) + bias (bias may be NULL). `col`
 * is scratch of out_channels * kernel_size * in_size floats (unused for pointwise plans). */
static int conv_transpose_compute(const conv_transpose_plan_t *plan, const float *x, const float *w,
                                  const float *bias, float *y, float *col, inferd_err_t *err)
{
    const int64_t channels = plan->in_channels * plan->group;
    const int64_t filters = plan->out_channels * plan->group;
    const int64_t rows = plan->out_channels * plan->kernel_size; /* of col, per group */
    for (int64_t n = 0; n < plan->batch; n++)
        for (int64_t g = 0; g < plan->group; g++) {
            const float *xg = x + (n * channels + g * plan->in_channels) * plan->in_size;
            float *yg = y + (n * filters + g * plan->out_channels) * plan->out_size;
            const float *wg = w + g * plan->in_channels * rows;
            for (int64_t f = 0; f < plan->out_channels; f++) {
                float value = bias != NULL ? bias[g * plan->out_channels + f] : 0.0f;
                float *row = yg + f * plan->out_size;
                for (int64_t i = 0; i < plan->out_size; i++)
                    row[i] = value;
            }
            /* col = Wg^T * Xg, Wg stored as [in_channels, rows] */
            int rc = onnx_conv_sgemm(true, rows, plan->in_size, plan->in_channels, wg, rows, xg,
                                     plan->in_size, plan->is_pointwise ? 1.0f : 0.0f,
                                     plan->is_pointwise ? yg : col, plan->in_size, err);
            if (rc != 0)
                return rc;
            if (!plan->is_pointwise)
                col2im(&plan->window, plan->out_channels, col, yg);
        }
    return 0;
}

static int conv_transpose_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                              inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    conv_transpose_plan_t plan;
    int64_t shape[INFERD_MAX_DIMS];
    int rc = conv_transpose_plan(node->params, in, node->n_inputs, &plan, shape, err);
    if (rc != 0)
        return rc;
    if (plan.batch == 0)
        return 0; /* an empty output */
    float *col = NULL;
    if (!plan.is_pointwise) {
        int64_t count = onnx_conv_mul3(plan.out_channels, plan.kernel_size, plan.in_size);
        col = onnx_scratch_get(scratch, sizeof(float) * (size_t)(count > 0 ? count : 1));
        if (col == NULL)
            return inferd_fail(err, INFERD_ENOMEM,
                               "ConvTranspose: out of memory for %lld column values",
                               (long long)count);
    }
    const inferd_tensor_t *b = node->n_inputs > 2 ? in[2] : NULL;
    return conv_transpose_compute(&plan, in[0]->data, in[1]->data, b != NULL ? b->data : NULL,
                                  out[0].data, col, err);
}

const onnx_op_t onnx_op_conv_transpose = {
    "ConvTranspose", 2, 3, 1, 1, conv_transpose_prepare, conv_transpose_shape, conv_transpose_run};
