/* Indexing: Gather, GatherElements, ScatterElements (and its deprecated name Scatter), GatherND,
 * ScatterND (OneHot, CumSum and NonZero are in positions.c). Index inputs are data a client may
 * control: every index is checked against its dimension in shape(), before any output is written,
 * and an out-of-range one is refused with its value and position. Gather and the Scatter copy
 * element bytes of any datatype. */
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Index i of an INT32 or INT64 tensor. */
static int64_t index_at(const inferd_tensor_t *t, int64_t i)
{
    return t->dtype == INFERD_DT_INT64 ? ((const int64_t *)t->data)[i]
                                       : ((const int32_t *)t->data)[i];
}

/* Refuses indices that are not INT32/INT64 or fall outside [-dim, dim). */
static int check_indices(const inferd_tensor_t *indices, int64_t dim, inferd_err_t *err)
{
    if (indices->dtype != INFERD_DT_INT32 && indices->dtype != INFERD_DT_INT64)
        return inferd_fail(err, INFERD_EINVAL, "indices must be INT32 or INT64, not %s",
                           inferd_dtype_name(indices->dtype));
    int64_t n = inferd_tensor_count(indices);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = index_at(indices, i);
        if (v < -dim || v >= dim)
            return inferd_fail(err, INFERD_EINVAL,
                               "index %lld (element %lld of indices) is out of range for a "
                               "dimension of %lld",
                               (long long)v, (long long)i, (long long)dim);
    }
    return 0;
}

typedef struct {
    int64_t axis;
} axis_params_t;

static int axis_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    axis_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->axis = onnx_attr_int(proto, "axis", 0);
    return 0;
}

/* `value` (an axis attribute) normalised against `rank` into *axis, or INFERD_EINVAL. */
static int normalize_axis(int64_t value, int rank, int *axis, inferd_err_t *err)
{
    *axis = onnx_axis(value, rank, 0);
    if (*axis < 0)
        return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range for rank %d",
                           (long long)value, rank);
    return 0;
}

/* The axis of a node whose params are axis_params_t. */
static int node_axis(const onnx_node_t *node, int rank, int *axis, inferd_err_t *err)
{
    return normalize_axis(((const axis_params_t *)node->params)->axis, rank, axis, err);
}

/* ==== Gather ==== */

static int gather_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, inferd_err_t *err)
{
    int axis, rc = onnx_require_inputs(node, in, 2, err);
    if (rc != 0 || (rc = node_axis(node, in[0]->ndim, &axis, err)) != 0)
        return rc;
    const inferd_tensor_t *x = in[0], *indices = in[1];
    int rank = x->ndim - 1 + indices->ndim;
    if (rank > INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EINVAL, "the output would have rank %d, above %d", rank,
                           INFERD_MAX_DIMS);
    if ((rc = check_indices(indices, x->shape[axis], err)) != 0)
        return rc;
    int64_t shape[INFERD_MAX_DIMS];
    int ndim = 0;
    for (int d = 0; d < axis; d++)
        shape[ndim++] = x->shape[d];
    for (int d = 0; d < indices->ndim; d++)
        shape[ndim++] = indices->shape[d];
    for (int d = axis + 1; d < x->ndim; d++)
        shape[ndim++] = x->shape[d];
    if (inferd_shape_count(shape, ndim) < 0)
        return inferd_fail(err, INFERD_EINVAL, "the output is too large");
    onnx_set_shape(&out[0], x->dtype, shape, ndim);
    return 0;
}

static int gather_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0], *indices = in[1];
    int axis;
    int rc = node_axis(node, x->ndim, &axis, err);
    if (rc != 0)
        return rc;
    int64_t outer = 1, dim = x->shape[axis], block = (int64_t)inferd_dtype_size(x->dtype);
    for (int d = 0; d < axis; d++)
        outer *= x->shape[d];
    for (int d = axis + 1; d < x->ndim; d++)
        block *= x->shape[d];
    int64_t n = inferd_tensor_count(indices);
    if (block == 0 || n == 0)
        return 0;
    const char *src = x->data;
    char *dst = out[0].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < n; j++, dst += block) {
            int64_t i = index_at(indices, j);
            i = i < 0 ? i + dim : i;
            memcpy(dst, src + (o * dim + i) * block, (size_t)block);
        }
    return 0;
}

static const onnx_op_t onnx_op_gather = {"Gather",     2,         2, 1, 1, axis_prepare,
                                         gather_shape, gather_run};

/* ==== GatherElements, ScatterElements ==== */

/* Checks `indices` against `data` for the elements ops: same rank, each dimension but the axis
 * no larger than data's, every value inside data's axis. */
static int check_element_indices(const inferd_tensor_t *data, const inferd_tensor_t *indices,
                                 int axis, inferd_err_t *err)
{
    char a[128], b[128];
    bool is_inside = indices->ndim == data->ndim;
    for (int d = 0; d < data->ndim && is_inside; d++)
        is_inside = d == axis || indices->shape[d] <= data->shape[d];
    if (!is_inside)
        return inferd_fail(err, INFERD_EINVAL, "indices of shape %s do not fit data of shape %s",
                           inferd_shape_str(indices->shape, indices->ndim, a, sizeof(a)),
                           inferd_shape_str(data->shape, data->ndim, b, sizeof(b)));
    return check_indices(indices, data->shape[axis], err);
}

/* Runs `body` for every element j of `indices` (row-major) with k the element of `data` it
 * addresses: j's coordinates with the one along `axis` replaced by the index (wrapped when
 * negative). The indices must have passed check_element_indices. */
#define FOR_EACH_ELEMENT_INDEX(data, indices, axis, j, k, body)                                    \
    do {                                                                                           \
        int64_t data_strides_[INFERD_MAX_DIMS], index_[INFERD_MAX_DIMS] = {0}, base_ = 0;          \
        onnx_strides((data)->shape, (data)->ndim, data_strides_);                                  \
        int64_t n_ = inferd_tensor_count(indices), dim_ = (data)->shape[axis];                     \
        for (int64_t j = 0; j < n_; j++) {                                                         \
            int64_t i_ = index_at(indices, j);                                                     \
            int64_t k = base_ + (i_ < 0 ? i_ + dim_ : i_) * data_strides_[axis];                   \
            body;                                                                                  \
            for (int d_ = (indices)->ndim - 1; d_ >= 0; d_--) {                                    \
                int64_t step_ = d_ == (axis) ? 0 : data_strides_[d_];                              \
                if (++index_[d_] < (indices)->shape[d_]) {                                         \
                    base_ += step_;                                                                \
                    break;                                                                         \
                }                                                                                  \
                base_ -= step_ * (index_[d_] - 1);                                                 \
                index_[d_] = 0;                                                                    \
            }                                                                                      \
        }                                                                                          \
    } while (0)

static int gather_elements_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                                 inferd_tensor_t *out, inferd_err_t *err)
{
    int axis, rc = onnx_require_inputs(node, in, 2, err);
    if (rc != 0 || (rc = node_axis(node, in[0]->ndim, &axis, err)) != 0 ||
        (rc = check_element_indices(in[0], in[1], axis, err)) != 0)
        return rc;
    onnx_set_shape(&out[0], in[0]->dtype, in[1]->shape, in[1]->ndim);
    return 0;
}

static int gather_elements_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                               inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0], *indices = in[1];
    int axis, rc = node_axis(node, x->ndim, &axis, err);
    if (rc != 0)
        return rc;
    size_t elem = inferd_dtype_size(x->dtype);
    const char *src = x->data;
    char *dst = out[0].data;
    FOR_EACH_ELEMENT_INDEX(x, indices, axis, j, k,
                           memcpy(dst + j * (int64_t)elem, src + k * (int64_t)elem, elem));
    return 0;
}

static const onnx_op_t onnx_op_gather_elements = {
    "GatherElements", 2, 2, 1, 1, axis_prepare, gather_elements_shape, gather_elements_run};

typedef enum { REDUCE_NONE, REDUCE_ADD, REDUCE_MUL, REDUCE_MAX, REDUCE_MIN } reduction_t;

typedef struct {
    int64_t axis;
    reduction_t reduction;
} scatter_params_t;

static int scatter_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    scatter_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->axis = onnx_attr_int(proto, "axis", 0);
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    const char *reduction = onnx_attr_string(proto, "reduction", "none");
    for (int r = 0; r < 5; r++)
        if (strcmp(reduction, names[r]) == 0) {
            p->reduction = (reduction_t)r;
            return 0;
        }
    return inferd_fail(err, INFERD_EMODEL,
                       "reduction '%s' is unknown (none, add, mul, max, min are)", reduction);
}

static int scatter_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, inferd_err_t *err)
{
    const scatter_params_t *p = node->params;
    int axis, rc = onnx_require_inputs(node, in, 3, err);
    if (rc != 0 || (rc = normalize_axis(p->axis, in[0]->ndim, &axis, err)) != 0)
        return rc;
    const inferd_tensor_t *x = in[0], *indices = in[1], *updates = in[2];
    bool is_same = updates->ndim == indices->ndim && updates->dtype == x->dtype;
    for (int d = 0; d < indices->ndim && is_same; d++)
        is_same = updates->shape[d] == indices->shape[d];
    if (!is_same)
        return inferd_fail(err, INFERD_EINVAL,
                           "updates must have the shape of indices and the datatype of data");
    if ((rc = check_element_indices(x, indices, axis, err)) != 0)
        return rc;
    onnx_set_shape(&out[0], x->dtype, x->shape, x->ndim);
    return 0;
}

/* y[k] = reduce(y[k], u[j]) in the element type; integer sums and products wrap (computed
 * unsigned, so that they are defined). */
static void combine(inferd_tensor_t *y, int64_t k, const inferd_tensor_t *u, int64_t j,
                    reduction_t reduction)
{
#define COMBINE_AS(type, add, mul)                                                                 \
    do {                                                                                           \
        type *a = (type *)y->data + k, b = ((const type *)u->data)[j];                             \
        switch (reduction) {                                                                       \
        case REDUCE_ADD:                                                                           \
            *a = add;                                                                              \
            break;                                                                                 \
        case REDUCE_MUL:                                                                           \
            *a = mul;                                                                              \
            break;                                                                                 \
        case REDUCE_MAX:                                                                           \
            *a = *a > b ? *a : b;                                                                  \
            break;                                                                                 \
        case REDUCE_MIN:                                                                           \
            *a = *a < b ? *a : b;                                                                  \
            break;                                                                                 \
        default:                                                                                   \
            *a = b;                                                                                \
        }                                                                                          \
    } while (0)
#define COMBINE_INT(type)                                                                          \
    COMBINE_AS(type, (type)((uint64_t)*a + (uint64_t)b), (type)((uint64_t)*a * (uint64_t)b))
#define COMBINE_FLOAT(type) COMBINE_AS(type, *a + b, *a * b)
    switch (y->dtype) {
    case INFERD_DT_FP32:
        COMBINE_FLOAT(float);
        break;
    case INFERD_DT_FP64:
        COMBINE_FLOAT(double);
        break;
    case INFERD_DT_INT8:
        COMBINE_INT(int8_t);
        break;
    case INFERD_DT_INT16:
        COMBINE_INT(int16_t);
        break;
    case INFERD_DT_INT32:
        COMBINE_INT(int32_t);
        break;
    case INFERD_DT_INT64:
        COMBINE_INT(int64_t);
        break;
    case INFERD_DT_UINT8:
        COMBINE_INT(uint8_t);
        break;
    case INFERD_DT_UINT16:
        COMBINE_INT(uint16_t);
        break;
    case INFERD_DT_UINT32:
        COMBINE_INT(uint32_t);
        break;
    case INFERD_DT_UINT64:
        COMBINE_INT(uint64_t);
        break;
    case INFERD_DT_BOOL: /* add is or, mul is and */
        COMBINE_INT(uint8_t);
        ((uint8_t *)y->data)[k] = ((uint8_t *)y->data)[k] != 0;
        break;
    default: { /* FP16: in double, rounded back */
        double a = onnx_get_f64(y, k), b = onnx_get_f64(u, j);
        double r = reduction == REDUCE_ADD   ? a + b
                   : reduction == REDUCE_MUL ? a * b
                   : reduction == REDUCE_MAX ? (a > b ? a : b)
                   : reduction == REDUCE_MIN ? (a < b ? a : b)
                                             : b;
        onnx_set_f64(y, k, r);
    }
    }
#undef COMBINE_FLOAT
#undef COMBINE_INT
#undef COMBINE_AS
}

static int scatter_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const scatter_params_t *p = node->params;
    const inferd_tensor_t *x = in[0], *indices = in[1], *updates = in[2];
    inferd_tensor_t *y = &out[0];
    int axis, rc = normalize_axis(p->axis, x->ndim, &axis, err);
    if (rc != 0)
        return rc;
    int64_t bytes = inferd_tensor_bytes(x);
    if (bytes > 0)
        memcpy(y->data, x->data, (size_t)bytes);
    size_t elem = inferd_dtype_size(x->dtype);
    if (p->reduction == REDUCE_NONE) {
        char *dst = y->data;
        const char *src = updates->data;
        FOR_EACH_ELEMENT_INDEX(x, indices, axis, j, k,
                               memcpy(dst + k * (int64_t)elem, src + j * (int64_t)elem, elem));
    } else {
        FOR_EACH_ELEMENT_INDEX(x, indices, axis, j, k, combine(y, k, updates, j, p->reduction));
    }
    return 0;
}

static const onnx_op_t onnx_op_scatter_elements = {
    "ScatterElements", 3, 3, 1, 1, scatter_prepare, scatter_shape, scatter_run};
/* Scatter (opsets 9-10) is ScatterElements under its old name. */
static const onnx_op_t onnx_op_scatter = {"Scatter",     3,          3, 1, 1, scatter_prepare,
                                          scatter_shape, scatter_run};

/* ==== GatherND, ScatterND ==== */

/* How the index tuples in the last axis of `indices` address `data`: after `batch_dims` leading
 * dimensions the two share, each tuple of `depth` indices picks a slice of data. */
typedef struct {
    int64_t batches;      /* product of the shared leading dimensions */
    int64_t tuples;       /* index tuples per batch */
    int depth;            /* indices per tuple: the last dimension of indices */
    int64_t slice;        /* elements of data one tuple addresses */
    int64_t batch_stride; /* elements of data per batch */
    int64_t dims[INFERD_MAX_DIMS], strides[INFERD_MAX_DIMS]; /* of the indexed dimensions */
} nd_plan_t;

/* Checks `indices` against `data` for `op` and fills `plan`; every index is checked here. */
static int nd_plan(const inferd_tensor_t *data, const inferd_tensor_t *indices, int64_t batch_dims,
                   const char *op, nd_plan_t *plan, inferd_err_t *err)
{
    int r = data->ndim, q = indices->ndim;
    if (indices->dtype != INFERD_DT_INT32 && indices->dtype != INFERD_DT_INT64)
        return inferd_fail(err, INFERD_EINVAL, "%s: indices must be INT32 or INT64, not %s", op,
                           inferd_dtype_name(indices->dtype));
    if (q < 1 || batch_dims < 0 || batch_dims >= q || batch_dims >= r)
        return inferd_fail(
            err, INFERD_EINVAL,
            "%s: batch_dims %lld does not fit data of rank %d and indices of rank %d", op,
            (long long)batch_dims, r, q);
    int b = (int)batch_dims;
    int64_t depth = indices->shape[q - 1];
    if (depth < 1 || depth > r - b)
        return inferd_fail(err, INFERD_EINVAL,
                           "%s: the last dimension of indices is %lld; it must be from 1 to %d", op,
                           (long long)depth, r - b);
    *plan = (nd_plan_t){.batches = 1, .tuples = 1, .depth = (int)depth, .slice = 1};
    for (int d = 0; d < b; d++) {
        if (indices->shape[d] != data->shape[d])
            return inferd_fail(err, INFERD_EINVAL,
                               "%s: the first %d dimensions of data and indices must be equal", op,
                               b);
        plan->batches *= data->shape[d];
    }
    for (int d = b; d < q - 1; d++)
        plan->tuples *= indices->shape[d];
    for (int d = b + plan->depth; d < r; d++)
        plan->slice *= data->shape[d];
    int64_t stride = plan->slice;
    for (int k = plan->depth - 1; k >= 0; k--) {
        plan->dims[k] = data->shape[b + k];
        plan->strides[k] = stride;
        stride *= plan->dims[k];
    }
    plan->batch_stride = stride;
    int64_t n = plan->batches * plan->tuples * plan->depth;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = index_at(indices, i), dim = plan->dims[i % plan->depth];
        if (v < -dim || v >= dim)
            return inferd_fail(err, INFERD_EINVAL,
                               "%s: index %lld at position %lld is out of range for a dimension "
                               "of size %lld",
                               op, (long long)v, (long long)i, (long long)dim);
    }
    return 0;
}

/* The element of data where tuple `t` (counted over every batch) starts. */
static int64_t nd_offset(const nd_plan_t *plan, const inferd_tensor_t *indices, int64_t t)
{
    int64_t offset = t / plan->tuples * plan->batch_stride;
    for (int k = 0; k < plan->depth; k++) {
        int64_t v = index_at(indices, t * plan->depth + k);
        offset += (v < 0 ? v + plan->dims[k] : v) * plan->strides[k];
    }
    return offset;
}

static int gather_nd_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    int64_t *batch_dims = onnx_params_new(node, sizeof(*batch_dims));
    if (batch_dims == NULL)
        return INFERD_ENOMEM;
    *batch_dims = onnx_attr_int(proto, "batch_dims", 0);
    return 0;
}

static int gather_nd_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                           inferd_tensor_t *out, inferd_err_t *err)
{
    const int64_t *batch_dims = node->params;
    nd_plan_t plan;
    int rc = onnx_require_inputs(node, in, 2, err);
    if (rc != 0 || (rc = nd_plan(in[0], in[1], *batch_dims, "GatherND", &plan, err)) != 0)
        return rc;
    /* indices' shape without its last dimension, then data's after the indexed ones */
    int64_t shape[INFERD_MAX_DIMS];
    int ndim = 0, first = (int)*batch_dims + plan.depth;
    if (in[1]->ndim - 1 + in[0]->ndim - first > INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EINVAL,
                           "GatherND: the output would have more than %d "
                           "dimensions",
                           INFERD_MAX_DIMS);
    for (int d = 0; d < in[1]->ndim - 1; d++)
        shape[ndim++] = in[1]->shape[d];
    for (int d = first; d < in[0]->ndim; d++)
        shape[ndim++] = in[0]->shape[d];
    onnx_set_shape(&out[0], in[0]->dtype, shape, ndim);
    return 0;
}

static int gather_nd_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const int64_t *batch_dims = node->params;
    nd_plan_t plan;
    int rc = nd_plan(in[0], in[1], *batch_dims, "GatherND", &plan, err);
    if (rc != 0)
        return rc;
    size_t elem = inferd_dtype_size(in[0]->dtype), slice_bytes = (size_t)plan.slice * elem;
    const char *src = in[0]->data;
    char *dst = out[0].data;
    for (int64_t t = 0; t < plan.batches * plan.tuples; t++)
        memcpy(dst + (size_t)t * slice_bytes, src + (size_t)nd_offset(&plan, in[1], t) * elem,
               slice_bytes);
    return 0;
}

static int scatter_nd_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                            inferd_tensor_t *out, inferd_err_t *err)
{
    nd_plan_t plan;
    int rc = onnx_require_inputs(node, in, 3, err);
    if (rc != 0 || (rc = nd_plan(in[0], in[1], 0, "ScatterND", &plan, err)) != 0)
        return rc;
    const inferd_tensor_t *x = in[0], *indices = in[1], *updates = in[2];
    /* updates: indices' shape without its last dimension, then data's after the indexed ones */
    bool is_right =
        updates->dtype == x->dtype && updates->ndim == indices->ndim - 1 + x->ndim - plan.depth;
    for (int d = 0; d < updates->ndim && is_right; d++)
        is_right = updates->shape[d] == (d < indices->ndim - 1
                                             ? indices->shape[d]
                                             : x->shape[d - (indices->ndim - 1) + plan.depth]);
    if (!is_right)
        return inferd_fail(err, INFERD_EINVAL,
                           "ScatterND: updates must have data's datatype and the shape of "
                           "indices without its last dimension followed by data's dimensions "
                           "after the %d indexed",
                           plan.depth);
    onnx_set_shape(&out[0], x->dtype, x->shape, x->ndim);
    return 0;
}

/* y = data, then each slice of updates written over (or combined with) the slice of y its tuple
 * addresses, in order: with repeated tuples and no reduction, the last one wins. */
static int scatter_nd_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const scatter_params_t *p = node->params;
    const inferd_tensor_t *x = in[0], *indices = in[1], *updates = in[2];
    nd_plan_t plan;
    int rc = nd_plan(x, indices, 0, "ScatterND", &plan, err);
    if (rc != 0)
        return rc;
    int64_t bytes = inferd_tensor_bytes(x);
    if (bytes > 0)
        memcpy(out[0].data, x->data, (size_t)bytes);
    size_t elem = inferd_dtype_size(x->dtype), slice_bytes = (size_t)plan.slice * elem;
    for (int64_t t = 0; t < plan.tuples; t++) {
        int64_t at = nd_offset(&plan, indices, t);
        if (p->reduction == REDUCE_NONE)
            memcpy((char *)out[0].data + (size_t)at * elem,
                   (const char *)updates->data + (size_t)t * slice_bytes, slice_bytes);
        else
            for (int64_t e = 0; e < plan.slice; e++)
                combine(&out[0], at + e, updates, t * plan.slice + e, p->reduction);
    }
    return 0;
}

static const onnx_op_t onnx_op_gather_nd = {
    "GatherND", 2, 2, 1, 1, gather_nd_prepare, gather_nd_shape, gather_nd_run};
static const onnx_op_t onnx_op_scatter_nd = {
    "ScatterND", 3, 3, 1, 1, scatter_prepare, scatter_nd_shape, scatter_nd_run};

const onnx_op_t *const onnx_ops_gather[] = {
    &onnx_op_gather,
    &onnx_op_gather_elements,
    &onnx_op_scatter_elements,
    &onnx_op_scatter,
    &onnx_op_gather_nd,
    &onnx_op_scatter_nd,
    NULL,
};
