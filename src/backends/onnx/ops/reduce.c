/* Reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp over a set of axes,
 * and ArgMax/ArgMin along one. Axes come from the attribute, or from the optional second input
 * where the opset moved them there (ReduceSum from 13, the others from 18). Reducing over an
 * empty set yields the operation's identity (0 for sums, 1 for Prod, -inf/+inf or the integer
 * type's bounds for Max/Min, NaN for a float Mean). */
#include "numeric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    REDUCE_SUM,
    REDUCE_MEAN,
    REDUCE_MAX,
    REDUCE_MIN,
    REDUCE_PROD,
    REDUCE_L1,
    REDUCE_L2,
    REDUCE_SUM_SQUARE,
    REDUCE_LOG_SUM,
    REDUCE_LOG_SUM_EXP,
} reduce_kind_t;

typedef struct {
    reduce_kind_t kind;
    bool keepdims, noop_with_empty_axes, axes_from_input;
    int n_axes; /* of the attribute; -1 when absent */
    int64_t axes[INFERD_MAX_DIMS];
} reduce_params_t;

static int reduce_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, reduce_kind_t kind,
                          inferd_err_t *err)
{
    reduce_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->kind = kind;
    p->keepdims = onnx_attr_int(proto, "keepdims", 1) != 0;
    p->noop_with_empty_axes = onnx_attr_int(proto, "noop_with_empty_axes", 0) != 0;
    int input_opset = kind == REDUCE_SUM ? 13 : 18;
    p->axes_from_input = node->opset >= input_opset;
    p->n_axes = onnx_attr_ints(proto, "axes", p->axes, INFERD_MAX_DIMS);
    if (p->n_axes > INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EMODEL, "%d axes given; at most %d are supported", p->n_axes,
                           INFERD_MAX_DIMS);
    if (p->axes_from_input && p->n_axes >= 0)
        return inferd_fail(err, INFERD_EMODEL,
                           "axes is an input from opset %d, not an attribute (the model "
                           "imports opset %d)",
                           input_opset, node->opset);
    if (!p->axes_from_input && node->n_inputs > 1)
        return inferd_fail(err, INFERD_EMODEL,
                           "axes is an attribute before opset %d, not an input (the model "
                           "imports opset %d)",
                           input_opset, node->opset);
    return 0;
}

/* The reduced dimensions of `x` (is_reduced[d]). Returns 0, or INFERD_EINVAL for an axis out of
 * range, a repeated axis or a bad axes input. */
static int reduce_axes(const onnx_node_t *node, const inferd_tensor_t *const *in, bool *is_reduced,
                       inferd_err_t *err)
{
    const reduce_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    int64_t axes[INFERD_MAX_DIMS];
    int n_axes = p->n_axes;
    if (p->axes_from_input) {
        n_axes = 0;
        if (node->n_inputs > 1 && in[1] != NULL) {
            n_axes = onnx_read_ints(in[1], axes, INFERD_MAX_DIMS, "axes", err);
            if (n_axes < 0)
                return INFERD_EINVAL;
        }
    } else if (n_axes > 0) {
        memcpy(axes, p->axes, sizeof(int64_t) * (size_t)n_axes);
    }
    bool is_all = n_axes <= 0 && !p->noop_with_empty_axes;
    for (int d = 0; d < x->ndim; d++)
        is_reduced[d] = is_all;
    for (int i = 0; i < n_axes; i++) {
        int axis = onnx_axis(axes[i], x->ndim, 0);
        if (axis < 0)
            return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range for rank %d",
                               (long long)axes[i], x->ndim);
        if (is_reduced[axis])
            return inferd_fail(err, INFERD_EINVAL, "axis %lld is given twice", (long long)axes[i]);
        is_reduced[axis] = true;
    }
    return 0;
}

static int reduce_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, inferd_err_t *err)
{
    const reduce_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    if (!onnx_is_float(x->dtype) && !onnx_is_integer(x->dtype))
        return onnx_fail_dtype(err, x, "the float and integer types");
    bool is_reduced[INFERD_MAX_DIMS];
    int rc = reduce_axes(node, in, is_reduced, err);
    if (rc != 0)
        return rc;
    int64_t shape[INFERD_MAX_DIMS], reduced_count = 1;
    int ndim = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (is_reduced[d])
            reduced_count *= x->shape[d];
        if (!is_reduced[d])
            shape[ndim++] = x->shape[d];
        else if (p->keepdims)
            shape[ndim++] = 1;
    }
    if (reduced_count == 0 && p->kind == REDUCE_MEAN && !onnx_is_float(x->dtype) &&
        inferd_shape_count(shape, ndim) > 0)
        return inferd_fail(err, INFERD_EINVAL, "the integer mean of an empty set is undefined");
    onnx_set_shape(&out[0], x->dtype, shape, ndim);
    return 0;
}

/* ==== the reduction kernel ==== */

/* The input seen with size-1 dimensions dropped and neighbours of the same kind (kept or
 * reduced) merged; walked in memory order, each element combined into its output slot. */
typedef struct {
    int ndim; /* at least 1 */
    int64_t size[INFERD_MAX_DIMS];
    int64_t out_stride[INFERD_MAX_DIMS]; /* 0 along reduced dimensions */
    int64_t in_count, out_count, reduced_count;
} reduce_plan_t;

static void reduce_plan(const inferd_tensor_t *x, const bool *is_reduced, reduce_plan_t *plan)
{
    bool merged_reduced[INFERD_MAX_DIMS];
    int n = 0;
    plan->in_count = plan->out_count = plan->reduced_count = 1;
    for (int d = 0; d < x->ndim; d++) {
        plan->in_count *= x->shape[d];
        if (is_reduced[d])
            plan->reduced_count *= x->shape[d];
        else
            plan->out_count *= x->shape[d];
        if (x->shape[d] == 1)
            continue;
        if (n > 0 && merged_reduced[n - 1] == is_reduced[d]) {
            plan->size[n - 1] *= x->shape[d];
            continue;
        }
        plan->size[n] = x->shape[d];
        merged_reduced[n++] = is_reduced[d];
    }
    if (n == 0) { /* a single element */
        plan->size[0] = 1;
        merged_reduced[n++] = false;
    }
    plan->ndim = n;
    int64_t stride = 1;
    for (int d = n - 1; d >= 0; d--) {
        plan->out_stride[d] = merged_reduced[d] ? 0 : stride;
        if (!merged_reduced[d])
            stride *= plan->size[d];
    }
}

/* How one input element joins its output's accumulator. */
typedef enum { OP_ADD, OP_ADD_ABS, OP_ADD_SQUARE, OP_MUL, OP_MAX, OP_MIN, OP_ADD_EXP } combine_t;

/* Combines `len` input elements from `in_at` into acc[out_at + j * out_step] (out_step 0 when
 * the run is reduced, 1 when it is kept). `shift` (OP_ADD_EXP only) is subtracted from each
 * element before exp, per output. */
typedef void (*segment_fn)(const inferd_tensor_t *x, int64_t in_at, int64_t len, void *acc,
                           int64_t out_at, int64_t out_step, combine_t op, const double *shift);

/* One pass over a run: v is the element as a double, a points at its accumulator. */
#define SEGMENT_LOOP(LOAD, UPDATE)                                                                 \
    for (int64_t j = 0; j < len; j++) {                                                            \
        double v = LOAD(in_at + j), *a = &acc[out_at + j * out_step];                              \
        UPDATE;                                                                                    \
    }                                                                                              \
    break;

/* A whole run into one accumulator: four partial sums, so the adds need not wait on each
 * other. Returns from the enclosing segment function. */
#define SUM_RUN(LOAD, F)                                                                           \
    {                                                                                              \
        double part[4] = {0, 0, 0, 0}, v;                                                          \
        int64_t j = 0;                                                                             \
        for (; j + 4 <= len; j += 4)                                                               \
            for (int u = 0; u < 4; u++) {                                                          \
                v = LOAD(in_at + j + u);                                                           \
                part[u] += F;                                                                      \
            }                                                                                      \
        for (; j < len; j++) {                                                                     \
            v = LOAD(in_at + j);                                                                   \
            part[0] += F;                                                                          \
        }                                                                                          \
        acc[out_at] += (part[0] + part[1]) + (part[2] + part[3]);                                  \
        return;                                                                                    \
    }

/* A whole run into one Max or Min (BEATS is > or <): four partial extremes, and NaN noted on the
 * side so the comparisons stay branch-free. Returns from the enclosing segment function. */
#define EXTREME_RUN(LOAD, BEATS)                                                                   \
    {                                                                                              \
        double part[4], v;                                                                         \
        bool has_nan = isnan(acc[out_at]);                                                         \
        for (int u = 0; u < 4; u++)                                                                \
            part[u] = acc[out_at];                                                                 \
        int64_t j = 0;                                                                             \
        for (; j + 4 <= len; j += 4)                                                               \
            for (int u = 0; u < 4; u++) {                                                          \
                v = LOAD(in_at + j + u);                                                           \
                has_nan |= v != v;                                                                 \
                part[u] = v BEATS part[u] ? v : part[u];                                           \
            }                                                                                      \
        for (; j < len; j++) {                                                                     \
            v = LOAD(in_at + j);                                                                   \
            has_nan |= v != v;                                                                     \
            part[0] = v BEATS part[0] ? v : part[0];                                               \
        }                                                                                          \
        for (int u = 1; u < 4; u++)                                                                \
            part[0] = part[u] BEATS part[0] ? part[u] : part[0];                                   \
        acc[out_at] = has_nan ? (double)NAN : part[0];                                             \
        return;                                                                                    \
    }

/* Generates a floating segment combiner reading element i with LOAD(i); accumulates in double.
 * Max and Min keep the first NaN they meet, as numpy does. */
#define DEFINE_FLOAT_SEGMENT(NAME, LOAD)                                                           \
    static void NAME(const inferd_tensor_t *x, int64_t in_at, int64_t len, void *acc_data,         \
                     int64_t out_at, int64_t out_step, combine_t op, const double *shift)          \
    {                                                                                              \
        double *acc = acc_data;                                                                    \
        if (out_step == 0 && op == OP_ADD)                                                         \
            SUM_RUN(LOAD, v)                                                                       \
        if (out_step == 0 && op == OP_ADD_ABS)                                                     \
            SUM_RUN(LOAD, fabs(v))                                                                 \
        if (out_step == 0 && op == OP_ADD_SQUARE)                                                  \
            SUM_RUN(LOAD, v *v)                                                                    \
        if (out_step == 0 && op == OP_MAX)                                                         \
            EXTREME_RUN(LOAD, >)                                                                   \
        if (out_step == 0 && op == OP_MIN)                                                         \
            EXTREME_RUN(LOAD, <)                                                                   \
        switch (op) {                                                                              \
        case OP_ADD:                                                                               \
            SEGMENT_LOOP(LOAD, *a += v)                                                            \
        case OP_ADD_ABS:                                                                           \
            SEGMENT_LOOP(LOAD, *a += fabs(v))                                                      \
        case OP_ADD_SQUARE:                                                                        \
            SEGMENT_LOOP(LOAD, *a += v * v)                                                        \
        case OP_MUL:                                                                               \
            SEGMENT_LOOP(LOAD, *a *= v)                                                            \
        case OP_MAX:                                                                               \
            SEGMENT_LOOP(LOAD, *a = (v > *a || isnan(v)) && !isnan(*a) ? v : *a)                   \
        case OP_MIN:                                                                               \
            SEGMENT_LOOP(LOAD, *a = (v < *a || isnan(v)) && !isnan(*a) ? v : *a)                   \
        case OP_ADD_EXP:                                                                           \
            SEGMENT_LOOP(LOAD, *a += exp(v - shift[out_at + j * out_step]))                        \
        }                                                                                          \
    }

#define LOAD_F32(i) ((const float *)x->data)[i]
#define LOAD_ANY(i) onnx_load_f64(x, i)
DEFINE_FLOAT_SEGMENT(segment_f32, LOAD_F32)
DEFINE_FLOAT_SEGMENT(segment_any, LOAD_ANY)

/* Integers accumulate in uint64 (wrapping like the C types) and compare in their own
 * signedness. OP_ADD_EXP never reaches here: LogSumExp takes the float path. */
static void segment_int(const inferd_tensor_t *x, int64_t in_at, int64_t len, void *acc_data,
                        int64_t out_at, int64_t out_step, combine_t op, const double *shift)
{
    int64_t *acc = acc_data;
    bool is_unsigned = onnx_is_unsigned(x->dtype);
    for (int64_t j = 0; j < len; j++) {
        int64_t v = onnx_get_i64(x, in_at + j), *a = &acc[out_at + j * out_step];
        uint64_t magnitude = is_unsigned || v >= 0 ? (uint64_t)v : -(uint64_t)v;
        bool is_above = is_unsigned ? (uint64_t)v > (uint64_t)*a : v > *a;
        bool is_below = is_unsigned ? (uint64_t)v < (uint64_t)*a : v < *a;
        switch (op) {
        case OP_ADD:
            *a = (int64_t)((uint64_t)*a + (uint64_t)v);
            break;
        case OP_ADD_ABS:
            *a = (int64_t)((uint64_t)*a + magnitude);
            break;
        case OP_ADD_SQUARE:
            *a = (int64_t)((uint64_t)*a + (uint64_t)v * (uint64_t)v);
            break;
        case OP_MUL:
            *a = (int64_t)((uint64_t)*a * (uint64_t)v);
            break;
        case OP_MAX:
            *a = is_above ? v : *a;
            break;
        case OP_MIN:
            *a = is_below ? v : *a;
            break;
        case OP_ADD_EXP:
            break;
        }
    }
}

/* Walks the whole input once in memory order, handing each innermost run to `segment`. */
static void reduce_walk(const reduce_plan_t *plan, const inferd_tensor_t *x, segment_fn segment,
                        void *acc, combine_t op, const double *shift)
{
    if (plan->in_count == 0)
        return;
    int inner = plan->ndim - 1;
    int64_t len = plan->size[inner], out_step = plan->out_stride[inner];
    int64_t index[INFERD_MAX_DIMS] = {0}, out_at = 0;
    for (int64_t in_at = 0; in_at < plan->in_count; in_at += len) {
        segment(x, in_at, len, acc, out_at, out_step, op, shift);
        for (int d = inner - 1; d >= 0; d--) { /* odometer over the outer dimensions */
            index[d]++;
            out_at += plan->out_stride[d];
            if (index[d] < plan->size[d])
                break;
            out_at -= plan->out_stride[d] * index[d];
            index[d] = 0;
        }
    }
}

/* The smallest and largest values of an integer dtype, as int64 (UINT64's maximum wraps to -1,
 * which its unsigned comparisons read right). */
static void integer_bounds(inferd_dtype_t dtype, int64_t *min, int64_t *max)
{
    switch (dtype) {
    case INFERD_DT_INT8:
        *min = INT8_MIN, *max = INT8_MAX;
        break;
    case INFERD_DT_UINT8:
        *min = 0, *max = UINT8_MAX;
        break;
    case INFERD_DT_INT16:
        *min = INT16_MIN, *max = INT16_MAX;
        break;
    case INFERD_DT_UINT16:
        *min = 0, *max = UINT16_MAX;
        break;
    case INFERD_DT_INT32:
        *min = INT32_MIN, *max = INT32_MAX;
        break;
    case INFERD_DT_UINT32:
        *min = 0, *max = UINT32_MAX;
        break;
    case INFERD_DT_UINT64:
        *min = 0, *max = -1;
        break;
    default:
        *min = INT64_MIN, *max = INT64_MAX;
        break;
    }
}

/* Stores a float result into any output dtype; an integer output gets it truncated, clamped,
 * NaN as 0 (never an undefined conversion). */
static void store_double(inferd_tensor_t *y, int64_t i, double value)
{
    if (onnx_is_float(y->dtype)) {
        onnx_set_f64(y, i, value);
        return;
    }
    if (isnan(value))
        value = 0.0;
    int64_t v = value <= -9.2e18 ? INT64_MIN : value >= 9.2e18 ? INT64_MAX : (int64_t)value;
    onnx_store_i64(y, i, v);
}

static combine_t reduce_combine(reduce_kind_t kind)
{
    switch (kind) {
    case REDUCE_L1:
        return OP_ADD_ABS;
    case REDUCE_L2:
    case REDUCE_SUM_SQUARE:
        return OP_ADD_SQUARE;
    case REDUCE_PROD:
        return OP_MUL;
    case REDUCE_MAX:
        return OP_MAX;
    case REDUCE_MIN:
        return OP_MIN;
    default: /* Sum, Mean, LogSum; LogSumExp adds exponentials after a Max pass */
        return OP_ADD;
    }
}

/* Integer inputs reduce exactly in int64 unless the result is a float function (L2, the logs). */
static bool reduces_as_integer(reduce_kind_t kind, inferd_dtype_t dtype)
{
    return onnx_is_integer(dtype) && kind != REDUCE_L2 && kind != REDUCE_LOG_SUM &&
           kind != REDUCE_LOG_SUM_EXP;
}

static int reduce_run_integer(const reduce_params_t *p, const reduce_plan_t *plan,
                              const inferd_tensor_t *x, inferd_tensor_t *y, int64_t *acc)
{
    int64_t min, max, init = p->kind == REDUCE_PROD ? 1 : 0;
    integer_bounds(x->dtype, &min, &max);
    if (p->kind == REDUCE_MAX || p->kind == REDUCE_MIN)
        init = p->kind == REDUCE_MAX ? min : max;
    for (int64_t o = 0; o < plan->out_count; o++)
        acc[o] = init;
    reduce_walk(plan, x, segment_int, acc, reduce_combine(p->kind), NULL);
    for (int64_t o = 0; o < plan->out_count; o++)
        onnx_store_i64(y, o, p->kind == REDUCE_MEAN ? acc[o] / plan->reduced_count : acc[o]);
    return 0;
}

static int reduce_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const reduce_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    bool is_reduced[INFERD_MAX_DIMS];
    int rc = reduce_axes(node, in, is_reduced, err);
    if (rc != 0)
        return rc;
    reduce_plan_t plan;
    reduce_plan(x, is_reduced, &plan);
    if (plan.out_count == 0)
        return 0;
    bool is_lse = p->kind == REDUCE_LOG_SUM_EXP;
    double *acc =
        onnx_scratch_get(scratch, sizeof(double) * (size_t)plan.out_count * (is_lse ? 2 : 1));
    if (acc == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory for the reduction");
    if (reduces_as_integer(p->kind, x->dtype))
        return reduce_run_integer(p, &plan, x, &out[0], (int64_t *)acc);
    segment_fn segment = x->dtype == INFERD_DT_FP32 ? segment_f32 : segment_any;
    double *shift = acc + plan.out_count;
    if (is_lse) { /* exp(x - max) cannot overflow; an infinite max shifts by 0 */
        for (int64_t o = 0; o < plan.out_count; o++)
            shift[o] = -INFINITY;
        reduce_walk(&plan, x, segment, shift, OP_MAX, NULL);
        for (int64_t o = 0; o < plan.out_count; o++)
            shift[o] = isfinite(shift[o]) ? shift[o] : 0.0;
    }
    double init = p->kind == REDUCE_PROD  ? 1.0
                  : p->kind == REDUCE_MAX ? -INFINITY
                  : p->kind == REDUCE_MIN ? INFINITY
                                          : 0.0;
    for (int64_t o = 0; o < plan.out_count; o++)
        acc[o] = init;
    reduce_walk(&plan, x, segment, acc, is_lse ? OP_ADD_EXP : reduce_combine(p->kind), shift);
    for (int64_t o = 0; o < plan.out_count; o++) {
        double v = acc[o];
        switch (p->kind) {
        case REDUCE_MEAN:
            v /= (double)plan.reduced_count; /* 0/0 = NaN for an empty set */
            break;
        case REDUCE_L2:
            v = sqrt(v);
            break;
        case REDUCE_LOG_SUM:
            v = log(v);
            break;
        case REDUCE_LOG_SUM_EXP:
            v = shift[o] + log(v);
            break;
        default:
            break;
        }
        store_double(&out[0], o, v);
    }
    return 0;
}

#define DEFINE_REDUCE_OP(VAR, NAME, KIND)                                                          \
    static int VAR##_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)   \
    {                                                                                              \
        return reduce_prepare(node, proto, KIND, err);                                             \
    }                                                                                              \
    static const onnx_op_t onnx_op_##VAR = {NAME,         1,         2, 1, 1, VAR##_prepare,       \
                                            reduce_shape, reduce_run};

DEFINE_REDUCE_OP(reduce_sum, "ReduceSum", REDUCE_SUM)
DEFINE_REDUCE_OP(reduce_mean, "ReduceMean", REDUCE_MEAN)
DEFINE_REDUCE_OP(reduce_max, "ReduceMax", REDUCE_MAX)
DEFINE_REDUCE_OP(reduce_min, "ReduceMin", REDUCE_MIN)
DEFINE_REDUCE_OP(reduce_prod, "ReduceProd", REDUCE_PROD)
DEFINE_REDUCE_OP(reduce_l1, "ReduceL1", REDUCE_L1)
DEFINE_REDUCE_OP(reduce_l2, "ReduceL2", REDUCE_L2)
DEFINE_REDUCE_OP(reduce_sum_square, "ReduceSumSquare", REDUCE_SUM_SQUARE)
DEFINE_REDUCE_OP(reduce_log_sum, "ReduceLogSum", REDUCE_LOG_SUM)
DEFINE_REDUCE_OP(reduce_log_sum_exp, "ReduceLogSumExp", REDUCE_LOG_SUM_EXP)

/* ==== ArgMax, ArgMin ==== */

typedef struct {
    int64_t axis;
    bool keepdims, select_last_index, is_max;
} arg_params_t;

static int arg_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, bool is_max)
{
    arg_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->axis = onnx_attr_int(proto, "axis", 0);
    p->keepdims = onnx_attr_int(proto, "keepdims", 1) != 0;
    p->select_last_index = onnx_attr_int(proto, "select_last_index", 0) != 0;
    p->is_max = is_max;
    return 0;
}

static int argmax_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    return arg_prepare(node, proto, true);
}

static int argmin_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    return arg_prepare(node, proto, false);
}

static int arg_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, inferd_err_t *err)
{
    const arg_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    if (!onnx_is_float(x->dtype) && !onnx_is_integer(x->dtype))
        return onnx_fail_dtype(err, x, "the float and integer types");
    int axis = onnx_axis(p->axis, x->ndim, 0);
    if (axis < 0)
        return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range for rank %d",
                           (long long)p->axis, x->ndim);
    int64_t shape[INFERD_MAX_DIMS];
    int ndim = 0;
    for (int d = 0; d < x->ndim; d++)
        if (d != axis)
            shape[ndim++] = x->shape[d];
        else if (p->keepdims)
            shape[ndim++] = 1;
    if (x->shape[axis] == 0 && inferd_shape_count(shape, ndim) > 0)
        return inferd_fail(err, INFERD_EINVAL, "%s of an empty axis has no index",
                           p->is_max ? "ArgMax" : "ArgMin");
    onnx_set_shape(&out[0], INFERD_DT_INT64, shape, ndim);
    return 0;
}

/* Whether element `j` beats the best so far at `best`. NaN beats every number (numpy's
 * argmax/argmin return the first NaN); ties go to the first index, or the last when asked. */
static bool arg_beats(const arg_params_t *p, const inferd_tensor_t *x, int64_t j, int64_t best)
{
    if (onnx_is_integer(x->dtype)) {
        int64_t v = onnx_get_i64(x, j), b = onnx_get_i64(x, best);
        bool is_unsigned = onnx_is_unsigned(x->dtype);
        if (v == b)
            return p->select_last_index;
        bool is_above = is_unsigned ? (uint64_t)v > (uint64_t)b : v > b;
        return p->is_max == is_above;
    }
    double v = onnx_load_f64(x, j), b = onnx_load_f64(x, best);
    if (isnan(b))
        return isnan(v) && p->select_last_index;
    if (isnan(v))
        return true;
    if (v == b)
        return p->select_last_index;
    return p->is_max == (v > b);
}

static int arg_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                   onnx_scratch_t *scratch, inferd_err_t *err)
{
    const arg_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    int axis = onnx_axis(p->axis, x->ndim, 0);
    int64_t outer = 1, length = x->shape[axis], inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= x->shape[d];
    for (int d = axis + 1; d < x->ndim; d++)
        inner *= x->shape[d];
    int64_t *y = out[0].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * length * inner + i, best = 0;
            for (int64_t j = 1; j < length; j++)
                if (arg_beats(p, x, base + j * inner, base + best * inner))
                    best = j;
            y[o * inner + i] = best;
        }
    return 0;
}

static const onnx_op_t onnx_op_argmax = {"ArgMax", 1, 1, 1, 1, argmax_prepare, arg_shape, arg_run};
static const onnx_op_t onnx_op_argmin = {"ArgMin", 1, 1, 1, 1, argmin_prepare, arg_shape, arg_run};

const onnx_op_t *const onnx_ops_reduce[] = {&onnx_op_reduce_sum,
                                            &onnx_op_reduce_mean,
                                            &onnx_op_reduce_max,
                                            &onnx_op_reduce_min,
                                            &onnx_op_reduce_prod,
                                            &onnx_op_reduce_l1,
                                            &onnx_op_reduce_l2,
                                            &onnx_op_reduce_sum_square,
                                            &onnx_op_reduce_log_sum,
                                            &onnx_op_reduce_log_sum_exp,
                                            &onnx_op_argmax,
                                            &onnx_op_argmin,
                                            NULL};
