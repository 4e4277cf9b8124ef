/* The machinery under the elementwise families (see elementwise.h): the broadcast walk that feeds
 * kernels whole rows, the shape and datatype checks every broadcasting op shares, and element
 * loads and stores across datatypes for the slow paths (FP16, mixed types). No operator here. */
#include "elementwise.h"

#include <string.h>

/* ==== the broadcast walk ==== */

void onnx_ew_walk(const inferd_tensor_t *const *operands, int n, inferd_tensor_t *y,
                  onnx_ew_row_t row, void *ctx)
{
    int64_t total = inferd_tensor_count(y);
    if (total <= 0)
        return;
    /* Strides (in elements) of every operand along y's dimensions, then the same with size-1
     * dimensions dropped and mergeable neighbours merged: an outer dimension merges into the
     * group after it when, for every operand, stepping it once equals stepping the whole group
     * (both contiguous, or both broadcast). */
    int64_t full[ONNX_EW_MAX_OPERANDS][INFERD_MAX_DIMS];
    for (int k = 0; k < n; k++)
        onnx_broadcast_strides(operands[k], y->ndim, y->shape, full[k]);
    int64_t shape[INFERD_MAX_DIMS], stride[ONNX_EW_MAX_OPERANDS][INFERD_MAX_DIMS];
    int rank = 0;
    for (int d = 0; d < y->ndim; d++) {
        if (y->shape[d] == 1)
            continue;
        bool is_mergeable = rank > 0;
        for (int k = 0; k < n && is_mergeable; k++)
            is_mergeable = stride[k][rank - 1] == full[k][d] * y->shape[d];
        if (is_mergeable) {
            shape[rank - 1] *= y->shape[d];
            for (int k = 0; k < n; k++)
                stride[k][rank - 1] = full[k][d];
            continue;
        }
        shape[rank] = y->shape[d];
        for (int k = 0; k < n; k++)
            stride[k][rank] = full[k][d];
        rank++;
    }
    if (rank == 0) { /* a single element */
        shape[0] = 1;
        for (int k = 0; k < n; k++)
            stride[k][0] = 0;
        rank = 1;
    }

    int64_t inner = shape[rank - 1], rows = total / inner;
    int64_t step[ONNX_EW_MAX_OPERANDS], offset[ONNX_EW_MAX_OPERANDS] = {0};
    size_t elem[ONNX_EW_MAX_OPERANDS];
    const void *at[ONNX_EW_MAX_OPERANDS];
    for (int k = 0; k < n; k++) {
        step[k] = stride[k][rank - 1];
        elem[k] = inferd_dtype_size(operands[k]->dtype);
    }
    size_t out_elem = inferd_dtype_size(y->dtype);
    int64_t index[INFERD_MAX_DIMS] = {0};
    /* Invariant: offset[k] is operand k's element offset of the row whose outer indices are
     * index[0..rank-2] (an odometer over the outer dimensions). */
    for (int64_t r = 0; r < rows; r++) {
        for (int k = 0; k < n; k++)
            at[k] = (const char *)operands[k]->data + (size_t)offset[k] * elem[k];
        row(ctx, at, step, (char *)y->data + (size_t)(r * inner) * out_elem, inner);
        for (int d = rank - 2; d >= 0; d--) {
            index[d]++;
            for (int k = 0; k < n; k++)
                offset[k] += stride[k][d];
            if (index[d] < shape[d])
                break;
            for (int k = 0; k < n; k++)
                offset[k] -= stride[k][d] * shape[d];
            index[d] = 0;
        }
    }
}

/* ==== checks shared by the broadcasting ops ==== */

int onnx_ew_check_present(const inferd_tensor_t *const *in, int n, inferd_err_t *err)
{
    for (int k = 0; k < n; k++)
        if (in[k] == NULL)
            return inferd_fail(err, INFERD_EINVAL, "input %d is missing", k);
    return 0;
}

int onnx_ew_check_same_dtype(const inferd_tensor_t *const *in, int n, inferd_err_t *err)
{
    int rc = onnx_ew_check_present(in, n, err);
    if (rc != 0)
        return rc;
    for (int k = 1; k < n; k++) {
        if (in[k]->dtype != in[0]->dtype)
            return inferd_fail(err, INFERD_EINVAL, "inputs have different datatypes (%s and %s)",
                               inferd_dtype_name(in[0]->dtype), inferd_dtype_name(in[k]->dtype));
    }
    return 0;
}

int onnx_ew_shape_broadcast(const inferd_tensor_t *const *in, int n, inferd_dtype_t dtype,
                            inferd_tensor_t *out, inferd_err_t *err)
{
    int64_t shape[INFERD_MAX_DIMS];
    int ndim;
    int rc = onnx_broadcast(in, n, shape, &ndim, err);
    if (rc != 0)
        return rc;
    onnx_set_shape(out, dtype, shape, ndim);
    return 0;
}

bool onnx_ew_has_zero(const inferd_tensor_t *t)
{
    int64_t n = inferd_tensor_count(t);
    /* An integer is zero exactly when all its bytes are. */
    switch (inferd_dtype_size(t->dtype)) {
#define HAS_ZERO_CASE(size, T)                                                                     \
    case size:                                                                                     \
        for (int64_t i = 0; i < n; i++)                                                            \
            if (((const T *)t->data)[i] == 0)                                                      \
                return true;                                                                       \
        return false;
        HAS_ZERO_CASE(1, uint8_t)
        HAS_ZERO_CASE(2, uint16_t)
        HAS_ZERO_CASE(4, uint32_t)
        HAS_ZERO_CASE(8, uint64_t)
#undef HAS_ZERO_CASE
    default:
        return false;
    }
}

bool onnx_ew_is_numeric(inferd_dtype_t dtype)
{
    return onnx_is_integer(dtype) || onnx_is_float(dtype);
}

/* ==== element access ==== */

/* A tensor header over `data` so the common.h accessors can read and write it. */
static inferd_tensor_t view(const void *data, inferd_dtype_t dtype)
{
    inferd_tensor_t t = {.dtype = dtype, .ndim = 0, .data = (void *)data};
    return t;
}

double onnx_ew_half_load(const void *data, int64_t i)
{
    inferd_tensor_t t = view(data, INFERD_DT_FP16);
    return onnx_get_f64(&t, i);
}

void onnx_ew_half_store(void *data, int64_t i, double value)
{
    inferd_tensor_t t = view(data, INFERD_DT_FP16);
    onnx_set_f64(&t, i, value);
}

double onnx_ew_load_f64(const void *data, inferd_dtype_t dtype, int64_t i)
{
    inferd_tensor_t t = view(data, dtype);
    return onnx_get_f64(&t, i);
}

int64_t onnx_ew_load_i64(const void *data, inferd_dtype_t dtype, int64_t i)
{
    if (onnx_is_float(dtype)) /* not expected; converted without undefined behaviour */
        return onnx_ew_sat_i64(onnx_ew_load_f64(data, dtype, i));
    inferd_tensor_t t = view(data, dtype);
    return onnx_get_i64(&t, i);
}

void onnx_ew_store_f64(void *data, inferd_dtype_t dtype, int64_t i, double value)
{
    switch (dtype) {
#define STORE_SATURATED(DT, name, T, U)                                                            \
    case INFERD_DT_##DT:                                                                           \
        ((T *)data)[i] = onnx_ew_sat_##name(value);                                                \
        return;
        ONNX_EW_SIGNED_TYPES(STORE_SATURATED)
        ONNX_EW_UNSIGNED_TYPES(STORE_SATURATED)
#undef STORE_SATURATED
    case INFERD_DT_BOOL:
        ((uint8_t *)data)[i] = value != 0.0;
        return;
    default: {
        inferd_tensor_t t = view(data, dtype);
        onnx_set_f64(&t, i, value);
        return;
    }
    }
}

void onnx_ew_store_i64(void *data, inferd_dtype_t dtype, int64_t i, int64_t value)
{
    switch (dtype) {
#define STORE_WRAPPED(DT, name, T, U)                                                              \
    case INFERD_DT_##DT:                                                                           \
        ((T *)data)[i] = (T)value;                                                                 \
        return;
        ONNX_EW_SIGNED_TYPES(STORE_WRAPPED)
        ONNX_EW_UNSIGNED_TYPES(STORE_WRAPPED)
#undef STORE_WRAPPED
    case INFERD_DT_BOOL:
        ((uint8_t *)data)[i] = value != 0;
        return;
    default:
        onnx_ew_store_f64(data, dtype, i, (double)value);
        return;
    }
}
