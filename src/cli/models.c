/* `inferd models ...` and `inferd audit`: the management API from a shell. Each subcommand is a
 * row of one table (operands, options, help, the request it builds, how its answer is printed);
 * running one is always the same five steps: parse, build, call, print, free. */
#include "cli_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== printing answers ==== */

static void print_list(cli_reply_t *r, const cli_args_t *a, FILE *out)
{
    static const cli_column_t columns[] = {{"NAME", false},
                                           {"DEFAULT", true},
                                           {"SERVING", false},
                                           {"VERSIONS", false},
                                           {"LABELS", false}};
    cli_table_t table;
    cli_table_init(&table, columns, 5);
    int models = inferd_json_get(&r->doc, 0, "models");
    for (int i = 0, m = models + 1; models >= 0 && i < inferd_json_size(&r->doc, models);
         i++, m = inferd_json_next(&r->doc, m)) {
        const char *row[] = {cli_cell(r, m, "name"), cli_cell(r, m, "default_version"),
                             cli_cell_compact(r, m, "serving"), cli_cell_compact(r, m, "versions"),
                             cli_cell_compact(r, m, "labels")};
        cli_table_add(&table, row);
    }
    cli_table_print(&table, out);
    cli_table_free(&table);
}

/* The first 12 hex digits of a version's sha256: enough to tell versions apart. */
static const char *short_sha(cli_reply_t *r, int version)
{
    const char *sha = cli_cell(r, version, "sha256");
    return strlen(sha) > 12 ? inferd_arena_strndup(&r->arena, sha, 12) : sha;
}

static void print_show(cli_reply_t *r, const cli_args_t *a, FILE *out)
{
    static const cli_column_t fields_columns[] = {{NULL, false}, {NULL, false}};
    cli_table_t fields;
    cli_table_init(&fields, fields_columns, 2);
    cli_table_add(&fields, (const char *[]){"model:", cli_cell(r, 0, "name")});
    cli_table_add(&fields, (const char *[]){"default:", cli_cell(r, 0, "default_version")});
    cli_table_add(&fields, (const char *[]){"serving:", cli_cell(r, 0, "serving_version")});
    cli_table_add(&fields, (const char *[]){"labels:", cli_cell_compact(r, 0, "labels")});
    cli_table_print(&fields, out);
    cli_table_free(&fields);

    static const cli_column_t version_columns[] = {
        {"VERSION", true},    {"STATUS", false},  {"STATE", false},
        {"FRAMEWORK", false}, {"BYTES", true},    {"SHA256", false},
        {"TAGS", false},      {"CREATED", false}, {"BY", false}};
    cli_table_t versions;
    cli_table_init(&versions, version_columns, 9);
    int list = inferd_json_get(&r->doc, 0, "versions");
    for (int i = 0, v = list + 1; list >= 0 && i < inferd_json_size(&r->doc, list);
         i++, v = inferd_json_next(&r->doc, v)) {
        const char *row[] = {cli_cell(r, v, "version"),      cli_cell(r, v, "status"),
                             cli_cell(r, v, "state"),        cli_cell(r, v, "framework"),
                             cli_cell(r, v, "size_bytes"),   short_sha(r, v),
                             cli_cell_compact(r, v, "tags"), cli_cell(r, v, "created_at"),
                             cli_cell(r, v, "created_by")};
        cli_table_add(&versions, row);
    }
    fputc('\n', out);
    cli_table_print(&versions, out);
    cli_table_free(&versions);

    int list_deployments = inferd_json_get(&r->doc, 0, "deployments");
    if (list_deployments < 0 || inferd_json_size(&r->doc, list_deployments) == 0)
        return;
    static const cli_column_t deployment_columns[] = {{"DEPLOYMENT", true}, {"VERSION", true},
                                                      {"ACTIVE", false},    {"CREATED", false},
                                                      {"BY", false},        {"CONFIG", false}};
    cli_table_t deployments;
    cli_table_init(&deployments, deployment_columns, 6);
    for (int i = 0, d = list_deployments + 1; i < inferd_json_size(&r->doc, list_deployments);
         i++, d = inferd_json_next(&r->doc, d)) {
        const char *active = cli_cell(r, d, "active");
        const char *row[] = {cli_cell(r, d, "id"),
                             cli_cell(r, d, "version"),
                             strcmp(active, "true") == 0 ? "yes" : "no",
                             cli_cell(r, d, "created_at"),
                             cli_cell(r, d, "created_by"),
                             cli_cell(r, d, "config")};
        cli_table_add(&deployments, row);
    }
    fputc('\n', out);
    cli_table_print(&deployments, out);
    cli_table_free(&deployments);
}

static void print_registered(cli_reply_t *r, const cli_args_t *a, FILE *out)
{
    const char *name = cli_cell(r, 0, "name"), *version = cli_cell(r, 0, "version");
    fprintf(out, "registered %s version %s (%s bytes, sha256 %s)\n", name, version,
            cli_cell(r, 0, "size_bytes"), cli_cell(r, 0, "sha256"));
    fprintf(out, "it does not serve yet: inferd models deploy %s --version %s\n", name, version);
}

static void print_deployed(cli_reply_t *r, const cli_args_t *a, FILE *out)
{
    fprintf(out, "%s version %s serves (deployment %s)%s\n", cli_cell(r, 0, "model"),
            cli_cell(r, 0, "version"), cli_cell(r, 0, "id"),
            a->make_default ? " and is the default version" : "");
}

static void print_default(cli_reply_t *r, const cli_args_t *a, FILE *out)
{
    fprintf(out, "%s: default version %s\n", cli_cell(r, 0, "model"),
            cli_cell(r, 0, "default_version"));
}

static void print_label(cli_reply_t *r, const cli_args_t *a, FILE *out)
{
    fprintf(out, "%s: label %s -> version %s\n", cli_cell(r, 0, "model"), cli_cell(r, 0, "label"),
            cli_cell(r, 0, "version"));
}

static void print_rollback(cli_reply_t *r, const cli_args_t *a, FILE *out)
{
    const char *reason = cli_cell(r, 0, "reason");
    fprintf(out, "%s: rolled back from version %s to %s", cli_cell(r, 0, "model"),
            cli_cell(r, 0, "previous_version"), cli_cell(r, 0, "default_version"));
    if (strcmp(reason, "-") != 0)
        fprintf(out, " (reason: %s)", reason);
    fputc('\n', out);
}

static void print_unloaded(cli_reply_t *r, const cli_args_t *a, FILE *out)
{
    if (a->version > 0)
        fprintf(out, "%s version %lld no longer serves\n", a->operands[0], (long long)a->version);
    else
        fprintf(out, "%s unloaded: none of its versions serves\n", a->operands[0]);
}

static void print_audit(cli_reply_t *r, const cli_args_t *a, FILE *out)
{
    static const cli_column_t columns[] = {{"ID", true},      {"AT", false},    {"ACTOR", false},
                                           {"ACTION", false}, {"MODEL", false}, {"VERSION", true},
                                           {"REASON", false}, {"DETAIL", false}};
    cli_table_t table;
    cli_table_init(&table, columns, 8);
    int entries = inferd_json_get(&r->doc, 0, "entries");
    int n_entries = entries >= 0 ? inferd_json_size(&r->doc, entries) : 0;
    const char *last_id = NULL;
    for (int i = 0, e = entries + 1; i < n_entries; i++, e = inferd_json_next(&r->doc, e)) {
        const char *row[] = {cli_cell(r, e, "id"),     cli_cell(r, e, "at"),
                             cli_cell(r, e, "actor"),  cli_cell(r, e, "action"),
                             cli_cell(r, e, "model"),  cli_cell(r, e, "version"),
                             cli_cell(r, e, "reason"), cli_cell(r, e, "detail")};
        cli_table_add(&table, row);
        last_id = row[0];
    }
    cli_table_print(&table, out);
    cli_table_free(&table);
    /* a full page may have a next one: say how to read it (on stderr: stdout stays the table) */
    if (last_id != NULL && n_entries == (a->limit > 0 ? a->limit : 100))
        fprintf(stderr, "(%d entries; the next ones: inferd audit --after %s%s%s)\n", n_entries,
                last_id, a->model ? " --model " : "", a->model ? a->model : "");
}

/* ==== the subcommands ==== */

static const cli_command_t commands[] = {
    {"models", "list", NULL, 0, 0, 0, "the models, their default, serving versions and labels",

     "Lists the models the server knows: their default version, the versions serving, all "
     "versions, and labels.",
     cli_build_list, print_list},
    {"models", "show", "MODEL", 1, 0, 0, "one model: versions, labels, deployments",

     "Shows one model: its default and serving versions, labels, every version (status, state, "
     "size, checksum, tags, who registered it and when) and its deployments.",
     cli_build_show, print_show},
    {"models", "register", "MODEL", 1,
     CLI_OPT_ARTIFACT | CLI_OPT_VERSION | CLI_OPT_FRAMEWORK | CLI_OPT_METADATA | CLI_OPT_TAGS |
         CLI_OPT_REASON,
     CLI_OPT_ARTIFACT, "add a version from a model file",
     "Registers a new version of MODEL from a model file. The server loads the file to check it "
     "(HTTP 422 and nothing changes if it does not load), checksums it and copies it into its "
     "repository. The version does not serve until it is deployed.",
     cli_build_register, print_registered},
    {"models", "deploy", "MODEL", 1,
     CLI_OPT_VERSION | CLI_OPT_INSTANCES | CLI_OPT_MAX_BATCH | CLI_OPT_QUEUE_DELAY |
         CLI_OPT_DEFAULT | CLI_OPT_REASON,
     CLI_OPT_VERSION, "make a version serve",
     "Makes a registered version serve, with its instance and batching settings; with --default "
     "it also becomes what requests naming no version get.",
     cli_build_deploy, print_deployed},
    {"models", "default", "MODEL VERSION", 2, CLI_OPT_REASON, 0, "set the default version",

     "Makes VERSION (it must serve) the default version of MODEL.", cli_build_default,
     print_default},
    {"models", "label", "MODEL LABEL VERSION", 3, CLI_OPT_REASON, 0, "point a label at a version",

     "Points LABEL (\"stable\", \"canary\", ...) of MODEL at VERSION.", cli_build_label,
     print_label},
    {"models", "rollback", "MODEL", 1, CLI_OPT_TO | CLI_OPT_REASON, CLI_OPT_TO,
     "go back to an earlier version",

     "Makes an earlier version the default again, at once; the reason goes to the audit log.",
     cli_build_rollback, print_rollback},
    {"models", "unload", "MODEL", 1, CLI_OPT_VERSION | CLI_OPT_REASON, 0,
     "stop serving a version or a model",

     "Stops serving one version (--version N), or unloads the whole model (the server allows that "
     "in --model-control-mode explicit only).",
     cli_build_unload, print_unloaded},
    {"audit", "audit", NULL, 0, CLI_OPT_MODEL | CLI_OPT_LIMIT | CLI_OPT_AFTER, 0, "the audit log",

     "Prints the server's audit log, oldest first: every change of what it serves, who made it, "
     "when, and why.",
     cli_build_audit, print_audit},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const cli_command_t *cli_find_command(const char *group, const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].group, group) == 0 && strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_json(const cli_reply_t *reply, FILE *out)
{
    fwrite(reply->body.buf, 1, reply->body.len, out);
    if (reply->body.len == 0 || reply->body.buf[reply->body.len - 1] != '\n')
        fputc('\n', out);
}

/* Parse, build, call, print. Returns the process exit status. */
static int run(const cli_command_t *command, int argc, char **argv)
{
    cli_args_t a;
    char why[768];
    int rc = cli_parse_args(command, argc, argv, &a, why, sizeof(why));
    const char *group = strcmp(command->group, command->name) == 0 ? "" : command->group;
    if (rc != 0) {
        fprintf(stderr, "%s (see inferd %s%s%s --help)\n", why, group, *group ? " " : "",
                command->name);
        return rc;
    }
    if (a.wants_help) {
        cli_print_help(command, stdout);
        return 0;
    }
    cli_request_t request;
    if ((rc = command->build(&a, &request, why, sizeof(why))) != 0) {
        fprintf(stderr, "inferd %s%s%s: %s\n", group, *group ? " " : "", command->name, why);
        cli_request_free(&request);
        return rc;
    }
    cli_reply_t reply;
    rc = cli_call(&a, &request, &reply);
    cli_request_free(&request);
    if (rc != 0)
        return rc;
    if (a.is_json)
        print_json(&reply, stdout);
    else
        command->print(&reply, &a, stdout);
    cli_reply_free(&reply);
    return fflush(stdout) == 0 ? 0 : CLI_EXIT_FAILURE;
}

static void models_usage(FILE *out)
{
    fputs("usage: inferd models <command> [options]\n\n"
          "Manages the model versions a running inferd server serves, through its HTTP\n"
          "management API.\n\ncommands:\n",
          out);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].group, "models") == 0)
            fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].brief);
    fputs("\nusage of each:\n", out);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].group, "models") == 0)
            cli_print_usage(&commands[i], "  ", false, out);
    fputs("\nEvery command takes --url URL (default $INFERD_URL, else " CLI_DEFAULT_URL "),\n"
          "--user NAME (default $USER) and --json (the server's JSON instead of a table);\n"
          "`inferd models <command> --help` describes its options.\n",
          out);
}

int inferd_cli_models(int argc, char **argv)
{
    if (argc < 2) {
        models_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        models_usage(stdout);
        return 0;
    }
    const cli_command_t *command = cli_find_command("models", argv[1]);
    if (command == NULL) {
        fprintf(stderr, "inferd models: unknown command '%s' (inferd models --help lists them)\n",
                argv[1]);
        return CLI_EXIT_USAGE;
    }
    return run(command, argc - 1, argv + 1);
}

int inferd_cli_audit(int argc, char **argv)
{
    return run(cli_find_command("audit", "audit"), argc, argv);
}
