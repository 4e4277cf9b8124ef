/* A canary as JSON: reading the definition a client POSTs (version, stages, success criteria),
 * writing a canary as GET /v1/models/{m}/canary shows it (the same text is the registry's
 * state document "canary" of the model), and reading that document back after a restart.
 * Not for deciding anything: the controller (canary.c) does that. */
#include "canary_private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const canary_status_names[CANARY_STATUS_COUNT] = {"running", "promoted", "rolled_back",
                                                              "aborted"};

#define DEFAULT_ERROR_RATE_MAX 0.01
#define DEFAULT_MIN_REQUESTS   100
#define MAX_STAGE_SECONDS      (7 * 86400.0)

void canary_stage_name(size_t stage, char *out, size_t size)
{
    snprintf(out, size, "stage %zu", stage + 1);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

int canary_add_event(canary_run_t *run, int64_t at_ms, const char *from, const char *to,
                     const char *reason)
{
    canary_event_t *grown = realloc(run->history, (run->n_history + 1) * sizeof(*grown));
    if (grown == NULL)
        return INFERD_ENOMEM;
    run->history = grown;
    canary_event_t *e = &grown[run->n_history];
    *e = (canary_event_t){at_ms, strdup(from), strdup(to), dup_or_null(reason)};
    if (e->from == NULL || e->to == NULL || (reason != NULL && e->reason == NULL)) {
        free(e->from);
        free(e->to);
        free(e->reason);
        return INFERD_ENOMEM;
    }
    run->n_history++;
    return 0;
}

void canary_run_free(canary_run_t *run)
{
    if (run == NULL)
        return;
    for (size_t i = 0; i < run->n_history; i++) {
        free(run->history[i].from);
        free(run->history[i].to);
        free(run->history[i].reason);
    }
    free(run->history);
    inferd_rule_release(run->rule);
    free(run->rule_json);
    free(run->actor);
    free(run->reason);
    free(run->end_reason);
    free(run);
}

/* ==== reading a definition ==== */

static int read_stages(const inferd_json_t *doc, int stages, canary_run_t *run, inferd_err_t *err)
{
    if (stages < 0 || inferd_json_kind(doc, stages) != INFERD_JSON_ARRAY ||
        inferd_json_size(doc, stages) == 0)
        return inferd_fail(err, INFERD_EINVAL,
                           "give the stages as [{\"percent\": 10, \"duration_seconds\": 300}, "
                           "...]: at least one");
    int n = inferd_json_size(doc, stages);
    if (n > INFERD_CANARY_MAX_STAGES)
        return inferd_fail(err, INFERD_EINVAL, "a canary has at most %d stages",
                           INFERD_CANARY_MAX_STAGES);
    for (int i = 0, tok = stages + 1; i < n; i++, tok = inferd_json_next(doc, tok)) {
        int percent = inferd_json_get(doc, tok, "percent");
        int duration = inferd_json_get(doc, tok, "duration_seconds");
        canary_stage_t *stage = &run->stages[i];
        if (inferd_json_kind(doc, tok) != INFERD_JSON_OBJECT || percent < 0 ||
            inferd_json_double(doc, percent, &stage->percent) != 0 || !(stage->percent > 0) ||
            stage->percent > 100)
            return inferd_fail(err, INFERD_EINVAL,
                               "stages[%d].percent must be a number above 0 and at most 100", i);
        if (duration < 0 || inferd_json_double(doc, duration, &stage->duration_seconds) != 0 ||
            !(stage->duration_seconds > 0) || stage->duration_seconds > MAX_STAGE_SECONDS)
            return inferd_fail(err, INFERD_EINVAL,
                               "stages[%d].duration_seconds must be a number of seconds above 0 "
                               "and at most %.0f (a week)",
                               i, MAX_STAGE_SECONDS);
    }
    run->n_stages = (size_t)n;
    return 0;
}

static int read_criteria(const inferd_json_t *doc, int obj, inferd_canary_criteria_t *criteria,
                         inferd_err_t *err)
{
    *criteria = (inferd_canary_criteria_t){DEFAULT_ERROR_RATE_MAX, 0, DEFAULT_MIN_REQUESTS};
    if (obj < 0)
        return 0;
    if (inferd_json_kind(doc, obj) != INFERD_JSON_OBJECT)
        return inferd_fail(err, INFERD_EINVAL,
                           "success_criteria must be an object: {\"error_rate_max\", "
                           "\"latency_p95_max_ms\", \"min_requests\"}");
    int tok = inferd_json_get(doc, obj, "error_rate_max");
    if (tok >= 0 && (inferd_json_double(doc, tok, &criteria->error_rate_max) != 0 ||
                     !(criteria->error_rate_max >= 0) || criteria->error_rate_max > 1))
        return inferd_fail(err, INFERD_EINVAL,
                           "success_criteria.error_rate_max must be a rate from 0 to 1");
    tok = inferd_json_get(doc, obj, "latency_p95_max_ms");
    if (tok >= 0 && inferd_json_kind(doc, tok) != INFERD_JSON_NULL &&
        (inferd_json_double(doc, tok, &criteria->latency_p95_max_ms) != 0 ||
         !(criteria->latency_p95_max_ms > 0) || criteria->latency_p95_max_ms > 3600e3))
        return inferd_fail(err, INFERD_EINVAL,
                           "success_criteria.latency_p95_max_ms must be a number of milliseconds "
                           "above 0 (or null for no latency criterion)");
    tok = inferd_json_get(doc, obj, "min_requests");
    if (tok >= 0 && (inferd_json_uint64(doc, tok, &criteria->min_requests) != 0 ||
                     criteria->min_requests < 1 || criteria->min_requests > 1000000000))
        return inferd_fail(err, INFERD_EINVAL,
                           "success_criteria.min_requests must be a whole number from 1");
    return 0;
}

int canary_read_definition(const char *body, size_t body_len, canary_run_t *run, inferd_err_t *err)
{
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 1u << 20);
    inferd_json_t doc;
    int rc = inferd_json_parse(&doc, body, body_len, &arena, err);
    if (rc == 0 && inferd_json_kind(&doc, 0) != INFERD_JSON_OBJECT)
        rc = inferd_fail(err, INFERD_EINVAL, "the request body must be a JSON object");
    int version = rc == 0 ? inferd_json_get(&doc, 0, "version") : -1;
    if (rc == 0 &&
        (version < 0 || inferd_json_int64(&doc, version, &run->version) != 0 || run->version < 1))
        rc = inferd_fail(err, INFERD_EINVAL,
                         "start a canary with {\"version\": N, \"stages\": [{\"percent\", "
                         "\"duration_seconds\"}...], \"success_criteria\": {...}}: version "
                         "must be a version number");
    if (rc == 0)
        rc = read_stages(&doc, inferd_json_get(&doc, 0, "stages"), run, err);
    if (rc == 0)
        rc = read_criteria(&doc, inferd_json_get(&doc, 0, "success_criteria"), &run->criteria, err);
    int reason = rc == 0 ? inferd_json_get(&doc, 0, "reason") : -1;
    char *text = NULL;
    if (reason >= 0 && inferd_json_kind(&doc, reason) != INFERD_JSON_NULL &&
        inferd_json_string(&doc, reason, &arena, &text, NULL) != 0)
        rc = inferd_fail(err, INFERD_EINVAL, "reason must be a string");
    if (rc == 0 && text != NULL && (run->reason = strdup(text)) == NULL)
        rc = inferd_fail(err, INFERD_ENOMEM, "out of memory");
    inferd_arena_free(&arena);
    return rc;
}

/* ==== writing ==== */

/* `"name":"<ISO time>","name_ms":<ms>` */
static void write_instant(inferd_jsonw_t *w, const char *name, int64_t ms)
{
    inferd_jsonw_lit(w, ",\"");
    inferd_jsonw_lit(w, name);
    inferd_jsonw_lit(w, "\":");
    inferd_jsonw_time_ms(w, ms);
    inferd_jsonw_lit(w, ",\"");
    inferd_jsonw_lit(w, name);
    inferd_jsonw_lit(w, "_ms\":");
    inferd_jsonw_int(w, ms);
}

static void write_string_or_null(inferd_jsonw_t *w, const char *s)
{
    if (s != NULL)
        inferd_jsonw_cstr(w, s);
    else
        inferd_jsonw_lit(w, "null");
}

void canary_write(inferd_jsonw_t *w, const char *model, const canary_run_t *run)
{
    bool is_running = run->status == CANARY_RUNNING;
    inferd_jsonw_lit(w, "{\"model\":");
    inferd_jsonw_cstr(w, model);
    inferd_jsonw_lit(w, ",\"version\":");
    inferd_jsonw_int(w, run->version);
    inferd_jsonw_lit(w, ",\"baseline_version\":");
    inferd_jsonw_int(w, run->baseline_version);
    inferd_jsonw_lit(w, ",\"status\":");
    inferd_jsonw_cstr(w, canary_status_names[run->status]);
    inferd_jsonw_lit(w, ",\"stage\":");
    inferd_jsonw_uint(w, run->stage);
    inferd_jsonw_lit(w, ",\"percent\":");
    inferd_jsonw_f64(w, is_running ? run->stages[run->stage].percent : 0);
    inferd_jsonw_lit(w, ",\"stages\":[");
    for (size_t i = 0; i < run->n_stages; i++) {
        inferd_jsonw_lit(w, i ? ",{\"percent\":" : "{\"percent\":");
        inferd_jsonw_f64(w, run->stages[i].percent);
        inferd_jsonw_lit(w, ",\"duration_seconds\":");
        inferd_jsonw_f64(w, run->stages[i].duration_seconds);
        inferd_jsonw_lit(w, "}");
    }
    inferd_jsonw_lit(w, "],\"success_criteria\":{\"error_rate_max\":");
    inferd_jsonw_f64(w, run->criteria.error_rate_max);
    inferd_jsonw_lit(w, ",\"latency_p95_max_ms\":");
    if (run->criteria.latency_p95_max_ms > 0)
        inferd_jsonw_f64(w, run->criteria.latency_p95_max_ms);
    else
        inferd_jsonw_lit(w, "null");
    inferd_jsonw_lit(w, ",\"min_requests\":");
    inferd_jsonw_uint(w, run->criteria.min_requests);
    inferd_jsonw_lit(w, "}");
    write_instant(w, "started_at", run->started_at_ms);
    write_instant(w, "stage_started_at", run->stage_started_at_ms);
    write_instant(w, "ended_at", run->ended_at_ms);
    inferd_jsonw_lit(w, ",\"actor\":");
    write_string_or_null(w, run->actor);
    inferd_jsonw_lit(w, ",\"reason\":");
    write_string_or_null(w, run->reason);
    inferd_jsonw_lit(w, ",\"end_reason\":");
    write_string_or_null(w, run->end_reason);
    inferd_jsonw_lit(w, ",\"rule\":");
    if (run->rule != NULL)
        inferd_rule_write_json(w, run->rule);
    else
        inferd_jsonw_lit(w, run->rule_json != NULL ? run->rule_json : "null");
    inferd_jsonw_lit(w, ",\"history\":[");
    for (size_t i = 0; i < run->n_history; i++) {
        const canary_event_t *e = &run->history[i];
        inferd_jsonw_lit(w, i ? ",{\"at\":" : "{\"at\":");
        inferd_jsonw_time_ms(w, e->at_ms);
        inferd_jsonw_lit(w, ",\"at_ms\":");
        inferd_jsonw_int(w, e->at_ms);
        inferd_jsonw_lit(w, ",\"from\":");
        inferd_jsonw_cstr(w, e->from);
        inferd_jsonw_lit(w, ",\"to\":");
        inferd_jsonw_cstr(w, e->to);
        inferd_jsonw_lit(w, ",\"reason\":");
        write_string_or_null(w, e->reason);
        inferd_jsonw_lit(w, "}");
    }
    inferd_jsonw_lit(w, "]}");
}

/* ==== reading a stored canary back ==== */

/* A malloc'ed copy of string member `key` of object `obj`, or NULL (absent, null, not text). */
static char *stored_string(const inferd_json_t *doc, int obj, const char *key,
                           inferd_arena_t *arena)
{
    int tok = inferd_json_get(doc, obj, key);
    char *text;
    if (tok < 0 || inferd_json_kind(doc, tok) != INFERD_JSON_STRING ||
        inferd_json_string(doc, tok, arena, &text, NULL) != 0)
        return NULL;
    return strdup(text);
}

static int64_t stored_int(const inferd_json_t *doc, int obj, const char *key)
{
    int64_t value = 0;
    int tok = inferd_json_get(doc, obj, key);
    if (tok >= 0)
        inferd_json_int64(doc, tok, &value);
    return value;
}

static int read_history(const inferd_json_t *doc, canary_run_t *run, inferd_arena_t *arena)
{
    int history = inferd_json_get(doc, 0, "history");
    int n = history >= 0 && inferd_json_kind(doc, history) == INFERD_JSON_ARRAY
                ? inferd_json_size(doc, history)
                : 0;
    for (int i = 0, tok = history + 1; i < n; i++, tok = inferd_json_next(doc, tok)) {
        char *from = stored_string(doc, tok, "from", arena);
        char *to = stored_string(doc, tok, "to", arena);
        char *reason = stored_string(doc, tok, "reason", arena);
        int rc = from != NULL && to != NULL
                     ? canary_add_event(run, stored_int(doc, tok, "at_ms"), from, to, reason)
                     : 0;
        free(from);
        free(to);
        free(reason);
        if (rc != 0)
            return rc;
    }
    return 0;
}

canary_run_t *canary_from_stored(const char *json)
{
    canary_run_t *run = calloc(1, sizeof(*run));
    if (run == NULL)
        return NULL;
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 4u << 20);
    inferd_json_t doc;
    inferd_err_t err;
    size_t len = strlen(json);
    int rc = inferd_json_parse(&doc, json, len, &arena, &err);
    if (rc == 0 && inferd_json_kind(&doc, 0) != INFERD_JSON_OBJECT)
        rc = INFERD_EINVAL;
    /* The stored text is a definition too (version, stages, success_criteria, reason). */
    if (rc == 0)
        rc = canary_read_definition(json, len, run, &err);
    char *status = rc == 0 ? stored_string(&doc, 0, "status", &arena) : NULL;
    run->status = CANARY_STATUS_COUNT;
    for (int s = 0; status != NULL && s < CANARY_STATUS_COUNT; s++)
        if (strcmp(status, canary_status_names[s]) == 0)
            run->status = (canary_status_t)s;
    free(status);
    if (rc == 0 && run->status == CANARY_STATUS_COUNT)
        rc = INFERD_EINVAL;
    if (rc == 0) {
        run->baseline_version = stored_int(&doc, 0, "baseline_version");
        int64_t stage = stored_int(&doc, 0, "stage");
        run->stage = stage >= 0 && (size_t)stage < run->n_stages ? (size_t)stage : 0;
        run->started_at_ms = stored_int(&doc, 0, "started_at_ms");
        run->stage_started_at_ms = stored_int(&doc, 0, "stage_started_at_ms");
        run->ended_at_ms = stored_int(&doc, 0, "ended_at_ms");
        run->actor = stored_string(&doc, 0, "actor", &arena);
        run->end_reason = stored_string(&doc, 0, "end_reason", &arena);
        rc = read_history(&doc, run, &arena);
    }
    int rule = rc == 0 ? inferd_json_get(&doc, 0, "rule") : -1;
    if (rule >= 0 && inferd_json_kind(&doc, rule) == INFERD_JSON_OBJECT) {
        size_t rule_len;
        const char *raw = inferd_json_raw(&doc, rule, &rule_len);
        run->rule_json = strndup(raw, rule_len);
    }
    inferd_arena_free(&arena);
    if (rc != 0) {
        canary_run_free(run);
        return NULL;
    }
    return run;
}
