/* Positions as data: OneHot (positions to a mask), NonZero (a mask to positions) and CumSum (a
 * running sum along an axis given as an input). Their inputs are client data: every position is
 * checked before anything is written. */
#include "ops.h"

#include <string.h>

/* The most bytes OneHot may produce: its size comes from the depth input. */
#define ONEHOT_MAX_OUTPUT_BYTES ((int64_t)1 << 32)

typedef struct {
    int64_t axis;
} onehot_params_t;

/* ==== OneHot ==== */

/* Element i of a numeric tensor as an integer (floats truncated); false when it is not a finite
 * value inside int64. */
static bool integer_at(const inferd_tensor_t *t, int64_t i, int64_t *value)
{
    if (!onnx_is_float(t->dtype)) {
        *value = onnx_get_i64(t, i);
        return true;
    }
    double v = onnx_get_f64(t, i);
    if (!(v > -9.2e18 && v < 9.2e18))
        return false;
    *value = (int64_t)v;
    return true;
}

/* The depth input as a positive integer, or INFERD_EINVAL. */
static int onehot_depth(const inferd_tensor_t *t, int64_t *depth, inferd_err_t *err)
{
    if (inferd_tensor_count(t) != 1 || t->dtype == INFERD_DT_BOOL)
        return inferd_fail(err, INFERD_EINVAL, "depth must be one number");
    if (!integer_at(t, 0, depth) || *depth <= 0)
        return inferd_fail(err, INFERD_EINVAL, "depth must be positive");
    return 0;
}

static int onehot_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, inferd_err_t *err)
{
    const onehot_params_t *p = node->params;
    int rc = onnx_require_inputs(node, in, 3, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *indices = in[0], *values = in[2];
    int64_t depth;
    if ((rc = onehot_depth(in[1], &depth, err)) != 0)
        return rc;
    if (indices->dtype == INFERD_DT_BOOL)
        return onnx_fail_dtype(err, indices, "numeric types");
    if (inferd_tensor_count(values) != 2)
        return inferd_fail(err, INFERD_EINVAL, "values must hold two elements (off, on)");
    int rank = indices->ndim + 1;
    int axis = onnx_axis(p->axis, rank, 0);
    if (rank > INFERD_MAX_DIMS || axis < 0)
        return inferd_fail(err, INFERD_EINVAL, "axis %lld does not fit rank %d, or rank above %d",
                           (long long)p->axis, rank, INFERD_MAX_DIMS);
    int64_t shape[INFERD_MAX_DIMS];
    for (int d = 0, from = 0; d < rank; d++)
        shape[d] = d == axis ? depth : indices->shape[from++];
    int64_t count = inferd_shape_count(shape, rank);
    if (count < 0 || count > ONEHOT_MAX_OUTPUT_BYTES / (int64_t)inferd_dtype_size(values->dtype))
        return inferd_fail(err, INFERD_EINVAL, "depth %lld makes the output too large",
                           (long long)depth);
    onnx_set_shape(&out[0], values->dtype, shape, rank);
    return 0;
}

/* The output is [outer, depth, inner] around the axis: off everywhere, then on where the index
 * (negative ones wrapped from opset 11) falls inside the depth. */
static int onehot_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const onehot_params_t *p = node->params;
    const inferd_tensor_t *indices = in[0], *values = in[2];
    inferd_tensor_t *y = &out[0];
    int64_t depth;
    int rc = onehot_depth(in[1], &depth, err);
    if (rc != 0)
        return rc;
    int axis = onnx_axis(p->axis, y->ndim, 0);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= y->shape[d];
    for (int d = axis + 1; d < y->ndim; d++)
        inner *= y->shape[d];
    size_t elem = inferd_dtype_size(y->dtype);
    const char *off = values->data, *on = (const char *)values->data + elem;
    char *dst = y->data;
    int64_t n = inferd_tensor_count(y);
    for (int64_t i = 0; i < n; i++)
        memcpy(dst + i * (int64_t)elem, off, elem);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            int64_t index;
            if (!integer_at(indices, o * inner + j, &index))
                continue;
            if (index < 0 && node->opset >= 11)
                index += depth;
            if (index < 0 || index >= depth)
                continue;
            memcpy(dst + ((o * depth + index) * inner + j) * (int64_t)elem, on, elem);
        }
    return 0;
}

static int onehot_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    onehot_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->axis = onnx_attr_int(proto, "axis", -1);
    return 0;
}

static const onnx_op_t onnx_op_onehot = {"OneHot",     3,         3, 1, 1, onehot_prepare,
                                         onehot_shape, onehot_run};

/* ==== CumSum ==== */

typedef struct {
    bool is_exclusive, is_reverse;
} cumsum_params_t;

static int cumsum_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    cumsum_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->is_exclusive = onnx_attr_int(proto, "exclusive", 0) != 0;
    p->is_reverse = onnx_attr_int(proto, "reverse", 0) != 0;
    return 0;
}

/* The axis input (an INT32/INT64 scalar or one-element tensor) normalised against `rank`. */
static int cumsum_axis(const inferd_tensor_t *t, int rank, int *axis, inferd_err_t *err)
{
    int64_t value;
    *axis = 0;
    if (onnx_read_ints(t, &value, 1, "axis", err) != 1)
        return inferd_fail(err, INFERD_EINVAL, "axis must be one INT32 or INT64 value");
    *axis = onnx_axis(value, rank, 0);
    if (*axis < 0)
        return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range for rank %d",
                           (long long)value, rank);
    return 0;
}

static int cumsum_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, inferd_err_t *err)
{
    int axis, rc = onnx_require_inputs(node, in, 2, err);
    if (rc != 0 || (rc = cumsum_axis(in[1], in[0]->ndim, &axis, err)) != 0)
        return rc;
    switch (in[0]->dtype) {
    case INFERD_DT_FP16:
    case INFERD_DT_FP32:
    case INFERD_DT_FP64:
    case INFERD_DT_INT32:
    case INFERD_DT_INT64:
    case INFERD_DT_UINT32:
    case INFERD_DT_UINT64:
        break;
    default:
        return onnx_fail_dtype(err, in[0], "FP16, FP32, FP64, INT32, INT64, UINT32, UINT64");
    }
    onnx_set_shape(&out[0], in[0]->dtype, in[0]->shape, in[0]->ndim);
    return 0;
}

/* Walks each [outer, length, inner] line along the axis, forwards or backwards, keeping the sum
 * in `acc_type` (unsigned 64-bit for integers, so that overflow wraps as defined). */
#define CUMSUM_LINES(type, acc_type)                                                               \
    do {                                                                                           \
        const type *x = in[0]->data;                                                               \
        type *y = out[0].data;                                                                     \
        for (int64_t o = 0; o < outer; o++)                                                        \
            for (int64_t i = 0; i < inner; i++) {                                                  \
                acc_type sum = 0;                                                                  \
                for (int64_t s = 0; s < length; s++) {                                             \
                    int64_t at =                                                                   \
                        o * length * inner + (p->is_reverse ? length - 1 - s : s) * inner + i;     \
                    if (p->is_exclusive) {                                                         \
                        y[at] = (type)sum;                                                         \
                        sum += (acc_type)x[at];                                                    \
                    } else {                                                                       \
                        sum += (acc_type)x[at];                                                    \
                        y[at] = (type)sum;                                                         \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
    } while (0)

static int cumsum_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const cumsum_params_t *p = node->params;
    int axis, rc = cumsum_axis(in[1], in[0]->ndim, &axis, err);
    if (rc != 0)
        return rc;
    int64_t outer = 1, length = in[0]->shape[axis], inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= in[0]->shape[d];
    for (int d = axis + 1; d < in[0]->ndim; d++)
        inner *= in[0]->shape[d];
    switch (in[0]->dtype) {
    case INFERD_DT_FP32:
        CUMSUM_LINES(float, float);
        break;
    case INFERD_DT_FP64:
        CUMSUM_LINES(double, double);
        break;
    case INFERD_DT_INT32:
        CUMSUM_LINES(int32_t, uint64_t);
        break;
    case INFERD_DT_INT64:
        CUMSUM_LINES(int64_t, uint64_t);
        break;
    case INFERD_DT_UINT32:
        CUMSUM_LINES(uint32_t, uint64_t);
        break;
    case INFERD_DT_UINT64:
        CUMSUM_LINES(uint64_t, uint64_t);
        break;
    default: /* FP16: the sum in double, each output rounded */
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                double sum = 0.0;
                for (int64_t s = 0; s < length; s++) {
                    int64_t at =
                        o * length * inner + (p->is_reverse ? length - 1 - s : s) * inner + i;
                    double v = onnx_get_f64(in[0], at);
                    if (!p->is_exclusive)
                        sum += v;
                    onnx_set_f64(&out[0], at, sum);
                    if (p->is_exclusive)
                        sum += v;
                }
            }
    }
    return 0;
}

static const onnx_op_t onnx_op_cumsum = {"CumSum",     2,         2, 1, 1, cumsum_prepare,
                                         cumsum_shape, cumsum_run};

/* ==== NonZero ==== */

/* Whether element i is not zero (-0.0 is zero, NaN is not). */
static bool is_nonzero(const inferd_tensor_t *t, int64_t i)
{
    switch (t->dtype) {
    case INFERD_DT_FP32:
        return ((const float *)t->data)[i] != 0.0f;
    case INFERD_DT_FP64:
        return ((const double *)t->data)[i] != 0.0;
    case INFERD_DT_FP16:
        return (((const uint16_t *)t->data)[i] & 0x7FFF) != 0;
    default:
        return onnx_get_i64(t, i) != 0;
    }
}

static int nonzero_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0)
        return rc;
    int64_t n = inferd_tensor_count(in[0]), count = 0;
    for (int64_t i = 0; i < n; i++)
        count += is_nonzero(in[0], i);
    int64_t shape[2] = {in[0]->ndim > 0 ? in[0]->ndim : 1, count}; /* a scalar counts as [1] */
    onnx_set_shape(&out[0], INFERD_DT_INT64, shape, 2);
    return 0;
}

/* Column k of the output holds the coordinates of the k-th nonzero element, in row-major order. */
static int nonzero_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0];
    int64_t *y = out[0].data, count = out[0].shape[1], n = inferd_tensor_count(x), k = 0;
    int64_t index[INFERD_MAX_DIMS] = {0};
    for (int64_t i = 0; i < n; i++) {
        if (is_nonzero(x, i) && k < count) {
            for (int d = 0; d < x->ndim; d++)
                y[d * count + k] = index[d];
            if (x->ndim == 0)
                y[k] = 0;
            k++;
        }
        for (int d = x->ndim - 1; d >= 0; d--) {
            if (++index[d] < x->shape[d])
                break;
            index[d] = 0;
        }
    }
    return 0;
}

static const onnx_op_t onnx_op_nonzero = {"NonZero", 1, 1, 1, 1, NULL, nonzero_shape, nonzero_run};

const onnx_op_t *const onnx_ops_positions[] = {&onnx_op_onehot, &onnx_op_cumsum, &onnx_op_nonzero,
                                               NULL};
