/* What the command line's files share: the subcommand table (models.c), its arguments (args.c),
 * the request each subcommand sends (request.c), the HTTP call and its reply (client.c), and
 * aligned tables (table.c). Nothing here prints to stdout except the printers, which take the
 * FILE to write to so that the unit tests can read what a user would see. */
#ifndef INFERD_CLI_PRIVATE_H
#define INFERD_CLI_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "inferd/arena.h"
#include "inferd/cli.h"
#include "inferd/json.h"

#define CLI_EXIT_FAILURE 1 /* the server refused, or could not be reached */
#define CLI_EXIT_USAGE   2 /* the command line itself is wrong */

#define CLI_DEFAULT_URL "http://127.0.0.1:8000"

/* ==== arguments (args.c) ==== */

/* The options a subcommand may take: bits of cli_command_t.options and .required. --url,
 * --user, --json and --help are taken by every subcommand. */
enum {
    CLI_OPT_ARTIFACT = 1u << 0,
    CLI_OPT_VERSION = 1u << 1,
    CLI_OPT_FRAMEWORK = 1u << 2,
    CLI_OPT_METADATA = 1u << 3,
    CLI_OPT_TAGS = 1u << 4,
    CLI_OPT_INSTANCES = 1u << 5,
    CLI_OPT_MAX_BATCH = 1u << 6,
    CLI_OPT_QUEUE_DELAY = 1u << 7,
    CLI_OPT_DEFAULT = 1u << 8,
    CLI_OPT_TO = 1u << 9,
    CLI_OPT_REASON = 1u << 10,
    CLI_OPT_MODEL = 1u << 11,
    CLI_OPT_LIMIT = 1u << 12,
    CLI_OPT_AFTER = 1u << 13,
};

#define CLI_MAX_OPERANDS 3

/* A parsed command line. Strings point into argv or the environment (never copied); numbers
 * are -1 when their option was not given. */
typedef struct cli_args {
    char url[1024];   /* --url, $INFERD_URL or CLI_DEFAULT_URL, without trailing '/' */
    const char *user; /* --user, $USER, the login name, or "cli" */
    bool is_json;     /* --json: print the server's JSON instead of a table */
    bool wants_help;  /* --help or -h: print the help and do nothing else */
    unsigned given;   /* CLI_OPT_* bits of the options that were given */
    const char *artifact, *framework, *metadata, *tags, *reason, *model;
    int64_t version, to_version, instances, max_batch_size, queue_delay_us, limit, after;
    bool make_default;
    const char *operands[CLI_MAX_OPERANDS]; /* MODEL, LABEL, VERSION ... in order */
    int n_operands;
    int64_t operand_version; /* the VERSION operand of `default` and `label`, else -1 */
} cli_args_t;

typedef struct cli_command cli_command_t;

/* Parses the arguments of subcommand `command`; argv[0] is its name ("register", "audit").
 * Returns 0 (also for --help: see OUT->wants_help), or CLI_EXIT_USAGE with a one-line reason in
 * `why`. argv's order may be permuted (getopt). */
int cli_parse_args(const cli_command_t *command, int argc, char **argv, cli_args_t *OUT, char *why,
                   size_t why_size);

/* Writes `prefix`, "inferd models register" and the operands and options of `command`, wrapped
 * before 80 columns; with_common adds [--url URL] [--user NAME] [--json]. */
void cli_print_usage(const cli_command_t *command, const char *prefix, bool with_common, FILE *out);

/* Writes the help of `command`: its usage line, what it does, and each option it takes. */
void cli_print_help(const cli_command_t *command, FILE *out);

/* ==== requests (request.c) ==== */

/* The one HTTP request a subcommand sends. */
typedef struct cli_request {
    const char *method;
    char path[2048];     /* with its query string; path segments percent-encoded */
    inferd_jsonw_t body; /* the JSON body; empty (len 0) for GET */
} cli_request_t;

/* Fills *OUT from `a` for one subcommand. Returns 0, or CLI_EXIT_USAGE with the reason in `why`
 * (for example --metadata that is not a JSON object). Free with cli_request_free in both cases. */
typedef int (*cli_build_fn)(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size);

int cli_build_list(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size);
int cli_build_show(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size);
int cli_build_register(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size);
int cli_build_deploy(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size);
int cli_build_default(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size);
int cli_build_label(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size);
int cli_build_rollback(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size);
int cli_build_unload(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size);
int cli_build_audit(const cli_args_t *a, cli_request_t *OUT, char *why, size_t why_size);

void cli_request_free(cli_request_t *request);

/* Percent-encodes `text` (all but A-Z a-z 0-9 - . _ ~) into `out`. Returns 0, or -1 when it does
 * not fit in `size` bytes with its NUL. */
int cli_escape(const char *text, char *out, size_t size);

/* ==== the HTTP call (client.c) ==== */

/* A server's answer: its status and its body, parsed when it is JSON. */
typedef struct cli_reply {
    int status;
    inferd_jsonw_t body; /* the bytes as received (what --json prints) */
    inferd_arena_t arena;
    inferd_json_t doc;
    bool is_parsed;
} cli_reply_t;

/* Sends `request` to the server at a->url as user a->user. Returns 0 with *OUT holding a 2xx
 * answer whose body is JSON (free with cli_reply_free), or CLI_EXIT_FAILURE after printing one
 * line on stderr: the server's {"error"} with the HTTP status, or that the server cannot be
 * reached, or that its answer is not JSON. *OUT needs no freeing then. */
int cli_call(const cli_args_t *a, const cli_request_t *request, cli_reply_t *OUT);

/* Sets *OUT to an answer with `status` and body `text` (copied), parsed when it is JSON. Returns
 * 0, or INFERD_ENOMEM. Free with cli_reply_free whatever it returns. */
int cli_reply_set(cli_reply_t *OUT, int status, const char *text, size_t len);

void cli_reply_free(cli_reply_t *reply);

/* ==== cells and tables (table.c) ==== */

/* Member `key` of object `obj` as text for a table, in the reply's arena: strings as they are,
 * numbers and other values as their JSON, "-" when absent, null or "". */
const char *cli_cell(cli_reply_t *reply, int obj, const char *key);

/* A list [1, 2] as "1,2", an object {"stable": 2} as "stable=2"; "-" when absent or empty. */
const char *cli_cell_compact(cli_reply_t *reply, int obj, const char *key);

typedef struct cli_column {
    const char *header;    /* NULL in every column: a table without a header line */
    bool is_right_aligned; /* numbers */
} cli_column_t;

#define CLI_TABLE_MAX_COLUMNS 16

/* Rows of text cells printed with each column as wide as its widest cell. */
typedef struct cli_table {
    const cli_column_t *columns;
    int n_columns;
    char **cells; /* row-major, n_rows * n_columns, each malloc'ed */
    size_t n_rows, cap_rows;
    bool failed; /* out of memory: rows were dropped */
} cli_table_t;

/* `columns` (at most CLI_TABLE_MAX_COLUMNS; more are not shown) must outlive the table. */
void cli_table_init(cli_table_t *table, const cli_column_t *columns, int n_columns);

/* Appends a row of n_columns cells, copied. NULL or "" shows as "-"; control characters (a
 * newline in a reason) as spaces, so that a row stays one line. */
void cli_table_add(cli_table_t *table, const char *const *cells);

/* Writes the header (when the columns have one) and the rows, columns two spaces apart, no
 * trailing blanks. Widths count UTF-8 characters, not bytes. Returns 0, or INFERD_ENOMEM when
 * rows were dropped (what was kept is still written). */
int cli_table_print(const cli_table_t *table, FILE *out);

void cli_table_free(cli_table_t *table);

/* Characters (UTF-8 sequences) in `text`: its width on a terminal for the scripts in names. */
size_t cli_display_width(const char *text);

/* ==== the subcommands (models.c) ==== */

/* Prints a successful answer for a person (not used with --json). */
typedef void (*cli_print_fn)(cli_reply_t *reply, const cli_args_t *a, FILE *out);

struct cli_command {
    const char *group;    /* "models" or "audit" */
    const char *name;     /* "list", "show", ...; "audit" for the audit command */
    const char *operands; /* "MODEL LABEL VERSION", or NULL */
    int n_operands;
    unsigned options;    /* CLI_OPT_* bits it takes */
    unsigned required;   /* of those, the ones it needs */
    const char *brief;   /* a few words for the list of commands */
    const char *summary; /* what it does, for its --help */
    cli_build_fn build;
    cli_print_fn print;
};

/* The subcommand `name` of `group` ("models" / "list", or "audit" / "audit"), or NULL. */
const cli_command_t *cli_find_command(const char *group, const char *name);

#endif
