/* Softmax. Opset 13 and later normalise along one axis (default -1); earlier opsets flatten the
 * input to 2-D at `axis` (default 1) and normalise each row. */
#include "ops.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    int64_t axis;
} softmax_params_t;

static int softmax_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    softmax_params_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->axis = onnx_attr_int(proto, "axis", node->opset >= 13 ? -1 : 1);
    node->params = p;
    return 0;
}

static int softmax_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, inferd_err_t *err)
{
    const softmax_params_t *p = node->params;
    if (in[0]->dtype != INFERD_DT_FP32)
        return inferd_fail(err, INFERD_EINVAL, "Softmax supports FP32 only");
    if (in[0]->ndim == 0 || onnx_axis(p->axis, in[0]->ndim, 0) < 0)
        return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range for rank %d",
                           (long long)p->axis, in[0]->ndim);
    onnx_set_shape(&out[0], in[0]->dtype, in[0]->shape, in[0]->ndim);
    return 0;
}

static int softmax_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const softmax_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    int axis = onnx_axis(p->axis, x->ndim, 0);
    /* View the tensor as [outer, length, inner] and normalise along `length`. */
    int64_t outer = 1, length = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= x->shape[d];
    if (node->opset >= 13) {
        length = x->shape[axis];
        for (int d = axis + 1; d < x->ndim; d++)
            inner *= x->shape[d];
    } else {
        for (int d = axis; d < x->ndim; d++)
            length *= x->shape[d];
    }
    const float *src = x->data;
    float *dst = out[0].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xs = src + o * length * inner + i;
            float *ys = dst + o * length * inner + i;
            float max = -INFINITY, sum = 0.0f;
            for (int64_t j = 0; j < length; j++)
                max = xs[j * inner] > max ? xs[j * inner] : max;
            for (int64_t j = 0; j < length; j++)
                sum += (ys[j * inner] = expf(xs[j * inner] - max));
            for (int64_t j = 0; j < length; j++)
                ys[j * inner] /= sum;
        }
    return 0;
}

static const onnx_op_t onnx_op_softmax = {"Softmax",     1,          1, 1, 1, softmax_prepare,
                                          softmax_shape, softmax_run};

const onnx_op_t *const onnx_ops_softmax[] = {&onnx_op_softmax, NULL};
