/* The contract between the registry's public functions (registry.c) and its stores (sqlite.c,
 * later postgres.c): a table of function pointers, one per call. registry.c validates every
 * argument and fills in the audit entry before dispatching, so a store may rely on: names
 * non-empty, versions in range, `audit` non-NULL with every string non-NULL, OUT pointers
 * non-NULL. A store embeds `struct inferd_registry` as its first member. */
#ifndef INFERD_REGISTRY_STORE_H
#define INFERD_REGISTRY_STORE_H

#include "inferd/registry.h"

struct inferd_registry_ops {
    const char *name; /* "sqlite", "postgres" */
    void (*close)(inferd_registry_t *r);

    int (*add_version)(inferd_registry_t *r, const inferd_reg_version_t *v,
                       const inferd_audit_t *audit, inferd_err_t *err);
    int (*get_version)(inferd_registry_t *r, const char *model, int64_t version,
                       inferd_reg_version_t *OUT, inferd_err_t *err);
    int (*list_versions)(inferd_registry_t *r, const char *model, inferd_reg_version_t **OUT,
                         size_t *OUT_count, inferd_err_t *err);
    int (*set_version_status)(inferd_registry_t *r, const char *model, int64_t version,
                              inferd_version_status_t status, const inferd_audit_t *audit,
                              inferd_err_t *err);
    int (*list_models)(inferd_registry_t *r, inferd_reg_model_t **OUT, size_t *OUT_count,
                       inferd_err_t *err);
    int (*get_model)(inferd_registry_t *r, const char *name, inferd_reg_model_t *OUT,
                     inferd_err_t *err);
    int (*ensure_model)(inferd_registry_t *r, const char *name, const inferd_audit_t *audit,
                        inferd_err_t *err);
    int (*set_default)(inferd_registry_t *r, const char *model, int64_t version,
                       const inferd_audit_t *audit, inferd_err_t *err);

    int (*set_label)(inferd_registry_t *r, const char *model, const char *label, int64_t version,
                     const inferd_audit_t *audit, inferd_err_t *err);
    int (*delete_label)(inferd_registry_t *r, const char *model, const char *label,
                        const inferd_audit_t *audit, inferd_err_t *err);
    int (*list_labels)(inferd_registry_t *r, const char *model, inferd_reg_label_t **OUT,
                       size_t *OUT_count, inferd_err_t *err);

    int (*add_deployment)(inferd_registry_t *r, const char *model, int64_t version,
                          const char *config_json, const char *created_by,
                          const inferd_audit_t *audit, int64_t *OUT_id, inferd_err_t *err);
    int (*retire_deployment)(inferd_registry_t *r, const char *model, int64_t version,
                             const inferd_audit_t *audit, inferd_err_t *err);
    int (*list_deployments)(inferd_registry_t *r, const char *model, bool active_only,
                            inferd_reg_deployment_t **OUT, size_t *OUT_count, inferd_err_t *err);

    /* json NULL: delete (0 and no audit entry when there was nothing to delete). */
    int (*put_state)(inferd_registry_t *r, const char *model, const char *key, const char *json,
                     const inferd_audit_t *audit, inferd_err_t *err);
    int (*get_state)(inferd_registry_t *r, const char *model, const char *key, char **OUT_json,
                     inferd_err_t *err);

    int (*append_audit)(inferd_registry_t *r, const inferd_audit_t *audit, inferd_err_t *err);
    /* limit 0 reaches the store as SIZE_MAX. */
    int (*list_audit)(inferd_registry_t *r, const char *model, int64_t after_id, size_t limit,
                      inferd_audit_entry_t **OUT, size_t *OUT_count, inferd_err_t *err);
};

struct inferd_registry {
    const struct inferd_registry_ops *ops;
};

/* Opens (creating or migrating) the SQLite registry at `path`. */
int registry_sqlite_open(const char *path, inferd_registry_t **OUT_registry, inferd_err_t *err);

#endif
