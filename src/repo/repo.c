/* The changes to what is served (see inferd/repo.h): loading and unloading models, deploying and
 * undeploying versions, setting labels and the default version, polling the disk, each change
 * published in a new catalog; and opening and closing the repository. Reading a model folder is
 * disk.c's, building the model that should serve from it build.c's. Everything here but
 * inferd_repo_open/close runs on the control thread.
 *
 * Design notes
 *
 * A version of a model goes through these states:
 *
 *   on disk --build_model (selected, load ok)--> SERVING --build_model (gone)--> RETIRED --> freed
 *               |                                  |  ^                              (last ref)
 *               +--(load fails)--> FAILED           +--+ build_model (changed: a new copy is
 *                                                        loaded and warmed, then replaces it)
 *
 *   - build_model (repo_build_model, build.c) decides which versions should serve: those the
 *     version policy selects among the version folders, plus those pinned by a deployment. A
 *     version whose fingerprint (file size and mtime, config.json, deployment settings) is
 *     unchanged is reused as it is.
 *   - A new copy is fully loaded and warmed before publish_model swaps the catalog, so requests
 *     never wait for a load. If a reload fails, the old copy keeps serving and the failure is
 *     logged (and answered to whoever asked).
 *   - A RETIRED version is out of the catalog: no new request can reach it. Requests that hold
 *     it finish; the last reference hands it to the control thread, which frees it.
 *
 * Invariants: only the control thread builds and publishes; a published model or catalog is
 * never modified; every version in a model holds one reference owned by that model. */
#include "inferd/backend.h"
#include "inferd/log.h"
#include "repo_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== the control thread's per-model state ==== */

static repo_model_state_t *find_state(inferd_repo_t *repo, const char *name)
{
    for (size_t i = 0; i < repo->n_states; i++)
        if (strcmp(repo->states[i].name, name) == 0)
            return &repo->states[i];
    return NULL;
}

repo_model_state_t *repo_state_for(inferd_repo_t *repo, const char *name)
{
    repo_model_state_t *state = find_state(repo, name);
    if (state != NULL)
        return state;
    repo_model_state_t *grown = realloc(repo->states, (repo->n_states + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    repo->states = grown;
    state = &repo->states[repo->n_states];
    memset(state, 0, sizeof(*state));
    if ((state->name = strdup(name)) == NULL)
        return NULL;
    repo->n_states++;
    return state;
}

repo_pin_t *repo_find_pin(repo_model_state_t *state, int64_t version)
{
    for (size_t i = 0; i < state->n_pins; i++)
        if (state->pins[i].version == version)
            return &state->pins[i];
    return NULL;
}

static void free_states(inferd_repo_t *repo)
{
    for (size_t i = 0; i < repo->n_states; i++) {
        repo_model_state_t *state = &repo->states[i];
        free(state->name);
        free(state->config_override);
        free(state->pins);
        for (size_t j = 0; j < state->n_labels; j++)
            free(state->labels[j].name);
        free(state->labels);
    }
    free(repo->states);
}

/* ==== publishing ==== */

/* A new catalog: the current one with `model` (a reference handed over) in place of the model
 * of the same name, or without `remove_name`. */
static int publish_model(inferd_repo_t *repo, inferd_model_t *model, const char *remove_name)
{
    inferd_catalog_t *current = inferd_repo_snapshot(repo);
    inferd_catalog_t *next = calloc(1, sizeof(*next));
    size_t cap = current->n_models + 1;
    if (next == NULL || (next->models = calloc(cap, sizeof(*next->models))) == NULL) {
        free(next);
        inferd_catalog_release(current);
        repo_model_release(model);
        return INFERD_ENOMEM;
    }
    atomic_init(&next->refs, 1);
    const char *name = model != NULL ? model->name : remove_name;
    bool placed = false;
    for (size_t i = 0; i < current->n_models; i++) {
        inferd_model_t *m = current->models[i];
        int cmp = strcmp(m->name, name);
        if (!placed && cmp >= 0 && model != NULL) {
            next->models[next->n_models++] = model;
            placed = true;
        }
        if (cmp == 0)
            continue;
        atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
        next->models[next->n_models++] = m;
    }
    if (!placed && model != NULL)
        next->models[next->n_models++] = model;
    inferd_catalog_release(current);
    repo_publish(repo, next);
    return 0;
}

/* ==== the control operations ==== */

static inferd_model_t *current_model(inferd_repo_t *repo, const char *name)
{
    inferd_catalog_t *catalog = inferd_repo_snapshot(repo);
    inferd_model_t *model = inferd_catalog_model(catalog, name);
    if (model != NULL)
        atomic_fetch_add_explicit(&model->refs, 1, memory_order_relaxed);
    inferd_catalog_release(catalog);
    return model;
}

/* Builds and publishes `name` from disk. Returns 0 when it serves at least one ready version. */
static int reload(inferd_repo_t *repo, const char *name, repo_model_state_t *state,
                  const inferd_change_t *change, inferd_err_t *err)
{
    repo_disk_model_t disk;
    int rc = repo_read_disk_model(repo, name, state ? state->config_override : NULL, &disk, err);
    if (rc != 0)
        return rc;
    inferd_model_t *current = current_model(repo, name);
    if (disk.failure != NULL && current != NULL && current->failure == NULL) {
        /* a broken config.json does not take down what serves */
        rc = inferd_fail(err, INFERD_EMODEL, "model '%s' keeps serving as it was: %s", name,
                         disk.failure);
        inferd_log_error("%s", err->msg);
        repo_model_release(current);
        repo_disk_model_free(&disk);
        return rc;
    }
    int failed;
    char why[600];
    size_t n_managed = 0;
    int64_t *managed = repo_persist_managed_versions(repo, name, &n_managed);
    inferd_model_t *model = repo_build_model(name, &disk, state, current, managed, n_managed,
                                             &failed, why, sizeof(why));
    free(managed);
    repo_model_release(current);
    if (state != NULL)
        state->disk_fingerprint = disk.fingerprint;
    repo_disk_model_free(&disk);
    if (model == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory loading model '%s'", name);
    if (model->failure != NULL)
        inferd_log_error("model '%s' failed to load: %s", name, model->failure);
    bool serves = inferd_model_serving_version(model) != NULL;
    char failure[600];
    snprintf(failure, sizeof(failure), "%s", model->failure ? model->failure : why);
    if ((rc = publish_model(repo, model, NULL)) != 0)
        return inferd_fail(err, rc, "out of memory publishing model '%s'", name);
    repo_persist_sync(repo, name, change);
    if (!serves)
        return inferd_fail(err, INFERD_EMODEL, "model '%s' has no ready version: %s", name,
                           failure[0] ? failure : "unknown");
    if (failed > 0)
        return inferd_fail(err, INFERD_EMODEL, "model '%s': %s", name, why);
    return 0;
}

int inferd_repo_load_model(inferd_repo_t *repo, const char *name, const char *config_override,
                           const inferd_change_t *change, inferd_err_t *err)
{
    repo_model_state_t *state = repo_state_for(repo, name);
    if (state == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    if (config_override != NULL) {
        inferd_model_config_t check = {0};
        if (inferd_model_config_parse(config_override, strlen(config_override), &check, err) != 0)
            return err->code;
        inferd_model_config_free(&check);
    }
    char *previous = state->config_override;
    state->config_override = config_override ? strdup(config_override) : NULL;
    bool was_wanted = state->is_wanted;
    state->is_wanted = true;
    int rc = reload(repo, name, state, change, err);
    if (rc == INFERD_ENOTFOUND) { /* no such folder: nothing changed */
        free(state->config_override);
        state->config_override = previous;
        state->is_wanted = was_wanted;
        return rc;
    }
    free(previous);
    return rc;
}

int inferd_repo_unload_model(inferd_repo_t *repo, const char *name, const inferd_change_t *change,
                             inferd_err_t *err)
{
    inferd_model_t *current = current_model(repo, name);
    if (current == NULL)
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' is not loaded", name);
    repo_model_release(current);
    repo_model_state_t *state = find_state(repo, name);
    if (state != NULL) {
        state->is_wanted = false;
        state->n_pins = 0;
    }
    inferd_log_info("model '%s' unloading: it serves no new request", name);
    int rc = publish_model(repo, NULL, name);
    if (rc == 0)
        repo_persist_sync(repo, name, change);
    return rc;
}

void inferd_repo_poll(inferd_repo_t *repo)
{
    char **folders;
    size_t n_folders;
    if (repo_list_subdirs(repo->dir, &folders, &n_folders) != 0) {
        inferd_log_error("poll: cannot read the model repository %s: %s", repo->dir,
                         strerror(errno));
        repo_free_names(folders, n_folders);
        return;
    }
    inferd_change_t change = {"poller", "the repository changed on disk"};
    for (size_t i = 0; i < n_folders; i++) {
        repo_model_state_t *state = repo_state_for(repo, folders[i]);
        if (state == NULL)
            continue;
        repo_disk_model_t disk;
        inferd_err_t err = {0};
        if (repo_read_disk_model(repo, folders[i], state->config_override, &disk, &err) != 0)
            continue;
        uint64_t fingerprint = disk.fingerprint;
        repo_disk_model_free(&disk);
        inferd_model_t *current = current_model(repo, folders[i]);
        bool unchanged = current != NULL && state->disk_fingerprint == fingerprint;
        repo_model_release(current);
        if (unchanged)
            continue;
        state->is_wanted = true;
        reload(repo, folders[i], state, &change, &err);
    }
    /* models whose folder is gone */
    inferd_catalog_t *catalog = inferd_repo_snapshot(repo);
    for (size_t i = 0; i < catalog->n_models; i++) {
        const char *name = catalog->models[i]->name;
        if (bsearch(&name, folders, n_folders, sizeof(*folders), repo_compare_names) == NULL) {
            inferd_err_t err;
            inferd_repo_unload_model(repo, name, &change, &err);
        }
    }
    inferd_catalog_release(catalog);
    repo_free_names(folders, n_folders);
}

int inferd_repo_deploy_version(inferd_repo_t *repo, const char *model, int64_t version,
                               const char *settings_json, const inferd_change_t *change,
                               inferd_err_t *err)
{
    if (!inferd_repo_version_on_disk(repo, model, version))
        return inferd_fail(err, INFERD_ENOTFOUND,
                           "model '%s' has no version folder %lld in the repository", model,
                           (long long)version);
    repo_pin_t wanted;
    int rc = repo_pin_from_settings(settings_json, version, &wanted, err);
    if (rc != 0)
        return rc;
    repo_model_state_t *state = repo_state_for(repo, model);
    if (state == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    repo_pin_t *pin = repo_find_pin(state, version);
    repo_pin_t saved = {0};
    bool was_pinned = pin != NULL;
    if (pin == NULL) {
        repo_pin_t *grown = realloc(state->pins, (state->n_pins + 1) * sizeof(*grown));
        if (grown == NULL)
            return inferd_fail(err, INFERD_ENOMEM, "out of memory");
        state->pins = grown;
        pin = &state->pins[state->n_pins++];
    } else {
        saved = *pin;
    }
    *pin = wanted;
    bool was_wanted = state->is_wanted;
    state->is_wanted = true;
    rc = reload(repo, model, state, change, err);
    inferd_model_t *now = current_model(repo, model);
    inferd_model_version_t *v = repo_version_in(now, version);
    bool serves = v != NULL && v->is_ready;
    repo_model_release(now);
    if (!serves) { /* undo: the pin must not linger */
        if (was_pinned) {
            *repo_find_pin(state, version) = saved;
        } else {
            state->n_pins--;
        }
        state->is_wanted = was_wanted;
        inferd_err_t ignored;
        reload(repo, model, state, change, &ignored);
        return rc != 0 ? rc
                       : inferd_fail(err, INFERD_EMODEL, "version %lld did not load",
                                     (long long)version);
    }
    if (repo_persist_deployment(repo, model, version, settings_json, change, err) != 0)
        inferd_log_error("registry: recording the deployment of model '%s' version %lld: %s", model,
                         (long long)version, err->msg);
    return 0;
}

int inferd_repo_undeploy_version(inferd_repo_t *repo, const char *model, int64_t version,
                                 const inferd_change_t *change, inferd_err_t *err)
{
    inferd_model_t *now = current_model(repo, model);
    bool served = repo_version_in(now, version) != NULL;
    repo_model_release(now);
    if (!served)
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' version %lld is not served", model,
                           (long long)version);
    repo_model_state_t *state = repo_state_for(repo, model);
    if (state == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    repo_pin_t *pin = repo_find_pin(state, version);
    if (pin != NULL)
        *pin = state->pins[--state->n_pins];
    int rc = reload(repo, model, state, change, err);
    now = current_model(repo, model);
    served = repo_version_in(now, version) != NULL;
    repo_model_release(now);
    if (served)
        return inferd_fail(err, INFERD_ECONFLICT,
                           "model '%s' version %lld is selected by the model's version_policy "
                           "and keeps serving; change version_policy in config.json or unload "
                           "the model",
                           model, (long long)version);
    return rc == INFERD_EMODEL ? 0 : rc;
}

/* Publishes a copy of the current `name` with the labels and default of `state`: the same
 * versions, no disk read, no load. */
static int relabel(inferd_repo_t *repo, const char *name, const repo_model_state_t *state,
                   inferd_err_t *err)
{
    inferd_model_t *now = current_model(repo, name);
    if (now == NULL)
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' is not loaded", name);
    inferd_model_t *next = calloc(1, sizeof(*next));
    int rc = next == NULL ? INFERD_ENOMEM : 0;
    if (rc == 0) {
        atomic_init(&next->refs, 1);
        next->name = strdup(now->name);
        next->failure = now->failure ? strdup(now->failure) : NULL;
        next->config_text = now->config_text ? strdup(now->config_text) : NULL;
        next->versions = calloc(now->n_versions + 1, sizeof(*next->versions));
        rc = next->name && next->versions ? 0 : INFERD_ENOMEM;
    }
    if (rc == 0 && next->config_text != NULL)
        rc = inferd_model_config_parse(next->config_text, strlen(next->config_text), &next->config,
                                       NULL);
    for (size_t i = 0; rc == 0 && i < now->n_versions; i++) {
        inferd_version_acquire(now->versions[i]);
        next->versions[next->n_versions++] = now->versions[i];
    }
    if (rc == 0) {
        next->default_version =
            state->has_default ? state->default_version : next->config.default_version;
        rc = repo_build_labels(next, &next->config, state);
    }
    repo_model_release(now);
    if (rc == 0)
        return publish_model(repo, next, NULL);
    repo_model_release(next);
    return inferd_fail(err, INFERD_ENOMEM, "out of memory changing model '%s'", name);
}

int inferd_repo_set_default(inferd_repo_t *repo, const char *model, int64_t version,
                            const inferd_change_t *change, inferd_err_t *err)
{
    inferd_model_t *now = current_model(repo, model);
    if (now == NULL)
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' is not loaded", model);
    inferd_model_version_t *v = repo_version_in(now, version);
    bool is_ready = v != NULL && v->is_ready, exists = v != NULL;
    repo_model_release(now);
    if (version > 0 && !is_ready)
        return inferd_fail(err, exists ? INFERD_EUNAVAIL : INFERD_ENOTFOUND,
                           "model '%s' version %lld is not %s; deploy it first", model,
                           (long long)version, exists ? "ready" : "served");
    repo_model_state_t *state = repo_state_for(repo, model);
    if (state == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    state->has_default = true;
    state->default_version = version;
    int rc = relabel(repo, model, state, err);
    if (rc == 0 && repo->registry != NULL) {
        char detail[64];
        snprintf(detail, sizeof(detail), "{\"default_version\":%lld}", (long long)version);
        inferd_audit_t audit = {change->actor, "set_default", model,
                                version,       detail,        change->reason};
        inferd_err_t ignored;
        if (inferd_registry_set_default(repo->registry, model, version, &audit, &ignored) != 0)
            inferd_log_error("registry: recording the default version: %s", ignored.msg);
    }
    return rc;
}

int inferd_repo_set_label(inferd_repo_t *repo, const char *model, const char *label,
                          int64_t version, const inferd_change_t *change, inferd_err_t *err)
{
    inferd_model_t *now = current_model(repo, model);
    if (now == NULL)
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' is not loaded", model);
    bool exists = version < 0 || repo_version_in(now, version) != NULL;
    bool had = inferd_model_label_version(now, label) >= 0;
    repo_model_release(now);
    if (!exists)
        return inferd_fail(err, INFERD_ENOTFOUND,
                           "model '%s' version %lld is not served; deploy it before labelling it",
                           model, (long long)version);
    if (version < 0 && !had)
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no label '%s'", model, label);
    if (label[0] == '\0' || (label[0] >= '0' && label[0] <= '9') || strlen(label) > 64)
        return inferd_fail(err, INFERD_EINVAL,
                           "a label is 1 to 64 characters and does not start with a digit "
                           "(digits name versions): '%s'",
                           label);
    repo_model_state_t *state = repo_state_for(repo, model);
    if (state == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    size_t i = 0;
    while (i < state->n_labels && strcmp(state->labels[i].name, label) != 0)
        i++;
    if (i == state->n_labels) {
        inferd_label_t *grown = realloc(state->labels, (state->n_labels + 1) * sizeof(*grown));
        if (grown == NULL || (grown[i].name = strdup(label)) == NULL) {
            if (grown != NULL)
                state->labels = grown;
            return inferd_fail(err, INFERD_ENOMEM, "out of memory");
        }
        state->labels = grown;
        state->n_labels++;
    }
    state->labels[i].version = version;
    int rc = relabel(repo, model, state, err);
    if (rc == 0 && repo->registry != NULL) {
        inferd_err_t ignored;
        inferd_audit_t audit = {change->actor, version < 0 ? "delete_label" : "set_label",
                                model,         version < 0 ? 0 : version,
                                NULL,          change->reason};
        char detail[128];
        snprintf(detail, sizeof(detail), "{\"label\":\"%s\"}", label);
        audit.detail_json = strchr(label, '"') || strchr(label, '\\') ? NULL : detail;
        int wrote = version < 0 ? inferd_registry_delete_label(repo->registry, model, label, &audit,
                                                               &ignored)
                                : inferd_registry_set_label(repo->registry, model, label, version,
                                                            &audit, &ignored);
        if (wrote != 0 && ignored.code != INFERD_ENOTFOUND)
            inferd_log_error("registry: recording label '%s': %s", label, ignored.msg);
    }
    return rc;
}

bool inferd_repo_version_on_disk(const inferd_repo_t *repo, const char *model, int64_t version)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s/%lld", repo->dir, model, (long long)version);
    return strchr(model, '/') == NULL && model[0] != '.' && repo_is_dir(path);
}

/* ==== opening and closing ==== */

static bool is_named(const inferd_repo_options_t *options, const char *name)
{
    for (size_t i = 0; i < options->n_load_names; i++)
        if (strcmp(options->load_names[i], "*") == 0 || strcmp(options->load_names[i], name) == 0)
            return true;
    return false;
}

int inferd_repo_open(const inferd_repo_options_t *options, inferd_repo_t **OUT_repo,
                     inferd_err_t *err)
{
    *OUT_repo = NULL;
    if (!repo_is_dir(options->dir))
        return inferd_fail(err, INFERD_EIO, "model repository '%s' is not a readable directory",
                           options->dir);
    char **folders;
    size_t n_folders;
    if (repo_list_subdirs(options->dir, &folders, &n_folders) != 0) {
        repo_free_names(folders, n_folders);
        return inferd_fail(err, INFERD_EIO, "cannot read model repository '%s': %s", options->dir,
                           strerror(errno));
    }
    inferd_repo_t *repo = calloc(1, sizeof(*repo));
    inferd_catalog_t *empty = calloc(1, sizeof(*empty));
    if (repo == NULL || empty == NULL || (repo->dir = strdup(options->dir)) == NULL ||
        (empty->models = calloc(1, sizeof(*empty->models))) == NULL) {
        repo_free_names(folders, n_folders);
        if (repo != NULL)
            free(repo->dir);
        free(empty);
        free(repo);
        return inferd_fail(err, INFERD_ENOMEM, "out of memory opening the repository");
    }
    atomic_init(&empty->refs, 1);
    repo->catalog = empty;
    repo->mode = options->mode;
    repo->poll_secs = options->poll_secs > 0 ? options->poll_secs : 15;
    repo->registry = options->registry;
    pthread_mutex_init(&repo->catalog_lock, NULL);
    pthread_mutex_init(&repo->queue_lock, NULL);
    pthread_cond_init(&repo->has_work, NULL);

    inferd_change_t change = {"startup", NULL};
    repo_persist_restore(repo);
    for (size_t i = 0; i < n_folders; i++) {
        repo_model_state_t *known = find_state(repo, folders[i]);
        if (options->mode == INFERD_CONTROL_EXPLICIT && !is_named(options, folders[i]) &&
            (known == NULL || !known->is_wanted))
            continue;
        repo_model_state_t *state = repo_state_for(repo, folders[i]);
        if (state == NULL)
            continue;
        state->is_wanted = true;
        inferd_err_t ignored;
        reload(repo, folders[i], state, &change, &ignored);
    }
    for (size_t i = 0; i < options->n_load_names; i++)
        if (strcmp(options->load_names[i], "*") != 0 &&
            find_state(repo, options->load_names[i]) == NULL)
            inferd_log_error("--load-model %s: no such model folder in %s", options->load_names[i],
                             options->dir);
    if (n_folders == 0)
        inferd_log_warn("model repository '%s' holds no model folders", options->dir);
    repo_free_names(folders, n_folders);
    int rc = repo_control_start(repo, err);
    if (rc != 0) {
        inferd_repo_close(repo);
        return rc;
    }
    *OUT_repo = repo;
    return 0;
}

void inferd_repo_close(inferd_repo_t *repo)
{
    if (repo == NULL)
        return;
    repo_control_stop(repo);
    inferd_version_set_reaper(NULL);
    inferd_catalog_release(repo->catalog);
    repo_reap_now(repo);
    free(repo->reap);
    free_states(repo);
    pthread_mutex_destroy(&repo->catalog_lock);
    pthread_mutex_destroy(&repo->queue_lock);
    pthread_cond_destroy(&repo->has_work);
    free(repo->dir);
    free(repo);
}

const char *inferd_repo_dir(const inferd_repo_t *repo)
{
    return repo->dir;
}

inferd_control_mode_t inferd_repo_mode(const inferd_repo_t *repo)
{
    return repo->mode;
}

inferd_registry_t *inferd_repo_registry(const inferd_repo_t *repo)
{
    return repo->registry;
}
