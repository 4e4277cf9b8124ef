/* Building the model that should serve now (repo_private.h): which versions the version policy
 * and the deployments select among the version folders, loading those that are new or changed
 * (with a deployment's settings), reusing the rest, and the model's labels and default version.
 * Builds only; publishing the result is repo.c's. Control thread only. */
#include "inferd/backend.h"
#include "inferd/log.h"
#include "repo_private.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether `policy` selects version `number` among `folders` (ascending). */
static bool policy_selects(const inferd_version_policy_t *policy, const int64_t *folders,
                           size_t n_folders, int64_t number)
{
    switch (policy->kind) {
    case INFERD_POLICY_ALL:
        return true;
    case INFERD_POLICY_LATEST: {
        size_t newer = 0;
        for (size_t i = 0; i < n_folders; i++)
            newer += folders[i] > number;
        return (int64_t)newer < policy->latest_num_versions;
    }
    case INFERD_POLICY_SPECIFIC:
        for (size_t i = 0; i < policy->n_specific_versions; i++)
            if (policy->specific_versions[i] == number)
                return true;
        return false;
    }
    return false;
}

/* The settings one version loads with: the model's config, with a deployment's overrides. */
static void version_config(const inferd_model_config_t *model_config, const repo_pin_t *pin,
                           inferd_model_config_t *OUT)
{
    *OUT = *model_config; /* shallow: borrowed for the load only */
    if (pin != NULL && pin->has_sched)
        OUT->sched = pin->sched;
    if (pin != NULL && pin->max_batch_size >= 0)
        OUT->max_batch_size = pin->max_batch_size;
    if (pin != NULL && pin->has_fault)
        OUT->fault = pin->fault;
}

/* Loads version `number` of the model in `disk` afresh. Returns the new version (ready or
 * failed with its reason; NULL only when out of memory). */
static inferd_model_version_t *load_version(const char *name, const repo_disk_model_t *disk,
                                            int64_t number, const repo_pin_t *pin,
                                            uint64_t fingerprint)
{
    char version_dir[4200], path[4400];
    inferd_err_t err = {0};
    snprintf(version_dir, sizeof(version_dir), "%s/%lld", disk->dir, (long long)number);
    const inferd_backend_t *backend = NULL;
    if (disk->config.backend != NULL) {
        backend = inferd_backend_find(disk->config.backend);
        if (backend == NULL)
            inferd_fail(&err, INFERD_EMODEL,
                        "config.json names backend '%s', which inferd does not have (it has: %s)",
                        disk->config.backend, inferd_backend_names());
    } else if ((backend = inferd_backend_for_dir(version_dir)) == NULL) {
        inferd_fail(&err, INFERD_EMODEL, "no model file in %s (expected one of: %s)", version_dir,
                    "model.onnx");
    }
    snprintf(path, sizeof(path), "%s/%s", version_dir, backend ? backend->file_name : "");
    inferd_model_version_t *v = inferd_version_new(name, number, path);
    if (v == NULL)
        return NULL;
    v->fingerprint = fingerprint;
    if (backend == NULL) {
        v->failure = strdup(err.msg);
    } else {
        inferd_model_config_t config;
        version_config(&disk->config, pin, &config);
        int loaded = inferd_version_load(v, backend, &config, &err);
        malloc_trim(0); /* the file and its parse are freed: give that memory back */
        if (loaded == 0) {
            inferd_log_info("model '%s' version %s loaded (%s, %.1f ms)", name, v->version_str,
                            backend->name, v->load_ms);
            return v;
        }
    }
    inferd_log_error("model '%s' version %s failed to load: %s", name, v->version_str,
                     v->failure ? v->failure : err.msg);
    return v;
}

static int compare_labels(const void *a, const void *b)
{
    return strcmp(((const inferd_label_t *)a)->name, ((const inferd_label_t *)b)->name);
}

/* Labels: config.json's version_labels, then the API's settings on top. */
int repo_build_labels(inferd_model_t *model, const inferd_model_config_t *config,
                      const repo_model_state_t *state)
{
    size_t cap = config->n_labels + (state ? state->n_labels : 0) + 1;
    model->labels = calloc(cap, sizeof(*model->labels));
    if (model->labels == NULL)
        return INFERD_ENOMEM;
    for (size_t i = 0; i < config->n_labels; i++) {
        model->labels[model->n_labels].name = strdup(config->label_names[i]);
        model->labels[model->n_labels++].version = config->label_versions[i];
    }
    for (size_t i = 0; state != NULL && i < state->n_labels; i++) {
        size_t j = 0;
        while (j < model->n_labels && strcmp(model->labels[j].name, state->labels[i].name) != 0)
            j++;
        if (j == model->n_labels) {
            if (state->labels[i].version < 0)
                continue;
            model->labels[model->n_labels++].name = strdup(state->labels[i].name);
        }
        model->labels[j].version = state->labels[i].version;
    }
    size_t kept = 0; /* drop removed labels */
    for (size_t i = 0; i < model->n_labels; i++) {
        if (model->labels[i].version < 0 || model->labels[i].name == NULL)
            free(model->labels[i].name);
        else
            model->labels[kept++] = model->labels[i];
    }
    model->n_labels = kept;
    if (kept > 1)
        qsort(model->labels, kept, sizeof(*model->labels), compare_labels);
    return 0;
}

inferd_model_version_t *repo_version_in(const inferd_model_t *model, int64_t number)
{
    for (size_t i = 0; model != NULL && i < model->n_versions; i++)
        if (model->versions[i]->version == number)
            return model->versions[i];
    return NULL;
}

/* Builds the model `name` should serve now from `disk`, the control state and what serves now
 * (`current`, may be NULL). Loads what is new or changed. *OUT_failed counts versions that
 * failed to load or to reload (an old copy whose reload failed is kept). Returns the new model
 * (one reference). */
inferd_model_t *repo_build_model(const char *name, const repo_disk_model_t *disk,
                                 const repo_model_state_t *state, const inferd_model_t *current,
                                 const int64_t *managed, size_t n_managed, int *OUT_failed,
                                 char *why, size_t why_len)
{
    *OUT_failed = 0;
    why[0] = '\0';
    inferd_model_t *model = calloc(1, sizeof(*model));
    if (model == NULL || (model->name = strdup(name)) == NULL) {
        free(model);
        return NULL;
    }
    atomic_init(&model->refs, 1);
    if (disk->failure != NULL) {
        model->failure = strdup(disk->failure);
        return model;
    }
    model->config_text = disk->config_text ? strdup(disk->config_text) : NULL;
    if (inferd_model_config_parse(disk->config_text ? disk->config_text : "{}",
                                  disk->config_text ? strlen(disk->config_text) : 2, &model->config,
                                  NULL) != 0) {
        model->failure = strdup("config.json could not be read twice the same way");
        return model;
    }
    model->versions = calloc(disk->n_folders + 1, sizeof(*model->versions));
    if (model->versions == NULL) {
        repo_model_release(model);
        return NULL;
    }
    /* the policy chooses among the folders that did not come through the management API */
    int64_t *unmanaged = calloc(disk->n_folders + 1, sizeof(*unmanaged));
    size_t n_unmanaged = 0;
    for (size_t i = 0; unmanaged != NULL && i < disk->n_folders; i++) {
        bool is_managed = false;
        for (size_t m = 0; m < n_managed; m++)
            is_managed |= managed[m] == disk->folders[i];
        if (!is_managed)
            unmanaged[n_unmanaged++] = disk->folders[i];
    }
    for (size_t i = 0; unmanaged != NULL && i < disk->n_folders; i++) {
        int64_t number = disk->folders[i];
        const repo_pin_t *pin = state ? repo_find_pin((repo_model_state_t *)state, number) : NULL;
        bool is_unmanaged = false;
        for (size_t u = 0; u < n_unmanaged; u++)
            is_unmanaged |= unmanaged[u] == number;
        if (pin == NULL && (!is_unmanaged || !policy_selects(&disk->config.version_policy,
                                                             unmanaged, n_unmanaged, number)))
            continue;
        uint64_t fingerprint = repo_version_fingerprint(disk, number, pin);
        inferd_model_version_t *old = repo_version_in(current, number), *v;
        if (old != NULL && old->is_ready && old->fingerprint == fingerprint) {
            v = old;
            inferd_version_acquire(v);
        } else {
            v = load_version(name, disk, number, pin, fingerprint);
            if (v != NULL && !v->is_ready && old != NULL && old->is_ready) {
                (*OUT_failed)++;
                snprintf(why, why_len,
                         "version %s failed to reload, its previous copy keeps "
                         "serving: %s",
                         v->version_str, v->failure ? v->failure : "unknown");
                inferd_log_error("model '%s' %s", name, why);
                inferd_version_release(v);
                v = old;
                inferd_version_acquire(v);
            } else if (v != NULL && !v->is_ready) {
                (*OUT_failed)++;
                snprintf(why, why_len, "version %s failed to load: %s", v->version_str,
                         v->failure ? v->failure : "unknown");
            }
        }
        if (v != NULL)
            model->versions[model->n_versions++] = v;
    }
    free(unmanaged);
    if (model->n_versions == 0 && disk->n_folders == 0)
        model->failure = strdup("no version folders (expected <model>/1/model.onnx)");
    else if (model->n_versions == 0)
        model->failure = strdup("its version_policy selects none of its version folders");
    model->default_version =
        state && state->has_default ? state->default_version : model->config.default_version;
    if (repo_build_labels(model, &model->config, state) != 0) {
        repo_model_release(model);
        return NULL;
    }
    return model;
}
