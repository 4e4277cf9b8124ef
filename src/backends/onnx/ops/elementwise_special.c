/* The binary elementwise ops whose types or semantics go beyond plain arithmetic: Pow (the
 * exponent may have another datatype than the base; integers raise exactly), Mod (integer modulo
 * with the divisor's sign, or C's fmod), PRelu (a slope broadcast to X) and BitShift (unsigned
 * integers). All broadcast as
 * numpy does; elementwise.c lists them in the family's table. */
#include "elementwise.h"

#include <math.h>
#include <string.h>

/* ==== Pow ==== */

typedef struct {
    inferd_dtype_t base, exponent;
    bool is_zero_to_negative; /* set by the kernel: integer 0 raised to a negative power */
} pow_ctx_t;

ONNX_EW_BINARY_ROW(pow_f32_any, float, float, powf(x, z))
ONNX_EW_BINARY_ROW(pow_f64, double, double, pow(x, z))

/* FP32 ** FP32, with x*x for the common scalar exponent 2 (variance in unfused normalisation). */
static void pow_f32(void *ctx, const void *const *in, const int64_t *step, void *out, int64_t count)
{
    if (step[1] == 0 && *(const float *)in[1] == 2.0f) {
        const float *x = in[0];
        float *y = out;
        for (int64_t i = 0; i < count; i++)
            y[i] = x[i * step[0]] * x[i * step[0]];
        return;
    }
    pow_f32_any(ctx, in, step, out, count);
}

static bool is_signed_integer(inferd_dtype_t dtype)
{
    return dtype == INFERD_DT_INT8 || dtype == INFERD_DT_INT16 || dtype == INFERD_DT_INT32 ||
           dtype == INFERD_DT_INT64;
}

/* base ** exponent in wrapping 64-bit arithmetic (the low bits are those of the exact power). */
static uint64_t integer_pow(uint64_t base, uint64_t exponent)
{
    uint64_t result = 1;
    while (exponent != 0) {
        if (exponent & 1)
            result *= base;
        base *= base;
        exponent >>= 1;
    }
    return result;
}

/* Every other pairing of datatypes: integers raise exactly (a negative exponent leaves
 * 1 / base**n truncated: 1 and -1 keep a value, other bases give 0, and 0 is refused);
 * otherwise in double, stored into the base's datatype (saturated for integer bases). */
static void pow_generic(void *vctx, const void *const *in, const int64_t *step, void *out,
                        int64_t count)
{
    pow_ctx_t *ctx = vctx;
    bool is_exact = onnx_is_integer(ctx->base) && onnx_is_integer(ctx->exponent);
    bool has_negative = is_signed_integer(ctx->exponent);
    for (int64_t i = 0; i < count; i++) {
        if (!is_exact) {
            double x = onnx_ew_load_f64(in[0], ctx->base, i * step[0]),
                   z = onnx_ew_load_f64(in[1], ctx->exponent, i * step[1]);
            onnx_ew_store_f64(out, ctx->base, i, pow(x, z));
            continue;
        }
        int64_t x = onnx_ew_load_i64(in[0], ctx->base, i * step[0]),
                z = onnx_ew_load_i64(in[1], ctx->exponent, i * step[1]);
        int64_t result;
        if (has_negative && z < 0) {
            if (x == 0)
                ctx->is_zero_to_negative = true;
            result = x == 1 ? 1 : x == -1 ? ((z & 1) ? -1 : 1) : 0;
        } else {
            result = (int64_t)integer_pow((uint64_t)x, (uint64_t)z);
        }
        onnx_ew_store_i64(out, ctx->base, i, result);
    }
}

static int pow_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, inferd_err_t *err)
{
    static const char numeric[] =
        "FP16, FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64";
    int rc = onnx_ew_check_present(in, 2, err);
    if (rc != 0)
        return rc;
    for (int k = 0; k < 2; k++)
        if (!onnx_ew_is_numeric(in[k]->dtype))
            return onnx_fail_dtype(err, in[k], numeric);
    return onnx_ew_shape_broadcast(in, 2, in[0]->dtype, out, err);
}

static int pow_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                   onnx_scratch_t *scratch, inferd_err_t *err)
{
    pow_ctx_t ctx = {.base = in[0]->dtype, .exponent = in[1]->dtype};
    onnx_ew_row_t row = pow_generic;
    if (ctx.base == INFERD_DT_FP32 && ctx.exponent == INFERD_DT_FP32)
        row = pow_f32;
    else if (ctx.base == INFERD_DT_FP64 && ctx.exponent == INFERD_DT_FP64)
        row = pow_f64;
    onnx_ew_walk(in, 2, &out[0], row, &ctx);
    if (ctx.is_zero_to_negative)
        return inferd_fail(err, INFERD_EINVAL, "integer 0 raised to a negative power");
    return 0;
}

const onnx_op_t onnx_op_pow = {"Pow", 2, 2, 1, 1, NULL, pow_shape, pow_run};

/* ==== Mod ==== */

typedef struct {
    bool is_fmod; /* C's remainder (sign of the dividend) instead of the divisor's sign */
} mod_params_t;

/* Integer remainders; the caller has refused zero divisors. MIN % -1 is 0 without computing it
 * (it traps on x86). */
#define SIGNED_MOD(DT, name, T, U)                                                                 \
    static inline T trunc_mod_##name(T x, T z)                                                     \
    {                                                                                              \
        return z == -1 ? (T)0 : (T)(x % z);                                                        \
    }                                                                                              \
    static inline T floor_mod_##name(T x, T z)                                                     \
    {                                                                                              \
        T r = trunc_mod_##name(x, z);                                                              \
        return (r != 0 && (r < 0) != (z < 0)) ? (T)(r + z) : r;                                    \
    }                                                                                              \
    ONNX_EW_BINARY_ROW(mod_##name, T, T, floor_mod_##name(x, z))                                   \
    ONNX_EW_BINARY_ROW(fmod_##name, T, T, trunc_mod_##name(x, z))
#define UNSIGNED_MOD(DT, name, T, U)                                                               \
    ONNX_EW_BINARY_ROW(mod_##name, T, T, (T)(x % z))                                               \
    ONNX_EW_BINARY_ROW(fmod_##name, T, T, (T)(x % z))
ONNX_EW_SIGNED_TYPES(SIGNED_MOD)
ONNX_EW_UNSIGNED_TYPES(UNSIGNED_MOD)

/* Float remainders: fmod=1 is C's fmod; fmod=0 (which ONNX reserves for integers) takes the
 * divisor's sign, as numpy's mod does. */
static inline double floor_fmod(double x, double z)
{
    double r = fmod(x, z);
    return (r != 0 && (r < 0) != (z < 0)) ? r + z : r;
}
static inline float floor_fmodf(float x, float z)
{
    float r = fmodf(x, z);
    return (r != 0 && (r < 0) != (z < 0)) ? r + z : r;
}
ONNX_EW_BINARY_ROW(mod_f32, float, float, floor_fmodf(x, z))
ONNX_EW_BINARY_ROW(fmod_f32, float, float, fmodf(x, z))
ONNX_EW_BINARY_ROW(mod_f64, double, double, floor_fmod(x, z))
ONNX_EW_BINARY_ROW(fmod_f64, double, double, fmod(x, z))
ONNX_EW_BINARY_ROW_HALF(mod_f16, half, floor_fmod(x, z))
ONNX_EW_BINARY_ROW_HALF(fmod_f16, half, fmod(x, z))

#define MOD_ROW(DT, name, T, U) [INFERD_DT_##DT] = {mod_##name, fmod_##name},
/* mod_kernels[dtype][is_fmod] */
static const onnx_ew_row_t mod_kernels[INFERD_DT_COUNT][2] = {
    ONNX_EW_FLOAT_TYPES(MOD_ROW) ONNX_EW_SIGNED_TYPES(MOD_ROW) ONNX_EW_UNSIGNED_TYPES(MOD_ROW)
        MOD_ROW(FP16, f16, half, half)};
#undef MOD_ROW

static int mod_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    mod_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    int64_t fmod_attr = onnx_attr_int(proto, "fmod", 0);
    if (fmod_attr != 0 && fmod_attr != 1)
        return inferd_fail(err, INFERD_EMODEL, "fmod must be 0 or 1, not %lld",
                           (long long)fmod_attr);
    p->is_fmod = fmod_attr == 1;
    return 0;
}

static int mod_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_ew_check_same_dtype(in, 2, err);
    if (rc != 0)
        return rc;
    if (mod_kernels[in[0]->dtype][0] == NULL)
        return onnx_fail_dtype(
            err, in[0],
            "FP16, FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64");
    rc = onnx_ew_shape_broadcast(in, 2, in[0]->dtype, out, err);
    if (rc != 0)
        return rc;
    if (onnx_is_integer(in[1]->dtype) && inferd_tensor_count(out) > 0 && onnx_ew_has_zero(in[1]))
        return inferd_fail(err, INFERD_EINVAL, "integer modulo by zero");
    return 0;
}

static int mod_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                   onnx_scratch_t *scratch, inferd_err_t *err)
{
    const mod_params_t *p = node->params;
    onnx_ew_walk(in, 2, &out[0], mod_kernels[in[0]->dtype][p->is_fmod], NULL);
    return 0;
}

const onnx_op_t onnx_op_mod = {"Mod", 2, 2, 1, 1, mod_prepare, mod_shape, mod_run};

/* ==== PRelu ==== */

/* y = x < 0 ? slope * x : x. The float form has no branch on computed values, so it
 * vectorizes; NaN stays NaN. */
#define FLOAT_PRELU(DT, name, T, U)                                                                \
    ONNX_EW_BINARY_ROW(prelu_##name, T, T, (x < 0 ? (T)0 : x) + z * (x < 0 ? x : (T)0))
#define SIGNED_PRELU(DT, name, T, U)                                                               \
    ONNX_EW_BINARY_ROW(prelu_##name, T, T, x < 0 ? (T)((U)z * (U)x) : x)
#define UNSIGNED_PRELU(DT, name, T, U) ONNX_EW_BINARY_ROW(prelu_##name, T, T, ((void)z, x))
ONNX_EW_FLOAT_TYPES(FLOAT_PRELU)
ONNX_EW_SIGNED_TYPES(SIGNED_PRELU)
ONNX_EW_UNSIGNED_TYPES(UNSIGNED_PRELU)
ONNX_EW_BINARY_ROW_HALF(prelu_f16, half, x < 0 ? z * x : x)

#define PRELU_ROW(DT, name, T, U) [INFERD_DT_##DT] = prelu_##name,
static const onnx_ew_row_t prelu_kernels[INFERD_DT_COUNT] = {
    ONNX_EW_FLOAT_TYPES(PRELU_ROW) ONNX_EW_SIGNED_TYPES(PRELU_ROW) ONNX_EW_UNSIGNED_TYPES(PRELU_ROW)
        PRELU_ROW(FP16, f16, half, half)};
#undef PRELU_ROW

/* The slope as the walk sees it (a header over its data): before opset 7, a 1-D slope as long as
 * X's channel dimension (axis 1) is per channel; otherwise it broadcasts as numpy does. */
static inferd_tensor_t slope_operand(const onnx_node_t *node, const inferd_tensor_t *x,
                                     const inferd_tensor_t *slope)
{
    inferd_tensor_t view = *slope;
    if (node->opset < 7 && slope->ndim == 1 && x->ndim >= 2 && slope->shape[0] == x->shape[1]) {
        view.ndim = x->ndim - 1;
        for (int d = 1; d < view.ndim; d++)
            view.shape[d] = 1;
    }
    return view;
}

static int prelu_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                       inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_ew_check_same_dtype(in, 2, err);
    if (rc != 0)
        return rc;
    if (prelu_kernels[in[0]->dtype] == NULL)
        return onnx_fail_dtype(
            err, in[0],
            "FP16, FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64");
    inferd_tensor_t slope = slope_operand(node, in[0], in[1]);
    const inferd_tensor_t *operands[2] = {in[0], &slope};
    rc = onnx_ew_shape_broadcast(operands, 2, in[0]->dtype, out, err);
    if (rc != 0)
        return rc;
    /* The slope broadcasts to X (unidirectionally): the result must keep X's shape. */
    bool is_x_shape = out->ndim == in[0]->ndim;
    for (int d = 0; d < out->ndim && is_x_shape; d++)
        is_x_shape = out->shape[d] == in[0]->shape[d];
    if (!is_x_shape) {
        char xs[128], ss[128];
        return inferd_fail(err, INFERD_EINVAL, "slope shape %s does not broadcast to X's shape %s",
                           inferd_shape_str(in[1]->shape, in[1]->ndim, ss, sizeof(ss)),
                           inferd_shape_str(in[0]->shape, in[0]->ndim, xs, sizeof(xs)));
    }
    return 0;
}

static int prelu_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                     inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    inferd_tensor_t slope = slope_operand(node, in[0], in[1]);
    const inferd_tensor_t *operands[2] = {in[0], &slope};
    onnx_ew_walk(operands, 2, &out[0], prelu_kernels[in[0]->dtype], NULL);
    return 0;
}

const onnx_op_t onnx_op_prelu = {"PRelu", 2, 2, 1, 1, NULL, prelu_shape, prelu_run};

/* ==== BitShift ==== */

typedef struct {
    bool is_left;
} bitshift_params_t;

/* Unsigned shifts; a shift by the width or more gives 0 (C leaves it undefined). */
#define SHIFT_ROWS(DT, name, T, U)                                                                 \
    ONNX_EW_BINARY_ROW(shift_left_##name, T, T, z >= sizeof(T) * 8 ? (T)0 : (T)((U)x << z))        \
    ONNX_EW_BINARY_ROW(shift_right_##name, T, T, z >= sizeof(T) * 8 ? (T)0 : (T)(x >> z))
ONNX_EW_UNSIGNED_TYPES(SHIFT_ROWS)
#undef SHIFT_ROWS

#define SHIFT_ENTRY(DT, name, T, U) [INFERD_DT_##DT] = {shift_right_##name, shift_left_##name},
/* shift_kernels[dtype][is_left] */
static const onnx_ew_row_t shift_kernels[INFERD_DT_COUNT][2] = {
    ONNX_EW_UNSIGNED_TYPES(SHIFT_ENTRY)};
#undef SHIFT_ENTRY

static int bitshift_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    bitshift_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    const char *direction = onnx_attr_string(proto, "direction", "");
    if (strcmp(direction, "LEFT") != 0 && strcmp(direction, "RIGHT") != 0)
        return inferd_fail(err, INFERD_EMODEL,
                           "direction must be \"LEFT\" or \"RIGHT\", not \"%s\"", direction);
    p->is_left = strcmp(direction, "LEFT") == 0;
    return 0;
}

static int bitshift_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_ew_check_same_dtype(in, 2, err);
    if (rc != 0)
        return rc;
    if (shift_kernels[in[0]->dtype][0] == NULL)
        return onnx_fail_dtype(err, in[0], "UINT8, UINT16, UINT32, UINT64");
    return onnx_ew_shape_broadcast(in, 2, in[0]->dtype, out, err);
}

static int bitshift_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const bitshift_params_t *p = node->params;
    onnx_ew_walk(in, 2, &out[0], shift_kernels[in[0]->dtype][p->is_left], NULL);
    return 0;
}

const onnx_op_t onnx_op_bitshift = {"BitShift",     2,           2, 1, 1, bitshift_prepare,
                                    bitshift_shape, bitshift_run};
