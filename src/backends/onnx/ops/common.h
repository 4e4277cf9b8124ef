/* Helpers every operator family uses: broadcasting, reading small integer inputs (axes, shapes,
 * pads), element access across datatypes, and the params block a node keeps. */
#ifndef INFERD_ONNX_OPS_COMMON_H
#define INFERD_ONNX_OPS_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "../graph.h"

/* Allocates node->params (zeroed, `size` bytes; freed with the graph). NULL when out of memory. */
void *onnx_params_new(onnx_node_t *node, size_t size);

/* `bytes` for constant weights made at load, freed with free(). From 4 MiB on they are aligned
 * to and advised into 2 MiB pages (transparent huge pages), before anything is written: a large
 * layer read once per inference then costs far fewer TLB misses (on a virtual machine each is a
 * two-level page walk). `inferd serve` keeps blocks of 4 MiB or more in mappings of their own
 * (main.c), so freeing these gives them back. NULL when out of memory. */
void *onnx_weights_alloc(size_t bytes);

/* Numpy (multidirectional) broadcast of the shapes of `n` tensors into `shape`/`*ndim`.
 * Returns 0, or INFERD_EINVAL with a message naming the shapes. */
int onnx_broadcast(const inferd_tensor_t *const *tensors, int n, int64_t *shape, int *ndim,
                   inferd_err_t *err);

/* Element strides of `t` seen through a broadcast to `shape` (rank `rank`): 0 along
 * dimensions it is broadcast over. */
void onnx_broadcast_strides(const inferd_tensor_t *t, int rank, const int64_t *shape,
                            int64_t *strides);

/* Row-major strides of a shape, in elements. */
void onnx_strides(const int64_t *shape, int ndim, int64_t *strides);

/* Reads an INT32 or INT64 tensor of at most `max` elements (a shape, axes, pads...) into
 * `values`. Returns the count, or -1 (with a message) for another dtype or too many values. */
int onnx_read_ints(const inferd_tensor_t *t, int64_t *values, int max, const char *what,
                   inferd_err_t *err);

/* Element `i` of `t` as a double / written from a double (any numeric dtype or BOOL; the slow,
 * general path for ops where speed does not matter). */
double onnx_get_f64(const inferd_tensor_t *t, int64_t i);
void onnx_set_f64(inferd_tensor_t *t, int64_t i, double value);

/* Element `i` of an integer or BOOL tensor as int64 (exact; UINT64 above INT64_MAX wraps). */
int64_t onnx_get_i64(const inferd_tensor_t *t, int64_t i);

bool onnx_is_float(inferd_dtype_t dtype);   /* FP16, FP32, FP64 */
bool onnx_is_integer(inferd_dtype_t dtype); /* INT8..INT64, UINT8..UINT64 */

/* Returns 0 when in[0..n_required-1] are all present, else INFERD_EINVAL. (The loader already
 * refuses a model that leaves a required input empty; this guards ops whose required count
 * depends on their attributes.) */
int onnx_require_inputs(const onnx_node_t *node, const inferd_tensor_t *const *in, int n_required,
                        inferd_err_t *err);

/* A message for an unsupported input datatype; returns INFERD_EINVAL. */
int onnx_fail_dtype(inferd_err_t *err, const inferd_tensor_t *t, const char *supported);

#endif
