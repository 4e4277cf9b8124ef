/* Matrix products: Gemm (alpha * A' * B' + beta * C, C broadcast to the result) and MatMul with
 * numpy semantics (1-D operands promoted, batch dimensions broadcast). FP32 through oneDNN's
 * sgemm, which picks the best kernel for this CPU. */
#include "ops.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

/* ==== Gemm ==== */

typedef struct {
    float alpha, beta;
    bool trans_a, trans_b;
} gemm_params_t;

static int gemm_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    gemm_params_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    node->params = p;
    p->alpha = onnx_attr_float(proto, "alpha", 1.0f);
    p->beta = onnx_attr_float(proto, "beta", 1.0f);
    p->trans_a = onnx_attr_int(proto, "transA", 0) != 0;
    p->trans_b = onnx_attr_int(proto, "transB", 0) != 0;
    if (node->opset < 7 && onnx_attr_int(proto, "broadcast", 0) != 0)
        return inferd_fail(err, INFERD_EMODEL, "legacy broadcast attribute is unsupported");
    return 0;
}

static int gemm_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, inferd_err_t *err)
{
    const gemm_params_t *p = node->params;
    const inferd_tensor_t *a = in[0], *b = in[1], *c = node->n_inputs > 2 ? in[2] : NULL;
    if (a->dtype != INFERD_DT_FP32 || b->dtype != INFERD_DT_FP32 ||
        (c != NULL && c->dtype != INFERD_DT_FP32))
        return inferd_fail(err, INFERD_EINVAL, "Gemm supports FP32 only");
    if (a->ndim != 2 || b->ndim != 2)
        return inferd_fail(err, INFERD_EINVAL, "Gemm needs 2-D A and B (got rank %d and %d)",
                           a->ndim, b->ndim);
    int64_t m = p->trans_a ? a->shape[1] : a->shape[0], k = p->trans_a ? a->shape[0] : a->shape[1];
    int64_t kb = p->trans_b ? b->shape[1] : b->shape[0], n = p->trans_b ? b->shape[0] : b->shape[1];
    if (k != kb)
        return inferd_fail(err, INFERD_EINVAL, "Gemm inner dimensions differ (%lld and %lld)",
                           (long long)k, (long long)kb);
    if (c != NULL) {
        /* C broadcasts one way, to [m, n] */
        int64_t cm = c->ndim == 2 ? c->shape[0] : 1;
        int64_t cn = c->ndim >= 1 ? c->shape[c->ndim - 1] : 1;
        if (c->ndim > 2 || (cm != 1 && cm != m) || (cn != 1 && cn != n))
            return inferd_fail(err, INFERD_EINVAL, "Gemm's C does not broadcast to [%lld,%lld]",
                               (long long)m, (long long)n);
    }
    int64_t shape[2] = {m, n};
    onnx_set_shape(&out[0], INFERD_DT_FP32, shape, 2);
    return 0;
}

static int sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *y,
                 inferd_err_t *err)
{
    if (m == 0 || n == 0)
        return 0;
    if (k == 0) { /* an empty sum: y = beta * y */
        for (int64_t i = 0; i < m * n; i++)
            y[i] = beta == 0.0f ? 0.0f : beta * y[i];
        return 0;
    }
    dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a,
                                      lda, b, ldb, beta, y, n);
    if (status != dnnl_success)
        return inferd_fail(err, INFERD_EINTERNAL, "oneDNN sgemm failed (status %d)", (int)status);
    return 0;
}

static int gemm_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                    onnx_scratch_t *scratch, inferd_err_t *err)
{
    const gemm_params_t *p = node->params;
    const inferd_tensor_t *a = in[0], *b = in[1], *c = node->n_inputs > 2 ? in[2] : NULL;
    int64_t m = out[0].shape[0], n = out[0].shape[1];
    int64_t k = p->trans_a ? a->shape[0] : a->shape[1];
    float *y = out[0].data;
    float beta = 0.0f;
    if (c != NULL && p->beta != 0.0f) {
        int64_t cm = c->ndim == 2 ? c->shape[0] : 1;
        int64_t cn = c->ndim >= 1 ? c->shape[c->ndim - 1] : 1;
        const float *cd = c->data;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                y[i * n + j] = p->beta * cd[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
        beta = 1.0f;
    }
    return sgemm(p->trans_a, p->trans_b, m, n, k, p->alpha, a->data, a->shape[1], b->data,
                 b->shape[1], beta, y, err);
}

static const onnx_op_t onnx_op_gemm = {"Gemm", 2, 3, 1, 1, gemm_prepare, gemm_shape, gemm_run};

/* ==== MatMul ==== */

/* The operands as [batch..., rows, cols] after numpy's 1-D promotion. */
typedef struct {
    int64_t m, k, n;
    int batch_rank;
    int64_t batch[INFERD_MAX_DIMS];
    int64_t a_batch_stride[INFERD_MAX_DIMS], b_batch_stride[INFERD_MAX_DIMS]; /* in matrices */
} matmul_plan_t;

static int matmul_plan(const inferd_tensor_t *a, const inferd_tensor_t *b, matmul_plan_t *plan,
                       int64_t *out_shape, int *out_ndim, inferd_err_t *err)
{
    if (a->ndim == 0 || b->ndim == 0)
        return inferd_fail(err, INFERD_EINVAL, "MatMul needs inputs of rank 1 or more");
    int64_t a_shape[INFERD_MAX_DIMS + 1], b_shape[INFERD_MAX_DIMS + 1];
    int a_rank = a->ndim, b_rank = b->ndim;
    memcpy(a_shape, a->shape, sizeof(int64_t) * (size_t)a_rank);
    memcpy(b_shape, b->shape, sizeof(int64_t) * (size_t)b_rank);
    if (a_rank == 1) { /* [k] -> [1, k] */
        a_shape[1] = a_shape[0];
        a_shape[0] = 1;
        a_rank = 2;
    }
    if (b_rank == 1) { /* [k] -> [k, 1] */
        b_shape[1] = 1;
        b_rank = 2;
    }
    plan->m = a_shape[a_rank - 2];
    plan->k = a_shape[a_rank - 1];
    plan->n = b_shape[b_rank - 1];
    if (b_shape[b_rank - 2] != plan->k)
        return inferd_fail(err, INFERD_EINVAL, "MatMul inner dimensions differ (%lld and %lld)",
                           (long long)plan->k, (long long)b_shape[b_rank - 2]);
    int ab = a_rank - 2, bb = b_rank - 2, rank = ab > bb ? ab : bb;
    if (rank + 2 > INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EINVAL, "MatMul result has too many dimensions");
    int64_t a_stride = 1, b_stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        int da = d - (rank - ab), db = d - (rank - bb);
        int64_t sa = da >= 0 ? a_shape[da] : 1, sb = db >= 0 ? b_shape[db] : 1;
        if (sa != sb && sa != 1 && sb != 1)
            return inferd_fail(err, INFERD_EINVAL, "MatMul batch dimensions do not broadcast");
        plan->batch[d] = sa == 1 ? sb : sa;
        plan->a_batch_stride[d] = sa == 1 ? 0 : a_stride;
        plan->b_batch_stride[d] = sb == 1 ? 0 : b_stride;
        a_stride *= sa;
        b_stride *= sb;
    }
    plan->batch_rank = rank;
    /* the result drops the promoted dimensions again */
    int nd = 0;
    for (int d = 0; d < rank; d++)
        out_shape[nd++] = plan->batch[d];
    if (a->ndim > 1)
        out_shape[nd++] = plan->m;
    if (b->ndim > 1)
        out_shape[nd++] = plan->n;
    *out_ndim = nd;
    return 0;
}

static int matmul_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, inferd_err_t *err)
{
    if (in[0]->dtype != INFERD_DT_FP32 || in[1]->dtype != INFERD_DT_FP32)
        return inferd_fail(err, INFERD_EINVAL, "MatMul supports FP32 only");
    matmul_plan_t plan;
    int64_t shape[INFERD_MAX_DIMS];
    int ndim;
    int rc = matmul_plan(in[0], in[1], &plan, shape, &ndim, err);
    if (rc == 0)
        onnx_set_shape(&out[0], INFERD_DT_FP32, shape, ndim);
    return rc;
}

static int matmul_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    matmul_plan_t plan;
    int64_t shape[INFERD_MAX_DIMS];
    int ndim;
    int rc = matmul_plan(in[0], in[1], &plan, shape, &ndim, err);
    if (rc != 0)
        return rc;
    int64_t batches = 1;
    for (int d = 0; d < plan.batch_rank; d++)
        batches *= plan.batch[d];
    const float *a = in[0]->data, *b = in[1]->data;
    float *y = out[0].data;
    int64_t index[INFERD_MAX_DIMS] = {0}, a_offset = 0, b_offset = 0;
    for (int64_t i = 0; i < batches && rc == 0; i++) {
        rc = sgemm(false, false, plan.m, plan.n, plan.k, 1.0f, a + a_offset * plan.m * plan.k,
                   plan.k, b + b_offset * plan.k * plan.n, plan.n, 0.0f, y + i * plan.m * plan.n,
                   err);
        for (int d = plan.batch_rank - 1; d >= 0; d--) { /* odometer over batch indices */
            index[d]++;
            a_offset += plan.a_batch_stride[d];
            b_offset += plan.b_batch_stride[d];
            if (index[d] < plan.batch[d])
                break;
            a_offset -= plan.a_batch_stride[d] * index[d];
            b_offset -= plan.b_batch_stride[d] * index[d];
            index[d] = 0;
        }
    }
    return rc;
}

static const onnx_op_t onnx_op_matmul = {"MatMul", 2, 2, 1, 1, NULL, matmul_shape, matmul_run};

const onnx_op_t *const onnx_ops_gemm[] = {&onnx_op_gemm, &onnx_op_matmul, NULL};
