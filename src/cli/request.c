/* The request each subcommand sends: its method, its path (names percent-encoded, so that a
 * model called "a/b" cannot change which endpoint is called) and its JSON body, written with the
 * project's JSON writer. Pure functions of the parsed arguments: the unit tests check the exact
 * bodies. */
#include "cli_private.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_escape(const char *text, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        bool is_unreserved = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                             (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
                             *p == '~';
        size_t need = is_unreserved ? 1 : 3;
        if (n + need >= size)
            return -1;
        if (is_unreserved) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    if (n >= size)
        return -1;
    out[n] = '\0';
    return 0;
}

/* Formats OUT->path from `format`, whose %s are filled with the escaped `parts` in order (up to
 * three). Returns 0 or CLI_EXIT_USAGE when a name is too long. */
static int set_path(cli_request_t *OUT, char *why, size_t why_size, const char *format,
                    const char *part0, const char *part1, const char *part2)
{
    const char *parts[3] = {part0, part1, part2};
    char escaped[3][600];
    for (int i = 0; i < 3; i++) {
        escaped[i][0] = '\0';
        if (parts[i] != NULL && cli_escape(parts[i], escaped[i], sizeof(escaped[i])) != 0) {
            snprintf(why, why_size, "the name '%.40s...' is too long", parts[i]);
            return CLI_EXIT_USAGE;
        }
    }
    snprintf(OUT->path, sizeof(OUT->path), format, escaped[0], escaped[1], escaped[2]);
    return 0;
}

static void start(cli_request_t *OUT, const char *method)
{
    memset(OUT, 0, sizeof(*OUT));
    OUT->method = method;
}

/* ==== writing a body ==== */

/* Members are added with a comma before all but the first: the body starts as "{". */
static void member(inferd_jsonw_t *w, const char *key)
{
    inferd_jsonw_lit(w, w->len > 1 ? "," : "");
    inferd_jsonw_cstr(w, key);
    inferd_jsonw_lit(w, ":");
}

static void string_member(inferd_jsonw_t *w, const char *key, const char *value)
{
    if (value == NULL)
        return;
    member(w, key);
    inferd_jsonw_cstr(w, value);
}

static void number_member(inferd_jsonw_t *w, const char *key, int64_t value)
{
    if (value < 0)
        return;
    member(w, key);
    inferd_jsonw_int(w, value);
}

/* Closes the body; a writer out of memory is reported as a failure to build it. */
static int finish(cli_request_t *OUT, char *why, size_t why_size)
{
    inferd_jsonw_lit(&OUT->body, "}");
    if (inferd_jsonw_cstr_of(&OUT->body) == NULL) {
        snprintf(why, why_size, "out of memory building the request");
        return CLI_EXIT_FAILURE;
    }
    return 0;
}

/* "a, b,,c" as ["a","b","c"]: blanks around a tag trimmed, empty tags dropped. */
static void tags_member(inferd_jsonw_t *w, const char *tags)
{
    member(w, "tags");
    inferd_jsonw_lit(w, "[");
    int n = 0;
    for (const char *p = tags; *p;) {
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        const char *first = p, *last = end;
        while (first < last && (*first == ' ' || *first == '\t'))
            first++;
        while (last > first && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        if (last > first) {
            inferd_jsonw_lit(w, n++ ? "," : "");
            inferd_jsonw_str(w, first, (size_t)(last - first));
        }
        p = *end ? end + 1 : end;
    }
    inferd_jsonw_lit(w, "]");
}

/* --metadata must be one JSON object; it is sent as the user wrote it. */
static int metadata_member(inferd_jsonw_t *w, const char *metadata, char *why, size_t why_size)
{
    inferd_arena_t arena;
    inferd_arena_init(&arena, 4096, 16u << 20);
    inferd_json_t doc;
    inferd_err_t err = {0};
    int rc = inferd_json_parse(&doc, metadata, strlen(metadata), &arena, &err);
    bool is_object = rc == 0 && inferd_json_kind(&doc, 0) == INFERD_JSON_OBJECT;
    inferd_arena_free(&arena);
    if (!is_object) {
        snprintf(why, why_size,
                 "--metadata must be a JSON object such as '{\"accuracy\": 0.98}'%s%s",
                 rc != 0 ? ": " : "", rc != 0 ? err.msg : "");
        return CLI_EXIT_USAGE;
    }
    member(w, "metadata");
    inferd_jsonw_lit(w, metadata);
    return 0;
}

/* ==== one builder per subcommand ==== */

int cli_build_list(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size)
{
    start(OUT, "GET");
    return set_path(OUT, why, why_size, "/v1/models", NULL, NULL, NULL);
}

int cli_build_show(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size)
{
    start(OUT, "GET");
    return set_path(OUT, why, why_size, "/v1/models/%s", a->operands[0], NULL, NULL);
}

int cli_build_register(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size)
{
    start(OUT, "POST");
    set_path(OUT, why, why_size, "/v1/models", NULL, NULL, NULL);
    if (a->artifact == NULL || a->artifact[0] == '\0') {
        snprintf(why, why_size, "--artifact PATH is required");
        return CLI_EXIT_USAGE;
    }
    inferd_jsonw_t *w = &OUT->body;
    inferd_jsonw_lit(w, "{");
    string_member(w, "name", a->operands[0]);
    /* the server resolves paths from its own working directory: send ours made absolute */
    char *absolute = NULL;
    if (a->artifact[0] != '/' && strstr(a->artifact, "://") == NULL) {
        char *cwd = getcwd(NULL, 0);
        if (cwd != NULL && (absolute = malloc(strlen(cwd) + strlen(a->artifact) + 2)) != NULL)
            sprintf(absolute, "%s/%s", cwd, a->artifact);
        free(cwd);
    }
    string_member(w, "artifact", absolute ? absolute : a->artifact);
    free(absolute);
    number_member(w, "version", a->version);
    string_member(w, "framework", a->framework);
    if (a->metadata != NULL && metadata_member(w, a->metadata, why, why_size) != 0)
        return CLI_EXIT_USAGE;
    if (a->tags != NULL)
        tags_member(w, a->tags);
    string_member(w, "reason", a->reason);
    return finish(OUT, why, why_size);
}

int cli_build_deploy(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size)
{
    start(OUT, "POST");
    int rc = set_path(OUT, why, why_size, "/v1/models/%s/deployments", a->operands[0], NULL, NULL);
    if (rc != 0)
        return rc;
    inferd_jsonw_t *w = &OUT->body;
    inferd_jsonw_lit(w, "{");
    number_member(w, "version", a->version);
    number_member(w, "instance_count", a->instances);
    number_member(w, "max_batch_size", a->max_batch_size);
    if (a->queue_delay_us >= 0) {
        member(w, "dynamic_batching");
        inferd_jsonw_lit(w, "{\"max_queue_delay_microseconds\":");
        inferd_jsonw_int(w, a->queue_delay_us);
        inferd_jsonw_lit(w, "}");
    }
    if (a->make_default) {
        member(w, "make_default");
        inferd_jsonw_bool(w, true);
    }
    string_member(w, "reason", a->reason);
    return finish(OUT, why, why_size);
}

int cli_build_default(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size)
{
    start(OUT, "PUT");
    int rc = set_path(OUT, why, why_size, "/v1/models/%s/versions/%s/default", a->operands[0],
                      a->operands[1], NULL);
    if (rc != 0)
        return rc;
    inferd_jsonw_lit(&OUT->body, "{");
    string_member(&OUT->body, "reason", a->reason);
    return finish(OUT, why, why_size);
}

int cli_build_label(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size)
{
    start(OUT, "PUT");
    int rc = set_path(OUT, why, why_size, "/v1/models/%s/labels/%s", a->operands[0], a->operands[1],
                      NULL);
    if (rc != 0)
        return rc;
    inferd_jsonw_lit(&OUT->body, "{");
    number_member(&OUT->body, "version", a->operand_version);
    string_member(&OUT->body, "reason", a->reason);
    return finish(OUT, why, why_size);
}

int cli_build_rollback(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size)
{
    start(OUT, "POST");
    int rc = set_path(OUT, why, why_size, "/v1/models/%s/rollback", a->operands[0], NULL, NULL);
    if (rc != 0)
        return rc;
    inferd_jsonw_lit(&OUT->body, "{");
    number_member(&OUT->body, "to_version", a->to_version);
    string_member(&OUT->body, "reason", a->reason);
    return finish(OUT, why, why_size);
}

/* One version stops serving (the management API), or the whole model is unloaded (the
 * repository API, which the server allows in explicit model-control mode only). */
int cli_build_unload(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size)
{
    start(OUT, "POST");
    char version[24];
    snprintf(version, sizeof(version), "%lld", (long long)a->version);
    int rc = a->version > 0 ? set_path(OUT, why, why_size, "/v1/models/%s/versions/%s/undeploy",
                                       a->operands[0], version, NULL)
                            : set_path(OUT, why, why_size, "/v2/repository/models/%s/unload",
                                       a->operands[0], NULL, NULL);
    if (rc != 0)
        return rc;
    inferd_jsonw_lit(&OUT->body, "{");
    string_member(&OUT->body, "reason", a->reason);
    return finish(OUT, why, why_size);
}

/* Appends "?key=value" (or "&key=value" after the first) to the path, the value escaped. */
static int add_query(cli_request_t *OUT, const char *key, const char *value, char *why,
                     size_t why_size)
{
    char escaped[600];
    size_t len = strlen(OUT->path);
    if (cli_escape(value, escaped, sizeof(escaped)) != 0 ||
        snprintf(OUT->path + len, sizeof(OUT->path) - len, "%c%s=%s",
                 strchr(OUT->path, '?') ? '&' : '?', key,
                 escaped) >= (int)(sizeof(OUT->path) - len)) {
        snprintf(why, why_size, "the %s '%.40s...' is too long", key, value);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int cli_build_audit(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size)
{
    start(OUT, "GET");
    snprintf(OUT->path, sizeof(OUT->path), "/v1/audit");
    char number[24];
    int rc = 0;
    if (a->model != NULL)
        rc = add_query(OUT, "model", a->model, why, why_size);
    if (rc == 0 && a->after >= 0) {
        snprintf(number, sizeof(number), "%lld", (long long)a->after);
        rc = add_query(OUT, "after", number, why, why_size);
    }
    if (rc == 0 && a->limit > 0) {
        snprintf(number, sizeof(number), "%lld", (long long)a->limit);
        rc = add_query(OUT, "limit", number, why, why_size);
    }
    return rc;
}

void cli_request_free(cli_request_t *request)
{
    inferd_jsonw_free(&request->body);
    memset(request, 0, sizeof(*request));
}
