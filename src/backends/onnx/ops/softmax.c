/* Softmax, LogSoftmax and Hardmax over FP32 and FP64. Opset 13 and later normalise along one
 * axis (default -1); earlier opsets flatten the input to 2-D at `axis` (default 1) and
 * normalise each row. Softmax subtracts the maximum first, so large logits neither overflow nor
 * turn into NaN. */
#include "ops.h"

#include <math.h>
#include <stdlib.h>

typedef enum { KIND_SOFTMAX, KIND_LOG_SOFTMAX, KIND_HARDMAX } softmax_kind_t;

typedef struct {
    int64_t axis;
    softmax_kind_t kind;
} softmax_params_t;

static int prepare_kind(onnx_node_t *node, const Onnx__NodeProto *proto, softmax_kind_t kind)
{
    softmax_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->axis = onnx_attr_int(proto, "axis", node->opset >= 13 ? -1 : 1);
    p->kind = kind;
    return 0;
}

static int softmax_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    return prepare_kind(node, proto, KIND_SOFTMAX);
}

static int log_softmax_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    return prepare_kind(node, proto, KIND_LOG_SOFTMAX);
}

static int hardmax_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    return prepare_kind(node, proto, KIND_HARDMAX);
}

static int softmax_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                         inferd_tensor_t *out, inferd_err_t *err)
{
    const softmax_params_t *p = node->params;
    if (in[0]->dtype != INFERD_DT_FP32 && in[0]->dtype != INFERD_DT_FP64)
        return onnx_fail_dtype(err, in[0], "FP32 and FP64");
    if (in[0]->ndim == 0 || onnx_axis(p->axis, in[0]->ndim, 0) < 0)
        return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range for rank %d",
                           (long long)p->axis, in[0]->ndim);
    onnx_set_shape(&out[0], in[0]->dtype, in[0]->shape, in[0]->ndim);
    return 0;
}

/* Generates the kernel for one float type: `x` viewed as [outer, length, inner], normalised
 * along `length`. `work` holds 2 * inner elements (the running maximum and sum per column) when
 * inner > 1. Hardmax marks the first maximum of each line (the first NaN if there is one). */
#define DEFINE_SOFTMAX_KERNEL(NAME, T, EXP, LOG)                                                   \
    static void NAME(const T *x, T *y, int64_t outer, int64_t length, int64_t inner,               \
                     softmax_kind_t kind, T *work)                                                 \
    {                                                                                              \
        if (kind == KIND_HARDMAX) {                                                                \
            for (int64_t o = 0; o < outer; o++)                                                    \
                for (int64_t i = 0; i < inner; i++) {                                              \
                    const T *xs = x + o * length * inner + i;                                      \
                    T *ys = y + o * length * inner + i;                                            \
                    int64_t best = 0;                                                              \
                    for (int64_t j = 0; j < length; j++) {                                         \
                        ys[j * inner] = 0;                                                         \
                        if (!isnan(xs[best * inner]) &&                                            \
                            (xs[j * inner] > xs[best * inner] || isnan(xs[j * inner])))            \
                            best = j;                                                              \
                    }                                                                              \
                    if (length > 0)                                                                \
                        ys[best * inner] = 1;                                                      \
                }                                                                                  \
            return;                                                                                \
        }                                                                                          \
        if (inner == 1) { /* contiguous rows: the common last-axis case */                         \
            for (int64_t o = 0; o < outer; o++) {                                                  \
                const T *xs = x + o * length;                                                      \
                T *ys = y + o * length;                                                            \
                T max = -INFINITY, part[4] = {0, 0, 0, 0};                                         \
                for (int64_t j = 0; j < length; j++)                                               \
                    max = xs[j] > max ? xs[j] : max;                                               \
                for (int64_t j = 0; j < length; j++)                                               \
                    ys[j] = EXP(xs[j] - max);                                                      \
                int64_t at = 0; /* four partial sums: the adds need not wait on each other */      \
                for (; at + 4 <= length; at += 4)                                                  \
                    for (int u = 0; u < 4; u++)                                                    \
                        part[u] += ys[at + u];                                                     \
                for (; at < length; at++)                                                          \
                    part[0] += ys[at];                                                             \
                T sum = (part[0] + part[1]) + (part[2] + part[3]);                                 \
                if (kind == KIND_SOFTMAX) {                                                        \
                    T scale = 1 / sum;                                                             \
                    for (int64_t j = 0; j < length; j++)                                           \
                        ys[j] *= scale;                                                            \
                } else {                                                                           \
                    T shift = max + LOG(sum);                                                      \
                    for (int64_t j = 0; j < length; j++)                                           \
                        ys[j] = xs[j] - shift;                                                     \
                }                                                                                  \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        /* columns: sweep whole rows of `inner` so memory is read in order */                      \
        T *max = work, *sum = work + inner;                                                        \
        for (int64_t o = 0; o < outer; o++) {                                                      \
            const T *xs = x + o * length * inner;                                                  \
            T *ys = y + o * length * inner;                                                        \
            for (int64_t i = 0; i < inner; i++) {                                                  \
                max[i] = -INFINITY;                                                                \
                sum[i] = 0;                                                                        \
            }                                                                                      \
            for (int64_t j = 0; j < length; j++)                                                   \
                for (int64_t i = 0; i < inner; i++)                                                \
                    max[i] = xs[j * inner + i] > max[i] ? xs[j * inner + i] : max[i];              \
            for (int64_t j = 0; j < length; j++)                                                   \
                for (int64_t i = 0; i < inner; i++)                                                \
                    sum[i] += (ys[j * inner + i] = EXP(xs[j * inner + i] - max[i]));               \
            if (kind == KIND_SOFTMAX) {                                                            \
                for (int64_t j = 0; j < length; j++)                                               \
                    for (int64_t i = 0; i < inner; i++)                                            \
                        ys[j * inner + i] /= sum[i];                                               \
            } else {                                                                               \
                for (int64_t i = 0; i < inner; i++)                                                \
                    max[i] += LOG(sum[i]);                                                         \
                for (int64_t j = 0; j < length; j++)                                               \
                    for (int64_t i = 0; i < inner; i++)                                            \
                        ys[j * inner + i] = xs[j * inner + i] - max[i];                            \
            }                                                                                      \
        }                                                                                          \
    }

DEFINE_SOFTMAX_KERNEL(softmax_f32, float, expf, logf)
DEFINE_SOFTMAX_KERNEL(softmax_f64, double, exp, log)

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
    size_t element = inferd_dtype_size(x->dtype);
    void *work = NULL;
    if (inner > 1 && p->kind != KIND_HARDMAX) {
        work = onnx_scratch_get(scratch, 2 * (size_t)inner * element);
        if (work == NULL)
            return inferd_fail(err, INFERD_ENOMEM, "out of memory for softmax scratch");
    }
    if (x->dtype == INFERD_DT_FP32)
        softmax_f32(x->data, out[0].data, outer, length, inner, p->kind, work);
    else
        softmax_f64(x->data, out[0].data, outer, length, inner, p->kind, work);
    return 0;
}

static const onnx_op_t onnx_op_softmax = {"Softmax",     1,          1, 1, 1, softmax_prepare,
                                          softmax_shape, softmax_run};
static const onnx_op_t onnx_op_log_softmax = {
    "LogSoftmax", 1, 1, 1, 1, log_softmax_prepare, softmax_shape, softmax_run};
static const onnx_op_t onnx_op_hardmax = {"Hardmax",     1,          1, 1, 1, hardmax_prepare,
                                          softmax_shape, softmax_run};

const onnx_op_t *const onnx_ops_softmax[] = {&onnx_op_softmax, &onnx_op_log_softmax,
                                             &onnx_op_hardmax, NULL};
