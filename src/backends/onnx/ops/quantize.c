/* Linear quantization, as quantized models export it: QuantizeLinear (float to INT8 or UINT8),
 * DequantizeLinear (INT8, UINT8 or INT32 to FP32) and DynamicQuantizeLinear (FP32 to UINT8 with
 * the scale and zero point taken from the data, the input side of MatMulInteger).
 *   quantize:   y = saturate(round(x / scale) + zero_point), rounding half to even
 *   dequantize: y = (x - zero_point) * scale
 * The scale and zero point are scalars (per tensor) or 1-D along `axis` (per channel). */
#include "ops.h"

#include <math.h>

typedef struct {
    int64_t axis; /* the per-channel axis (opset 13), default 1 */
} quantize_params_t;

static int quantize_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    quantize_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->axis = onnx_attr_int(proto, "axis", 1);
    return 0;
}

/* The inputs of QuantizeLinear and DequantizeLinear, and how the scale (and zero point) line up
 * with x: one value for every element, or one per index of x's axis, repeated over `inner`
 * elements. */
typedef struct {
    const inferd_tensor_t *x, *zero_point; /* zero_point NULL when absent */
    const float *scales;
    int64_t channels, inner;
} quantize_layout_t;

static int quantize_layout(const onnx_node_t *node, const inferd_tensor_t *const *in,
                           const char *op, quantize_layout_t *OUT, inferd_err_t *err)
{
    const quantize_params_t *p = node->params;
    const inferd_tensor_t *x = in[0], *scale = in[1];
    const inferd_tensor_t *zero_point = node->n_inputs > 2 ? in[2] : NULL;
    if (scale->dtype != INFERD_DT_FP32)
        return onnx_fail_dtype(err, scale, "FP32");
    *OUT = (quantize_layout_t){x, zero_point, scale->data, 1, 1};
    if (inferd_tensor_count(scale) != 1) { /* one value (of any rank) is per tensor */
        int axis = (int)(p->axis < 0 ? p->axis + x->ndim : p->axis);
        if (scale->ndim != 1 || axis < 0 || axis >= x->ndim || scale->shape[0] != x->shape[axis])
            return inferd_fail(err, INFERD_EINVAL,
                               "%s: the scale must be one value or a 1-D tensor as long as x's "
                               "axis %lld",
                               op, (long long)p->axis);
        OUT->channels = x->shape[axis];
        for (int d = axis + 1; d < x->ndim; d++)
            OUT->inner *= x->shape[d];
    }
    if (zero_point != NULL && inferd_tensor_count(zero_point) != inferd_tensor_count(scale))
        return inferd_fail(err, INFERD_EINVAL, "%s: the zero point must have the scale's shape",
                           op);
    return 0;
}

/* The scale or zero point of element i of x. */
static int64_t channel_of(const quantize_layout_t *layout, int64_t i)
{
    return layout->channels == 1 ? 0 : i / layout->inner % layout->channels;
}

/* v clamped to the range of INT8 or UINT8 (NaN to the lowest value). */
static double saturate(double v, inferd_dtype_t dtype)
{
    double lo = dtype == INFERD_DT_INT8 ? -128 : 0, hi = dtype == INFERD_DT_INT8 ? 127 : 255;
    return !(v >= lo) ? lo : v > hi ? hi : v;
}

/* ==== QuantizeLinear ==== */

static int quantize_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_require_inputs(node, in, 2, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *zero_point = node->n_inputs > 2 ? in[2] : NULL;
    if (in[0]->dtype != INFERD_DT_FP32 && in[0]->dtype != INFERD_DT_INT32)
        return onnx_fail_dtype(err, in[0], "FP32, INT32");
    inferd_dtype_t y_type = zero_point != NULL ? zero_point->dtype : INFERD_DT_UINT8;
    if (y_type != INFERD_DT_UINT8 && y_type != INFERD_DT_INT8)
        return onnx_fail_dtype(err, zero_point, "UINT8, INT8");
    quantize_layout_t layout;
    if ((rc = quantize_layout(node, in, "QuantizeLinear", &layout, err)) != 0)
        return rc;
    onnx_set_shape(&out[0], y_type, in[0]->shape, in[0]->ndim);
    return 0;
}

static int quantize_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    quantize_layout_t l;
    int rc = quantize_layout(node, in, "QuantizeLinear", &l, err);
    if (rc != 0)
        return rc;
    int64_t n = inferd_tensor_count(l.x);
    for (int64_t i = 0; i < n; i++) {
        int64_t c = channel_of(&l, i);
        double zp = l.zero_point != NULL ? (double)onnx_get_i64(l.zero_point, c) : 0.0;
        float ratio = (float)onnx_get_f64(l.x, i) / l.scales[c]; /* in FP32, as the reference */
        double q = saturate(nearbyintf(ratio) + zp, out[0].dtype);
        if (out[0].dtype == INFERD_DT_INT8)
            ((int8_t *)out[0].data)[i] = (int8_t)q;
        else
            ((uint8_t *)out[0].data)[i] = (uint8_t)q;
    }
    return 0;
}

/* ==== DequantizeLinear ==== */

static int dequantize_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                            inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_require_inputs(node, in, 2, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *zero_point = node->n_inputs > 2 ? in[2] : NULL;
    inferd_dtype_t x_type = in[0]->dtype;
    if (x_type != INFERD_DT_UINT8 && x_type != INFERD_DT_INT8 && x_type != INFERD_DT_INT32)
        return onnx_fail_dtype(err, in[0], "UINT8, INT8, INT32");
    if (zero_point != NULL && zero_point->dtype != x_type)
        return inferd_fail(err, INFERD_EINVAL, "DequantizeLinear: the zero point must be %s",
                           inferd_dtype_name(x_type));
    quantize_layout_t layout;
    if ((rc = quantize_layout(node, in, "DequantizeLinear", &layout, err)) != 0)
        return rc;
    onnx_set_shape(&out[0], INFERD_DT_FP32, in[0]->shape, in[0]->ndim);
    return 0;
}

static int dequantize_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    quantize_layout_t l;
    int rc = quantize_layout(node, in, "DequantizeLinear", &l, err);
    if (rc != 0)
        return rc;
    float *y = out[0].data;
    int64_t n = inferd_tensor_count(l.x);
    for (int64_t i = 0; i < n; i++) {
        int64_t c = channel_of(&l, i);
        int64_t zp = l.zero_point != NULL ? onnx_get_i64(l.zero_point, c) : 0;
        y[i] = (float)(onnx_get_i64(l.x, i) - zp) * l.scales[c];
    }
    return 0;
}

/* ==== DynamicQuantizeLinear ==== */

static int dynamic_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0)
        return rc;
    if (in[0]->dtype != INFERD_DT_FP32)
        return onnx_fail_dtype(err, in[0], "FP32");
    static const int64_t scalar[1] = {1};
    onnx_set_shape(&out[0], INFERD_DT_UINT8, in[0]->shape, in[0]->ndim);
    if (node->n_outputs > 1)
        onnx_set_shape(&out[1], INFERD_DT_FP32, scalar, 0);
    if (node->n_outputs > 2)
        onnx_set_shape(&out[2], INFERD_DT_UINT8, scalar, 0);
    return 0;
}

/* The range [min(0, min x), max(0, max x)] spread over 0..255: scale = range / 255 and the zero
 * point where 0 falls, rounded; then every x quantized with them. NaN values are skipped when
 * finding the range. */
static int dynamic_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const float *x = in[0]->data;
    int64_t n = inferd_tensor_count(in[0]);
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    float scale = (hi - lo) / 255.0f;
    uint8_t zero_point =
        scale > 0 ? (uint8_t)saturate(nearbyintf(-lo / scale), INFERD_DT_UINT8) : 0;
    uint8_t *y = out[0].data;
    for (int64_t i = 0; i < n; i++)
        y[i] = scale > 0 ? (uint8_t)saturate(nearbyintf(x[i] / scale) + zero_point, INFERD_DT_UINT8)
                         : zero_point;
    if (node->n_outputs > 1 && out[1].data != NULL)
        *(float *)out[1].data = scale;
    if (node->n_outputs > 2 && out[2].data != NULL)
        *(uint8_t *)out[2].data = zero_point;
    return 0;
}

static const onnx_op_t onnx_op_quantize = {"QuantizeLinear", 2,           3, 1, 1, quantize_prepare,
                                           quantize_shape,   quantize_run};
static const onnx_op_t onnx_op_dequantize = {
    "DequantizeLinear", 2, 3, 1, 1, quantize_prepare, dequantize_shape, dequantize_run};
static const onnx_op_t onnx_op_dynamic_quantize = {
    "DynamicQuantizeLinear", 1, 1, 1, 3, NULL, dynamic_shape, dynamic_run};

const onnx_op_t *const onnx_ops_quantize[] = {&onnx_op_quantize, &onnx_op_dequantize,
                                              &onnx_op_dynamic_quantize, NULL};
