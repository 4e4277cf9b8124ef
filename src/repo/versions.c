/* Registering, deleting and rolling back versions (see inferd/repo.h). Registering copies an
 * artifact into a staging folder while hashing it, proves it by loading it, and only then moves
 * it into the repository with one rename and records it: a refused artifact changes nothing.
 * Control thread only. */
#include "inferd/backend.h"
#include "inferd/digest.h"
#include "inferd/json.h"
#include "inferd/log.h"
#include "repo_private.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Removes `path` and everything under it (symlinks are removed, never followed). */
static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *entry;
        while (d != NULL && (entry = readdir(d)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            char child[4400];
            snprintf(child, sizeof(child), "%s/%s", path, entry->d_name);
            remove_tree(child);
        }
        if (d != NULL)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

bool inferd_model_name_is_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 128 || name[0] == '.')
        return false;
    for (const char *p = name; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

/* The highest version number `model` has on disk or in the registry (0: none). */
static int64_t highest_version(inferd_repo_t *repo, const char *model)
{
    int64_t highest = 0;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s", repo->dir, model);
    size_t n_folders = 0;
    int64_t *folders = repo_list_version_folders(dir, &n_folders);
    if (folders != NULL && n_folders > 0)
        highest = folders[n_folders - 1];
    free(folders);
    if (repo->registry != NULL) {
        inferd_reg_version_t *rows = NULL;
        size_t n = 0;
        inferd_err_t err;
        if (inferd_registry_list_versions(repo->registry, model, &rows, &n, &err) == 0) {
            for (size_t i = 0; i < n; i++)
                if (rows[i].version > highest)
                    highest = rows[i].version;
            inferd_reg_versions_free(rows, n);
        }
    }
    return highest;
}

static const inferd_backend_t *backend_for(const char *framework, const char *artifact,
                                           inferd_err_t *err)
{
    const char *dot = strrchr(artifact, '.');
    const char *name = framework;
    if (name == NULL && dot != NULL && strcmp(dot, ".onnx") == 0)
        name = "onnx";
    const inferd_backend_t *backend = name != NULL ? inferd_backend_find(name) : NULL;
    if (backend == NULL)
        inferd_fail(err, INFERD_EMODEL,
                    "%s%s%s: say which framework the artifact is for (\"framework\": one of %s)",
                    name ? "unknown framework '" : "cannot tell the framework of ",
                    name ? name : artifact, name ? "'" : "", inferd_backend_names());
    return backend;
}

/* Loads the staged artifact as the model would load it (its config.json, when it has one),
 * filling the schema into `inputs`/`outputs`. Returns 0 or INFERD_EMODEL with the reason. */
static int prove(inferd_repo_t *repo, const inferd_register_t *reg, int64_t version,
                 const inferd_backend_t *backend, const char *staged, inferd_jsonw_t *inputs,
                 inferd_jsonw_t *outputs, inferd_err_t *err)
{
    char config_path[4200];
    snprintf(config_path, sizeof(config_path), "%s/%s/config.json", repo->dir, reg->model);
    inferd_model_config_t config = {0};
    FILE *f = fopen(config_path, "rb");
    int rc = 0;
    if (f != NULL) {
        char *text = malloc(1 << 20);
        size_t len = text ? fread(text, 1, 1 << 20, f) : 0;
        fclose(f);
        rc = text == NULL ? inferd_fail(err, INFERD_ENOMEM, "out of memory")
                          : inferd_model_config_parse(text, len, &config, err);
        free(text);
        if (rc != 0)
            inferd_err_prefix(err, "the model's config.json: ");
    }
    inferd_model_version_t *v = rc == 0 ? inferd_version_new(reg->model, version, staged) : NULL;
    if (rc == 0 && v == NULL)
        rc = inferd_fail(err, INFERD_ENOMEM, "out of memory");
    if (rc == 0 && inferd_version_load(v, backend, &config, err) != 0)
        rc = INFERD_EMODEL;
    if (rc == 0) {
        inferd_specs_write_json(inputs, v->sig.inputs, v->sig.n_inputs);
        inferd_specs_write_json(outputs, v->sig.outputs, v->sig.n_outputs);
    }
    inferd_version_release(v);
    inferd_model_config_free(&config);
    if (rc != 0 && rc != INFERD_ENOMEM) {
        char reason[sizeof(err->msg)];
        snprintf(reason, sizeof(reason), "%s", err->msg);
        rc = inferd_fail(err, INFERD_EMODEL, "the artifact does not load: %s", reason);
    }
    return rc;
}

int inferd_repo_register_version(inferd_repo_t *repo, const inferd_register_t *reg,
                                 const inferd_change_t *change, inferd_reg_version_t *OUT,
                                 inferd_err_t *err)
{
    memset(OUT, 0, sizeof(*OUT));
    if (!inferd_model_name_is_valid(reg->model))
        return inferd_fail(err, INFERD_EINVAL,
                           "model name '%s' is not allowed: use 1-128 letters, digits, '_', '-' "
                           "or '.', not starting with '.'",
                           reg->model);
    const char *artifact = reg->artifact;
    if (strncmp(artifact, "file://", 7) == 0)
        artifact += 7;
    struct stat st;
    if (stat(artifact, &st) != 0 || !S_ISREG(st.st_mode))
        return inferd_fail(err, INFERD_EMODEL, "artifact '%s' is not a readable file%s%s",
                           reg->artifact, errno ? ": " : "", errno ? strerror(errno) : "");
    const inferd_backend_t *backend = backend_for(reg->framework, artifact, err);
    if (backend == NULL)
        return err->code;
    int64_t version = reg->version > 0 ? reg->version : highest_version(repo, reg->model) + 1;
    inferd_reg_version_t existing = {0};
    if (inferd_repo_version_on_disk(repo, reg->model, version) ||
        (repo->registry != NULL &&
         inferd_registry_get_version(repo->registry, reg->model, version, &existing, err) == 0)) {
        inferd_reg_version_clear(&existing);
        return inferd_fail(err, INFERD_ECONFLICT,
                           "model '%s' already has a version %lld; register under another "
                           "version number (or leave \"version\" out for the next one)",
                           reg->model, (long long)version);
    }

    /* stage: copy and hash */
    static unsigned long staging_counter;
    char staging[4200], staged[4400], final_dir[4200], model_dir[4200];
    snprintf(staging, sizeof(staging), "%s/.inferd", repo->dir);
    mkdir(staging, 0755);
    snprintf(staging, sizeof(staging), "%s/.inferd/staging-%s-%lld-%ld-%lu", repo->dir, reg->model,
             (long long)version, (long)getpid(), ++staging_counter);
    if (mkdir(staging, 0755) != 0)
        return inferd_fail(err, INFERD_EIO, "cannot create %s: %s", staging, strerror(errno));
    snprintf(staged, sizeof(staged), "%s/%s", staging, backend->file_name);
    char sha256[65];
    int64_t size_bytes = 0;
    int rc = inferd_file_copy_sha256(artifact, staged, sha256, &size_bytes, err);
    inferd_jsonw_t inputs = {0}, outputs = {0};
    if (rc == 0)
        rc = prove(repo, reg, version, backend, staged, &inputs, &outputs, err);
    if (rc == 0 &&
        (inferd_jsonw_cstr_of(&inputs) == NULL || inferd_jsonw_cstr_of(&outputs) == NULL))
        rc = inferd_fail(err, INFERD_ENOMEM, "out of memory describing the artifact");
    /* move into the repository */
    snprintf(model_dir, sizeof(model_dir), "%s/%s", repo->dir, reg->model);
    snprintf(final_dir, sizeof(final_dir), "%s/%lld", model_dir, (long long)version);
    if (rc == 0 && mkdir(model_dir, 0755) != 0 && errno != EEXIST)
        rc = inferd_fail(err, INFERD_EIO, "cannot create %s: %s", model_dir, strerror(errno));
    if (rc == 0 && rename(staging, final_dir) != 0)
        rc = inferd_fail(err, errno == EEXIST || errno == ENOTEMPTY ? INFERD_ECONFLICT : INFERD_EIO,
                         "cannot move the artifact to %s: %s", final_dir, strerror(errno));
    if (rc != 0) {
        remove_tree(staging);
        inferd_jsonw_free(&inputs);
        inferd_jsonw_free(&outputs);
        return rc;
    }
    char final_path[4400];
    snprintf(final_path, sizeof(final_path), "%s/%s", final_dir, backend->file_name);
    inferd_reg_version_t row = {
        .model = (char *)reg->model,
        .version = version,
        .artifact_path = final_path,
        .framework = (char *)backend->name,
        .inputs_json = (char *)inferd_jsonw_cstr_of(&inputs),
        .outputs_json = (char *)inferd_jsonw_cstr_of(&outputs),
        .size_bytes = size_bytes,
        .metadata_json = (char *)(reg->metadata_json ? reg->metadata_json : "{}"),
        .tags_json = (char *)(reg->tags_json ? reg->tags_json : "[]"),
        .status = INFERD_VS_DRAFT,
        .created_by = (char *)change->actor,
    };
    memcpy(row.sha256, sha256, sizeof(sha256));
    char detail[256];
    snprintf(detail, sizeof(detail), "{\"sha256\":\"%s\",\"size_bytes\":%lld}", sha256,
             (long long)size_bytes);
    inferd_audit_t audit = {change->actor, "register", reg->model, version, detail, change->reason};
    if (repo->registry != NULL &&
        (rc = inferd_registry_add_version(repo->registry, &row, &audit, err)) != 0) {
        remove_tree(final_dir); /* the registry refused: the folder must not stay */
    }
    if (rc == 0) {
        inferd_log_info("model '%s' version %lld registered (%s, sha256 %s, %lld bytes) by %s",
                        reg->model, (long long)version, backend->name, sha256,
                        (long long)size_bytes, change->actor);
        if (repo->registry == NULL ||
            inferd_registry_get_version(repo->registry, reg->model, version, OUT, err) != 0) {
            /* no registry: answer with what was written */
            OUT->model = strdup(reg->model);
            OUT->version = version;
            OUT->artifact_path = strdup(final_path);
            memcpy(OUT->sha256, sha256, sizeof(sha256));
            OUT->framework = strdup(backend->name);
            OUT->inputs_json = strdup(row.inputs_json ? row.inputs_json : "[]");
            OUT->outputs_json = strdup(row.outputs_json ? row.outputs_json : "[]");
            OUT->size_bytes = size_bytes;
            OUT->metadata_json = strdup(row.metadata_json);
            OUT->tags_json = strdup(row.tags_json);
            OUT->created_by = strdup(change->actor);
        }
    }
    inferd_jsonw_free(&inputs);
    inferd_jsonw_free(&outputs);
    return rc;
}

int inferd_repo_delete_version(inferd_repo_t *repo, const char *model, int64_t version,
                               const inferd_change_t *change, inferd_err_t *err)
{
    inferd_catalog_t *catalog = inferd_repo_snapshot(repo);
    const inferd_model_t *m = inferd_catalog_model(catalog, model);
    bool is_served = false;
    for (size_t i = 0; m != NULL && i < m->n_versions; i++)
        is_served |= m->versions[i]->version == version;
    inferd_catalog_release(catalog);
    if (is_served)
        return inferd_fail(err, INFERD_ECONFLICT,
                           "model '%s' version %lld serves traffic; undeploy it (or move the "
                           "traffic away) before deleting it",
                           model, (long long)version);
    bool on_disk =
        inferd_model_name_is_valid(model) && inferd_repo_version_on_disk(repo, model, version);
    inferd_reg_version_t row = {0};
    bool in_registry = repo->registry != NULL &&
                       inferd_registry_get_version(repo->registry, model, version, &row, err) == 0;
    bool was_archived = in_registry && row.status == INFERD_VS_ARCHIVED;
    inferd_reg_version_clear(&row);
    if (!on_disk && (!in_registry || was_archived))
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no version %lld", model,
                           (long long)version);
    if (on_disk) {
        char dir[4200];
        snprintf(dir, sizeof(dir), "%s/%s/%lld", repo->dir, model, (long long)version);
        remove_tree(dir);
    }
    inferd_audit_t audit = {change->actor, "delete", model, version, "{\"status\":\"archived\"}",
                            change->reason};
    if (in_registry)
        inferd_registry_set_version_status(repo->registry, model, version, INFERD_VS_ARCHIVED,
                                           &audit, err);
    else if (repo->registry != NULL)
        inferd_registry_append_audit(repo->registry, &audit, err);
    inferd_log_info("model '%s' version %lld deleted by %s", model, (long long)version,
                    change->actor);
    return 0;
}

int inferd_repo_rollback(inferd_repo_t *repo, const char *model, int64_t to_version,
                         const inferd_change_t *change, int64_t *OUT_previous, inferd_err_t *err)
{
    *OUT_previous = 0;
    inferd_catalog_t *catalog = inferd_repo_snapshot(repo);
    const inferd_model_t *m = inferd_catalog_model(catalog, model);
    const inferd_model_version_t *serving = m ? inferd_model_serving_version(m) : NULL;
    bool is_loaded = m != NULL, has_target = false;
    for (size_t i = 0; m != NULL && i < m->n_versions; i++)
        has_target |= m->versions[i]->version == to_version && m->versions[i]->is_ready;
    *OUT_previous = serving ? serving->version : 0;
    inferd_catalog_release(catalog);
    if (!is_loaded)
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' is not loaded", model);
    int rc = 0;
    if (!has_target) /* not served any more: load it first (then the switch is instant) */
        rc = inferd_repo_deploy_version(repo, model, to_version, NULL, change, err);
    if (rc == 0)
        rc = inferd_repo_set_default(repo, model, to_version, change, err);
    if (rc != 0)
        return rc;
    if (repo->registry != NULL) {
        char detail[96];
        snprintf(detail, sizeof(detail), "{\"from_version\":%lld,\"to_version\":%lld}",
                 (long long)*OUT_previous, (long long)to_version);
        inferd_audit_t audit = {change->actor, "rollback", model,
                                to_version,    detail,     change->reason};
        inferd_err_t ignored;
        if (inferd_registry_append_audit(repo->registry, &audit, &ignored) != 0)
            inferd_log_error("registry: recording the rollback: %s", ignored.msg);
    }
    inferd_log_info("model '%s' rolled back from version %lld to %lld by %s%s%s", model,
                    (long long)*OUT_previous, (long long)to_version, change->actor,
                    change->reason ? ": " : "", change->reason ? change->reason : "");
    return 0;
}
