/* Private to the math families (gemm.c, gemm_small.c, gemv_large.c, reduce.c, topk.c,
 * einsum.c): the sgemm kernel gemm.c wraps, the large-B one- and two-row kernel of gemv_large.c,
 * the small-B kernel of gemm_small.c, and exact integer element access
 * that common.h's double-based helpers lack (an INT64 above 2^53 survives a round trip here). */
#ifndef INFERD_ONNX_OPS_NUMERIC_H
#define INFERD_ONNX_OPS_NUMERIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops.h"

/* Row-major y[m,n] = alpha * op(a) * op(b) + beta * y, op transposing when asked (lda, ldb, ldy
 * are the row strides of the stored matrices). Empty m or n does nothing; k == 0 scales y by
 * beta (0 clears it). Returns 0 or INFERD_EINTERNAL when oneDNN fails. Defined in gemm.c. */
int onnx_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *y,
               int64_t ldy, inferd_err_t *err);

/* Whether onnx_gemv_large takes this onnx_sgemm call: no transposes, one or two rows of A,
 * alpha 1 and beta 0, B of at least 1 MiB, one OpenMP thread, AVX-512. Defined in
 * gemv_large.c. */
bool onnx_gemv_large_applies(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                             float alpha, float beta);

/* Row-major y[m,n] = a[m,k] * b[k,n] for m of 1 or 2 (row strides lda, ldb, ldy), streaming b
 * once: each element is summed over k in order in one chain of fused multiply-adds. */
void onnx_gemv_large(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                     int64_t ldb, float *y, int64_t ldy);

/* Whether onnx_gemm_small takes a product with a constant B of [k, n] on this CPU (AVX-512):
 * B and its packed copy (panels of 64 columns, the last padded to whole vectors of 16) within
 * 1 MiB, the padding at most doubling B unless it stays within 64 KiB. The answer depends on k and
 * n only, never on the number of rows: a Gemm packs its B at load when it fits and then uses the
 * kernel for every batch. Defined in gemm_small.c. */
bool onnx_gemm_small_fits(int64_t k, int64_t n);

/* The floats a packed B of [k, n] takes (whole panels of 64 columns, then the columns left
 * rounded up to a multiple of 16). */
size_t onnx_gemm_small_packed_count(int64_t k, int64_t n);

/* Packs B, element (kk, j) at b[kk * k_stride + j * n_stride] (a row-major [k, n]: k_stride n,
 * n_stride 1; a transposed one the other way round), into `packed` of
 * onnx_gemm_small_packed_count(k, n) floats. */
void onnx_gemm_small_pack(const float *b, int64_t k, int64_t n, int64_t k_stride, int64_t n_stride,
                          float *packed);

/* What onnx_gemm_small applies to each finished element, in this order: + bias_scale *
 * bias[column] when bias is not NULL (a row of n values), then the activation when it is
 * ONNX_FUSED_RELU or ONNX_FUSED_CLIP (to [low, high]); other activations are the caller's. */
typedef struct {
    const float *bias;
    float bias_scale;
    onnx_fused_activation_t activation;
    float low, high;
} onnx_gemm_epilogue_t;

/* Row-major y[m,n] = alpha * a[m,k] * B (B packed by onnx_gemm_small_pack; a and y with row
 * strides lda and ldy) where onnx_gemm_small_fits(k, n), then `epilogue` when not NULL. Each
 * element is summed over k in order in one chain of fused multiply-adds, so a row's result is
 * the same bits whatever m is. */
void onnx_gemm_small(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                     const float *packed_b, float *y, int64_t ldy,
                     const onnx_gemm_epilogue_t *epilogue);

/* A batched FP32 product: `batch` row-major matrices [m, k] times B, one [k, n] matrix per
 * batch (or one for all when !is_b_batched) read through element strides (row-major:
 * b_k_stride n, b_n_stride 1; a permuted B has others). Compared byte for byte: zero it before
 * filling. */
typedef struct {
    int64_t batch, m, k, n;
    int64_t b_batch_stride, b_k_stride, b_n_stride;
    bool is_b_batched;
} onnx_matmul_desc_t;

/* y = a * b for `d` through a oneDNN matmul primitive cached in `node_state` (matmul_dnnl.c).
 * Returns 0, INFERD_EUNSUPPORTED when oneDNN declines (the caller then multiplies another way),
 * INFERD_ENOMEM or INFERD_EINTERNAL. */
int onnx_matmul_dnnl(onnx_node_state_t *node_state, const onnx_matmul_desc_t *d, const float *a,
                     const float *b, float *y, inferd_err_t *err);

/* Writes `value` to element `i` of an integer or BOOL tensor, keeping its low bits the way a C
 * conversion to an unsigned type does (wrapping); float tensors get it through a double. */
static inline void onnx_store_i64(inferd_tensor_t *t, int64_t i, int64_t value)
{
    void *d = t->data;
    switch (t->dtype) {
    case INFERD_DT_BOOL:
        ((uint8_t *)d)[i] = value != 0;
        break;
    case INFERD_DT_UINT8:
    case INFERD_DT_INT8:
        ((uint8_t *)d)[i] = (uint8_t)(uint64_t)value;
        break;
    case INFERD_DT_UINT16:
    case INFERD_DT_INT16:
        ((uint16_t *)d)[i] = (uint16_t)(uint64_t)value;
        break;
    case INFERD_DT_UINT32:
    case INFERD_DT_INT32:
        ((uint32_t *)d)[i] = (uint32_t)(uint64_t)value;
        break;
    case INFERD_DT_UINT64:
    case INFERD_DT_INT64:
        ((uint64_t *)d)[i] = (uint64_t)value;
        break;
    default:
        onnx_set_f64(t, i, (double)value);
        break;
    }
}

/* Element `i` of a FP32 or FP64 tensor through a typed load, anything else through
 * onnx_get_f64: the general path with the common float types kept cheap. */
static inline double onnx_load_f64(const inferd_tensor_t *t, int64_t i)
{
    if (t->dtype == INFERD_DT_FP32)
        return ((const float *)t->data)[i];
    if (t->dtype == INFERD_DT_FP64)
        return ((const double *)t->data)[i];
    return onnx_get_f64(t, i);
}

/* Whether an integer dtype is unsigned (its int64 view of UINT64 wraps above INT64_MAX). */
static inline bool onnx_is_unsigned(inferd_dtype_t dtype)
{
    return dtype == INFERD_DT_UINT8 || dtype == INFERD_DT_UINT16 || dtype == INFERD_DT_UINT32 ||
           dtype == INFERD_DT_UINT64 || dtype == INFERD_DT_BOOL;
}

#endif
