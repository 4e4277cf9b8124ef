/* Softmax, LogSoftmax and Hardmax over FP32 and FP64. Opset 13 and later normalise along one
 * axis (default -1); earlier opsets flatten the input to 2-D at `axis` (default 1) and
 * normalise each row. Softmax subtracts the maximum first, so large logits neither overflow nor
 * turn into NaN. FP32 Softmax and LogSoftmax along contiguous rows of 32 or more run through
 * oneDNN's softmax primitive (vectorized for this CPU: 3x faster than the loops here on
 * attention's rows of 32), kept per context and rebuilt when the shape changes. */
#include "ops.h"
#include "dnnl_util.h"
#include "state_cache.h"

#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KIND_SOFTMAX, KIND_LOG_SOFTMAX, KIND_HARDMAX } softmax_kind_t;

enum { SOFTMAX_DNNL_MIN_LENGTH = 32 }; /* shorter rows: the loops here (see softmax_run) */

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

/* ==== FP32 rows through oneDNN ==== */

typedef struct {
    int64_t rows, length;
    softmax_kind_t kind;
    dnnl_stream_t stream;
    dnnl_primitive_t softmax;
    dnnl_memory_t x, y;
} softmax_state_t;

static void softmax_state_free(void *data)
{
    softmax_state_t *s = data;
    if (s == NULL)
        return;
    dnnl_memory_t memories[] = {s->x, s->y};
    onnx_dnnl_destroy(s->softmax, memories, 2, s->stream);
    free(s);
}

static dnnl_status_t softmax_build(softmax_state_t *s)
{
    dnnl_dims_t dims = {s->rows, s->length};
    dnnl_memory_desc_t md;
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab);
    dnnl_softmax_v2_desc_t desc;
    if (st == dnnl_success)
        st = dnnl_softmax_v2_forward_desc_init(
            &desc, dnnl_forward_inference,
            s->kind == KIND_SOFTMAX ? dnnl_softmax_accurate : dnnl_softmax_log, &md, &md, 1);
    dnnl_primitive_desc_t pd = NULL;
    if (st == dnnl_success)
        st = dnnl_primitive_desc_create(&pd, &desc, NULL, onnx_dnnl_engine(), NULL);
    if (st != dnnl_success)
        return st;
    st = dnnl_primitive_create(&s->softmax, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st == dnnl_success)
        st = dnnl_memory_create(&s->x, &md, onnx_dnnl_engine(), DNNL_MEMORY_NONE);
    if (st == dnnl_success)
        st = dnnl_memory_create(&s->y, &md, onnx_dnnl_engine(), DNNL_MEMORY_NONE);
    if (st == dnnl_success)
        st = dnnl_stream_create(&s->stream, onnx_dnnl_engine(), dnnl_stream_default_flags);
    return st;
}

/* Softmax or LogSoftmax of `rows` contiguous rows of `length`. Returns 0, INFERD_EUNSUPPORTED
 * when oneDNN is not there or declines (the caller uses its loops), or another negative code. */
static int softmax_rows_dnnl(onnx_node_state_t *node_state, softmax_kind_t kind, const float *x,
                             float *y, int64_t rows, int64_t length, inferd_err_t *err)
{
    if (onnx_dnnl_engine() == NULL || node_state == NULL || rows == 0 || length == 0)
        return INFERD_EUNSUPPORTED;
    int64_t key[3] = {rows, length, (int64_t)kind};
    softmax_state_t *s = onnx_state_cache_find(node_state, key, sizeof(key));
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            return inferd_fail(err, INFERD_ENOMEM, "Softmax: out of memory");
        s->rows = rows;
        s->length = length;
        s->kind = kind;
        if (softmax_build(s) != dnnl_success) {
            softmax_state_free(s);
            return INFERD_EUNSUPPORTED;
        }
        if (onnx_state_cache_put(node_state, key, sizeof(key), s, softmax_state_free) != 0)
            return inferd_fail(err, INFERD_ENOMEM, "Softmax: out of memory");
    }
    dnnl_status_t st = dnnl_memory_set_data_handle(s->x, (void *)x);
    if (st == dnnl_success)
        st = dnnl_memory_set_data_handle(s->y, y);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, s->x}, {DNNL_ARG_DST, s->y}};
        st = dnnl_primitive_execute(s->softmax, s->stream, 2, args);
    }
    if (st == dnnl_success)
        st = dnnl_stream_wait(s->stream);
    if (st != dnnl_success)
        return inferd_fail(err, INFERD_EINTERNAL, "Softmax: oneDNN failed (status %d)", (int)st);
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
    size_t element = inferd_dtype_size(x->dtype);
    void *work = NULL;
    if (inner > 1 && p->kind != KIND_HARDMAX) {
        work = onnx_scratch_get(scratch, 2 * (size_t)inner * element);
        if (work == NULL)
            return inferd_fail(err, INFERD_ENOMEM, "out of memory for softmax scratch");
    }
    /* A oneDNN call costs about half a microsecond before any work (its execution context is
     * built on the heap), more than the loops below take over rows shorter than
     * SOFTMAX_DNNL_MIN_LENGTH, such as a classifier's 10 classes. The two give different last
     * bits, so the choice depends on the row length alone, whatever the thread count: a row's
     * result must not depend on how many rows share its batch. (With several threads, the
     * executor's per-node plan runs a softmax too small for an OpenMP region on one thread.) */
    bool is_worth_dnnl = length >= SOFTMAX_DNNL_MIN_LENGTH;
    if (x->dtype == INFERD_DT_FP32 && inner == 1 && p->kind != KIND_HARDMAX && is_worth_dnnl) {
        int rc = softmax_rows_dnnl(scratch->node_state, p->kind, x->data, out[0].data, outer,
                                   length, err);
        if (rc != INFERD_EUNSUPPORTED)
            return rc;
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
