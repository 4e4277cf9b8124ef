/* Private to the transform family (transform.c, transform_slice.c): the strided copy every
 * data-movement op reduces to, and the ops transform_slice.c defines for transform.c's table. */
#ifndef INFERD_ONNX_OPS_TRANSFORM_H
#define INFERD_ONNX_OPS_TRANSFORM_H

#include "ops.h"

/* A view may have twice the rank of a tensor (Tile views [repeat, dim] pairs). */
#define TRANSFORM_MAX_VIEW_DIMS (2 * INFERD_MAX_DIMS)

/* The most bytes an op may make out of a few input values (Expand, Tile, Pad): a shape input is
 * client data, and a 4-byte change must not ask for terabytes. */
#define TRANSFORM_MAX_OUTPUT_BYTES ((int64_t)1 << 32)

/* Copies the elements of a `rank`-D view of `src` into `dst`. The view has dimensions `shape`;
 * its element at index i is read at src + sum(i[d] * src_strides[d]) and written at
 * dst + sum(i[d] * dst_strides[d]) (strides in elements, of `elem_bytes` each; source strides
 * may be zero or negative). Dimensions of size 1 and dimensions contiguous with the next one are
 * merged first, so a view that is a plain block copies with memcpy. */
void transform_copy_view(void *dst, const int64_t *dst_strides, const void *src,
                         const int64_t *src_strides, const int64_t *shape, int rank,
                         size_t elem_bytes);

/* As transform_copy_view into a contiguous row-major `dst`. */
void transform_copy_to_dense(void *dst, const void *src, const int64_t *src_strides,
                             const int64_t *shape, int rank, size_t elem_bytes);

/* Refuses (INFERD_EINVAL) an output shape whose size overflows or exceeds
 * TRANSFORM_MAX_OUTPUT_BYTES. */
int transform_check_output(const int64_t *shape, int ndim, inferd_dtype_t dtype, const char *op,
                           inferd_err_t *err);

extern const onnx_op_t onnx_op_slice;
extern const onnx_op_t onnx_op_expand;
extern const onnx_op_t onnx_op_tile;
extern const onnx_op_t onnx_op_pad;
extern const onnx_op_t onnx_op_trilu;

#endif
