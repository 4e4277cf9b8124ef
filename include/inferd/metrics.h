/* Counters every request updates, and their Prometheus text exposition. Counters are relaxed
 * atomics: cheap on the request path, exact in total. */
#ifndef INFERD_METRICS_H
#define INFERD_METRICS_H

#include "inferd/json.h"
#include "inferd/repo.h"

/* The outcome label a response status stands for. */
inferd_outcome_t inferd_outcome_of_status(int http_status);

/* Records one request that reached version `v`: its outcome, its time from decoding to the
 * answer, and how long it waited in a queue (0 when it ran inline). */
void inferd_stats_record_request(inferd_model_version_t *v, inferd_outcome_t outcome,
                                 uint64_t request_ns, uint64_t queue_ns);

/* Records one backend execution of `rows` rows that took `compute_ns`. */
void inferd_stats_record_execution(inferd_model_version_t *v, int64_t rows, uint64_t compute_ns);

/* Sizes the per-batch-size counters for batches up to `max_rows`. Returns 0 or INFERD_ENOMEM. */
int inferd_stats_init(inferd_version_stats_t *stats, int64_t max_rows);
void inferd_stats_free(inferd_version_stats_t *stats);

/* Counts one HTTP response with `status` (server-wide, whatever the path). */
void inferd_metrics_count_response(int status);

/* Client connections: one opened (+1) or closed (-1); the limit they are held to; a loop thread
 * stopping accepting because it holds its share of that limit. */
void inferd_metrics_add_connections(int delta);
void inferd_metrics_set_connection_limit(int limit);
void inferd_metrics_count_accept_pause(void);

/* Writes every metric in Prometheus text format 0.0.4 to `w`. */
void inferd_metrics_render(inferd_jsonw_t *w, const inferd_catalog_t *repo);

/* Writes Triton's statistics JSON ({"model_stats": [...]}) for the versions of `repo` that match
 * `model` (NULL: all) and `version` (NULL: all of the model's). */
void inferd_stats_render(inferd_jsonw_t *w, const inferd_catalog_t *repo, const char *model,
                         const char *version);

#endif
