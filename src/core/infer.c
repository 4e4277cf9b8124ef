/* The step between a decoded request and a backend: check every input against the version's
 * signature (so backends see only well-formed batches), run, and pick the requested outputs.
 * Every refusal names the input or output at fault and says what was expected. */
#include "inferd/backend.h"
#include "inferd/random.h"
#include "inferd/clock.h"
#include "inferd/infer.h"
#include "inferd/metrics.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int find_input(const inferd_signature_t *sig, const char *name)
{
    for (size_t i = 0; i < sig->n_inputs; i++)
        if (strcmp(sig->inputs[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int find_output(const inferd_signature_t *sig, const char *name)
{
    for (size_t i = 0; i < sig->n_outputs; i++)
        if (strcmp(sig->outputs[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* "input, mask" — the names the model takes, for messages. */
static void list_names(const inferd_io_spec_t *specs, size_t n, char *buf, size_t buf_len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used + 1 < buf_len; i++) {
        int wrote = snprintf(buf + used, buf_len - used, "%s'%s'", i ? ", " : "", specs[i].name);
        if (wrote < 0)
            break;
        used += (size_t)wrote;
    }
}

static int check_input(const inferd_model_version_t *v, const inferd_io_spec_t *spec,
                       const inferd_tensor_t *t, inferd_err_t *err)
{
    char got[128], want[128];
    if (t->dtype != spec->dtype)
        return inferd_fail(err, INFERD_EINVAL,
                           "input '%s' has datatype %s but the model expects %s", spec->name,
                           inferd_dtype_name(t->dtype), inferd_dtype_name(spec->dtype));
    bool matches = t->ndim == spec->ndim;
    for (int d = 0; matches && d < spec->ndim; d++)
        matches = spec->shape[d] == -1 || spec->shape[d] == t->shape[d];
    if (!matches)
        return inferd_fail(err, INFERD_EINVAL,
                           "input '%s' has shape %s but the model expects %s (-1: any size)",
                           spec->name, inferd_shape_str(t->shape, t->ndim, got, sizeof(got)),
                           inferd_shape_str(spec->shape, spec->ndim, want, sizeof(want)));
    if (v->max_batch_size > 0 && t->shape[0] > v->max_batch_size)
        return inferd_fail(err, INFERD_EINVAL,
                           "input '%s' has batch size %lld, above the model's max_batch_size %lld; "
                           "split the request",
                           spec->name, (long long)t->shape[0], (long long)v->max_batch_size);
    return 0;
}

int inferd_infer_prepare(const inferd_model_version_t *v, const inferd_request_t *req,
                         inferd_prepared_t *prepared, inferd_err_t *err)
{
    const inferd_signature_t *sig = &v->sig;
    char names[512];
    inferd_tensor_t *ordered = inferd_arena_calloc(req->arena, sig->n_inputs + 1, sizeof(*ordered));
    if (ordered == NULL)
        return inferd_fail(err, INFERD_ETOOBIG, "request too large for the request memory limit");

    for (size_t i = 0; i < req->n_inputs; i++) {
        const inferd_tensor_t *t = &req->inputs[i];
        int slot = find_input(sig, t->name);
        if (slot < 0) {
            list_names(sig->inputs, sig->n_inputs, names, sizeof(names));
            return inferd_fail(err, INFERD_EINVAL,
                               "unknown input '%s'; model '%s' version %s takes: %s", t->name,
                               v->model_name, v->version_str, names);
        }
        if (ordered[slot].name != NULL)
            return inferd_fail(err, INFERD_EINVAL, "input '%s' is given more than once", t->name);
        int rc = check_input(v, &sig->inputs[slot], t, err);
        if (rc != 0)
            return rc;
        ordered[slot] = *t;
    }
    int64_t batch = -1;
    for (size_t i = 0; i < sig->n_inputs; i++) {
        if (ordered[i].name == NULL)
            return inferd_fail(
                err, INFERD_EINVAL, "missing input '%s' (%s, shape %s)", sig->inputs[i].name,
                inferd_dtype_name(sig->inputs[i].dtype),
                inferd_shape_str(sig->inputs[i].shape, sig->inputs[i].ndim, names, sizeof(names)));
        if (v->max_batch_size > 0) {
            if (batch >= 0 && ordered[i].shape[0] != batch)
                return inferd_fail(err, INFERD_EINVAL,
                                   "input '%s' has batch size %lld but other inputs have %lld; "
                                   "every input must have the same first dimension",
                                   ordered[i].name, (long long)ordered[i].shape[0],
                                   (long long)batch);
            batch = ordered[i].shape[0];
        }
    }

    /* Which outputs, in which order. */
    size_t n_wanted = req->has_output_filter ? req->n_output_names : sig->n_outputs;
    int *wanted = inferd_arena_calloc(req->arena, n_wanted + 1, sizeof(*wanted));
    if (wanted == NULL)
        return inferd_fail(err, INFERD_ETOOBIG, "request too large for the request memory limit");
    for (size_t i = 0; i < n_wanted; i++) {
        if (!req->has_output_filter) {
            wanted[i] = (int)i;
            continue;
        }
        wanted[i] = find_output(sig, req->output_names[i]);
        if (wanted[i] < 0) {
            list_names(sig->outputs, sig->n_outputs, names, sizeof(names));
            return inferd_fail(err, INFERD_EINVAL,
                               "unknown output '%s'; model '%s' version %s has: %s",
                               req->output_names[i], v->model_name, v->version_str, names);
        }
        for (size_t j = 0; j < i; j++)
            if (wanted[j] == wanted[i])
                return inferd_fail(err, INFERD_EINVAL, "output '%s' is requested more than once",
                                   req->output_names[i]);
    }
    prepared->inputs = ordered;
    prepared->wanted = wanted;
    prepared->n_wanted = n_wanted;
    prepared->batch = batch;
    return 0;
}

/* config.json's fault_injection: sleep, then maybe fail, as the operator asked. */
static int inject_faults(const inferd_model_version_t *v, inferd_err_t *err)
{
    if (v->fault.delay_us > 0) {
        struct timespec pause = {v->fault.delay_us / 1000000, (v->fault.delay_us % 1000000) * 1000};
        while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
            ;
    }
    if (v->fault.error_rate > 0 && inferd_uniform() < v->fault.error_rate)
        return inferd_fail(err, INFERD_EINTERNAL,
                           "injected failure: model '%s' version %s has fault_injection.error_rate "
                           "%g (set in config.json or its deployment)",
                           v->model_name, v->version_str, v->fault.error_rate);
    return 0;
}

int inferd_infer_run(inferd_model_version_t *v, const inferd_request_t *req,
                     const inferd_prepared_t *prepared, inferd_response_t *resp, inferd_err_t *err)
{
    const inferd_signature_t *sig = &v->sig;
    inferd_tensor_t *all_outputs =
        inferd_arena_calloc(req->arena, sig->n_outputs + 1, sizeof(*all_outputs));
    resp->outputs = inferd_arena_calloc(req->arena, prepared->n_wanted + 1, sizeof(*resp->outputs));
    if (all_outputs == NULL || resp->outputs == NULL)
        return inferd_fail(err, INFERD_ETOOBIG, "response too large for the request memory limit");
    for (size_t i = 0; i < sig->n_outputs; i++)
        all_outputs[i].name = sig->outputs[i].name;

    uint64_t start_ns = inferd_monotonic_ns();
    int rc = inject_faults(v, err);
    if (rc == 0)
        rc = v->backend->infer(v->backend_state, prepared->inputs, all_outputs, req->arena, err);
    uint64_t compute_ns = inferd_monotonic_ns() - start_ns;
    if (rc != 0)
        return rc;
    inferd_stats_record_execution(v, prepared->batch > 0 ? prepared->batch : 1, compute_ns);
    for (size_t i = 0; i < prepared->n_wanted; i++)
        resp->outputs[i] = all_outputs[prepared->wanted[i]];
    resp->n_outputs = prepared->n_wanted;
    return 0;
}

int inferd_infer(inferd_model_version_t *v, const inferd_request_t *req, inferd_response_t *resp,
                 inferd_err_t *err)
{
    inferd_prepared_t prepared;
    int rc = inferd_infer_prepare(v, req, &prepared, err);
    return rc != 0 ? rc : inferd_infer_run(v, req, &prepared, resp, err);
}
