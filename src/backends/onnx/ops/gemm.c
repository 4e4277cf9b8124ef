/* Matrix products: Gemm (alpha * A' * B' + beta * C, C broadcast to the result), MatMul with
 * numpy semantics (1-D operands promoted, batch dimensions broadcast) and MatMulInteger (8-bit
 * operands less their zero points, INT32 result). FP32 goes through oneDNN's sgemm, which picks
 * the best kernel for this CPU; the rarer datatypes (FP64, FP16, the integers) through plain
 * loops. onnx_sgemm is shared with Einsum (numeric.h). */
#include "numeric.h"
#include "unary.h"

#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

int onnx_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *y,
               int64_t ldy, inferd_err_t *err)
{
    if (m == 0 || n == 0)
        return 0;
    if (k == 0) { /* an empty sum: y = beta * y */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                y[i * ldy + j] = beta == 0.0f ? 0.0f : beta * y[i * ldy + j];
        return 0;
    }
    if (onnx_gemv_large_applies(trans_a, trans_b, m, n, k, alpha, beta)) {
        onnx_gemv_large(m, n, k, a, lda, b, ldb, y, ldy);
        return 0;
    }
    dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a,
                                      lda, b, ldb, beta, y, ldy);
    if (status != dnnl_success)
        return inferd_fail(err, INFERD_EINTERNAL, "oneDNN sgemm failed (status %d)", (int)status);
    return 0;
}

/* ==== Gemm ==== */

typedef struct {
    float alpha, beta;
    bool trans_a, trans_b;
    bool is_b_packed; /* B (in node->shared or in place) packed for onnx_gemm_small at load */
} gemm_params_t;

static int gemm_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    gemm_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    p->alpha = onnx_attr_float(proto, "alpha", 1.0f);
    p->beta = onnx_attr_float(proto, "beta", 1.0f);
    p->trans_a = onnx_attr_int(proto, "transA", 0) != 0;
    p->trans_b = onnx_attr_int(proto, "transB", 0) != 0;
    /* Before opset 7, "broadcast": 1 allowed C to broadcast to [M, N]; Gemm here always lets
     * C broadcast that way (and checks the shapes), so the attribute needs nothing more. */
    return 0;
}

/* C's extent along the rows and columns of the result (1 where it is broadcast). */
static void gemm_c_extent(const inferd_tensor_t *c, int64_t *cm, int64_t *cn)
{
    *cm = c->ndim == 2 ? c->shape[0] : 1;
    *cn = c->ndim >= 1 ? c->shape[c->ndim - 1] : 1;
}

static int gemm_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, inferd_err_t *err)
{
    const gemm_params_t *p = node->params;
    const inferd_tensor_t *a = in[0], *b = in[1], *c = node->n_inputs > 2 ? in[2] : NULL;
    if (a->dtype != INFERD_DT_FP32 && a->dtype != INFERD_DT_FP64)
        return onnx_fail_dtype(err, a, "FP32 and FP64");
    if (b->dtype != a->dtype || (c != NULL && c->dtype != a->dtype))
        return inferd_fail(err, INFERD_EINVAL, "Gemm's inputs have different datatypes");
    if (a->ndim != 2 || b->ndim != 2)
        return inferd_fail(err, INFERD_EINVAL, "Gemm needs 2-D A and B (got rank %d and %d)",
                           a->ndim, b->ndim);
    int64_t m = p->trans_a ? a->shape[1] : a->shape[0], k = p->trans_a ? a->shape[0] : a->shape[1];
    int64_t kb = p->trans_b ? b->shape[1] : b->shape[0], n = p->trans_b ? b->shape[0] : b->shape[1];
    if (k != kb)
        return inferd_fail(err, INFERD_EINVAL, "Gemm inner dimensions differ (%lld and %lld)",
                           (long long)k, (long long)kb);
    if (c != NULL) { /* C broadcasts one way, to [m, n]: a scalar, [n], [1], [m,1], [1,n]... */
        int64_t cm, cn;
        gemm_c_extent(c, &cm, &cn);
        if (c->ndim > 2 || (cm != 1 && cm != m) || (cn != 1 && cn != n))
            return inferd_fail(err, INFERD_EINVAL, "Gemm's C does not broadcast to [%lld,%lld]",
                               (long long)m, (long long)n);
    }
    int64_t shape[2] = {m, n};
    onnx_set_shape(&out[0], a->dtype, shape, 2);
    return 0;
}

/* y = alpha * A' * B' + beta * C in double precision (the FP64 path). */
static void gemm_f64(const gemm_params_t *p, const inferd_tensor_t *a, const inferd_tensor_t *b,
                     const inferd_tensor_t *c, int64_t m, int64_t n, int64_t k, double *y)
{
    const double *ad = a->data, *bd = b->data;
    /* element (i, kk) of A' and (kk, j) of B' through strides, so transposes cost nothing */
    int64_t a_row = p->trans_a ? 1 : k, a_col = p->trans_a ? m : 1;
    int64_t b_row = p->trans_b ? 1 : n, b_col = p->trans_b ? k : 1;
    int64_t cm = 1, cn = 1;
    if (c != NULL)
        gemm_c_extent(c, &cm, &cn);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double sum = 0.0;
            for (int64_t kk = 0; kk < k; kk++)
                sum += ad[i * a_row + kk * a_col] * bd[kk * b_row + j * b_col];
            double value = (double)p->alpha * sum;
            if (c != NULL && p->beta != 0.0f)
                value += (double)p->beta *
                         ((const double *)c->data)[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
            y[i * n + j] = value;
        }
}

/* ==== the fused epilogue (optimize.c: bias Add and Relu/Clip/Sigmoid after a product) ==== */

/* The fused activation over `count` FP32 values, as the Relu, Clip and Sigmoid ops compute it. */
static void activate_f32(const onnx_fused_t *f, float *y, int64_t count)
{
    switch (f->activation) {
    case ONNX_FUSED_RELU:
        for (int64_t i = 0; i < count; i++)
            y[i] = y[i] < 0 ? 0.0f : y[i]; /* NaN stays NaN */
        break;
    case ONNX_FUSED_CLIP:
        for (int64_t i = 0; i < count; i++) {
            float v = y[i] < f->alpha ? f->alpha : y[i];
            y[i] = v > f->beta ? f->beta : v;
        }
        break;
    case ONNX_FUSED_SIGMOID: {
        int64_t i = 0;
        for (; i + 4 <= count; i += 4) {
            f32x4_t v;
            memcpy(&v, y + i, sizeof(v));
            v = f32x4_sigmoid(v);
            memcpy(y + i, &v, sizeof(v));
        }
        for (; i < count; i++) {
            f32x4_t v = {y[i], 0, 0, 0};
            y[i] = f32x4_sigmoid(v)[0];
        }
        break;
    }
    case ONNX_FUSED_NONE:
        break;
    }
}

/* The fused activation over a result of another datatype (FP64, FP16, integers: Relu). */
static void activate_other(const onnx_fused_t *f, inferd_tensor_t *y)
{
    int64_t count = inferd_tensor_count(y);
    for (int64_t i = 0; i < count; i++) {
        if (onnx_is_integer(y->dtype)) { /* only Relu takes integers */
            if (f->activation == ONNX_FUSED_RELU && onnx_get_i64(y, i) < 0)
                onnx_set_f64(y, i, 0.0);
            continue;
        }
        double v = onnx_get_f64(y, i);
        if (f->activation == ONNX_FUSED_RELU) {
            v = v < 0 ? 0.0 : v;
        } else if (f->activation == ONNX_FUSED_CLIP) {
            v = v < f->alpha ? f->alpha : v;
            v = v > f->beta ? f->beta : v;
        } else if (f->activation == ONNX_FUSED_SIGMOID && y->dtype == INFERD_DT_FP64) {
            v = v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
        } else if (f->activation == ONNX_FUSED_SIGMOID) {
            f32x4_t x = {(float)v, 0, 0, 0};
            v = f32x4_sigmoid(x)[0];
        }
        onnx_set_f64(y, i, v);
    }
}

static int gemm_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                    onnx_scratch_t *scratch, inferd_err_t *err)
{
    (void)scratch;
    const gemm_params_t *p = node->params;
    const inferd_tensor_t *a = in[0], *b = in[1], *c = node->n_inputs > 2 ? in[2] : NULL;
    int64_t m = out[0].shape[0], n = out[0].shape[1];
    int64_t k = p->trans_a ? a->shape[0] : a->shape[1];
    if (a->dtype == INFERD_DT_FP64) {
        gemm_f64(p, a, b, c, m, n, k, out[0].data);
        if (node->fused.activation != ONNX_FUSED_NONE)
            activate_other(&node->fused, &out[0]);
        return 0;
    }
    float *y = out[0].data;
    const float *bd = node->shared != NULL ? node->shared : b->data;
    int64_t cm = 0, cn = 0;
    bool has_c = c != NULL && p->beta != 0.0f;
    if (has_c)
        gemm_c_extent(c, &cm, &cn);
    /* y = alpha * A' * B' first, then + beta * C and the activation. The small-B kernel computes
     * each row the same whatever the number of rows (gemm_small.c), so with it a request's
     * answer does not depend on the batch it ran in. A larger B goes through onnx_sgemm: one or
     * two rows on one thread stream it in gemv_large.c (the same bits either way), more rows
     * take oneDNN's blocked kernels, whose sums may differ from those in the last bits. Which
     * layout B has was settled at load (onnx_gemm_finalize). */
    if (p->is_b_packed) {
        /* a bias row and Relu/Clip go into the kernel's stores; other C shapes and Sigmoid
         * take the passes below */
        bool is_fusable =
            (!has_c || (cm == 1 && cn == n)) && node->fused.activation != ONNX_FUSED_SIGMOID;
        onnx_gemm_epilogue_t epilogue = {
            .bias = has_c ? c->data : NULL,
            .bias_scale = p->beta,
            .activation = node->fused.activation,
            .low = node->fused.alpha,
            .high = node->fused.beta,
        };
        onnx_gemm_small(m, n, k, p->alpha, a->data, a->shape[1], bd, y, n,
                        is_fusable ? &epilogue : NULL);
        if (is_fusable)
            return 0;
    } else {
        bool trans_b = p->trans_b && node->shared == NULL; /* the shared copy is [k, n] */
        int rc = onnx_sgemm(p->trans_a, trans_b, m, n, k, p->alpha, a->data, a->shape[1], bd,
                            trans_b ? b->shape[1] : n, 0.0f, y, n, err);
        if (rc != 0)
            return rc;
    }
    /* + beta * C, then the fused activation, row by row while the row is in cache */
    for (int64_t i = 0; i < m; i++) {
        float *row = y + i * n;
        if (has_c) {
            const float *cd = (const float *)c->data + (cm == 1 ? 0 : i) * cn;
            for (int64_t j = 0; j < n; j++)
                row[j] += p->beta * cd[cn == 1 ? 0 : j];
        }
        activate_f32(&node->fused, row, n);
    }
    return 0;
}

/* A constant FP32 B, made at load into the layout its kernel reads best, once for every
 * execution context: packed for onnx_gemm_small when it fits (and A is not transposed), else,
 * with transB, transposed into [k, n] so that the node runs as transB 0 (the layout
 * gemv_large.c streams in order). Large copies sit in huge pages (onnx_weights_alloc). When
 * this Gemm alone reads B, in place (the plain copy is gone); when other nodes read it too, into
 * node->shared. */
int onnx_gemm_finalize(onnx_node_t *node, inferd_tensor_t *const *constants, uint64_t is_owned,
                       inferd_err_t *err)
{
    gemm_params_t *p = node->params;
    inferd_tensor_t *b = constants[1];
    if (b == NULL || b->dtype != INFERD_DT_FP32 || b->ndim != 2 || b->data == NULL)
        return 0;
    int64_t k = p->trans_b ? b->shape[1] : b->shape[0], n = p->trans_b ? b->shape[0] : b->shape[1];
    bool is_packed = !p->trans_a && onnx_gemm_small_fits(k, n);
    if (!is_packed && !p->trans_b)
        return 0;
    size_t count = is_packed ? onnx_gemm_small_packed_count(k, n) : (size_t)(n * k);
    float *t = onnx_weights_alloc(count * sizeof(float) + 1);
    if (t == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    const float *src = b->data;
    if (is_packed) {
        onnx_gemm_small_pack(src, k, n, p->trans_b ? 1 : n, p->trans_b ? k : 1, t);
    } else {
        for (int64_t j = 0; j < n; j++)
            for (int64_t kk = 0; kk < k; kk++)
                t[kk * n + j] = src[j * k + kk];
    }
    p->is_b_packed = is_packed;
    if (!(is_owned & 2u)) { /* the plain B stays for its other readers */
        node->shared = t;
        node->shared_free = free;
        return 0;
    }
    /* B keeps its logical shape [k, n]; a packed one's storage is larger (padded panels) */
    free(b->data);
    b->data = t;
    b->shape[0] = k;
    b->shape[1] = n;
    p->trans_b = false;
    return 0;
}

static const onnx_op_t onnx_op_gemm = {"Gemm", 2, 3, 1, 1, gemm_prepare, gemm_shape, gemm_run};

/* ==== MatMul and MatMulInteger ==== */

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

/* One [m,k] x [k,n] product of the batch: operands start at element offsets `a_at`/`b_at`, the
 * result at `y_at`. */
typedef int (*matmul_kernel_fn)(const onnx_node_t *node, const inferd_tensor_t *const *in,
                                inferd_tensor_t *y, const matmul_plan_t *plan, int64_t a_at,
                                int64_t b_at, int64_t y_at, inferd_err_t *err);

/* Runs `kernel` over every (broadcast) batch of the plan. Returns the first kernel failure. */
static int matmul_batches(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          inferd_tensor_t *y, const matmul_plan_t *plan, matmul_kernel_fn kernel,
                          inferd_err_t *err)
{
    int64_t batches = 1;
    for (int d = 0; d < plan->batch_rank; d++)
        batches *= plan->batch[d];
    int64_t index[INFERD_MAX_DIMS] = {0}, a_offset = 0, b_offset = 0;
    int rc = 0;
    for (int64_t i = 0; i < batches && rc == 0; i++) {
        rc = kernel(node, in, y, plan, a_offset * plan->m * plan->k, b_offset * plan->k * plan->n,
                    i * plan->m * plan->n, err);
        for (int d = plan->batch_rank - 1; d >= 0; d--) { /* odometer over batch indices */
            index[d]++;
            a_offset += plan->a_batch_stride[d];
            b_offset += plan->b_batch_stride[d];
            if (index[d] < plan->batch[d])
                break;
            a_offset -= plan->a_batch_stride[d] * index[d];
            b_offset -= plan->b_batch_stride[d] * index[d];
            index[d] = 0;
        }
    }
    return rc;
}

static int matmul_kernel_f32(const onnx_node_t *node, const inferd_tensor_t *const *in,
                             inferd_tensor_t *y, const matmul_plan_t *plan, int64_t a_at,
                             int64_t b_at, int64_t y_at, inferd_err_t *err)
{
    return onnx_sgemm(false, false, plan->m, plan->n, plan->k, 1.0f,
                      (const float *)in[0]->data + a_at, plan->k, (const float *)in[1]->data + b_at,
                      plan->n, 0.0f, (float *)y->data + y_at, plan->n, err);
}

/* FP64 and FP16 accumulate in double; the integers in uint64, which wraps like the C types. */
static int matmul_kernel_plain(const onnx_node_t *node, const inferd_tensor_t *const *in,
                               inferd_tensor_t *y, const matmul_plan_t *plan, int64_t a_at,
                               int64_t b_at, int64_t y_at, inferd_err_t *err)
{
    const inferd_tensor_t *a = in[0], *b = in[1];
    bool is_float = onnx_is_float(a->dtype);
    for (int64_t i = 0; i < plan->m; i++)
        for (int64_t j = 0; j < plan->n; j++) {
            double sum = 0.0;
            uint64_t isum = 0;
            for (int64_t kk = 0; kk < plan->k; kk++) {
                int64_t ai = a_at + i * plan->k + kk, bi = b_at + kk * plan->n + j;
                if (is_float)
                    sum += onnx_load_f64(a, ai) * onnx_load_f64(b, bi);
                else
                    isum += (uint64_t)onnx_get_i64(a, ai) * (uint64_t)onnx_get_i64(b, bi);
            }
            if (is_float)
                onnx_set_f64(y, y_at + i * plan->n + j, sum);
            else
                onnx_store_i64(y, y_at + i * plan->n + j, (int64_t)isum);
        }
    return 0;
}

/* B as the product sees it: input 1, or input 1 with its axes permuted by the folded
 * Transpose (node->fused.b_perm). Fills *OUT_view (input 1's data, the permuted shape) and, per
 * axis of the view, its stride in elements of input 1's data. Returns 0 or INFERD_EINVAL. */
static int matmul_b_view(const onnx_node_t *node, const inferd_tensor_t *b,
                         inferd_tensor_t *OUT_view, int64_t *OUT_strides, inferd_err_t *err)
{
    int64_t strides[INFERD_MAX_DIMS];
    onnx_strides(b->shape, b->ndim, strides);
    *OUT_view = *b;
    int rank = node->fused.b_perm_rank;
    if (rank == 0) {
        memcpy(OUT_strides, strides, sizeof(int64_t) * (size_t)b->ndim);
        return 0;
    }
    if (b->ndim != rank)
        return inferd_fail(
            err, INFERD_EINVAL,
            "MatMul: B has rank %d but the Transpose folded into it permutes %d axes", b->ndim,
            rank);
    for (int d = 0; d < rank; d++) {
        OUT_view->shape[d] = b->shape[node->fused.b_perm[d]];
        OUT_strides[d] = strides[node->fused.b_perm[d]];
    }
    return 0;
}

/* Copies the permuted view into `to` (row-major in the view's shape). */
static void matmul_b_gather(const inferd_tensor_t *view, const int64_t *strides, void *to)
{
    size_t element = inferd_dtype_size(view->dtype);
    int64_t count = inferd_tensor_count(view), index[INFERD_MAX_DIMS] = {0}, at = 0;
    const char *from = view->data;
    for (int64_t i = 0; i < count; i++) {
        memcpy((char *)to + (size_t)i * element, from + (size_t)at * element, element);
        for (int d = view->ndim - 1; d >= 0; d--) { /* odometer over the view's indices */
            at += strides[d];
            if (++index[d] < view->shape[d])
                break;
            at -= strides[d] * index[d];
            index[d] = 0;
        }
    }
}

static int matmul_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, inferd_err_t *err)
{
    inferd_dtype_t dtype = in[0]->dtype;
    if (dtype != INFERD_DT_FP32 && dtype != INFERD_DT_FP64 && dtype != INFERD_DT_FP16 &&
        dtype != INFERD_DT_INT32 && dtype != INFERD_DT_INT64 && dtype != INFERD_DT_UINT32 &&
        dtype != INFERD_DT_UINT64)
        return onnx_fail_dtype(err, in[0], "FP32, FP64, FP16, INT32, INT64, UINT32 and UINT64");
    if (in[1]->dtype != dtype)
        return inferd_fail(err, INFERD_EINVAL, "MatMul's inputs have different datatypes");
    matmul_plan_t plan;
    int64_t shape[INFERD_MAX_DIMS];
    int ndim;
    inferd_tensor_t b;
    int64_t b_strides[INFERD_MAX_DIMS];
    int rc = matmul_b_view(node, in[1], &b, b_strides, err);
    if (rc == 0)
        rc = matmul_plan(in[0], &b, &plan, shape, &ndim, err);
    if (rc == 0)
        onnx_set_shape(&out[0], dtype, shape, ndim);
    return rc;
}

/* FP32 products of many matrices in one call, when A holds every matrix of the batch (no
 * broadcast of A): with one plain B, A's rows are one tall matrix (one sgemm, 'N','N' with beta 0
 * as Gemm calls it); else a batched oneDNN matmul, B row-major or transposed per matrix (a B
 * permuted otherwise is gathered into scratch first). Returns INFERD_EUNSUPPORTED when neither
 * applies. */
static int matmul_f32_batched(const inferd_tensor_t *a, const inferd_tensor_t *b,
                              const int64_t *b_strides, bool is_b_permuted, inferd_tensor_t *y,
                              const matmul_plan_t *plan, onnx_scratch_t *scratch, inferd_err_t *err)
{
    int64_t batches = 1;
    for (int d = 0; d < plan->batch_rank; d++)
        batches *= plan->batch[d];
    int64_t a_matrices = inferd_tensor_count(a) / (plan->m * plan->k);
    int64_t b_matrices = inferd_tensor_count(b) / (plan->k * plan->n);
    if (a_matrices != batches || (b_matrices != 1 && b_matrices != batches) ||
        (batches < 2 && !is_b_permuted))
        return INFERD_EUNSUPPORTED;
    if (b_matrices == 1 && !is_b_permuted)
        return onnx_sgemm(false, false, batches * plan->m, plan->n, plan->k, 1.0f, a->data, plan->k,
                          b->data, plan->n, 0.0f, y->data, plan->n, err);
    onnx_matmul_desc_t d;
    memset(&d, 0, sizeof(d)); /* compared byte for byte, padding included */
    d.batch = batches;
    d.m = plan->m;
    d.k = plan->k;
    d.n = plan->n;
    d.is_b_batched = b_matrices > 1;
    int rank = b->ndim;
    int64_t k_stride = rank >= 2 ? b_strides[rank - 2] : 1;
    int64_t n_stride = rank >= 2 ? b_strides[rank - 1] : 1;
    int64_t batch_stride = plan->k * plan->n; /* unused when B is not batched */
    if (d.is_b_batched && rank == 3)
        batch_stride = b_strides[0];
    else if (d.is_b_batched && is_b_permuted)
        return INFERD_EUNSUPPORTED; /* several permuted batch axes */
    /* oneDNN's fast (brgemm) kernels read each B matrix row-major or transposed, the matrices one
     * after another; any other permutation is first gathered that way, by runs of the innermost
     * contiguous axis */
    bool is_row_major = n_stride == 1 && k_stride == plan->n;
    bool is_transposed = k_stride == 1 && n_stride == plan->k;
    const float *b_data = b->data;
    if (!((is_row_major || is_transposed) && batch_stride == plan->k * plan->n)) {
        bool as_transposed = k_stride == 1 && n_stride != 1;
        float *gathered =
            onnx_scratch_get(scratch, sizeof(float) * (size_t)(b_matrices * plan->k * plan->n));
        if (gathered == NULL)
            return inferd_fail(err, INFERD_ENOMEM, "MatMul: out of memory");
        int64_t outer = as_transposed ? plan->n : plan->k,
                inner = as_transposed ? plan->k : plan->n;
        int64_t outer_stride = as_transposed ? n_stride : k_stride;
        int64_t inner_stride = as_transposed ? k_stride : n_stride;
        const float *from = b->data;
        for (int64_t m = 0; m < b_matrices; m++)
            for (int64_t o = 0; o < outer; o++) {
                const float *row = from + m * batch_stride + o * outer_stride;
                float *to = gathered + (m * outer + o) * inner;
                if (inner_stride == 1)
                    memcpy(to, row, sizeof(float) * (size_t)inner);
                else
                    for (int64_t i = 0; i < inner; i++)
                        to[i] = row[i * inner_stride];
            }
        b_data = gathered;
        is_transposed = as_transposed;
    }
    d.b_batch_stride = plan->k * plan->n;
    d.b_k_stride = is_transposed ? 1 : plan->n;
    d.b_n_stride = is_transposed ? plan->k : 1;
    return onnx_matmul_dnnl(scratch->node_state, &d, a->data, b_data, y->data, err);
}

static int matmul_product(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err);

/* The product, then the fused bias and activation (optimize.c), row by row. */
static int matmul_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    int rc = matmul_product(node, in, out, scratch, err);
    const onnx_fused_t *f = &node->fused;
    if (rc != 0 || (f->bias_input == 0 && f->activation == ONNX_FUSED_NONE))
        return rc;
    if (out[0].dtype != INFERD_DT_FP32) {
        if (f->bias_input != 0) /* the optimizer fuses FP32 biases only, so FP32 products */
            return inferd_fail(err, INFERD_EINVAL, "MatMul: %s product with an FP32 bias",
                               inferd_dtype_name(out[0].dtype));
        activate_other(f, &out[0]);
        return 0;
    }
    int64_t n = out[0].ndim > 0 ? out[0].shape[out[0].ndim - 1] : 1;
    int64_t count = inferd_tensor_count(&out[0]);
    const inferd_tensor_t *bias = f->bias_input != 0 ? in[f->bias_input] : NULL;
    int64_t bias_count = bias != NULL ? inferd_tensor_count(bias) : 0;
    if (bias != NULL && bias_count != 1 && bias_count != n)
        return inferd_fail(err, INFERD_EINVAL,
                           "MatMul: a bias of %lld values cannot be added to rows of %lld",
                           (long long)bias_count, (long long)n);
    float *y = out[0].data;
    for (int64_t at = 0; n > 0 && at < count; at += n) {
        if (bias != NULL) {
            const float *bd = bias->data;
            for (int64_t j = 0; j < n; j++)
                y[at + j] += bd[bias_count == 1 ? 0 : j];
        }
        activate_f32(f, y + at, n);
    }
    return 0;
}

static int matmul_product(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    matmul_plan_t plan;
    int64_t shape[INFERD_MAX_DIMS];
    int ndim;
    inferd_tensor_t b;
    int64_t b_strides[INFERD_MAX_DIMS];
    int rc = matmul_b_view(node, in[1], &b, b_strides, err);
    if (rc == 0)
        rc = matmul_plan(in[0], &b, &plan, shape, &ndim, err);
    if (rc != 0)
        return rc;
    bool is_b_permuted = node->fused.b_perm_rank > 0;
    if (in[0]->dtype == INFERD_DT_FP32 && plan.m * plan.n > 0 && plan.k > 0) {
        rc = matmul_f32_batched(in[0], &b, b_strides, is_b_permuted, &out[0], &plan, scratch, err);
        if (rc != INFERD_EUNSUPPORTED)
            return rc;
    }
    if (is_b_permuted) { /* the general path wants B row-major: gather it into scratch */
        void *gathered = onnx_scratch_get(
            scratch, (size_t)inferd_tensor_count(&b) * inferd_dtype_size(b.dtype) + 1);
        if (gathered == NULL)
            return inferd_fail(err, INFERD_ENOMEM, "MatMul: out of memory");
        matmul_b_gather(&b, b_strides, gathered);
        b.data = gathered;
    }
    const inferd_tensor_t *operands[2] = {in[0], &b};
    return matmul_batches(node, operands, &out[0], &plan,
                          in[0]->dtype == INFERD_DT_FP32 ? matmul_kernel_f32 : matmul_kernel_plain,
                          err);
}

static const onnx_op_t onnx_op_matmul = {"MatMul", 2, 2, 1, 1, NULL, matmul_shape, matmul_run};

/* The zero point of row/column `i`: none is 0, one value is per tensor, a vector per row of A
 * (per column of B). */
static int32_t zero_point_at(const inferd_tensor_t *zero_point, int64_t i)
{
    if (zero_point == NULL)
        return 0;
    return (int32_t)onnx_get_i64(zero_point, inferd_tensor_count(zero_point) == 1 ? 0 : i);
}

static const inferd_tensor_t *optional_input(const onnx_node_t *node,
                                             const inferd_tensor_t *const *in, int k)
{
    return node->n_inputs > k ? in[k] : NULL;
}

/* Accumulates (a - a_zero) * (b - b_zero) in 32 bits, wrapping as the spec allows. */
static int matmul_integer_kernel(const onnx_node_t *node, const inferd_tensor_t *const *in,
                                 inferd_tensor_t *y, const matmul_plan_t *plan, int64_t a_at,
                                 int64_t b_at, int64_t y_at, inferd_err_t *err)
{
    const inferd_tensor_t *a = in[0], *b = in[1];
    const inferd_tensor_t *a_zero = optional_input(node, in, 2),
                          *b_zero = optional_input(node, in, 3);
    int32_t *yd = (int32_t *)y->data + y_at;
    for (int64_t i = 0; i < plan->m; i++) {
        int32_t az = zero_point_at(a_zero, i);
        for (int64_t j = 0; j < plan->n; j++) {
            int32_t bz = zero_point_at(b_zero, j);
            uint32_t sum = 0;
            for (int64_t kk = 0; kk < plan->k; kk++) {
                int32_t av = (int32_t)onnx_get_i64(a, a_at + i * plan->k + kk) - az;
                int32_t bv = (int32_t)onnx_get_i64(b, b_at + kk * plan->n + j) - bz;
                sum += (uint32_t)(av * bv); /* |av|, |bv| <= 255: the product fits */
            }
            yd[i * plan->n + j] = (int32_t)sum;
        }
    }
    return 0;
}

/* Checks a zero point: the matrix's datatype, and one value or a vector of `length`. */
static int check_zero_point(const inferd_tensor_t *zero_point, const inferd_tensor_t *matrix,
                            int64_t length, const char *what, inferd_err_t *err)
{
    if (zero_point == NULL)
        return 0;
    if (zero_point->dtype != matrix->dtype)
        return inferd_fail(err, INFERD_EINVAL, "%s has datatype %s; its matrix has %s", what,
                           inferd_dtype_name(zero_point->dtype), inferd_dtype_name(matrix->dtype));
    int64_t count = inferd_tensor_count(zero_point);
    if (count != 1 && !(zero_point->ndim == 1 && count == length))
        return inferd_fail(err, INFERD_EINVAL,
                           "%s must hold one value or a vector of %lld (N-D zero points are "
                           "unsupported)",
                           what, (long long)length);
    return 0;
}

static int matmul_integer_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                                inferd_tensor_t *out, inferd_err_t *err)
{
    const inferd_tensor_t *a = in[0], *b = in[1];
    if (a->dtype != INFERD_DT_UINT8 && a->dtype != INFERD_DT_INT8)
        return onnx_fail_dtype(err, a, "UINT8 and INT8");
    if (b->dtype != INFERD_DT_UINT8 && b->dtype != INFERD_DT_INT8)
        return onnx_fail_dtype(err, b, "UINT8 and INT8");
    matmul_plan_t plan;
    int64_t shape[INFERD_MAX_DIMS];
    int ndim;
    int rc = matmul_plan(a, b, &plan, shape, &ndim, err);
    if (rc == 0)
        rc = check_zero_point(optional_input(node, in, 2), a, plan.m, "a_zero_point", err);
    if (rc == 0)
        rc = check_zero_point(optional_input(node, in, 3), b, plan.n, "b_zero_point", err);
    if (rc == 0)
        onnx_set_shape(&out[0], INFERD_DT_INT32, shape, ndim);
    return rc;
}

static int matmul_integer_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                              inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    matmul_plan_t plan;
    int64_t shape[INFERD_MAX_DIMS];
    int ndim;
    int rc = matmul_plan(in[0], in[1], &plan, shape, &ndim, err);
    if (rc != 0)
        return rc;
    return matmul_batches(node, in, &out[0], &plan, matmul_integer_kernel, err);
}

static const onnx_op_t onnx_op_matmul_integer = {
    "MatMulInteger", 2, 4, 1, 1, NULL, matmul_integer_shape, matmul_integer_run};

const onnx_op_t *const onnx_ops_gemm[] = {&onnx_op_gemm, &onnx_op_matmul, &onnx_op_matmul_integer,
                                          NULL};
