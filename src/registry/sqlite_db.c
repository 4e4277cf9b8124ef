/* The registry's SQLite connection: opening a file (refusing, with words a person can act on,
 * a missing directory or a file that is not a database), WAL mode with synchronous=FULL (a
 * commit is on disk when COMMIT returns), foreign keys, a busy timeout, the schema and its
 * migrations; and the small statement helpers the calls in sqlite.c are written with.
 *
 * Design notes:
 * - Schema versions: PRAGMA user_version counts the migration steps applied; migrations[i]
 *   takes the file from version i to i + 1, each step in its own transaction that re-reads
 *   user_version first, so two processes opening one new file race harmlessly.
 * - The audit table refuses UPDATE and DELETE by trigger: append-only even for a person with
 *   the sqlite3 shell who forgets.
 * - The only SQL built at run time is the user_version pragma, from an integer. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "registry/sqlite_private.h"

#define BUSY_TIMEOUT_MS 5000 /* another process holding the write lock: wait this long */

/* ==== the schema ==== */

/* Step i brings a file from user_version i to i + 1. Append steps; never edit a shipped one. */
static const char *const migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE models ("
    "  name TEXT NOT NULL PRIMARY KEY,"
    "  default_version INTEGER NOT NULL DEFAULT 0 CHECK (default_version >= 0),"
    "  created_at_ms INTEGER NOT NULL);"
    "CREATE TABLE versions ("
    "  model TEXT NOT NULL REFERENCES models(name),"
    "  version INTEGER NOT NULL CHECK (version > 0),"
    "  artifact_path TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  framework TEXT NOT NULL,"
    "  inputs_json TEXT NOT NULL CHECK (json_valid(inputs_json)),"
    "  outputs_json TEXT NOT NULL CHECK (json_valid(outputs_json)),"
    "  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),"
    "  metadata_json TEXT NOT NULL CHECK (json_valid(metadata_json)),"
    "  tags_json TEXT NOT NULL CHECK (json_valid(tags_json)),"
    "  status TEXT NOT NULL CHECK (status IN ('draft', 'active', 'deprecated', 'archived')),"
    "  created_at_ms INTEGER NOT NULL,"
    "  created_by TEXT NOT NULL,"
    "  PRIMARY KEY (model, version));"
    "CREATE TABLE labels ("
    "  model TEXT NOT NULL REFERENCES models(name),"
    "  label TEXT NOT NULL,"
    "  version INTEGER NOT NULL CHECK (version > 0),"
    "  updated_at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (model, label));"
    "CREATE TABLE deployments ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  model TEXT NOT NULL REFERENCES models(name),"
    "  version INTEGER NOT NULL CHECK (version > 0),"
    "  config_json TEXT NOT NULL CHECK (json_valid(config_json)),"
    "  created_at_ms INTEGER NOT NULL,"
    "  created_by TEXT NOT NULL,"
    "  retired_at_ms INTEGER);" /* NULL while active */
    "CREATE UNIQUE INDEX deployments_one_active ON deployments(model, version)"
    "  WHERE retired_at_ms IS NULL;"
    "CREATE TABLE state ("
    "  model TEXT NOT NULL REFERENCES models(name),"
    "  key TEXT NOT NULL,"
    "  json TEXT NOT NULL CHECK (json_valid(json)),"
    "  updated_at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (model, key));"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT," /* never reused, even after the last row */
    "  at_ms INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  model TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  detail_json TEXT NOT NULL CHECK (json_valid(detail_json)),"
    "  reason TEXT NOT NULL);"
    "CREATE INDEX audit_by_model ON audit(model, id);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ==== errors, statements, transactions ==== */

/* The inferd code for an (extended) SQLite result code. */
static int code_of(int sqlite_rc)
{
    switch (sqlite_rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return INFERD_ECONFLICT;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return INFERD_ENOTFOUND;
    }
    switch (sqlite_rc & 0xff) {
    case SQLITE_CONSTRAINT:
        return INFERD_EINVAL; /* CHECK (bad JSON), NOT NULL, the audit triggers */
    case SQLITE_NOMEM:
        return INFERD_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return INFERD_EUNAVAIL;
    }
    return INFERD_EIO;
}

/* Fills err from the connection's last failure, `what` saying what we were doing. */
int sqlite_reg_fail(sqlite_registry_t *s, inferd_err_t *err, int sqlite_rc, const char *what)
{
    return inferd_fail(err, code_of(sqlite_rc), "registry %s: %s: %s", s->path, what,
                       sqlite3_errmsg(s->db));
}

/* Prepares `sql` into *OUT with `args` bound in order (?1, ?2, ...). The strings must outlive
 * the statement. Returns 0, or a negative code with err filled (nothing to finalize). */
int sqlite_reg_prepare(sqlite_registry_t *s, sqlite3_stmt **OUT, const char *what,
                       inferd_err_t *err, const char *sql, const sql_arg_t *args, size_t arg_count)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sqlite_reg_fail(s, err, rc, what);
    if ((size_t)sqlite3_bind_parameter_count(st) != arg_count) { /* our bug, not the caller's */
        sqlite3_finalize(st);
        return inferd_fail(err, INFERD_EINTERNAL, "registry %s: %s: %zu arguments for \"%s\"",
                           s->path, what, arg_count, sql);
    }
    for (size_t i = 0; i < arg_count; i++) {
        int index = (int)i + 1;
        if (!args[i].is_text)
            rc = sqlite3_bind_int64(st, index, args[i].integer);
        else if (args[i].text != NULL)
            rc = sqlite3_bind_text(st, index, args[i].text, -1, SQLITE_STATIC);
        else
            rc = sqlite3_bind_null(st, index);
        if (rc != SQLITE_OK) {
            int code = sqlite_reg_fail(s, err, rc, what);
            sqlite3_finalize(st);
            return code;
        }
    }
    *OUT = st;
    return 0;
}

/* Steps `st` once: 1 with a row, 0 when done, or a negative code with err filled. */
int sqlite_reg_step(sqlite_registry_t *s, sqlite3_stmt *st, const char *what, inferd_err_t *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return sqlite_reg_fail(s, err, rc, what);
}

/* Runs a statement that returns no rows; *OUT_changes (may be NULL) gets the rows it changed. */
int sqlite_reg_run(sqlite_registry_t *s, inferd_err_t *err, const char *what, int64_t *OUT_changes,
                   const char *sql, const sql_arg_t *args, size_t arg_count)
{
    sqlite3_stmt *st;
    int rc = sqlite_reg_prepare(s, &st, what, err, sql, args, arg_count);
    if (rc != 0)
        return rc;
    while ((rc = sqlite_reg_step(s, st, what, err)) == 1)
        ;
    if (rc == 0 && OUT_changes != NULL)
        *OUT_changes = sqlite3_changes64(s->db);
    sqlite3_finalize(st);
    return rc;
}

/* ==== opening and closing ==== */

void sqlite_reg_close(inferd_registry_t *r)
{
    sqlite_registry_t *s = (sqlite_registry_t *)r;
    sqlite3_close_v2(s->db); /* checkpoints the WAL into the file when it is the last user */
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Refuses, with a message a person can act on, a path whose directory is missing or which is a
 * directory itself: SQLite would only say "unable to open database file". */
static int check_path(const char *path, inferd_err_t *err)
{
    char copy[SQLITE_REG_PATH_BYTES];
    snprintf(copy, sizeof(copy), "%s", path);
    const char *dir = dirname(copy);
    struct stat st;
    if (stat(dir, &st) != 0)
        return inferd_fail(err, INFERD_EIO,
                           "registry %s: cannot use directory %s: %s (create it first)", path, dir,
                           strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return inferd_fail(err, INFERD_EIO, "registry %s: %s is not a directory", path, dir);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return inferd_fail(err, INFERD_EIO, "registry %s: not a regular file", path);
    return 0;
}

/* PRAGMA user_version, or a negative code. */
static int read_schema_version(sqlite_registry_t *s, int *OUT_version, inferd_err_t *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_reg_prepare(s, &st, "reading the schema version", err, "PRAGMA user_version",
                                SQL_NO_ARGS);
    if (rc != 0)
        return rc;
    rc = sqlite_reg_step(s, st, "reading the schema version", err);
    if (rc == 1) {
        *OUT_version = sqlite3_column_int(st, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = inferd_fail(err, INFERD_EIO, "registry %s: no schema version", s->path);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Applies the migration steps the file lacks, one transaction each. */
static int migrate(sqlite_registry_t *s, inferd_err_t *err)
{
    for (;;) {
        int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return sqlite_reg_fail(s, err, rc, "starting a schema migration");
        int version = 0;
        rc = read_schema_version(s, &version, err);
        if (rc == 0 && version >= SCHEMA_VERSION) {
            sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
            return 0;
        }
        if (rc == 0) {
            char set_version[64];
            snprintf(set_version, sizeof(set_version), "PRAGMA user_version = %d", version + 1);
            char what[64];
            snprintf(what, sizeof(what), "migrating the schema to version %d", version + 1);
            int src = sqlite3_exec(s->db, migrations[version], NULL, NULL, NULL);
            if (src == SQLITE_OK)
                src = sqlite3_exec(s->db, set_version, NULL, NULL, NULL);
            if (src == SQLITE_OK)
                src = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
            if (src != SQLITE_OK)
                rc = sqlite_reg_fail(s, err, src, what);
        }
        if (rc != 0) {
            if (!sqlite3_get_autocommit(s->db))
                sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
}

/* Opens the connection and makes it what the notes above promise. */
static int configure(sqlite_registry_t *s, inferd_err_t *err)
{
    int rc = sqlite3_open_v2(
        s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return sqlite_reg_fail(s, err, rc, "cannot open");
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);

    /* The first read of the file: the place where a file that is not a database shows. */
    int version = 0;
    rc = read_schema_version(s, &version, err);
    if (rc != 0) {
        if (sqlite3_errcode(s->db) == SQLITE_NOTADB)
            return inferd_fail(err, INFERD_EIO,
                               "registry %s: the file is not a SQLite database (%s); point "
                               "--registry at a new path or at an inferd registry",
                               s->path, sqlite3_errmsg(s->db));
        return rc;
    }
    if (version > SCHEMA_VERSION)
        return inferd_fail(err, INFERD_EIO,
                           "registry %s: schema version %d is newer than this inferd knows (%d); "
                           "run a newer inferd",
                           s->path, version, SCHEMA_VERSION);

    sqlite3_stmt *st;
    rc = sqlite_reg_prepare(s, &st, "switching to WAL mode", err, "PRAGMA journal_mode = WAL",
                            SQL_NO_ARGS);
    if (rc != 0)
        return rc;
    rc = sqlite_reg_step(s, st, "switching to WAL mode", err);
    if (rc == 1) {
        const unsigned char *mode = sqlite3_column_text(st, 0);
        rc = mode != NULL && strcmp((const char *)mode, "wal") == 0
                 ? 0
                 : inferd_fail(err, INFERD_EIO,
                               "registry %s: cannot use WAL mode (journal mode stays %s); put "
                               "the registry on a local file system",
                               s->path, mode ? (const char *)mode : "unknown");
    } else if (rc == 0) {
        rc = inferd_fail(err, INFERD_EIO, "registry %s: cannot use WAL mode", s->path);
    }
    sqlite3_finalize(st);
    if (rc != 0)
        return rc;
    rc = sqlite3_exec(s->db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", NULL, NULL,
                      NULL);
    if (rc != SQLITE_OK)
        return sqlite_reg_fail(s, err, rc, "configuring the connection");
    return migrate(s, err);
}

int registry_sqlite_open(const char *path, inferd_registry_t **OUT_registry, inferd_err_t *err)
{
    if (strlen(path) >= SQLITE_REG_PATH_BYTES)
        return inferd_fail(err, INFERD_EINVAL, "registry: path is longer than %d bytes",
                           SQLITE_REG_PATH_BYTES - 1);
    int rc = check_path(path, err);
    if (rc != 0)
        return rc;
    sqlite_registry_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return inferd_fail(err, INFERD_ENOMEM, "registry %s: out of memory", path);
    s->base.ops = &sqlite_reg_ops;
    pthread_mutex_init(&s->lock, NULL);
    snprintf(s->path, sizeof(s->path), "%s", path);
    rc = configure(s, err);
    if (rc != 0) {
        sqlite_reg_close(&s->base);
        return rc;
    }
    *OUT_registry = &s->base;
    return 0;
}
