/* The registry: what inferd knows about its models beyond the files on disk, kept in a database
 * so that it survives restarts and crashes. Models; versions (artifact, checksum, schema,
 * metadata, status); deployments (which versions serve, with which settings); labels and the
 * default version; per-model state documents (traffic rules, A/B tests, canaries); and an
 * append-only audit log of every control-plane change.
 *
 * One interface, several stores: SQLite (the default, a file, WAL mode) and, later, PostgreSQL
 * for many replicas. Every mutating call writes its change and its audit entry in one
 * transaction, durable when the call returns 0. Calls are safe from any thread (each store
 * serialises them internally). */
#ifndef INFERD_REGISTRY_H
#define INFERD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inferd/error.h"

typedef struct inferd_registry inferd_registry_t;

/*        enum suffix   text */
#define INFERD_VERSION_STATUSES(X)                                                                 \
    X(DRAFT, "draft")           /* registered, not serving */                                      \
    X(ACTIVE, "active")         /* serving (has an active deployment) */                           \
    X(DEPRECATED, "deprecated") /* served once, not any more */                                    \
    X(ARCHIVED, "archived")     /* deleted: the row stays for the audit trail */

typedef enum {
#define INFERD_VS_ENUM(suffix, text) INFERD_VS_##suffix,
    INFERD_VERSION_STATUSES(INFERD_VS_ENUM)
#undef INFERD_VS_ENUM
        INFERD_VS_COUNT
} inferd_version_status_t;

/* "draft", ... ; NULL for values outside the enum. */
const char *inferd_version_status_name(inferd_version_status_t status);

/* The status named `text`, or -1. */
int inferd_version_status_parse(const char *text);

/* A model. Strings are owned by the record (free with inferd_reg_models_free). */
typedef struct inferd_reg_model {
    char *name;
    int64_t default_version; /* 0: none set (the highest ready version answers) */
    int64_t created_at_ms;   /* milliseconds since the epoch */
} inferd_reg_model_t;

/* A version of a model. JSON members hold JSON text ("null" or "{}" when empty, never NULL
 * when read back). */
typedef struct inferd_reg_version {
    char *model;
    int64_t version;
    char *artifact_path; /* where the model file lives (inside the repository) */
    char sha256[65];     /* lowercase hex */
    char *framework;     /* "onnx", ... */
    char *inputs_json;   /* [{"name","datatype","shape"}...] */
    char *outputs_json;
    int64_t size_bytes;
    char *metadata_json; /* free-form: training metrics, descriptions */
    char *tags_json;     /* a JSON list of strings */
    inferd_version_status_t status;
    int64_t created_at_ms;
    char *created_by;
} inferd_reg_version_t;

/* A version made to serve. At most one deployment per (model, version) is active; creating a
 * new one retires the previous. */
typedef struct inferd_reg_deployment {
    int64_t id;
    char *model;
    int64_t version;
    char *config_json; /* instances, batching, replicas, resources: as given */
    bool is_active;
    int64_t created_at_ms;
    char *created_by;
    int64_t retired_at_ms; /* 0 while active */
} inferd_reg_deployment_t;

typedef struct inferd_reg_label {
    char *model;
    char *label;
    int64_t version;
} inferd_reg_label_t;

/* One entry of the audit log, as read back. */
typedef struct inferd_audit_entry {
    int64_t id; /* increasing */
    int64_t at_ms;
    char *actor;     /* who: "api", "poller", "startup", a user name */
    char *action;    /* what: "register", "deploy", "undeploy", "set_default", "set_label", ... */
    char *model;     /* may be "" for server-wide entries */
    int64_t version; /* 0 when not about one version */
    char *detail_json;
    char *reason; /* why, as the caller said; may be "" */
} inferd_audit_entry_t;

/* What a mutating call appends to the audit log (borrowed strings; NULL reads as ""). A
 * mutating call accepts audit NULL, and fills what the caller left out from the call itself:
 * action NULL or "" becomes the call's own ("register", "set_status", "set_default",
 * "clear_default", "set_label", "delete_label", "deploy", "undeploy", "put_state",
 * "delete_state"), model NULL the call's model, version 0 the call's version. */
typedef struct inferd_audit {
    const char *actor;
    const char *action;
    const char *model;
    int64_t version;
    const char *detail_json; /* NULL: "{}" */
    const char *reason;
} inferd_audit_t;

/* ==== opening ==== */

/* Opens the registry at `location`: a file path (SQLite, created with its schema when absent,
 * migrated when older) or "sqlite:PATH"; "postgres://..." answers INFERD_EUNSUPPORTED for now.
 * Returns 0 with *OUT_registry set, or a negative code with the reason in err. */
int inferd_registry_open(const char *location, inferd_registry_t **OUT_registry, inferd_err_t *err);

void inferd_registry_close(inferd_registry_t *registry);

/* ==== models and versions ==== */

/* Adds `v` (created_at_ms 0: now), creating its model when new. INFERD_ECONFLICT when the
 * version exists (whatever its status). NULL strings are stored as "" and NULL JSON members as
 * "null" (inputs, outputs), "{}" (metadata) and "[]" (tags); JSON that does not parse, a sha256
 * that is neither "" nor 64 lowercase hex digits, or version < 1 give INFERD_EINVAL. */
int inferd_registry_add_version(inferd_registry_t *r, const inferd_reg_version_t *v,
                                const inferd_audit_t *audit, inferd_err_t *err);

/* INFERD_ENOTFOUND when absent. *OUT is filled; free with inferd_reg_version_clear. */
int inferd_registry_get_version(inferd_registry_t *r, const char *model, int64_t version,
                                inferd_reg_version_t *OUT, inferd_err_t *err);

/* Every version of `model` ascending (none: 0 with *OUT_count 0). Free with
 * inferd_reg_versions_free. */
int inferd_registry_list_versions(inferd_registry_t *r, const char *model,
                                  inferd_reg_version_t **OUT, size_t *OUT_count, inferd_err_t *err);

/* INFERD_ENOTFOUND when the version is not registered. */
int inferd_registry_set_version_status(inferd_registry_t *r, const char *model, int64_t version,
                                       inferd_version_status_t status, const inferd_audit_t *audit,
                                       inferd_err_t *err);

/* Every model ascending by name. Free with inferd_reg_models_free. */
int inferd_registry_list_models(inferd_registry_t *r, inferd_reg_model_t **OUT, size_t *OUT_count,
                                inferd_err_t *err);

/* INFERD_ENOTFOUND when absent. Free with inferd_reg_models_free(OUT, 1) semantics:
 * inferd_reg_model_clear. */
int inferd_registry_get_model(inferd_registry_t *r, const char *name, inferd_reg_model_t *OUT,
                              inferd_err_t *err);

/* Creates the model row when absent, with an "add_model" audit entry (none when it exists). */
int inferd_registry_ensure_model(inferd_registry_t *r, const char *name, inferd_err_t *err);

/* Sets (version > 0) or clears (0) the default version of `model` (created when absent). */
int inferd_registry_set_default(inferd_registry_t *r, const char *model, int64_t version,
                                const inferd_audit_t *audit, inferd_err_t *err);

/* ==== labels ==== */

/* Points `label` of `model` at `version` (created or moved). */
int inferd_registry_set_label(inferd_registry_t *r, const char *model, const char *label,
                              int64_t version, const inferd_audit_t *audit, inferd_err_t *err);

/* INFERD_ENOTFOUND when the label does not exist. */
int inferd_registry_delete_label(inferd_registry_t *r, const char *model, const char *label,
                                 const inferd_audit_t *audit, inferd_err_t *err);

/* Labels of `model` ascending by label (model NULL: every model's). */
int inferd_registry_list_labels(inferd_registry_t *r, const char *model, inferd_reg_label_t **OUT,
                                size_t *OUT_count, inferd_err_t *err);

/* ==== deployments ==== */

/* Records a new active deployment of (model, version), retiring the active one of the same
 * version if any; *OUT_id (may be NULL) gets its id. */
int inferd_registry_add_deployment(inferd_registry_t *r, const char *model, int64_t version,
                                   const char *config_json, const char *created_by,
                                   const inferd_audit_t *audit, int64_t *OUT_id, inferd_err_t *err);

/* Retires the active deployment of (model, version). INFERD_ENOTFOUND when none is active. */
int inferd_registry_retire_deployment(inferd_registry_t *r, const char *model, int64_t version,
                                      const inferd_audit_t *audit, inferd_err_t *err);

/* Deployments of `model` (NULL: all models), newest first; only the active ones when
 * `active_only`. Free with inferd_reg_deployments_free. */
int inferd_registry_list_deployments(inferd_registry_t *r, const char *model, bool active_only,
                                     inferd_reg_deployment_t **OUT, size_t *OUT_count,
                                     inferd_err_t *err);

/* ==== per-model state documents (traffic rules, A/B tests, canaries, shadows) ==== */

/* Stores `json` under (model, key), replacing what was there; json NULL deletes it (deleting
 * an absent document returns 0 and appends no audit entry). */
int inferd_registry_put_state(inferd_registry_t *r, const char *model, const char *key,
                              const char *json, const inferd_audit_t *audit, inferd_err_t *err);

/* INFERD_ENOTFOUND when absent; *OUT_json is malloc'ed (caller frees). */
int inferd_registry_get_state(inferd_registry_t *r, const char *model, const char *key,
                              char **OUT_json, inferd_err_t *err);

/* ==== the audit log ==== */

/* Appends one entry on its own (a failed load, a refused request worth recording); its action
 * is required (INFERD_EINVAL without). */
int inferd_registry_append_audit(inferd_registry_t *r, const inferd_audit_t *audit,
                                 inferd_err_t *err);

/* Entries with id > after_id, oldest first, at most `limit` (0: no limit; model NULL: every
 * model). Free with inferd_audit_entries_free. */
int inferd_registry_list_audit(inferd_registry_t *r, const char *model, int64_t after_id,
                               size_t limit, inferd_audit_entry_t **OUT, size_t *OUT_count,
                               inferd_err_t *err);

/* ==== freeing what the calls return ==== */

void inferd_reg_model_clear(inferd_reg_model_t *m);
void inferd_reg_models_free(inferd_reg_model_t *models, size_t count);
void inferd_reg_version_clear(inferd_reg_version_t *v);
void inferd_reg_versions_free(inferd_reg_version_t *versions, size_t count);
void inferd_reg_deployments_free(inferd_reg_deployment_t *deployments, size_t count);
void inferd_reg_labels_free(inferd_reg_label_t *labels, size_t count);
void inferd_audit_entries_free(inferd_audit_entry_t *entries, size_t count);

#endif
