/* Shadow traffic: a share of a model's live requests is copied, after the caller has its
 * answer, to another version of the model (the shadow), run there off the request path by a
 * worker thread, and compared with what the caller got. The caller never waits for the shadow
 * and never sees it; a failing or slow shadow only shows in its statistics. The queue to the
 * worker is bounded: when it is full a copy is dropped (and counted), never the request. */
#ifndef INFERD_MIRROR_H
#define INFERD_MIRROR_H

#include "inferd/infer.h"
#include "inferd/json.h"
#include "inferd/repo.h"
#include "inferd/router.h"

typedef struct inferd_mirror inferd_mirror_t;

/* Starts the worker. `router` (may be NULL) tells which versions the model's traffic rule sends
 * requests to. Returns 0 or INFERD_ENOMEM/INFERD_EINTERNAL. */
int inferd_mirror_start(inferd_repo_t *repo, inferd_router_t *router, inferd_mirror_t **OUT_mirror);

/* Stops the worker (copies still queued are dropped) and frees everything. */
void inferd_mirror_stop(inferd_mirror_t *mirror);

/* Request threads, after a successful answer from `answered_version` of `model`: copies the
 * request's inputs and the answer's outputs for the shadow when the model has one, the draw
 * falls within its percent, and the shadow is another version. Never blocks on the worker. */
void inferd_mirror_offer(inferd_mirror_t *mirror, const char *model, int64_t answered_version,
                         const inferd_request_t *req, const inferd_response_t *resp);

/* Control thread. Mirrors `percent` (0..100) of `model`'s requests to `version`, which must be
 * served and ready (INFERD_ENOTFOUND, INFERD_EUNAVAIL) and must not answer every request itself
 * (the serving version with no traffic rule sending requests elsewhere: INFERD_ECONFLICT);
 * statistics restart when the version changes. Stored in the registry as the model's "shadow"
 * document, audited as set_shadow by `actor`. */
int inferd_mirror_set(inferd_mirror_t *mirror, const char *model, int64_t version, double percent,
                      const char *actor, inferd_err_t *err);

/* Control thread. Stops mirroring `model` (INFERD_ENOTFOUND when it has no shadow). */
int inferd_mirror_clear(inferd_mirror_t *mirror, const char *model, const char *actor,
                        inferd_err_t *err);

/* GET /v1/models/{m}/shadow: the setting and what the shadow did. */
int inferd_mirror_describe(inferd_mirror_t *mirror, const char *model, inferd_jsonw_t *w,
                           inferd_err_t *err);

/* Start-up: the shadows stored in the registry for the models that serve (a version that no
 * longer serves is left out with a warning). Writes nothing back to the registry. */
void inferd_mirror_restore(inferd_mirror_t *mirror);

/* The inferd_shadow_* Prometheus series. */
void inferd_mirror_render_metrics(inferd_mirror_t *mirror, inferd_jsonw_t *w);

#endif
