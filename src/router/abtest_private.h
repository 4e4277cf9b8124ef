/* What the A/B test files share (abtest.c: the tests, their transitions and the API;
 * abtest_doc.c: a test's results and JSON). Not for other modules (they use inferd/abtest.h). */
#ifndef INFERD_ABTEST_PRIVATE_H
#define INFERD_ABTEST_PRIVATE_H

#include <stdint.h>

#include "inferd/abtest.h"

typedef enum { AB_RUNNING, AB_COMPLETED, AB_STOPPED, AB_PROMOTED, AB_ROLLED_BACK } ab_status_t;

extern const char *const ab_status_names[]; /* indexed by ab_status_t */

typedef enum { METRIC_LATENCY, METRIC_REWARD, METRIC_ERROR_RATE } ab_metric_t;

extern const char *const ab_metric_names[]; /* indexed by ab_metric_t */

typedef struct ab_test {
    char *model;
    char *name;
    ab_status_t status;
    int64_t control_version;
    int64_t started_at_ms, ended_at_ms;
    int64_t duration_s;         /* 0: until stopped */
    int64_t min_samples;        /* per variant, before a winner may be named */
    double rollback_error_rate; /* 0: never */
    double alpha;
    ab_metric_t primary;
    char *end_reason;
    char *definition;    /* the request body, as JSON text */
    inferd_rule_t *rule; /* a reference: live statistics while running, final ones after */
    char *results;       /* results JSON when restored from the registry (rule NULL) */
} ab_test_t;

/* abtest_doc.c */

/* Writes `,"status":...,"started_at":...,"ended_at":...` of `t`: the fields its summary in a
 * list and its full document share. */
void ab_write_status(inferd_jsonw_t *w, const ab_test_t *t);

/* Writes `t` as GET shows it (and as the registry stores it): definition, status, rule and
 * results. *OUT_winner: the version its results name the winner, or 0 (always 0 for a test that
 * ended before this server started: its results are the stored text). */
void ab_write_test(inferd_jsonw_t *w, const ab_test_t *t, int64_t *OUT_winner);

#endif
