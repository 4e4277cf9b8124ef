/* Counters every request updates, and their Prometheus text exposition. Counters are relaxed
 * atomics: cheap on the request path, exact in total. */
#ifndef INFERD_METRICS_H
#define INFERD_METRICS_H

#include "inferd/json.h"
#include "inferd/repo.h"

/* The outcome label a response status stands for. */
inferd_outcome_t inferd_outcome_of_status(int http_status);

/* Counts one HTTP response with `status` (server-wide, whatever the path). */
void inferd_metrics_count_response(int status);

/* Writes every metric in Prometheus text format 0.0.4 to `w`. */
void inferd_metrics_render(inferd_jsonw_t *w, const inferd_repo_t *repo);

#endif
