/* TopK: the k largest (or smallest) elements along one axis, with their INT64 indices. k is an
 * attribute before opset 10 and an input after. Results are always sorted (which "sorted = 0"
 * permits); equal values keep the lower index first, as the spec asks, and NaN ranks above
 * every number (numpy's order). */
#include "numeric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t axis, k; /* k: the attribute (opset < 10) */
    bool largest, has_k_input;
} topk_params_t;

static int topk_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    topk_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->axis = onnx_attr_int(proto, "axis", -1);
    p->largest = onnx_attr_int(proto, "largest", 1) != 0;
    p->has_k_input = node->opset >= 10;
    p->k = onnx_attr_int(proto, "k", -1);
    if (p->has_k_input && (node->n_inputs < 2 || node->inputs[1] < 0))
        return inferd_fail(err, INFERD_EMODEL, "TopK from opset 10 takes k as its second input");
    if (!p->has_k_input && p->k < 0)
        return inferd_fail(err, INFERD_EMODEL, "TopK before opset 10 needs a k attribute >= 0");
    return 0;
}

/* The k of this run. Returns 0, or INFERD_EINVAL with a message. */
static int topk_k(const onnx_node_t *node, const inferd_tensor_t *const *in, int64_t *k,
                  inferd_err_t *err)
{
    const topk_params_t *p = node->params;
    if (!p->has_k_input) {
        *k = p->k;
        return 0;
    }
    if (in[1] == NULL)
        return inferd_fail(err, INFERD_EINVAL, "TopK's k input is missing");
    int n = onnx_read_ints(in[1], k, 1, "k", err);
    if (n < 0)
        return INFERD_EINVAL;
    if (n != 1)
        return inferd_fail(err, INFERD_EINVAL, "k must hold one value, not %d", n);
    return 0;
}

static int topk_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, inferd_err_t *err)
{
    const topk_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    if (!onnx_is_float(x->dtype) && !onnx_is_integer(x->dtype))
        return onnx_fail_dtype(err, x, "the float and integer types");
    int axis = onnx_axis(p->axis, x->ndim, 0);
    if (axis < 0)
        return inferd_fail(err, INFERD_EINVAL, "axis %lld is out of range for rank %d",
                           (long long)p->axis, x->ndim);
    int64_t k;
    int rc = topk_k(node, in, &k, err);
    if (rc != 0)
        return rc;
    if (k < 0 || k > x->shape[axis])
        return inferd_fail(err, INFERD_EINVAL, "k = %lld is outside 0..%lld (the axis' size)",
                           (long long)k, (long long)x->shape[axis]);
    int64_t shape[INFERD_MAX_DIMS];
    memcpy(shape, x->shape, sizeof(shape));
    shape[axis] = k;
    onnx_set_shape(&out[0], x->dtype, shape, x->ndim);
    onnx_set_shape(&out[1], INFERD_DT_INT64, shape, x->ndim);
    return 0;
}

/* A candidate: its value (as a double, or exactly as int64 for the integer types) and index. */
typedef struct {
    double value;
    int64_t int_value;
    int64_t index;
} candidate_t;

typedef struct {
    bool largest, is_integer, is_unsigned;
} ranking_t;

/* -1, 0 or 1 as a's value orders below, with, or above b's (NaN above every number). */
static int value_order(const ranking_t *r, const candidate_t *a, const candidate_t *b)
{
    if (r->is_integer) {
        if (a->int_value == b->int_value)
            return 0;
        if (r->is_unsigned)
            return (uint64_t)a->int_value > (uint64_t)b->int_value ? 1 : -1;
        return a->int_value > b->int_value ? 1 : -1;
    }
    bool a_nan = isnan(a->value), b_nan = isnan(b->value);
    if (a_nan || b_nan)
        return a_nan == b_nan ? 0 : a_nan ? 1 : -1;
    return a->value == b->value ? 0 : a->value > b->value ? 1 : -1;
}

/* Whether `a` comes before `b` in the result. */
static bool ranks_before(const ranking_t *r, const candidate_t *a, const candidate_t *b)
{
    int order = value_order(r, a, b);
    if (order == 0)
        return a->index < b->index;
    return r->largest ? order > 0 : order < 0;
}

/* Restores the heap below `i`: heap[0] is the candidate ranking last among the `n` kept. */
static void sift_down(const ranking_t *r, candidate_t *heap, int64_t n, int64_t i)
{
    for (;;) {
        int64_t worst = i, left = 2 * i + 1, right = left + 1;
        if (left < n && ranks_before(r, &heap[worst], &heap[left]))
            worst = left;
        if (right < n && ranks_before(r, &heap[worst], &heap[right]))
            worst = right;
        if (worst == i)
            return;
        candidate_t t = heap[i];
        heap[i] = heap[worst];
        heap[worst] = t;
        i = worst;
    }
}

static void sift_up(const ranking_t *r, candidate_t *heap, int64_t i)
{
    while (i > 0) {
        int64_t parent = (i - 1) / 2;
        if (!ranks_before(r, &heap[parent], &heap[i]))
            return;
        candidate_t t = heap[i];
        heap[i] = heap[parent];
        heap[parent] = t;
        i = parent;
    }
}

static int topk_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                    onnx_scratch_t *scratch, inferd_err_t *err)
{
    const topk_params_t *p = node->params;
    const inferd_tensor_t *x = in[0];
    int axis = onnx_axis(p->axis, x->ndim, 0);
    int64_t k;
    int rc = topk_k(node, in, &k, err);
    if (rc != 0)
        return rc;
    int64_t outer = 1, length = x->shape[axis], inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= x->shape[d];
    for (int d = axis + 1; d < x->ndim; d++)
        inner *= x->shape[d];
    if (k == 0 || outer * inner == 0)
        return 0;
    candidate_t *heap = onnx_scratch_get(scratch, sizeof(candidate_t) * (size_t)k);
    if (heap == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory for TopK");
    ranking_t r = {p->largest, onnx_is_integer(x->dtype), onnx_is_unsigned(x->dtype)};
    size_t element = inferd_dtype_size(x->dtype);
    const uint8_t *src = x->data;
    uint8_t *values = out[0].data;
    int64_t *indices = out[1].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * length * inner + i, kept = 0;
            for (int64_t j = 0; j < length; j++) { /* keep the best k seen so far */
                int64_t at = base + j * inner;
                candidate_t c = {0, 0, j};
                if (r.is_integer)
                    c.int_value = onnx_get_i64(x, at);
                else
                    c.value = onnx_load_f64(x, at);
                if (kept < k) {
                    heap[kept] = c;
                    sift_up(&r, heap, kept++);
                } else if (ranks_before(&r, &c, &heap[0])) {
                    heap[0] = c;
                    sift_down(&r, heap, k, 0);
                }
            }
            for (int64_t n = k; n > 0; n--) { /* the worst leaves first: fill from the back */
                int64_t dst = o * k * inner + (n - 1) * inner + i;
                int64_t index = heap[0].index;
                indices[dst] = index;
                memcpy(values + (size_t)dst * element,
                       src + (size_t)(base + index * inner) * element, element);
                heap[0] = heap[n - 1];
                sift_down(&r, heap, n - 1, 0);
            }
        }
    return 0;
}

static const onnx_op_t onnx_op_topk = {"TopK", 1, 2, 2, 2, topk_prepare, topk_shape, topk_run};

const onnx_op_t *const onnx_ops_topk[] = {&onnx_op_topk, NULL};
