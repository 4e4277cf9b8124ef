/* The model repository and what is served from it.
 *
 * On disk: DIR/<model>/[config.json] and DIR/<model>/<version>/<file>. In memory: a catalog,
 * an immutable snapshot of every model with its loaded versions, labels and default version.
 * Request threads read the current catalog; one control thread changes it (loading at start-up,
 * polling the disk, the repository and management APIs) by building a new catalog and swapping
 * it in, so that a request sees one catalog, never a mix. A version leaves the catalog at once
 * but is freed only when its last in-flight request lets go (on the control thread, never on a
 * request thread). */
#ifndef INFERD_REPO_H
#define INFERD_REPO_H

#include <stdatomic.h>
#include <stdbool.h>

#include "inferd/error.h"
#include "inferd/model.h"
#include "inferd/registry.h"

typedef enum {
    INFERD_CONTROL_NONE,     /* load everything at start-up, never change */
    INFERD_CONTROL_POLL,     /* follow the disk every poll interval */
    INFERD_CONTROL_EXPLICIT, /* load and unload only when the APIs say so */
} inferd_control_mode_t;

typedef struct inferd_repo_options {
    const char *dir;
    inferd_control_mode_t mode;
    int poll_secs;                 /* poll mode: seconds between scans (default 15) */
    const char *const *load_names; /* explicit mode: models to load at start-up ("*": all) */
    size_t n_load_names;
    inferd_registry_t *registry; /* NULL: no registry (state does not survive restarts) */
} inferd_repo_options_t;

typedef struct inferd_label {
    char *name;
    int64_t version;
} inferd_label_t;

/* A model as served at one moment. Immutable once in a catalog; shared by catalogs. */
typedef struct inferd_model {
    char *name;
    char *failure;     /* a model-wide failure (bad config.json, no versions), or NULL */
    char *config_text; /* config.json as read (or as overridden), NULL when there is none */
    inferd_model_config_t config;
    inferd_model_version_t **versions; /* ascending by number; each holds a reference */
    size_t n_versions;
    inferd_label_t *labels; /* ascending by name */
    size_t n_labels;
    int64_t default_version; /* 0: the highest ready version answers */
    atomic_int refs;
} inferd_model_t;

/* Every model served at one moment, ascending by name. Immutable. */
typedef struct inferd_catalog {
    inferd_model_t **models;
    size_t n_models;
    uint64_t generation; /* increases with every change */
    atomic_int refs;
} inferd_catalog_t;

typedef struct inferd_repo inferd_repo_t;

/* Opens the repository and loads what `options` says should serve at start-up (logging one line
 * per version loaded or failed), then starts the control thread. Returns 0 with *OUT_repo set
 * (even when some models failed), or a negative code when the directory cannot be read. */
int inferd_repo_open(const inferd_repo_options_t *options, inferd_repo_t **OUT_repo,
                     inferd_err_t *err);

/* Stops the control thread and releases the catalog; versions still in use are freed by their
 * last user. */
void inferd_repo_close(inferd_repo_t *repo);

const char *inferd_repo_dir(const inferd_repo_t *repo);
inferd_control_mode_t inferd_repo_mode(const inferd_repo_t *repo);
inferd_registry_t *inferd_repo_registry(const inferd_repo_t *repo);

/* ==== reading what is served (any thread) ==== */

/* The current catalog with a reference taken; release it with inferd_catalog_release. */
inferd_catalog_t *inferd_repo_snapshot(const inferd_repo_t *repo);
void inferd_catalog_release(inferd_catalog_t *catalog);

/* The model named `name` in `catalog`, or NULL. Borrowed from the catalog. */
inferd_model_t *inferd_catalog_model(const inferd_catalog_t *catalog, const char *name);

/* The version a request without a version goes to: the default version when it is ready,
 * else the highest ready one; NULL when none is ready. Borrowed. */
inferd_model_version_t *inferd_model_serving_version(const inferd_model_t *model);

/* The version `label` points at, or -1. */
int64_t inferd_model_label_version(const inferd_model_t *model, const char *label);

/* The version of `model_name` that a request for `version` should use, with a reference taken:
 * release it with inferd_version_release. `version` NULL or "": the serving version; digits:
 * that version; anything else: a label. Returns 0, INFERD_ENOTFOUND (no such model, version or
 * label) or INFERD_EUNAVAIL (not ready), with a message that says why and what exists. */
int inferd_repo_acquire(const inferd_repo_t *repo, const char *model_name, const char *version,
                        inferd_model_version_t **OUT_version, inferd_err_t *err);

/* As inferd_repo_acquire for the version that `label` of `model` points at ("stable"). */
int inferd_repo_acquire_label(const inferd_repo_t *repo, const char *model_name, const char *label,
                              inferd_model_version_t **OUT_version, inferd_err_t *err);

/* As inferd_repo_acquire but returns the version even when it is not ready (for ready and
 * metadata endpoints, which report the failure). Only INFERD_ENOTFOUND is returned as error. */
int inferd_repo_find_version(const inferd_repo_t *repo, const char *model_name, const char *version,
                             inferd_model_version_t **OUT_version, inferd_err_t *err);

/* ==== changing what is served (the control thread) ==== */

/* Runs fn(arg) on the control thread, after the work queued before it. Every change to the
 * catalog and the registry happens there, one at a time. Returns 0, or INFERD_EUNAVAIL when
 * the repository is closing (fn is then never called). */
int inferd_repo_run(inferd_repo_t *repo, void (*fn)(void *arg), void *arg);

/* Waits until the control thread has run everything queued before this call. Returns 0, or
 * INFERD_EUNAVAIL when the repository is closing. Not from the control thread itself. */
int inferd_repo_sync(inferd_repo_t *repo);

/* Who asked for a change and why, for the log and the audit trail. */
typedef struct inferd_change {
    const char *actor;  /* "api", "poller", "startup", a user */
    const char *reason; /* may be NULL */
} inferd_change_t;

/* Control thread only. (Re)loads model `name` from disk: config.json (or `config_override`, JSON
 * text, when not NULL), the versions its policy and its deployments select. New or changed
 * versions are loaded and warmed before they serve; versions that stay are kept as they are; a
 * version that fails to reload keeps its old copy serving. Returns 0 when the model serves
 * something afterwards, else a negative code with the reason. */
int inferd_repo_load_model(inferd_repo_t *repo, const char *name, const char *config_override,
                           const inferd_change_t *change, inferd_err_t *err);

/* Control thread only. Stops serving `name` (every version). INFERD_ENOTFOUND when it is not
 * loaded. */
int inferd_repo_unload_model(inferd_repo_t *repo, const char *name, const inferd_change_t *change,
                             inferd_err_t *err);

/* Control thread only. Rescans the whole repository as poll mode does. */
void inferd_repo_poll(inferd_repo_t *repo);

/* Control thread only. Serves `version` of `model` beside the versions already served (loading
 * it, or reloading it when `settings_json` changes its scheduling), and records the deployment.
 * `settings_json` (may be NULL): {"instance_count", "max_batch_size", "dynamic_batching"} plus
 * anything else to store (replicas, resources). Returns 0, INFERD_ENOTFOUND (no such version
 * folder), INFERD_EINVAL (bad settings) or INFERD_EMODEL (it did not load; nothing changed). */
int inferd_repo_deploy_version(inferd_repo_t *repo, const char *model, int64_t version,
                               const char *settings_json, const inferd_change_t *change,
                               inferd_err_t *err);

/* Control thread only. Stops serving one version of `model`. */
int inferd_repo_undeploy_version(inferd_repo_t *repo, const char *model, int64_t version,
                                 const inferd_change_t *change, inferd_err_t *err);

/* Control thread only. Sets (version > 0) or clears (0) the default version of `model`. The
 * version must be loaded and ready. */
int inferd_repo_set_default(inferd_repo_t *repo, const char *model, int64_t version,
                            const inferd_change_t *change, inferd_err_t *err);

/* Control thread only. Points `label` at `version` (-1: removes the label). */
int inferd_repo_set_label(inferd_repo_t *repo, const char *model, const char *label,
                          int64_t version, const inferd_change_t *change, inferd_err_t *err);

/* What POST /v1/models registers: a version of `model` from the file `artifact` (a path or a
 * file:// URI). Borrowed strings; NULL where optional. */
typedef struct inferd_register {
    const char *model;
    int64_t version; /* 0: the next free number */
    const char *artifact;
    const char *framework;     /* NULL: from the file's extension */
    const char *metadata_json; /* NULL: {} */
    const char *tags_json;     /* NULL: [] */
} inferd_register_t;

/* Control thread only. Copies the artifact into DIR/<model>/<version>/ (hashing it), proves it
 * by loading it with the model's config.json, and records it in the registry as a draft. *OUT
 * gets the record (free with inferd_reg_version_clear). Returns 0, INFERD_EINVAL (bad name),
 * INFERD_ECONFLICT (the version exists), INFERD_EMODEL (the artifact does not load; nothing
 * changed) or INFERD_EIO. It does not make the version serve (deploy does; poll mode's poller
 * will, as for any new folder). */
int inferd_repo_register_version(inferd_repo_t *repo, const inferd_register_t *reg,
                                 const inferd_change_t *change, inferd_reg_version_t *OUT,
                                 inferd_err_t *err);

/* Control thread only. Deletes a version that does not serve: its folder goes, its registry
 * row stays as archived. INFERD_ECONFLICT while it is served, INFERD_ENOTFOUND when unknown. */
int inferd_repo_delete_version(inferd_repo_t *repo, const char *model, int64_t version,
                               const inferd_change_t *change, inferd_err_t *err);

/* Control thread only. Makes `to_version` the default version of `model` at once (deploying it
 * first when it is not served), audited with change->reason; *OUT_previous gets the version
 * that answered before. */
int inferd_repo_rollback(inferd_repo_t *repo, const char *model, int64_t to_version,
                         const inferd_change_t *change, int64_t *OUT_previous, inferd_err_t *err);

/* Whether `name` may name a model folder: 1-128 of [A-Za-z0-9_.-], not starting with '.'. */
bool inferd_model_name_is_valid(const char *name);

/* Control thread only. A version number's folder state on disk: whether DIR/<m>/<v> exists. */
bool inferd_repo_version_on_disk(const inferd_repo_t *repo, const char *model, int64_t version);

#endif
