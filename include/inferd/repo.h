/* The model repository on disk: DIR/<model>/[config.json] and DIR/<model>/<version>/<file>.
 * Opening a repository loads every numeric version folder of every model; a model or version
 * that fails is kept, marked unavailable with its reason, and the others serve. */
#ifndef INFERD_REPO_H
#define INFERD_REPO_H

#include "inferd/error.h"
#include "inferd/model.h"

typedef struct inferd_repo {
    char *dir;
    inferd_model_t **models; /* ascending by name */
    size_t n_models;
} inferd_repo_t;

/* Scans `dir` and loads what it finds, logging one line per version loaded or failed.
 * Returns 0 with *OUT_repo set (even when some models failed), or a negative code when `dir`
 * itself cannot be read. Free with inferd_repo_close. */
int inferd_repo_open(const char *dir, inferd_repo_t **OUT_repo, inferd_err_t *err);

/* Releases the repository's references; versions still in use are freed by their last user. */
void inferd_repo_close(inferd_repo_t *repo);

/* The model named `name`, or NULL. */
inferd_model_t *inferd_repo_model(const inferd_repo_t *repo, const char *name);

/* The highest ready version of `model`, or NULL. Borrowed: no reference taken. */
inferd_model_version_t *inferd_model_latest_ready(const inferd_model_t *model);

/* The version of `model` that a request for `version` (NULL or "": the highest ready one)
 * should use, with a reference taken: release it with inferd_version_release.
 * Returns 0, INFERD_ENOTFOUND (no such model or version) or INFERD_EUNAVAIL (not ready), with a
 * message that says why and what exists. */
int inferd_repo_acquire(const inferd_repo_t *repo, const char *model_name, const char *version,
                        inferd_model_version_t **OUT_version, inferd_err_t *err);

/* As inferd_repo_acquire for the version that `label` of `model` points at ("stable"). Returns
 * 0, INFERD_ENOTFOUND (no such model or label; the message lists the labels) or
 * INFERD_EUNAVAIL. */
int inferd_repo_acquire_label(const inferd_repo_t *repo, const char *model_name, const char *label,
                              inferd_model_version_t **OUT_version, inferd_err_t *err);

/* As inferd_repo_acquire but returns the version even when it is not ready (for ready and
 * metadata endpoints, which report the failure). Only INFERD_ENOTFOUND is returned as error. */
int inferd_repo_find_version(const inferd_repo_t *repo, const char *model_name, const char *version,
                             inferd_model_version_t **OUT_version, inferd_err_t *err);

#endif
