/* A backend runs one kind of model file. It is a table of functions; the server picks the backend
 * by config.json's "backend" or by the file present in a version folder. */
#ifndef INFERD_BACKEND_H
#define INFERD_BACKEND_H

#include "inferd/arena.h"
#include "inferd/error.h"
#include "inferd/model.h"
#include "inferd/tensor.h"

struct inferd_backend {
    const char *name;      /* config.json "backend" value, e.g. "onnx" */
    const char *platform;  /* the "platform" reported in model metadata */
    const char *file_name; /* the file looked for in each version folder, e.g. "model.onnx" */

    /* Loads the model at `path`. On success sets *OUT_state and fills *OUT_sig (which the caller
     * then owns; free with inferd_signature_free) with the model's own inputs and outputs, -1
     * for dimensions the model leaves open. Returns 0, or a negative code with the reason in
     * err (INFERD_EMODEL: the file is not a model we can run, naming what is wrong). */
    int (*load)(const char *path, const inferd_model_config_t *config, void **OUT_state,
                inferd_signature_t *OUT_sig, inferd_err_t *err);

    /* Runs one batch. `inputs` are in signature order and already checked against it.
     * Fills every element of `outputs` (signature order, names set by the caller) with a shape
     * and data allocated from `arena`. Safe to call from several threads at once.
     * Returns 0, or a negative code with the reason in err. */
    int (*infer)(void *state, const inferd_tensor_t *inputs, inferd_tensor_t *outputs,
                 inferd_arena_t *arena, inferd_err_t *err);

    /* Releases everything `load` made. */
    void (*unload)(void *state);

    /* Optional: prepares the calling thread to run this backend (thread-local runtimes, one-time
     * kernel set-up), so that a thread's first request is not slower than the rest. */
    void (*thread_init)(void);
};

/* Runs every backend's thread_init on the calling thread. Call once in each thread that will run
 * inferences, before it serves. */
void inferd_backends_thread_init(void);

/* The backend named `name`, or NULL. */
const inferd_backend_t *inferd_backend_find(const char *name);

/* The backend whose file exists in version folder `dir`, or NULL. */
const inferd_backend_t *inferd_backend_for_dir(const char *dir);

/* The comma-separated names of all backends, for messages. */
const char *inferd_backend_names(void);

#endif
