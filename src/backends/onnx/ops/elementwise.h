/* Private to the elementwise operator families (elementwise*.c, unary*.c, logical.c, cast.c):
 * the broadcast walk that drives every multi-input kernel, the datatype lists kernels are
 * generated from, element conversions that never invoke undefined behaviour, and the operators
 * elementwise.c's table takes from its split files. */
#ifndef INFERD_ONNX_OPS_ELEMENTWISE_H
#define INFERD_ONNX_OPS_ELEMENTWISE_H

#include "ops.h"

/* ==== datatype lists ====
 * X(DTYPE suffix, short name, C type, unsigned type wide enough for wrapping arithmetic).
 * Integer arithmetic runs in the unsigned type and is converted back, so overflow wraps (as
 * numpy's does) instead of being undefined; the conversion back to a signed type is modular
 * with every compiler inferd supports. */
#define ONNX_EW_SIGNED_TYPES(X)                                                                    \
    X(INT8, i8, int8_t, uint32_t)                                                                  \
    X(INT16, i16, int16_t, uint32_t)                                                               \
    X(INT32, i32, int32_t, uint32_t)                                                               \
    X(INT64, i64, int64_t, uint64_t)
#define ONNX_EW_UNSIGNED_TYPES(X)                                                                  \
    X(UINT8, u8, uint8_t, uint32_t)                                                                \
    X(UINT16, u16, uint16_t, uint32_t)                                                             \
    X(UINT32, u32, uint32_t, uint32_t)                                                             \
    X(UINT64, u64, uint64_t, uint64_t)
#define ONNX_EW_FLOAT_TYPES(X)                                                                     \
    X(FP32, f32, float, float)                                                                     \
    X(FP64, f64, double, double)

/* ==== the broadcast walk ==== */

/* The most operands one walk combines (Where has three). */
#define ONNX_EW_MAX_OPERANDS 3

/* Computes `count` output elements, contiguous at `out`. Operand k's first element is at in[k]
 * and the next ones follow every step[k] elements (step[k] is 1, or 0 when the operand is
 * broadcast along the row). `ctx` is what the caller handed to onnx_ew_walk. */
typedef void (*onnx_ew_row_t)(void *ctx, const void *const *in, const int64_t *step, void *out,
                              int64_t count);

/* Calls `row` until every element of `y` is computed from the `n` operands (1 to
 * ONNX_EW_MAX_OPERANDS), each broadcast to y's shape (the caller has checked they broadcast).
 * Dimensions along which every operand is contiguous or broadcast alike are merged, so rows are
 * as long as the shapes allow. An operand may be y itself (same shape): element i is read before
 * element i is written. */
void onnx_ew_walk(const inferd_tensor_t *const *operands, int n, inferd_tensor_t *y,
                  onnx_ew_row_t row, void *ctx);

/* Refuses (INFERD_EINVAL) when one of the first `n` inputs is NULL: a required input the model
 * left out (the loader maps an empty name to NULL whatever the position). */
int onnx_ew_check_present(const inferd_tensor_t *const *in, int n, inferd_err_t *err);

/* Refuses (INFERD_EINVAL, naming both) when the `n` tensors do not all share one datatype; a NULL
 * entry (an omitted input) is refused too. */
int onnx_ew_check_same_dtype(const inferd_tensor_t *const *in, int n, inferd_err_t *err);

/* Sets `out` to the broadcast of the `n` tensors' shapes with datatype `dtype`. Returns 0 or
 * INFERD_EINVAL naming the shapes. */
int onnx_ew_shape_broadcast(const inferd_tensor_t *const *in, int n, inferd_dtype_t dtype,
                            inferd_tensor_t *out, inferd_err_t *err);

/* True when some element of the integer tensor `t` is zero (for refusing division by zero). */
bool onnx_ew_has_zero(const inferd_tensor_t *t);

/* True for the numeric datatypes: every integer and float type (not BOOL or BYTES). */
bool onnx_ew_is_numeric(inferd_dtype_t dtype);

/* ==== element access for the slow, general paths ==== */

/* Element i of the FP16 array `data`, exactly, as a double / stored rounded to nearest even. */
double onnx_ew_half_load(const void *data, int64_t i);
void onnx_ew_half_store(void *data, int64_t i, double value);

/* Element i of `data` (any numeric datatype or BOOL) as a double. */
double onnx_ew_load_f64(const void *data, inferd_dtype_t dtype, int64_t i);

/* Element i of integer or BOOL `data` as int64 (exact; UINT64 above INT64_MAX keeps its bits). */
int64_t onnx_ew_load_i64(const void *data, inferd_dtype_t dtype, int64_t i);

/* Stores `value` as element i of `data`. Integer types get it truncated toward zero and
 * saturated to their range, NaN becoming 0 (ONNX leaves out-of-range conversions undefined;
 * this is inferd's definition); BOOL gets value != 0; float types round to nearest. */
void onnx_ew_store_f64(void *data, inferd_dtype_t dtype, int64_t i, double value);

/* Stores the low bits of `value` as element i of integer `data` (modular, as C converts
 * integers); float types get it converted, BOOL gets value != 0. */
void onnx_ew_store_i64(void *data, inferd_dtype_t dtype, int64_t i, int64_t value);

/* ==== float to integer conversions with every input defined ====
 * onnx_ew_sat_<short name>(v): v truncated toward zero; NaN gives 0; values beyond the type's
 * range give its minimum or maximum. The bounds are the first doubles outside the range after
 * truncation (exact in double, except INT64's lower one, where rounding changes nothing). */
#define ONNX_EW_SATURATING(name, T, MIN, MAX, LOW_OUT, HIGH_OUT)                                   \
    static inline T onnx_ew_sat_##name(double v)                                                   \
    {                                                                                              \
        if (v != v)                                                                                \
            return 0;                                                                              \
        if (v >= HIGH_OUT)                                                                         \
            return MAX;                                                                            \
        if (v <= LOW_OUT)                                                                          \
            return MIN;                                                                            \
        return (T)v;                                                                               \
    }
ONNX_EW_SATURATING(i8, int8_t, INT8_MIN, INT8_MAX, -129.0, 128.0)
ONNX_EW_SATURATING(i16, int16_t, INT16_MIN, INT16_MAX, -32769.0, 32768.0)
ONNX_EW_SATURATING(i32, int32_t, INT32_MIN, INT32_MAX, -2147483649.0, 2147483648.0)
ONNX_EW_SATURATING(i64, int64_t, INT64_MIN, INT64_MAX, -9223372036854775808.0,
                   9223372036854775808.0)
ONNX_EW_SATURATING(u8, uint8_t, 0, UINT8_MAX, -1.0, 256.0)
ONNX_EW_SATURATING(u16, uint16_t, 0, UINT16_MAX, -1.0, 65536.0)
ONNX_EW_SATURATING(u32, uint32_t, 0, UINT32_MAX, -1.0, 4294967296.0)
ONNX_EW_SATURATING(u64, uint64_t, 0, UINT64_MAX, -1.0, 18446744073709551616.0)
#undef ONNX_EW_SATURATING

/* ==== row kernels ====
 * ONNX_EW_BINARY_ROW defines a static onnx_ew_row_t `name` computing R y = EXPR from T x (first
 * operand) and T z (second); EXPR may use `ctx`. The four stride cases are separate loops so the
 * compiler vectorizes the common ones. */
#define ONNX_EW_BINARY_ROW(name, T, R, EXPR)                                                       \
    static void name(void *ctx, const void *const *in, const int64_t *step, void *out,             \
                     int64_t count)                                                                \
    {                                                                                              \
        const T *a_ = in[0], *b_ = in[1];                                                          \
        R *y_ = out;                                                                               \
        if (step[0] != 0 && step[1] != 0) {                                                        \
            for (int64_t i_ = 0; i_ < count; i_++) {                                               \
                const T x = a_[i_], z = b_[i_];                                                    \
                y_[i_] = (EXPR);                                                                   \
            }                                                                                      \
        } else if (step[0] != 0) {                                                                 \
            const T z = b_[0];                                                                     \
            for (int64_t i_ = 0; i_ < count; i_++) {                                               \
                const T x = a_[i_];                                                                \
                y_[i_] = (EXPR);                                                                   \
            }                                                                                      \
        } else if (step[1] != 0) {                                                                 \
            const T x = a_[0];                                                                     \
            for (int64_t i_ = 0; i_ < count; i_++) {                                               \
                const T z = b_[i_];                                                                \
                y_[i_] = (EXPR);                                                                   \
            }                                                                                      \
        } else {                                                                                   \
            const T x = a_[0], z = b_[0];                                                          \
            const R value_ = (EXPR);                                                               \
            for (int64_t i_ = 0; i_ < count; i_++)                                                 \
                y_[i_] = value_;                                                                   \
        }                                                                                          \
    }

/* As ONNX_EW_BINARY_ROW for FP16 operands: double x and z, R y = EXPR, where R is `half` for an
 * FP16 result (rounded to nearest even) or a C type. */
#define ONNX_EW_HALF_STORE_half(out, i, value)    onnx_ew_half_store(out, i, value)
#define ONNX_EW_HALF_STORE_uint8_t(out, i, value) (((uint8_t *)(out))[i] = (uint8_t)(value))
#define ONNX_EW_BINARY_ROW_HALF(name, R, EXPR)                                                     \
    static void name(void *ctx, const void *const *in, const int64_t *step, void *out,             \
                     int64_t count)                                                                \
    {                                                                                              \
        for (int64_t i_ = 0; i_ < count; i_++) {                                                   \
            const double x = onnx_ew_half_load(in[0], i_ * step[0]),                               \
                         z = onnx_ew_half_load(in[1], i_ * step[1]);                               \
            ONNX_EW_HALF_STORE_##R(out, i_, (EXPR));                                               \
        }                                                                                          \
    }

/* ==== operators elementwise.c's table takes from elementwise_special.c ==== */
extern const onnx_op_t onnx_op_pow, onnx_op_mod, onnx_op_prelu, onnx_op_bitshift;

#endif
