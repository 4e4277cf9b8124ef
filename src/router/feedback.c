/* Feedback: the router remembers the request ids of recent routed requests (a fixed table of
 * buckets, each keeping its 8 newest ids) so that a reward or label posted later reaches the
 * variant that answered, and feeds A/B statistics and bandits. */
#include "router_private.h"

#include <stdio.h>
#include <string.h>

/* The first slot of the bucket `request_id` belongs to. */
static size_t bucket_of(const char *request_id)
{
    uint64_t h = 14695981039346656037u;
    for (const char *p = request_id; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    return (size_t)(h % (ROUTER_MEMORY_SLOTS / ROUTER_MEMORY_WAYS)) * ROUTER_MEMORY_WAYS;
}

void router_remember(inferd_router_t *router, const char *request_id, const inferd_rule_t *rule,
                     int variant, int64_t predicted_class)
{
    if (strlen(request_id) >= ROUTER_ID_BYTES ||
        strlen(rule->model) >= sizeof(((router_memory_t *)0)->model))
        return; /* ids that long are not remembered: feedback for them answers 404 */
    size_t bucket = bucket_of(request_id);
    pthread_mutex_lock(&router->memory_lock);
    router_memory_t *m = &router->memory[bucket]; /* the same id again, a free way, or the oldest */
    for (size_t way = 0; way < ROUTER_MEMORY_WAYS; way++) {
        router_memory_t *candidate = &router->memory[bucket + way];
        if (strcmp(candidate->request_id, request_id) == 0) {
            m = candidate;
            break;
        }
        if (candidate->sequence < m->sequence)
            m = candidate;
    }
    m->sequence = ++router->memory_sequence;
    snprintf(m->request_id, sizeof(m->request_id), "%s", request_id);
    snprintf(m->model, sizeof(m->model), "%s", rule->model);
    m->rule_id = rule->id;
    m->variant = variant;
    m->predicted_class = predicted_class;
    pthread_mutex_unlock(&router->memory_lock);
}

int inferd_router_feedback(inferd_router_t *router, const char *model, const char *request_id,
                           bool has_reward, double reward, bool has_label, int64_t label,
                           inferd_err_t *err)
{
    if (!has_reward && !has_label)
        return inferd_fail(err, INFERD_EINVAL,
                           "feedback needs \"reward\" (a number) or \"label\" (the true class)");
    router_memory_t found = {0};
    size_t bucket = bucket_of(request_id);
    pthread_mutex_lock(&router->memory_lock);
    for (size_t way = 0; way < ROUTER_MEMORY_WAYS; way++) {
        const router_memory_t *m = &router->memory[bucket + way];
        if (strcmp(m->request_id, request_id) == 0 && strcmp(m->model, model) == 0)
            found = *m;
    }
    pthread_mutex_unlock(&router->memory_lock);
    if (found.request_id[0] == '\0')
        return inferd_fail(err, INFERD_ENOTFOUND,
                           "no recent request '%s' of model '%s' was routed by a traffic rule "
                           "(ids are kept for the last %d routed requests)",
                           request_id, model, ROUTER_MEMORY_SLOTS);
    inferd_rule_t *rule = inferd_router_rule(router, model);
    if (rule == NULL || rule->id != found.rule_id) {
        inferd_rule_release(rule);
        return inferd_fail(err, INFERD_ENOTFOUND,
                           "request '%s' was routed by a traffic rule that has since ended",
                           request_id);
    }
    if (has_label && found.predicted_class < 0) {
        inferd_rule_release(rule);
        return inferd_fail(err, INFERD_EINVAL,
                           "request '%s' has no predicted class to compare a label with; send "
                           "\"reward\" instead",
                           request_id);
    }
    if (has_label) {
        reward = found.predicted_class == label ? 1.0 : 0.0;
    }
    inferd_variant_stats_t *stats = &rule->variants[found.variant].stats;
    pthread_mutex_lock(&stats->lock);
    stats->rewards_in_unit_interval =
        (stats->rewards == 0 || stats->rewards_in_unit_interval) && reward >= 0 && reward <= 1;
    stats->rewards++;
    double delta = reward - stats->reward_mean;
    stats->reward_mean += delta / (double)stats->rewards;
    stats->reward_m2 += delta * (reward - stats->reward_mean);
    if (has_label) {
        stats->labels++;
        stats->labels_correct += reward > 0.5;
    }
    pthread_mutex_unlock(&stats->lock);
    inferd_rule_release(rule);
    return 0;
}
