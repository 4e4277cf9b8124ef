/* Tensors as every inferd module sees them: a datatype from one table, a shape, and a pointer to
 * row-major data owned by someone else (a request arena, a model, an execution context). */
#ifndef INFERD_TENSOR_H
#define INFERD_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INFERD_MAX_DIMS 8

/*  enum suffix, KServe V2 name, ONNX TensorProto.DataType, bytes per element */
#define INFERD_DTYPES(X)                                                                           \
    X(BOOL, "BOOL", 9, 1)                                                                          \
    X(UINT8, "UINT8", 2, 1)                                                                        \
    X(UINT16, "UINT16", 4, 2)                                                                      \
    X(UINT32, "UINT32", 12, 4)                                                                     \
    X(UINT64, "UINT64", 13, 8)                                                                     \
    X(INT8, "INT8", 3, 1)                                                                          \
    X(INT16, "INT16", 5, 2)                                                                        \
    X(INT32, "INT32", 6, 4)                                                                        \
    X(INT64, "INT64", 7, 8)                                                                        \
    X(FP16, "FP16", 10, 2)                                                                         \
    X(FP32, "FP32", 1, 4)                                                                          \
    X(FP64, "FP64", 11, 8)                                                                         \
    X(BYTES, "BYTES", 8, 0)

typedef enum {
    INFERD_DT_INVALID = 0,
#define INFERD_DTYPE_ENUM(suffix, v2, onnx, size) INFERD_DT_##suffix,
    INFERD_DTYPES(INFERD_DTYPE_ENUM)
#undef INFERD_DTYPE_ENUM
        INFERD_DT_COUNT
} inferd_dtype_t;

typedef struct inferd_tensor {
    const char *name;
    inferd_dtype_t dtype;
    int ndim;
    int64_t shape[INFERD_MAX_DIMS];
    void *data; /* row-major; not owned by the tensor */
} inferd_tensor_t;

/* The KServe V2 name of `dtype` ("FP32"), or "INVALID". */
const char *inferd_dtype_name(inferd_dtype_t dtype);

/* The datatype whose V2 name is the `len` bytes at `name`, or INFERD_DT_INVALID. */
inferd_dtype_t inferd_dtype_from_name(const char *name, size_t len);

/* The datatype of ONNX's TensorProto.DataType value `onnx_type`, or INFERD_DT_INVALID. */
inferd_dtype_t inferd_dtype_from_onnx(int onnx_type);

/* Bytes per element (0 for BYTES and INVALID). */
size_t inferd_dtype_size(inferd_dtype_t dtype);

/* The number of elements of a shape, or -1 when a dimension is negative or the product does not
 * fit in 2^62 (so a client cannot make us allocate by overflow). */
int64_t inferd_shape_count(const int64_t *shape, int ndim);

/* Element count of `t` (see inferd_shape_count). */
int64_t inferd_tensor_count(const inferd_tensor_t *t);

/* Byte size of `t`'s data, or -1 as inferd_shape_count. */
int64_t inferd_tensor_bytes(const inferd_tensor_t *t);

/* Formats a shape as "[1,64]" into `buf` (always NUL-terminated); returns buf. -1 dims print as
 * -1. */
char *inferd_shape_str(const int64_t *shape, int ndim, char *buf, size_t buf_len);

#endif
