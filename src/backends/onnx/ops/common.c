/* Helpers shared by the operator families (see common.h). */
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *onnx_params_new(onnx_node_t *node, size_t size)
{
    node->params = calloc(1, size ? size : 1);
    return node->params;
}

int onnx_broadcast(const inferd_tensor_t *const *tensors, int n, int64_t *shape, int *ndim,
                   inferd_err_t *err)
{
    int rank = 0;
    for (int i = 0; i < n; i++)
        if (tensors[i]->ndim > rank)
            rank = tensors[i]->ndim;
    for (int d = 0; d < rank; d++) {
        int64_t size = 1;
        for (int i = 0; i < n; i++) {
            int dt = d - (rank - tensors[i]->ndim);
            int64_t s = dt >= 0 ? tensors[i]->shape[dt] : 1;
            if (s == size || s == 1)
                continue;
            if (size != 1) {
                char a[128], b[128];
                return inferd_fail(
                    err, INFERD_EINVAL, "shapes %s and %s do not broadcast",
                    inferd_shape_str(tensors[0]->shape, tensors[0]->ndim, a, sizeof(a)),
                    inferd_shape_str(tensors[i]->shape, tensors[i]->ndim, b, sizeof(b)));
            }
            size = s;
        }
        shape[d] = size;
    }
    *ndim = rank;
    return 0;
}

void onnx_broadcast_strides(const inferd_tensor_t *t, int rank, const int64_t *shape,
                            int64_t *strides)
{
    int64_t stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        int dt = d - (rank - t->ndim);
        int64_t size = dt >= 0 ? t->shape[dt] : 1;
        strides[d] = (size == 1 && shape[d] != 1) ? 0 : stride;
        if (dt >= 0)
            stride *= size;
    }
}

void onnx_strides(const int64_t *shape, int ndim, int64_t *strides)
{
    int64_t stride = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        strides[d] = stride;
        stride *= shape[d];
    }
}

int onnx_read_ints(const inferd_tensor_t *t, int64_t *values, int max, const char *what,
                   inferd_err_t *err)
{
    if (t->dtype != INFERD_DT_INT64 && t->dtype != INFERD_DT_INT32)
        return inferd_fail(err, INFERD_EINVAL, "%s must be INT64 or INT32, not %s", what,
                           inferd_dtype_name(t->dtype)),
               -1;
    int64_t n = inferd_tensor_count(t);
    if (n < 0 || n > max)
        return inferd_fail(err, INFERD_EINVAL, "%s has %lld values; at most %d are supported", what,
                           (long long)n, max),
               -1;
    for (int64_t i = 0; i < n; i++)
        values[i] = t->dtype == INFERD_DT_INT64 ? ((const int64_t *)t->data)[i]
                                                : ((const int32_t *)t->data)[i];
    return (int)n;
}

/* IEEE half to float (FP16 tensors are rare in CPU models; correctness over speed). */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            exponent = 127 - 15 + 1;
            while ((mantissa & 0x400) == 0) {
                mantissa <<= 1;
                exponent--;
            }
            bits = sign | exponent << 23 | (mantissa & 0x3FF) << 13;
        }
    } else if (exponent == 31) {
        bits = sign | 0x7F800000 | mantissa << 13;
    } else {
        bits = sign | (exponent - 15 + 127) << 23 | mantissa << 13;
    }
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
}

static uint16_t float_to_half(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof(bits));
    uint32_t sign = (bits >> 16) & 0x8000, exponent = (bits >> 23) & 0xFF,
             mantissa = bits & 0x7FFFFF;
    if (exponent == 0xFF)
        return (uint16_t)(sign | 0x7C00 | (mantissa ? 0x200 : 0));
    int e = (int)exponent - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7C00);
    if (e <= 0) {
        if (e < -10)
            return (uint16_t)sign;
        mantissa |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mantissa >> shift, rest = mantissa & ((1u << shift) - 1),
                 halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | (uint32_t)e << 10 | mantissa >> 13, rest = mantissa & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
        half++; /* may carry into the exponent, which is the right rounding */
    return (uint16_t)half;
}

double onnx_get_f64(const inferd_tensor_t *t, int64_t i)
{
    const void *d = t->data;
    switch (t->dtype) {
    case INFERD_DT_BOOL:
    case INFERD_DT_UINT8:
        return ((const uint8_t *)d)[i];
    case INFERD_DT_UINT16:
        return ((const uint16_t *)d)[i];
    case INFERD_DT_UINT32:
        return ((const uint32_t *)d)[i];
    case INFERD_DT_UINT64:
        return (double)((const uint64_t *)d)[i];
    case INFERD_DT_INT8:
        return ((const int8_t *)d)[i];
    case INFERD_DT_INT16:
        return ((const int16_t *)d)[i];
    case INFERD_DT_INT32:
        return ((const int32_t *)d)[i];
    case INFERD_DT_INT64:
        return (double)((const int64_t *)d)[i];
    case INFERD_DT_FP16:
        return half_to_float(((const uint16_t *)d)[i]);
    case INFERD_DT_FP32:
        return ((const float *)d)[i];
    case INFERD_DT_FP64:
        return ((const double *)d)[i];
    default:
        return 0.0;
    }
}

/* Float to integer without undefined behaviour: NaN becomes 0, values out of range saturate,
 * the rest truncate toward zero as C does. */
static int64_t saturate_i64(double v, int64_t lo, int64_t hi)
{
    if (isnan(v))
        return 0;
    if (v <= (double)lo)
        return lo;
    if (v >= (double)hi) /* (double)INT64_MAX is 2^63: every double below it converts */
        return hi;
    return (int64_t)v;
}

static uint64_t saturate_u64(double v)
{
    if (isnan(v) || v <= 0.0)
        return 0;
    if (v >= 18446744073709551615.0)
        return UINT64_MAX;
    return (uint64_t)v;
}

void onnx_set_f64(inferd_tensor_t *t, int64_t i, double value)
{
    void *d = t->data;
    switch (t->dtype) {
    case INFERD_DT_BOOL:
        ((uint8_t *)d)[i] = value != 0.0;
        break;
    case INFERD_DT_UINT8:
        ((uint8_t *)d)[i] = (uint8_t)saturate_i64(value, 0, UINT8_MAX);
        break;
    case INFERD_DT_UINT16:
        ((uint16_t *)d)[i] = (uint16_t)saturate_i64(value, 0, UINT16_MAX);
        break;
    case INFERD_DT_UINT32:
        ((uint32_t *)d)[i] = (uint32_t)saturate_i64(value, 0, UINT32_MAX);
        break;
    case INFERD_DT_UINT64:
        ((uint64_t *)d)[i] = saturate_u64(value);
        break;
    case INFERD_DT_INT8:
        ((int8_t *)d)[i] = (int8_t)saturate_i64(value, INT8_MIN, INT8_MAX);
        break;
    case INFERD_DT_INT16:
        ((int16_t *)d)[i] = (int16_t)saturate_i64(value, INT16_MIN, INT16_MAX);
        break;
    case INFERD_DT_INT32:
        ((int32_t *)d)[i] = (int32_t)saturate_i64(value, INT32_MIN, INT32_MAX);
        break;
    case INFERD_DT_INT64:
        ((int64_t *)d)[i] = saturate_i64(value, INT64_MIN, INT64_MAX);
        break;
    case INFERD_DT_FP16:
        ((uint16_t *)d)[i] = float_to_half((float)value);
        break;
    case INFERD_DT_FP32:
        ((float *)d)[i] = (float)value;
        break;
    case INFERD_DT_FP64:
        ((double *)d)[i] = value;
        break;
    default:
        break;
    }
}

int64_t onnx_get_i64(const inferd_tensor_t *t, int64_t i)
{
    const void *d = t->data;
    switch (t->dtype) {
    case INFERD_DT_BOOL:
    case INFERD_DT_UINT8:
        return ((const uint8_t *)d)[i];
    case INFERD_DT_UINT16:
        return ((const uint16_t *)d)[i];
    case INFERD_DT_UINT32:
        return ((const uint32_t *)d)[i];
    case INFERD_DT_UINT64:
        return (int64_t)((const uint64_t *)d)[i];
    case INFERD_DT_INT8:
        return ((const int8_t *)d)[i];
    case INFERD_DT_INT16:
        return ((const int16_t *)d)[i];
    case INFERD_DT_INT32:
        return ((const int32_t *)d)[i];
    case INFERD_DT_INT64:
        return ((const int64_t *)d)[i];
    default:
        return saturate_i64(onnx_get_f64(t, i), INT64_MIN, INT64_MAX);
    }
}

bool onnx_is_float(inferd_dtype_t dtype)
{
    return dtype == INFERD_DT_FP16 || dtype == INFERD_DT_FP32 || dtype == INFERD_DT_FP64;
}

bool onnx_is_integer(inferd_dtype_t dtype)
{
    return dtype >= INFERD_DT_UINT8 && dtype <= INFERD_DT_INT64;
}

int onnx_fail_dtype(inferd_err_t *err, const inferd_tensor_t *t, const char *supported)
{
    return inferd_fail(err, INFERD_EINVAL, "datatype %s is not supported (%s are)",
                       inferd_dtype_name(t->dtype), supported);
}

int onnx_require_inputs(const onnx_node_t *node, const inferd_tensor_t *const *in, int n_required,
                        inferd_err_t *err)
{
    for (int k = 0; k < n_required; k++)
        if (k >= node->n_inputs || in[k] == NULL)
            return inferd_fail(err, INFERD_EINVAL, "input %d is required but missing", k);
    return 0;
}

void *onnx_weights_alloc(size_t bytes)
{
    enum { HUGE_PAGE = 2 << 20, HUGE_FROM = 4 << 20 };
    if (bytes < HUGE_FROM)
        return malloc(bytes);
    size_t rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, rounded) != 0)
        return NULL;
    madvise(p, rounded, MADV_HUGEPAGE); /* advice only: 4 KiB pages work too */
    return p;
}
