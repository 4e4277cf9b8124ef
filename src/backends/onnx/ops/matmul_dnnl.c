/* Batched FP32 MatMul through oneDNN's matmul primitive: [batch, m, k] x [batch or 1, k, n] (B
 * read through strides, so a Transpose folded into the MatMul costs nothing) in one call, instead
 * of one sgemm per matrix, which costs more than the arithmetic for the small per-head products of
 * attention (e.g. 256 products of 32x16x32 at batch 64). The primitive is kept in the node's
 * per-context state and rebuilt when the shapes change; oneDNN's own primitive cache makes a return
 * to an earlier shape cheap. Each matrix of the batch is computed alone, so its result does not
 * depend on the batch size. */
#include "numeric.h"
#include "dnnl_util.h"
#include "state_cache.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    onnx_matmul_desc_t desc;
    dnnl_stream_t stream;
    dnnl_primitive_t matmul;
    dnnl_memory_t a, b, y;
} matmul_state_t;

static void matmul_state_free(void *data)
{
    matmul_state_t *s = data;
    if (s == NULL)
        return;
    dnnl_memory_t memories[] = {s->a, s->b, s->y};
    onnx_dnnl_destroy(s->matmul, memories, 3, s->stream);
    free(s);
}

static dnnl_status_t build(matmul_state_t *s, const onnx_matmul_desc_t *d)
{
    dnnl_dims_t a_dims = {d->batch, d->m, d->k}, y_dims = {d->batch, d->m, d->n};
    dnnl_dims_t b_dims = {d->is_b_batched ? d->batch : 1, d->k, d->n};
    dnnl_dims_t b_strides = {d->is_b_batched ? d->b_batch_stride : d->k * d->n, d->b_k_stride,
                             d->b_n_stride};
    dnnl_memory_desc_t a_md, b_md, y_md;
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&a_md, 3, a_dims, dnnl_f32, dnnl_abc);
    if (st == dnnl_success)
        st = dnnl_memory_desc_init_by_strides(&b_md, 3, b_dims, dnnl_f32, b_strides);
    if (st == dnnl_success)
        st = dnnl_memory_desc_init_by_tag(&y_md, 3, y_dims, dnnl_f32, dnnl_abc);
    dnnl_matmul_desc_t matmul_desc;
    if (st == dnnl_success)
        st = dnnl_matmul_desc_init(&matmul_desc, &a_md, &b_md, NULL, &y_md);
    dnnl_primitive_desc_t pd = NULL;
    if (st == dnnl_success)
        st = dnnl_primitive_desc_create(&pd, &matmul_desc, NULL, onnx_dnnl_engine(), NULL);
    if (st != dnnl_success)
        return st;
    st = dnnl_primitive_create(&s->matmul, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st == dnnl_success)
        st = dnnl_memory_create(&s->a, &a_md, onnx_dnnl_engine(), DNNL_MEMORY_NONE);
    if (st == dnnl_success)
        st = dnnl_memory_create(&s->b, &b_md, onnx_dnnl_engine(), DNNL_MEMORY_NONE);
    if (st == dnnl_success)
        st = dnnl_memory_create(&s->y, &y_md, onnx_dnnl_engine(), DNNL_MEMORY_NONE);
    if (st == dnnl_success)
        st = dnnl_stream_create(&s->stream, onnx_dnnl_engine(), dnnl_stream_default_flags);
    return st;
}

int onnx_matmul_dnnl(onnx_node_state_t *node_state, const onnx_matmul_desc_t *d, const float *a,
                     const float *b, float *y, inferd_err_t *err)
{
    if (onnx_dnnl_engine() == NULL || node_state == NULL)
        return INFERD_EUNSUPPORTED;
    matmul_state_t *s = onnx_state_cache_find(node_state, d, sizeof(*d));
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            return inferd_fail(err, INFERD_ENOMEM, "MatMul: out of memory");
        if (build(s, d) != dnnl_success) {
            matmul_state_free(s);
            return INFERD_EUNSUPPORTED; /* the caller multiplies matrix by matrix */
        }
        s->desc = *d;
        if (onnx_state_cache_put(node_state, d, sizeof(*d), s, matmul_state_free) != 0)
            return inferd_fail(err, INFERD_ENOMEM, "MatMul: out of memory");
    }
    dnnl_status_t st = dnnl_memory_set_data_handle(s->a, (void *)a);
    if (st == dnnl_success)
        st = dnnl_memory_set_data_handle(s->b, (void *)b);
    if (st == dnnl_success)
        st = dnnl_memory_set_data_handle(s->y, y);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[3] = {
            {DNNL_ARG_SRC, s->a}, {DNNL_ARG_WEIGHTS, s->b}, {DNNL_ARG_DST, s->y}};
        st = dnnl_primitive_execute(s->matmul, s->stream, 3, args);
    }
    if (st == dnnl_success)
        st = dnnl_stream_wait(s->stream);
    if (st != dnnl_success)
        return inferd_fail(err, INFERD_EINTERNAL, "MatMul: oneDNN failed (status %d)", (int)st);
    return 0;
}
