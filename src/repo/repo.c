/* Scanning and loading a model repository (see inferd/repo.h), and resolving a (model, version)
 * pair from a request to a loaded version. Not for watching the disk: the repository is read once
 * at start-up. */
#include "inferd/backend.h"
#include "inferd/log.h"
#include "inferd/repo.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_MAX_BYTES (1 << 20)

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A version folder name: decimal digits only, fitting int64. Returns the number or -1. */
static int64_t parse_version(const char *name)
{
    if (name[0] == '\0' || strlen(name) > 18)
        return -1;
    int64_t number = 0;
    for (const char *p = name; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        number = number * 10 + (*p - '0');
    }
    return number;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in `dir` that are sub-folders (not hidden), sorted. Caller frees each and the array. */
static int list_subdirs(const char *dir, char ***OUT_names, size_t *OUT_count)
{
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

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* Reads DIR/config.json when present. Returns 0 (absent is fine) or an error with the reason. */
static int read_config(const char *model_dir, inferd_model_config_t *config, inferd_err_t *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/config.json", model_dir);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        memset(config, 0, sizeof(*config));
        if (errno == ENOENT)
            return 0;
        return inferd_fail(err, INFERD_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    char *text = malloc(CONFIG_MAX_BYTES);
    if (text == NULL) {
        fclose(f);
        return inferd_fail(err, INFERD_ENOMEM, "out of memory reading %s", path);
    }
    size_t len = fread(text, 1, CONFIG_MAX_BYTES, f);
    bool too_big = len == CONFIG_MAX_BYTES;
    fclose(f);
    int rc = too_big ? inferd_fail(err, INFERD_EINVAL, "%s is larger than 1 MiB", path)
                     : inferd_model_config_parse(text, len, config, err);
    free(text);
    return rc;
}

static void record_failure(char **slot, const char *reason)
{
    free(*slot);
    *slot = strdup(reason);
}

static void load_version(inferd_model_t *model, const char *model_dir, const char *folder,
                         int64_t number)
{
    char version_dir[4096], path[4200];
    inferd_err_t err = {0};
    snprintf(version_dir, sizeof(version_dir), "%s/%s", model_dir, folder);
    const inferd_backend_t *backend = NULL;
    if (model->config.backend != NULL) {
        backend = inferd_backend_find(model->config.backend);
        if (backend == NULL)
            inferd_fail(&err, INFERD_EMODEL,
                        "config.json names backend '%s', which inferd does not have (it has: %s)",
                        model->config.backend, inferd_backend_names());
    } else {
        backend = inferd_backend_for_dir(version_dir);
        if (backend == NULL)
            inferd_fail(&err, INFERD_EMODEL, "no model file in %s (expected one of: %s)",
                        version_dir, "model.onnx");
    }
    snprintf(path, sizeof(path), "%s/%s", version_dir, backend ? backend->file_name : "");
    inferd_model_version_t *v = inferd_version_new(model->name, number, path);
    if (v == NULL)
        return;
    model->versions[model->n_versions++] = v;
    if (backend == NULL) {
        record_failure(&v->failure, err.msg);
    } else if (inferd_version_load(v, backend, &model->config, &err) == 0) {
        inferd_log_info("model '%s' version %s loaded (%s, %.1f ms)", model->name, v->version_str,
                        backend->name, v->load_ms);
        return;
    }
    inferd_log_error("model '%s' version %s failed to load: %s", model->name, v->version_str,
                     v->failure ? v->failure : err.msg);
}

static inferd_model_t *load_model(const char *repo_dir, const char *folder)
{
    char model_dir[4096];
    inferd_err_t err = {0};
    snprintf(model_dir, sizeof(model_dir), "%s/%s", repo_dir, folder);
    inferd_model_t *model = calloc(1, sizeof(*model));
    if (model == NULL || (model->name = strdup(folder)) == NULL) {
        free(model);
        return NULL;
    }
    if (read_config(model_dir, &model->config, &err) != 0) {
        record_failure(&model->failure, err.msg);
        inferd_log_error("model '%s' failed to load: %s", model->name, err.msg);
        return model;
    }
    if (model->config.name != NULL && strcmp(model->config.name, folder) != 0) {
        inferd_fail(&err, INFERD_EMODEL,
                    "config.json names the model '%s' but its folder is '%s'; they must match",
                    model->config.name, folder);
        record_failure(&model->failure, err.msg);
        inferd_log_error("model '%s' failed to load: %s", model->name, err.msg);
        return model;
    }
    char **subdirs = NULL;
    size_t n_subdirs = 0;
    list_subdirs(model_dir, &subdirs, &n_subdirs);
    /* numeric folders (no leading zeros), loaded in ascending order: "10" after "9" */
    int64_t *numbers = calloc(n_subdirs ? n_subdirs : 1, sizeof(*numbers));
    model->versions = calloc(n_subdirs ? n_subdirs : 1, sizeof(*model->versions));
    size_t n_numbers = 0;
    for (size_t i = 0; numbers != NULL && i < n_subdirs; i++) {
        int64_t number = parse_version(subdirs[i]);
        if (number >= 0 && (subdirs[i][0] != '0' || subdirs[i][1] == '\0'))
            numbers[n_numbers++] = number;
    }
    if (n_numbers > 1)
        qsort(numbers, n_numbers, sizeof(*numbers), compare_versions);
    for (size_t i = 0; model->versions != NULL && i < n_numbers; i++) {
        char folder_name[24];
        snprintf(folder_name, sizeof(folder_name), "%lld", (long long)numbers[i]);
        load_version(model, model_dir, folder_name, numbers[i]);
    }
    free(numbers);
    free_names(subdirs, n_subdirs);
    if (model->n_versions == 0) {
        inferd_fail(&err, INFERD_EMODEL, "no version folders in %s (expected %s/1/model.onnx)",
                    model_dir, model_dir);
        record_failure(&model->failure, err.msg);
        inferd_log_error("model '%s' failed to load: %s", model->name, err.msg);
    }
    return model;
}

int inferd_repo_open(const char *dir, inferd_repo_t **OUT_repo, inferd_err_t *err)
{
    char **folders = NULL;
    size_t n_folders = 0;
    if (!is_dir(dir))
        return inferd_fail(err, INFERD_EIO, "model repository '%s' is not a readable directory",
                           dir);
    int rc = list_subdirs(dir, &folders, &n_folders);
    if (rc != 0) {
        free_names(folders, n_folders);
        return inferd_fail(err, rc, "cannot read model repository '%s': %s", dir, strerror(errno));
    }
    inferd_repo_t *repo = calloc(1, sizeof(*repo));
    if (repo == NULL || (repo->dir = strdup(dir)) == NULL ||
        (repo->models = calloc(n_folders ? n_folders : 1, sizeof(*repo->models))) == NULL) {
        free_names(folders, n_folders);
        inferd_repo_close(repo);
        return inferd_fail(err, INFERD_ENOMEM, "out of memory opening the repository");
    }
    for (size_t i = 0; i < n_folders; i++) {
        inferd_model_t *model = load_model(dir, folders[i]);
        if (model != NULL)
            repo->models[repo->n_models++] = model;
    }
    free_names(folders, n_folders);
    if (repo->n_models == 0)
        inferd_log_warn("model repository '%s' holds no model folders", dir);
    *OUT_repo = repo;
    return 0;
}

void inferd_repo_close(inferd_repo_t *repo)
{
    if (repo == NULL)
        return;
    for (size_t i = 0; i < repo->n_models; i++) {
        inferd_model_t *model = repo->models[i];
        for (size_t j = 0; j < model->n_versions; j++)
            inferd_version_release(model->versions[j]);
        free(model->versions);
        inferd_model_config_free(&model->config);
        free(model->failure);
        free(model->name);
        free(model);
    }
    free(repo->models);
    free(repo->dir);
    free(repo);
}

inferd_model_t *inferd_repo_model(const inferd_repo_t *repo, const char *name)
{
    size_t lo = 0, hi = repo->n_models;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(repo->models[mid]->name, name);
        if (cmp == 0)
            return repo->models[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

inferd_model_version_t *inferd_model_latest_ready(const inferd_model_t *model)
{
    for (size_t i = model->n_versions; i > 0; i--)
        if (model->versions[i - 1]->is_ready)
            return model->versions[i - 1];
    return NULL;
}

/* Why `model` has nothing to serve, in one line. */
static int model_unavailable(const inferd_model_t *model, inferd_err_t *err)
{
    if (model->failure != NULL)
        return inferd_fail(err, INFERD_EUNAVAIL, "model '%s' is not available: %s", model->name,
                           model->failure);
    const inferd_model_version_t *last = model->versions[model->n_versions - 1];
    return inferd_fail(err, INFERD_EUNAVAIL,
                       "model '%s' has no ready version: version %s failed to load: %s",
                       model->name, last->version_str, last->failure ? last->failure : "unknown");
}

int inferd_repo_find_version(const inferd_repo_t *repo, const char *model_name, const char *version,
                             inferd_model_version_t **OUT_version, inferd_err_t *err)
{
    inferd_model_t *model = inferd_repo_model(repo, model_name);
    *OUT_version = NULL;
    if (model == NULL)
        return inferd_fail(err, INFERD_ENOTFOUND, "unknown model '%s'", model_name);
    inferd_model_version_t *found = NULL;
    if (version == NULL || version[0] == '\0') {
        found = inferd_model_latest_ready(model);
        if (found == NULL) {
            if (model->n_versions == 0)
                return model_unavailable(model, err);
            found = model->versions[model->n_versions - 1];
        }
    } else {
        int64_t number = parse_version(version);
        for (size_t i = 0; number >= 0 && i < model->n_versions; i++)
            if (model->versions[i]->version == number)
                found = model->versions[i];
        if (found == NULL) {
            char have[256] = "";
            size_t used = 0;
            for (size_t i = 0; i < model->n_versions && used + 24 < sizeof(have); i++)
                used += (size_t)snprintf(have + used, sizeof(have) - used, "%s%s", i ? ", " : "",
                                         model->versions[i]->version_str);
            return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no version '%s'%s%s%s",
                               model_name, version, used ? " (versions: " : "", have,
                               used ? ")" : "");
        }
    }
    inferd_version_acquire(found);
    *OUT_version = found;
    return 0;
}

int inferd_repo_acquire(const inferd_repo_t *repo, const char *model_name, const char *version,
                        inferd_model_version_t **OUT_version, inferd_err_t *err)
{
    int rc = inferd_repo_find_version(repo, model_name, version, OUT_version, err);
    if (rc != 0 || (*OUT_version)->is_ready)
        return rc;
    inferd_model_version_t *v = *OUT_version;
    *OUT_version = NULL;
    if (version == NULL || version[0] == '\0')
        rc = model_unavailable(inferd_repo_model(repo, model_name), err);
    else
        rc = inferd_fail(err, INFERD_EUNAVAIL, "model '%s' version %s is not ready: %s", model_name,
                         v->version_str, v->failure ? v->failure : "unknown");
    inferd_version_release(v);
    return rc;
}

int inferd_repo_acquire_label(const inferd_repo_t *repo, const char *model_name, const char *label,
                              inferd_model_version_t **OUT_version, inferd_err_t *err)
{
    *OUT_version = NULL;
    if (inferd_repo_model(repo, model_name) == NULL)
        return inferd_fail(err, INFERD_ENOTFOUND, "unknown model '%s'", model_name);
    return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no label '%s' (labels: none)",
                       model_name, label);
}
