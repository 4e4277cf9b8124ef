/* The ONNX backend as the server sees it: an inferd_backend_t row. Holds a loaded graph and a
 * pool of execution contexts so that several threads can run the same model at once. */
#include "exec.h"
#include "graph.h"
#include "inferd/backend.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct exec_slot {
    onnx_exec_t *ctx;
    struct exec_slot *next;
} exec_slot_t;

typedef struct {
    onnx_graph_t graph;
    int intra_op_threads; /* OpenMP threads oneDNN may use for one inference */
    pthread_mutex_t lock; /* guards idle; held only to push or pop, never while running */
    exec_slot_t *idle;
} onnx_model_t;

static int onnx_load(const char *path, const inferd_model_config_t *config, void **OUT_state,
                     inferd_signature_t *OUT_sig, inferd_err_t *err)
{
    onnx_model_t *model = calloc(1, sizeof(*model));
    if (model == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    int rc = onnx_graph_load(path, &model->graph, err);
    if (rc == 0)
        rc = inferd_signature_copy(OUT_sig, &model->graph.sig);
    if (rc != 0) {
        onnx_graph_free(&model->graph);
        free(model);
        return rc;
    }
    pthread_mutex_init(&model->lock, NULL);
    model->intra_op_threads = config->intra_op_threads > 0 ? config->intra_op_threads : 1;
    *OUT_state = model;
    return 0;
}

static exec_slot_t *slot_take(onnx_model_t *model)
{
    pthread_mutex_lock(&model->lock);
    exec_slot_t *slot = model->idle;
    if (slot != NULL)
        model->idle = slot->next;
    pthread_mutex_unlock(&model->lock);
    if (slot != NULL)
        return slot;
    slot = calloc(1, sizeof(*slot));
    if (slot != NULL && (slot->ctx = onnx_exec_new(&model->graph)) == NULL) {
        free(slot);
        slot = NULL;
    }
    return slot;
}

static void slot_give_back(onnx_model_t *model, exec_slot_t *slot)
{
    pthread_mutex_lock(&model->lock);
    slot->next = model->idle;
    model->idle = slot;
    pthread_mutex_unlock(&model->lock);
}

static int onnx_infer(void *state, const inferd_tensor_t *inputs, inferd_tensor_t *outputs,
                      inferd_arena_t *arena, inferd_err_t *err)
{
    onnx_model_t *model = state;
    /* OpenMP's thread count belongs to the calling thread: set it per model, cheaply */
    if (omp_get_max_threads() != model->intra_op_threads)
        omp_set_num_threads(model->intra_op_threads);
    exec_slot_t *slot = slot_take(model);
    if (slot == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory for an execution context");
    int rc = onnx_exec_run(slot->ctx, &model->graph, inputs, outputs, arena, err);
    slot_give_back(model, slot);
    return rc;
}

/* oneDNN runs its loops on OpenMP, whose thread count is per calling thread: one intra-op thread
 * keeps server threads and oneDNN's from fighting over the cores. The first sgemm on a thread
 * costs about 30 ms of one-time set-up; pay it here rather than in a request. */
static void onnx_thread_init(void)
{
    omp_set_num_threads(1);
    enum { N = 16 };
    static const float a[N * N], b[N * N];
    float c[N * N];
    dnnl_sgemm('N', 'N', N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
    dnnl_sgemm('N', 'T', N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
}

static void onnx_unload(void *state)
{
    onnx_model_t *model = state;
    for (exec_slot_t *slot = model->idle, *next; slot != NULL; slot = next) {
        next = slot->next;
        onnx_exec_free(slot->ctx);
        free(slot);
    }
    pthread_mutex_destroy(&model->lock);
    onnx_graph_free(&model->graph);
    free(model);
}

const inferd_backend_t inferd_onnx_backend = {
    .name = "onnx",
    .platform = "onnx",
    .file_name = "model.onnx",
    .load = onnx_load,
    .infer = onnx_infer,
    .unload = onnx_unload,
    .thread_init = onnx_thread_init,
};
