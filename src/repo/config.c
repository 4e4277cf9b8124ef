/* config.json of a model folder: Triton's field names (name, backend or platform, max_batch_size,
 * input/output with name, data_type, dims). Fields inferd does not know yet are ignored so that a
 * Triton config loads; known fields of the wrong type are refused with the reason. */
#include "inferd/json.h"
#include "inferd/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const inferd_json_t *doc;
    inferd_arena_t *arena;
    inferd_err_t *err;
} config_reader_t;

static int read_string(config_reader_t *r, int tok, const char *field, char **OUT)
{
    char *text;
    if (inferd_json_kind(r->doc, tok) != INFERD_JSON_STRING ||
        inferd_json_string(r->doc, tok, r->arena, &text, NULL) != 0)
        return inferd_fail(r->err, INFERD_EINVAL, "config.json: \"%s\" must be a string", field);
    *OUT = strdup(text);
    return *OUT == NULL ? INFERD_ENOMEM : 0;
}

/* "TYPE_FP32" (Triton) or "FP32" (KServe V2). */
static inferd_dtype_t parse_data_type(const char *text)
{
    if (strncmp(text, "TYPE_", 5) == 0)
        text += 5;
    if (strcmp(text, "STRING") == 0)
        return INFERD_DT_BYTES;
    return inferd_dtype_from_name(text, strlen(text));
}

static int read_specs(config_reader_t *r, int tok, const char *field, inferd_io_spec_t **OUT,
                      size_t *OUT_count)
{
    if (inferd_json_kind(r->doc, tok) != INFERD_JSON_ARRAY)
        return inferd_fail(r->err, INFERD_EINVAL, "config.json: \"%s\" must be a list", field);
    size_t count = (size_t)inferd_json_size(r->doc, tok);
    inferd_io_spec_t *specs = calloc(count ? count : 1, sizeof(*specs));
    if (specs == NULL)
        return INFERD_ENOMEM;
    *OUT = specs;
    *OUT_count = 0;
    int item = tok + 1;
    for (size_t i = 0; i < count; i++, item = inferd_json_next(r->doc, item)) {
        inferd_io_spec_t *spec = &specs[i];
        spec->ndim = -1; /* dims not given */
        (*OUT_count)++;
        if (inferd_json_kind(r->doc, item) != INFERD_JSON_OBJECT)
            return inferd_fail(r->err, INFERD_EINVAL,
                               "config.json: each \"%s\" entry must be an object", field);
        int name = inferd_json_get(r->doc, item, "name");
        if (name < 0)
            return inferd_fail(r->err, INFERD_EINVAL, "config.json: a \"%s\" entry has no name",
                               field);
        int rc = read_string(r, name, "name", &spec->name);
        if (rc != 0)
            return rc;
        int type = inferd_json_get(r->doc, item, "data_type");
        if (type < 0)
            type = inferd_json_get(r->doc, item, "datatype");
        if (type >= 0) {
            char *text;
            if (inferd_json_string(r->doc, type, r->arena, &text, NULL) != 0 ||
                (spec->dtype = parse_data_type(text)) == INFERD_DT_INVALID)
                return inferd_fail(r->err, INFERD_EINVAL,
                                   "config.json: %s '%s' has an unknown data_type; use one of "
                                   "TYPE_BOOL, TYPE_INT8..TYPE_INT64, TYPE_UINT8..TYPE_UINT64, "
                                   "TYPE_FP16, TYPE_FP32, TYPE_FP64",
                                   field, spec->name);
        }
        int dims = inferd_json_get(r->doc, item, "dims");
        if (dims < 0)
            dims = inferd_json_get(r->doc, item, "shape");
        if (dims < 0)
            continue;
        int ndim = inferd_json_size(r->doc, dims);
        if (inferd_json_kind(r->doc, dims) != INFERD_JSON_ARRAY || ndim > INFERD_MAX_DIMS)
            return inferd_fail(r->err, INFERD_EINVAL,
                               "config.json: dims of %s '%s' must be a list of at most %d "
                               "integers",
                               field, spec->name, INFERD_MAX_DIMS);
        spec->ndim = ndim;
        for (int d = 0, t = dims + 1; d < ndim; d++, t = inferd_json_next(r->doc, t))
            if (inferd_json_int64(r->doc, t, &spec->shape[d]) != 0 || spec->shape[d] < -1)
                return inferd_fail(r->err, INFERD_EINVAL,
                                   "config.json: dims of %s '%s' must be integers >= -1", field,
                                   spec->name);
    }
    return 0;
}

/* "intra_op_threads": N, or Triton's ONNX backend form
 * "parameters": {"intra_op_thread_count": {"string_value": "N"}}. */
static int read_intra_op_threads(config_reader_t *r, int *OUT_threads)
{
    int64_t threads = 0;
    int tok = inferd_json_get(r->doc, 0, "intra_op_threads");
    if (tok >= 0) {
        if (inferd_json_int64(r->doc, tok, &threads) != 0)
            threads = -1;
    } else {
        int parameters = inferd_json_get(r->doc, 0, "parameters");
        int entry = inferd_json_get(r->doc, parameters, "intra_op_thread_count");
        int value = inferd_json_get(r->doc, entry, "string_value");
        char *text, *end;
        if (value >= 0) {
            if (inferd_json_string(r->doc, value, r->arena, &text, NULL) != 0)
                threads = -1;
            else
                threads = strtoll(text, &end, 10), threads = *end == '\0' ? threads : -1;
        }
    }
    if (threads < 0 || threads > 256)
        return inferd_fail(r->err, INFERD_EINVAL,
                           "config.json: intra_op_threads must be a whole number from 1 to 256");
    *OUT_threads = (int)threads;
    return 0;
}

/* An optional whole number member of `obj` in [min, max] into *OUT (left alone when absent). */
static int read_int_member(config_reader_t *r, int obj, const char *key, int64_t min, int64_t max,
                           int64_t *OUT)
{
    int tok = inferd_json_get(r->doc, obj, key);
    if (tok < 0)
        return 0;
    int64_t value;
    if (inferd_json_int64(r->doc, tok, &value) != 0 || value < min || value > max)
        return inferd_fail(r->err, INFERD_EINVAL,
                           "config.json: %s must be a whole number from %lld to %lld", key,
                           (long long)min, (long long)max);
    *OUT = value;
    return 0;
}

/* A queue policy object (Triton's ModelQueuePolicy): fields it leaves out keep Triton's defaults
 * (REJECT, no timeout, no override, the default queue size), whatever another policy says. */
static int read_queue_policy(config_reader_t *r, int obj, const char *what,
                             inferd_queue_policy_t *policy)
{
    *policy = (inferd_queue_policy_t){.timeout_action = INFERD_TIMEOUT_REJECT};
    if (inferd_json_kind(r->doc, obj) != INFERD_JSON_OBJECT)
        return inferd_fail(r->err, INFERD_EINVAL,
                           "config.json: %s must be an object with timeout_action, "
                           "default_timeout_microseconds, allow_timeout_override and "
                           "max_queue_size",
                           what);
    int rc;
    if ((rc = read_int_member(r, obj, "default_timeout_microseconds", 0, 3600000000LL,
                              &policy->default_timeout_us)) != 0 ||
        (rc = read_int_member(r, obj, "max_queue_size", 0, 1 << 20, &policy->max_queue_size)) != 0)
        return rc;
    int action = inferd_json_get(r->doc, obj, "timeout_action");
    if (action >= 0) {
        if (inferd_json_eq(r->doc, action, "DELAY"))
            policy->timeout_action = INFERD_TIMEOUT_DELAY;
        else if (!inferd_json_eq(r->doc, action, "REJECT"))
            return inferd_fail(r->err, INFERD_EINVAL,
                               "config.json: %s.timeout_action must be \"REJECT\" or \"DELAY\"",
                               what);
    }
    int override = inferd_json_get(r->doc, obj, "allow_timeout_override");
    policy->allow_timeout_override =
        override >= 0 && inferd_json_kind(r->doc, override) == INFERD_JSON_TRUE;
    return 0;
}

/* dynamic_batching.priority_queue_policy {"1": {policy}, ...}: a level's own policy in place of
 * default_queue_policy (Triton's map from level to ModelQueuePolicy; JSON keys are strings). */
static int read_priority_policies(config_reader_t *r, int batching, inferd_sched_config_t *sched)
{
    int map = inferd_json_get(r->doc, batching, "priority_queue_policy");
    if (map < 0)
        return 0;
    int levels = sched->priority_levels > 0 ? sched->priority_levels : 1;
    if (inferd_json_kind(r->doc, map) != INFERD_JSON_OBJECT)
        return inferd_fail(r->err, INFERD_EINVAL,
                           "config.json: priority_queue_policy must be an object mapping "
                           "priority levels (\"1\" to \"%d\") to queue policies",
                           levels);
    int n = inferd_json_size(r->doc, map);
    for (int i = 0, key = map + 1; i < n; i++, key = inferd_json_next(r->doc, key + 1)) {
        char *name;
        if (inferd_json_string(r->doc, key, r->arena, &name, NULL) != 0)
            return inferd_fail(r->err, INFERD_ENOMEM, "out of memory reading config.json");
        char *end;
        long level = strtol(name, &end, 10);
        if (name[0] < '1' || name[0] > '9' || *end != '\0' || level > levels)
            return inferd_fail(r->err, INFERD_EINVAL,
                               "config.json: priority_queue_policy key \"%.32s\" is not a "
                               "priority level of this model (\"1\" to \"%d\"; "
                               "priority_levels sets how many)",
                               name, levels);
        char what[48];
        snprintf(what, sizeof(what), "priority_queue_policy.%ld", level);
        int rc = read_queue_policy(r, key + 1, what, &sched->policies[level - 1]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* instance_group [{"count": N}, ...] (counts add up) and dynamic_batching {...}, as in Triton. */
static int read_scheduling(config_reader_t *r, inferd_sched_config_t *sched)
{
    int groups = inferd_json_get(r->doc, 0, "instance_group");
    if (groups >= 0) {
        if (inferd_json_kind(r->doc, groups) != INFERD_JSON_ARRAY)
            return inferd_fail(r->err, INFERD_EINVAL,
                               "config.json: instance_group must be a list of {\"count\": N}");
        int64_t total = 0;
        for (int i = 0, group = groups + 1; i < inferd_json_size(r->doc, groups);
             i++, group = inferd_json_next(r->doc, group)) {
            int64_t count = 1;
            int rc = read_int_member(r, group, "count", 1, 64, &count);
            if (rc != 0)
                return rc;
            total += count;
        }
        sched->instance_count = (int)(total > 64 ? 64 : total);
    }
    int batching = inferd_json_get(r->doc, 0, "dynamic_batching");
    if (batching < 0)
        return 0;
    if (inferd_json_kind(r->doc, batching) != INFERD_JSON_OBJECT)
        return inferd_fail(r->err, INFERD_EINVAL,
                           "config.json: dynamic_batching must be an object");
    sched->has_dynamic_batching = true;
    int64_t value = 0;
    int rc = read_int_member(r, batching, "max_queue_delay_microseconds", 0, 60000000,
                             &sched->max_queue_delay_us);
    if (rc == 0 && (rc = read_int_member(r, batching, "priority_levels", 0, 16, &value)) == 0)
        sched->priority_levels = (int)value;
    value = 0;
    if (rc == 0 &&
        (rc = read_int_member(r, batching, "default_priority_level", 0, 16, &value)) == 0)
        sched->default_priority_level = (int)value;
    int preferred = inferd_json_get(r->doc, batching, "preferred_batch_size");
    if (rc == 0 && preferred >= 0) {
        int n = inferd_json_size(r->doc, preferred);
        if (inferd_json_kind(r->doc, preferred) != INFERD_JSON_ARRAY ||
            n > INFERD_MAX_PREFERRED_BATCH_SIZES)
            return inferd_fail(r->err, INFERD_EINVAL,
                               "config.json: preferred_batch_size must be a list of at most %d "
                               "sizes",
                               INFERD_MAX_PREFERRED_BATCH_SIZES);
        for (int i = 0, t = preferred + 1; i < n; i++, t = inferd_json_next(r->doc, t))
            if (inferd_json_int64(r->doc, t, &sched->preferred_batch_sizes[i]) != 0 ||
                sched->preferred_batch_sizes[i] < 1)
                return inferd_fail(r->err, INFERD_EINVAL,
                                   "config.json: preferred_batch_size holds positive sizes");
        sched->n_preferred_batch_sizes = n;
    }
    int adaptive = inferd_json_get(r->doc, batching, "adaptive");
    if (rc == 0 && adaptive >= 0) {
        double target_ms;
        int target = inferd_json_get(r->doc, adaptive, "target_p99_ms");
        if (target < 0 || inferd_json_double(r->doc, target, &target_ms) != 0 || target_ms <= 0 ||
            target_ms > 60000)
            return inferd_fail(r->err, INFERD_EINVAL,
                               "config.json: dynamic_batching.adaptive needs \"target_p99_ms\" "
                               "between 0 and 60000");
        sched->adaptive_target_us = (int64_t)(target_ms * 1000.0);
        if (sched->adaptive_target_us < 1)
            sched->adaptive_target_us = 1;
    }
    if (rc != 0)
        return rc;
    inferd_queue_policy_t default_policy = {0};
    int policy = inferd_json_get(r->doc, batching, "default_queue_policy");
    if (policy >= 0 &&
        (rc = read_queue_policy(r, policy, "default_queue_policy", &default_policy)) != 0)
        return rc;
    for (int l = 0; l < INFERD_MAX_PRIORITY_LEVELS; l++)
        sched->policies[l] = default_policy;
    return read_priority_policies(r, batching, sched);
}

/* "fault_injection": {"delay_ms": X, "error_rate": P}: a version that is slow or fails on
 * purpose (tests, canary demonstrations). */
static int read_fault_injection(config_reader_t *r, inferd_fault_config_t *fault)
{
    int obj = inferd_json_get(r->doc, 0, "fault_injection");
    if (obj < 0)
        return 0;
    if (inferd_json_kind(r->doc, obj) != INFERD_JSON_OBJECT)
        return inferd_fail(r->err, INFERD_EINVAL,
                           "config.json: fault_injection must be an object with delay_ms and "
                           "error_rate");
    double delay_ms = 0, error_rate = 0;
    int delay = inferd_json_get(r->doc, obj, "delay_ms");
    int rate = inferd_json_get(r->doc, obj, "error_rate");
    if (delay >= 0 && (inferd_json_double(r->doc, delay, &delay_ms) != 0 || !(delay_ms >= 0) ||
                       delay_ms > 600000))
        return inferd_fail(r->err, INFERD_EINVAL,
                           "config.json: fault_injection.delay_ms must be from 0 to 600000");
    if (rate >= 0 && (inferd_json_double(r->doc, rate, &error_rate) != 0 || !(error_rate >= 0) ||
                      error_rate > 1))
        return inferd_fail(r->err, INFERD_EINVAL,
                           "config.json: fault_injection.error_rate must be from 0 to 1");
    fault->delay_us = (int64_t)(delay_ms * 1000.0);
    fault->error_rate = error_rate;
    return 0;
}

/* "version_policy": {"latest": {"num_versions": N}} | {"all": {}} |
 * {"specific": {"versions": [..]}} (Triton's names); absent: latest 1. */
static int read_version_policy(config_reader_t *r, inferd_version_policy_t *policy)
{
    policy->kind = INFERD_POLICY_LATEST;
    policy->latest_num_versions = 1;
    int obj = inferd_json_get(r->doc, 0, "version_policy");
    if (obj < 0)
        return 0;
    int latest = inferd_json_get(r->doc, obj, "latest");
    int all = inferd_json_get(r->doc, obj, "all");
    int specific = inferd_json_get(r->doc, obj, "specific");
    if (inferd_json_kind(r->doc, obj) != INFERD_JSON_OBJECT ||
        (latest >= 0) + (all >= 0) + (specific >= 0) != 1)
        return inferd_fail(r->err, INFERD_EINVAL,
                           "config.json: version_policy must be one of {\"latest\": "
                           "{\"num_versions\": N}}, {\"all\": {}}, {\"specific\": "
                           "{\"versions\": [...]}}");
    if (all >= 0) {
        policy->kind = INFERD_POLICY_ALL;
        return 0;
    }
    if (latest >= 0)
        return read_int_member(r, latest, "num_versions", 1, 1 << 20, &policy->latest_num_versions);
    policy->kind = INFERD_POLICY_SPECIFIC;
    int list = inferd_json_get(r->doc, specific, "versions");
    int n = list >= 0 ? inferd_json_size(r->doc, list) : -1;
    if (list < 0 || inferd_json_kind(r->doc, list) != INFERD_JSON_ARRAY || n < 1)
        return inferd_fail(r->err, INFERD_EINVAL,
                           "config.json: version_policy.specific needs \"versions\": a list of "
                           "version numbers");
    policy->specific_versions = calloc((size_t)n, sizeof(int64_t));
    if (policy->specific_versions == NULL)
        return INFERD_ENOMEM;
    for (int i = 0, t = list + 1; i < n; i++, t = inferd_json_next(r->doc, t)) {
        int64_t number;
        if (inferd_json_int64(r->doc, t, &number) != 0 || number < 1)
            return inferd_fail(r->err, INFERD_EINVAL,
                               "config.json: version_policy.specific.versions holds version "
                               "numbers >= 1");
        policy->specific_versions[policy->n_specific_versions++] = number;
    }
    return 0;
}

/* "version_labels": {"stable": 3, "canary": 4} and "default_version": 3. */
static int read_labels(config_reader_t *r, inferd_model_config_t *config)
{
    int rc = read_int_member(r, 0, "default_version", 1, INT64_MAX, &config->default_version);
    int obj = inferd_json_get(r->doc, 0, "version_labels");
    if (rc != 0 || obj < 0)
        return rc;
    int n = inferd_json_size(r->doc, obj);
    if (inferd_json_kind(r->doc, obj) != INFERD_JSON_OBJECT)
        return inferd_fail(r->err, INFERD_EINVAL,
                           "config.json: version_labels must be an object {\"label\": version}");
    config->label_names = calloc((size_t)n + 1, sizeof(char *));
    config->label_versions = calloc((size_t)n + 1, sizeof(int64_t));
    if (config->label_names == NULL || config->label_versions == NULL)
        return INFERD_ENOMEM;
    for (int i = 0, key = obj + 1; i < n; i++, key = inferd_json_next(r->doc, key + 1)) {
        char *name = NULL;
        if ((rc = read_string(r, key, "version_labels", &name)) != 0)
            return rc;
        config->label_names[config->n_labels] = name;
        int64_t number;
        if (inferd_json_int64(r->doc, key + 1, &number) != 0 || number < 1 || name[0] == '\0' ||
            (name[0] >= '0' && name[0] <= '9'))
            return inferd_fail(r->err, INFERD_EINVAL,
                               "config.json: version_labels maps label names (not starting with a "
                               "digit) to version numbers >= 1; '%s' does not",
                               name);
        config->label_versions[config->n_labels++] = number;
    }
    return 0;
}

/* "model_warmup": [{"name", "batch_size", "count", "inputs": {"x": {"data_type", "dims",
 * "zero_data" | "random_data" | "input_data_file"}}}] (Triton's names). */
static int read_warmup(config_reader_t *r, inferd_model_config_t *config)
{
    int list = inferd_json_get(r->doc, 0, "model_warmup");
    if (list < 0)
        return 0;
    int n = inferd_json_size(r->doc, list);
    if (inferd_json_kind(r->doc, list) != INFERD_JSON_ARRAY)
        return inferd_fail(r->err, INFERD_EINVAL, "config.json: model_warmup must be a list");
    config->warmup = calloc((size_t)n + 1, sizeof(*config->warmup));
    if (config->warmup == NULL)
        return INFERD_ENOMEM;
    for (int i = 0, item = list + 1; i < n; i++, item = inferd_json_next(r->doc, item)) {
        inferd_warmup_sample_t *sample = &config->warmup[config->n_warmup++];
        sample->batch_size = 1;
        sample->count = 1;
        int name = inferd_json_get(r->doc, item, "name"), rc;
        if (name >= 0 && (rc = read_string(r, name, "model_warmup name", &sample->name)) != 0)
            return rc;
        if ((rc = read_int_member(r, item, "batch_size", 1, 1 << 20, &sample->batch_size)) != 0 ||
            (rc = read_int_member(r, item, "count", 1, 1000, &sample->count)) != 0)
            return rc;
        int inputs = inferd_json_get(r->doc, item, "inputs");
        if (inputs < 0 || inferd_json_kind(r->doc, inputs) != INFERD_JSON_OBJECT)
            return inferd_fail(r->err, INFERD_EINVAL,
                               "config.json: each model_warmup sample needs \"inputs\": "
                               "{\"name\": {...}}");
        int n_inputs = inferd_json_size(r->doc, inputs);
        sample->inputs = calloc((size_t)n_inputs + 1, sizeof(*sample->inputs));
        if (sample->inputs == NULL)
            return INFERD_ENOMEM;
        for (int j = 0, key = inputs + 1; j < n_inputs;
             j++, key = inferd_json_next(r->doc, key + 1)) {
            inferd_warmup_input_t *in = &sample->inputs[sample->n_inputs++];
            int spec = key + 1;
            if ((rc = read_string(r, key, "model_warmup input", &in->name)) != 0)
                return rc;
            int type = inferd_json_get(r->doc, spec, "data_type"),
                dims = inferd_json_get(r->doc, spec, "dims");
            char *text;
            if (type < 0 || inferd_json_string(r->doc, type, r->arena, &text, NULL) != 0 ||
                (in->dtype = parse_data_type(text)) == INFERD_DT_INVALID || dims < 0 ||
                inferd_json_kind(r->doc, dims) != INFERD_JSON_ARRAY ||
                inferd_json_size(r->doc, dims) > INFERD_MAX_DIMS)
                return inferd_fail(r->err, INFERD_EINVAL,
                                   "config.json: model_warmup input '%s' needs a data_type and "
                                   "dims",
                                   in->name);
            in->ndim = inferd_json_size(r->doc, dims);
            for (int d = 0, t = dims + 1; d < in->ndim; d++, t = inferd_json_next(r->doc, t))
                if (inferd_json_int64(r->doc, t, &in->dims[d]) != 0 || in->dims[d] < 0)
                    return inferd_fail(r->err, INFERD_EINVAL,
                                       "config.json: dims of model_warmup input '%s' must be "
                                       "sizes >= 0",
                                       in->name);
            int random = inferd_json_get(r->doc, spec, "random_data");
            in->is_random = random >= 0 && inferd_json_kind(r->doc, random) == INFERD_JSON_TRUE;
            int file = inferd_json_get(r->doc, spec, "input_data_file");
            if (file >= 0 &&
                (rc = read_string(r, file, "model_warmup input_data_file", &in->data_file)) != 0)
                return rc;
            if (in->data_file != NULL &&
                (strstr(in->data_file, "..") != NULL || in->data_file[0] == '/'))
                return inferd_fail(r->err, INFERD_EINVAL,
                                   "config.json: model_warmup input_data_file must name a file "
                                   "inside the model's warmup/ folder");
        }
    }
    return 0;
}

int inferd_model_config_parse(const char *text, size_t len, inferd_model_config_t *config,
                              inferd_err_t *err)
{
    memset(config, 0, sizeof(*config));
    inferd_arena_t arena;
    inferd_arena_init(&arena, 16384, 64u << 20);
    inferd_json_t doc;
    config_reader_t r = {&doc, &arena, err};
    int rc = inferd_json_parse(&doc, text, len, &arena, err);
    if (rc != 0) {
        inferd_err_prefix(err, "config.json: ");
        goto done;
    }
    if (inferd_json_kind(&doc, 0) != INFERD_JSON_OBJECT) {
        rc = inferd_fail(err, INFERD_EINVAL, "config.json must hold a JSON object");
        goto done;
    }
    int tok;
    if ((tok = inferd_json_get(&doc, 0, "name")) >= 0 &&
        (rc = read_string(&r, tok, "name", &config->name)) != 0)
        goto done;
    if ((tok = inferd_json_get(&doc, 0, "backend")) >= 0 &&
        (rc = read_string(&r, tok, "backend", &config->backend)) != 0)
        goto done;
    if (config->backend == NULL && (tok = inferd_json_get(&doc, 0, "platform")) >= 0) {
        /* Triton's platform names for the formats inferd runs */
        if ((rc = read_string(&r, tok, "platform", &config->backend)) != 0)
            goto done;
        if (strcmp(config->backend, "onnxruntime_onnx") == 0)
            strcpy(config->backend, "onnx");
    }
    if ((tok = inferd_json_get(&doc, 0, "max_batch_size")) >= 0 &&
        (inferd_json_int64(&doc, tok, &config->max_batch_size) != 0 ||
         config->max_batch_size < 0)) {
        rc = inferd_fail(err, INFERD_EINVAL, "config.json: max_batch_size must be an integer >= 0");
        goto done;
    }
    if ((rc = read_intra_op_threads(&r, &config->intra_op_threads)) != 0 ||
        (rc = read_scheduling(&r, &config->sched)) != 0 ||
        (rc = read_fault_injection(&r, &config->fault)) != 0 ||
        (rc = read_version_policy(&r, &config->version_policy)) != 0 ||
        (rc = read_labels(&r, config)) != 0 || (rc = read_warmup(&r, config)) != 0)
        goto done;
    int inputs = inferd_json_get(&doc, 0, "input"), outputs = inferd_json_get(&doc, 0, "output");
    if (inputs >= 0 &&
        (rc = read_specs(&r, inputs, "input", &config->sig.inputs, &config->sig.n_inputs)) != 0)
        goto done;
    if (outputs >= 0 &&
        (rc = read_specs(&r, outputs, "output", &config->sig.outputs, &config->sig.n_outputs)) != 0)
        goto done;
    config->has_signature = inputs >= 0 || outputs >= 0;
done:
    inferd_arena_free(&arena);
    if (rc != 0)
        inferd_model_config_free(config);
    return rc;
}

void inferd_model_config_free(inferd_model_config_t *config)
{
    free(config->version_policy.specific_versions);
    for (size_t i = 0; i < config->n_labels; i++)
        free(config->label_names[i]);
    free(config->label_names);
    free(config->label_versions);
    for (size_t i = 0; i < config->n_warmup; i++) {
        for (size_t j = 0; j < config->warmup[i].n_inputs; j++) {
            free(config->warmup[i].inputs[j].name);
            free(config->warmup[i].inputs[j].data_file);
        }
        free(config->warmup[i].inputs);
        free(config->warmup[i].name);
    }
    free(config->warmup);
    free(config->name);
    free(config->backend);
    inferd_signature_free(&config->sig);
    memset(config, 0, sizeof(*config));
}
