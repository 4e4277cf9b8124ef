/* Operators that change only the shape: Flatten, Reshape, Identity. The data is copied as is
 * (any datatype). */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

static int copy_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                    onnx_scratch_t *scratch, inferd_err_t *err)
{
    int64_t bytes = inferd_tensor_bytes(in[0]);
    if (bytes > 0 && out[0].data != in[0]->data)
        memcpy(out[0].data, in[0]->data, (size_t)bytes);
    return 0;
}

static int identity_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          inferd_tensor_t *out, inferd_err_t *err)
{
    onnx_set_shape(&out[0], in[0]->dtype, in[0]->shape, in[0]->ndim);
    return 0;
}

static const onnx_op_t onnx_op_identity = {"Identity", 1, 1, 1, 1, NULL, identity_shape, copy_run};

/* ==== Flatten ==== */

typedef struct {
    int64_t axis;
} flatten_params_t;

static int flatten_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    flatten_params_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->axis = onnx_attr_int(proto, "axis", 1);
    node->params = p;
    return 0;
}

static int flatten_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, inferd_err_t *err)
{
    const flatten_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    int axis = onnx_axis(p->axis, x->ndim, 1); /* axis may equal the rank */
    if (axis < 0)
        return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range for rank %d",
                           (long long)p->axis, x->ndim);
    int64_t shape[2] = {1, 1};
    for (int d = 0; d < x->ndim; d++)
        shape[d < axis ? 0 : 1] *= x->shape[d];
    onnx_set_shape(&out[0], x->dtype, shape, 2);
    return 0;
}

static const onnx_op_t onnx_op_flatten = {"Flatten",     1,       1, 1, 1, flatten_prepare,
                                          flatten_shape, copy_run};

/* ==== Reshape ==== */

typedef struct {
    bool allow_zero;
} reshape_params_t;

static int reshape_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    reshape_params_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->allow_zero = onnx_attr_int(proto, "allowzero", 0) != 0;
    node->params = p;
    if (node->opset < 5)
        return inferd_fail(err, INFERD_EMODEL, "Reshape before opset 5 is unsupported");
    return 0;
}

static int reshape_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, inferd_err_t *err)
{
    const reshape_params_t *p = node->params;
    const inferd_tensor_t *x = in[0], *target = in[1];
    if (target->dtype != INFERD_DT_INT64 || target->ndim != 1)
        return inferd_fail(err, INFERD_EINVAL, "the shape input must be a 1-D INT64 tensor");
    int ndim = (int)target->shape[0];
    if (ndim > INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EINVAL, "target rank %d is above %d", ndim, INFERD_MAX_DIMS);
    const int64_t *want = target->data;
    int64_t shape[INFERD_MAX_DIMS], known = 1, total = inferd_tensor_count(x);
    int inferred = -1;
    for (int d = 0; d < ndim; d++) {
        shape[d] = want[d];
        if (want[d] == 0 && !p->allow_zero) {
            if (d >= x->ndim)
                return inferd_fail(err, INFERD_EINVAL,
                                   "0 in the shape at %d copies a missing "
                                   "input dimension",
                                   d);
            shape[d] = x->shape[d];
        } else if (want[d] == -1) {
            if (inferred >= 0)
                return inferd_fail(err, INFERD_EINVAL, "the shape has more than one -1");
            inferred = d;
            continue;
        } else if (want[d] < 0) {
            return inferd_fail(err, INFERD_EINVAL, "the shape holds %lld", (long long)want[d]);
        }
        known *= shape[d];
    }
    if (inferred >= 0) {
        if (known == 0 || total % known != 0)
            return inferd_fail(err, INFERD_EINVAL, "cannot infer the -1 dimension");
        shape[inferred] = total / known;
        known *= shape[inferred];
    }
    if (known != total)
        return inferd_fail(err, INFERD_EINVAL, "cannot reshape %lld elements to %lld",
                           (long long)total, (long long)known);
    onnx_set_shape(&out[0], x->dtype, shape, ndim);
    return 0;
}

static const onnx_op_t onnx_op_reshape = {"Reshape",     2,       2, 1, 1, reshape_prepare,
                                          reshape_shape, copy_run};

const onnx_op_t *const onnx_ops_shape[] = {&onnx_op_flatten, &onnx_op_reshape, &onnx_op_identity,
                                           NULL};
