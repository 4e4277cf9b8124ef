/* The command line's arguments: one table of options (name, what it takes, where it goes, its
 * help), read with getopt_long and checked against what the subcommand takes, so that a mistake
 * is a one-line usage error (exit 2) before anything is sent to the server. */
#include "cli_private.h"

#include <getopt.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ==== the options ==== */

enum { KIND_STRING, KIND_NUMBER, KIND_FLAG };

enum { COMMON_URL = 1 << 20, COMMON_USER, COMMON_JSON, COMMON_HELP };

typedef struct {
    const char *name;
    unsigned bit;  /* CLI_OPT_* or COMMON_* */
    int kind;      /* KIND_* */
    size_t offset; /* of its field in cli_args_t (a const char *, an int64_t or a bool) */
    int64_t min_value, max_value;
    const char *metavar;
    const char *help;
} option_t;

#define STRING_FIELD(field)         KIND_STRING, offsetof(cli_args_t, field), 0, 0
#define NUMBER_FIELD(field, lo, hi) KIND_NUMBER, offsetof(cli_args_t, field), lo, hi
#define FLAG_FIELD(field)           KIND_FLAG, offsetof(cli_args_t, field), 0, 0

static const option_t options[] = {
    {"artifact", CLI_OPT_ARTIFACT, STRING_FIELD(artifact), "PATH",
     "the model file: a path on the server's machine (a relative one is made absolute here) or "
     "a file:// URI"},
    {"version", CLI_OPT_VERSION, NUMBER_FIELD(version, 1, INT32_MAX), "N", "the version number"},
    {"framework", CLI_OPT_FRAMEWORK, STRING_FIELD(framework), "F",
     "the artifact's framework (default: from the file; onnx)"},
    {"metadata", CLI_OPT_METADATA, STRING_FIELD(metadata), "JSON",
     "a JSON object kept with the version, e.g. '{\"accuracy\": 0.98}'"},
    {"tags", CLI_OPT_TAGS, STRING_FIELD(tags), "a,b", "comma-separated tags"},
    {"instances", CLI_OPT_INSTANCES, NUMBER_FIELD(instances, 1, 1024), "N",
     "instances (threads) running the version"},
    {"max-batch-size", CLI_OPT_MAX_BATCH, NUMBER_FIELD(max_batch_size, 0, 1 << 20), "N",
     "the largest batch the dynamic batcher forms (0: no batching)"},
    {"queue-delay-us", CLI_OPT_QUEUE_DELAY, NUMBER_FIELD(queue_delay_us, 0, 60000000), "N",
     "how long a request may wait for a batch to fill, in microseconds"},
    {"default", CLI_OPT_DEFAULT, FLAG_FIELD(make_default), NULL,
     "also make it the default version (what requests naming no version get)"},
    {"to", CLI_OPT_TO, NUMBER_FIELD(to_version, 1, INT32_MAX), "N", "the version to go back to"},
    {"reason", CLI_OPT_REASON, STRING_FIELD(reason), "TEXT", "why, for the audit log"},
    {"model", CLI_OPT_MODEL, STRING_FIELD(model), "M", "only this model's entries"},
    {"limit", CLI_OPT_LIMIT, NUMBER_FIELD(limit, 1, 10000), "N",
     "at most N entries (1 to 10000; the server's default is 100)"},
    {"after", CLI_OPT_AFTER, NUMBER_FIELD(after, 0, INT64_MAX), "ID",
     "only entries after this id (to page on from the last one printed)"},
    {"url", COMMON_URL, KIND_STRING, 0, 0, 0, "URL",
     "the server (default: $INFERD_URL, else " CLI_DEFAULT_URL ")"},
    {"user", COMMON_USER, KIND_STRING, 0, 0, 0, "NAME",
     "who acts, for the audit log (default: $USER)"},
    {"json", COMMON_JSON, KIND_FLAG, 0, 0, 0, NULL, "print the server's JSON instead of a table"},
    {"help", COMMON_HELP, KIND_FLAG, 0, 0, 0, NULL, "print this help"},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static bool is_common(const option_t *o)
{
    return o->bit >= COMMON_URL;
}

/* A decimal integer in [min, max], no sign, no blanks. */
static bool parse_number(const char *text, int64_t min, int64_t max, int64_t *OUT)
{
    if (text == NULL || *text == '\0' || strlen(text) > 18)
        return false;
    int64_t value = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        value = value * 10 + (*p - '0');
    }
    *OUT = value;
    return value >= min && value <= max;
}

static bool has_control_characters(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

/* Sets a->url from `url`: http:// or https://, without trailing slashes. */
static int set_url(cli_args_t *a, const char *url, const char *label, char *why, size_t why_size)
{
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    bool is_http = strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
    if (!is_http || len >= sizeof(a->url) || has_control_characters(url)) {
        snprintf(why, why_size,
                 "%s: the server's URL must start with http:// or https://, not '%s'", label, url);
        return CLI_EXIT_USAGE;
    }
    memcpy(a->url, url, len);
    a->url[len] = '\0';
    return 0;
}

static const char *default_user(void)
{
    const char *user = getenv("USER");
    if (user != NULL && *user != '\0')
        return user;
    struct passwd *pw = getpwuid(getuid());
    return pw != NULL && pw->pw_name != NULL ? pw->pw_name : "cli";
}

static void command_label(const cli_command_t *c, char *out, size_t size)
{
    if (strcmp(c->group, c->name) == 0)
        snprintf(out, size, "inferd %s", c->name);
    else
        snprintf(out, size, "inferd %s %s", c->group, c->name);
}

/* ==== parsing ==== */

int cli_parse_args(const cli_command_t *command, int argc, char **argv, cli_args_t *OUT, char *why,
                   size_t why_size)
{
    cli_args_t *a = OUT;
    memset(a, 0, sizeof(*a));
    a->version = a->to_version = a->instances = a->max_batch_size = a->queue_delay_us = -1;
    a->limit = a->after = a->operand_version = -1;
    a->user = default_user();
    const char *url = getenv("INFERD_URL");
    if (url == NULL || *url == '\0')
        url = CLI_DEFAULT_URL;
    char label[128];
    command_label(command, label, sizeof(label));
    why[0] = '\0';

    struct option long_options[N_OPTIONS + 1];
    for (size_t i = 0; i < N_OPTIONS; i++)
        long_options[i] = (struct option){
            options[i].name, options[i].kind == KIND_FLAG ? no_argument : required_argument, NULL,
            (int)i};
    long_options[N_OPTIONS] = (struct option){NULL, 0, NULL, 0};

    optind = 0; /* glibc: start afresh, whatever an earlier parse left behind */
    opterr = 0;
    int index;
    while ((index = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        if (index == 'h') {
            a->wants_help = true;
            continue;
        }
        if (index == ':' || index == '?') {
            char short_option[3] = {'-', (char)optopt, '\0'};
            const char *arg = argv[optind - 1];
            if (strncmp(arg, "--", 2) != 0 && optopt > ' ')
                arg = short_option; /* "-x", perhaps inside "-hx" */
            if (index == ':')
                snprintf(why, why_size, "%s: %s needs a value", label, arg);
            else
                snprintf(why, why_size, "%s: unknown option '%s'", label, arg);
            return CLI_EXIT_USAGE;
        }
        const option_t *o = &options[index];
        if (!is_common(o) && (command->options & o->bit) == 0) {
            snprintf(why, why_size, "%s does not take --%s", label, o->name);
            return CLI_EXIT_USAGE;
        }
        a->given |= is_common(o) ? 0 : o->bit;
        switch (o->bit) {
        case COMMON_URL:
            url = optarg;
            continue;
        case COMMON_USER:
            a->user = optarg;
            continue;
        case COMMON_JSON:
            a->is_json = true;
            continue;
        case COMMON_HELP:
            a->wants_help = true;
            continue;
        }
        char *field = (char *)a + o->offset;
        if (o->kind == KIND_FLAG) {
            *(bool *)field = true;
        } else if (o->kind == KIND_STRING) {
            *(const char **)field = optarg;
        } else if (!parse_number(optarg, o->min_value, o->max_value, (int64_t *)field)) {
            snprintf(why, why_size, "%s: --%s takes a whole number from %lld to %lld, not '%s'",
                     label, o->name, (long long)o->min_value, (long long)o->max_value, optarg);
            return CLI_EXIT_USAGE;
        }
    }
    if (a->wants_help)
        return 0;

    int rc = set_url(a, url, label, why, why_size);
    if (rc != 0)
        return rc;
    if (*a->user == '\0' || strlen(a->user) > 128 || has_control_characters(a->user)) {
        snprintf(why, why_size, "%s: --user must be a name of 1 to 128 printable characters",
                 label);
        return CLI_EXIT_USAGE;
    }
    int n_operands = argc - optind;
    if (n_operands != command->n_operands) {
        if (n_operands > command->n_operands)
            snprintf(why, why_size, "%s: unexpected argument '%s'", label,
                     argv[optind + command->n_operands]);
        else
            snprintf(why, why_size, "%s: expected %s", label, command->operands);
        return CLI_EXIT_USAGE;
    }
    for (int i = 0; i < n_operands; i++) {
        a->operands[i] = argv[optind + i];
        if (*a->operands[i] == '\0') {
            snprintf(why, why_size, "%s: an empty argument where %s was expected", label,
                     command->operands);
            return CLI_EXIT_USAGE;
        }
    }
    a->n_operands = n_operands;
    /* VERSION, when a command takes one, is its last operand */
    const char *operands = command->operands ? command->operands : "";
    size_t len = strlen(operands);
    if (len >= 7 && strcmp(operands + len - 7, "VERSION") == 0 &&
        !parse_number(a->operands[n_operands - 1], 1, INT32_MAX, &a->operand_version)) {
        snprintf(why, why_size, "%s: VERSION must be a version number (1, 2, ...), not '%s'", label,
                 a->operands[n_operands - 1]);
        return CLI_EXIT_USAGE;
    }
    unsigned missing = command->required & ~a->given;
    for (size_t i = 0; missing != 0 && i < N_OPTIONS; i++)
        if (missing & options[i].bit) {
            snprintf(why, why_size, "%s: --%s %s is required", label, options[i].name,
                     options[i].metavar);
            return CLI_EXIT_USAGE;
        }
    return 0;
}

/* ==== help ==== */

#define HELP_WIDTH 79

/* Writes `text` word by word, starting at column `column` and wrapping before HELP_WIDTH to
 * lines indented by `indent` (a word is preceded by a space unless `column` is `indent`); ends
 * the line. A NBSP byte ('\x01') joins two words that must stay
 * on one line ("[--version N]") and prints as a space. */
#define NBSP '\x01'

static void print_wrapped(FILE *out, const char *text, int column, int indent)
{
    for (const char *p = text; *p;) {
        while (*p == ' ')
            p++;
        int word = (int)strcspn(p, " ");
        if (word == 0)
            break;
        bool is_line_start = column == indent;
        if (!is_line_start && column + 1 + word > HELP_WIDTH) {
            fprintf(out, "\n%*s", indent, "");
            column = indent;
        } else if (!is_line_start) {
            fputc(' ', out);
            column++;
        }
        for (int i = 0; i < word; i++)
            fputc(p[i] == NBSP ? ' ' : p[i], out);
        column += word;
        p += word;
    }
    fputc('\n', out);
}

static void print_option(const option_t *o, FILE *out)
{
    char left[64];
    snprintf(left, sizeof(left), "  --%s%s%s", o->name, o->metavar ? " " : "",
             o->metavar ? o->metavar : "");
    fprintf(out, "%-24s", left);
    print_wrapped(out, o->help, 24, 24);
}

/* The operands and options of `command` (" MODEL --artifact PATH [--version N] ..."), with the
 * words of one option joined by NBSP for print_wrapped. */
static void synopsis_words(const cli_command_t *command, bool with_common, char *text, size_t size)
{
    FILE *out = fmemopen(text, size, "w");
    text[0] = '\0';
    if (out == NULL)
        return;
    if (command->operands != NULL)
        fprintf(out, " %s", command->operands);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const option_t *o = &options[i];
        if (is_common(o) || (command->options & o->bit) == 0)
            continue;
        bool is_required = (command->required & o->bit) != 0;
        fprintf(out, " %s--%s%s%s%s", is_required ? "" : "[", o->name, o->metavar ? " " : "",
                o->metavar ? o->metavar : "", is_required ? "" : "]");
    }
    if (with_common)
        fputs(" [--url URL] [--user NAME] [--json]", out);
    fclose(out);
    for (char *p = text + 1; *p; p++)
        if (*p == ' ' && p[1] != '[' && p[1] != '-')
            *p = NBSP;
}

void cli_print_usage(const cli_command_t *command, const char *prefix, bool with_common, FILE *out)
{
    char label[128], synopsis[1024];
    command_label(command, label, sizeof(label));
    synopsis_words(command, with_common, synopsis, sizeof(synopsis));
    int column = (int)(strlen(prefix) + strlen(label));
    fprintf(out, "%s%s", prefix, label);
    print_wrapped(out, synopsis, column, column + 1);
}

void cli_print_help(const cli_command_t *command, FILE *out)
{
    cli_print_usage(command, "usage: ", true, out);
    fputc('\n', out);
    print_wrapped(out, command->summary, 0, 0);
    if (command->options != 0) {
        fputs("\noptions:\n", out);
        for (size_t i = 0; i < N_OPTIONS; i++)
            if (!is_common(&options[i]) && (command->options & options[i].bit) != 0)
                print_option(&options[i], out);
    }
    fputs("\ncommon options:\n", out);
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (is_common(&options[i]))
            print_option(&options[i], out);
    fputc('\n', out);
    print_wrapped(out,
                  "Exit status: 0 done; 1 the server refused (its message and HTTP status are "
                  "printed on stderr) or cannot be reached; 2 a usage mistake.",
                  0, 0);
}
