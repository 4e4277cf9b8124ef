/* The registry's public face: picks a store from the location, checks every argument once (so
 * that each store can trust what it receives), completes the audit entry a mutating call
 * writes, and dispatches through the store's table of functions (store.h). Also the version
 * status names and the functions that free what the calls return. Not the storage itself:
 * that is sqlite.c (and later postgres.c). */
#include <stdlib.h>
#include <string.h>

#include "registry/store.h"

#define NAME_MAX_BYTES 256 /* models, labels, state keys */

/* ==== status names ==== */

static const char *const status_names[] = {
#define INFERD_VS_NAME(suffix, text) text,
    INFERD_VERSION_STATUSES(INFERD_VS_NAME)
#undef INFERD_VS_NAME
};

const char *inferd_version_status_name(inferd_version_status_t status)
{
    if ((int)status < 0 || status >= INFERD_VS_COUNT)
        return NULL;
    return status_names[status];
}

int inferd_version_status_parse(const char *text)
{
    if (text == NULL)
        return -1;
    for (int i = 0; i < INFERD_VS_COUNT; i++)
        if (strcmp(text, status_names[i]) == 0)
            return i;
    return -1;
}

/* ==== argument checks ==== */

static int check_name(const char *what, const char *name, inferd_err_t *err)
{
    if (name == NULL || name[0] == '\0')
        return inferd_fail(err, INFERD_EINVAL, "registry: the %s is missing", what);
    if (strlen(name) > NAME_MAX_BYTES)
        return inferd_fail(err, INFERD_EINVAL, "registry: the %s is longer than %d bytes", what,
                           NAME_MAX_BYTES);
    return 0;
}

/* NULL means "every model" where the call allows it. */
static int check_optional_model(const char *model, inferd_err_t *err)
{
    return model == NULL ? 0 : check_name("model name", model, err);
}

static int check_version(int64_t version, inferd_err_t *err)
{
    if (version < 1)
        return inferd_fail(err, INFERD_EINVAL, "registry: version %lld is not a positive integer",
                           (long long)version);
    return 0;
}

static int check_sha256(const char *sha256, inferd_err_t *err)
{
    size_t len = strnlen(sha256, 65);
    bool is_hex = len == 64;
    for (size_t i = 0; is_hex && i < len; i++)
        is_hex = (sha256[i] >= '0' && sha256[i] <= '9') || (sha256[i] >= 'a' && sha256[i] <= 'f');
    if (len != 0 && !is_hex)
        return inferd_fail(err, INFERD_EINVAL,
                           "registry: sha256 must be 64 lowercase hex digits (or empty)");
    return 0;
}

static int check_out(const void *out, inferd_err_t *err)
{
    return out == NULL ? inferd_fail(err, INFERD_EINVAL, "registry: no place for the result") : 0;
}

/* The audit entry a mutating call writes: the caller's, with the call's own action, model and
 * version wherever the caller left them out, and "" / "{}" for the other missing strings. */
static inferd_audit_t complete_audit(const inferd_audit_t *given, const char *action,
                                     const char *model, int64_t version)
{
    inferd_audit_t a = given != NULL ? *given : (inferd_audit_t){0};
    if (a.actor == NULL)
        a.actor = "";
    if (a.action == NULL || a.action[0] == '\0')
        a.action = action;
    if (a.model == NULL)
        a.model = model != NULL ? model : "";
    if (a.version == 0)
        a.version = version;
    if (a.detail_json == NULL)
        a.detail_json = "{}";
    if (a.reason == NULL)
        a.reason = "";
    return a;
}

/* ==== opening ==== */

typedef int (*store_open_fn)(const char *location, inferd_registry_t **OUT, inferd_err_t *err);

/* Where a location goes, by prefix. A plain path (no prefix matches) is a SQLite file. */
static const struct {
    const char *prefix;
    bool strip_prefix;
    store_open_fn open; /* NULL: known but not built yet */
} stores[] = {
    {"sqlite:", true, registry_sqlite_open},
    {"postgres://", false, NULL},
    {"postgresql://", false, NULL},
};

int inferd_registry_open(const char *location, inferd_registry_t **OUT_registry, inferd_err_t *err)
{
    if (OUT_registry == NULL)
        return check_out(NULL, err);
    *OUT_registry = NULL;
    if (location == NULL || location[0] == '\0')
        return inferd_fail(err, INFERD_EINVAL, "registry: no location given");
    for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
        size_t len = strlen(stores[i].prefix);
        if (strncmp(location, stores[i].prefix, len) != 0)
            continue;
        if (stores[i].open == NULL)
            return inferd_fail(err, INFERD_EUNSUPPORTED,
                               "registry %s: this store is not supported yet (use a SQLite file "
                               "path or sqlite:PATH)",
                               location);
        const char *rest = stores[i].strip_prefix ? location + len : location;
        if (rest[0] == '\0')
            return inferd_fail(err, INFERD_EINVAL, "registry %s: no path after the prefix",
                               location);
        return stores[i].open(rest, OUT_registry, err);
    }
    return registry_sqlite_open(location, OUT_registry, err);
}

void inferd_registry_close(inferd_registry_t *registry)
{
    if (registry != NULL)
        registry->ops->close(registry);
}

/* ==== models and versions ==== */

int inferd_registry_add_version(inferd_registry_t *r, const inferd_reg_version_t *v,
                                const inferd_audit_t *audit, inferd_err_t *err)
{
    int rc;
    if ((rc = check_out(v, err)) != 0 || (rc = check_name("model name", v->model, err)) != 0 ||
        (rc = check_version(v->version, err)) != 0 || (rc = check_sha256(v->sha256, err)) != 0)
        return rc;
    if (v->size_bytes < 0)
        return inferd_fail(err, INFERD_EINVAL, "registry: size_bytes is negative");
    if (inferd_version_status_name(v->status) == NULL)
        return inferd_fail(err, INFERD_EINVAL, "registry: unknown version status %d",
                           (int)v->status);
    inferd_audit_t a = complete_audit(audit, "register", v->model, v->version);
    return r->ops->add_version(r, v, &a, err);
}

int inferd_registry_get_version(inferd_registry_t *r, const char *model, int64_t version,
                                inferd_reg_version_t *OUT, inferd_err_t *err)
{
    int rc;
    if ((rc = check_out(OUT, err)) != 0)
        return rc;
    memset(OUT, 0, sizeof(*OUT));
    if ((rc = check_name("model name", model, err)) != 0 || (rc = check_version(version, err)) != 0)
        return rc;
    return r->ops->get_version(r, model, version, OUT, err);
}

int inferd_registry_list_versions(inferd_registry_t *r, const char *model,
                                  inferd_reg_version_t **OUT, size_t *OUT_count, inferd_err_t *err)
{
    int rc;
    if ((rc = check_out(OUT, err)) != 0 || (rc = check_out(OUT_count, err)) != 0)
        return rc;
    *OUT = NULL;
    *OUT_count = 0;
    if ((rc = check_name("model name", model, err)) != 0)
        return rc;
    return r->ops->list_versions(r, model, OUT, OUT_count, err);
}

int inferd_registry_set_version_status(inferd_registry_t *r, const char *model, int64_t version,
                                       inferd_version_status_t status, const inferd_audit_t *audit,
                                       inferd_err_t *err)
{
    int rc;
    if ((rc = check_name("model name", model, err)) != 0 || (rc = check_version(version, err)) != 0)
        return rc;
    if (inferd_version_status_name(status) == NULL)
        return inferd_fail(err, INFERD_EINVAL, "registry: unknown version status %d", (int)status);
    inferd_audit_t a = complete_audit(audit, "set_status", model, version);
    return r->ops->set_version_status(r, model, version, status, &a, err);
}

int inferd_registry_list_models(inferd_registry_t *r, inferd_reg_model_t **OUT, size_t *OUT_count,
                                inferd_err_t *err)
{
    int rc;
    if ((rc = check_out(OUT, err)) != 0 || (rc = check_out(OUT_count, err)) != 0)
        return rc;
    *OUT = NULL;
    *OUT_count = 0;
    return r->ops->list_models(r, OUT, OUT_count, err);
}

int inferd_registry_get_model(inferd_registry_t *r, const char *name, inferd_reg_model_t *OUT,
                              inferd_err_t *err)
{
    int rc;
    if ((rc = check_out(OUT, err)) != 0)
        return rc;
    memset(OUT, 0, sizeof(*OUT));
    if ((rc = check_name("model name", name, err)) != 0)
        return rc;
    return r->ops->get_model(r, name, OUT, err);
}

int inferd_registry_ensure_model(inferd_registry_t *r, const char *name, inferd_err_t *err)
{
    int rc;
    if ((rc = check_name("model name", name, err)) != 0)
        return rc;
    inferd_audit_t a = complete_audit(NULL, "add_model", name, 0);
    return r->ops->ensure_model(r, name, &a, err);
}

int inferd_registry_set_default(inferd_registry_t *r, const char *model, int64_t version,
                                const inferd_audit_t *audit, inferd_err_t *err)
{
    int rc;
    if ((rc = check_name("model name", model, err)) != 0)
        return rc;
    if (version != 0 && (rc = check_version(version, err)) != 0)
        return rc;
    inferd_audit_t a =
        complete_audit(audit, version != 0 ? "set_default" : "clear_default", model, version);
    return r->ops->set_default(r, model, version, &a, err);
}

/* ==== labels ==== */

int inferd_registry_set_label(inferd_registry_t *r, const char *model, const char *label,
                              int64_t version, const inferd_audit_t *audit, inferd_err_t *err)
{
    int rc;
    if ((rc = check_name("model name", model, err)) != 0 ||
        (rc = check_name("label", label, err)) != 0 || (rc = check_version(version, err)) != 0)
        return rc;
    inferd_audit_t a = complete_audit(audit, "set_label", model, version);
    return r->ops->set_label(r, model, label, version, &a, err);
}

int inferd_registry_delete_label(inferd_registry_t *r, const char *model, const char *label,
                                 const inferd_audit_t *audit, inferd_err_t *err)
{
    int rc;
    if ((rc = check_name("model name", model, err)) != 0 ||
        (rc = check_name("label", label, err)) != 0)
        return rc;
    inferd_audit_t a = complete_audit(audit, "delete_label", model, 0);
    return r->ops->delete_label(r, model, label, &a, err);
}

int inferd_registry_list_labels(inferd_registry_t *r, const char *model, inferd_reg_label_t **OUT,
                                size_t *OUT_count, inferd_err_t *err)
{
    int rc;
    if ((rc = check_out(OUT, err)) != 0 || (rc = check_out(OUT_count, err)) != 0)
        return rc;
    *OUT = NULL;
    *OUT_count = 0;
    if ((rc = check_optional_model(model, err)) != 0)
        return rc;
    return r->ops->list_labels(r, model, OUT, OUT_count, err);
}

/* ==== deployments ==== */

int inferd_registry_add_deployment(inferd_registry_t *r, const char *model, int64_t version,
                                   const char *config_json, const char *created_by,
                                   const inferd_audit_t *audit, int64_t *OUT_id, inferd_err_t *err)
{
    int rc;
    if ((rc = check_name("model name", model, err)) != 0 || (rc = check_version(version, err)) != 0)
        return rc;
    inferd_audit_t a = complete_audit(audit, "deploy", model, version);
    return r->ops->add_deployment(r, model, version, config_json ? config_json : "{}",
                                  created_by ? created_by : "", &a, OUT_id, err);
}

int inferd_registry_retire_deployment(inferd_registry_t *r, const char *model, int64_t version,
                                      const inferd_audit_t *audit, inferd_err_t *err)
{
    int rc;
    if ((rc = check_name("model name", model, err)) != 0 || (rc = check_version(version, err)) != 0)
        return rc;
    inferd_audit_t a = complete_audit(audit, "undeploy", model, version);
    return r->ops->retire_deployment(r, model, version, &a, err);
}

int inferd_registry_list_deployments(inferd_registry_t *r, const char *model, bool active_only,
                                     inferd_reg_deployment_t **OUT, size_t *OUT_count,
                                     inferd_err_t *err)
{
    int rc;
    if ((rc = check_out(OUT, err)) != 0 || (rc = check_out(OUT_count, err)) != 0)
        return rc;
    *OUT = NULL;
    *OUT_count = 0;
    if ((rc = check_optional_model(model, err)) != 0)
        return rc;
    return r->ops->list_deployments(r, model, active_only, OUT, OUT_count, err);
}

/* ==== per-model state documents ==== */

int inferd_registry_put_state(inferd_registry_t *r, const char *model, const char *key,
                              const char *json, const inferd_audit_t *audit, inferd_err_t *err)
{
    int rc;
    if ((rc = check_name("model name", model, err)) != 0 ||
        (rc = check_name("state key", key, err)) != 0)
        return rc;
    inferd_audit_t a = complete_audit(audit, json != NULL ? "put_state" : "delete_state", model, 0);
    return r->ops->put_state(r, model, key, json, &a, err);
}

int inferd_registry_get_state(inferd_registry_t *r, const char *model, const char *key,
                              char **OUT_json, inferd_err_t *err)
{
    int rc;
    if ((rc = check_out(OUT_json, err)) != 0)
        return rc;
    *OUT_json = NULL;
    if ((rc = check_name("model name", model, err)) != 0 ||
        (rc = check_name("state key", key, err)) != 0)
        return rc;
    return r->ops->get_state(r, model, key, OUT_json, err);
}

/* ==== the audit log ==== */

int inferd_registry_append_audit(inferd_registry_t *r, const inferd_audit_t *audit,
                                 inferd_err_t *err)
{
    if (audit == NULL || audit->action == NULL || audit->action[0] == '\0')
        return inferd_fail(err, INFERD_EINVAL, "registry: an audit entry needs an action");
    inferd_audit_t a = complete_audit(audit, audit->action, NULL, 0);
    return r->ops->append_audit(r, &a, err);
}

int inferd_registry_list_audit(inferd_registry_t *r, const char *model, int64_t after_id,
                               size_t limit, inferd_audit_entry_t **OUT, size_t *OUT_count,
                               inferd_err_t *err)
{
    int rc;
    if ((rc = check_out(OUT, err)) != 0 || (rc = check_out(OUT_count, err)) != 0)
        return rc;
    *OUT = NULL;
    *OUT_count = 0;
    if ((rc = check_optional_model(model, err)) != 0)
        return rc;
    return r->ops->list_audit(r, model, after_id < 0 ? 0 : after_id, limit ? limit : SIZE_MAX, OUT,
                              OUT_count, err);
}

/* ==== freeing what the calls return ==== */

void inferd_reg_model_clear(inferd_reg_model_t *m)
{
    if (m == NULL)
        return;
    free(m->name);
    memset(m, 0, sizeof(*m));
}

void inferd_reg_models_free(inferd_reg_model_t *models, size_t count)
{
    for (size_t i = 0; models != NULL && i < count; i++)
        inferd_reg_model_clear(&models[i]);
    free(models);
}

void inferd_reg_version_clear(inferd_reg_version_t *v)
{
    if (v == NULL)
        return;
    free(v->model);
    free(v->artifact_path);
    free(v->framework);
    free(v->inputs_json);
    free(v->outputs_json);
    free(v->metadata_json);
    free(v->tags_json);
    free(v->created_by);
    memset(v, 0, sizeof(*v));
}

void inferd_reg_versions_free(inferd_reg_version_t *versions, size_t count)
{
    for (size_t i = 0; versions != NULL && i < count; i++)
        inferd_reg_version_clear(&versions[i]);
    free(versions);
}

void inferd_reg_deployments_free(inferd_reg_deployment_t *deployments, size_t count)
{
    for (size_t i = 0; deployments != NULL && i < count; i++) {
        free(deployments[i].model);
        free(deployments[i].config_json);
        free(deployments[i].created_by);
    }
    free(deployments);
}

void inferd_reg_labels_free(inferd_reg_label_t *labels, size_t count)
{
    for (size_t i = 0; labels != NULL && i < count; i++) {
        free(labels[i].model);
        free(labels[i].label);
    }
    free(labels);
}

void inferd_audit_entries_free(inferd_audit_entry_t *entries, size_t count)
{
    for (size_t i = 0; entries != NULL && i < count; i++) {
        free(entries[i].actor);
        free(entries[i].action);
        free(entries[i].model);
        free(entries[i].detail_json);
        free(entries[i].reason);
    }
    free(entries);
}
