/* The repository's side of the registry: what serves is written down after every change, and
 * read back at start-up, so that a restart (or a crash) serves exactly what served before.
 *
 * What is recorded: a version row for every version that ever served or was registered (with
 * its checksum and schema), status active while it serves and deprecated after; a deployment
 * for every served version ({"source": "policy"} when the version policy chose it, {"source":
 * "api", "settings": {...}} when an operator deployed it); labels and the default version; an
 * audit entry for every change. At start-up the API deployments, labels and default version are
 * restored; policy deployments are recomputed from the disk, so a version folder added while
 * inferd was down is picked up as Triton would. Control thread only. */
#include "inferd/backend.h"
#include "inferd/digest.h"
#include "inferd/json.h"
#include "inferd/log.h"
#include "repo_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void log_failure(const char *what, const inferd_err_t *err)
{
    inferd_log_error("registry: %s: %s", what, err->msg);
}

/* ==== deployment settings ==== */

int repo_pin_from_settings(const char *settings_json, int64_t version, repo_pin_t *pin,
                           inferd_err_t *err)
{
    *pin = (repo_pin_t){.version = version, .max_batch_size = -1};
    if (settings_json == NULL || settings_json[0] == '\0')
        return 0;
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 1u << 20);
    inferd_json_t doc;
    int rc = inferd_json_parse(&doc, settings_json, strlen(settings_json), &arena, err);
    if (rc == 0 && inferd_json_kind(&doc, 0) != INFERD_JSON_OBJECT)
        rc = inferd_fail(err, INFERD_EINVAL, "deployment settings must be a JSON object");
    inferd_jsonw_t config = {0};
    inferd_jsonw_lit(&config, "{\"_\":0");
    int instances = rc == 0 ? inferd_json_get(&doc, 0, "instance_count") : -1;
    int batching = rc == 0 ? inferd_json_get(&doc, 0, "dynamic_batching") : -1;
    int max_batch = rc == 0 ? inferd_json_get(&doc, 0, "max_batch_size") : -1;
    int fault = rc == 0 ? inferd_json_get(&doc, 0, "fault_injection") : -1;
    size_t len;
    const char *raw;
    if (instances >= 0) {
        raw = inferd_json_raw(&doc, instances, &len);
        inferd_jsonw_lit(&config, ",\"instance_group\":[{\"count\":");
        inferd_jsonw_raw(&config, raw, len);
        inferd_jsonw_lit(&config, "}]");
    }
    if (batching >= 0) {
        raw = inferd_json_raw(&doc, batching, &len);
        inferd_jsonw_lit(&config, ",\"dynamic_batching\":");
        if (inferd_json_kind(&doc, batching) == INFERD_JSON_STRING)
            inferd_jsonw_lit(&config, "\"");
        inferd_jsonw_raw(&config, raw, len);
        if (inferd_json_kind(&doc, batching) == INFERD_JSON_STRING)
            inferd_jsonw_lit(&config, "\"");
    }
    if (fault >= 0) {
        raw = inferd_json_raw(&doc, fault, &len);
        inferd_jsonw_lit(&config, ",\"fault_injection\":");
        inferd_jsonw_raw(&config, raw, len);
    }
    if (max_batch >= 0) {
        raw = inferd_json_raw(&doc, max_batch, &len);
        inferd_jsonw_lit(&config, ",\"max_batch_size\":");
        inferd_jsonw_raw(&config, raw, len);
    }
    inferd_jsonw_lit(&config, "}");
    inferd_model_config_t parsed = {0};
    if (rc == 0 && !config.failed &&
        (rc = inferd_model_config_parse(config.buf, config.len, &parsed, err)) != 0) {
        /* the parser speaks of config.json; these came in a deployment */
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        const char *tail = strncmp(msg, "config.json: ", 13) == 0 ? msg + 13 : msg;
        inferd_fail(err, rc, "deployment settings: %s", tail);
    }
    if (rc == 0) {
        if (instances >= 0 || batching >= 0) {
            pin->has_sched = true;
            pin->sched = parsed.sched;
        }
        if (max_batch >= 0)
            pin->max_batch_size = parsed.max_batch_size;
        if (fault >= 0) {
            pin->has_fault = true;
            pin->fault = parsed.fault;
        }
        inferd_model_config_free(&parsed);
    }
    inferd_jsonw_free(&config);
    inferd_arena_free(&arena);
    return rc;
}

/* The "settings" member of a stored deployment's config_json, as JSON text in `arena`, or
 * NULL; *OUT_is_api tells whether an operator made it. */
static const char *deployment_settings(const char *config_json, inferd_arena_t *arena,
                                       bool *OUT_is_api)
{
    *OUT_is_api = false;
    inferd_json_t doc;
    if (config_json == NULL ||
        inferd_json_parse(&doc, config_json, strlen(config_json), arena, NULL) != 0)
        return NULL;
    int source = inferd_json_get(&doc, 0, "source");
    *OUT_is_api = source >= 0 && inferd_json_eq(&doc, source, "api");
    int settings = inferd_json_get(&doc, 0, "settings");
    if (settings < 0)
        return NULL;
    size_t len;
    const char *raw = inferd_json_raw(&doc, settings, &len);
    return inferd_arena_strndup(arena, raw, len);
}

/* ==== start-up ==== */

void repo_persist_restore(inferd_repo_t *repo)
{
    inferd_registry_t *r = repo->registry;
    if (r == NULL)
        return;
    inferd_err_t err = {0};
    inferd_reg_deployment_t *deployments = NULL;
    size_t n_deployments = 0;
    if (inferd_registry_list_deployments(r, NULL, true, &deployments, &n_deployments, &err) != 0) {
        log_failure("reading deployments", &err);
        return;
    }
    for (size_t i = 0; i < n_deployments; i++) {
        repo_model_state_t *state = repo_state_for(repo, deployments[i].model);
        if (state == NULL)
            continue;
        state->is_wanted = true; /* it served: it serves again, in explicit mode too */
        inferd_arena_t arena;
        inferd_arena_init(&arena, 4096, 1u << 20);
        bool is_api;
        const char *settings = deployment_settings(deployments[i].config_json, &arena, &is_api);
        repo_pin_t pin;
        if (is_api && repo_pin_from_settings(settings, deployments[i].version, &pin, &err) == 0) {
            repo_pin_t *grown = realloc(state->pins, (state->n_pins + 1) * sizeof(*grown));
            if (grown != NULL) {
                state->pins = grown;
                state->pins[state->n_pins++] = pin;
            }
        }
        inferd_arena_free(&arena);
    }
    inferd_reg_deployments_free(deployments, n_deployments);

    inferd_reg_label_t *labels = NULL;
    size_t n_labels = 0;
    if (inferd_registry_list_labels(r, NULL, &labels, &n_labels, &err) == 0) {
        for (size_t i = 0; i < n_labels; i++) {
            repo_model_state_t *state = repo_state_for(repo, labels[i].model);
            inferd_label_t *grown =
                state ? realloc(state->labels, (state->n_labels + 1) * sizeof(*grown)) : NULL;
            if (grown == NULL)
                continue;
            state->labels = grown;
            grown[state->n_labels].name = strdup(labels[i].label);
            grown[state->n_labels].version = labels[i].version;
            if (grown[state->n_labels].name != NULL)
                state->n_labels++;
        }
        inferd_reg_labels_free(labels, n_labels);
    } else {
        log_failure("reading labels", &err);
    }

    inferd_reg_model_t *models = NULL;
    size_t n_models = 0;
    if (inferd_registry_list_models(r, &models, &n_models, &err) == 0) {
        for (size_t i = 0; i < n_models; i++) {
            if (models[i].default_version <= 0)
                continue;
            repo_model_state_t *state = repo_state_for(repo, models[i].name);
            if (state != NULL) {
                state->has_default = true;
                state->default_version = models[i].default_version;
            }
        }
        inferd_reg_models_free(models, n_models);
    } else {
        log_failure("reading models", &err);
    }
}

/* The actor recorded for versions found as folders (not registered through the API). */
#define DISCOVERED_BY "repository"

int64_t *repo_persist_managed_versions(inferd_repo_t *repo, const char *name, size_t *OUT_count)
{
    *OUT_count = 0;
    if (repo->registry == NULL)
        return NULL;
    inferd_reg_version_t *rows = NULL;
    size_t n = 0;
    inferd_err_t err;
    if (inferd_registry_list_versions(repo->registry, name, &rows, &n, &err) != 0) {
        log_failure("reading versions", &err);
        return NULL;
    }
    int64_t *managed = calloc(n + 1, sizeof(*managed));
    for (size_t i = 0; managed != NULL && i < n; i++)
        if (rows[i].created_by == NULL || strcmp(rows[i].created_by, DISCOVERED_BY) != 0)
            managed[(*OUT_count)++] = rows[i].version;
    inferd_reg_versions_free(rows, n);
    return managed;
}

/* ==== after a change ==== */

/* Adds a version row for `v` (a version found on disk) when the registry has none. */
static void ensure_version_row(inferd_registry_t *r, const inferd_model_version_t *v,
                               const inferd_change_t *change)
{
    inferd_err_t err = {0};
    inferd_reg_version_t row = {0};
    if (inferd_registry_get_version(r, v->model_name, v->version, &row, &err) == 0) {
        inferd_reg_version_clear(&row);
        return;
    }
    inferd_jsonw_t inputs = {0}, outputs = {0};
    inferd_specs_write_json(&inputs, v->sig.inputs, v->sig.n_inputs);
    inferd_specs_write_json(&outputs, v->sig.outputs, v->sig.n_outputs);
    inferd_reg_version_t add = {
        .model = (char *)v->model_name,
        .version = v->version,
        .artifact_path = v->path,
        .framework = (char *)(v->backend ? v->backend->name : "unknown"),
        .inputs_json = (char *)inferd_jsonw_cstr_of(&inputs),
        .outputs_json = (char *)inferd_jsonw_cstr_of(&outputs),
        .metadata_json = "{}",
        .tags_json = "[]",
        .status = INFERD_VS_DRAFT,
        .created_by = (char *)DISCOVERED_BY,
    };
    if (inferd_file_sha256(v->path, add.sha256, &add.size_bytes, &err) != 0)
        add.sha256[0] = '\0';
    inferd_audit_t audit = {
        change->actor, "discover", v->model_name, v->version, "{\"source\":\"repository folder\"}",
        change->reason};
    if (add.inputs_json != NULL && add.outputs_json != NULL &&
        inferd_registry_add_version(r, &add, &audit, &err) != 0 && err.code != INFERD_ECONFLICT)
        log_failure("recording a version", &err);
    inferd_jsonw_free(&inputs);
    inferd_jsonw_free(&outputs);
}

static bool serves(const inferd_model_t *model, int64_t version)
{
    for (size_t i = 0; model != NULL && i < model->n_versions; i++)
        if (model->versions[i]->version == version && model->versions[i]->is_ready)
            return true;
    return false;
}

void repo_persist_sync(inferd_repo_t *repo, const char *name, const inferd_change_t *change)
{
    inferd_registry_t *r = repo->registry;
    if (r == NULL)
        return;
    inferd_err_t err = {0};
    inferd_catalog_t *catalog = inferd_repo_snapshot(repo);
    const inferd_model_t *model = inferd_catalog_model(catalog, name);
    inferd_reg_deployment_t *active = NULL;
    size_t n_active = 0;
    if (inferd_registry_list_deployments(r, name, true, &active, &n_active, &err) != 0) {
        log_failure("reading deployments", &err);
        inferd_catalog_release(catalog);
        return;
    }
    /* versions that serve now: a row, status active, an active deployment (an operator's
     * deployment is recorded by repo_persist_deployment instead) */
    const repo_model_state_t *state = repo_state_for(repo, name);
    for (size_t i = 0; model != NULL && i < model->n_versions; i++) {
        const inferd_model_version_t *v = model->versions[i];
        if (!v->is_ready)
            continue;
        ensure_version_row(r, v, change);
        bool is_deployed = false;
        for (size_t p = 0; state != NULL && p < state->n_pins; p++)
            is_deployed |= state->pins[p].version == v->version;
        for (size_t j = 0; j < n_active; j++)
            is_deployed |= active[j].version == v->version;
        inferd_audit_t audit = {
            change->actor, "deploy", name, v->version, "{\"source\":\"policy\"}", change->reason};
        if (!is_deployed &&
            inferd_registry_add_deployment(r, name, v->version, "{\"source\":\"policy\"}",
                                           change->actor, &audit, NULL, &err) != 0)
            log_failure("recording a deployment", &err);
        inferd_reg_version_t row = {0};
        if (inferd_registry_get_version(r, name, v->version, &row, &err) == 0 &&
            row.status != INFERD_VS_ACTIVE) {
            inferd_audit_t status = {
                change->actor, "set_status", name, v->version, "{\"status\":\"active\"}",
                change->reason};
            inferd_registry_set_version_status(r, name, v->version, INFERD_VS_ACTIVE, &status,
                                               &err);
        }
        inferd_reg_version_clear(&row);
    }
    /* deployments of versions that no longer serve: retired, the version deprecated */
    for (size_t j = 0; j < n_active; j++) {
        if (serves(model, active[j].version))
            continue;
        inferd_audit_t audit = {change->actor,     "undeploy", name,
                                active[j].version, NULL,       change->reason};
        if (inferd_registry_retire_deployment(r, name, active[j].version, &audit, &err) != 0)
            log_failure("retiring a deployment", &err);
        inferd_reg_version_t row = {0};
        if (inferd_registry_get_version(r, name, active[j].version, &row, &err) == 0 &&
            row.status == INFERD_VS_ACTIVE) {
            inferd_audit_t status = {
                change->actor, "set_status", name, active[j].version, "{\"status\":\"deprecated\"}",
                change->reason};
            inferd_registry_set_version_status(r, name, active[j].version, INFERD_VS_DEPRECATED,
                                               &status, &err);
        }
        inferd_reg_version_clear(&row);
    }
    inferd_reg_deployments_free(active, n_active);
    inferd_catalog_release(catalog);
}

int repo_persist_deployment(inferd_repo_t *repo, const char *model, int64_t version,
                            const char *settings_json, const inferd_change_t *change,
                            inferd_err_t *err)
{
    inferd_registry_t *r = repo->registry;
    if (r == NULL)
        return 0;
    inferd_jsonw_t config = {0};
    inferd_jsonw_lit(&config, "{\"source\":\"api\",\"settings\":");
    if (settings_json != NULL && settings_json[0] != '\0')
        inferd_jsonw_lit(&config, settings_json);
    else
        inferd_jsonw_lit(&config, "{}");
    inferd_jsonw_lit(&config, "}");
    const char *text = inferd_jsonw_cstr_of(&config);
    inferd_audit_t audit = {change->actor, "deploy", model, version, text, change->reason};
    int rc = text == NULL ? INFERD_ENOMEM
                          : inferd_registry_add_deployment(r, model, version, text, change->actor,
                                                           &audit, NULL, err);
    inferd_jsonw_free(&config);
    return rc;
}
