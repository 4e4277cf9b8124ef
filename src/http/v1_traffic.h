/* What the traffic, A/B and canary handlers share (v1_traffic.c). */
#ifndef INFERD_HTTP_V1_TRAFFIC_H
#define INFERD_HTTP_V1_TRAFFIC_H

#include "call.h"

/* Reads the split object at token `split` ({"3": 90, "4": 10}) into rule's variants; every
 * version must be served and ready. Returns 0 or an error saying what is wrong. */
int v1_read_split(const inferd_json_t *doc, int split, inferd_repo_t *repo, const char *model,
                  inferd_rule_t *rule, inferd_err_t *err);

/* Reads "strategy" and "epsilon" of the body object into `rule`. */
int v1_read_strategy(const inferd_json_t *doc, inferd_arena_t *arena, inferd_rule_t *rule,
                     inferd_err_t *err);

/* Stores `rule`'s split and strategy under registry state `key` of b->model (NULL deletes it),
 * audited as `action`. */
void v1_store_rule(http_blocking_t *b, const char *key, const inferd_rule_t *rule,
                   const char *action, const char *reason);

#endif
