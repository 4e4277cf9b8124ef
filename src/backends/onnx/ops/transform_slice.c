/* The transform ops that read index inputs: Slice, Expand, Tile and Pad, whose output shape
 * comes from input data, and Trilu, whose diagonal does. Each reads its index inputs (starts,
 * shape, repeats, pads, k) in shape() and again in run(), through one planning function, so the
 * two always agree. Any datatype; transform.c lists them. */
#include "transform.h"

#include <stdlib.h>
#include <string.h>

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ==== Slice ==== */

/* Opset < 10 gives starts, ends and axes as attributes; later opsets as inputs. */
typedef struct {
    int n_starts, n_ends, n_axes; /* -1: attribute absent */
    int64_t starts[INFERD_MAX_DIMS], ends[INFERD_MAX_DIMS], axes[INFERD_MAX_DIMS];
} slice_params_t;

/* Where the slice begins, its step and its length along each dimension of the input. */
typedef struct {
    int64_t start[INFERD_MAX_DIMS], step[INFERD_MAX_DIMS], count[INFERD_MAX_DIMS];
} slice_plan_t;

static int slice_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    slice_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    if (node->opset >= 10) {
        if (node->n_inputs < 3)
            return inferd_fail(err, INFERD_EMODEL, "Slice needs the starts and ends inputs");
        return 0;
    }
    p->n_starts = onnx_attr_ints(proto, "starts", p->starts, INFERD_MAX_DIMS);
    p->n_ends = onnx_attr_ints(proto, "ends", p->ends, INFERD_MAX_DIMS);
    p->n_axes = onnx_attr_ints(proto, "axes", p->axes, INFERD_MAX_DIMS);
    if (p->n_starts < 0 || p->n_ends < 0)
        return inferd_fail(err, INFERD_EMODEL, "Slice needs the starts and ends attributes");
    if (p->n_starts > INFERD_MAX_DIMS || p->n_ends != p->n_starts ||
        (p->n_axes >= 0 && p->n_axes != p->n_starts))
        return inferd_fail(err, INFERD_EMODEL,
                           "starts, ends and axes must have the same length, at most %d",
                           INFERD_MAX_DIMS);
    return 0;
}

/* Reads optional index input `k` into `values`; returns its count, -1 when absent, or -2 after
 * an error. */
static int read_optional_ints(const onnx_node_t *node, const inferd_tensor_t *const *in, int k,
                              int64_t *values, int max, const char *what, inferd_err_t *err)
{
    if (node->n_inputs <= k || in[k] == NULL)
        return -1;
    int n = onnx_read_ints(in[k], values, max, what, err);
    return n < 0 ? -2 : n;
}

/* The effective start, step and count of every input dimension, clamped as the ONNX spec says.
 * Returns 0 or INFERD_EINVAL. */
static int slice_plan(const onnx_node_t *node, const inferd_tensor_t *const *in, slice_plan_t *plan,
                      inferd_err_t *err)
{
    const slice_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    int64_t starts[INFERD_MAX_DIMS], ends[INFERD_MAX_DIMS], axes[INFERD_MAX_DIMS],
        steps[INFERD_MAX_DIMS];
    int n, n_ends, n_axes, n_steps = -1;
    if (node->opset < 10) {
        n = p->n_starts;
        n_ends = p->n_ends;
        n_axes = p->n_axes;
        memcpy(starts, p->starts, sizeof(starts));
        memcpy(ends, p->ends, sizeof(ends));
        memcpy(axes, p->axes, sizeof(axes));
    } else {
        if ((n = read_optional_ints(node, in, 1, starts, INFERD_MAX_DIMS, "starts", err)) == -2 ||
            (n_ends = read_optional_ints(node, in, 2, ends, INFERD_MAX_DIMS, "ends", err)) == -2 ||
            (n_axes = read_optional_ints(node, in, 3, axes, INFERD_MAX_DIMS, "axes", err)) == -2 ||
            (n_steps = read_optional_ints(node, in, 4, steps, INFERD_MAX_DIMS, "steps", err)) == -2)
            return INFERD_EINVAL;
        if (n < 0 || n_ends < 0)
            return inferd_fail(err, INFERD_EINVAL, "starts and ends are required");
    }
    if (n_ends != n || (n_axes >= 0 && n_axes != n) || (n_steps >= 0 && n_steps != n))
        return inferd_fail(err, INFERD_EINVAL, "starts, ends, axes and steps differ in length");
    for (int d = 0; d < x->ndim; d++) {
        plan->start[d] = 0;
        plan->step[d] = 1;
        plan->count[d] = x->shape[d];
    }
    bool is_seen[INFERD_MAX_DIMS] = {false};
    for (int i = 0; i < n; i++) {
        int64_t axis_value = n_axes >= 0 ? axes[i] : i;
        int axis = onnx_axis(axis_value, x->ndim, 0);
        if (axis < 0)
            return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range for rank %d",
                               (long long)axis_value, x->ndim);
        if (is_seen[axis])
            return inferd_fail(err, INFERD_EINVAL, "axis %lld is repeated", (long long)axis_value);
        is_seen[axis] = true;
        int64_t step = n_steps >= 0 ? steps[i] : 1, dim = x->shape[axis];
        if (step == 0)
            return inferd_fail(err, INFERD_EINVAL, "step 0 on axis %d", axis);
        int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i];
        int64_t end = ends[i] < 0 ? ends[i] + dim : ends[i];
        int64_t count;
        if (step > 0) {
            start = clamp64(start, 0, dim);
            end = clamp64(end, 0, dim);
            count = end > start ? (int64_t)((uint64_t)(end - start - 1) / (uint64_t)step) + 1 : 0;
        } else {
            start = clamp64(start, 0, dim - 1);
            end = clamp64(end, -1, dim - 1);
            uint64_t magnitude = step == INT64_MIN ? (uint64_t)1 << 63 : (uint64_t)-step;
            count = start > end ? (int64_t)((uint64_t)(start - end - 1) / magnitude) + 1 : 0;
        }
        plan->start[axis] = count > 0 ? start : 0;
        plan->step[axis] = count > 1 ? step : 1; /* |step| < dim here: no stride overflow */
        plan->count[axis] = count;
    }
    return 0;
}

static int slice_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, inferd_err_t *err)
{
    slice_plan_t plan;
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0 || (rc = slice_plan(node, in, &plan, err)) != 0)
        return rc;
    onnx_set_shape(&out[0], in[0]->dtype, plan.count, in[0]->ndim);
    return 0;
}

static int slice_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0];
    slice_plan_t plan;
    int rc = slice_plan(node, in, &plan, err);
    if (rc != 0 || inferd_tensor_count(&out[0]) == 0)
        return rc;
    int64_t in_strides[INFERD_MAX_DIMS], src_strides[INFERD_MAX_DIMS], offset = 0;
    onnx_strides(x->shape, x->ndim, in_strides);
    for (int d = 0; d < x->ndim; d++) {
        offset += plan.start[d] * in_strides[d];
        src_strides[d] = plan.step[d] * in_strides[d];
    }
    size_t elem = inferd_dtype_size(x->dtype);
    transform_copy_to_dense(out[0].data, (const char *)x->data + offset * (int64_t)elem,
                            src_strides, plan.count, x->ndim, elem);
    return 0;
}

const onnx_op_t onnx_op_slice = {"Slice", 1, 5, 1, 1, slice_prepare, slice_shape, slice_run};

/* ==== Expand ==== */

/* The shape `x` broadcast with the shape input (numpy rules, both ways). */
static int expand_plan(const inferd_tensor_t *const *in, int64_t *shape, int *ndim,
                       inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0];
    int64_t want[INFERD_MAX_DIMS];
    int n = onnx_read_ints(in[1], want, INFERD_MAX_DIMS, "shape", err);
    if (n < 0)
        return INFERD_EINVAL;
    int rank = n > x->ndim ? n : x->ndim;
    for (int d = 0; d < rank; d++) {
        int dx = d - (rank - x->ndim), dw = d - (rank - n);
        int64_t a = dx >= 0 ? x->shape[dx] : 1, b = dw >= 0 ? want[dw] : 1;
        if (b < 0)
            return inferd_fail(err, INFERD_EINVAL, "the shape holds %lld", (long long)b);
        if (a != b && a != 1 && b != 1) {
            char have_text[128], want_text[128];
            return inferd_fail(err, INFERD_EINVAL, "input shape %s does not broadcast to %s",
                               inferd_shape_str(x->shape, x->ndim, have_text, sizeof(have_text)),
                               inferd_shape_str(want, n, want_text, sizeof(want_text)));
        }
        shape[d] = a == 1 ? b : a;
    }
    *ndim = rank;
    return transform_check_output(shape, rank, x->dtype, "Expand", err);
}

static int expand_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, inferd_err_t *err)
{
    int64_t shape[INFERD_MAX_DIMS];
    int ndim = 0;
    int rc = onnx_require_inputs(node, in, 2, err);
    if (rc != 0 || (rc = expand_plan(in, shape, &ndim, err)) != 0)
        return rc;
    onnx_set_shape(&out[0], in[0]->dtype, shape, ndim);
    return 0;
}

static int expand_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const inferd_tensor_t *y = &out[0];
    int64_t strides[INFERD_MAX_DIMS];
    onnx_broadcast_strides(in[0], y->ndim, y->shape, strides);
    transform_copy_to_dense(y->data, in[0]->data, strides, y->shape, y->ndim,
                            inferd_dtype_size(y->dtype));
    return 0;
}

const onnx_op_t onnx_op_expand = {"Expand", 2, 2, 1, 1, NULL, expand_shape, expand_run};

/* ==== Tile ==== */

static int tile_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_require_inputs(node, in, 2, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *x = in[0];
    int64_t repeats[INFERD_MAX_DIMS], shape[INFERD_MAX_DIMS];
    int n = onnx_read_ints(in[1], repeats, INFERD_MAX_DIMS, "repeats", err);
    if (n < 0)
        return INFERD_EINVAL;
    if (n != x->ndim)
        return inferd_fail(err, INFERD_EINVAL, "repeats has %d values for an input of rank %d", n,
                           x->ndim);
    for (int d = 0; d < n; d++) {
        if (repeats[d] < 0)
            return inferd_fail(err, INFERD_EINVAL, "repeats holds %lld", (long long)repeats[d]);
        if (x->shape[d] != 0 && repeats[d] > INT64_MAX / x->shape[d])
            return inferd_fail(err, INFERD_EINVAL, "the output is too large");
        shape[d] = x->shape[d] * repeats[d];
    }
    if ((rc = transform_check_output(shape, n, x->dtype, "Tile", err)) != 0)
        return rc;
    onnx_set_shape(&out[0], x->dtype, shape, n);
    return 0;
}

/* The output viewed as [repeats[0], dim[0], repeats[1], dim[1], ...], reading the input with
 * stride 0 along each repeat dimension. */
static int tile_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                    onnx_scratch_t *scratch, inferd_err_t *err)
{
    const inferd_tensor_t *x = in[0];
    int64_t in_strides[INFERD_MAX_DIMS], view[TRANSFORM_MAX_VIEW_DIMS],
        strides[TRANSFORM_MAX_VIEW_DIMS];
    onnx_strides(x->shape, x->ndim, in_strides);
    if (inferd_tensor_count(&out[0]) == 0)
        return 0;
    for (int d = 0; d < x->ndim; d++) {
        view[2 * d] = out[0].shape[d] / x->shape[d];
        view[2 * d + 1] = x->shape[d];
        strides[2 * d] = 0;
        strides[2 * d + 1] = in_strides[d];
    }
    transform_copy_to_dense(out[0].data, x->data, strides, view, 2 * x->ndim,
                            inferd_dtype_size(x->dtype));
    return 0;
}

const onnx_op_t onnx_op_tile = {"Tile", 2, 2, 1, 1, NULL, tile_shape, tile_run};

/* ==== Pad ==== */

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE } pad_mode_t;

typedef struct {
    pad_mode_t mode;
    int n_pads; /* opset < 11: the pads attribute */
    int64_t pads[2 * INFERD_MAX_DIMS];
    float value; /* opset < 11: the value attribute */
} pad_params_t;

/* Pads of each dimension (negative crops) and the constant's bytes. */
typedef struct {
    int64_t begin[INFERD_MAX_DIMS], end[INFERD_MAX_DIMS];
    uint64_t constant; /* one element of the data's type, zero-extended */
} pad_plan_t;

static int pad_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    pad_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    const char *mode = onnx_attr_string(proto, "mode", "constant");
    if (strcmp(mode, "constant") == 0)
        p->mode = PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        p->mode = PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        p->mode = PAD_EDGE;
    else
        return inferd_fail(err, INFERD_EMODEL,
                           "mode '%s' is unsupported (constant, reflect, edge are)", mode);
    if (node->opset >= 11) {
        if (node->n_inputs < 2)
            return inferd_fail(err, INFERD_EMODEL, "Pad needs the pads input");
        return 0;
    }
    p->n_pads = onnx_attr_ints(proto, "pads", p->pads, 2 * INFERD_MAX_DIMS);
    if (p->n_pads < 0)
        return inferd_fail(err, INFERD_EMODEL, "Pad needs the pads attribute");
    if (p->n_pads > 2 * INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EMODEL, "pads has %d values; at most %d are supported",
                           p->n_pads, 2 * INFERD_MAX_DIMS);
    p->value = onnx_attr_float(proto, "value", 0.0f);
    return 0;
}

/* The pads of every dimension, the constant and the output shape. Returns 0 or INFERD_EINVAL. */
static int pad_plan(const onnx_node_t *node, const inferd_tensor_t *const *in, pad_plan_t *plan,
                    int64_t *shape, inferd_err_t *err)
{
    const pad_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    int r = x->ndim;
    int64_t pads[2 * INFERD_MAX_DIMS], axes[INFERD_MAX_DIMS];
    int n_pads, n_axes = -1;
    memset(plan, 0, sizeof(*plan));
    if (node->opset < 11) {
        n_pads = p->n_pads;
        memcpy(pads, p->pads, sizeof(pads));
        inferd_tensor_t constant = {.dtype = x->dtype, .data = &plan->constant};
        onnx_set_f64(&constant, 0, p->value);
    } else {
        n_pads = onnx_read_ints(in[1], pads, 2 * INFERD_MAX_DIMS, "pads", err);
        if (n_pads < 0)
            return INFERD_EINVAL;
        if (node->n_inputs > 2 && in[2] != NULL && inferd_tensor_count(in[2]) > 0) {
            if (in[2]->dtype != x->dtype)
                return inferd_fail(err, INFERD_EINVAL, "constant_value is %s, the data %s",
                                   inferd_dtype_name(in[2]->dtype), inferd_dtype_name(x->dtype));
            memcpy(&plan->constant, in[2]->data, inferd_dtype_size(x->dtype));
        }
        if (node->n_inputs > 3 && in[3] != NULL) {
            n_axes = onnx_read_ints(in[3], axes, INFERD_MAX_DIMS, "axes", err);
            if (n_axes < 0)
                return INFERD_EINVAL;
        }
    }
    int n = n_axes >= 0 ? n_axes : r;
    if (n_pads != 2 * n)
        return inferd_fail(err, INFERD_EINVAL, "pads has %d values; %d are needed", n_pads, 2 * n);
    bool is_seen[INFERD_MAX_DIMS] = {false};
    for (int i = 0; i < n; i++) {
        int axis = n_axes >= 0 ? onnx_axis(axes[i], r, 0) : i;
        if (axis < 0 || is_seen[axis])
            return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range or repeated",
                               (long long)axes[i]);
        is_seen[axis] = true;
        plan->begin[axis] = pads[i];
        plan->end[axis] = pads[i + n];
    }
    const int64_t limit = (int64_t)1 << 62;
    for (int d = 0; d < r; d++) {
        int64_t b = plan->begin[d], e = plan->end[d], dim = x->shape[d];
        if (b < -limit || b > limit || e < -limit || e > limit || dim + b + e < 0)
            return inferd_fail(err, INFERD_EINVAL, "pads %lld and %lld do not fit dimension %lld",
                               (long long)b, (long long)e, (long long)dim);
        shape[d] = dim + b + e;
        if (dim == 0 && shape[d] > 0 && p->mode != PAD_CONSTANT)
            return inferd_fail(err, INFERD_EINVAL, "cannot pad an empty dimension in %s mode",
                               p->mode == PAD_EDGE ? "edge" : "reflect");
    }
    return transform_check_output(shape, r, x->dtype, "Pad", err);
}

static int pad_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, inferd_err_t *err)
{
    pad_plan_t plan;
    int64_t shape[INFERD_MAX_DIMS];
    int rc = onnx_require_inputs(node, in, node->opset >= 11 ? 2 : 1, err);
    if (rc != 0 || (rc = pad_plan(node, in, &plan, shape, err)) != 0)
        return rc;
    onnx_set_shape(&out[0], in[0]->dtype, shape, in[0]->ndim);
    return 0;
}

/* The input index output index `o` reads along a dimension of size `dim` padded by `begin` in
 * front, or -1 for the constant. */
static int64_t pad_source(int64_t o, int64_t begin, int64_t dim, pad_mode_t mode)
{
    int64_t i = o - begin;
    if (i >= 0 && i < dim)
        return i;
    if (mode == PAD_CONSTANT)
        return -1;
    if (mode == PAD_EDGE)
        return i < 0 ? 0 : dim - 1;
    if (dim == 1)
        return 0;
    int64_t period = 2 * (dim - 1); /* reflect: ... 1 0 1 2 ... dim-1 dim-2 ... 0 1 ... */
    i %= period;
    if (i < 0)
        i += period;
    return i < dim ? i : period - i;
}

/* Writes `n` copies of the `elem`-byte value at `value` (zero-extended in a uint64_t). */
static void fill_elements(char *dst, int64_t n, const uint64_t *value, size_t elem)
{
    if (*value == 0) {
        memset(dst, 0, (size_t)n * elem);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        memcpy(dst + i * (int64_t)elem, value, elem);
}

/* Each output row (last dimension) is the constant when an outer index falls in the padding;
 * otherwise its padded ends element by element and its middle with one memcpy. */
static int pad_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                   onnx_scratch_t *scratch, inferd_err_t *err)
{
    const pad_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    inferd_tensor_t *y = &out[0];
    pad_plan_t plan;
    int64_t shape[INFERD_MAX_DIMS];
    int rc = pad_plan(node, in, &plan, shape, err);
    if (rc != 0 || inferd_tensor_count(y) == 0)
        return rc;
    size_t elem = inferd_dtype_size(x->dtype);
    int r = x->ndim;
    if (r == 0) {
        memcpy(y->data, x->data, elem);
        return 0;
    }
    int64_t strides[INFERD_MAX_DIMS];
    onnx_strides(x->shape, r, strides);
    int64_t width = y->shape[r - 1], dim = x->shape[r - 1], begin = plan.begin[r - 1];
    int64_t middle_lo = clamp64(begin, 0, width), middle_hi = clamp64(begin + dim, 0, width);
    if (middle_hi < middle_lo)
        middle_hi = middle_lo;
    int64_t rows = inferd_tensor_count(y) / width;
    int64_t index[INFERD_MAX_DIMS] = {0};
    const char *src = x->data;
    char *dst = y->data;
    for (int64_t row = 0; row < rows; row++, dst += width * (int64_t)elem) {
        int64_t offset = 0;
        bool is_inside = true;
        for (int d = 0; d < r - 1 && is_inside; d++) {
            int64_t i = pad_source(index[d], plan.begin[d], x->shape[d], p->mode);
            is_inside = i >= 0;
            offset += i * strides[d];
        }
        if (!is_inside) {
            fill_elements(dst, width, &plan.constant, elem);
        } else {
            const char *line = src + offset * (int64_t)elem;
            for (int64_t o = 0; o < width; o++) {
                if (o == middle_lo && middle_hi > middle_lo) {
                    memcpy(dst + o * (int64_t)elem, line + (o - begin) * (int64_t)elem,
                           (size_t)(middle_hi - middle_lo) * elem);
                    o = middle_hi - 1;
                    continue;
                }
                int64_t i = pad_source(o, begin, dim, p->mode);
                memcpy(dst + o * (int64_t)elem,
                       i >= 0 ? line + i * (int64_t)elem : (const char *)&plan.constant, elem);
            }
        }
        for (int d = r - 2; d >= 0; d--) {
            if (++index[d] < y->shape[d])
                break;
            index[d] = 0;
        }
    }
    return 0;
}

const onnx_op_t onnx_op_pad = {"Pad", 1, 4, 1, 1, pad_prepare, pad_shape, pad_run};

/* ==== Trilu ==== */

/* Trilu keeps the upper (upper = 1, the default) or lower triangle of each matrix in the last
 * two dimensions, counted from diagonal k (input 2, default 0), and zeroes the rest: element
 * (i, j) stays when j - i >= k (upper) or j - i <= k (lower). Any fixed-size type. */
typedef struct {
    bool is_upper;
} trilu_params_t;

static int trilu_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    trilu_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->is_upper = onnx_attr_int(proto, "upper", 1) != 0;
    return 0;
}

/* The diagonal k: input 2 when given (one INT64 value), else 0. */
static int trilu_diagonal(const inferd_tensor_t *const *in, int n_inputs, int64_t *k,
                          inferd_err_t *err)
{
    *k = 0;
    if (n_inputs < 2 || in[1] == NULL)
        return 0;
    if (onnx_read_ints(in[1], k, 1, "k", err) != 1)
        return inferd_fail(err, INFERD_EINVAL, "Trilu: k must be one INT64 value");
    return 0;
}

static int trilu_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, inferd_err_t *err)
{
    int64_t k;
    int rc = onnx_require_inputs(node, in, 1, err);
    if (rc != 0 || (rc = trilu_diagonal(in, node->n_inputs, &k, err)) != 0)
        return rc;
    if (in[0]->ndim < 2)
        return inferd_fail(err, INFERD_EINVAL, "Trilu: the input has rank %d; it needs at least 2",
                           in[0]->ndim);
    if (in[0]->dtype == INFERD_DT_BYTES)
        return onnx_fail_dtype(err, in[0], "any numeric type or BOOL");
    onnx_set_shape(&out[0], in[0]->dtype, in[0]->shape, in[0]->ndim);
    return 0;
}

static int trilu_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const trilu_params_t *p = node->params;
    int64_t k;
    int rc = trilu_diagonal(in, node->n_inputs, &k, err);
    if (rc != 0)
        return rc;
    const inferd_tensor_t *x = in[0];
    size_t elem = inferd_dtype_size(x->dtype);
    int64_t rows = x->shape[x->ndim - 2], cols = x->shape[x->ndim - 1];
    int64_t count = inferd_tensor_count(x), matrices = rows * cols > 0 ? count / (rows * cols) : 0;
    /* a diagonal beyond the matrix keeps or zeroes everything: clamp it so i + k cannot wrap */
    int64_t bound = rows + cols;
    k = k < -bound ? -bound : k > bound ? bound : k;
    const char *src = x->data;
    char *dst = out[0].data;
    size_t row_bytes = (size_t)cols * elem;
    for (int64_t m = 0; m < matrices; m++)
        for (int64_t i = 0; i < rows; i++, src += row_bytes, dst += row_bytes) {
            memcpy(dst, src, row_bytes);
            /* upper zeroes columns [0, i + k); lower zeroes columns [i + k + 1, cols) */
            int64_t lo = p->is_upper ? 0 : i + k + 1, hi = p->is_upper ? i + k : cols;
            lo = lo < 0 ? 0 : lo > cols ? cols : lo;
            hi = hi < 0 ? 0 : hi > cols ? cols : hi;
            if (hi > lo)
                memset(dst + (size_t)lo * elem, 0, (size_t)(hi - lo) * elem);
        }
    return 0;
}

const onnx_op_t onnx_op_trilu = {"Trilu", 1, 2, 1, 1, trilu_prepare, trilu_shape, trilu_run};
