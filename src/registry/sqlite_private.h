/* What the SQLite store's two files share (see sqlite.c for the calls, sqlite_db.c for the
 * connection, the schema and the statement helpers). */
#ifndef INFERD_REGISTRY_SQLITE_PRIVATE_H
#define INFERD_REGISTRY_SQLITE_PRIVATE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "registry/store.h"

#define SQLITE_REG_PATH_BYTES 4096

typedef struct sqlite_registry {
    inferd_registry_t base; /* first: what registry.c sees */
    sqlite3 *db;
    pthread_mutex_t lock; /* serialises every call on `db` */
    char path[SQLITE_REG_PATH_BYTES];
} sqlite_registry_t;

extern const struct inferd_registry_ops sqlite_reg_ops;

/* Closes the connection (checkpointing the WAL when it is the file's last user) and frees. */
void sqlite_reg_close(inferd_registry_t *r);

/* One bound parameter, built with SQL_TEXT() or SQL_INT() so that the compiler checks its type. */
typedef struct sql_arg {
    bool is_text;
    const char *text; /* NULL binds SQL NULL */
    int64_t integer;
} sql_arg_t;

#define SQL_TEXT(x) ((sql_arg_t){.is_text = true, .text = (x)})
#define SQL_INT(x)  ((sql_arg_t){.is_text = false, .integer = (x)})
/* The arguments of a statement: SQL_ARGS(SQL_TEXT(model), SQL_INT(version)) or SQL_NO_ARGS. */
#define SQL_ARGS(...)                                                                              \
    (const sql_arg_t[]){__VA_ARGS__}, sizeof((sql_arg_t[]){__VA_ARGS__}) / sizeof(sql_arg_t)
#define SQL_NO_ARGS NULL, 0

/* Fills err from the connection's last failure (code mapped to INFERD_E*, the message naming
 * the database and quoting SQLite), `what` saying what we were doing. Returns the code. */
int sqlite_reg_fail(sqlite_registry_t *s, inferd_err_t *err, int sqlite_rc, const char *what);

/* Prepares `sql` into *OUT with `args` bound in order (?1, ?2, ...). The strings must outlive
 * the statement. Returns 0, or a negative code with err filled (nothing to finalize). */
int sqlite_reg_prepare(sqlite_registry_t *s, sqlite3_stmt **OUT, const char *what,
                       inferd_err_t *err, const char *sql, const sql_arg_t *args, size_t arg_count);

/* Steps `st` once: 1 with a row, 0 when done, or a negative code with err filled. */
int sqlite_reg_step(sqlite_registry_t *s, sqlite3_stmt *st, const char *what, inferd_err_t *err);

/* Runs a statement that returns no rows; *OUT_changes (may be NULL) gets the rows it changed. */
int sqlite_reg_run(sqlite_registry_t *s, inferd_err_t *err, const char *what, int64_t *OUT_changes,
                   const char *sql, const sql_arg_t *args, size_t arg_count);

#endif
