/* What the repository's files share: the repository itself and the control thread's per-model
 * state. Not for other modules (they use inferd/repo.h). */
#ifndef INFERD_REPO_PRIVATE_H
#define INFERD_REPO_PRIVATE_H

#include <pthread.h>

#include "inferd/repo.h"

/* A version served because someone deployed it (beside what the version policy selects), with
 * its own scheduling settings when given. */
typedef struct repo_pin {
    int64_t version;
    bool has_sched;
    inferd_sched_config_t sched;
    int64_t max_batch_size; /* -1: the model's */
    bool has_fault;
    inferd_fault_config_t fault; /* fault_injection for this version only */
} repo_pin_t;

/* The control thread's knowledge of one model, beyond its files. */
typedef struct repo_model_state {
    char *name;
    bool is_wanted;        /* should serve (explicit mode: loaded through the API) */
    char *config_override; /* JSON text given to the load API, or NULL */
    repo_pin_t *pins;
    size_t n_pins;
    inferd_label_t *labels; /* set through the API; version -1: removed */
    size_t n_labels;
    bool has_default; /* default_version set through the API (0: cleared) */
    int64_t default_version;
    uint64_t disk_fingerprint; /* of config.json and the version folders at the last load */
} repo_model_state_t;

typedef struct repo_task {
    void (*fn)(void *arg);
    void *arg;
    struct repo_task *next;
} repo_task_t;

struct inferd_repo {
    char *dir;
    inferd_control_mode_t mode;
    int poll_secs;
    inferd_registry_t *registry;

    pthread_mutex_t catalog_lock; /* guards `catalog` (the pointer, not its contents) */
    inferd_catalog_t *catalog;

    pthread_mutex_t queue_lock; /* guards the task queue, the reap list and is_closing */
    pthread_cond_t has_work;
    repo_task_t *head, *tail;
    inferd_model_version_t **reap;
    size_t n_reap, cap_reap;
    bool is_closing;
    bool has_thread;
    pthread_t thread;

    /* control thread only */
    repo_model_state_t *states;
    size_t n_states;
};

/* catalog.c */
void repo_publish(inferd_repo_t *repo, inferd_catalog_t *catalog);
void repo_model_release(inferd_model_t *model);
int64_t repo_parse_version(const char *text);

/* What a model folder says now: its config (parsed) and fingerprint, its version folders. */
typedef struct repo_disk_model {
    char dir[4096];
    char *config_text; /* as read (or the override); NULL: none */
    inferd_model_config_t config;
    char *failure; /* config.json unusable: why */
    int64_t *folders;
    size_t n_folders;
    uint64_t fingerprint;
} repo_disk_model_t;

/* repo.c: the control thread's per-model state */
repo_model_state_t *repo_state_for(inferd_repo_t *repo, const char *name);
/* The pin of `version` in `state`, or NULL. */
repo_pin_t *repo_find_pin(repo_model_state_t *state, int64_t version);

/* disk.c: reading the repository's folders (reads only) */
bool repo_is_dir(const char *path);
/* The names in `dir` that are sub-folders (not hidden), sorted (by repo_compare_names); 0 or
 * INFERD_EIO / INFERD_ENOMEM. Caller frees with repo_free_names, also on failure. */
int repo_list_subdirs(const char *dir, char ***OUT_names, size_t *OUT_count);
int repo_compare_names(const void *a, const void *b); /* qsort/bsearch over char * */
void repo_free_names(char **names, size_t count);
/* The numeric version folders of `model_dir`, ascending (caller frees). */
int64_t *repo_list_version_folders(const char *model_dir, size_t *OUT_count);
/* Reads the folder of model `name` (with `override` in place of its config.json when not NULL)
 * into *disk. Returns 0 (an unusable config.json is disk->failure; the caller frees *disk with
 * repo_disk_model_free) or INFERD_ENOTFOUND when there is no such folder. */
int repo_read_disk_model(const inferd_repo_t *repo, const char *name, const char *override,
                         repo_disk_model_t *disk, inferd_err_t *err);
void repo_disk_model_free(repo_disk_model_t *disk);
/* The fingerprint of version `number` as it would load now: the config text, the files of its
 * folder (names, sizes, mtimes) and the settings of its deployment `pin` (may be NULL). */
uint64_t repo_version_fingerprint(const repo_disk_model_t *disk, int64_t number,
                                  const repo_pin_t *pin);

/* build.c: the model that should serve now */
/* Builds the model `name` should serve now from `disk`, the control state (may be NULL) and
 * what serves now (`current`, may be NULL), loading what is new or changed; `managed` are the
 * versions registered through the management API. *OUT_failed counts versions that failed to
 * load or to reload (an old copy whose reload failed is kept); `why` says the last. Returns the
 * new model (one reference), NULL when out of memory. */
inferd_model_t *repo_build_model(const char *name, const repo_disk_model_t *disk,
                                 const repo_model_state_t *state, const inferd_model_t *current,
                                 const int64_t *managed, size_t n_managed, int *OUT_failed,
                                 char *why, size_t why_len);
/* Fills model->labels: config.json's version_labels, then the API's (`state`, may be NULL) on
 * top. Returns 0 or INFERD_ENOMEM. */
int repo_build_labels(inferd_model_t *model, const inferd_model_config_t *config,
                      const repo_model_state_t *state);
/* Version `number` of `model` (which may be NULL), or NULL. No reference is taken. */
inferd_model_version_t *repo_version_in(const inferd_model_t *model, int64_t number);

/* persist.c: the registry's copy of what serves (no-ops without a registry) */
int repo_pin_from_settings(const char *settings_json, int64_t version, repo_pin_t *pin,
                           inferd_err_t *err);
void repo_persist_restore(inferd_repo_t *repo);
/* The versions of `name` registered through the management API (served only while deployed,
 * never chosen by the version policy); malloc'ed, NULL without a registry. */
int64_t *repo_persist_managed_versions(inferd_repo_t *repo, const char *name, size_t *OUT_count);
void repo_persist_sync(inferd_repo_t *repo, const char *name, const inferd_change_t *change);
int repo_persist_deployment(inferd_repo_t *repo, const char *model, int64_t version,
                            const char *settings_json, const inferd_change_t *change,
                            inferd_err_t *err);

/* control.c */
int repo_control_start(inferd_repo_t *repo, inferd_err_t *err);
void repo_control_stop(inferd_repo_t *repo);
void repo_reap_now(inferd_repo_t *repo);

#endif
