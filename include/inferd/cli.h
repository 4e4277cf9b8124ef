/* The `inferd models ...` and `inferd audit` commands: a client of a running server's management
 * API over HTTP (libcurl), printing readable tables or, with --json, the server's JSON. */
#ifndef INFERD_CLI_H
#define INFERD_CLI_H

/* `inferd models <list|show|register|deploy|default|label|rollback|unload> ...`; argv[0] is
 * "models". Returns the process exit status: 0, 1 (the server refused or could not be
 * reached: a message on stderr), 2 (a usage mistake). */
int inferd_cli_models(int argc, char **argv);

/* `inferd audit [--model M] [--limit N] [--after ID]`; argv[0] is "audit". */
int inferd_cli_audit(int argc, char **argv);

#endif
