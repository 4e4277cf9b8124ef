/* What the traffic, A/B and canary handlers share (v1_traffic.c). */
#ifndef INFERD_HTTP_V1_TRAFFIC_H
#define INFERD_HTTP_V1_TRAFFIC_H

#include "call.h"

/* Stores `rule`'s split and strategy under registry state `key` of b->model (NULL deletes it),
 * audited as `action`. */
void v1_store_rule(http_blocking_t *b, const char *key, const inferd_rule_t *rule,
                   const char *action, const char *reason);

#endif
