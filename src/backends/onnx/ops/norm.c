/* Normalizations: BatchNormalization (inference form only: running mean and variance given as
 * inputs), InstanceNormalization and LayerNormalization (with its optional Mean and InvStdDev
 * outputs). FP32 has typed loops; FP64 and FP16 go through the generic element access. Means and
 * variances are accumulated in double. */
#include "ops.h"

#include <math.h>
#include <string.h>

static bool is_float_tensor(const inferd_tensor_t *t)
{
    return t->dtype == INFERD_DT_FP32 || t->dtype == INFERD_DT_FP64 || t->dtype == INFERD_DT_FP16;
}

/* Checks that `t` (named `what`) is a float vector of `count` values. */
static int check_channel_vector(const char *op, const char *what, const inferd_tensor_t *t,
                                int64_t count, inferd_err_t *err)
{
    if (!is_float_tensor(t))
        return inferd_fail(err, INFERD_EINVAL, "%s: %s must be FP32, FP64 or FP16, not %s", op,
                           what, inferd_dtype_name(t->dtype));
    if (t->ndim != 1 || t->shape[0] != count)
        return inferd_fail(err, INFERD_EINVAL,
                           "%s: %s must be a vector of %lld values (one per "
                           "channel)",
                           op, what, (long long)count);
    return 0;
}

/* ==== BatchNormalization ==== */

typedef struct {
    float epsilon;
} epsilon_params_t;

static int batch_norm_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    epsilon_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->epsilon = onnx_attr_float(proto, "epsilon", 1e-5f);
    if (node->opset >= 14 && onnx_attr_int(proto, "training_mode", 0) != 0)
        return inferd_fail(err, INFERD_EMODEL,
                           "BatchNormalization: training_mode=1 is not supported (inference "
                           "only)");
    if (node->opset < 9 && onnx_attr_int(proto, "spatial", 1) == 0)
        return inferd_fail(err, INFERD_EMODEL,
                           "BatchNormalization: spatial=0 (per-activation statistics) is not "
                           "supported");
    for (int k = 1; k < node->n_outputs; k++)
        if (node->outputs[k] >= 0)
            return inferd_fail(err, INFERD_EMODEL,
                               "BatchNormalization: the training outputs (running and saved mean "
                               "and variance) are not supported (inference only)");
    if (!(p->epsilon >= 0.0f))
        return inferd_fail(err, INFERD_EMODEL, "BatchNormalization: epsilon must not be negative");
    return 0;
}

static int batch_norm_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                            inferd_tensor_t *out, inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0];
    static const char *const names[] = {"X", "scale", "B", "mean", "var"};
    if (!is_float_tensor(x))
        return onnx_fail_dtype(err, x, "FP32, FP64 and FP16");
    if (x->ndim < 2)
        return inferd_fail(err, INFERD_EINVAL,
                           "BatchNormalization needs X of rank 2 or more (N, C, ...)");
    for (int k = 1; k < 5; k++) {
        int rc = check_channel_vector("BatchNormalization", names[k], in[k], x->shape[1], err);
        if (rc != 0)
            return rc;
    }
    onnx_set_shape(&out[0], x->dtype, x->shape, x->ndim);
    return 0;
}

static int batch_norm_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const epsilon_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    int64_t batch = x->shape[0], channels = x->shape[1], size = 1;
    for (int d = 2; d < x->ndim; d++)
        size *= x->shape[d];
    /* y = x * factor[c] + offset[c], folding scale, B, mean and var */
    double *factor = onnx_scratch_get(scratch, sizeof(double) * 2 * (size_t)(channels + 1));
    if (factor == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "BatchNormalization: out of memory");
    double *offset = factor + channels;
    for (int64_t c = 0; c < channels; c++) {
        factor[c] = onnx_get_f64(in[1], c) / sqrt(onnx_get_f64(in[4], c) + p->epsilon);
        offset[c] = onnx_get_f64(in[2], c) - onnx_get_f64(in[3], c) * factor[c];
    }
    for (int64_t n = 0; n < batch; n++)
        for (int64_t c = 0; c < channels; c++) {
            int64_t base = (n * channels + c) * size;
            if (x->dtype == INFERD_DT_FP32) {
                const float *xs = (const float *)x->data + base;
                float *ys = (float *)out[0].data + base;
                float f = (float)factor[c], o = (float)offset[c];
                for (int64_t i = 0; i < size; i++)
                    ys[i] = xs[i] * f + o;
            } else {
                for (int64_t i = base; i < base + size; i++)
                    onnx_set_f64(&out[0], i, onnx_get_f64(x, i) * factor[c] + offset[c]);
            }
        }
    return 0;
}

static const onnx_op_t onnx_op_batch_norm = {
    "BatchNormalization", 5, 5, 1, 5, batch_norm_prepare, batch_norm_shape, batch_norm_run};

/* ==== InstanceNormalization ==== */

static int instance_norm_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    epsilon_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->epsilon = onnx_attr_float(proto, "epsilon", 1e-5f);
    if (!(p->epsilon >= 0.0f))
        return inferd_fail(err, INFERD_EMODEL,
                           "InstanceNormalization: epsilon must not be negative");
    return 0;
}

static int instance_norm_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                               inferd_tensor_t *out, inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0];
    if (!is_float_tensor(x))
        return onnx_fail_dtype(err, x, "FP32, FP64 and FP16");
    if (x->ndim < 3)
        return inferd_fail(err, INFERD_EINVAL,
                           "InstanceNormalization needs X of rank 3 or more (N, C, spatial)");
    int rc = check_channel_vector("InstanceNormalization", "scale", in[1], x->shape[1], err);
    if (rc == 0)
        rc = check_channel_vector("InstanceNormalization", "B", in[2], x->shape[1], err);
    if (rc == 0)
        onnx_set_shape(&out[0], x->dtype, x->shape, x->ndim);
    return rc;
}

static int instance_norm_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                             inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const epsilon_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    int64_t channels = x->shape[1], planes = x->shape[0] * channels, size = 1;
    for (int d = 2; d < x->ndim; d++)
        size *= x->shape[d];
    for (int64_t plane = 0; plane < planes; plane++) {
        int64_t c = plane % channels, base = plane * size;
        double sum = 0.0, squares = 0.0;
        if (x->dtype == INFERD_DT_FP32) {
            const float *xs = (const float *)x->data + base;
            for (int64_t i = 0; i < size; i++)
                sum += xs[i];
            double mean = size > 0 ? sum / (double)size : 0.0;
            for (int64_t i = 0; i < size; i++)
                squares += (xs[i] - mean) * (xs[i] - mean);
            double variance = size > 0 ? squares / (double)size : 0.0;
            double factor = onnx_get_f64(in[1], c) / sqrt(variance + p->epsilon);
            float f = (float)factor, o = (float)(onnx_get_f64(in[2], c) - mean * factor);
            float *ys = (float *)out[0].data + base;
            for (int64_t i = 0; i < size; i++)
                ys[i] = xs[i] * f + o;
            continue;
        }
        for (int64_t i = base; i < base + size; i++)
            sum += onnx_get_f64(x, i);
        double mean = size > 0 ? sum / (double)size : 0.0;
        for (int64_t i = base; i < base + size; i++) {
            double v = onnx_get_f64(x, i) - mean;
            squares += v * v;
        }
        double variance = size > 0 ? squares / (double)size : 0.0;
        double factor = onnx_get_f64(in[1], c) / sqrt(variance + p->epsilon);
        double offset = onnx_get_f64(in[2], c) - mean * factor;
        for (int64_t i = base; i < base + size; i++)
            onnx_set_f64(&out[0], i, onnx_get_f64(x, i) * factor + offset);
    }
    return 0;
}

static const onnx_op_t onnx_op_instance_norm = {
    "InstanceNormalization", 3, 3, 1, 1, instance_norm_prepare, instance_norm_shape,
    instance_norm_run};

/* ==== LayerNormalization ==== */

typedef struct {
    int64_t axis;
    float epsilon;
    inferd_dtype_t stash_dtype; /* of the Mean and InvStdDev outputs */
} layer_norm_params_t;

static int layer_norm_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    layer_norm_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->axis = onnx_attr_int(proto, "axis", -1);
    p->epsilon = onnx_attr_float(proto, "epsilon", 1e-5f);
    int64_t stash_type = onnx_attr_int(proto, "stash_type", 1);
    p->stash_dtype = stash_type == 1    ? INFERD_DT_FP32
                     : stash_type == 11 ? INFERD_DT_FP64
                                        : INFERD_DT_INVALID;
    if (p->stash_dtype == INFERD_DT_INVALID)
        return inferd_fail(err, INFERD_EMODEL,
                           "LayerNormalization: stash_type %lld is not supported (1 and 11 are)",
                           (long long)stash_type);
    if (!(p->epsilon >= 0.0f))
        return inferd_fail(err, INFERD_EMODEL, "LayerNormalization: epsilon must not be negative");
    return 0;
}

/* Checks that `t` (Scale or B) broadcasts one way to the normalized shape X.shape[axis:]. */
static int check_layer_operand(const inferd_tensor_t *x, int axis, const inferd_tensor_t *t,
                               const char *what, inferd_err_t *err)
{
    if (!is_float_tensor(t))
        return inferd_fail(err, INFERD_EINVAL, "LayerNormalization: %s must be FP32, FP64 or FP16",
                           what);
    int inner_rank = x->ndim - axis;
    bool fits = t->ndim <= inner_rank;
    for (int d = 0; fits && d < t->ndim; d++) {
        int64_t want = x->shape[x->ndim - t->ndim + d];
        fits = t->shape[d] == want || t->shape[d] == 1;
    }
    if (!fits) {
        char shape[128], normalized[128];
        return inferd_fail(
            err, INFERD_EINVAL,
            "LayerNormalization: %s of shape %s does not broadcast to the "
            "normalized shape %s",
            what, inferd_shape_str(t->shape, t->ndim, shape, sizeof(shape)),
            inferd_shape_str(x->shape + axis, inner_rank, normalized, sizeof(normalized)));
    }
    return 0;
}

static int layer_norm_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                            inferd_tensor_t *out, inferd_err_t *err)
{
    const layer_norm_params_t *p = node->params;
    const inferd_tensor_t *x = in[0], *b = node->n_inputs > 2 ? in[2] : NULL;
    if (!is_float_tensor(x))
        return onnx_fail_dtype(err, x, "FP32, FP64 and FP16");
    int axis = x->ndim > 0 ? onnx_axis(p->axis, x->ndim, 0) : -1;
    if (axis < 0)
        return inferd_fail(err, INFERD_EINVAL,
                           "LayerNormalization: axis %lld is out of range for rank %d",
                           (long long)p->axis, x->ndim);
    int rc = check_layer_operand(x, axis, in[1], "Scale", err);
    if (rc == 0 && b != NULL)
        rc = check_layer_operand(x, axis, b, "B", err);
    if (rc != 0)
        return rc;
    onnx_set_shape(&out[0], x->dtype, x->shape, x->ndim);
    int64_t stats_shape[INFERD_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        stats_shape[d] = d < axis ? x->shape[d] : 1;
    for (int k = 1; k < node->n_outputs; k++)
        onnx_set_shape(&out[k], p->stash_dtype, stats_shape, x->ndim);
    return 0;
}

/* Expands `t` (broadcast to X.shape[axis:], `inner` values) into `values`; all ones/zeros when
 * `t` is NULL (`fallback`). */
static void expand_layer_operand(const inferd_tensor_t *x, int axis, const inferd_tensor_t *t,
                                 double fallback, int64_t inner, double *values)
{
    if (t == NULL) {
        for (int64_t j = 0; j < inner; j++)
            values[j] = fallback;
        return;
    }
    int rank = x->ndim - axis;
    int64_t strides[INFERD_MAX_DIMS], index[INFERD_MAX_DIMS] = {0}, at = 0;
    onnx_broadcast_strides(t, rank, x->shape + axis, strides);
    for (int64_t j = 0; j < inner; j++) {
        values[j] = onnx_get_f64(t, at);
        for (int d = rank - 1; d >= 0; d--) { /* odometer over the normalized shape */
            index[d]++;
            at += strides[d];
            if (index[d] < x->shape[axis + d])
                break;
            at -= strides[d] * index[d];
            index[d] = 0;
        }
    }
}

/* Sum of x[j], or with `is_squares` of (x[j] - center)^2, in eight float lanes that the compiler
 * keeps in vector registers (a single double accumulator serialises every add), totalled in
 * double. */
static double row_sum_f32(const float *x, int64_t n, bool is_squares, float center)
{
    float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int u = 0; u < 8; u++) {
            float v = x[j + u] - center;
            lanes[u] += is_squares ? v * v : v;
        }
    double total = 0.0;
    for (; j < n; j++) {
        double v = (double)x[j] - center;
        total += is_squares ? v * v : v;
    }
    for (int u = 0; u < 8; u++)
        total += lanes[u];
    return total;
}

static int layer_norm_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const layer_norm_params_t *p = node->params;
    const inferd_tensor_t *x = in[0], *b = node->n_inputs > 2 ? in[2] : NULL;
    int axis = onnx_axis(p->axis, x->ndim, 0);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < x->ndim; d++)
        *(d < axis ? &outer : &inner) *= x->shape[d];
    /* scratch: Scale and B expanded to the normalized shape, as double and as float */
    size_t count = (size_t)inner + 1;
    double *scale = onnx_scratch_get(scratch, (2 * sizeof(double) + 2 * sizeof(float)) * count);
    if (scale == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "LayerNormalization: out of memory");
    double *bias = scale + count;
    float *scale_f = (float *)(bias + count), *bias_f = scale_f + count;
    expand_layer_operand(x, axis, in[1], 1.0, inner, scale);
    expand_layer_operand(x, axis, b, 0.0, inner, bias);
    for (int64_t j = 0; j < inner; j++) {
        scale_f[j] = (float)scale[j];
        bias_f[j] = (float)bias[j];
    }
    for (int64_t row = 0; row < outer; row++) {
        int64_t base = row * inner;
        double sum = 0.0, squares = 0.0, mean, inv_std;
        if (x->dtype == INFERD_DT_FP32) {
            const float *xs = (const float *)x->data + base;
            float *ys = (float *)out[0].data + base;
            sum = row_sum_f32(xs, inner, false, 0.0f);
            mean = inner > 0 ? sum / (double)inner : 0.0;
            squares = row_sum_f32(xs, inner, true, (float)mean);
            inv_std = 1.0 / sqrt((inner > 0 ? squares / (double)inner : 0.0) + p->epsilon);
            float m = (float)mean, s = (float)inv_std;
            for (int64_t j = 0; j < inner; j++)
                ys[j] = (xs[j] - m) * s * scale_f[j] + bias_f[j];
        } else {
            for (int64_t j = 0; j < inner; j++)
                sum += onnx_get_f64(x, base + j);
            mean = inner > 0 ? sum / (double)inner : 0.0;
            for (int64_t j = 0; j < inner; j++) {
                double v = onnx_get_f64(x, base + j) - mean;
                squares += v * v;
            }
            inv_std = 1.0 / sqrt((inner > 0 ? squares / (double)inner : 0.0) + p->epsilon);
            for (int64_t j = 0; j < inner; j++)
                onnx_set_f64(&out[0], base + j,
                             (onnx_get_f64(x, base + j) - mean) * inv_std * scale[j] + bias[j]);
        }
        if (node->n_outputs > 1)
            onnx_set_f64(&out[1], row, mean);
        if (node->n_outputs > 2)
            onnx_set_f64(&out[2], row, inv_std);
    }
    return 0;
}

static const onnx_op_t onnx_op_layer_norm = {
    "LayerNormalization", 2, 3, 1, 3, layer_norm_prepare, layer_norm_shape, layer_norm_run};

const onnx_op_t *const onnx_ops_norm[] = {&onnx_op_batch_norm, &onnx_op_instance_norm,
                                          &onnx_op_layer_norm, NULL};
