/* The KServe/Triton model repository extension: POST /v2/repository/index lists every model
 * folder with its state; POST /v2/repository/models/{m}/load and .../unload change what is
 * served (explicit model-control mode only). The work runs on the control thread. */
#include "call.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *mode_name(inferd_control_mode_t mode)
{
    return mode == INFERD_CONTROL_POLL ? "poll" : mode == INFERD_CONTROL_NONE ? "none" : "explicit";
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void write_entry(inferd_jsonw_t *w, bool *is_first, const char *name,
                        const inferd_model_version_t *v, const char *state, const char *reason)
{
    inferd_jsonw_lit(w, *is_first ? "{\"name\":" : ",{\"name\":");
    *is_first = false;
    inferd_jsonw_cstr(w, name);
    if (v != NULL) {
        inferd_jsonw_lit(w, ",\"version\":");
        inferd_jsonw_cstr(w, v->version_str);
    }
    inferd_jsonw_lit(w, ",\"state\":");
    inferd_jsonw_cstr(w, state);
    if (reason != NULL) {
        inferd_jsonw_lit(w, ",\"reason\":");
        inferd_jsonw_cstr(w, reason);
    }
    inferd_jsonw_lit(w, "}");
}

static void index_work(http_blocking_t *b)
{
    bool ready_only = false;
    if (b->body_len > 0) {
        inferd_arena_t arena;
        inferd_arena_init(&arena, 4096, 1u << 20);
        inferd_json_t doc;
        inferd_err_t err;
        if (inferd_json_parse(&doc, b->body, b->body_len, &arena, &err) != 0 ||
            inferd_json_kind(&doc, 0) != INFERD_JSON_OBJECT) {
            inferd_arena_free(&arena);
            inferd_fail(&err, INFERD_EINVAL,
                        "the index request body must be a JSON object "
                        "such as {\"ready\": true}");
            http_blocking_error(b, &err);
            return;
        }
        int ready = inferd_json_get(&doc, 0, "ready");
        ready_only = ready >= 0 && inferd_json_kind(&doc, ready) == INFERD_JSON_TRUE;
        inferd_arena_free(&arena);
    }
    /* model folders on disk, sorted */
    const char *dir = inferd_repo_dir(b->repo);
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n_names = 0, cap = 0;
    struct dirent *entry;
    while (d != NULL && (entry = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
        if (entry->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (n_names == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL)
                break;
            names = grown;
        }
        if ((names[n_names] = strdup(entry->d_name)) != NULL)
            n_names++;
    }
    if (d != NULL)
        closedir(d);
    if (n_names > 1)
        qsort(names, n_names, sizeof(*names), compare_names);

    inferd_catalog_t *catalog = inferd_repo_snapshot(b->repo);
    inferd_jsonw_t *w = &b->out;
    bool is_first = true;
    inferd_jsonw_lit(w, "[");
    for (size_t i = 0; i < n_names; i++) {
        const inferd_model_t *model = inferd_catalog_model(catalog, names[i]);
        if (model == NULL) {
            if (!ready_only)
                write_entry(w, &is_first, names[i], NULL, "UNAVAILABLE", "unloaded");
        } else if (model->n_versions == 0) {
            if (!ready_only)
                write_entry(w, &is_first, names[i], NULL, "UNAVAILABLE",
                            model->failure ? model->failure : "no version");
        }
        for (size_t j = 0; model != NULL && j < model->n_versions; j++) {
            const inferd_model_version_t *v = model->versions[j];
            if (v->is_ready)
                write_entry(w, &is_first, names[i], v, "READY", NULL);
            else if (!ready_only)
                write_entry(w, &is_first, names[i], v, "UNAVAILABLE", v->failure);
        }
        free(names[i]);
    }
    inferd_jsonw_lit(w, "]");
    inferd_catalog_release(catalog);
    free(names);
}

void v2_repository_index(http_call_t *call)
{
    http_run_blocking(call, index_work, NULL);
}

/* Refuses a repository change unless the server runs in explicit mode (as Triton does). */
static bool may_change(http_blocking_t *b)
{
    if (inferd_repo_mode(b->repo) == INFERD_CONTROL_EXPLICIT)
        return true;
    inferd_err_t err;
    inferd_fail(&err, INFERD_EUNSUPPORTED,
                "models cannot be loaded or unloaded through the API in --model-control-mode %s; "
                "start inferd with --model-control-mode explicit",
                mode_name(inferd_repo_mode(b->repo)));
    http_blocking_error(b, &err);
    return false;
}

/* {"parameters": {"config": "<config.json text>"}}: the config override, or NULL. Returns 0 or
 * an error (the body is not such an object). */
static int read_load_body(http_blocking_t *b, char **OUT_config, inferd_err_t *err)
{
    *OUT_config = NULL;
    if (b->body_len == 0)
        return 0;
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 4u << 20);
    inferd_json_t doc;
    int rc = inferd_json_parse(&doc, b->body, b->body_len, &arena, err);
    if (rc == 0 && inferd_json_kind(&doc, 0) != INFERD_JSON_OBJECT)
        rc = inferd_fail(err, INFERD_EINVAL, "the load request body must be a JSON object");
    int config =
        rc == 0 ? inferd_json_get(&doc, inferd_json_get(&doc, 0, "parameters"), "config") : -1;
    char *text;
    if (rc == 0 && config >= 0) {
        if (inferd_json_kind(&doc, config) == INFERD_JSON_OBJECT) {
            size_t len;
            const char *raw = inferd_json_raw(&doc, config, &len);
            *OUT_config = strndup(raw, len);
        } else if (inferd_json_string(&doc, config, &arena, &text, NULL) == 0) {
            *OUT_config = strdup(text);
        } else {
            rc = inferd_fail(err, INFERD_EINVAL,
                             "parameters.config must hold the model's config.json as a string "
                             "(or an object)");
        }
    }
    inferd_arena_free(&arena);
    return rc;
}

static void load_work(http_blocking_t *b)
{
    if (!may_change(b))
        return;
    inferd_err_t err = {0};
    char *config = NULL;
    inferd_change_t change = {b->actor, "repository API load"};
    if (read_load_body(b, &config, &err) != 0 ||
        inferd_repo_load_model(b->repo, b->model, config, &change, &err) != 0) {
        free(config);
        http_blocking_error(b, &err);
        return;
    }
    free(config);
    inferd_jsonw_lit(&b->out, "{\"name\":");
    inferd_jsonw_cstr(&b->out, b->model);
    inferd_jsonw_lit(&b->out, ",\"loaded\":true}");
}

void v2_repository_load(http_call_t *call)
{
    http_run_blocking(call, load_work, NULL);
}

static void unload_work(http_blocking_t *b)
{
    if (!may_change(b))
        return;
    inferd_err_t err = {0};
    inferd_change_t change = {b->actor, "repository API unload"};
    if (inferd_repo_unload_model(b->repo, b->model, &change, &err) != 0) {
        http_blocking_error(b, &err);
        return;
    }
    inferd_jsonw_lit(&b->out, "{\"name\":");
    inferd_jsonw_cstr(&b->out, b->model);
    inferd_jsonw_lit(&b->out, ",\"unloaded\":true}");
}

void v2_repository_unload(http_call_t *call)
{
    http_run_blocking(call, unload_work, NULL);
}
