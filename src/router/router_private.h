/* What the router's files share. Not for other modules (they use inferd/router.h). */
#ifndef INFERD_ROUTER_PRIVATE_H
#define INFERD_ROUTER_PRIVATE_H

#include "inferd/router.h"

#define ROUTER_MEMORY_SLOTS 65536 /* recent request ids kept for feedback */
#define ROUTER_MEMORY_WAYS  8     /* per bucket: an id is lost only to 8 newer ids of its bucket */
#define ROUTER_ID_BYTES     64

/* One remembered request: which rule and variant answered it, and what it predicted. */
typedef struct router_memory {
    char request_id[ROUTER_ID_BYTES]; /* "" when empty */
    char model[128];
    uint64_t rule_id;
    int variant;
    int64_t predicted_class; /* -1: not a classifier's answer */
    uint64_t sequence;       /* when it was remembered; the oldest of a bucket goes first */
} router_memory_t;

struct inferd_router {
    inferd_registry_t *registry;
    pthread_mutex_t lock; /* guards rules, n_rules, next_rule_id */
    inferd_rule_t **rules;
    size_t n_rules;
    atomic_size_t n_rules_hint; /* n_rules, readable without the lock */
    uint64_t next_rule_id;
    pthread_mutex_t memory_lock; /* guards memory */
    router_memory_t *memory;     /* buckets of ROUTER_MEMORY_WAYS entries by request id hash */
    uint64_t memory_sequence;
};

/* feedback.c */
void router_remember(inferd_router_t *router, const char *request_id, const inferd_rule_t *rule,
                     int variant, int64_t predicted_class);

/* bandit.c: the variant an epsilon-greedy or Thompson rule sends the next request to. */
int router_bandit_choose(const inferd_rule_t *rule);
/* thompson.c: Thompson sampling's choice. */
int router_thompson_choose(const inferd_rule_t *rule);

#endif
