/* Elementwise operators: Add, Sub, Mul, Div with numpy-style (multidirectional) broadcasting
 * over FP32, FP64, INT32 and INT64; Relu, Sigmoid and Tanh over FP32 and FP64. */
#include "ops.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ==== broadcasting ==== */

/* Output shape of broadcasting a with b, or -1 when they are incompatible. */
static int broadcast_shape(const inferd_tensor_t *a, const inferd_tensor_t *b, int64_t *shape,
                           int *ndim)
{
    int rank = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int d = 0; d < rank; d++) {
        int da = d - (rank - a->ndim), db = d - (rank - b->ndim);
        int64_t sa = da >= 0 ? a->shape[da] : 1, sb = db >= 0 ? b->shape[db] : 1;
        if (sa != sb && sa != 1 && sb != 1)
            return -1;
        shape[d] = sa == 1 ? sb : sa;
    }
    *ndim = rank;
    return 0;
}

/* Element strides of `t` seen through the output shape: 0 along broadcast dimensions. */
static void broadcast_strides(const inferd_tensor_t *t, int rank, const int64_t *out_shape,
                              int64_t *strides)
{
    int64_t stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        int dt = d - (rank - t->ndim);
        int64_t size = dt >= 0 ? t->shape[dt] : 1;
        strides[d] = (size == 1 && out_shape[d] != 1) ? 0 : stride;
        if (dt >= 0)
            stride *= size;
    }
}

typedef enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV } binary_kind_t;

typedef struct {
    binary_kind_t kind;
} binary_params_t;

/* The inner loop of one op and type: n elements, a and b advancing by 0 or 1. */
#define DEFINE_BINARY_LOOP(fn, type, expr)                                                         \
    static void fn(const void *va, int64_t sa, const void *vb, int64_t sb, void *vy, int64_t n)    \
    {                                                                                              \
        const type *a = va, *b = vb;                                                               \
        type *y = vy;                                                                              \
        for (int64_t i = 0; i < n; i++) {                                                          \
            type x = a[i * sa], z = b[i * sb];                                                     \
            y[i] = (expr);                                                                         \
        }                                                                                          \
    }

#define DEFINE_BINARY_TYPE(suffix, type)                                                           \
    DEFINE_BINARY_LOOP(add_##suffix, type, x + z)                                                  \
    DEFINE_BINARY_LOOP(sub_##suffix, type, x - z)                                                  \
    DEFINE_BINARY_LOOP(mul_##suffix, type, x *z)                                                   \
    DEFINE_BINARY_LOOP(div_##suffix, type, x / z)

DEFINE_BINARY_TYPE(f32, float)
DEFINE_BINARY_TYPE(f64, double)
DEFINE_BINARY_TYPE(i32, int32_t)
DEFINE_BINARY_TYPE(i64, int64_t)

typedef void (*binary_loop_t)(const void *, int64_t, const void *, int64_t, void *, int64_t);

static binary_loop_t binary_loop(binary_kind_t kind, inferd_dtype_t dtype)
{
    static const binary_loop_t table[4][4] = {
        {add_f32, add_f64, add_i32, add_i64},
        {sub_f32, sub_f64, sub_i32, sub_i64},
        {mul_f32, mul_f64, mul_i32, mul_i64},
        {div_f32, div_f64, div_i32, div_i64},
    };
    int column;
    switch (dtype) {
    case INFERD_DT_FP32:
        column = 0;
        break;
    case INFERD_DT_FP64:
        column = 1;
        break;
    case INFERD_DT_INT32:
        column = 2;
        break;
    case INFERD_DT_INT64:
        column = 3;
        break;
    default:
        return NULL;
    }
    return table[kind][column];
}

static int binary_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, inferd_err_t *err)
{
    const binary_params_t *p = node->params;
    char sa[128], sb[128];
    if (in[0]->dtype != in[1]->dtype)
        return inferd_fail(err, INFERD_EINVAL, "inputs have different datatypes (%s and %s)",
                           inferd_dtype_name(in[0]->dtype), inferd_dtype_name(in[1]->dtype));
    if (binary_loop(p->kind, in[0]->dtype) == NULL)
        return inferd_fail(err, INFERD_EINVAL,
                           "datatype %s is not supported (FP32, FP64, INT32, "
                           "INT64 are)",
                           inferd_dtype_name(in[0]->dtype));
    int64_t shape[INFERD_MAX_DIMS];
    int ndim;
    if (broadcast_shape(in[0], in[1], shape, &ndim) != 0)
        return inferd_fail(err, INFERD_EINVAL, "shapes %s and %s do not broadcast",
                           inferd_shape_str(in[0]->shape, in[0]->ndim, sa, sizeof(sa)),
                           inferd_shape_str(in[1]->shape, in[1]->ndim, sb, sizeof(sb)));
    onnx_set_shape(&out[0], in[0]->dtype, shape, ndim);
    return 0;
}

static bool has_integer_zero(const inferd_tensor_t *t)
{
    int64_t n = inferd_tensor_count(t);
    for (int64_t i = 0; i < n; i++)
        if (t->dtype == INFERD_DT_INT32 ? ((const int32_t *)t->data)[i] == 0
                                        : ((const int64_t *)t->data)[i] == 0)
            return true;
    return false;
}

static int binary_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const binary_params_t *p = node->params;
    const inferd_tensor_t *a = in[0], *b = in[1];
    inferd_tensor_t *y = &out[0];
    bool is_integer = a->dtype == INFERD_DT_INT32 || a->dtype == INFERD_DT_INT64;
    if (p->kind == BIN_DIV && is_integer && has_integer_zero(b))
        return inferd_fail(err, INFERD_EINVAL, "integer division by zero");
    binary_loop_t loop = binary_loop(p->kind, a->dtype);
    size_t elem = inferd_dtype_size(a->dtype);
    int64_t total = inferd_tensor_count(y);
    if (total == 0)
        return 0;
    int rank = y->ndim;
    if (rank == 0) {
        loop(a->data, 0, b->data, 0, y->data, 1);
        return 0;
    }
    int64_t stride_a[INFERD_MAX_DIMS], stride_b[INFERD_MAX_DIMS];
    broadcast_strides(a, rank, y->shape, stride_a);
    broadcast_strides(b, rank, y->shape, stride_b);
    /* Walk every row of the output's last dimension; an odometer keeps the row's offsets. */
    int64_t inner = y->shape[rank - 1], rows = total / inner;
    int64_t index[INFERD_MAX_DIMS] = {0};
    int64_t offset_a = 0, offset_b = 0;
    const char *pa = a->data, *pb = b->data;
    char *py = y->data;
    for (int64_t row = 0; row < rows; row++) {
        loop(pa + offset_a * (int64_t)elem, stride_a[rank - 1], pb + offset_b * (int64_t)elem,
             stride_b[rank - 1], py + row * inner * (int64_t)elem, inner);
        for (int d = rank - 2; d >= 0; d--) {
            index[d]++;
            offset_a += stride_a[d];
            offset_b += stride_b[d];
            if (index[d] < y->shape[d])
                break;
            offset_a -= stride_a[d] * index[d];
            offset_b -= stride_b[d] * index[d];
            index[d] = 0;
        }
    }
    return 0;
}

#define DEFINE_BINARY_OP(var, name, kind_value)                                                    \
    static int prepare_##var(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)   \
    {                                                                                              \
        binary_params_t *p = calloc(1, sizeof(*p));                                                \
        if (p == NULL)                                                                             \
            return INFERD_ENOMEM;                                                                  \
        p->kind = kind_value;                                                                      \
        node->params = p;                                                                          \
        if (node->opset < 7 && onnx_attr_int(proto, "broadcast", 0) != 0)                          \
            return inferd_fail(err, INFERD_EMODEL, "legacy broadcast attribute is unsupported");   \
        return 0;                                                                                  \
    }                                                                                              \
    static const onnx_op_t onnx_op_##var = {name,         2,         2, 1, 1, prepare_##var,       \
                                            binary_shape, binary_run};

DEFINE_BINARY_OP(add, "Add", BIN_ADD)
DEFINE_BINARY_OP(sub, "Sub", BIN_SUB)
DEFINE_BINARY_OP(mul, "Mul", BIN_MUL)
DEFINE_BINARY_OP(div, "Div", BIN_DIV)

/* ==== unary activations ==== */

static int float_unary_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                             inferd_tensor_t *out, inferd_err_t *err)
{
    if (in[0]->dtype != INFERD_DT_FP32 && in[0]->dtype != INFERD_DT_FP64)
        return inferd_fail(err, INFERD_EINVAL, "datatype %s is not supported (FP32, FP64 are)",
                           inferd_dtype_name(in[0]->dtype));
    onnx_set_shape(&out[0], in[0]->dtype, in[0]->shape, in[0]->ndim);
    return 0;
}

static float relu_f(float x)
{
    return x > 0.0f ? x : 0.0f;
}
static double relu_d(double x)
{
    return x > 0.0 ? x : 0.0;
}
/* Sigmoid written so that exp() never overflows. */
static float sigmoid_f(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}
static double sigmoid_d(double x)
{
    if (x >= 0.0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

#define DEFINE_UNARY_OP(var, name, f32_fn, f64_fn)                                                 \
    static int run_##var(const onnx_node_t *node, const inferd_tensor_t *const *in,                \
                         inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)         \
    {                                                                                              \
        int64_t n = inferd_tensor_count(in[0]);                                                    \
        if (in[0]->dtype == INFERD_DT_FP32) {                                                      \
            const float *x = in[0]->data;                                                          \
            float *y = out[0].data;                                                                \
            for (int64_t i = 0; i < n; i++)                                                        \
                y[i] = f32_fn(x[i]);                                                               \
        } else {                                                                                   \
            const double *x = in[0]->data;                                                         \
            double *y = out[0].data;                                                               \
            for (int64_t i = 0; i < n; i++)                                                        \
                y[i] = f64_fn(x[i]);                                                               \
        }                                                                                          \
        return 0;                                                                                  \
    }                                                                                              \
    static const onnx_op_t onnx_op_##var = {name, 1, 1, 1, 1, NULL, float_unary_shape, run_##var};

DEFINE_UNARY_OP(relu, "Relu", relu_f, relu_d)
DEFINE_UNARY_OP(sigmoid, "Sigmoid", sigmoid_f, sigmoid_d)
DEFINE_UNARY_OP(tanh, "Tanh", tanhf, tanh)

const onnx_op_t *const onnx_ops_elementwise[] = {
    &onnx_op_add,  &onnx_op_sub,     &onnx_op_mul,  &onnx_op_div,
    &onnx_op_relu, &onnx_op_sigmoid, &onnx_op_tanh, NULL,
};
