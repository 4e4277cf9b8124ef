/* Type conversion: Cast (target datatype from the `to` attribute) and CastLike (from the second
 * input's datatype), between every pair of BOOL, integer and float datatypes. Float to integer
 * truncates toward zero; NaN becomes 0 and values beyond the target's range saturate (ONNX
 * leaves both undefined). To BOOL is `value != 0` (NaN is true). STRING, BFLOAT16 and FLOAT8
 * have no inferd datatype and are refused at load. */
#include "elementwise.h"

#include <string.h>

/* ==== one typed loop per pair of C types ====
 * X(..., DTYPE suffix, short name, C type, kind): kind picks the conversion (BOOL sources count
 * any nonzero byte as true). The list is written twice because a macro cannot expand inside
 * itself: CAST_SOURCES drives the outer loop, CAST_TARGETS the inner. */
#define CAST_SOURCES(X)                                                                            \
    X(BOOL, b8, uint8_t, BOOL)                                                                     \
    X(UINT8, u8, uint8_t, INT)                                                                     \
    X(UINT16, u16, uint16_t, INT)                                                                  \
    X(UINT32, u32, uint32_t, INT)                                                                  \
    X(UINT64, u64, uint64_t, INT)                                                                  \
    X(INT8, i8, int8_t, INT)                                                                       \
    X(INT16, i16, int16_t, INT)                                                                    \
    X(INT32, i32, int32_t, INT)                                                                    \
    X(INT64, i64, int64_t, INT)                                                                    \
    X(FP32, f32, float, FLOAT)                                                                     \
    X(FP64, f64, double, FLOAT)
#define CAST_TARGETS(X, ...)                                                                       \
    X(__VA_ARGS__, BOOL, b8, uint8_t, BOOL)                                                        \
    X(__VA_ARGS__, UINT8, u8, uint8_t, INT)                                                        \
    X(__VA_ARGS__, UINT16, u16, uint16_t, INT)                                                     \
    X(__VA_ARGS__, UINT32, u32, uint32_t, INT)                                                     \
    X(__VA_ARGS__, UINT64, u64, uint64_t, INT)                                                     \
    X(__VA_ARGS__, INT8, i8, int8_t, INT)                                                          \
    X(__VA_ARGS__, INT16, i16, int16_t, INT)                                                       \
    X(__VA_ARGS__, INT32, i32, int32_t, INT)                                                       \
    X(__VA_ARGS__, INT64, i64, int64_t, INT)                                                       \
    X(__VA_ARGS__, FP32, f32, float, FLOAT)                                                        \
    X(__VA_ARGS__, FP64, f64, double, FLOAT)

/* CONVERT_<source kind>_<target kind>(target C type, target short name, x). Integer to integer
 * keeps the low bits (modular), as C converts. */
#define CONVERT_INT_INT(T, name, x)     ((T)(x))
#define CONVERT_INT_FLOAT(T, name, x)   ((T)(x))
#define CONVERT_FLOAT_FLOAT(T, name, x) ((T)(x))
#define CONVERT_FLOAT_INT(T, name, x)   onnx_ew_sat_##name((double)(x))
#define CONVERT_BOOL_INT(T, name, x)    ((T)((x) != 0))
#define CONVERT_BOOL_FLOAT(T, name, x)  ((T)((x) != 0))
#define CONVERT_BOOL_BOOL(T, name, x)   ((uint8_t)((x) != 0))
#define CONVERT_INT_BOOL(T, name, x)    ((uint8_t)((x) != 0))
#define CONVERT_FLOAT_BOOL(T, name, x)  ((uint8_t)((x) != 0))

#define DEFINE_PAIR(S, s, ST, SK, D, d, DT, DK)                                                    \
    static void cast_##s##_to_##d(const void *from, void *to, int64_t n)                           \
    {                                                                                              \
        const ST *x = from;                                                                        \
        DT *y = to;                                                                                \
        for (int64_t i = 0; i < n; i++)                                                            \
            y[i] = CONVERT_##SK##_##DK(DT, d, x[i]);                                               \
    }
#define DEFINE_FROM(S, s, ST, SK) CAST_TARGETS(DEFINE_PAIR, S, s, ST, SK)
CAST_SOURCES(DEFINE_FROM)
#undef DEFINE_FROM
#undef DEFINE_PAIR

typedef void (*cast_loop_t)(const void *from, void *to, int64_t n);

#define TABLE_PAIR(S, s, ST, SK, D, d, DT, DK) [INFERD_DT_##S][INFERD_DT_##D] = cast_##s##_to_##d,
#define TABLE_FROM(S, s, ST, SK)               CAST_TARGETS(TABLE_PAIR, S, s, ST, SK)
/* cast_loops[from][to]; NULL where FP16 is involved (the general path converts those). */
static const cast_loop_t cast_loops[INFERD_DT_COUNT][INFERD_DT_COUNT] = {CAST_SOURCES(TABLE_FROM)};
#undef TABLE_FROM
#undef TABLE_PAIR

/* Converts every element of x into y (same shape, y's datatype). */
static void cast_tensor(const inferd_tensor_t *x, inferd_tensor_t *y)
{
    int64_t n = inferd_tensor_count(x);
    if (n <= 0)
        return;
    if (x->dtype == y->dtype) {
        memcpy(y->data, x->data, (size_t)n * inferd_dtype_size(x->dtype));
        return;
    }
    cast_loop_t loop = cast_loops[x->dtype][y->dtype];
    if (loop != NULL) {
        loop(x->data, y->data, n);
        return;
    }
    for (int64_t i = 0; i < n; i++) /* FP16 on one side: exact through double */
        onnx_ew_store_f64(y->data, y->dtype, i, onnx_ew_load_f64(x->data, x->dtype, i));
}

/* ==== Cast, CastLike ==== */

/* The name of ONNX's TensorProto.DataType `type`, for messages. */
static const char *onnx_type_name(int64_t type)
{
    static const char *const names[] = {
        "UNDEFINED",      "FLOAT",      "UINT8",         "INT8",       "UINT16",   "INT16",
        "INT32",          "INT64",      "STRING",        "BOOL",       "FLOAT16",  "DOUBLE",
        "UINT32",         "UINT64",     "COMPLEX64",     "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN",
        "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ"};
    if (type < 0 || type >= (int64_t)(sizeof(names) / sizeof(names[0])))
        return "an unknown type";
    return names[type];
}

/* True for the datatypes a cast reads or writes (fixed-size, not BYTES). */
static bool is_castable(inferd_dtype_t dtype)
{
    return dtype != INFERD_DT_INVALID && dtype != INFERD_DT_BYTES && dtype < INFERD_DT_COUNT;
}

typedef struct {
    inferd_dtype_t to;
} cast_params_t;

static int cast_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    cast_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    const Onnx__AttributeProto *to = onnx_attr(proto, "to");
    if (to == NULL || !to->has_i)
        return inferd_fail(err, INFERD_EMODEL, "the 'to' attribute (the target type) is missing");
    p->to =
        to->i >= 0 && to->i <= INT32_MAX ? inferd_dtype_from_onnx((int)to->i) : INFERD_DT_INVALID;
    if (!is_castable(p->to))
        return inferd_fail(err, INFERD_EMODEL,
                           "casting to %s (%lld) is not supported: inferd has no tensors of that "
                           "type",
                           onnx_type_name(to->i), (long long)to->i);
    return 0;
}

static int cast_to_shape(const inferd_tensor_t *x, inferd_dtype_t to, inferd_tensor_t *out,
                         inferd_err_t *err)
{
    if (!is_castable(x->dtype))
        return onnx_fail_dtype(err, x, "BOOL, integer and float");
    if (!is_castable(to))
        return inferd_fail(err, INFERD_EINVAL, "cannot cast to %s", inferd_dtype_name(to));
    onnx_set_shape(out, to, x->shape, x->ndim);
    return 0;
}

static int cast_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, inferd_err_t *err)
{
    const cast_params_t *p = node->params;
    int rc = onnx_ew_check_present(in, 1, err);
    return rc != 0 ? rc : cast_to_shape(in[0], p->to, &out[0], err);
}

static int castlike_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          inferd_tensor_t *out, inferd_err_t *err)
{
    int rc = onnx_ew_check_present(in, 2, err);
    return rc != 0 ? rc : cast_to_shape(in[0], in[1]->dtype, &out[0], err);
}

static int cast_run(const onnx_node_t *node, const inferd_tensor_t *const *in, inferd_tensor_t *out,
                    onnx_scratch_t *scratch, inferd_err_t *err)
{
    cast_tensor(in[0], &out[0]);
    return 0;
}

static const onnx_op_t onnx_op_cast = {"Cast", 1, 1, 1, 1, cast_prepare, cast_shape, cast_run};
static const onnx_op_t onnx_op_castlike = {"CastLike", 2, 2, 1, 1, NULL, castlike_shape, cast_run};

const onnx_op_t *const onnx_ops_cast[] = {&onnx_op_cast, &onnx_op_castlike, NULL};
