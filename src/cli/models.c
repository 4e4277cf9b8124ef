/* `inferd models ...` and `inferd audit`: the management API from a shell. Each subcommand is a
 * row of a table (name, usage, handler); each handler builds one request, sends it with
 * cli_call, and prints the answer as a table or, with --json, as the server sent it. */
#include "cli_private.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== options ==== */

enum {
    OPT_URL = 1000,
    OPT_JSON,
    OPT_USER,
    OPT_ARTIFACT,
    OPT_VERSION,
    OPT_FRAMEWORK,
    OPT_METADATA,
    OPT_TAGS,
    OPT_INSTANCES,
    OPT_MAX_BATCH,
    OPT_QUEUE_DELAY,
    OPT_DEFAULT,
    OPT_TO,
    OPT_REASON,
    OPT_MODEL,
    OPT_LIMIT,
    OPT_AFTER,
    OPT_HELP
};

static const struct option long_options[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"json", no_argument, NULL, OPT_JSON},
    {"user", required_argument, NULL, OPT_USER},
    {"artifact", required_argument, NULL, OPT_ARTIFACT},
    {"version", required_argument, NULL, OPT_VERSION},
    {"framework", required_argument, NULL, OPT_FRAMEWORK},
    {"metadata", required_argument, NULL, OPT_METADATA},
    {"tags", required_argument, NULL, OPT_TAGS},
    {"instances", required_argument, NULL, OPT_INSTANCES},
    {"max-batch-size", required_argument, NULL, OPT_MAX_BATCH},
    {"queue-delay-us", required_argument, NULL, OPT_QUEUE_DELAY},
    {"default", no_argument, NULL, OPT_DEFAULT},
    {"to", required_argument, NULL, OPT_TO},
    {"reason", required_argument, NULL, OPT_REASON},
    {"model", required_argument, NULL, OPT_MODEL},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"after", required_argument, NULL, OPT_AFTER},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

typedef struct {
    cli_options_t common;
    const char *artifact, *version, *framework, *metadata, *tags, *to, *reason, *model;
    const char *instances, *max_batch, *queue_delay, *limit, *after;
    bool make_default, wants_help;
    char **args; /* positional arguments after the subcommand */
    int n_args;
} cli_args_t;

static bool is_number(const char *text)
{
    if (text == NULL || *text == '\0')
        return false;
    for (const char *p = text; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* Parses argv (after the subcommand). Returns 0, or CLI_EXIT_USAGE after printing why. */
static int parse_args(int argc, char **argv, const char *usage, cli_args_t *a)
{
    memset(a, 0, sizeof(*a));
    a->common.url = getenv("INFERD_URL") ? getenv("INFERD_URL") : "http://127.0.0.1:8000";
    a->common.user = getenv("USER") && *getenv("USER") ? getenv("USER") : "cli";
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_URL:
            a->common.url = optarg;
            break;
        case OPT_JSON:
            a->common.is_json = true;
            break;
        case OPT_USER:
            a->common.user = optarg;
            break;
        case OPT_ARTIFACT:
            a->artifact = optarg;
            break;
        case OPT_VERSION:
            a->version = optarg;
            break;
        case OPT_FRAMEWORK:
            a->framework = optarg;
            break;
        case OPT_METADATA:
            a->metadata = optarg;
            break;
        case OPT_TAGS:
            a->tags = optarg;
            break;
        case OPT_INSTANCES:
            a->instances = optarg;
            break;
        case OPT_MAX_BATCH:
            a->max_batch = optarg;
            break;
        case OPT_QUEUE_DELAY:
            a->queue_delay = optarg;
            break;
        case OPT_DEFAULT:
            a->make_default = true;
            break;
        case OPT_TO:
            a->to = optarg;
            break;
        case OPT_REASON:
            a->reason = optarg;
            break;
        case OPT_MODEL:
            a->model = optarg;
            break;
        case OPT_LIMIT:
            a->limit = optarg;
            break;
        case OPT_AFTER:
            a->after = optarg;
            break;
        case 'h':
        case OPT_HELP:
            a->wants_help = true;
            break;
        default:
            fprintf(stderr, "inferd: unknown option '%s'\n%s", argv[optind - 1], usage);
            return CLI_EXIT_USAGE;
        }
    }
    const char *numbers[][2] = {{"--version", a->version},
                                {"--to", a->to},
                                {"--instances", a->instances},
                                {"--max-batch-size", a->max_batch},
                                {"--queue-delay-us", a->queue_delay},
                                {"--limit", a->limit},
                                {"--after", a->after}};
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
        if (numbers[i][1] != NULL && !is_number(numbers[i][1])) {
            fprintf(stderr, "inferd: %s takes a whole number, not '%s'\n", numbers[i][0],
                    numbers[i][1]);
            return CLI_EXIT_USAGE;
        }
    a->args = argv + optind;
    a->n_args = argc - optind;
    return 0;
}

/* ==== printing ==== */

static void print_json(cli_reply_t *reply)
{
    fwrite(reply->body.buf, 1, reply->body.len, stdout);
    fputc('\n', stdout);
}

/* A JSON list of numbers or an object {"label": n} as "1, 2" / "stable=2". */
static const char *compact(cli_reply_t *reply, int obj, const char *key)
{
    int tok = inferd_json_get(&reply->doc, obj, key);
    if (tok < 0 || inferd_json_size(&reply->doc, tok) == 0)
        return "-";
    inferd_jsonw_t w = {0};
    bool is_object = inferd_json_kind(&reply->doc, tok) == INFERD_JSON_OBJECT;
    for (int i = 0, item = tok + 1; i < inferd_json_size(&reply->doc, tok); i++) {
        size_t len;
        const char *raw = inferd_json_raw(&reply->doc, item, &len);
        if (i)
            inferd_jsonw_lit(&w, ",");
        inferd_jsonw_raw(&w, raw, len);
        if (is_object) {
            raw = inferd_json_raw(&reply->doc, item + 1, &len);
            inferd_jsonw_lit(&w, "=");
            inferd_jsonw_raw(&w, raw, len);
            item = inferd_json_next(&reply->doc, item + 1);
        } else {
            item = inferd_json_next(&reply->doc, item);
        }
    }
    const char *text = inferd_jsonw_cstr_of(&w);
    char *copy = text ? inferd_arena_strndup(&reply->arena, text, w.len) : "-";
    inferd_jsonw_free(&w);
    return copy;
}

static const char *short_hash(cli_reply_t *reply, int obj)
{
    const char *sha = cli_string(reply, obj, "sha256");
    return strlen(sha) > 12 ? inferd_arena_strndup(&reply->arena, sha, 12) : sha;
}

/* ==== the subcommands ==== */

typedef int (*command_fn)(cli_args_t *a);

static int cmd_list(cli_args_t *a)
{
    cli_reply_t r;
    int rc = cli_call(&a->common, "GET", "/v1/models", NULL, &r);
    if (rc != 0)
        return rc;
    if (a->common.is_json) {
        print_json(&r);
    } else {
        int models = inferd_json_get(&r.doc, 0, "models");
        printf("%-24s %-8s %-12s %-16s %s\n", "NAME", "DEFAULT", "SERVING", "VERSIONS", "LABELS");
        for (int i = 0, m = models + 1; models >= 0 && i < inferd_json_size(&r.doc, models);
             i++, m = inferd_json_next(&r.doc, m))
            printf("%-24s %-8s %-12s %-16s %s\n", cli_string(&r, m, "name"),
                   cli_string(&r, m, "default_version"), compact(&r, m, "serving"),
                   compact(&r, m, "versions"), compact(&r, m, "labels"));
    }
    cli_reply_free(&r);
    return 0;
}

static int cmd_show(cli_args_t *a)
{
    char path[512];
    snprintf(path, sizeof(path), "/v1/models/%s", a->args[0]);
    cli_reply_t r;
    int rc = cli_call(&a->common, "GET", path, NULL, &r);
    if (rc != 0)
        return rc;
    if (a->common.is_json) {
        print_json(&r);
        cli_reply_free(&r);
        return 0;
    }
    printf("model:    %s\ndefault:  %s\nserving:  %s\nlabels:   %s\n\n", cli_string(&r, 0, "name"),
           cli_string(&r, 0, "default_version"), cli_string(&r, 0, "serving_version"),
           compact(&r, 0, "labels"));
    printf("%-8s %-11s %-11s %12s  %-12s %-24s %s\n", "VERSION", "STATUS", "STATE", "BYTES",
           "SHA256", "CREATED", "BY");
    int versions = inferd_json_get(&r.doc, 0, "versions");
    for (int i = 0, v = versions + 1; versions >= 0 && i < inferd_json_size(&r.doc, versions);
         i++, v = inferd_json_next(&r.doc, v))
        printf("%-8s %-11s %-11s %12s  %-12s %-24s %s\n", cli_string(&r, v, "version"),
               cli_string(&r, v, "status"), cli_string(&r, v, "state"),
               cli_string(&r, v, "size_bytes"), short_hash(&r, v), cli_string(&r, v, "created_at"),
               cli_string(&r, v, "created_by"));
    int deployments = inferd_json_get(&r.doc, 0, "deployments");
    if (deployments >= 0 && inferd_json_size(&r.doc, deployments) > 0) {
        printf("\n%-6s %-8s %-7s %-24s %-12s %s\n", "DEPLOY", "VERSION", "ACTIVE", "CREATED", "BY",
               "CONFIG");
        for (int i = 0, d = deployments + 1; i < inferd_json_size(&r.doc, deployments);
             i++, d = inferd_json_next(&r.doc, d))
            printf("%-6s %-8s %-7s %-24s %-12s %s\n", cli_string(&r, d, "id"),
                   cli_string(&r, d, "version"), cli_string(&r, d, "active"),
                   cli_string(&r, d, "created_at"), cli_string(&r, d, "created_by"),
                   cli_string(&r, d, "config"));
    }
    cli_reply_free(&r);
    return 0;
}

/* Appends `"key": value` to a JSON object being built; `text` as a string unless is_raw. */
static void add_member(inferd_jsonw_t *w, const char *key, const char *value, bool is_raw)
{
    if (value == NULL)
        return;
    inferd_jsonw_lit(w, w->len > 1 ? "," : "");
    inferd_jsonw_cstr(w, key);
    inferd_jsonw_lit(w, ":");
    if (is_raw)
        inferd_jsonw_lit(w, value);
    else
        inferd_jsonw_cstr(w, value);
}

/* Sends `method path` with the body built in `w`, prints `done` (a printf format taking the
 * reply) or the JSON, and frees `w`. */
static int send_change(cli_args_t *a, const char *method, const char *path, inferd_jsonw_t *w,
                       void (*print)(cli_reply_t *r, cli_args_t *a))
{
    inferd_jsonw_lit(w, "}");
    const char *body = inferd_jsonw_cstr_of(w);
    cli_reply_t r;
    int rc = body == NULL ? CLI_EXIT_FAILURE : cli_call(&a->common, method, path, body, &r);
    inferd_jsonw_free(w);
    if (rc != 0)
        return rc;
    if (a->common.is_json)
        print_json(&r);
    else
        print(&r, a);
    cli_reply_free(&r);
    return 0;
}

static void print_registered(cli_reply_t *r, cli_args_t *a)
{
    (void)a;
    printf("registered %s version %s (%s, sha256 %s, %s bytes); deploy it with `inferd models "
           "deploy %s --version %s`\n",
           cli_string(r, 0, "name"), cli_string(r, 0, "version"), cli_string(r, 0, "framework"),
           cli_string(r, 0, "sha256"), cli_string(r, 0, "size_bytes"), cli_string(r, 0, "name"),
           cli_string(r, 0, "version"));
}

static int cmd_register(cli_args_t *a)
{
    if (a->artifact == NULL) {
        fprintf(stderr, "inferd models register: --artifact PATH is required\n");
        return CLI_EXIT_USAGE;
    }
    inferd_jsonw_t w = {0};
    inferd_jsonw_lit(&w, "{");
    add_member(&w, "name", a->args[0], false);
    add_member(&w, "artifact", a->artifact, false);
    add_member(&w, "version", a->version, true);
    add_member(&w, "framework", a->framework, false);
    add_member(&w, "metadata", a->metadata, true);
    add_member(&w, "reason", a->reason, false);
    if (a->tags != NULL) { /* "a,b" -> ["a","b"] */
        inferd_jsonw_lit(&w, ",\"tags\":[");
        char *copy = strdup(a->tags), *save = NULL;
        int n = 0;
        for (char *tag = strtok_r(copy, ",", &save); tag; tag = strtok_r(NULL, ",", &save)) {
            inferd_jsonw_lit(&w, n++ ? "," : "");
            inferd_jsonw_cstr(&w, tag);
        }
        free(copy);
        inferd_jsonw_lit(&w, "]");
    }
    return send_change(a, "POST", "/v1/models", &w, print_registered);
}

static void print_deployed(cli_reply_t *r, cli_args_t *a)
{
    printf("%s version %s serves (deployment %s)%s\n", cli_string(r, 0, "model"),
           cli_string(r, 0, "version"), cli_string(r, 0, "id"),
           a->make_default ? ", and is the default version" : "");
}

static int cmd_deploy(cli_args_t *a)
{
    if (a->version == NULL) {
        fprintf(stderr, "inferd models deploy: --version N is required\n");
        return CLI_EXIT_USAGE;
    }
    inferd_jsonw_t w = {0};
    inferd_jsonw_lit(&w, "{");
    add_member(&w, "version", a->version, true);
    add_member(&w, "instance_count", a->instances, true);
    add_member(&w, "max_batch_size", a->max_batch, true);
    add_member(&w, "reason", a->reason, false);
    if (a->queue_delay != NULL) {
        inferd_jsonw_lit(&w, ",\"dynamic_batching\":{\"max_queue_delay_microseconds\":");
        inferd_jsonw_lit(&w, a->queue_delay);
        inferd_jsonw_lit(&w, "}");
    }
    if (a->make_default)
        inferd_jsonw_lit(&w, ",\"make_default\":true");
    char path[512];
    snprintf(path, sizeof(path), "/v1/models/%s/deployments", a->args[0]);
    return send_change(a, "POST", path, &w, print_deployed);
}

static void print_default(cli_reply_t *r, cli_args_t *a)
{
    (void)a;
    printf("%s: default version %s\n", cli_string(r, 0, "model"),
           cli_string(r, 0, "default_version"));
}

static int cmd_default(cli_args_t *a)
{
    if (!is_number(a->args[1])) {
        fprintf(stderr, "inferd models default: the version must be a number\n");
        return CLI_EXIT_USAGE;
    }
    char path[512];
    snprintf(path, sizeof(path), "/v1/models/%s/versions/%s/default", a->args[0], a->args[1]);
    inferd_jsonw_t w = {0};
    inferd_jsonw_lit(&w, "{");
    add_member(&w, "reason", a->reason, false);
    return send_change(a, "PUT", path, &w, print_default);
}

static void print_label(cli_reply_t *r, cli_args_t *a)
{
    (void)a;
    printf("%s: label %s -> version %s\n", cli_string(r, 0, "model"), cli_string(r, 0, "label"),
           cli_string(r, 0, "version"));
}

static int cmd_label(cli_args_t *a)
{
    if (!is_number(a->args[2])) {
        fprintf(stderr, "inferd models label: the version must be a number\n");
        return CLI_EXIT_USAGE;
    }
    char path[512];
    snprintf(path, sizeof(path), "/v1/models/%s/labels/%s", a->args[0], a->args[1]);
    inferd_jsonw_t w = {0};
    inferd_jsonw_lit(&w, "{");
    add_member(&w, "version", a->args[2], true);
    add_member(&w, "reason", a->reason, false);
    return send_change(a, "PUT", path, &w, print_label);
}

static void print_rollback(cli_reply_t *r, cli_args_t *a)
{
    (void)a;
    printf("%s: rolled back from version %s to %s (reason: %s)\n", cli_string(r, 0, "model"),
           cli_string(r, 0, "previous_version"), cli_string(r, 0, "default_version"),
           cli_string(r, 0, "reason"));
}

static int cmd_rollback(cli_args_t *a)
{
    if (a->to == NULL) {
        fprintf(stderr, "inferd models rollback: --to N is required\n");
        return CLI_EXIT_USAGE;
    }
    char path[512];
    snprintf(path, sizeof(path), "/v1/models/%s/rollback", a->args[0]);
    inferd_jsonw_t w = {0};
    inferd_jsonw_lit(&w, "{");
    add_member(&w, "to_version", a->to, true);
    add_member(&w, "reason", a->reason, false);
    return send_change(a, "POST", path, &w, print_rollback);
}

static void print_unloaded(cli_reply_t *r, cli_args_t *a)
{
    (void)r;
    if (a->version != NULL)
        printf("%s version %s no longer serves\n", a->args[0], a->version);
    else
        printf("%s unloaded\n", a->args[0]);
}

static int cmd_unload(cli_args_t *a)
{
    char path[512];
    if (a->version != NULL)
        snprintf(path, sizeof(path), "/v1/models/%s/versions/%s/undeploy", a->args[0], a->version);
    else
        snprintf(path, sizeof(path), "/v2/repository/models/%s/unload", a->args[0]);
    inferd_jsonw_t w = {0};
    inferd_jsonw_lit(&w, "{");
    return send_change(a, "POST", path, &w, print_unloaded);
}

/* ==== the tables of subcommands ==== */

typedef struct {
    const char *name;
    int n_args; /* positional arguments required */
    const char *usage;
    command_fn run;
} command_t;

static const command_t commands[] = {
    {"list", 0, "inferd models list", cmd_list},
    {"show", 1, "inferd models show MODEL", cmd_show},
    {"register", 1,
     "inferd models register MODEL --artifact PATH [--version N] [--framework F] "
     "[--metadata JSON] [--tags a,b]",
     cmd_register},
    {"deploy", 1,
     "inferd models deploy MODEL --version N [--instances N] [--max-batch-size N] "
     "[--queue-delay-us N] [--default]",
     cmd_deploy},
    {"default", 2, "inferd models default MODEL VERSION", cmd_default},
    {"label", 3, "inferd models label MODEL LABEL VERSION", cmd_label},
    {"rollback", 1, "inferd models rollback MODEL --to N [--reason TEXT]", cmd_rollback},
    {"unload", 1, "inferd models unload MODEL [--version N]", cmd_unload},
};

static void models_usage(FILE *out)
{
    fputs("usage: inferd models <command> [options]\n\ncommands:\n", out);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %s\n", commands[i].usage);
    fputs("\ncommon options:\n"
          "  --url URL     the server (default $INFERD_URL or http://127.0.0.1:8000)\n"
          "  --user NAME   who acts, for the audit log (default $USER)\n"
          "  --reason TEXT why, for the audit log (changes)\n"
          "  --json        print the server's JSON instead of a table\n",
          out);
}

int inferd_cli_models(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        models_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const command_t *c = &commands[i];
        if (strcmp(argv[1], c->name) != 0)
            continue;
        char usage[512];
        snprintf(usage, sizeof(usage), "usage: %s [--url URL] [--user NAME] [--json]\n", c->usage);
        cli_args_t a;
        int rc = parse_args(argc - 1, argv + 1, usage, &a);
        if (rc != 0)
            return rc;
        if (a.wants_help) {
            fputs(usage, stdout);
            return 0;
        }
        if (a.n_args != c->n_args) {
            fprintf(stderr, "inferd models %s: expected %d argument%s, got %d\n%s", c->name,
                    c->n_args, c->n_args == 1 ? "" : "s", a.n_args, usage);
            return CLI_EXIT_USAGE;
        }
        return c->run(&a);
    }
    fprintf(stderr, "inferd models: unknown command '%s'\n", argv[1]);
    models_usage(stderr);
    return CLI_EXIT_USAGE;
}

int inferd_cli_audit(int argc, char **argv)
{
    static const char usage[] = "usage: inferd audit [--model M] [--limit N] [--after ID] "
                                "[--url URL] [--json]\n";
    cli_args_t a;
    int rc = parse_args(argc, argv, usage, &a);
    if (rc != 0)
        return rc;
    if (a.wants_help) {
        fputs(usage, stdout);
        return 0;
    }
    if (a.n_args != 0) {
        fprintf(stderr, "inferd audit: unexpected argument '%s'\n%s", a.args[0], usage);
        return CLI_EXIT_USAGE;
    }
    char path[512];
    snprintf(path, sizeof(path), "/v1/audit?limit=%s%s%s%s%s", a.limit ? a.limit : "100",
             a.model ? "&model=" : "", a.model ? a.model : "", a.after ? "&after=" : "",
             a.after ? a.after : "");
    cli_reply_t r;
    if ((rc = cli_call(&a.common, "GET", path, NULL, &r)) != 0)
        return rc;
    if (a.common.is_json) {
        print_json(&r);
    } else {
        int entries = inferd_json_get(&r.doc, 0, "entries");
        printf("%-6s %-24s %-12s %-14s %-16s %-8s %s\n", "ID", "AT", "ACTOR", "ACTION", "MODEL",
               "VERSION", "REASON");
        for (int i = 0, e = entries + 1; entries >= 0 && i < inferd_json_size(&r.doc, entries);
             i++, e = inferd_json_next(&r.doc, e))
            printf("%-6s %-24s %-12s %-14s %-16s %-8s %s\n", cli_string(&r, e, "id"),
                   cli_string(&r, e, "at"), cli_string(&r, e, "actor"), cli_string(&r, e, "action"),
                   cli_string(&r, e, "model"), cli_string(&r, e, "version"),
                   cli_string(&r, e, "reason"));
    }
    cli_reply_free(&r);
    return 0;
}
