/* What the command line's files share. */
#ifndef INFERD_CLI_PRIVATE_H
#define INFERD_CLI_PRIVATE_H

#include <stdbool.h>

#include "inferd/arena.h"
#include "inferd/cli.h"
#include "inferd/json.h"

#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE   2

typedef struct cli_options {
    const char *url;  /* --url, $INFERD_URL, or http://127.0.0.1:8000 */
    const char *user; /* --user, $USER, or "cli" */
    bool is_json;     /* --json: print the server's JSON */
} cli_options_t;

typedef struct cli_reply {
    int status;
    inferd_jsonw_t body;
    inferd_arena_t arena;
    inferd_json_t doc;
    bool is_parsed;
} cli_reply_t;

/* Sends `method` `path` (with `body` as JSON when not NULL) to the server. Returns 0 with *OUT
 * holding a parsed 2xx answer (free with cli_reply_free), or CLI_EXIT_FAILURE after printing
 * why (the server's error and status, or that it cannot be reached). */
int cli_call(const cli_options_t *options, const char *method, const char *path, const char *body,
             cli_reply_t *OUT);

void cli_reply_free(cli_reply_t *reply);

/* Member `key` of object `obj` as text for a table ("-" when absent or null): strings as they
 * are, other values as their JSON. In the reply's arena. */
const char *cli_string(cli_reply_t *reply, int obj, const char *key);

#endif
