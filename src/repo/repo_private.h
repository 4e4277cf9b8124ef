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

/* repo.c */
repo_model_state_t *repo_state_for(inferd_repo_t *repo, const char *name);
/* The numeric version folders of `model_dir`, ascending (caller frees). */
int64_t *repo_list_version_folders(const char *model_dir, size_t *OUT_count);

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
