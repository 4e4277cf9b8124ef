/* Reading what is served: the current catalog, and resolving a (model, version or label) pair
 * from a request to a loaded version with a reference taken. Runs on request threads; the only
 * shared state touched is the catalog pointer, under a mutex held for a lookup's length. */
#include "repo_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

inferd_catalog_t *inferd_repo_snapshot(const inferd_repo_t *repo)
{
    inferd_repo_t *r = (inferd_repo_t *)repo;
    pthread_mutex_lock(&r->catalog_lock);
    inferd_catalog_t *catalog = r->catalog;
    atomic_fetch_add_explicit(&catalog->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&r->catalog_lock);
    return catalog;
}

void repo_model_release(inferd_model_t *model)
{
    if (model == NULL || atomic_fetch_sub_explicit(&model->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < model->n_versions; i++)
        inferd_version_release(model->versions[i]);
    for (size_t i = 0; i < model->n_labels; i++)
        free(model->labels[i].name);
    free(model->labels);
    free(model->versions);
    inferd_model_config_free(&model->config);
    free(model->failure);
    free(model->config_text);
    free(model->name);
    free(model);
}

void inferd_catalog_release(inferd_catalog_t *catalog)
{
    if (catalog == NULL || atomic_fetch_sub_explicit(&catalog->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < catalog->n_models; i++)
        repo_model_release(catalog->models[i]);
    free(catalog->models);
    free(catalog);
}

inferd_model_t *inferd_catalog_model(const inferd_catalog_t *catalog, const char *name)
{
    size_t lo = 0, hi = catalog->n_models;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(catalog->models[mid]->name, name);
        if (cmp == 0)
            return catalog->models[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static inferd_model_version_t *find_number(const inferd_model_t *model, int64_t number)
{
    for (size_t i = 0; i < model->n_versions; i++)
        if (model->versions[i]->version == number)
            return model->versions[i];
    return NULL;
}

inferd_model_version_t *inferd_model_serving_version(const inferd_model_t *model)
{
    if (model->default_version > 0) {
        inferd_model_version_t *v = find_number(model, model->default_version);
        if (v != NULL && v->is_ready)
            return v;
    }
    for (size_t i = model->n_versions; i > 0; i--)
        if (model->versions[i - 1]->is_ready)
            return model->versions[i - 1];
    return NULL;
}

int64_t inferd_model_label_version(const inferd_model_t *model, const char *label)
{
    for (size_t i = 0; i < model->n_labels; i++)
        if (strcmp(model->labels[i].name, label) == 0)
            return model->labels[i].version;
    return -1;
}

/* A version folder name or number in a request: decimal digits only, fitting int64; or -1. */
int64_t repo_parse_version(const char *text)
{
    if (text == NULL || text[0] == '\0' || strlen(text) > 18)
        return -1;
    int64_t number = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        number = number * 10 + (*p - '0');
    }
    return number;
}

/* Why `model` has nothing to serve, in one line. */
static int model_unavailable(const inferd_model_t *model, inferd_err_t *err)
{
    if (model->failure != NULL)
        return inferd_fail(err, INFERD_EUNAVAIL, "model '%s' is not available: %s", model->name,
                           model->failure);
    if (model->n_versions == 0)
        return inferd_fail(err, INFERD_EUNAVAIL, "model '%s' serves no version", model->name);
    const inferd_model_version_t *last = model->versions[model->n_versions - 1];
    return inferd_fail(err, INFERD_EUNAVAIL,
                       "model '%s' has no ready version: version %s failed to load: %s",
                       model->name, last->version_str, last->failure ? last->failure : "unknown");
}

static void list_versions(const inferd_model_t *model, char *have, size_t size)
{
    size_t used = 0;
    have[0] = '\0';
    for (size_t i = 0; i < model->n_versions && used + 24 < size; i++)
        used += (size_t)snprintf(have + used, size - used, "%s%s", i ? ", " : "",
                                 model->versions[i]->version_str);
}

static void list_labels(const inferd_model_t *model, char *have, size_t size)
{
    size_t used = 0;
    snprintf(have, size, "none");
    for (size_t i = 0; i < model->n_labels && used + 2 < size; i++) {
        int wrote =
            snprintf(have + used, size - used, "%s%s", i ? ", " : "", model->labels[i].name);
        if (wrote < 0)
            break;
        used += (size_t)wrote;
    }
}

/* The version of `model` named by `version` (NULL/"" serving, digits, or a label), or an error;
 * `label` forces the label reading. Borrowed. */
static int resolve(const inferd_model_t *model, const char *version, bool is_label,
                   inferd_model_version_t **OUT, inferd_err_t *err)
{
    char have[256];
    *OUT = NULL;
    if (!is_label && (version == NULL || version[0] == '\0')) {
        inferd_model_version_t *v = inferd_model_serving_version(model);
        if (v == NULL && model->n_versions == 0)
            return model_unavailable(model, err);
        *OUT = v != NULL ? v : model->versions[model->n_versions - 1];
        return 0;
    }
    int64_t number = is_label ? -1 : repo_parse_version(version);
    if (number < 0) {
        int64_t labelled = inferd_model_label_version(model, version);
        if (labelled < 0) {
            list_labels(model, have, sizeof(have));
            return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no %s '%s' (labels: %s)",
                               model->name, is_label ? "label" : "version or label", version, have);
        }
        if ((*OUT = find_number(model, labelled)) == NULL)
            return inferd_fail(err, INFERD_EUNAVAIL,
                               "label '%s' of model '%s' points at version %lld, which is not "
                               "loaded",
                               version, model->name, (long long)labelled);
        return 0;
    }
    if ((*OUT = find_number(model, number)) == NULL) {
        list_versions(model, have, sizeof(have));
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no version '%s'%s%s%s",
                           model->name, version, have[0] ? " (versions: " : "", have,
                           have[0] ? ")" : "");
    }
    return 0;
}

/* Looks up and references a version under the catalog lock. `must_be_ready`: a version that is
 * not ready answers INFERD_EUNAVAIL with its reason. */
static int acquire(const inferd_repo_t *repo, const char *model_name, const char *version,
                   bool is_label, bool must_be_ready, inferd_model_version_t **OUT_version,
                   inferd_err_t *err)
{
    inferd_repo_t *r = (inferd_repo_t *)repo;
    *OUT_version = NULL;
    pthread_mutex_lock(&r->catalog_lock);
    const inferd_model_t *model = inferd_catalog_model(r->catalog, model_name);
    inferd_model_version_t *v = NULL;
    int rc = model == NULL ? inferd_fail(err, INFERD_ENOTFOUND, "unknown model '%s'", model_name)
                           : resolve(model, version, is_label, &v, err);
    if (rc == 0 && must_be_ready && !v->is_ready) {
        if (!is_label && (version == NULL || version[0] == '\0'))
            rc = model_unavailable(model, err);
        else
            rc = inferd_fail(err, INFERD_EUNAVAIL, "model '%s' version %s is not ready: %s",
                             model_name, v->version_str, v->failure ? v->failure : "unknown");
    }
    if (rc == 0) {
        inferd_version_acquire(v);
        *OUT_version = v;
    }
    pthread_mutex_unlock(&r->catalog_lock);
    return rc;
}

int inferd_repo_acquire(const inferd_repo_t *repo, const char *model_name, const char *version,
                        inferd_model_version_t **OUT_version, inferd_err_t *err)
{
    return acquire(repo, model_name, version, false, true, OUT_version, err);
}

int inferd_repo_acquire_label(const inferd_repo_t *repo, const char *model_name, const char *label,
                              inferd_model_version_t **OUT_version, inferd_err_t *err)
{
    return acquire(repo, model_name, label, true, true, OUT_version, err);
}

int inferd_repo_find_version(const inferd_repo_t *repo, const char *model_name, const char *version,
                             inferd_model_version_t **OUT_version, inferd_err_t *err)
{
    return acquire(repo, model_name, version, false, false, OUT_version, err);
}

/* Control thread: makes `catalog` (one reference, handed over) the current one; the previous
 * one is released once its readers let go. */
void repo_publish(inferd_repo_t *repo, inferd_catalog_t *catalog)
{
    pthread_mutex_lock(&repo->catalog_lock);
    inferd_catalog_t *old = repo->catalog;
    catalog->generation = old != NULL ? old->generation + 1 : 1;
    repo->catalog = catalog;
    pthread_mutex_unlock(&repo->catalog_lock);
    inferd_catalog_release(old);
}
