/* One inference request and its response, independent of the protocol that carried them, and
 * the check-and-run step between a decoded request and a backend. */
#ifndef INFERD_INFER_H
#define INFERD_INFER_H

#include <stdbool.h>
#include <stddef.h>

#include "inferd/arena.h"
#include "inferd/error.h"
#include "inferd/model.h"
#include "inferd/tensor.h"

typedef struct inferd_request {
    inferd_arena_t *arena;   /* everything below lives here */
    char *id;                /* NULL when the client gave none */
    inferd_tensor_t *inputs; /* in the client's order */
    size_t n_inputs;
    char **output_names; /* the outputs asked for, in the order asked */
    size_t n_output_names;
    bool has_output_filter; /* false: every output, in signature order */
    int64_t priority;       /* parameters.priority: 1 the highest; 0 the model's default */
    int64_t timeout_us;     /* parameters.timeout in microseconds; -1 the model's default */
} inferd_request_t;

/* A request checked against a version's signature (inferd_infer_prepare), ready to run. */
typedef struct inferd_prepared {
    inferd_tensor_t *inputs; /* in signature order, in the request's arena */
    int *wanted;             /* signature indices of the outputs to return, in order */
    size_t n_wanted;
    int64_t batch; /* rows along the batch dimension, or -1 (max_batch_size 0) */
} inferd_prepared_t;

typedef struct inferd_response {
    inferd_tensor_t *outputs; /* in the arena; data too */
    size_t n_outputs;
} inferd_response_t;

/* Checks `req` against the signature of `v` (every input present once, known, of the right
 * datatype and shape, the batch within max_batch_size; every requested output known), runs the
 * backend and fills `resp` with the requested outputs. Returns 0, or a negative code with a
 * message naming the offending input or output. */
int inferd_infer(inferd_model_version_t *v, const inferd_request_t *req, inferd_response_t *resp,
                 inferd_err_t *err);

/* The check half of inferd_infer: fills `prepared` (memory from req->arena). Returns 0 or
 * INFERD_EINVAL with a message naming the input or output at fault. */
int inferd_infer_prepare(const inferd_model_version_t *v, const inferd_request_t *req,
                         inferd_prepared_t *prepared, inferd_err_t *err);

/* The run half: one backend call for the prepared request; outputs in req->arena. */
int inferd_infer_run(inferd_model_version_t *v, const inferd_request_t *req,
                     const inferd_prepared_t *prepared, inferd_response_t *resp, inferd_err_t *err);

#endif
