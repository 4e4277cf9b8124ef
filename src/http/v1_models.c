/* The management API under /v1 (JSON): register versions, list and show models, deploy,
 * default versions, labels, rollback, undeploy, delete, and the audit log. Every handler runs
 * on the control thread (http_run_blocking), so changes happen one at a time and may block on
 * loads, file copies and the registry without holding up inference. */
#include "call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ==== reading request bodies ==== */

typedef struct {
    inferd_arena_t arena;
    inferd_json_t doc;
    bool is_parsed;
} body_t;

/* Parses b's body as a JSON object (an empty body reads as {} when `may_be_empty`). */
static int parse_body(http_blocking_t *b, body_t *body, bool may_be_empty, inferd_err_t *err)
{
    inferd_arena_init(&body->arena, 4096, 4u << 20);
    const char *text = b->body_len == 0 && may_be_empty ? "{}" : b->body;
    size_t len = b->body_len == 0 && may_be_empty ? 2 : b->body_len;
    int rc = inferd_json_parse(&body->doc, text, len, &body->arena, err);
    body->is_parsed = rc == 0;
    if (rc == 0 && inferd_json_kind(&body->doc, 0) != INFERD_JSON_OBJECT)
        rc = inferd_fail(err, INFERD_EINVAL, "the request body must be a JSON object");
    if (rc != 0 && err->code == INFERD_EINVAL && strncmp(err->msg, "the request", 11) != 0)
        inferd_err_prefix(err, "the request body is not valid JSON: ");
    return rc;
}

static void body_free(body_t *body)
{
    inferd_arena_free(&body->arena);
}

/* Member `key` as a string in the arena (NULL when absent); an error when of another kind. */
static int body_string(body_t *body, const char *key, char **OUT, inferd_err_t *err)
{
    *OUT = NULL;
    int tok = inferd_json_get(&body->doc, 0, key);
    if (tok < 0 || inferd_json_kind(&body->doc, tok) == INFERD_JSON_NULL)
        return 0;
    if (inferd_json_string(&body->doc, tok, &body->arena, OUT, NULL) != 0)
        return inferd_fail(err, INFERD_EINVAL, "\"%s\" must be a string", key);
    return 0;
}

/* Member `key` as a positive version number (strings of digits too); 0 when absent. */
static int body_version(body_t *body, const char *key, int64_t *OUT, inferd_err_t *err)
{
    *OUT = 0;
    int tok = inferd_json_get(&body->doc, 0, key);
    if (tok < 0)
        return 0;
    char *text;
    if (inferd_json_kind(&body->doc, tok) == INFERD_JSON_STRING &&
        inferd_json_string(&body->doc, tok, &body->arena, &text, NULL) == 0) {
        char *end;
        long long v = strtoll(text, &end, 10);
        if (*text != '\0' && *end == '\0' && v > 0) {
            *OUT = v;
            return 0;
        }
    } else if (inferd_json_int64(&body->doc, tok, OUT) == 0 && *OUT > 0) {
        return 0;
    }
    return inferd_fail(err, INFERD_EINVAL, "\"%s\" must be a version number (an integer >= 1)",
                       key);
}

/* Member `key` as raw JSON text of the given kind, or NULL when absent. */
static int body_raw(body_t *body, const char *key, inferd_json_kind_t kind, const char *kind_name,
                    char **OUT, inferd_err_t *err)
{
    *OUT = NULL;
    int tok = inferd_json_get(&body->doc, 0, key);
    if (tok < 0)
        return 0;
    if (inferd_json_kind(&body->doc, tok) != kind)
        return inferd_fail(err, INFERD_EINVAL, "\"%s\" must be %s", key, kind_name);
    size_t len;
    const char *raw = inferd_json_raw(&body->doc, tok, &len);
    *OUT = inferd_arena_strndup(&body->arena, raw, len);
    return 0;
}

static int64_t path_version(const char *text)
{
    if (text == NULL || text[0] == '\0')
        return -1;
    char *end;
    long long v = strtoll(text, &end, 10);
    return *end == '\0' && v > 0 ? v : -1;
}

static bool check_path_version(http_blocking_t *b, int64_t *OUT)
{
    *OUT = path_version(b->version);
    if (*OUT > 0)
        return true;
    inferd_err_t err;
    inferd_fail(&err, INFERD_EINVAL, "'%s' is not a version number", b->version);
    http_blocking_error(b, &err);
    return false;
}

/* ==== writing answers ==== */

static void write_raw_or_null(inferd_jsonw_t *w, const char *json)
{
    inferd_jsonw_lit(w, json != NULL && json[0] != '\0' ? json : "null");
}

static void write_version_record(inferd_jsonw_t *w, const inferd_reg_version_t *row,
                                 const inferd_model_version_t *served)
{
    inferd_jsonw_lit(w, "{\"version\":");
    inferd_jsonw_int(w, row ? row->version : served->version);
    inferd_jsonw_lit(w, ",\"status\":");
    inferd_jsonw_cstr(w, row ? inferd_version_status_name(row->status)
                             : (served->is_ready ? "active" : "draft"));
    inferd_jsonw_lit(w, ",\"state\":");
    inferd_jsonw_cstr(w, served == NULL ? "NOT_LOADED" : served->is_ready ? "AVAILABLE" : "FAILED");
    if (served != NULL && served->failure != NULL) {
        inferd_jsonw_lit(w, ",\"error\":");
        inferd_jsonw_cstr(w, served->failure);
    }
    if (row != NULL) {
        inferd_jsonw_lit(w, ",\"sha256\":");
        inferd_jsonw_cstr(w, row->sha256);
        inferd_jsonw_lit(w, ",\"size_bytes\":");
        inferd_jsonw_int(w, row->size_bytes);
        inferd_jsonw_lit(w, ",\"framework\":");
        inferd_jsonw_cstr(w, row->framework ? row->framework : "");
        inferd_jsonw_lit(w, ",\"artifact_path\":");
        inferd_jsonw_cstr(w, row->artifact_path ? row->artifact_path : "");
        inferd_jsonw_lit(w, ",\"inputs\":");
        write_raw_or_null(w, row->inputs_json);
        inferd_jsonw_lit(w, ",\"outputs\":");
        write_raw_or_null(w, row->outputs_json);
        inferd_jsonw_lit(w, ",\"metadata\":");
        write_raw_or_null(w, row->metadata_json);
        inferd_jsonw_lit(w, ",\"tags\":");
        write_raw_or_null(w, row->tags_json);
        inferd_jsonw_lit(w, ",\"created_at\":");
        inferd_jsonw_time_ms(w, row->created_at_ms);
        inferd_jsonw_lit(w, ",\"created_by\":");
        inferd_jsonw_cstr(w, row->created_by ? row->created_by : "");
    } else {
        inferd_jsonw_lit(w, ",\"artifact_path\":");
        inferd_jsonw_cstr(w, served->path);
    }
    inferd_jsonw_lit(w, "}");
}

/* ==== POST /v1/models ==== */

static void register_work(http_blocking_t *b)
{
    inferd_err_t err = {0};
    body_t body;
    char *name, *artifact, *framework, *metadata, *tags, *reason;
    int64_t version;
    inferd_register_t reg = {0};
    int rc = parse_body(b, &body, false, &err);
    if (rc == 0 && (rc = body_string(&body, "name", &name, &err)) == 0 &&
        (rc = body_string(&body, "artifact", &artifact, &err)) == 0 &&
        (rc = body_string(&body, "framework", &framework, &err)) == 0 &&
        (rc = body_string(&body, "reason", &reason, &err)) == 0 &&
        (rc = body_raw(&body, "metadata", INFERD_JSON_OBJECT, "an object", &metadata, &err)) == 0 &&
        (rc = body_raw(&body, "tags", INFERD_JSON_ARRAY, "a list of strings", &tags, &err)) == 0 &&
        (rc = body_version(&body, "version", &version, &err)) == 0) {
        if (name == NULL || artifact == NULL)
            rc = inferd_fail(&err, INFERD_EINVAL,
                             "register a version with {\"name\": \"<model>\", \"artifact\": "
                             "\"/path/to/model.onnx\" or \"file://...\"} (optional: version, "
                             "framework, metadata, tags)");
        reg = (inferd_register_t){name, version, artifact, framework, metadata, tags};
    }
    inferd_reg_version_t row = {0};
    inferd_change_t change = {b->actor, rc == 0 ? reason : NULL};
    if (rc == 0)
        rc = inferd_repo_register_version(b->repo, &reg, &change, &row, &err);
    body_free(&body);
    if (rc != 0) {
        http_blocking_error(b, &err);
        return;
    }
    b->status = 201;
    inferd_jsonw_lit(&b->out, "{\"name\":");
    inferd_jsonw_cstr(&b->out, row.model);
    inferd_jsonw_lit(&b->out, ",");
    inferd_jsonw_t record = {0};
    write_version_record(&record, &row, NULL);
    if (!record.failed)
        inferd_jsonw_raw(&b->out, record.buf + 1, record.len - 1); /* the record's members */
    inferd_jsonw_free(&record);
    inferd_reg_version_clear(&row);
}

void v1_register(http_call_t *call)
{
    http_run_blocking(call, register_work, NULL);
}

/* ==== GET /v1/models ==== */

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_work(http_blocking_t *b)
{
    inferd_registry_t *registry = inferd_repo_registry(b->repo);
    inferd_catalog_t *catalog = inferd_repo_snapshot(b->repo);
    inferd_reg_model_t *rows = NULL;
    size_t n_rows = 0;
    inferd_err_t err;
    if (registry != NULL && inferd_registry_list_models(registry, &rows, &n_rows, &err) != 0) {
        inferd_catalog_release(catalog);
        http_blocking_error(b, &err);
        return;
    }
    /* every name, from both, sorted and unique */
    size_t n_names = 0;
    char **names = calloc(n_rows + catalog->n_models + 1, sizeof(*names));
    for (size_t i = 0; names && i < n_rows; i++)
        names[n_names++] = rows[i].name;
    for (size_t i = 0; names && i < catalog->n_models; i++)
        names[n_names++] = catalog->models[i]->name;
    if (names != NULL)
        qsort(names, n_names, sizeof(*names), compare_strings);
    inferd_jsonw_t *w = &b->out;
    inferd_jsonw_lit(w, "{\"models\":[");
    bool is_first = true;
    for (size_t i = 0; names != NULL && i < n_names; i++) {
        if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
            continue;
        const char *name = names[i];
        const inferd_model_t *model = inferd_catalog_model(catalog, name);
        inferd_jsonw_lit(w, is_first ? "{\"name\":" : ",{\"name\":");
        is_first = false;
        inferd_jsonw_cstr(w, name);
        int64_t default_version = model ? model->default_version : 0;
        for (size_t r = 0; default_version == 0 && r < n_rows; r++)
            if (strcmp(rows[r].name, name) == 0)
                default_version = rows[r].default_version;
        inferd_jsonw_lit(w, ",\"default_version\":");
        if (default_version > 0)
            inferd_jsonw_int(w, default_version);
        else
            inferd_jsonw_lit(w, "null");
        inferd_jsonw_lit(w, ",\"versions\":[");
        inferd_reg_version_t *versions = NULL;
        size_t n_versions = 0;
        bool is_first_version = true;
        if (registry != NULL &&
            inferd_registry_list_versions(registry, name, &versions, &n_versions, &err) == 0) {
            for (size_t v = 0; v < n_versions; v++) {
                if (versions[v].status == INFERD_VS_ARCHIVED)
                    continue;
                if (!is_first_version)
                    inferd_jsonw_lit(w, ",");
                inferd_jsonw_int(w, versions[v].version);
                is_first_version = false;
            }
            inferd_reg_versions_free(versions, n_versions);
        } else {
            for (size_t v = 0; model != NULL && v < model->n_versions; v++) {
                if (v)
                    inferd_jsonw_lit(w, ",");
                inferd_jsonw_int(w, model->versions[v]->version);
            }
        }
        inferd_jsonw_lit(w, "],\"serving\":[");
        for (size_t v = 0, k = 0; model != NULL && v < model->n_versions; v++) {
            if (!model->versions[v]->is_ready)
                continue;
            if (k++)
                inferd_jsonw_lit(w, ",");
            inferd_jsonw_int(w, model->versions[v]->version);
        }
        inferd_jsonw_lit(w, "],\"labels\":{");
        for (size_t l = 0; model != NULL && l < model->n_labels; l++) {
            if (l)
                inferd_jsonw_lit(w, ",");
            inferd_jsonw_cstr(w, model->labels[l].name);
            inferd_jsonw_lit(w, ":");
            inferd_jsonw_int(w, model->labels[l].version);
        }
        inferd_jsonw_lit(w, "}}");
    }
    inferd_jsonw_lit(w, "]}");
    free(names);
    inferd_reg_models_free(rows, n_rows);
    inferd_catalog_release(catalog);
}

void v1_list_models(http_call_t *call)
{
    http_run_blocking(call, list_work, NULL);
}

/* ==== GET /v1/models/{m}[/versions/{v}] ==== */

static const inferd_model_version_t *served_version(const inferd_model_t *model, int64_t number)
{
    for (size_t i = 0; model != NULL && i < model->n_versions; i++)
        if (model->versions[i]->version == number)
            return model->versions[i];
    return NULL;
}

static void detail_work(http_blocking_t *b)
{
    inferd_err_t err;
    int64_t only = 0;
    if (b->version != NULL && !check_path_version(b, &only))
        return;
    inferd_registry_t *registry = inferd_repo_registry(b->repo);
    inferd_catalog_t *catalog = inferd_repo_snapshot(b->repo);
    const inferd_model_t *model = inferd_catalog_model(catalog, b->model);
    inferd_reg_version_t *rows = NULL;
    size_t n_rows = 0;
    inferd_reg_model_t model_row = {0};
    bool is_registered =
        registry != NULL && inferd_registry_get_model(registry, b->model, &model_row, &err) == 0;
    if (is_registered)
        inferd_registry_list_versions(registry, b->model, &rows, &n_rows, &err);
    bool has_only = only == 0 || served_version(model, only) != NULL;
    for (size_t i = 0; !has_only && i < n_rows; i++)
        has_only = rows[i].version == only;
    if ((model == NULL && !is_registered) || !has_only) {
        if (model == NULL && !is_registered)
            inferd_fail(&err, INFERD_ENOTFOUND, "unknown model '%s'", b->model);
        else
            inferd_fail(&err, INFERD_ENOTFOUND, "model '%s' has no version %lld", b->model,
                        (long long)only);
        http_blocking_error(b, &err);
        goto done;
    }
    inferd_jsonw_t *w = &b->out;
    inferd_jsonw_lit(w, "{\"name\":");
    inferd_jsonw_cstr(w, b->model);
    int64_t default_version = model ? model->default_version : model_row.default_version;
    inferd_jsonw_lit(w, ",\"default_version\":");
    if (default_version > 0)
        inferd_jsonw_int(w, default_version);
    else
        inferd_jsonw_lit(w, "null");
    const inferd_model_version_t *serving = model ? inferd_model_serving_version(model) : NULL;
    inferd_jsonw_lit(w, ",\"serving_version\":");
    if (serving != NULL)
        inferd_jsonw_int(w, serving->version);
    else
        inferd_jsonw_lit(w, "null");
    inferd_jsonw_lit(w, ",\"labels\":{");
    for (size_t l = 0; model != NULL && l < model->n_labels; l++) {
        if (l)
            inferd_jsonw_lit(w, ",");
        inferd_jsonw_cstr(w, model->labels[l].name);
        inferd_jsonw_lit(w, ":");
        inferd_jsonw_int(w, model->labels[l].version);
    }
    inferd_jsonw_lit(w, "},\"versions\":[");
    bool is_first = true;
    for (size_t i = 0; i < n_rows; i++) { /* registered versions */
        if (only > 0 && rows[i].version != only)
            continue;
        if (!is_first)
            inferd_jsonw_lit(w, ",");
        is_first = false;
        write_version_record(w, &rows[i], served_version(model, rows[i].version));
    }
    for (size_t i = 0; model != NULL && i < model->n_versions; i++) { /* served, unregistered */
        const inferd_model_version_t *v = model->versions[i];
        bool is_listed = false;
        for (size_t r = 0; r < n_rows; r++)
            is_listed |= rows[r].version == v->version;
        if (is_listed || (only > 0 && v->version != only))
            continue;
        if (!is_first)
            inferd_jsonw_lit(w, ",");
        is_first = false;
        write_version_record(w, NULL, v);
    }
    inferd_jsonw_lit(w, "],\"deployments\":[");
    inferd_reg_deployment_t *deployments = NULL;
    size_t n_deployments = 0;
    if (registry != NULL &&
        inferd_registry_list_deployments(registry, b->model, false, &deployments, &n_deployments,
                                         &err) == 0) {
        for (size_t i = 0, k = 0; i < n_deployments; i++) {
            const inferd_reg_deployment_t *d = &deployments[i];
            if (only > 0 && d->version != only)
                continue;
            inferd_jsonw_lit(w, k++ ? ",{\"id\":" : "{\"id\":");
            inferd_jsonw_int(w, d->id);
            inferd_jsonw_lit(w, ",\"version\":");
            inferd_jsonw_int(w, d->version);
            inferd_jsonw_lit(w, ",\"config\":");
            write_raw_or_null(w, d->config_json);
            inferd_jsonw_lit(w, ",\"active\":");
            inferd_jsonw_bool(w, d->is_active);
            inferd_jsonw_lit(w, ",\"created_at\":");
            inferd_jsonw_time_ms(w, d->created_at_ms);
            inferd_jsonw_lit(w, ",\"created_by\":");
            inferd_jsonw_cstr(w, d->created_by ? d->created_by : "");
            inferd_jsonw_lit(w, ",\"retired_at\":");
            inferd_jsonw_time_ms(w, d->retired_at_ms);
            inferd_jsonw_lit(w, "}");
        }
        inferd_reg_deployments_free(deployments, n_deployments);
    }
    /* TF Serving's GetModelStatus shape, so that its clients read this unchanged */
    inferd_jsonw_lit(w, "],\"model_version_status\":[");
    for (size_t i = 0, k = 0; model != NULL && i < model->n_versions; i++) {
        const inferd_model_version_t *v = model->versions[i];
        if (only > 0 && v->version != only)
            continue;
        inferd_jsonw_lit(w, k++ ? ",{\"version\":" : "{\"version\":");
        inferd_jsonw_cstr(w, v->version_str);
        inferd_jsonw_lit(w, v->is_ready ? ",\"state\":\"AVAILABLE\",\"status\":{\"error_code\":"
                                          "\"OK\",\"error_message\":\"\"}}"
                                        : ",\"state\":\"END\",\"status\":{\"error_code\":"
                                          "\"UNKNOWN\",\"error_message\":");
        if (!v->is_ready) {
            inferd_jsonw_cstr(w, v->failure ? v->failure : "not loaded");
            inferd_jsonw_lit(w, "}}");
        }
    }
    inferd_jsonw_lit(w, "]}");
done:
    inferd_reg_versions_free(rows, n_rows);
    inferd_reg_model_clear(&model_row);
    inferd_catalog_release(catalog);
}

void v1_model_detail(http_call_t *call)
{
    http_run_blocking(call, detail_work, NULL);
}

/* ==== changes ==== */

/* The optional {"reason": "..."} of a change's body into the arena; NULL when absent. */
static const char *change_reason(body_t *body)
{
    char *reason = NULL;
    inferd_err_t ignored;
    body_string(body, "reason", &reason, &ignored);
    return reason;
}

static void deploy_work(http_blocking_t *b)
{
    inferd_err_t err = {0};
    body_t body;
    int64_t version = 0;
    bool make_default = false;
    int rc = parse_body(b, &body, false, &err);
    if (rc == 0 && (rc = body_version(&body, "version", &version, &err)) == 0 && version == 0)
        rc = inferd_fail(&err, INFERD_EINVAL,
                         "deploy with {\"version\": N} (optional: instance_count, "
                         "max_batch_size, dynamic_batching, replicas, resources, make_default)");
    if (rc == 0) {
        int tok = inferd_json_get(&body.doc, 0, "make_default");
        make_default = tok >= 0 && inferd_json_kind(&body.doc, tok) == INFERD_JSON_TRUE;
    }
    inferd_change_t change = {b->actor, rc == 0 ? change_reason(&body) : NULL};
    if (rc == 0)
        rc = inferd_repo_deploy_version(b->repo, b->model, version, b->body, &change, &err);
    if (rc == 0 && make_default)
        rc = inferd_repo_set_default(b->repo, b->model, version, &change, &err);
    if (rc != 0) {
        body_free(&body);
        http_blocking_error(b, &err);
        return;
    }
    b->status = 201;
    inferd_jsonw_lit(&b->out, "{\"model\":");
    inferd_jsonw_cstr(&b->out, b->model);
    inferd_jsonw_lit(&b->out, ",\"version\":");
    inferd_jsonw_int(&b->out, version);
    inferd_jsonw_lit(&b->out, ",\"active\":true,\"config\":");
    inferd_jsonw_raw(&b->out, b->body, b->body_len);
    inferd_registry_t *registry = inferd_repo_registry(b->repo);
    inferd_reg_deployment_t *rows = NULL;
    size_t n_rows = 0;
    if (registry != NULL &&
        inferd_registry_list_deployments(registry, b->model, true, &rows, &n_rows, &err) == 0) {
        for (size_t i = 0; i < n_rows; i++)
            if (rows[i].version == version) {
                inferd_jsonw_lit(&b->out, ",\"id\":");
                inferd_jsonw_int(&b->out, rows[i].id);
                inferd_jsonw_lit(&b->out, ",\"created_at\":");
                inferd_jsonw_time_ms(&b->out, rows[i].created_at_ms);
                break;
            }
        inferd_reg_deployments_free(rows, n_rows);
    }
    inferd_jsonw_lit(&b->out, "}");
    body_free(&body);
}

void v1_deploy(http_call_t *call)
{
    http_run_blocking(call, deploy_work, NULL);
}

static void default_work(http_blocking_t *b)
{
    int64_t version;
    if (!check_path_version(b, &version))
        return;
    inferd_err_t err = {0};
    body_t body;
    inferd_change_t change = {b->actor, NULL};
    if (parse_body(b, &body, true, &err) == 0)
        change.reason = change_reason(&body);
    int rc = inferd_repo_set_default(b->repo, b->model, version, &change, &err);
    body_free(&body);
    if (rc != 0) {
        http_blocking_error(b, &err);
        return;
    }
    inferd_jsonw_lit(&b->out, "{\"model\":");
    inferd_jsonw_cstr(&b->out, b->model);
    inferd_jsonw_lit(&b->out, ",\"default_version\":");
    inferd_jsonw_int(&b->out, version);
    inferd_jsonw_lit(&b->out, "}");
}

void v1_set_default(http_call_t *call)
{
    http_run_blocking(call, default_work, NULL);
}

static void label_work(http_blocking_t *b)
{
    inferd_err_t err = {0};
    body_t body;
    int64_t version = 0;
    int rc = parse_body(b, &body, false, &err);
    if (rc == 0 && (rc = body_version(&body, "version", &version, &err)) == 0 && version == 0)
        rc = inferd_fail(&err, INFERD_EINVAL, "point a label with {\"version\": N}");
    inferd_change_t change = {b->actor, rc == 0 ? change_reason(&body) : NULL};
    if (rc == 0)
        rc = inferd_repo_set_label(b->repo, b->model, b->label, version, &change, &err);
    body_free(&body);
    if (rc != 0) {
        http_blocking_error(b, &err);
        return;
    }
    inferd_jsonw_lit(&b->out, "{\"model\":");
    inferd_jsonw_cstr(&b->out, b->model);
    inferd_jsonw_lit(&b->out, ",\"label\":");
    inferd_jsonw_cstr(&b->out, b->label);
    inferd_jsonw_lit(&b->out, ",\"version\":");
    inferd_jsonw_int(&b->out, version);
    inferd_jsonw_lit(&b->out, "}");
}

void v1_set_label(http_call_t *call)
{
    http_run_blocking(call, label_work, NULL);
}

static void delete_label_work(http_blocking_t *b)
{
    inferd_err_t err = {0};
    inferd_change_t change = {b->actor, NULL};
    if (inferd_repo_set_label(b->repo, b->model, b->label, -1, &change, &err) != 0) {
        http_blocking_error(b, &err);
        return;
    }
    inferd_jsonw_lit(&b->out, "{\"model\":");
    inferd_jsonw_cstr(&b->out, b->model);
    inferd_jsonw_lit(&b->out, ",\"label\":");
    inferd_jsonw_cstr(&b->out, b->label);
    inferd_jsonw_lit(&b->out, ",\"deleted\":true}");
}

void v1_delete_label(http_call_t *call)
{
    http_run_blocking(call, delete_label_work, NULL);
}

static void rollback_work(http_blocking_t *b)
{
    inferd_err_t err = {0};
    body_t body;
    int64_t to_version = 0, previous = 0;
    int rc = parse_body(b, &body, false, &err);
    if (rc == 0 && (rc = body_version(&body, "to_version", &to_version, &err)) == 0 &&
        to_version == 0)
        rc = inferd_fail(&err, INFERD_EINVAL,
                         "roll back with {\"to_version\": N, \"reason\": \"why\"}");
    const char *reason = rc == 0 ? change_reason(&body) : NULL;
    inferd_change_t change = {b->actor, reason};
    if (rc == 0)
        rc = inferd_repo_rollback(b->repo, b->model, to_version, &change, &previous, &err);
    if (rc != 0) {
        body_free(&body);
        http_blocking_error(b, &err);
        return;
    }
    inferd_jsonw_lit(&b->out, "{\"model\":");
    inferd_jsonw_cstr(&b->out, b->model);
    inferd_jsonw_lit(&b->out, ",\"default_version\":");
    inferd_jsonw_int(&b->out, to_version);
    inferd_jsonw_lit(&b->out, ",\"previous_version\":");
    if (previous > 0)
        inferd_jsonw_int(&b->out, previous);
    else
        inferd_jsonw_lit(&b->out, "null");
    inferd_jsonw_lit(&b->out, ",\"reason\":");
    if (reason != NULL)
        inferd_jsonw_cstr(&b->out, reason);
    else
        inferd_jsonw_lit(&b->out, "null");
    inferd_jsonw_lit(&b->out, "}");
    body_free(&body);
}

void v1_rollback(http_call_t *call)
{
    http_run_blocking(call, rollback_work, NULL);
}

static void undeploy_work(http_blocking_t *b)
{
    int64_t version;
    if (!check_path_version(b, &version))
        return;
    inferd_err_t err = {0};
    inferd_change_t change = {b->actor, "undeploy"};
    if (inferd_repo_undeploy_version(b->repo, b->model, version, &change, &err) != 0) {
        http_blocking_error(b, &err);
        return;
    }
    inferd_jsonw_lit(&b->out, "{\"model\":");
    inferd_jsonw_cstr(&b->out, b->model);
    inferd_jsonw_lit(&b->out, ",\"version\":");
    inferd_jsonw_int(&b->out, version);
    inferd_jsonw_lit(&b->out, ",\"active\":false}");
}

void v1_undeploy(http_call_t *call)
{
    http_run_blocking(call, undeploy_work, NULL);
}

static void delete_work(http_blocking_t *b)
{
    int64_t version;
    if (!check_path_version(b, &version))
        return;
    inferd_err_t err = {0};
    inferd_change_t change = {b->actor, NULL};
    if (inferd_repo_delete_version(b->repo, b->model, version, &change, &err) != 0) {
        http_blocking_error(b, &err);
        return;
    }
    inferd_jsonw_lit(&b->out, "{\"model\":");
    inferd_jsonw_cstr(&b->out, b->model);
    inferd_jsonw_lit(&b->out, ",\"version\":");
    inferd_jsonw_int(&b->out, version);
    inferd_jsonw_lit(&b->out, ",\"status\":\"archived\"}");
}

void v1_delete_version(http_call_t *call)
{
    http_run_blocking(call, delete_work, NULL);
}

/* ==== GET /v1/audit ==== */

/* The value of `key` in a query string ("a=1&b=2"), copied into `buf`; NULL when absent. */
static const char *query_value(const char *query, const char *key, char *buf, size_t size)
{
    size_t key_len = strlen(key);
    for (const char *p = query; p != NULL && *p != '\0';) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > key_len && strncmp(p, key, key_len) == 0 && p[key_len] == '=') {
            snprintf(buf, size, "%.*s", (int)(len - key_len - 1), p + key_len + 1);
            return buf;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static void audit_work(http_blocking_t *b)
{
    inferd_err_t err;
    inferd_registry_t *registry = inferd_repo_registry(b->repo);
    if (registry == NULL) {
        inferd_fail(&err, INFERD_ENOTFOUND,
                    "inferd runs without a registry (--registry none): there is no audit log");
        http_blocking_error(b, &err);
        return;
    }
    char model[256], after_text[32], limit_text[32];
    const char *model_name = query_value(b->query, "model", model, sizeof(model));
    const char *after = query_value(b->query, "after", after_text, sizeof(after_text));
    const char *limit = query_value(b->query, "limit", limit_text, sizeof(limit_text));
    char *end;
    long long after_id = after ? strtoll(after, &end, 10) : 0;
    long long max_entries = limit ? strtoll(limit, &end, 10) : 100;
    if ((after && (after_id < 0 || *after == '\0')) || max_entries < 1 || max_entries > 10000) {
        inferd_fail(&err, INFERD_EINVAL,
                    "query: after must be an entry id >= 0 and limit a number from 1 to 10000");
        http_blocking_error(b, &err);
        return;
    }
    inferd_audit_entry_t *entries = NULL;
    size_t n = 0;
    if (inferd_registry_list_audit(registry, model_name, after_id, (size_t)max_entries, &entries,
                                   &n, &err) != 0) {
        http_blocking_error(b, &err);
        return;
    }
    inferd_jsonw_t *w = &b->out;
    inferd_jsonw_lit(w, "{\"entries\":[");
    for (size_t i = 0; i < n; i++) {
        const inferd_audit_entry_t *e = &entries[i];
        inferd_jsonw_lit(w, i ? ",{\"id\":" : "{\"id\":");
        inferd_jsonw_int(w, e->id);
        inferd_jsonw_lit(w, ",\"at\":");
        inferd_jsonw_time_ms(w, e->at_ms);
        inferd_jsonw_lit(w, ",\"actor\":");
        inferd_jsonw_cstr(w, e->actor ? e->actor : "");
        inferd_jsonw_lit(w, ",\"action\":");
        inferd_jsonw_cstr(w, e->action ? e->action : "");
        inferd_jsonw_lit(w, ",\"model\":");
        inferd_jsonw_cstr(w, e->model ? e->model : "");
        inferd_jsonw_lit(w, ",\"version\":");
        if (e->version > 0)
            inferd_jsonw_int(w, e->version);
        else
            inferd_jsonw_lit(w, "null");
        inferd_jsonw_lit(w, ",\"detail\":");
        write_raw_or_null(w, e->detail_json);
        inferd_jsonw_lit(w, ",\"reason\":");
        inferd_jsonw_cstr(w, e->reason ? e->reason : "");
        inferd_jsonw_lit(w, "}");
    }
    inferd_jsonw_lit(w, "]}");
    inferd_audit_entries_free(entries, n);
}

void v1_audit(http_call_t *call)
{
    http_run_blocking(call, audit_work, NULL);
}
