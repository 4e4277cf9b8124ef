/* Pooling: MaxPool (with the optional Indices output), AveragePool, GlobalMaxPool and
 * GlobalAveragePool over 1 to 3 spatial dimensions. Windows follow conv.h's geometry (pads,
 * auto_pad, dilations, ceil_mode). FP32 and FP64 have typed kernels; FP16, INT8 and UINT8
 * (MaxPool only for the integers) go through the FP32 kernel, which is exact for them. */
#include "conv.h"

#include <string.h>

#include "pool_dnnl.h"

typedef enum { POOL_MAX, POOL_AVERAGE } pool_kind_t;

typedef struct {
    onnx_window_attrs_t window;
    pool_kind_t kind;
    bool is_ceil_mode;
    bool counts_pad;      /* AveragePool's count_include_pad */
    bool is_column_major; /* MaxPool's storage_order 1, for Indices */
} pool_params_t;

/* The taps of one window along one axis: kernel indices [lo, hi) land inside the input, starting
 * at input position `start` (which may be negative); `padded` taps land inside the padded extent
 * (AveragePool's divisor with count_include_pad). */
typedef struct {
    int64_t start, lo, hi, padded;
} pool_span_t;

typedef struct {
    onnx_window_t window;
    int64_t planes; /* N * C */
    int64_t in_size, out_size;
} pool_plan_t;

/* ==== shared by MaxPool and AveragePool ==== */

static int pool_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, pool_kind_t kind,
                        const char *op, inferd_err_t *err)
{
    pool_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->kind = kind;
    p->is_ceil_mode = onnx_attr_int(proto, "ceil_mode", 0) != 0;
    p->counts_pad = onnx_attr_int(proto, "count_include_pad", 0) != 0;
    int64_t storage_order = onnx_attr_int(proto, "storage_order", 0);
    if (storage_order != 0 && storage_order != 1)
        return inferd_fail(err, INFERD_EMODEL, "%s: storage_order must be 0 or 1", op);
    p->is_column_major = storage_order == 1;
    int rc = onnx_window_parse(proto, op, &p->window, err);
    if (rc == 0 && p->window.n_kernel < 1)
        rc = inferd_fail(err, INFERD_EMODEL, "%s needs kernel_shape", op);
    return rc;
}

static int max_pool_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    return pool_prepare(node, proto, POOL_MAX, "MaxPool", err);
}

static int average_pool_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    return pool_prepare(node, proto, POOL_AVERAGE, "AveragePool", err);
}

/* The span of output position `o` along promoted axis `a`. */
static pool_span_t pool_span(const onnx_window_t *w, int a, int64_t o)
{
    pool_span_t s;
    int64_t d = w->dilation[a], k = w->kernel[a], in = w->in[a];
    s.start = o * w->stride[a] - w->pad_begin[a];
    /* taps j with 0 <= start + j * d < in */
    s.lo = s.start >= 0 ? 0 : (-s.start + d - 1) / d;
    s.hi = s.start >= in ? 0 : (in - 1 - s.start) / d + 1;
    if (s.hi > k)
        s.hi = k;
    if (s.lo > s.hi)
        s.lo = s.hi;
    /* taps with -pad_begin <= start + j * d < in + pad_end; start >= -pad_begin always */
    int64_t limit = in + w->pad_end[a];
    s.padded = s.start >= limit ? 0 : (limit - 1 - s.start) / d + 1;
    if (s.padded > k)
        s.padded = k;
    return s;
}

static const char *pool_name(const pool_params_t *p)
{
    return p->kind == POOL_MAX ? "MaxPool" : "AveragePool";
}

/* Checks X and fills `plan` and the output shape. Returns 0 or INFERD_EINVAL. */
static int pool_plan(const pool_params_t *p, const inferd_tensor_t *x, pool_plan_t *plan,
                     int64_t *out_shape, inferd_err_t *err)
{
    const char *op = pool_name(p);
    bool is_float =
        x->dtype == INFERD_DT_FP32 || x->dtype == INFERD_DT_FP64 || x->dtype == INFERD_DT_FP16;
    bool is_byte = x->dtype == INFERD_DT_INT8 || x->dtype == INFERD_DT_UINT8;
    if (!is_float && !(is_byte && p->kind == POOL_MAX))
        return onnx_fail_dtype(err, x,
                               p->kind == POOL_MAX ? "FP32, FP64, FP16, INT8 and UINT8"
                                                   : "FP32, FP64 and FP16");
    if (x->ndim != 2 + p->window.n_kernel)
        return inferd_fail(err, INFERD_EINVAL,
                           "%s: X has rank %d but kernel_shape has %d dimensions (rank %d "
                           "expected)",
                           op, x->ndim, p->window.n_kernel, 2 + p->window.n_kernel);
    int n_spatial = x->ndim - 2;
    int rc = onnx_window_resolve(&p->window, n_spatial, x->shape + 2, NULL, p->is_ceil_mode, op,
                                 &plan->window, err);
    if (rc != 0)
        return rc;
    const onnx_window_t *w = &plan->window;
    plan->planes = x->shape[0] * x->shape[1];
    plan->in_size = onnx_window_volume(w->in);
    plan->out_size = onnx_conv_mul3(w->out[0], w->out[1], w->out[2]);
    if (plan->out_size < 0 || onnx_conv_mul3(plan->planes, plan->out_size, 1) < 0)
        return inferd_fail(err, INFERD_EINVAL, "%s: the output would be too large", op);
    /* A window wholly in the padding has no maximum, nor an average without the padding. (An
     * empty output has no windows, however long its other dimensions.) */
    bool needs_taps = p->kind == POOL_MAX || !p->counts_pad;
    for (int a = 0; a < ONNX_WINDOW_MAX_SPATIAL && plan->planes * plan->out_size > 0; a++)
        for (int64_t o = 0; o < w->out[a]; o++) {
            pool_span_t s = pool_span(w, a, o);
            if ((needs_taps && s.lo >= s.hi) || s.padded < 1)
                return inferd_fail(err, INFERD_EINVAL,
                                   "%s: a window lies entirely in the padding (pads too large "
                                   "for the kernel)",
                                   op);
        }
    out_shape[0] = x->shape[0];
    out_shape[1] = x->shape[1];
    for (int i = 0; i < n_spatial; i++)
        out_shape[2 + i] = w->out[ONNX_WINDOW_MAX_SPATIAL - n_spatial + i];
    return 0;
}

static int pool_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, inferd_err_t *err)
{
    pool_plan_t plan;
    int64_t shape[INFERD_MAX_DIMS];
    int rc = pool_plan(node->params, in[0], &plan, shape, err);
    if (rc != 0)
        return rc;
    onnx_set_shape(&out[0], in[0]->dtype, shape, in[0]->ndim);
    if (node->n_outputs > 1)
        onnx_set_shape(&out[1], INFERD_DT_INT64, shape, in[0]->ndim);
    return 0;
}

/* Runs `body` for every row of the window whose spans are sd, sh, sw, with `row` pointing at
 * the row's first tap (taps follow every dil_w elements, from sw->lo to sw->hi). */
#define FOR_WINDOW_ROWS(T, body)                                                                   \
    for (int64_t kd = sd->lo; kd < sd->hi; kd++)                                                   \
        for (int64_t kh = sh->lo; kh < sh->hi; kh++) {                                             \
            const T *row = xp +                                                                    \
                           ((sd->start + kd * dil_d) * in_h + sh->start + kh * dil_h) * in_w +     \
                           sw->start;                                                              \
            body                                                                                   \
        }

/* Pools every plane of `x` into `y` (and, for MaxPool, the flattened index of each maximum into
 * `indices` when not NULL). `spans` holds the out[a] spans of each promoted axis a. Ties keep the
 * first maximum in row-major order. Every window has a tap inside the input (pool_plan checks). */
#define DEFINE_POOL_KERNEL(name, T)                                                                \
    static void name(const pool_params_t *p, const pool_plan_t *plan,                              \
                     pool_span_t *const spans[ONNX_WINDOW_MAX_SPATIAL], const T *x, T *y,          \
                     int64_t *indices)                                                             \
    {                                                                                              \
        const onnx_window_t *w = &plan->window;                                                    \
        const int64_t in_h = w->in[1], in_w = w->in[2];                                            \
        const int64_t dil_d = w->dilation[0], dil_h = w->dilation[1], dil_w = w->dilation[2];      \
        for (int64_t plane = 0; plane < plan->planes; plane++) {                                   \
            const T *xp = x + plane * plan->in_size;                                               \
            int64_t at = plane * plan->out_size;                                                   \
            for (int64_t od = 0; od < w->out[0]; od++)                                             \
                for (int64_t oh = 0; oh < w->out[1]; oh++)                                         \
                    for (int64_t ow = 0; ow < w->out[2]; ow++, at++) {                             \
                        const pool_span_t *sd = &spans[0][od], *sh = &spans[1][oh];                \
                        const pool_span_t *sw = &spans[2][ow];                                     \
                        if (p->kind == POOL_AVERAGE) {                                             \
                            T sum = 0;                                                             \
                            FOR_WINDOW_ROWS(T, for (int64_t kw = sw->lo; kw < sw->hi; kw++) sum += \
                                               row[kw * dil_w];)                                   \
                            int64_t count =                                                        \
                                p->counts_pad                                                      \
                                    ? sd->padded * sh->padded * sw->padded                         \
                                    : (sd->hi - sd->lo) * (sh->hi - sh->lo) * (sw->hi - sw->lo);   \
                            y[at] = sum / (T)count;                                                \
                        } else if (indices == NULL) {                                              \
                            T best = xp[((sd->start + sd->lo * dil_d) * in_h + sh->start +         \
                                         sh->lo * dil_h) *                                         \
                                            in_w +                                                 \
                                        sw->start + sw->lo * dil_w];                               \
                            FOR_WINDOW_ROWS(                                                       \
                                T, for (int64_t kw = sw->lo; kw < sw->hi; kw++) {                  \
                                    T v = row[kw * dil_w];                                         \
                                    best = v > best ? v : best;                                    \
                                })                                                                 \
                            y[at] = best;                                                          \
                        } else {                                                                   \
                            const T *best = xp +                                                   \
                                            ((sd->start + sd->lo * dil_d) * in_h + sh->start +     \
                                             sh->lo * dil_h) *                                     \
                                                in_w +                                             \
                                            sw->start + sw->lo * dil_w;                            \
                            FOR_WINDOW_ROWS(                                                       \
                                T, for (int64_t kw = sw->lo; kw < sw->hi; kw++) {                  \
                                    if (row[kw * dil_w] > *best)                                   \
                                        best = row + kw * dil_w;                                   \
                                })                                                                 \
                            y[at] = *best;                                                         \
                            indices[at] = plane * plan->in_size +                                  \
                                          spatial_index(w, best - xp, p->is_column_major);         \
                        }                                                                          \
                    }                                                                              \
        }                                                                                          \
    }

/* The spatial index ONNX reports for element `offset` of a plane: row-major, or with the first
 * axis fastest when `is_column_major` (storage_order 1). */
static int64_t spatial_index(const onnx_window_t *w, int64_t offset, bool is_column_major)
{
    if (!is_column_major)
        return offset;
    int64_t in_h = w->in[1], in_w = w->in[2];
    int64_t d = offset / (in_h * in_w), h = offset / in_w % in_h, wi = offset % in_w;
    return (wi * in_h + h) * w->in[0] + d;
}

DEFINE_POOL_KERNEL(pool_f32, float)

/* The common CNN case, MaxPool 2x2 with stride 2 on 2-D planes, no padding or dilation and no
 * Indices output: two input rows per output row, no per-window bookkeeping (in LeNet at batch 64
 * the generic kernel took a third of the run). Returns false when the plan is not that case. */
static bool max_pool_2x2_f32(const pool_params_t *p, const pool_plan_t *plan, const float *x,
                             float *y, const int64_t *indices)
{
    const onnx_window_t *w = &plan->window;
    if (p->kind != POOL_MAX || indices != NULL || w->in[0] != 1 || w->out[0] != 1)
        return false;
    for (int a = 1; a < ONNX_WINDOW_MAX_SPATIAL; a++)
        if (w->kernel[a] != 2 || w->stride[a] != 2 || w->dilation[a] != 1 || w->pad_begin[a] != 0 ||
            w->pad_end[a] != 0 || w->out[a] * 2 > w->in[a])
            return false;
    const int64_t in_h = w->in[1], in_w = w->in[2], out_h = w->out[1], out_w = w->out[2];
    for (int64_t plane = 0; plane < plan->planes; plane++) {
        const float *xp = x + plane * plan->in_size;
        float *yp = y + plane * plan->out_size;
        for (int64_t oh = 0; oh < out_h; oh++) {
            const float *r0 = xp + 2 * oh * in_w, *r1 = r0 + in_w;
            float *yr = yp + oh * out_w;
            for (int64_t ow = 0; ow < out_w; ow++) {
                float a = r0[2 * ow] > r0[2 * ow + 1] ? r0[2 * ow] : r0[2 * ow + 1];
                float b = r1[2 * ow] > r1[2 * ow + 1] ? r1[2 * ow] : r1[2 * ow + 1];
                yr[ow] = a > b ? a : b;
            }
        }
        (void)in_h;
    }
    return true;
}
DEFINE_POOL_KERNEL(pool_f64, double)

/* MaxPool (no Indices) or AveragePool of a channels-last FP32 input (see graph.h): each tap is a
 * run of `channels` contiguous values, so the inner loop is over channels and vectorizes. Writes
 * `y` channels-last when `is_y_last`, else row-major through `acc` (scratch of `channels`
 * floats). Same taps in the same order as pool_f32, so the same results. */
static void pool_channels_last_f32(const pool_params_t *p, const pool_plan_t *plan,
                                   pool_span_t *const spans[ONNX_WINDOW_MAX_SPATIAL], int64_t batch,
                                   int64_t channels, const float *x, float *y, bool is_y_last,
                                   float *acc)
{
    const onnx_window_t *w = &plan->window;
    const int64_t in_h = w->in[1], in_w = w->in[2];
    const int64_t dil_d = w->dilation[0], dil_h = w->dilation[1], dil_w = w->dilation[2];
    for (int64_t n = 0; n < batch; n++) {
        const float *xn = x + n * plan->in_size * channels;
        int64_t o = 0;
        for (int64_t od = 0; od < w->out[0]; od++)
            for (int64_t oh = 0; oh < w->out[1]; oh++)
                for (int64_t ow = 0; ow < w->out[2]; ow++, o++) {
                    const pool_span_t *sd = &spans[0][od], *sh = &spans[1][oh];
                    const pool_span_t *sw = &spans[2][ow];
                    float *a = is_y_last ? y + (n * plan->out_size + o) * channels : acc;
                    bool is_first = true;
                    if (p->kind == POOL_AVERAGE)
                        memset(a, 0, sizeof(float) * (size_t)channels);
                    for (int64_t kd = sd->lo; kd < sd->hi; kd++)
                        for (int64_t kh = sh->lo; kh < sh->hi; kh++)
                            for (int64_t kw = sw->lo; kw < sw->hi; kw++) {
                                const float *px =
                                    xn +
                                    (((sd->start + kd * dil_d) * in_h + sh->start + kh * dil_h) *
                                         in_w +
                                     sw->start + kw * dil_w) *
                                        channels;
                                if (p->kind == POOL_AVERAGE) {
                                    for (int64_t c = 0; c < channels; c++)
                                        a[c] += px[c];
                                } else if (is_first) {
                                    memcpy(a, px, sizeof(float) * (size_t)channels);
                                    is_first = false;
                                } else {
                                    for (int64_t c = 0; c < channels; c++)
                                        a[c] = px[c] > a[c] ? px[c] : a[c];
                                }
                            }
                    if (p->kind == POOL_AVERAGE) {
                        int64_t count = p->counts_pad ? sd->padded * sh->padded * sw->padded
                                                      : (sd->hi - sd->lo) * (sh->hi - sh->lo) *
                                                            (sw->hi - sw->lo);
                        for (int64_t c = 0; c < channels; c++)
                            a[c] = a[c] / (float)count;
                    }
                    if (!is_y_last)
                        for (int64_t c = 0; c < channels; c++)
                            y[(n * channels + c) * plan->out_size + o] = a[c];
                }
    }
}

/* MaxPool 2x2 with stride 2 (no padding, dilation or Indices) from channels-last to
 * channels-last: each output row is the maximum of two input rows, taken first over whole rows
 * (contiguous, so it vectorizes whatever the channel count) into `row_max` (in_w * channels
 * floats), then over neighbouring pixels. Returns false when the plan is not that case. */
static bool max_pool_2x2_channels_last(const pool_params_t *p, const pool_plan_t *plan,
                                       int64_t batch, int64_t channels, const float *x, float *y,
                                       float *row_max)
{
    const onnx_window_t *w = &plan->window;
    if (p->kind != POOL_MAX || w->in[0] != 1 || w->out[0] != 1)
        return false;
    for (int a = 1; a < ONNX_WINDOW_MAX_SPATIAL; a++)
        if (w->kernel[a] != 2 || w->stride[a] != 2 || w->dilation[a] != 1 || w->pad_begin[a] != 0 ||
            w->pad_end[a] != 0 || w->out[a] * 2 > w->in[a])
            return false;
    const int64_t in_h = w->in[1], in_w = w->in[2], out_h = w->out[1], out_w = w->out[2];
    const int64_t row = in_w * channels;
    for (int64_t n = 0; n < batch; n++)
        for (int64_t oh = 0; oh < out_h; oh++) {
            const float *r0 = x + (n * in_h + 2 * oh) * row, *r1 = r0 + row;
            for (int64_t j = 0; j < row; j++)
                row_max[j] = r0[j] > r1[j] ? r0[j] : r1[j];
            float *yr = y + (n * out_h + oh) * out_w * channels;
            for (int64_t ow = 0; ow < out_w; ow++) {
                const float *left = row_max + 2 * ow * channels, *right = left + channels;
                for (int64_t c = 0; c < channels; c++)
                    yr[ow * channels + c] = left[c] > right[c] ? left[c] : right[c];
            }
        }
    return true;
}

/* Row-major [batch, channels, size] into channels-last [batch, size, channels]. */
static void pool_to_channels_last(const float *x, int64_t batch, int64_t channels, int64_t size,
                                  float *y)
{
    for (int64_t n = 0; n < batch; n++)
        for (int64_t c = 0; c < channels; c++)
            for (int64_t i = 0; i < size; i++)
                y[(n * size + i) * channels + c] = x[(n * channels + c) * size + i];
}

/* MaxPool of channels-last FP32 through oneDNN, into channels-last Y or, when the graph wants
 * Y row-major, through scratch and a transpose. Returns INFERD_EUNSUPPORTED when oneDNN declines
 * (the caller's loops then run). */
static int max_pool_channels_last_dnnl(const onnx_node_t *node, const pool_plan_t *plan,
                                       const inferd_tensor_t *x, inferd_tensor_t *out,
                                       onnx_scratch_t *scratch, inferd_err_t *err)
{
    if (scratch->node_state == NULL)
        return INFERD_EUNSUPPORTED;
    bool is_y_last = (node->channels_last_outputs & 1u) != 0;
    onnx_pool_desc_t d;
    memset(&d, 0, sizeof(d)); /* compared byte for byte, padding included */
    d.batch = x->shape[0];
    d.channels = x->shape[1];
    d.window = plan->window;
    float *y = out[0].data;
    if (!is_y_last) {
        y = onnx_scratch_get(scratch, sizeof(float) * (size_t)(plan->planes * plan->out_size));
        if (y == NULL)
            return inferd_fail(err, INFERD_ENOMEM, "MaxPool: out of memory");
    }
    int rc = onnx_max_pool_dnnl(scratch->node_state, &d, x->data, y, err);
    if (rc != 0 || is_y_last)
        return rc;
    /* [batch, size, channels] -> [batch, channels, size] */
    float *to = out[0].data;
    for (int64_t n = 0; n < d.batch; n++)
        for (int64_t i = 0; i < plan->out_size; i++)
            for (int64_t c = 0; c < d.channels; c++)
                to[(n * d.channels + c) * plan->out_size + i] =
                    y[(n * plan->out_size + i) * d.channels + c];
    return 0;
}

static int pool_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                    onnx_scratch_t *scratch, inferd_err_t *err)
{
    const pool_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    pool_plan_t plan;
    int64_t shape[INFERD_MAX_DIMS];
    int rc = pool_plan(p, x, &plan, shape, err);
    if (rc != 0)
        return rc;
    const onnx_window_t *w = &plan.window;
    if (plan.planes * plan.out_size == 0)
        return 0;
    /* scratch: the spans of each axis, then (for dtypes the FP32 kernel converts) X and Y, or
     * for channels-last values one output position or the whole row-major output */
    bool is_x_last = (node->channels_last_inputs & 1u) != 0;
    bool is_y_last = (node->channels_last_outputs & 1u) != 0;
    int64_t batch = x->shape[0], channels = x->shape[1];
    if (is_x_last && p->kind == POOL_MAX && x->dtype == INFERD_DT_FP32 && node->n_outputs == 1) {
        rc = max_pool_channels_last_dnnl(node, &plan, x, out, scratch, err);
        if (rc != INFERD_EUNSUPPORTED)
            return rc;
    }
    int64_t n_spans = w->out[0] + w->out[1] + w->out[2];
    bool converts = x->dtype != INFERD_DT_FP32 && x->dtype != INFERD_DT_FP64;
    int64_t x_count = converts ? plan.planes * plan.in_size : 0;
    int64_t y_count = converts || (is_y_last && !is_x_last) ? plan.planes * plan.out_size : 0;
    if (is_x_last && !is_y_last)
        y_count = channels;
    if (is_x_last && is_y_last)
        y_count = w->in[2] * channels; /* one row's maxima for the 2x2 fast path */
    size_t span_bytes = sizeof(pool_span_t) * (size_t)n_spans;
    span_bytes = (span_bytes + 63) & ~(size_t)63;
    char *base =
        onnx_scratch_get(scratch, span_bytes + sizeof(float) * (size_t)(x_count + y_count));
    if (base == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "%s: out of memory", pool_name(p));
    pool_span_t *spans[ONNX_WINDOW_MAX_SPATIAL];
    pool_span_t *next = (pool_span_t *)base;
    for (int a = 0; a < ONNX_WINDOW_MAX_SPATIAL; a++) {
        spans[a] = next;
        for (int64_t o = 0; o < w->out[a]; o++)
            spans[a][o] = pool_span(w, a, o);
        next += w->out[a];
    }
    if (is_x_last || is_y_last) { /* only between FP32 Convs and pools (optimize.c) */
        if (x->dtype != INFERD_DT_FP32 || node->n_outputs > 1)
            return inferd_fail(err, INFERD_EINTERNAL, "%s: channels-last needs FP32, no Indices",
                               pool_name(p));
        float *scratch_y = (float *)(base + span_bytes);
        if (is_x_last && is_y_last &&
            max_pool_2x2_channels_last(p, &plan, batch, channels, x->data, out[0].data, scratch_y))
            return 0;
        if (is_x_last) {
            pool_channels_last_f32(p, &plan, spans, batch, channels, x->data, out[0].data,
                                   is_y_last, scratch_y);
        } else {
            pool_f32(p, &plan, spans, x->data, scratch_y, NULL);
            pool_to_channels_last(scratch_y, batch, channels, plan.out_size, out[0].data);
        }
        return 0;
    }
    int64_t *indices = node->n_outputs > 1 ? out[1].data : NULL;
    if (x->dtype == INFERD_DT_FP32 && max_pool_2x2_f32(p, &plan, x->data, out[0].data, indices))
        return 0;
    if (x->dtype == INFERD_DT_FP32) {
        pool_f32(p, &plan, spans, x->data, out[0].data, indices);
    } else if (x->dtype == INFERD_DT_FP64) {
        pool_f64(p, &plan, spans, x->data, out[0].data, indices);
    } else {
        float *xf = (float *)(base + span_bytes), *yf = xf + x_count;
        for (int64_t i = 0; i < x_count; i++)
            xf[i] = (float)onnx_get_f64(x, i);
        pool_f32(p, &plan, spans, xf, yf, indices);
        for (int64_t i = 0; i < y_count; i++)
            onnx_set_f64(&out[0], i, yf[i]);
    }
    return 0;
}

/* ==== a MaxPool fused into the Conv before it (optimize.c) ==== */

int onnx_max_pool_fused_plan(const void *params, const inferd_tensor_t *x, onnx_window_t *OUT_window,
                             int64_t *out_shape, inferd_err_t *err)
{
    pool_plan_t plan;
    int rc = pool_plan(params, x, &plan, out_shape, err);
    if (rc == 0)
        *OUT_window = plan.window;
    return rc;
}

int onnx_max_pool_fused_run(const void *params, const inferd_tensor_t *x, inferd_tensor_t *y,
                            bool is_y_last, onnx_scratch_t *scratch, inferd_err_t *err)
{
    /* the Conv's node state holds convolutions, not poolings: this run uses none */
    onnx_node_t node = {.params = (void *)params,
                        .n_inputs = 1,
                        .n_outputs = 1,
                        .channels_last_outputs = is_y_last ? 1u : 0u};
    onnx_scratch_t own = {scratch->data, scratch->capacity, NULL};
    const inferd_tensor_t *in[1] = {x};
    int rc = pool_run(&node, in, y, &own, err);
    scratch->data = own.data; /* it may have grown */
    scratch->capacity = own.capacity;
    return rc;
}

static const onnx_op_t onnx_op_max_pool = {"MaxPool",        1,          1,       1, 2,
                                           max_pool_prepare, pool_shape, pool_run};
static const onnx_op_t onnx_op_average_pool = {"AveragePool",        1,          1,       1, 1,
                                               average_pool_prepare, pool_shape, pool_run};

/* ==== GlobalMaxPool, GlobalAveragePool ==== */

static int global_pool_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                             inferd_tensor_t *out, inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0];
    if (x->dtype != INFERD_DT_FP32 && x->dtype != INFERD_DT_FP64 && x->dtype != INFERD_DT_FP16)
        return onnx_fail_dtype(err, x, "FP32, FP64 and FP16");
    if (x->ndim < 3)
        return inferd_fail(err, INFERD_EINVAL, "%s needs X of rank 3 or more (N, C, spatial)",
                           node->op->op_type);
    int64_t shape[INFERD_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) {
        if (d >= 2 && x->shape[d] < 1)
            return inferd_fail(err, INFERD_EINVAL, "%s: spatial dimension %d is empty",
                               node->op->op_type, d);
        shape[d] = d < 2 ? x->shape[d] : 1;
    }
    onnx_set_shape(&out[0], x->dtype, shape, x->ndim);
    return 0;
}

static int global_pool_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                           inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0];
    bool is_max = strcmp(node->op->op_type, "GlobalMaxPool") == 0;
    int64_t planes = x->shape[0] * x->shape[1], size = 1;
    for (int d = 2; d < x->ndim; d++)
        size *= x->shape[d];
    if (x->dtype == INFERD_DT_FP32 && (node->channels_last_inputs & 1u) != 0) {
        /* channels-last: accumulate a row of channels per position, in the same order */
        int64_t channels = x->shape[1];
        const float *xd = x->data;
        float *y = out[0].data;
        for (int64_t n = 0; n < x->shape[0]; n++) {
            float *yn = y + n * channels;
            const float *xn = xd + n * size * channels;
            for (int64_t c = 0; c < channels; c++)
                yn[c] = is_max ? xn[c] : 0.0f;
            for (int64_t i = 0; i < size; i++)
                for (int64_t c = 0; c < channels; c++) {
                    float v = xn[i * channels + c];
                    yn[c] = is_max ? (v > yn[c] ? v : yn[c]) : yn[c] + v;
                }
            if (!is_max)
                for (int64_t c = 0; c < channels; c++)
                    yn[c] = yn[c] / (float)size;
        }
        return 0;
    }
    if (x->dtype == INFERD_DT_FP32) {
        const float *xd = x->data;
        float *y = out[0].data;
        for (int64_t plane = 0; plane < planes; plane++) {
            const float *xp = xd + plane * size;
            float acc = is_max ? xp[0] : 0.0f;
            for (int64_t i = 0; i < size; i++)
                acc = is_max ? (xp[i] > acc ? xp[i] : acc) : acc + xp[i];
            y[plane] = is_max ? acc : acc / (float)size;
        }
        return 0;
    }
    for (int64_t plane = 0; plane < planes; plane++) { /* FP64, FP16: rare, exact in double */
        double acc = is_max ? onnx_get_f64(x, plane * size) : 0.0;
        for (int64_t i = 0; i < size; i++) {
            double v = onnx_get_f64(x, plane * size + i);
            acc = is_max ? (v > acc ? v : acc) : acc + v;
        }
        onnx_set_f64(&out[0], plane, is_max ? acc : acc / (double)size);
    }
    return 0;
}

static const onnx_op_t onnx_op_global_max_pool = {
    "GlobalMaxPool", 1, 1, 1, 1, NULL, global_pool_shape, global_pool_run};
static const onnx_op_t onnx_op_global_average_pool = {
    "GlobalAveragePool", 1, 1, 1, 1, NULL, global_pool_shape, global_pool_run};

const onnx_op_t *const onnx_ops_pool[] = {&onnx_op_max_pool, &onnx_op_average_pool,
                                          &onnx_op_global_max_pool, &onnx_op_global_average_pool,
                                          NULL};
