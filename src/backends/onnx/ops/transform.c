/* Data movement: Transpose, Squeeze, Unsqueeze, Concat, Split, DepthToSpace, SpaceToDepth here;
 * Slice, Expand, Tile and Pad in transform_slice.c. Every op works on any datatype by copying
 * element bytes; most reduce to one strided view copy (transform_copy_view). This file owns the
 * family's table. */
#include "transform.h"

#include <stdlib.h>
#include <string.h>

/* ==== shared helpers ==== */

int transform_check_output(const int64_t *shape, int ndim, inferd_dtype_t dtype, const char *op,
                           inferd_err_t *err)
{
    char text[160];
    int64_t count = inferd_shape_count(shape, ndim);
    int64_t elem = (int64_t)inferd_dtype_size(dtype);
    if (count < 0 || (elem > 0 && count > TRANSFORM_MAX_OUTPUT_BYTES / elem))
        return inferd_fail(err, INFERD_EINVAL,
                           "%s would make an output of shape %s, above %lld bytes", op,
                           inferd_shape_str(shape, ndim, text, sizeof(text)),
                           (long long)TRANSFORM_MAX_OUTPUT_BYTES);
    return 0;
}

/* Copies `n` elements of `elem_bytes` from src (stride `src_stride` elements) to dst (stride
 * `dst_stride`). */
static void copy_row(char *dst, int64_t dst_stride, const char *src, int64_t src_stride, int64_t n,
                     size_t elem_bytes)
{
#define COPY_ROW_AS(type)                                                                          \
    do {                                                                                           \
        type *y = (type *)(void *)dst;                                                             \
        const type *x = (const type *)(const void *)src;                                           \
        for (int64_t i = 0; i < n; i++)                                                            \
            y[i * dst_stride] = x[i * src_stride];                                                 \
    } while (0)
    switch (elem_bytes) {
    case 1:
        COPY_ROW_AS(uint8_t);
        break;
    case 2:
        COPY_ROW_AS(uint16_t);
        break;
    case 4:
        COPY_ROW_AS(uint32_t);
        break;
    case 8:
        COPY_ROW_AS(uint64_t);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + i * dst_stride * (int64_t)elem_bytes,
                   src + i * src_stride * (int64_t)elem_bytes, elem_bytes);
    }
#undef COPY_ROW_AS
}

void transform_copy_view(void *dst, const int64_t *dst_strides, const void *src,
                         const int64_t *src_strides, const int64_t *shape, int rank,
                         size_t elem_bytes)
{
    int64_t dims[TRANSFORM_MAX_VIEW_DIMS], ss[TRANSFORM_MAX_VIEW_DIMS], ds[TRANSFORM_MAX_VIEW_DIMS];
    int n = 0;
    for (int d = 0; d < rank; d++) {
        if (shape[d] == 0)
            return;
        if (shape[d] == 1)
            continue;
        if (n > 0 && ss[n - 1] == src_strides[d] * shape[d] &&
            ds[n - 1] == dst_strides[d] * shape[d]) {
            dims[n - 1] *= shape[d]; /* the previous dimension steps over this one exactly */
            ss[n - 1] = src_strides[d];
            ds[n - 1] = dst_strides[d];
        } else {
            dims[n] = shape[d];
            ss[n] = src_strides[d];
            ds[n] = dst_strides[d];
            n++;
        }
    }
    const int64_t elem = (int64_t)elem_bytes;
    if (n == 0) {
        memcpy(dst, src, elem_bytes);
        return;
    }
    int64_t inner = dims[n - 1], rows = 1;
    for (int d = 0; d < n - 1; d++)
        rows *= dims[d];
    bool is_block = ss[n - 1] == 1 && ds[n - 1] == 1;
    int64_t index[TRANSFORM_MAX_VIEW_DIMS] = {0};
    int64_t src_offset = 0, dst_offset = 0;
    for (int64_t row = 0; row < rows; row++) {
        char *y = (char *)dst + dst_offset * elem;
        const char *x = (const char *)src + src_offset * elem;
        if (is_block)
            memcpy(y, x, (size_t)(inner * elem));
        else
            copy_row(y, ds[n - 1], x, ss[n - 1], inner, elem_bytes);
        /* odometer over the outer dimensions, keeping both offsets */
        for (int d = n - 2; d >= 0; d--) {
            index[d]++;
            src_offset += ss[d];
            dst_offset += ds[d];
            if (index[d] < dims[d])
                break;
            src_offset -= ss[d] * dims[d];
            dst_offset -= ds[d] * dims[d];
            index[d] = 0;
        }
    }
}

void transform_copy_to_dense(void *dst, const void *src, const int64_t *src_strides,
                             const int64_t *shape, int rank, size_t elem_bytes)
{
    int64_t dst_strides[TRANSFORM_MAX_VIEW_DIMS];
    onnx_strides(shape, rank, dst_strides);
    transform_copy_view(dst, dst_strides, src, src_strides, shape, rank, elem_bytes);
}

/* Copies input 0 into output 0 unchanged (ops that only change the shape). */
static int copy_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                    onnx_scratch_t *scratch, inferd_err_t *err)
{
    int64_t bytes = inferd_tensor_bytes(in[0]);
    if (bytes > 0 && out[0].data != in[0]->data)
        memcpy(out[0].data, in[0]->data, (size_t)bytes);
    return 0;
}

/* ==== axes of Squeeze, Unsqueeze: the attribute before opset 13, input 1 from 13 ==== */

typedef struct {
    int n_axes; /* -1: no axes attribute */
    int64_t axes[INFERD_MAX_DIMS];
} axes_params_t;

static int axes_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    axes_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->n_axes = onnx_attr_ints(proto, "axes", p->axes, INFERD_MAX_DIMS);
    if (p->n_axes > INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EMODEL, "%d axes; at most %d are supported", p->n_axes,
                           INFERD_MAX_DIMS);
    return 0;
}

/* The axes of a Squeeze/Unsqueeze node into `axes`: from the attribute, else from input 1.
 * Sets *count (-1 when neither gives any). Returns 0 or INFERD_EINVAL. */
static int read_axes(const onnx_node_t *node, const inferd_tensor_t *const *in, int64_t *axes,
                     int *count, inferd_err_t *err)
{
    const axes_params_t *p = node->params;
    *count = -1;
    if (p->n_axes >= 0) {
        memcpy(axes, p->axes, sizeof(p->axes));
        *count = p->n_axes;
    } else if (node->n_inputs > 1 && in[1] != NULL) {
        *count = onnx_read_ints(in[1], axes, INFERD_MAX_DIMS, "axes", err);
        if (*count < 0)
            return INFERD_EINVAL;
    }
    return 0;
}

/* Normalises `n` axes against `rank` in place; refuses one out of range or repeated. */
static int normalize_axes(int64_t *axes, int n, int rank, inferd_err_t *err)
{
    bool is_seen[INFERD_MAX_DIMS] = {false};
    for (int i = 0; i < n; i++) {
        int axis = onnx_axis(axes[i], rank, 0);
        if (axis < 0)
            return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range for rank %d",
                               (long long)axes[i], rank);
        if (is_seen[axis])
            return inferd_fail(err, INFERD_EINVAL, "axis %lld is repeated", (long long)axes[i]);
        is_seen[axis] = true;
        axes[i] = axis;
    }
    return 0;
}

/* ==== Squeeze, Unsqueeze ==== */

static int squeeze_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *x = in[0];
    int64_t axes[INFERD_MAX_DIMS];
    int n;
    if ((rc = read_axes(node, in, axes, &n, err)) != 0)
        return rc;
    bool is_dropped[INFERD_MAX_DIMS] = {false};
    if (n < 0) { /* no axes: drop every dimension of size 1 */
        for (int d = 0; d < x->ndim; d++)
            is_dropped[d] = x->shape[d] == 1;
    } else {
        if ((rc = normalize_axes(axes, n, x->ndim, err)) != 0)
            return rc;
        for (int i = 0; i < n; i++) {
            if (x->shape[axes[i]] != 1)
                return inferd_fail(err, INFERD_EINVAL,
                                   "cannot squeeze axis %lld of size %lld (only size 1)",
                                   (long long)axes[i], (long long)x->shape[axes[i]]);
            is_dropped[axes[i]] = true;
        }
    }
    int64_t shape[INFERD_MAX_DIMS];
    int ndim = 0;
    for (int d = 0; d < x->ndim; d++)
        if (!is_dropped[d])
            shape[ndim++] = x->shape[d];
    onnx_set_shape(&out[0], x->dtype, shape, ndim);
    return 0;
}

static const onnx_op_t onnx_op_squeeze = {"Squeeze",     1,       2, 1, 1, axes_prepare,
                                          squeeze_shape, copy_run};

static int unsqueeze_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                           inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *x = in[0];
    int64_t axes[INFERD_MAX_DIMS];
    int n;
    if ((rc = read_axes(node, in, axes, &n, err)) != 0)
        return rc;
    if (n < 0)
        return inferd_fail(err, INFERD_EINVAL, "Unsqueeze needs axes");
    int rank = x->ndim + n;
    if (rank > INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EINVAL, "the output would have rank %d, above %d", rank,
                           INFERD_MAX_DIMS);
    if ((rc = normalize_axes(axes, n, rank, err)) != 0)
        return rc;
    bool is_inserted[INFERD_MAX_DIMS] = {false};
    for (int i = 0; i < n; i++)
        is_inserted[axes[i]] = true;
    int64_t shape[INFERD_MAX_DIMS];
    for (int d = 0, from = 0; d < rank; d++)
        shape[d] = is_inserted[d] ? 1 : x->shape[from++];
    onnx_set_shape(&out[0], x->dtype, shape, rank);
    return 0;
}

static const onnx_op_t onnx_op_unsqueeze = {"Unsqueeze",     1,       2, 1, 1, axes_prepare,
                                            unsqueeze_shape, copy_run};

/* ==== Transpose ==== */

typedef struct {
    int n_perm; /* -1: reverse the dimensions */
    int64_t perm[INFERD_MAX_DIMS];
} transpose_params_t;

static int transpose_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    transpose_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->n_perm = onnx_attr_ints(proto, "perm", p->perm, INFERD_MAX_DIMS);
    if (p->n_perm > INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EMODEL, "perm has %d values; at most %d are supported",
                           p->n_perm, INFERD_MAX_DIMS);
    return 0;
}

/* The permutation a Transpose node applies to `rank` dimensions into `perm`; refuses a perm
 * attribute that is not a permutation of 0..rank-1. */
static int transpose_perm(const onnx_node_t *node, int rank, int *perm, inferd_err_t *err)
{
    const transpose_params_t *p = node->params;
    if (p->n_perm < 0) {
        for (int d = 0; d < rank; d++)
            perm[d] = rank - 1 - d;
        return 0;
    }
    if (p->n_perm != rank)
        return inferd_fail(err, INFERD_EINVAL, "perm has %d values for an input of rank %d",
                           p->n_perm, rank);
    bool is_seen[INFERD_MAX_DIMS] = {false};
    for (int d = 0; d < rank; d++) {
        if (p->perm[d] < 0 || p->perm[d] >= rank || is_seen[p->perm[d]])
            return inferd_fail(err, INFERD_EINVAL, "perm is not a permutation of 0..%d", rank - 1);
        is_seen[p->perm[d]] = true;
        perm[d] = (int)p->perm[d];
    }
    return 0;
}

static int transpose_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                           inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_require_inputs(node, in, 1, err);
    int perm[INFERD_MAX_DIMS];
    if (rc != 0 || (rc = transpose_perm(node, in[0]->ndim, perm, err)) != 0)
        return rc;
    int64_t shape[INFERD_MAX_DIMS];
    for (int d = 0; d < in[0]->ndim; d++)
        shape[d] = in[0]->shape[perm[d]];
    onnx_set_shape(&out[0], in[0]->dtype, shape, in[0]->ndim);
    return 0;
}

static int transpose_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0];
    int perm[INFERD_MAX_DIMS];
    int rc = transpose_perm(node, x->ndim, perm, err);
    if (rc != 0)
        return rc;
    int64_t in_strides[INFERD_MAX_DIMS], src_strides[INFERD_MAX_DIMS];
    onnx_strides(x->shape, x->ndim, in_strides);
    for (int d = 0; d < x->ndim; d++)
        src_strides[d] = in_strides[perm[d]];
    transform_copy_to_dense(out[0].data, x->data, src_strides, out[0].shape, out[0].ndim,
                            inferd_dtype_size(x->dtype));
    return 0;
}

static const onnx_op_t onnx_op_transpose = {
    "Transpose", 1, 1, 1, 1, transpose_prepare, transpose_shape, transpose_run};

/* ==== Concat ==== */

typedef struct {
    int64_t axis;
} axis_params_t;

static int concat_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    axis_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    const Onnx__AttributeProto *a = onnx_attr(proto, "axis");
    if (a == NULL || !a->has_i)
        return inferd_fail(err, INFERD_EMODEL, "Concat needs the axis attribute");
    p->axis = a->i;
    return 0;
}

static int concat_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, inferd_err_t *err)
{
    const axis_params_t *p = node->params;
    int rc = onnx_require_inputs(node, in, node->n_inputs, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *first = in[0];
    int axis = onnx_axis(p->axis, first->ndim, 0);
    if (first->ndim == 0 || axis < 0)
        return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range for rank %d",
                           (long long)p->axis, first->ndim);
    int64_t shape[INFERD_MAX_DIMS];
    memcpy(shape, first->shape, sizeof(shape));
    shape[axis] = 0;
    for (int k = 0; k < node->n_inputs; k++) {
        const inferd_tensor_t *x = in[k];
        char a[128], b[128];
        if (x->dtype != first->dtype)
            return inferd_fail(err, INFERD_EINVAL, "input %d is %s, input 0 is %s", k,
                               inferd_dtype_name(x->dtype), inferd_dtype_name(first->dtype));
        bool is_same = x->ndim == first->ndim;
        for (int d = 0; d < x->ndim && is_same; d++)
            is_same = d == axis || x->shape[d] == first->shape[d];
        if (!is_same)
            return inferd_fail(err, INFERD_EINVAL,
                               "input %d has shape %s, which does not concatenate with %s on "
                               "axis %d",
                               k, inferd_shape_str(x->shape, x->ndim, a, sizeof(a)),
                               inferd_shape_str(first->shape, first->ndim, b, sizeof(b)), axis);
        shape[axis] += x->shape[axis]; /* each below 2^62, at most 64 of them: no overflow */
    }
    if (inferd_shape_count(shape, first->ndim) < 0)
        return inferd_fail(err, INFERD_EINVAL, "the concatenation is too large");
    onnx_set_shape(&out[0], first->dtype, shape, first->ndim);
    return 0;
}

static int concat_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const axis_params_t *p = node->params;
    const inferd_tensor_t *y = &out[0];
    int axis = onnx_axis(p->axis, y->ndim, 0);
    int64_t outer = 1, inner = (int64_t)inferd_dtype_size(y->dtype);
    for (int d = 0; d < axis; d++)
        outer *= y->shape[d];
    for (int d = axis + 1; d < y->ndim; d++)
        inner *= y->shape[d];
    char *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int k = 0; k < node->n_inputs; k++) {
            int64_t block = in[k]->shape[axis] * inner;
            if (block == 0)
                continue;
            memcpy(dst, (const char *)in[k]->data + o * block, (size_t)block);
            dst += block;
        }
    return 0;
}

static const onnx_op_t onnx_op_concat = {
    "Concat", 1, ONNX_MAX_NODE_INPUTS, 1, 1, concat_prepare, concat_shape, concat_run};

/* ==== Split ==== */

typedef struct {
    int64_t axis;
    int n_split; /* -1: no split attribute */
    int64_t split[ONNX_MAX_NODE_OUTPUTS];
    int64_t num_outputs; /* opset 18's attribute, 0 when absent */
} split_params_t;

static int split_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    split_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->axis = onnx_attr_int(proto, "axis", 0);
    p->n_split = onnx_attr_ints(proto, "split", p->split, ONNX_MAX_NODE_OUTPUTS);
    p->num_outputs = onnx_attr_int(proto, "num_outputs", 0);
    if (p->n_split >= 0 && p->n_split != node->n_outputs)
        return inferd_fail(err, INFERD_EMODEL, "split has %d sizes for %d outputs", p->n_split,
                           node->n_outputs);
    if (p->num_outputs != 0 && p->num_outputs != node->n_outputs)
        return inferd_fail(err, INFERD_EMODEL, "num_outputs is %lld but the node has %d outputs",
                           (long long)p->num_outputs, node->n_outputs);
    return 0;
}

/* The size of each output along the axis into `sizes` (node->n_outputs of them) and the axis.
 * Returns 0 or INFERD_EINVAL. */
static int split_sizes(const onnx_node_t *node, const inferd_tensor_t *const *in, int64_t *sizes,
                       int *axis_out, inferd_err_t *err)
{
    const split_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    int n_out = node->n_outputs;
    int axis = onnx_axis(p->axis, x->ndim, 0);
    if (axis < 0)
        return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range for rank %d",
                           (long long)p->axis, x->ndim);
    int64_t dim = x->shape[axis];
    int n = p->n_split;
    if (n >= 0) {
        memcpy(sizes, p->split, (size_t)n * sizeof(int64_t));
    } else if (node->n_inputs > 1 && in[1] != NULL && inferd_tensor_count(in[1]) > 0) {
        n = onnx_read_ints(in[1], sizes, ONNX_MAX_NODE_OUTPUTS, "split", err);
        if (n < 0)
            return INFERD_EINVAL;
        if (n != n_out)
            return inferd_fail(err, INFERD_EINVAL, "split has %d sizes for %d outputs", n, n_out);
    } else if (dim % n_out == 0) {
        for (int k = 0; k < n_out; k++)
            sizes[k] = dim / n_out;
        n = n_out;
    } else if (node->opset >= 18) { /* ceil-sized parts, the last one smaller */
        int64_t part = dim / n_out + 1, left = dim;
        for (int k = 0; k < n_out; k++) {
            sizes[k] = left < part ? left : part;
            left -= sizes[k];
        }
        n = n_out;
    } else {
        return inferd_fail(err, INFERD_EINVAL, "dimension %lld does not split into %d equal parts",
                           (long long)dim, n_out);
    }
    int64_t total = 0;
    for (int k = 0; k < n; k++) {
        if (sizes[k] < 0 || sizes[k] > dim)
            return inferd_fail(err, INFERD_EINVAL, "split size %lld is out of range",
                               (long long)sizes[k]);
        total += sizes[k]; /* each at most dim < 2^62, at most 64: no overflow */
    }
    if (total != dim)
        return inferd_fail(err, INFERD_EINVAL, "split sizes add up to %lld, not the axis's %lld",
                           (long long)total, (long long)dim);
    *axis_out = axis;
    return 0;
}

static int split_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, inferd_err_t *err)
{
    int64_t sizes[ONNX_MAX_NODE_OUTPUTS];
    int axis = 0;
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0 || (rc = split_sizes(node, in, sizes, &axis, err)) != 0)
        return rc;
    for (int k = 0; k < node->n_outputs; k++) {
        onnx_set_shape(&out[k], in[0]->dtype, in[0]->shape, in[0]->ndim);
        out[k].shape[axis] = sizes[k];
    }
    return 0;
}

static int split_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0];
    int64_t sizes[ONNX_MAX_NODE_OUTPUTS];
    int axis = 0;
    int rc = split_sizes(node, in, sizes, &axis, err);
    if (rc != 0)
        return rc;
    int64_t outer = 1, inner = (int64_t)inferd_dtype_size(x->dtype);
    for (int d = 0; d < axis; d++)
        outer *= x->shape[d];
    for (int d = axis + 1; d < x->ndim; d++)
        inner *= x->shape[d];
    const char *src = x->data;
    for (int64_t o = 0; o < outer; o++)
        for (int k = 0; k < node->n_outputs; k++) {
            int64_t block = sizes[k] * inner;
            if (block == 0)
                continue;
            memcpy((char *)out[k].data + o * block, src, (size_t)block);
            src += block;
        }
    return 0;
}

static const onnx_op_t onnx_op_split = {
    "Split", 1, 2, 1, ONNX_MAX_NODE_OUTPUTS, split_prepare, split_shape, split_run};

/* ==== DepthToSpace, SpaceToDepth ==== */

typedef struct {
    int64_t blocksize;
    bool is_crd; /* DepthToSpace's CRD mode (column, row, depth); DCR otherwise */
} block_params_t;

static int block_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    block_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->blocksize = onnx_attr_int(proto, "blocksize", 0);
    if (p->blocksize <= 0 || p->blocksize > 65536)
        return inferd_fail(err, INFERD_EMODEL, "blocksize %lld is invalid",
                           (long long)p->blocksize);
    const char *mode = onnx_attr_string(proto, "mode", "DCR");
    if (strcmp(mode, "DCR") != 0 && strcmp(mode, "CRD") != 0)
        return inferd_fail(err, INFERD_EMODEL, "mode '%s' is unknown (DCR, CRD are)", mode);
    p->is_crd = strcmp(mode, "CRD") == 0;
    return 0;
}

static int depth_to_space_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                                inferd_tensor_t *out, inferd_err_t *err)
{
    const block_params_t *p = node->params;
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *x = in[0];
    int64_t b = p->blocksize;
    if (x->ndim != 4)
        return inferd_fail(err, INFERD_EINVAL, "the input must be 4-D (N,C,H,W), not rank %d",
                           x->ndim);
    if (x->shape[1] % (b * b) != 0)
        return inferd_fail(err, INFERD_EINVAL, "channels %lld are not a multiple of %lld",
                           (long long)x->shape[1], (long long)(b * b));
    if (x->shape[2] > INT64_MAX / b || x->shape[3] > INT64_MAX / b)
        return inferd_fail(err, INFERD_EINVAL, "the output is too large");
    int64_t shape[4] = {x->shape[0], x->shape[1] / (b * b), x->shape[2] * b, x->shape[3] * b};
    if (inferd_shape_count(shape, 4) < 0)
        return inferd_fail(err, INFERD_EINVAL, "the output is too large");
    onnx_set_shape(&out[0], x->dtype, shape, 4);
    return 0;
}

/* Both ops are a 6-D transpose: the output is viewed as 6-D and each of its dimensions read from
 * one dimension of the input's 6-D view (`perm`). */
static void block_transpose(const inferd_tensor_t *x, inferd_tensor_t *y, const int64_t *in_view,
                            const int64_t *out_view, const int *perm)
{
    int64_t in_strides[6], src_strides[6];
    onnx_strides(in_view, 6, in_strides);
    for (int d = 0; d < 6; d++)
        src_strides[d] = in_strides[perm[d]];
    transform_copy_to_dense(y->data, x->data, src_strides, out_view, 6,
                            inferd_dtype_size(x->dtype));
}

static int depth_to_space_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                              inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const block_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    int64_t b = p->blocksize, n = x->shape[0], c = x->shape[1] / (b * b), h = x->shape[2],
            w = x->shape[3];
    int64_t out_view[6] = {n, c, h, b, w, b};
    if (p->is_crd) { /* input [n, c, b1, b2, h, w] */
        int64_t in_view[6] = {n, c, b, b, h, w};
        block_transpose(x, &out[0], in_view, out_view, (int[]){0, 1, 4, 2, 5, 3});
    } else { /* input [n, b1, b2, c, h, w] */
        int64_t in_view[6] = {n, b, b, c, h, w};
        block_transpose(x, &out[0], in_view, out_view, (int[]){0, 3, 4, 1, 5, 2});
    }
    return 0;
}

static const onnx_op_t onnx_op_depth_to_space = {
    "DepthToSpace", 1, 1, 1, 1, block_prepare, depth_to_space_shape, depth_to_space_run};

static int space_to_depth_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                                inferd_tensor_t *out, inferd_err_t *err)
{
    const block_params_t *p = node->params;
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *x = in[0];
    int64_t b = p->blocksize;
    if (x->ndim != 4)
        return inferd_fail(err, INFERD_EINVAL, "the input must be 4-D (N,C,H,W), not rank %d",
                           x->ndim);
    if (x->shape[1] > INT64_MAX / (b * b))
        return inferd_fail(err, INFERD_EINVAL, "the output is too large");
    if (x->shape[2] % b != 0 || x->shape[3] % b != 0)
        return inferd_fail(err, INFERD_EINVAL,
                           "height %lld and width %lld must be multiples of %lld",
                           (long long)x->shape[2], (long long)x->shape[3], (long long)b);
    int64_t shape[4] = {x->shape[0], x->shape[1] * b * b, x->shape[2] / b, x->shape[3] / b};
    if (inferd_shape_count(shape, 4) < 0)
        return inferd_fail(err, INFERD_EINVAL, "the output is too large");
    onnx_set_shape(&out[0], x->dtype, shape, 4);
    return 0;
}

static int space_to_depth_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                              inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const block_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    int64_t b = p->blocksize, n = x->shape[0], c = x->shape[1], h = x->shape[2] / b,
            w = x->shape[3] / b;
    int64_t in_view[6] = {n, c, h, b, w, b}, out_view[6] = {n, b, b, c, h, w};
    block_transpose(x, &out[0], in_view, out_view, (int[]){0, 3, 5, 1, 2, 4});
    return 0;
}

static const onnx_op_t onnx_op_space_to_depth = {
    "SpaceToDepth", 1, 1, 1, 1, block_prepare, space_to_depth_shape, space_to_depth_run};

const onnx_op_t *const onnx_ops_transform[] = {
    &onnx_op_transpose,
    &onnx_op_squeeze,
    &onnx_op_unsqueeze,
    &onnx_op_concat,
    &onnx_op_split,
    &onnx_op_slice,
    &onnx_op_expand,
    &onnx_op_tile,
    &onnx_op_pad,
    &onnx_op_depth_to_space,
    &onnx_op_space_to_depth,
    &onnx_op_trilu,
    NULL,
};
