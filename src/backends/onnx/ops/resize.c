/* Resize (opsets 10 to 18: scales or sizes, roi, nearest/linear/cubic interpolation, every
 * coordinate transformation mode of those opsets) and the older Upsample (opsets 7 to 9). Each
 * output coordinate is mapped to the input axis by axis into a few weighted taps; an output
 * value is the weighted sum over the product of its axes' taps (N-linear, N-cubic), or a copy of
 * one element for nearest. Not supported: antialias and keep_aspect_ratio_policy (opset 18). */
#include "ops.h"

#include <math.h>
#include <string.h>

/* Output dimensions above this are refused before any arithmetic on them. */
#define RESIZE_DIM_LIMIT ((int64_t)1 << 40)

typedef enum { RESIZE_NEAREST, RESIZE_LINEAR, RESIZE_CUBIC } resize_mode_t;

typedef enum {
    COORD_HALF_PIXEL,
    COORD_PYTORCH_HALF_PIXEL,
    COORD_ALIGN_CORNERS,
    COORD_ASYMMETRIC,
    COORD_TF_HALF_PIXEL_FOR_NN,
    COORD_TF_CROP_AND_RESIZE,
} coord_mode_t;

typedef enum { ROUND_PREFER_FLOOR, ROUND_PREFER_CEIL, ROUND_FLOOR, ROUND_CEIL } nearest_mode_t;

typedef struct {
    resize_mode_t mode;
    coord_mode_t coord;
    nearest_mode_t nearest;
    float cubic_a;
    bool excludes_outside;
    float extrapolation_value;
    bool has_scales_input, has_roi_input; /* where inputs sit: Resize-11+, Resize-10/Upsample-9 */
    int n_attr_scales;                    /* Upsample-7's scales attribute, or -1 */
    float attr_scales[INFERD_MAX_DIMS];
    int n_axes; /* opset 18's axes, or -1 for all */
    int64_t axes[INFERD_MAX_DIMS];
} resize_params_t;

/* The geometry of one Resize, per axis. */
typedef struct {
    int rank;
    int64_t in[INFERD_MAX_DIMS], out[INFERD_MAX_DIMS];
    double scale[INFERD_MAX_DIMS];  /* output length / input length, as the coordinates use it */
    double length[INFERD_MAX_DIMS]; /* the output length before flooring (input length * scale) */
    double roi_start[INFERD_MAX_DIMS], roi_end[INFERD_MAX_DIMS];
} resize_plan_t;

/* The input positions (as element offsets along the axis: index * stride) and weights one output
 * coordinate reads; n == 0 when it falls outside the crop (tf_crop_and_resize). */
typedef struct {
    int64_t offset[4];
    double weight[4];
    int n;
} resize_taps_t;

/* ==== attributes ==== */

static int parse_choice(const char *value, const char *const *names, int n, const char *what,
                        const char *op, int *choice, inferd_err_t *err)
{
    for (int i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0) {
            *choice = i;
            return 0;
        }
    return inferd_fail(err, INFERD_EMODEL, "%s: %s '%s' is not supported", op, what, value);
}

static int resize_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel",           "pytorch_half_pixel",
                                         "align_corners",        "asymmetric",
                                         "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                           "ceil"};
    resize_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->n_attr_scales = p->n_axes = -1;
    const char *op = node->op->op_type;
    bool is_legacy = strcmp(op, "Upsample") == 0 || node->opset < 11;
    int choice = 0;
    const char *mode = onnx_attr_string(proto, "mode", "nearest");
    if (is_legacy && strcmp(mode, "bilinear") == 0)
        mode = "linear";
    int rc = parse_choice(mode, modes, is_legacy ? 2 : 3, "mode", op, &choice, err);
    p->mode = (resize_mode_t)choice;
    if (is_legacy) { /* x_original = x_resized / scale, nearest rounds down */
        p->coord = COORD_ASYMMETRIC;
        p->nearest = ROUND_FLOOR;
        p->has_scales_input = strcmp(op, "Resize") == 0 || node->opset >= 9;
        if (!p->has_scales_input) {
            const Onnx__AttributeProto *scales = onnx_attr(proto, "scales");
            if (scales == NULL || scales->n_floats > INFERD_MAX_DIMS)
                return inferd_fail(err, INFERD_EMODEL,
                                   "Upsample needs a scales attribute of at most %d values",
                                   INFERD_MAX_DIMS);
            p->n_attr_scales = (int)scales->n_floats;
            for (int i = 0; i < p->n_attr_scales; i++)
                p->attr_scales[i] = scales->floats[i];
        }
        return rc;
    }
    p->has_scales_input = p->has_roi_input = true;
    if (rc == 0)
        rc = parse_choice(onnx_attr_string(proto, "coordinate_transformation_mode", "half_pixel"),
                          coords, 6, "coordinate_transformation_mode", op, &choice, err);
    p->coord = (coord_mode_t)choice;
    if (rc == 0)
        rc = parse_choice(onnx_attr_string(proto, "nearest_mode", "round_prefer_floor"), nearests,
                          4, "nearest_mode", op, &choice, err);
    p->nearest = (nearest_mode_t)choice;
    if (rc != 0)
        return rc;
    p->cubic_a = onnx_attr_float(proto, "cubic_coeff_a", -0.75f);
    p->excludes_outside = onnx_attr_int(proto, "exclude_outside", 0) != 0;
    p->extrapolation_value = onnx_attr_float(proto, "extrapolation_value", 0.0f);
    if (onnx_attr_int(proto, "antialias", 0) != 0)
        return inferd_fail(err, INFERD_EMODEL, "Resize: antialias is not supported");
    const char *policy = onnx_attr_string(proto, "keep_aspect_ratio_policy", "stretch");
    if (strcmp(policy, "stretch") != 0)
        return inferd_fail(err, INFERD_EMODEL,
                           "Resize: keep_aspect_ratio_policy '%s' is not supported (only "
                           "stretch)",
                           policy);
    p->n_axes = onnx_attr_ints(proto, "axes", p->axes, INFERD_MAX_DIMS);
    if (p->n_axes > INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EMODEL, "Resize: axes has too many values");
    return 0;
}

/* ==== shape ==== */

/* An optional input that is present and not empty (opset 11 passes empty tensors for "none"). */
static const inferd_tensor_t *given_input(const onnx_node_t *node, const inferd_tensor_t *const *in,
                                          int k)
{
    if (node->n_inputs <= k || in[k] == NULL || inferd_tensor_count(in[k]) == 0)
        return NULL;
    return in[k];
}

/* Maps the `n` values of scales, sizes or roi (given for `axes`, or for all when n_axes < 0) to
 * the axis each applies to: axis_of[i]. Returns 0 or INFERD_EINVAL. */
static int map_axes(const resize_params_t *p, const char *op, int rank, int n, const char *what,
                    int *axis_of, inferd_err_t *err)
{
    int want = p->n_axes >= 0 ? p->n_axes : rank;
    if (n != want)
        return inferd_fail(err, INFERD_EINVAL, "%s: %s has %d values; %d expected", op, what, n,
                           want);
    bool seen[INFERD_MAX_DIMS] = {false};
    for (int i = 0; i < n; i++) {
        axis_of[i] = p->n_axes >= 0 ? onnx_axis(p->axes[i], rank, 0) : i;
        if (axis_of[i] < 0 || seen[axis_of[i]])
            return inferd_fail(err, INFERD_EINVAL, "%s: axes are out of range or repeated", op);
        seen[axis_of[i]] = true;
    }
    return 0;
}

static int resize_plan(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       resize_plan_t *plan, inferd_err_t *err)
{
    const resize_params_t *p = node->params;
    const char *op = node->op->op_type;
    const inferd_tensor_t *x = in[0];
    if (x->dtype == INFERD_DT_BOOL || x->dtype == INFERD_DT_BYTES ||
        inferd_dtype_size(x->dtype) == 0)
        return onnx_fail_dtype(err, x, "numeric types");
    if (x->ndim < 1)
        return inferd_fail(err, INFERD_EINVAL, "%s needs X of rank 1 or more", op);
    int rank = plan->rank = x->ndim;
    int k_scales = p->has_roi_input ? 2 : 1;
    const inferd_tensor_t *roi = p->has_roi_input ? given_input(node, in, 1) : NULL;
    const inferd_tensor_t *scales = p->has_scales_input ? given_input(node, in, k_scales) : NULL;
    const inferd_tensor_t *sizes = p->has_roi_input ? given_input(node, in, 3) : NULL;
    if (p->has_scales_input && (scales == NULL) == (sizes == NULL))
        return inferd_fail(err, INFERD_EINVAL, "%s needs exactly one of scales and sizes", op);
    int axis_of[INFERD_MAX_DIMS];
    for (int d = 0; d < rank; d++) {
        plan->in[d] = plan->out[d] = x->shape[d];
        plan->scale[d] = 1.0;
        plan->length[d] = (double)x->shape[d];
        plan->roi_start[d] = 0.0;
        plan->roi_end[d] = 1.0;
    }
    if (roi != NULL && p->coord == COORD_TF_CROP_AND_RESIZE) {
        int64_t n = inferd_tensor_count(roi);
        if (!onnx_is_float(roi->dtype) || n % 2 != 0 || n > 2 * INFERD_MAX_DIMS)
            return inferd_fail(err, INFERD_EINVAL, "Resize: roi must hold float starts and ends");
        int rc = map_axes(p, op, rank, (int)(n / 2), "roi", axis_of, err);
        for (int i = 0; rc == 0 && i < n / 2; i++) {
            plan->roi_start[axis_of[i]] = onnx_get_f64(roi, i);
            plan->roi_end[axis_of[i]] = onnx_get_f64(roi, n / 2 + i);
        }
        if (rc != 0)
            return rc;
    }
    if (sizes != NULL) {
        int64_t values[INFERD_MAX_DIMS];
        int n = onnx_read_ints(sizes, values, INFERD_MAX_DIMS, "Resize's sizes", err);
        if (n < 0)
            return INFERD_EINVAL;
        int rc = map_axes(p, op, rank, n, "sizes", axis_of, err);
        for (int i = 0; rc == 0 && i < n; i++) {
            int d = axis_of[i];
            if (values[i] < 0 || values[i] > RESIZE_DIM_LIMIT || (x->shape[d] == 0 && values[i]))
                return inferd_fail(err, INFERD_EINVAL, "Resize: size %lld is out of range",
                                   (long long)values[i]);
            plan->out[d] = values[i];
            plan->length[d] = (double)values[i];
            plan->scale[d] = x->shape[d] > 0 ? (double)values[i] / (double)x->shape[d] : 1.0;
        }
        return rc;
    }
    double factors[INFERD_MAX_DIMS];
    int n = p->n_attr_scales;
    if (scales != NULL) {
        int64_t count = inferd_tensor_count(scales);
        if (!onnx_is_float(scales->dtype) || count > INFERD_MAX_DIMS)
            return inferd_fail(err, INFERD_EINVAL, "%s: scales must be at most %d floats", op,
                               INFERD_MAX_DIMS);
        n = (int)count;
        for (int i = 0; i < n; i++)
            factors[i] = onnx_get_f64(scales, i);
    } else {
        for (int i = 0; i < n; i++)
            factors[i] = p->attr_scales[i];
    }
    int rc = map_axes(p, op, rank, n, "scales", axis_of, err);
    for (int i = 0; rc == 0 && i < n; i++) {
        int d = axis_of[i];
        double crop =
            p->coord == COORD_TF_CROP_AND_RESIZE ? plan->roi_end[d] - plan->roi_start[d] : 1.0;
        double length = floor((double)x->shape[d] * crop * factors[i]);
        if (!(factors[i] > 0.0) || !(length >= 0.0 && length <= (double)RESIZE_DIM_LIMIT))
            return inferd_fail(err, INFERD_EINVAL,
                               "%s: scale %g for axis %d gives an output length out of range", op,
                               factors[i], d);
        plan->out[d] = (int64_t)length;
        plan->length[d] = (double)x->shape[d] * crop * factors[i];
        plan->scale[d] = factors[i];
    }
    return rc;
}

static int resize_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, inferd_err_t *err)
{
    resize_plan_t plan;
    int rc = resize_plan(node, in, &plan, err);
    if (rc != 0)
        return rc;
    if (inferd_shape_count(plan.out, plan.rank) < 0)
        return inferd_fail(err, INFERD_EINVAL, "%s: the output would be too large",
                           node->op->op_type);
    onnx_set_shape(&out[0], in[0]->dtype, plan.out, plan.rank);
    return 0;
}

/* ==== taps ==== */

/* The input coordinate output coordinate `o` of axis `d` maps to; *is_outside when it falls
 * outside the crop region. */
static double source_coordinate(const resize_params_t *p, const resize_plan_t *plan, int d,
                                int64_t o, bool *is_outside)
{
    /* align_corners, pytorch_half_pixel and tf_crop_and_resize use the unfloored output length,
     * as the ONNX reference does (a 0.6 scale of 4 gives 2 values 3 / 1.4 apart) */
    double length_in = (double)plan->in[d], length_out = plan->length[d];
    double scale = plan->scale[d], x = (double)o, start = plan->roi_start[d];
    *is_outside = false;
    switch (p->coord) {
    case COORD_HALF_PIXEL:
        return (x + 0.5) / scale - 0.5;
    case COORD_PYTORCH_HALF_PIXEL:
        return length_out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case COORD_ALIGN_CORNERS:
        return length_out > 1 ? x * (length_in - 1) / (length_out - 1) : 0.0;
    case COORD_TF_HALF_PIXEL_FOR_NN:
        return (x + 0.5) / scale;
    case COORD_TF_CROP_AND_RESIZE: {
        double end = plan->roi_end[d];
        double at = length_out > 1 ? start * (length_in - 1) +
                                         x * (end - start) * (length_in - 1) / (length_out - 1)
                                   : 0.5 * (start + end) * (length_in - 1);
        *is_outside = !(at >= 0.0 && at <= length_in - 1);
        return at;
    }
    default:
        return x / scale;
    }
}

/* The weights of Keys' cubic convolution for the taps at floor(x) - 1 .. floor(x) + 2, where `t`
 * is x - floor(x) and `a` the coefficient. */
static void cubic_weights(double t, double a, double *w)
{
    double s[4] = {1.0 + t, t, 1.0 - t, 2.0 - t}; /* distances to the taps */
    for (int i = 0; i < 4; i++) {
        double u = s[i];
        w[i] = u <= 1.0 ? ((a + 2.0) * u - (a + 3.0)) * u * u + 1.0
                        : ((a * u - 5.0 * a) * u + 8.0 * a) * u - 4.0 * a;
    }
}

static int64_t round_nearest(nearest_mode_t mode, double x)
{
    double low = floor(x);
    switch (mode) {
    case ROUND_FLOOR:
        return (int64_t)low;
    case ROUND_CEIL:
        return (int64_t)ceil(x);
    case ROUND_PREFER_CEIL:
        return x - low == 0.5 ? (int64_t)low + 1 : (int64_t)floor(x + 0.5);
    default:
        return x - low == 0.5 ? (int64_t)low : (int64_t)floor(x + 0.5);
    }
}

/* The taps of output coordinate `o` along axis `d` (input stride `stride`): indices clamped to
 * the input (edge values repeat), zero weights dropped and repeated indices merged. */
static resize_taps_t make_taps(const resize_params_t *p, const resize_plan_t *plan, int d,
                               int64_t o, int64_t stride)
{
    resize_taps_t taps = {.n = 0};
    bool is_outside;
    double x = source_coordinate(p, plan, d, o, &is_outside);
    int64_t last = plan->in[d] - 1;
    if (is_outside || last < 0)
        return taps;
    /* far outside, every tap is an edge: keep the arithmetic below in range */
    if (x < -4.0)
        x = -4.0;
    if (x > (double)last + 4.0)
        x = (double)last + 4.0;
    int64_t index[4];
    double weight[4];
    int n;
    if (p->mode == RESIZE_NEAREST) {
        index[0] = round_nearest(p->nearest, x);
        weight[0] = 1.0;
        n = 1;
    } else if (p->mode == RESIZE_LINEAR) {
        double low = floor(x);
        index[0] = (int64_t)low;
        index[1] = index[0] + 1;
        weight[1] = x - low;
        weight[0] = 1.0 - weight[1];
        n = 2;
    } else {
        double low = floor(x), sum = 0.0;
        cubic_weights(x - low, p->cubic_a, weight);
        for (int i = 0; i < 4; i++) {
            index[i] = (int64_t)low - 1 + i;
            if (p->excludes_outside && (index[i] < 0 || index[i] > last))
                weight[i] = 0.0;
            sum += weight[i];
        }
        for (int i = 0; p->excludes_outside && sum != 0.0 && i < 4; i++)
            weight[i] /= sum;
        n = 4;
    }
    for (int i = 0; i < n; i++) {
        if (weight[i] == 0.0)
            continue;
        int64_t at = (index[i] < 0 ? 0 : index[i] > last ? last : index[i]) * stride;
        int j = 0;
        while (j < taps.n && taps.offset[j] != at)
            j++;
        if (j == taps.n) {
            taps.offset[taps.n] = at;
            taps.weight[taps.n++] = 0.0;
        }
        taps.weight[j] += weight[i];
    }
    if (taps.n == 0) { /* weights summing to nothing (cubic excluding everything): nearest edge */
        taps.offset[0] = (x < 0 ? 0 : x > (double)last ? last : (int64_t)floor(x)) * stride;
        taps.weight[0] = 1.0;
        taps.n = 1;
    }
    return taps;
}

/* ==== run ==== */

static double load(const inferd_tensor_t *x, int64_t i)
{
    if (x->dtype == INFERD_DT_FP32)
        return ((const float *)x->data)[i];
    if (x->dtype == INFERD_DT_FP64)
        return ((const double *)x->data)[i];
    return onnx_get_f64(x, i);
}

/* Stores an interpolated value; integer types round to nearest and saturate. */
static void store(inferd_tensor_t *y, int64_t i, double v)
{
    if (y->dtype == INFERD_DT_FP32) {
        ((float *)y->data)[i] = (float)v;
        return;
    }
    if (onnx_is_integer(y->dtype)) {
        int bits = (int)inferd_dtype_size(y->dtype) * 8;
        bool is_signed = y->dtype >= INFERD_DT_INT8;
        double high = is_signed ? ldexp(1.0, bits - 1) - 1.0 : ldexp(1.0, bits) - 1.0;
        double low = is_signed ? -ldexp(1.0, bits - 1) : 0.0;
        v = v != v ? 0.0 : nearbyint(v);
        if (v >= high) { /* 2^63 - 1 is not a double: store the limits exactly */
            if (y->dtype == INFERD_DT_INT64)
                ((int64_t *)y->data)[i] = INT64_MAX;
            else if (y->dtype == INFERD_DT_UINT64)
                ((uint64_t *)y->data)[i] = UINT64_MAX;
            else
                onnx_set_f64(y, i, high);
            return;
        }
        v = v < low ? low : v;
    }
    onnx_set_f64(y, i, v);
}

static int resize_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const resize_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    inferd_tensor_t *y = &out[0];
    resize_plan_t plan;
    int rc = resize_plan(node, in, &plan, err);
    if (rc != 0)
        return rc;
    int rank = plan.rank;
    int64_t total = inferd_shape_count(plan.out, rank), n_taps = 0;
    if (total <= 0)
        return 0; /* an empty output (however long its other dimensions) */
    for (int d = 0; d < rank; d++)
        n_taps += plan.out[d];
    resize_taps_t *table = onnx_scratch_get(scratch, sizeof(resize_taps_t) * (size_t)(n_taps + 1));
    if (table == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "%s: out of memory", node->op->op_type);
    resize_taps_t *taps[INFERD_MAX_DIMS];
    int64_t strides[INFERD_MAX_DIMS];
    onnx_strides(plan.in, rank, strides);
    for (int64_t d = 0, at = 0; d < rank; at += plan.out[d], d++) {
        taps[d] = table + at;
        for (int64_t o = 0; o < plan.out[d]; o++)
            taps[d][o] = make_taps(p, &plan, d, o, strides[d]);
    }
    size_t element = inferd_dtype_size(x->dtype);
    int64_t index[INFERD_MAX_DIMS] = {0};
    for (int64_t i = 0; i < total; i++) {
        int64_t base = 0;
        int active[INFERD_MAX_DIMS], n_active = 0;
        bool is_outside = false;
        for (int d = 0; d < rank; d++) {
            const resize_taps_t *t = &taps[d][index[d]];
            if (t->n == 0)
                is_outside = true;
            else if (t->n == 1)
                base += t->offset[0]; /* a single tap has weight 1 */
            else
                active[n_active++] = d;
        }
        if (is_outside) {
            store(y, i, p->extrapolation_value);
        } else if (n_active == 0) {
            memcpy((char *)y->data + (size_t)i * element,
                   (const char *)x->data + (size_t)base * element, element);
        } else { /* sum over the product of the active axes' taps */
            int pick[INFERD_MAX_DIMS] = {0};
            double sum = 0.0;
            for (;;) {
                int64_t at = base;
                double weight = 1.0;
                for (int a = 0; a < n_active; a++) {
                    const resize_taps_t *t = &taps[active[a]][index[active[a]]];
                    at += t->offset[pick[a]];
                    weight *= t->weight[pick[a]];
                }
                sum += weight * load(x, at);
                int a = n_active - 1;
                while (a >= 0 && ++pick[a] == taps[active[a]][index[active[a]]].n)
                    pick[a--] = 0;
                if (a < 0)
                    break;
            }
            store(y, i, sum);
        }
        for (int d = rank - 1; d >= 0; d--) { /* odometer over the output */
            if (++index[d] < plan.out[d])
                break;
            index[d] = 0;
        }
    }
    return 0;
}

static const onnx_op_t onnx_op_resize = {"Resize",     1,         4, 1, 1, resize_prepare,
                                         resize_shape, resize_run};
static const onnx_op_t onnx_op_upsample = {"Upsample",   1,         2, 1, 1, resize_prepare,
                                           resize_shape, resize_run};

const onnx_op_t *const onnx_ops_resize[] = {&onnx_op_resize, &onnx_op_upsample, NULL};
