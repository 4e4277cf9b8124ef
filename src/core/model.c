/* Model versions: creation, loading through a backend, reconciling the model's own signature
 * with config.json's, and refcounted release. */
#include "inferd/backend.h"
#include "inferd/clock.h"
#include "inferd/json.h"
#include "inferd/model.h"
#include "inferd/metrics.h"
#include "inferd/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void inferd_signature_free(inferd_signature_t *sig)
{
    for (size_t i = 0; i < sig->n_inputs; i++)
        free(sig->inputs[i].name);
    for (size_t i = 0; i < sig->n_outputs; i++)
        free(sig->outputs[i].name);
    free(sig->inputs);
    free(sig->outputs);
    memset(sig, 0, sizeof(*sig));
}

static int copy_specs(inferd_io_spec_t **dst, const inferd_io_spec_t *src, size_t n)
{
    *dst = calloc(n ? n : 1, sizeof(**dst));
    if (*dst == NULL)
        return INFERD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        (*dst)[i] = src[i];
        (*dst)[i].name = strdup(src[i].name);
        if ((*dst)[i].name == NULL)
            return INFERD_ENOMEM;
    }
    return 0;
}

void inferd_specs_write_json(inferd_jsonw_t *w, const inferd_io_spec_t *specs, size_t n)
{
    inferd_jsonw_lit(w, "[");
    for (size_t i = 0; i < n; i++) {
        inferd_jsonw_lit(w, i ? ",{\"name\":" : "{\"name\":");
        inferd_jsonw_cstr(w, specs[i].name);
        inferd_jsonw_lit(w, ",\"datatype\":\"");
        inferd_jsonw_lit(w, inferd_dtype_name(specs[i].dtype));
        inferd_jsonw_lit(w, "\",\"shape\":[");
        for (int d = 0; d < specs[i].ndim; d++) {
            if (d > 0)
                inferd_jsonw_lit(w, ",");
            inferd_jsonw_int(w, specs[i].shape[d]);
        }
        inferd_jsonw_lit(w, "]}");
    }
    inferd_jsonw_lit(w, "]");
}

int inferd_signature_copy(inferd_signature_t *dst, const inferd_signature_t *src)
{
    memset(dst, 0, sizeof(*dst));
    int rc = copy_specs(&dst->inputs, src->inputs, src->n_inputs);
    if (rc == 0) {
        dst->n_inputs = src->n_inputs;
        rc = copy_specs(&dst->outputs, src->outputs, src->n_outputs);
        if (rc == 0)
            dst->n_outputs = src->n_outputs;
    }
    if (rc != 0)
        inferd_signature_free(dst);
    return rc;
}

inferd_model_version_t *inferd_version_new(const char *model_name, int64_t number, const char *path)
{
    inferd_model_version_t *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return NULL;
    v->model_name = strdup(model_name);
    v->version = number;
    snprintf(v->version_str, sizeof(v->version_str), "%lld", (long long)number);
    v->path = strdup(path);
    if (v->path == NULL || v->model_name == NULL) {
        free((char *)v->model_name);
        free(v->path);
        free(v);
        return NULL;
    }
    atomic_init(&v->refs, 1);
    return v;
}

void inferd_version_acquire(inferd_model_version_t *v)
{
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

static void (*_Atomic version_reaper)(inferd_model_version_t *v);

void inferd_version_set_reaper(void (*reap)(inferd_model_version_t *v))
{
    atomic_store(&version_reaper, reap);
}

void inferd_version_release(inferd_model_version_t *v)
{
    if (v == NULL || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    void (*reap)(inferd_model_version_t *) = atomic_load(&version_reaper);
    if (reap != NULL)
        reap(v);
    else
        inferd_version_free(v);
}

void inferd_version_free(inferd_model_version_t *v)
{
    inferd_sched_destroy(v->sched); /* runs what is queued, then stops its threads */
    if (v->backend != NULL && v->backend_state != NULL)
        v->backend->unload(v->backend_state);
    inferd_signature_free(&v->sig);
    inferd_stats_free(&v->stats);
    free(v->failure);
    free(v->path);
    free((char *)v->model_name);
    free(v);
}

static const inferd_io_spec_t *find_spec(const inferd_io_spec_t *specs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

/* Checks one list of config.json specs against the model's and narrows the model's open
 * dimensions to the config's fixed ones. `what` is "input" or "output". */
static int reconcile_specs(inferd_io_spec_t *model_specs, size_t n_model,
                           const inferd_io_spec_t *config_specs, size_t n_config,
                           int64_t max_batch_size, const char *what, inferd_err_t *err)
{
    int batch_dims = max_batch_size > 0 ? 1 : 0;
    for (size_t i = 0; i < n_config; i++) {
        const inferd_io_spec_t *want = &config_specs[i];
        inferd_io_spec_t *have = (inferd_io_spec_t *)find_spec(model_specs, n_model, want->name);
        if (have == NULL)
            return inferd_fail(err, INFERD_EMODEL,
                               "config.json names %s '%s', which the model does not have", what,
                               want->name);
        if (want->dtype != INFERD_DT_INVALID && want->dtype != have->dtype)
            return inferd_fail(
                err, INFERD_EMODEL, "config.json gives %s '%s' datatype %s but the model has %s",
                what, want->name, inferd_dtype_name(want->dtype), inferd_dtype_name(have->dtype));
        if (want->ndim < 0) /* no dims given */
            continue;
        if (want->ndim + batch_dims != have->ndim)
            return inferd_fail(err, INFERD_EMODEL,
                               "config.json gives %s '%s' %d dims%s but the model's has rank %d",
                               what, want->name, want->ndim,
                               batch_dims ? " plus the batch dimension" : "", have->ndim);
        for (int d = 0; d < want->ndim; d++) {
            int64_t config_dim = want->shape[d], *model_dim = &have->shape[d + batch_dims];
            if (config_dim >= 0 && *model_dim >= 0 && config_dim != *model_dim)
                return inferd_fail(err, INFERD_EMODEL,
                                   "config.json gives %s '%s' dimension %d as %lld but the model "
                                   "has %lld",
                                   what, want->name, d, (long long)config_dim,
                                   (long long)*model_dim);
            if (config_dim >= 0)
                *model_dim = config_dim;
        }
    }
    return 0;
}

/* Applies config.json to the signature the backend reported. */
static int apply_config(inferd_model_version_t *v, const inferd_model_config_t *config,
                        inferd_err_t *err)
{
    v->max_batch_size = config->max_batch_size;
    if (config->max_batch_size > 0) {
        /* The first dimension is the batch: every input and output must leave it open. */
        inferd_io_spec_t *lists[2] = {v->sig.inputs, v->sig.outputs};
        size_t counts[2] = {v->sig.n_inputs, v->sig.n_outputs};
        for (int l = 0; l < 2; l++)
            for (size_t i = 0; i < counts[l]; i++) {
                inferd_io_spec_t *spec = &lists[l][i];
                if (spec->ndim == 0 || (spec->shape[0] != -1 && l == 0))
                    return inferd_fail(err, INFERD_EMODEL,
                                       "max_batch_size is %lld but %s '%s' has no variable first "
                                       "(batch) dimension; set max_batch_size to 0 or export the "
                                       "model with a dynamic batch axis",
                                       (long long)config->max_batch_size,
                                       l == 0 ? "input" : "output", spec->name);
                spec->shape[0] = -1;
            }
    }
    if (!config->has_signature)
        return 0;
    int rc = reconcile_specs(v->sig.inputs, v->sig.n_inputs, config->sig.inputs,
                             config->sig.n_inputs, config->max_batch_size, "input", err);
    if (rc == 0)
        rc = reconcile_specs(v->sig.outputs, v->sig.n_outputs, config->sig.outputs,
                             config->sig.n_outputs, config->max_batch_size, "output", err);
    return rc;
}

/* Stores `value` as element `i` of `data`, of type `dtype` (warm-up random data). */
static void store_value(inferd_dtype_t dtype, void *data, size_t i, double value)
{
    switch (dtype) {
    case INFERD_DT_FP32:
        ((float *)data)[i] = (float)value;
        break;
    case INFERD_DT_FP64:
        ((double *)data)[i] = value;
        break;
    case INFERD_DT_INT8:
        ((int8_t *)data)[i] = (int8_t)(value * 10);
        break;
    case INFERD_DT_INT16:
        ((int16_t *)data)[i] = (int16_t)(value * 10);
        break;
    case INFERD_DT_INT32:
        ((int32_t *)data)[i] = (int32_t)(value * 10);
        break;
    case INFERD_DT_INT64:
        ((int64_t *)data)[i] = (int64_t)(value * 10);
        break;
    case INFERD_DT_UINT8:
        ((uint8_t *)data)[i] = (uint8_t)((value + 1) * 10);
        break;
    case INFERD_DT_UINT16:
        ((uint16_t *)data)[i] = (uint16_t)((value + 1) * 10);
        break;
    case INFERD_DT_UINT32:
        ((uint32_t *)data)[i] = (uint32_t)((value + 1) * 10);
        break;
    case INFERD_DT_UINT64:
        ((uint64_t *)data)[i] = (uint64_t)((value + 1) * 10);
        break;
    case INFERD_DT_BOOL:
        ((uint8_t *)data)[i] = value > 0;
        break;
    default:
        break; /* FP16 and BYTES warm up on zeros */
    }
}

/* Fills `bytes` bytes at `data` for a warm-up input: zeros, random values (small, finite, of
 * the input's type) or the contents of DIR/<model>/warmup/<file>. */
static int warmup_data(const inferd_model_version_t *v, const inferd_warmup_input_t *in,
                       const inferd_tensor_t *t, void *data, size_t bytes, inferd_err_t *err)
{
    if (in != NULL && in->data_file != NULL) {
        char path[4096];
        /* v->path is DIR/<model>/<version>/<file>: cut two components */
        int model_len = (int)strlen(v->path);
        for (int cuts = 0; cuts < 2 && model_len > 0; cuts++)
            while (model_len > 0 && v->path[--model_len] != '/')
                ;
        snprintf(path, sizeof(path), "%.*s/warmup/%s", model_len, v->path, in->data_file);
        FILE *f = fopen(path, "rb");
        size_t got = f ? fread(data, 1, bytes, f) : 0;
        if (f)
            fclose(f);
        if (got != bytes)
            return inferd_fail(err, INFERD_EMODEL,
                               "model_warmup input '%s': %s must hold %zu bytes of raw %s data",
                               in->name, path, bytes, inferd_dtype_name(t->dtype));
        return 0;
    }
    if (in == NULL || !in->is_random)
        return 0;
    uint32_t state = 2463534242u;
    size_t element = inferd_dtype_size(t->dtype);
    for (size_t i = 0; element > 0 && i < bytes / element; i++) {
        state ^= state << 13, state ^= state >> 17, state ^= state << 5;
        double value = (double)(state % 2000) / 1000.0 - 1.0;
        store_value(t->dtype, data, i, value);
    }
    return 0;
}

/* Runs the model on `sample` (config.json's model_warmup), or once on zeros (batch 1, open
 * dimensions 1) without one, so that its first real request pays no one-time costs (kernel
 * selection, buffer growth), and so that a model that loads but cannot run is refused now
 * rather than on every request. */
static int warm_up(inferd_model_version_t *v, const inferd_warmup_sample_t *sample,
                   inferd_err_t *err)
{
    inferd_arena_t arena;
    inferd_arena_init(&arena, 64 * 1024, 256u << 20);
    inferd_tensor_t *inputs = inferd_arena_calloc(&arena, v->sig.n_inputs + 1, sizeof(*inputs));
    inferd_tensor_t *outputs = inferd_arena_calloc(&arena, v->sig.n_outputs + 1, sizeof(*outputs));
    int rc = inputs && outputs ? 0 : INFERD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < v->sig.n_inputs; i++) {
        const inferd_io_spec_t *spec = &v->sig.inputs[i];
        const inferd_warmup_input_t *given = NULL;
        for (size_t j = 0; sample != NULL && j < sample->n_inputs; j++)
            if (strcmp(sample->inputs[j].name, spec->name) == 0)
                given = &sample->inputs[j];
        if (sample != NULL && given == NULL) {
            rc = inferd_fail(err, INFERD_EMODEL, "model_warmup sample gives no input '%s'",
                             spec->name);
            break;
        }
        inputs[i].name = spec->name;
        inputs[i].dtype = spec->dtype;
        inputs[i].ndim = spec->ndim;
        int batch_dims = v->max_batch_size > 0 ? 1 : 0;
        if (given != NULL && given->ndim + batch_dims != spec->ndim) {
            rc = inferd_fail(err, INFERD_EMODEL,
                             "model_warmup input '%s' has %d dims but the model's has rank %d%s",
                             spec->name, given->ndim, spec->ndim,
                             batch_dims ? " (with the batch dimension)" : "");
            break;
        }
        for (int d = 0; d < spec->ndim; d++) {
            if (given != NULL)
                inputs[i].shape[d] =
                    d < batch_dims ? sample->batch_size : given->dims[d - batch_dims];
            else
                inputs[i].shape[d] = spec->shape[d] < 0 ? 1 : spec->shape[d];
        }
        int64_t bytes = inferd_tensor_bytes(&inputs[i]);
        inputs[i].data = bytes >= 0 ? inferd_arena_calloc(&arena, 1, (size_t)bytes + 1) : NULL;
        if (inputs[i].data == NULL)
            rc = inferd_fail(err, INFERD_EMODEL, "input '%s' is too large to warm up", spec->name);
        else
            rc = warmup_data(v, given, &inputs[i], inputs[i].data, (size_t)bytes, err);
    }
    for (size_t i = 0; rc == 0 && i < v->sig.n_outputs; i++)
        outputs[i].name = v->sig.outputs[i].name;
    int64_t count = sample != NULL ? sample->count : 1;
    for (int64_t n = 0; rc == 0 && n < count; n++) {
        if ((rc = v->backend->infer(v->backend_state, inputs, outputs, &arena, err)) != 0)
            inferd_err_prefix(err, sample != NULL ? "model_warmup inference failed: "
                                                  : "warm-up inference on zeros failed: ");
    }
    inferd_arena_free(&arena);
    return rc;
}

int inferd_version_load(inferd_model_version_t *v, const inferd_backend_t *backend,
                        const inferd_model_config_t *config, inferd_err_t *err)
{
    uint64_t start_ns = inferd_monotonic_ns();
    v->backend = backend;
    v->fault = config->fault;
    int rc = backend->load(v->path, config, &v->backend_state, &v->sig, err);
    if (rc == 0) {
        rc = apply_config(v, config, err);
        for (size_t i = 0; rc == 0 && i < config->n_warmup; i++)
            rc = warm_up(v, &config->warmup[i], err);
        if (rc == 0 && config->n_warmup == 0)
            rc = warm_up(v, NULL, err);
        if (rc == 0 && inferd_stats_init(&v->stats, v->max_batch_size) != 0)
            rc = inferd_fail(err, INFERD_ENOMEM, "out of memory for statistics");
        if (rc == 0 && (config->sched.instance_count > 0 || config->sched.has_dynamic_batching))
            rc = inferd_sched_create(v, &config->sched, &v->sched, err);
        if (rc != 0) {
            backend->unload(v->backend_state);
            v->backend_state = NULL;
        }
    }
    v->load_ms = (double)(inferd_monotonic_ns() - start_ns) / 1e6;
    if (rc != 0) {
        free(v->failure);
        v->failure = strdup(err->msg);
        v->is_ready = false;
        return rc;
    }
    v->is_ready = true;
    return 0;
}
