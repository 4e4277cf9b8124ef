/* Operators about shapes: those that change only the shape and copy the data as is (Flatten,
 * Reshape, Identity, Dropout at inference), those that report a shape (Shape, Size) and those
 * that make a tensor from a shape or a few scalars (ConstantOfShape, Range). Any datatype unless
 * an op says otherwise. */
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The most bytes ConstantOfShape or Range may produce: their size comes from a few input values,
 * which a client may control. */
#define SHAPE_MAX_OUTPUT_BYTES ((int64_t)1 << 32)

/* Copies input 0 into output 0 unchanged. */
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
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0)
        return rc;
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
    flatten_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->axis = onnx_attr_int(proto, "axis", 1);
    return 0;
}

static int flatten_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, inferd_err_t *err)
{
    const flatten_params_t *p = node->params;
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *x = in[0];
    int axis = onnx_axis(p->axis, x->ndim, 1); /* axis may equal the rank */
    if (axis < 0)
        return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range for rank %d",
                           (long long)p->axis, x->ndim);
    int64_t shape[2] = {1, 1};
    for (int d = 0; d < x->ndim; d++)
        shape[d < axis ? 0 : 1] *= x->shape[d]; /* each part divides the count: no overflow */
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
    reshape_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->allow_zero = onnx_attr_int(proto, "allowzero", 0) != 0;
    if (node->opset < 5)
        return inferd_fail(err, INFERD_EMODEL, "Reshape before opset 5 is unsupported");
    return 0;
}

static int reshape_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, inferd_err_t *err)
{
    const reshape_params_t *p = node->params;
    int rc = onnx_require_inputs(node, in, 2, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *x = in[0], *target = in[1];
    if (target->ndim != 1)
        return inferd_fail(err, INFERD_EINVAL, "the shape input must be 1-D, not rank %d",
                           target->ndim);
    int64_t want[INFERD_MAX_DIMS], shape[INFERD_MAX_DIMS];
    int ndim = onnx_read_ints(target, want, INFERD_MAX_DIMS, "the shape input", err);
    if (ndim < 0)
        return INFERD_EINVAL;
    int64_t total = inferd_tensor_count(x);
    int inferred = -1;
    bool has_zero = false;
    for (int d = 0; d < ndim; d++) {
        shape[d] = want[d];
        if (want[d] == 0 && !p->allow_zero) {
            if (d >= x->ndim)
                return inferd_fail(err, INFERD_EINVAL,
                                   "0 in the shape at %d copies a missing input dimension", d);
            shape[d] = x->shape[d];
        } else if (want[d] == -1) {
            if (inferred >= 0)
                return inferd_fail(err, INFERD_EINVAL, "the shape has more than one -1");
            inferred = d;
            shape[d] = 1;
        } else if (want[d] < 0) {
            return inferd_fail(err, INFERD_EINVAL, "the shape holds %lld", (long long)want[d]);
        }
        has_zero |= shape[d] == 0;
    }
    int64_t known = inferd_shape_count(shape, ndim);
    if (known < 0)
        return inferd_fail(err, INFERD_EINVAL, "the shape is too large");
    if (inferred >= 0) {
        if (has_zero || total % known != 0)
            return inferd_fail(err, INFERD_EINVAL, "cannot infer the -1 dimension");
        shape[inferred] = total / known;
        known = total;
    }
    if (known != total)
        return inferd_fail(err, INFERD_EINVAL, "cannot reshape %lld elements to %lld",
                           (long long)total, (long long)known);
    onnx_set_shape(&out[0], x->dtype, shape, ndim);
    return 0;
}

static const onnx_op_t onnx_op_reshape = {"Reshape",     2,       2, 1, 1, reshape_prepare,
                                          reshape_shape, copy_run};

/* ==== Shape, Size ==== */

typedef struct {
    int64_t start, end;
    bool has_end;
} shape_params_t;

static int shape_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    shape_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->start = onnx_attr_int(proto, "start", 0);
    const Onnx__AttributeProto *end = onnx_attr(proto, "end");
    p->has_end = end != NULL && end->has_i;
    p->end = p->has_end ? end->i : 0;
    return 0;
}

/* The [start, end) range of dimensions Shape reports, clamped to [0, rank] (opset 15). */
static void shape_range(const shape_params_t *p, int rank, int *start, int *end)
{
    int64_t s = p->start < 0 ? p->start + rank : p->start;
    int64_t e = !p->has_end ? rank : p->end < 0 ? p->end + rank : p->end;
    s = s < 0 ? 0 : s > rank ? rank : s;
    e = e < 0 ? 0 : e > rank ? rank : e;
    *start = (int)s;
    *end = (int)(e > s ? e : s);
}

static int shape_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, inferd_err_t *err)
{
    int start, end, rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0)
        return rc;
    shape_range(node->params, in[0]->ndim, &start, &end);
    int64_t length = end - start;
    onnx_set_shape(&out[0], INFERD_DT_INT64, &length, 1);
    return 0;
}

static int shape_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    int start, end;
    shape_range(node->params, in[0]->ndim, &start, &end);
    int64_t *y = out[0].data;
    for (int d = start; d < end; d++)
        y[d - start] = in[0]->shape[d];
    return 0;
}

static const onnx_op_t onnx_op_shape = {"Shape", 1, 1, 1, 1, shape_prepare, shape_shape, shape_run};

static int size_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0)
        return rc;
    int64_t no_dims[1] = {0};
    onnx_set_shape(&out[0], INFERD_DT_INT64, no_dims, 0); /* a scalar */
    return 0;
}

static int size_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                    onnx_scratch_t *scratch, inferd_err_t *err)
{
    *(int64_t *)out[0].data = inferd_tensor_count(in[0]);
    return 0;
}

static const onnx_op_t onnx_op_size = {"Size", 1, 1, 1, 1, NULL, size_shape, size_run};

/* ==== ConstantOfShape ==== */

typedef struct {
    inferd_dtype_t dtype;
    uint64_t value; /* the one element's bytes */
} constant_params_t;

static int constant_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    constant_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->dtype = INFERD_DT_FP32; /* default: float 0 */
    const Onnx__AttributeProto *a = onnx_attr(proto, "value");
    if (a == NULL)
        return 0;
    if (a->t == NULL)
        return inferd_fail(err, INFERD_EMODEL, "the value attribute must be a tensor");
    inferd_tensor_t t;
    int rc = onnx_tensor_from_proto(a->t, &t, err);
    if (rc != 0)
        return rc;
    if (inferd_tensor_count(&t) != 1) {
        free(t.data);
        return inferd_fail(err, INFERD_EMODEL, "the value attribute must hold one element");
    }
    p->dtype = t.dtype;
    memcpy(&p->value, t.data, inferd_dtype_size(t.dtype));
    free(t.data);
    return 0;
}

static int constant_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          inferd_tensor_t *out, inferd_err_t *err)
{
    const constant_params_t *p = node->params;
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0)
        return rc;
    if (in[0]->ndim != 1)
        return inferd_fail(err, INFERD_EINVAL, "the shape input must be 1-D, not rank %d",
                           in[0]->ndim);
    int64_t shape[INFERD_MAX_DIMS];
    int ndim = onnx_read_ints(in[0], shape, INFERD_MAX_DIMS, "the shape input", err);
    if (ndim < 0)
        return INFERD_EINVAL;
    int64_t count = inferd_shape_count(shape, ndim);
    if (count < 0 || count > SHAPE_MAX_OUTPUT_BYTES / (int64_t)inferd_dtype_size(p->dtype)) {
        char text[160];
        return inferd_fail(err, INFERD_EINVAL,
                           "cannot make a tensor of shape %s (negative or too large)",
                           inferd_shape_str(shape, ndim, text, sizeof(text)));
    }
    onnx_set_shape(&out[0], p->dtype, shape, ndim);
    return 0;
}

static int constant_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const constant_params_t *p = node->params;
    size_t elem = inferd_dtype_size(p->dtype);
    int64_t n = inferd_tensor_count(&out[0]);
    char *y = out[0].data;
    if (p->value == 0) {
        memset(y, 0, (size_t)n * elem);
        return 0;
    }
    for (int64_t i = 0; i < n; i++)
        memcpy(y + i * (int64_t)elem, &p->value, elem);
    return 0;
}

static const onnx_op_t onnx_op_constant_of_shape = {
    "ConstantOfShape", 1, 1, 1, 1, constant_prepare, constant_shape, constant_run};

/* ==== Range ==== */

/* The element count of Range(start, limit, delta): max(ceil((limit - start) / delta), 0),
 * computed in the inputs' type as the spec's function body does for floats and exactly for
 * integers. Refuses delta 0, non-finite values and counts above SHAPE_MAX_OUTPUT_BYTES. */
static int range_count(const inferd_tensor_t *const *in, int64_t *count, inferd_err_t *err)
{
    inferd_dtype_t dtype = in[0]->dtype;
    for (int k = 0; k < 3; k++) {
        if (in[k]->dtype != dtype)
            return inferd_fail(err, INFERD_EINVAL, "start, limit and delta differ in datatype");
        if (inferd_tensor_count(in[k]) != 1)
            return inferd_fail(err, INFERD_EINVAL, "input %d must be a scalar", k);
    }
    double steps;
    if (dtype == INFERD_DT_FP32 || dtype == INFERD_DT_FP64) {
        double start = onnx_get_f64(in[0], 0), limit = onnx_get_f64(in[1], 0),
               delta = onnx_get_f64(in[2], 0);
        if (delta == 0.0)
            return inferd_fail(err, INFERD_EINVAL, "delta is 0");
        steps = dtype == INFERD_DT_FP32 ? ceilf(((float)limit - (float)start) / (float)delta)
                                        : ceil((limit - start) / delta);
        if (!isfinite(start) || !isfinite(limit) || !isfinite(steps))
            return inferd_fail(err, INFERD_EINVAL, "start, limit and delta must be finite");
    } else if (dtype == INFERD_DT_INT16 || dtype == INFERD_DT_INT32 || dtype == INFERD_DT_INT64) {
        __int128 start = onnx_get_i64(in[0], 0), limit = onnx_get_i64(in[1], 0),
                 delta = onnx_get_i64(in[2], 0), span = limit - start, n;
        if (delta == 0)
            return inferd_fail(err, INFERD_EINVAL, "delta is 0");
        if (delta > 0)
            n = span <= 0 ? 0 : (span + delta - 1) / delta;
        else
            n = span >= 0 ? 0 : (span + delta + 1) / delta;
        steps = (double)n;
    } else {
        return onnx_fail_dtype(err, in[0], "FP32, FP64, INT16, INT32, INT64");
    }
    if (steps < 0.0)
        steps = 0.0;
    if (steps > (double)(SHAPE_MAX_OUTPUT_BYTES / (int64_t)inferd_dtype_size(dtype)))
        return inferd_fail(err, INFERD_EINVAL, "the range would have %.0f elements, too many",
                           steps);
    *count = (int64_t)steps;
    return 0;
}

static int range_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, inferd_err_t *err)
{
    int64_t count;
    int rc = onnx_require_inputs(node, in, 3, err);
    if (rc != 0 || (rc = range_count(in, &count, err)) != 0)
        return rc;
    onnx_set_shape(&out[0], in[0]->dtype, &count, 1);
    return 0;
}

static int range_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    int64_t n = out[0].shape[0];
    if (onnx_is_float(out[0].dtype)) {
        double start = onnx_get_f64(in[0], 0), delta = onnx_get_f64(in[2], 0);
        for (int64_t i = 0; i < n; i++)
            onnx_set_f64(&out[0], i, start + (double)i * delta);
        return 0;
    }
    /* Every value lies between start and limit; unsigned arithmetic gets there without overflow
     * on the way. */
    uint64_t start = (uint64_t)onnx_get_i64(in[0], 0), delta = (uint64_t)onnx_get_i64(in[2], 0);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = (int64_t)(start + (uint64_t)i * delta);
        if (out[0].dtype == INFERD_DT_INT64)
            ((int64_t *)out[0].data)[i] = v;
        else if (out[0].dtype == INFERD_DT_INT32)
            ((int32_t *)out[0].data)[i] = (int32_t)v;
        else
            ((int16_t *)out[0].data)[i] = (int16_t)v;
    }
    return 0;
}

static const onnx_op_t onnx_op_range = {"Range", 3, 3, 1, 1, NULL, range_shape, range_run};

/* ==== Dropout (inference: the identity, and a mask of all true; training only when the ratio
 * is 0, which is the same) ==== */

static int dropout_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *x = in[0], *ratio = node->n_inputs > 1 ? in[1] : NULL,
                          *training = node->n_inputs > 2 ? in[2] : NULL;
    if (training != NULL) {
        if (training->dtype != INFERD_DT_BOOL || inferd_tensor_count(training) != 1)
            return inferd_fail(err, INFERD_EINVAL, "training_mode must be a BOOL scalar");
        /* Training with ratio 0 drops nothing: the same as inference. Otherwise it is random. */
        bool is_ratio_zero = ratio != NULL && onnx_is_float(ratio->dtype) &&
                             inferd_tensor_count(ratio) == 1 && onnx_get_f64(ratio, 0) == 0.0;
        if (*(const uint8_t *)training->data != 0 && !is_ratio_zero)
            return inferd_fail(err, INFERD_EINVAL,
                               "Dropout in training mode is unsupported (inferd runs inference)");
    }
    onnx_set_shape(&out[0], x->dtype, x->shape, x->ndim);
    if (node->n_outputs > 1) /* the mask: BOOL from opset 10, the data's type before */
        onnx_set_shape(&out[1], node->opset >= 10 ? INFERD_DT_BOOL : x->dtype, x->shape, x->ndim);
    return 0;
}

static int dropout_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    copy_run(node, in, out, scratch, err);
    if (node->n_outputs > 1) {
        int64_t n = inferd_tensor_count(&out[1]);
        if (out[1].dtype == INFERD_DT_BOOL)
            memset(out[1].data, 1, (size_t)n);
        else
            for (int64_t i = 0; i < n; i++)
                onnx_set_f64(&out[1], i, 1.0);
    }
    return 0;
}

static const onnx_op_t onnx_op_dropout = {"Dropout", 1, 3, 1, 2, NULL, dropout_shape, dropout_run};

const onnx_op_t *const onnx_ops_shape[] = {
    &onnx_op_flatten,           &onnx_op_reshape, &onnx_op_identity, &onnx_op_shape, &onnx_op_size,
    &onnx_op_constant_of_shape, &onnx_op_range,   &onnx_op_dropout,  NULL,
};
