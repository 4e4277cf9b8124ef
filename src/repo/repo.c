/* The model repository on disk and the changes to what is served (see inferd/repo.h): reading a
 * model folder (config.json, version folders, the version policy), building the model that
 * should serve now while reusing the versions that did not change, and publishing it in a new
 * catalog. Everything here but inferd_repo_open/close runs on the control thread.
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
 *   - build_model decides which versions should serve: those the version policy selects among
 *     the version folders, plus those pinned by a deployment. A version whose fingerprint (file
 *     size and mtime, config.json, deployment settings) is unchanged is reused as it is.
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

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_MAX_BYTES (1 << 20)

/* ==== the disk ==== */

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* The names in `dir` that are sub-folders (not hidden), sorted. Caller frees with free_names. */
static int list_subdirs(const char *dir, char ***OUT_names, size_t *OUT_count)
{
    *OUT_names = NULL;
    *OUT_count = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return INFERD_EIO;
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *entry;
    int rc = 0;
    char path[4096];
    while ((entry = readdir(d)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
        if (!is_dir(path))
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL) {
                rc = INFERD_ENOMEM;
                break;
            }
            names = grown;
        }
        if ((names[count] = strdup(entry->d_name)) == NULL) {
            rc = INFERD_ENOMEM;
            break;
        }
        count++;
    }
    closedir(d);
    if (count > 1)
        qsort(names, count, sizeof(*names), compare_names);
    *OUT_names = names;
    *OUT_count = count;
    return rc;
}

static int compare_versions(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The numeric version folders of `model_dir` ("10", not "010"), ascending. Caller frees. */
int64_t *repo_list_version_folders(const char *model_dir, size_t *OUT_count)
{
    char **subdirs;
    size_t n_subdirs;
    list_subdirs(model_dir, &subdirs, &n_subdirs);
    int64_t *numbers = calloc(n_subdirs + 1, sizeof(*numbers));
    size_t count = 0;
    for (size_t i = 0; numbers != NULL && i < n_subdirs; i++) {
        int64_t number = repo_parse_version(subdirs[i]);
        if (number >= 0 && (subdirs[i][0] != '0' || subdirs[i][1] == '\0'))
            numbers[count++] = number;
    }
    free_names(subdirs, n_subdirs);
    if (count > 1)
        qsort(numbers, count, sizeof(*numbers), compare_versions);
    *OUT_count = count;
    return numbers;
}

/* FNV-1a, for fingerprints. */
static uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return h;
}

#define HASH_SEED 14695981039346656037u

/* Size and modification time of `path` folded into `h` (absent files fold a marker). */
static uint64_t hash_file_stat(uint64_t h, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return hash_bytes(h, "absent", 6);
    int64_t facts[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
                        (int64_t)st.st_mtim.tv_nsec};
    return hash_bytes(h, facts, sizeof(facts));
}

/* Reads DIR/config.json into *OUT_text (NULL when absent). Returns 0 or an error. */
static int read_config_text(const char *model_dir, char **OUT_text, inferd_err_t *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/config.json", model_dir);
    *OUT_text = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return errno == ENOENT
                   ? 0
                   : inferd_fail(err, INFERD_EIO, "cannot read %s: %s", path, strerror(errno));
    char *text = malloc(CONFIG_MAX_BYTES + 1);
    if (text == NULL) {
        fclose(f);
        return inferd_fail(err, INFERD_ENOMEM, "out of memory reading %s", path);
    }
    size_t len = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
    fclose(f);
    if (len > CONFIG_MAX_BYTES) {
        free(text);
        return inferd_fail(err, INFERD_EINVAL, "%s is larger than 1 MiB", path);
    }
    text[len] = '\0';
    *OUT_text = text;
    return 0;
}

/* What a model folder says now: its config (parsed) and fingerprint, its version folders. */
typedef struct {
    char dir[4096];
    char *config_text; /* as read (or the override); NULL: none */
    inferd_model_config_t config;
    char *failure; /* config.json unusable: why */
    int64_t *folders;
    size_t n_folders;
    uint64_t fingerprint;
} disk_model_t;

static void disk_model_free(disk_model_t *disk)
{
    free(disk->config_text);
    inferd_model_config_free(&disk->config);
    free(disk->failure);
    free(disk->folders);
}

static int read_disk_model(const inferd_repo_t *repo, const char *name, const char *override,
                           disk_model_t *disk, inferd_err_t *err)
{
    memset(disk, 0, sizeof(*disk));
    snprintf(disk->dir, sizeof(disk->dir), "%s/%s", repo->dir, name);
    if (!is_dir(disk->dir))
        return inferd_fail(err, INFERD_ENOTFOUND, "no model folder '%s' in the repository %s", name,
                           repo->dir);
    int rc = 0;
    inferd_err_t why = {0};
    if (override != NULL)
        disk->config_text = strdup(override);
    else
        rc = read_config_text(disk->dir, &disk->config_text, &why);
    if (rc == 0 && disk->config_text != NULL)
        rc = inferd_model_config_parse(disk->config_text, strlen(disk->config_text), &disk->config,
                                       &why);
    if (rc == 0 && disk->config.name != NULL && strcmp(disk->config.name, name) != 0)
        rc = inferd_fail(&why, INFERD_EMODEL,
                         "config.json names the model '%s' but its folder is '%s'; they must "
                         "match",
                         disk->config.name, name);
    if (rc == 0 && disk->config_text == NULL) /* no config.json: the defaults */
        rc = inferd_model_config_parse("{}", 2, &disk->config, &why);
    if (rc != 0)
        disk->failure = strdup(why.msg);
    disk->folders = repo_list_version_folders(disk->dir, &disk->n_folders);
    uint64_t h = HASH_SEED;
    if (disk->config_text != NULL)
        h = hash_bytes(h, disk->config_text, strlen(disk->config_text));
    for (size_t i = 0; i < disk->n_folders; i++) {
        char folder[4200];
        snprintf(folder, sizeof(folder), "%s/%lld", disk->dir, (long long)disk->folders[i]);
        h = hash_bytes(h, &disk->folders[i], sizeof(disk->folders[i]));
        DIR *d = opendir(folder);
        struct dirent *entry;
        char **files = NULL;
        size_t n_files = 0, cap = 0;
        while (d != NULL && (entry = readdir(d)) != NULL) {
            if (entry->d_name[0] == '.')
                continue;
            if (n_files == cap) {
                cap = cap ? cap * 2 : 8;
                char **grown = realloc(files, cap * sizeof(*files));
                if (grown == NULL)
                    break;
                files = grown;
            }
            if ((files[n_files] = strdup(entry->d_name)) != NULL)
                n_files++;
        }
        if (d != NULL)
            closedir(d);
        if (n_files > 1)
            qsort(files, n_files, sizeof(*files), compare_names);
        for (size_t f = 0; f < n_files; f++) {
            char path[8400];
            snprintf(path, sizeof(path), "%s/%s", folder, files[f]);
            h = hash_bytes(h, files[f], strlen(files[f]));
            h = hash_file_stat(h, path);
        }
        free_names(files, n_files);
    }
    disk->fingerprint = h;
    (void)err;
    return 0;
}

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

static repo_pin_t *find_pin(repo_model_state_t *state, int64_t version)
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

/* ==== building a model ==== */

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

static uint64_t version_fingerprint(const disk_model_t *disk, int64_t number, const repo_pin_t *pin)
{
    char folder[4200];
    snprintf(folder, sizeof(folder), "%s/%lld", disk->dir, (long long)number);
    uint64_t h = HASH_SEED;
    if (disk->config_text != NULL)
        h = hash_bytes(h, disk->config_text, strlen(disk->config_text));
    DIR *d = opendir(folder);
    struct dirent *entry;
    while (d != NULL && (entry = readdir(d)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char path[8400];
        snprintf(path, sizeof(path), "%s/%s", folder, entry->d_name);
        h ^= hash_file_stat(hash_bytes(HASH_SEED, entry->d_name, strlen(entry->d_name)), path);
    }
    if (d != NULL)
        closedir(d);
    if (pin != NULL && pin->has_sched)
        h = hash_bytes(h, &pin->sched, sizeof(pin->sched));
    if (pin != NULL)
        h = hash_bytes(h, &pin->max_batch_size, sizeof(pin->max_batch_size));
    if (pin != NULL && pin->has_fault)
        h = hash_bytes(h, &pin->fault, sizeof(pin->fault));
    return h;
}

/* Loads version `number` of the model in `disk` afresh. Returns the new version (ready or
 * failed with its reason; NULL only when out of memory). */
static inferd_model_version_t *load_version(const char *name, const disk_model_t *disk,
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
static int build_labels(inferd_model_t *model, const inferd_model_config_t *config,
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

static inferd_model_version_t *find_in(const inferd_model_t *model, int64_t number)
{
    for (size_t i = 0; model != NULL && i < model->n_versions; i++)
        if (model->versions[i]->version == number)
            return model->versions[i];
    return NULL;
}

/* Builds the model `name` should serve now from `disk`, the control state and what serves now
 * (`current`, may be NULL). Loads what is new or changed. *OUT_failed_reload counts versions
 * whose reload failed and whose old copy was kept. Returns the new model (one reference). */
static inferd_model_t *build_model(const char *name, const disk_model_t *disk,
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
        const repo_pin_t *pin = state ? find_pin((repo_model_state_t *)state, number) : NULL;
        bool is_unmanaged = false;
        for (size_t u = 0; u < n_unmanaged; u++)
            is_unmanaged |= unmanaged[u] == number;
        if (pin == NULL && (!is_unmanaged || !policy_selects(&disk->config.version_policy,
                                                             unmanaged, n_unmanaged, number)))
            continue;
        uint64_t fingerprint = version_fingerprint(disk, number, pin);
        inferd_model_version_t *old = find_in(current, number), *v;
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
    if (build_labels(model, &model->config, state) != 0) {
        repo_model_release(model);
        return NULL;
    }
    return model;
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
    disk_model_t disk;
    int rc = read_disk_model(repo, name, state ? state->config_override : NULL, &disk, err);
    if (rc != 0)
        return rc;
    inferd_model_t *current = current_model(repo, name);
    if (disk.failure != NULL && current != NULL && current->failure == NULL) {
        /* a broken config.json does not take down what serves */
        rc = inferd_fail(err, INFERD_EMODEL, "model '%s' keeps serving as it was: %s", name,
                         disk.failure);
        inferd_log_error("%s", err->msg);
        repo_model_release(current);
        disk_model_free(&disk);
        return rc;
    }
    int failed;
    char why[600];
    size_t n_managed = 0;
    int64_t *managed = repo_persist_managed_versions(repo, name, &n_managed);
    inferd_model_t *model =
        build_model(name, &disk, state, current, managed, n_managed, &failed, why, sizeof(why));
    free(managed);
    repo_model_release(current);
    if (state != NULL)
        state->disk_fingerprint = disk.fingerprint;
    disk_model_free(&disk);
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
    if (list_subdirs(repo->dir, &folders, &n_folders) != 0) {
        inferd_log_error("poll: cannot read the model repository %s: %s", repo->dir,
                         strerror(errno));
        free_names(folders, n_folders);
        return;
    }
    inferd_change_t change = {"poller", "the repository changed on disk"};
    for (size_t i = 0; i < n_folders; i++) {
        repo_model_state_t *state = repo_state_for(repo, folders[i]);
        if (state == NULL)
            continue;
        disk_model_t disk;
        inferd_err_t err = {0};
        if (read_disk_model(repo, folders[i], state->config_override, &disk, &err) != 0)
            continue;
        uint64_t fingerprint = disk.fingerprint;
        disk_model_free(&disk);
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
        if (bsearch(&name, folders, n_folders, sizeof(*folders), compare_names) == NULL) {
            inferd_err_t err;
            inferd_repo_unload_model(repo, name, &change, &err);
        }
    }
    inferd_catalog_release(catalog);
    free_names(folders, n_folders);
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
    repo_pin_t *pin = find_pin(state, version);
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
    inferd_model_version_t *v = find_in(now, version);
    bool serves = v != NULL && v->is_ready;
    repo_model_release(now);
    if (!serves) { /* undo: the pin must not linger */
        if (was_pinned) {
            *find_pin(state, version) = saved;
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
    bool served = find_in(now, version) != NULL;
    repo_model_release(now);
    if (!served)
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' version %lld is not served", model,
                           (long long)version);
    repo_model_state_t *state = repo_state_for(repo, model);
    if (state == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "out of memory");
    repo_pin_t *pin = find_pin(state, version);
    if (pin != NULL)
        *pin = state->pins[--state->n_pins];
    int rc = reload(repo, model, state, change, err);
    now = current_model(repo, model);
    served = find_in(now, version) != NULL;
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
        rc = build_labels(next, &next->config, state);
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
    inferd_model_version_t *v = find_in(now, version);
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
    bool exists = version < 0 || find_in(now, version) != NULL;
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
    return strchr(model, '/') == NULL && model[0] != '.' && is_dir(path);
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
    if (!is_dir(options->dir))
        return inferd_fail(err, INFERD_EIO, "model repository '%s' is not a readable directory",
                           options->dir);
    char **folders;
    size_t n_folders;
    if (list_subdirs(options->dir, &folders, &n_folders) != 0) {
        free_names(folders, n_folders);
        return inferd_fail(err, INFERD_EIO, "cannot read model repository '%s': %s", options->dir,
                           strerror(errno));
    }
    inferd_repo_t *repo = calloc(1, sizeof(*repo));
    inferd_catalog_t *empty = calloc(1, sizeof(*empty));
    if (repo == NULL || empty == NULL || (repo->dir = strdup(options->dir)) == NULL ||
        (empty->models = calloc(1, sizeof(*empty->models))) == NULL) {
        free_names(folders, n_folders);
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
    free_names(folders, n_folders);
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
