/* The registry's SQLite store, its calls: every mutating call runs its change and its audit
 * row in one BEGIN IMMEDIATE ... COMMIT and rolls both back on any failure, so a call that
 * returned 0 is durable (WAL, synchronous=FULL: see sqlite_db.c) and one that failed changed
 * nothing. Calls are serialised by the registry's mutex. Not the argument checks (registry.c
 * does those) and not a cache: every read goes to the database.
 *
 * Design notes:
 * - Uniqueness is the constraints' job (a duplicate version is the primary key's conflict, one
 *   active deployment per version a partial unique index), never a check-then-insert.
 * - Strings always travel as bound parameters (SQL_TEXT()/SQL_INT() in sqlite_private.h).
 * - No-op changes (ensure_model on an existing model, deleting an absent state document)
 *   append no audit entry. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/sqlite_private.h"
#include "inferd/clock.h"

static sqlite_registry_t *store_of(inferd_registry_t *r)
{
    return (sqlite_registry_t *)r;
}

/* ==== transactions ==== */

/* Takes the mutex and the database's write lock. On failure neither is held. */
static int write_begin(sqlite_registry_t *s, const char *what, inferd_err_t *err)
{
    pthread_mutex_lock(&s->lock);
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = sqlite_reg_fail(s, err, rc, what);
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    return 0;
}

static int insert_audit(sqlite_registry_t *s, const inferd_audit_t *a, inferd_err_t *err)
{
    return sqlite_reg_run(
        s, err, "writing the audit entry", NULL,
        "INSERT INTO audit (at_ms, actor, action, model, version, detail_json, reason)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        SQL_ARGS(SQL_INT(inferd_wall_ms()), SQL_TEXT(a->actor), SQL_TEXT(a->action),
                 SQL_TEXT(a->model), SQL_INT(a->version), SQL_TEXT(a->detail_json),
                 SQL_TEXT(a->reason)));
}

/* Ends what write_begin started: when `rc` is 0, appends `audit` (unless NULL) and commits;
 * otherwise, or when either fails, rolls everything back. Releases the mutex; returns the
 * first failure or 0. */
static int write_end(sqlite_registry_t *s, int rc, const inferd_audit_t *audit, inferd_err_t *err)
{
    if (rc == 0 && audit != NULL)
        rc = insert_audit(s, audit, err);
    if (rc == 0) {
        int commit_rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        if (commit_rc != SQLITE_OK)
            rc = sqlite_reg_fail(s, err, commit_rc, "committing");
    }
    if (rc != 0 && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Creates the row of `model` when absent; *OUT_created (may be NULL) says whether it did. */
static int ensure_model_row(sqlite_registry_t *s, const char *model, bool *OUT_created,
                            inferd_err_t *err)
{
    int64_t changes = 0;
    int rc =
        sqlite_reg_run(s, err, "adding the model", &changes,
                       "INSERT INTO models (name, default_version, created_at_ms) VALUES (?, 0, ?)"
                       " ON CONFLICT (name) DO NOTHING",
                       SQL_ARGS(SQL_TEXT(model), SQL_INT(inferd_wall_ms())));
    if (OUT_created != NULL)
        *OUT_created = changes > 0;
    return rc;
}

/* ==== reading rows ==== */

/* Column i as a malloc'ed string ("" for NULL); NULL only when out of memory. */
static char *column_text(sqlite3_stmt *st, int i)
{
    const unsigned char *text = sqlite3_column_text(st, i);
    return strdup(text != NULL ? (const char *)text : "");
}

/* Makes room for one more element in *items (count used, *capacity allocated). */
static int grow(void **items, size_t *capacity, size_t count, size_t item_bytes)
{
    if (count < *capacity)
        return 0;
    size_t new_capacity = *capacity ? *capacity * 2 : 8;
    void *bigger = realloc(*items, new_capacity * item_bytes);
    if (bigger == NULL)
        return INFERD_ENOMEM;
    memset((char *)bigger + *capacity * item_bytes, 0, (new_capacity - *capacity) * item_bytes);
    *items = bigger;
    *capacity = new_capacity;
    return 0;
}

#define VERSION_COLUMNS                                                                            \
    "model, version, artifact_path, sha256, framework, inputs_json, outputs_json, size_bytes,"     \
    " metadata_json, tags_json, status, created_at_ms, created_by"

static int read_version(sqlite3_stmt *st, void *item)
{
    inferd_reg_version_t *v = item;
    v->model = column_text(st, 0);
    v->version = sqlite3_column_int64(st, 1);
    v->artifact_path = column_text(st, 2);
    const unsigned char *sha = sqlite3_column_text(st, 3);
    snprintf(v->sha256, sizeof(v->sha256), "%s", sha != NULL ? (const char *)sha : "");
    v->framework = column_text(st, 4);
    v->inputs_json = column_text(st, 5);
    v->outputs_json = column_text(st, 6);
    v->size_bytes = sqlite3_column_int64(st, 7);
    v->metadata_json = column_text(st, 8);
    v->tags_json = column_text(st, 9);
    const unsigned char *status = sqlite3_column_text(st, 10);
    int parsed = inferd_version_status_parse((const char *)status);
    v->status = parsed >= 0 ? (inferd_version_status_t)parsed : INFERD_VS_DRAFT; /* CHECKed */
    v->created_at_ms = sqlite3_column_int64(st, 11);
    v->created_by = column_text(st, 12);
    bool complete = v->model && v->artifact_path && v->framework && v->inputs_json &&
                    v->outputs_json && v->metadata_json && v->tags_json && v->created_by;
    return complete ? 0 : INFERD_ENOMEM;
}

static int read_model(sqlite3_stmt *st, void *item)
{
    inferd_reg_model_t *m = item;
    m->name = column_text(st, 0);
    m->default_version = sqlite3_column_int64(st, 1);
    m->created_at_ms = sqlite3_column_int64(st, 2);
    return m->name != NULL ? 0 : INFERD_ENOMEM;
}

static int read_label(sqlite3_stmt *st, void *item)
{
    inferd_reg_label_t *l = item;
    l->model = column_text(st, 0);
    l->label = column_text(st, 1);
    l->version = sqlite3_column_int64(st, 2);
    return l->model && l->label ? 0 : INFERD_ENOMEM;
}

static int read_deployment(sqlite3_stmt *st, void *item)
{
    inferd_reg_deployment_t *d = item;
    d->id = sqlite3_column_int64(st, 0);
    d->model = column_text(st, 1);
    d->version = sqlite3_column_int64(st, 2);
    d->config_json = column_text(st, 3);
    d->created_at_ms = sqlite3_column_int64(st, 4);
    d->created_by = column_text(st, 5);
    d->is_active = sqlite3_column_type(st, 6) == SQLITE_NULL;
    d->retired_at_ms = d->is_active ? 0 : sqlite3_column_int64(st, 6);
    return d->model && d->config_json && d->created_by ? 0 : INFERD_ENOMEM;
}

static int read_audit(sqlite3_stmt *st, void *item)
{
    inferd_audit_entry_t *e = item;
    e->id = sqlite3_column_int64(st, 0);
    e->at_ms = sqlite3_column_int64(st, 1);
    e->actor = column_text(st, 2);
    e->action = column_text(st, 3);
    e->model = column_text(st, 4);
    e->version = sqlite3_column_int64(st, 5);
    e->detail_json = column_text(st, 6);
    e->reason = column_text(st, 7);
    return e->actor && e->action && e->model && e->detail_json && e->reason ? 0 : INFERD_ENOMEM;
}

static void free_versions(void *items, size_t count)
{
    inferd_reg_versions_free(items, count);
}
static void free_models(void *items, size_t count)
{
    inferd_reg_models_free(items, count);
}
static void free_labels(void *items, size_t count)
{
    inferd_reg_labels_free(items, count);
}
static void free_deployments(void *items, size_t count)
{
    inferd_reg_deployments_free(items, count);
}
static void free_audit(void *items, size_t count)
{
    inferd_audit_entries_free(items, count);
}

typedef struct row_kind {
    size_t item_bytes;
    int (*read)(sqlite3_stmt *st, void *item); /* 0 or INFERD_ENOMEM (item freed by free) */
    void (*free)(void *items, size_t count);
} row_kind_t;

static const row_kind_t version_rows = {sizeof(inferd_reg_version_t), read_version, free_versions};
static const row_kind_t model_rows = {sizeof(inferd_reg_model_t), read_model, free_models};
static const row_kind_t label_rows = {sizeof(inferd_reg_label_t), read_label, free_labels};
static const row_kind_t deployment_rows = {sizeof(inferd_reg_deployment_t), read_deployment,
                                           free_deployments};
static const row_kind_t audit_rows = {sizeof(inferd_audit_entry_t), read_audit, free_audit};

/* Reads every row of `st` (then finalized) into a malloc'ed array of `kind`. On failure nothing
 * is returned and nothing leaks. Called with the mutex held. */
static int collect(sqlite_registry_t *s, sqlite3_stmt *st, const row_kind_t *kind, const char *what,
                   void **OUT, size_t *OUT_count, inferd_err_t *err)
{
    void *items = NULL;
    size_t count = 0, capacity = 0;
    int rc;
    while ((rc = sqlite_reg_step(s, st, what, err)) == 1) {
        if (grow(&items, &capacity, count, kind->item_bytes) != 0) {
            rc = inferd_fail(err, INFERD_ENOMEM, "registry %s: %s: out of memory", s->path, what);
            break;
        }
        void *item = (char *)items + count * kind->item_bytes;
        count++; /* counted before reading, so that a half-read row is freed too */
        if (kind->read(st, item) != 0) {
            rc = inferd_fail(err, INFERD_ENOMEM, "registry %s: %s: out of memory", s->path, what);
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != 0) {
        kind->free(items, count);
        return rc;
    }
    *OUT = items;
    *OUT_count = count;
    return 0;
}

/* Runs a query under the mutex and collects its rows. */
static int query_rows(sqlite_registry_t *s, const row_kind_t *kind, const char *what, void **OUT,
                      size_t *OUT_count, inferd_err_t *err, const char *sql, const sql_arg_t *args,
                      size_t arg_count)
{
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st;
    int rc = sqlite_reg_prepare(s, &st, what, err, sql, args, arg_count);
    if (rc == 0)
        rc = collect(s, st, kind, what, OUT, OUT_count, err);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ==== models and versions ==== */

static int sq_add_version(inferd_registry_t *r, const inferd_reg_version_t *v,
                          const inferd_audit_t *audit, inferd_err_t *err)
{
    sqlite_registry_t *s = store_of(r);
    int rc = write_begin(s, "registering a version", err);
    if (rc != 0)
        return rc;
    rc = ensure_model_row(s, v->model, NULL, err);
    if (rc == 0) {
        int64_t created_at_ms = v->created_at_ms != 0 ? v->created_at_ms : inferd_wall_ms();
        rc = sqlite_reg_run(
            s, err, "registering a version", NULL,
            "INSERT INTO versions (" VERSION_COLUMNS ")"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            SQL_ARGS(SQL_TEXT(v->model), SQL_INT(v->version),
                     SQL_TEXT(v->artifact_path ? v->artifact_path : ""), SQL_TEXT(v->sha256),
                     SQL_TEXT(v->framework ? v->framework : ""),
                     SQL_TEXT(v->inputs_json ? v->inputs_json : "null"),
                     SQL_TEXT(v->outputs_json ? v->outputs_json : "null"), SQL_INT(v->size_bytes),
                     SQL_TEXT(v->metadata_json ? v->metadata_json : "{}"),
                     SQL_TEXT(v->tags_json ? v->tags_json : "[]"),
                     SQL_TEXT(inferd_version_status_name(v->status)), SQL_INT(created_at_ms),
                     SQL_TEXT(v->created_by ? v->created_by : "")));
        if (rc == INFERD_ECONFLICT)
            inferd_fail(err, rc, "registry %s: version %lld of model '%s' already exists", s->path,
                        (long long)v->version, v->model);
    }
    return write_end(s, rc, audit, err);
}

static int sq_get_version(inferd_registry_t *r, const char *model, int64_t version,
                          inferd_reg_version_t *OUT, inferd_err_t *err)
{
    sqlite_registry_t *s = store_of(r);
    void *rows = NULL;
    size_t count = 0;
    int rc = query_rows(s, &version_rows, "reading a version", &rows, &count, err,
                        "SELECT " VERSION_COLUMNS " FROM versions WHERE model = ? AND version = ?",
                        SQL_ARGS(SQL_TEXT(model), SQL_INT(version)));
    if (rc != 0)
        return rc;
    if (count == 0) {
        free(rows);
        return inferd_fail(err, INFERD_ENOTFOUND, "version %lld of model '%s' is not registered",
                           (long long)version, model);
    }
    *OUT = *(inferd_reg_version_t *)rows; /* the strings move to OUT */
    free(rows);
    return 0;
}

static int sq_list_versions(inferd_registry_t *r, const char *model, inferd_reg_version_t **OUT,
                            size_t *OUT_count, inferd_err_t *err)
{
    return query_rows(store_of(r), &version_rows, "listing versions", (void **)OUT, OUT_count, err,
                      "SELECT " VERSION_COLUMNS " FROM versions WHERE model = ? ORDER BY version",
                      SQL_ARGS(SQL_TEXT(model)));
}

static int sq_set_version_status(inferd_registry_t *r, const char *model, int64_t version,
                                 inferd_version_status_t status, const inferd_audit_t *audit,
                                 inferd_err_t *err)
{
    sqlite_registry_t *s = store_of(r);
    int rc = write_begin(s, "changing a version's status", err);
    if (rc != 0)
        return rc;
    int64_t changes = 0;
    rc = sqlite_reg_run(
        s, err, "changing a version's status", &changes,
        "UPDATE versions SET status = ? WHERE model = ? AND version = ?",
        SQL_ARGS(SQL_TEXT(inferd_version_status_name(status)), SQL_TEXT(model), SQL_INT(version)));
    if (rc == 0 && changes == 0)
        rc = inferd_fail(err, INFERD_ENOTFOUND, "version %lld of model '%s' is not registered",
                         (long long)version, model);
    return write_end(s, rc, audit, err);
}

static int sq_list_models(inferd_registry_t *r, inferd_reg_model_t **OUT, size_t *OUT_count,
                          inferd_err_t *err)
{
    return query_rows(store_of(r), &model_rows, "listing models", (void **)OUT, OUT_count, err,
                      "SELECT name, default_version, created_at_ms FROM models ORDER BY name",
                      SQL_NO_ARGS);
}

static int sq_get_model(inferd_registry_t *r, const char *name, inferd_reg_model_t *OUT,
                        inferd_err_t *err)
{
    void *rows = NULL;
    size_t count = 0;
    int rc = query_rows(store_of(r), &model_rows, "reading a model", &rows, &count, err,
                        "SELECT name, default_version, created_at_ms FROM models WHERE name = ?",
                        SQL_ARGS(SQL_TEXT(name)));
    if (rc != 0)
        return rc;
    if (count == 0) {
        free(rows);
        return inferd_fail(err, INFERD_ENOTFOUND, "model '%s' is not registered", name);
    }
    *OUT = *(inferd_reg_model_t *)rows;
    free(rows);
    return 0;
}

static int sq_ensure_model(inferd_registry_t *r, const char *name, const inferd_audit_t *audit,
                           inferd_err_t *err)
{
    sqlite_registry_t *s = store_of(r);
    int rc = write_begin(s, "adding a model", err);
    if (rc != 0)
        return rc;
    bool is_created = false;
    rc = ensure_model_row(s, name, &is_created, err);
    return write_end(s, rc, is_created ? audit : NULL, err);
}

static int sq_set_default(inferd_registry_t *r, const char *model, int64_t version,
                          const inferd_audit_t *audit, inferd_err_t *err)
{
    sqlite_registry_t *s = store_of(r);
    int rc = write_begin(s, "setting the default version", err);
    if (rc != 0)
        return rc;
    rc = ensure_model_row(s, model, NULL, err);
    if (rc == 0)
        rc = sqlite_reg_run(s, err, "setting the default version", NULL,
                            "UPDATE models SET default_version = ? WHERE name = ?",
                            SQL_ARGS(SQL_INT(version), SQL_TEXT(model)));
    return write_end(s, rc, audit, err);
}

/* ==== labels ==== */

static int sq_set_label(inferd_registry_t *r, const char *model, const char *label, int64_t version,
                        const inferd_audit_t *audit, inferd_err_t *err)
{
    sqlite_registry_t *s = store_of(r);
    int rc = write_begin(s, "setting a label", err);
    if (rc != 0)
        return rc;
    rc = ensure_model_row(s, model, NULL, err);
    if (rc == 0)
        rc = sqlite_reg_run(
            s, err, "setting a label", NULL,
            "INSERT INTO labels (model, label, version, updated_at_ms) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (model, label) DO UPDATE"
            " SET version = excluded.version, updated_at_ms = excluded.updated_at_ms",
            SQL_ARGS(SQL_TEXT(model), SQL_TEXT(label), SQL_INT(version),
                     SQL_INT(inferd_wall_ms())));
    return write_end(s, rc, audit, err);
}

static int sq_delete_label(inferd_registry_t *r, const char *model, const char *label,
                           const inferd_audit_t *audit, inferd_err_t *err)
{
    sqlite_registry_t *s = store_of(r);
    int rc = write_begin(s, "deleting a label", err);
    if (rc != 0)
        return rc;
    int64_t changes = 0;
    rc = sqlite_reg_run(s, err, "deleting a label", &changes,
                        "DELETE FROM labels WHERE model = ? AND label = ?",
                        SQL_ARGS(SQL_TEXT(model), SQL_TEXT(label)));
    if (rc == 0 && changes == 0)
        rc = inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no label '%s'", model, label);
    return write_end(s, rc, audit, err);
}

static int sq_list_labels(inferd_registry_t *r, const char *model, inferd_reg_label_t **OUT,
                          size_t *OUT_count, inferd_err_t *err)
{
    return query_rows(store_of(r), &label_rows, "listing labels", (void **)OUT, OUT_count, err,
                      "SELECT model, label, version FROM labels"
                      " WHERE ?1 IS NULL OR model = ?1 ORDER BY model, label",
                      SQL_ARGS(SQL_TEXT(model)));
}

/* ==== deployments ==== */

static int sq_add_deployment(inferd_registry_t *r, const char *model, int64_t version,
                             const char *config_json, const char *created_by,
                             const inferd_audit_t *audit, int64_t *OUT_id, inferd_err_t *err)
{
    sqlite_registry_t *s = store_of(r);
    int rc = write_begin(s, "recording a deployment", err);
    if (rc != 0)
        return rc;
    int64_t at_ms = inferd_wall_ms();
    rc = ensure_model_row(s, model, NULL, err);
    if (rc == 0)
        rc = sqlite_reg_run(s, err, "retiring the previous deployment", NULL,
                            "UPDATE deployments SET retired_at_ms = ?"
                            " WHERE model = ? AND version = ? AND retired_at_ms IS NULL",
                            SQL_ARGS(SQL_INT(at_ms), SQL_TEXT(model), SQL_INT(version)));
    if (rc == 0)
        rc = sqlite_reg_run(
            s, err, "recording a deployment", NULL,
            "INSERT INTO deployments (model, version, config_json, created_at_ms, created_by)"
            " VALUES (?, ?, ?, ?, ?)",
            SQL_ARGS(SQL_TEXT(model), SQL_INT(version), SQL_TEXT(config_json), SQL_INT(at_ms),
                     SQL_TEXT(created_by)));
    if (rc == 0 && OUT_id != NULL)
        *OUT_id = sqlite3_last_insert_rowid(s->db);
    return write_end(s, rc, audit, err);
}

static int sq_retire_deployment(inferd_registry_t *r, const char *model, int64_t version,
                                const inferd_audit_t *audit, inferd_err_t *err)
{
    sqlite_registry_t *s = store_of(r);
    int rc = write_begin(s, "retiring a deployment", err);
    if (rc != 0)
        return rc;
    int64_t changes = 0;
    rc = sqlite_reg_run(s, err, "retiring a deployment", &changes,
                        "UPDATE deployments SET retired_at_ms = ?"
                        " WHERE model = ? AND version = ? AND retired_at_ms IS NULL",
                        SQL_ARGS(SQL_INT(inferd_wall_ms()), SQL_TEXT(model), SQL_INT(version)));
    if (rc == 0 && changes == 0)
        rc = inferd_fail(err, INFERD_ENOTFOUND,
                         "version %lld of model '%s' has no active deployment", (long long)version,
                         model);
    return write_end(s, rc, audit, err);
}

static int sq_list_deployments(inferd_registry_t *r, const char *model, bool active_only,
                               inferd_reg_deployment_t **OUT, size_t *OUT_count, inferd_err_t *err)
{
    return query_rows(store_of(r), &deployment_rows, "listing deployments", (void **)OUT, OUT_count,
                      err,
                      "SELECT id, model, version, config_json, created_at_ms, created_by,"
                      " retired_at_ms FROM deployments"
                      " WHERE (?1 IS NULL OR model = ?1) AND (?2 = 0 OR retired_at_ms IS NULL)"
                      " ORDER BY id DESC",
                      SQL_ARGS(SQL_TEXT(model), SQL_INT((int64_t)active_only)));
}

/* ==== per-model state documents ==== */

static int sq_put_state(inferd_registry_t *r, const char *model, const char *key, const char *json,
                        const inferd_audit_t *audit, inferd_err_t *err)
{
    sqlite_registry_t *s = store_of(r);
    int rc = write_begin(s, "storing a state document", err);
    if (rc != 0)
        return rc;
    if (json == NULL) {
        int64_t changes = 0;
        rc = sqlite_reg_run(s, err, "deleting a state document", &changes,
                            "DELETE FROM state WHERE model = ? AND key = ?",
                            SQL_ARGS(SQL_TEXT(model), SQL_TEXT(key)));
        return write_end(s, rc, changes > 0 ? audit : NULL, err);
    }
    rc = ensure_model_row(s, model, NULL, err);
    if (rc == 0)
        rc = sqlite_reg_run(
            s, err, "storing a state document", NULL,
            "INSERT INTO state (model, key, json, updated_at_ms) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (model, key) DO UPDATE"
            " SET json = excluded.json, updated_at_ms = excluded.updated_at_ms",
            SQL_ARGS(SQL_TEXT(model), SQL_TEXT(key), SQL_TEXT(json), SQL_INT(inferd_wall_ms())));
    return write_end(s, rc, audit, err);
}

static int sq_get_state(inferd_registry_t *r, const char *model, const char *key, char **OUT_json,
                        inferd_err_t *err)
{
    sqlite_registry_t *s = store_of(r);
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st;
    int rc = sqlite_reg_prepare(s, &st, "reading a state document", err,
                                "SELECT json FROM state WHERE model = ? AND key = ?",
                                SQL_ARGS(SQL_TEXT(model), SQL_TEXT(key)));
    if (rc == 0) {
        rc = sqlite_reg_step(s, st, "reading a state document", err);
        if (rc == 1) {
            *OUT_json = column_text(st, 0);
            rc = *OUT_json != NULL ? 0 : inferd_fail(err, INFERD_ENOMEM, "out of memory");
        } else if (rc == 0) {
            rc = inferd_fail(err, INFERD_ENOTFOUND, "model '%s' has no state '%s'", model, key);
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ==== the audit log ==== */

static int sq_append_audit(inferd_registry_t *r, const inferd_audit_t *audit, inferd_err_t *err)
{
    sqlite_registry_t *s = store_of(r);
    int rc = write_begin(s, "writing the audit entry", err);
    if (rc != 0)
        return rc;
    return write_end(s, 0, audit, err);
}

static int sq_list_audit(inferd_registry_t *r, const char *model, int64_t after_id, size_t limit,
                         inferd_audit_entry_t **OUT, size_t *OUT_count, inferd_err_t *err)
{
    int64_t sql_limit = limit > (size_t)INT64_MAX ? -1 : (int64_t)limit; /* -1: no limit */
    return query_rows(store_of(r), &audit_rows, "reading the audit log", (void **)OUT, OUT_count,
                      err,
                      "SELECT id, at_ms, actor, action, model, version, detail_json, reason"
                      " FROM audit WHERE id > ?1 AND (?2 IS NULL OR model = ?2)"
                      " ORDER BY id LIMIT ?3",
                      SQL_ARGS(SQL_INT(after_id), SQL_TEXT(model), SQL_INT(sql_limit)));
}

/* ==== the table registry.c dispatches through ==== */

const struct inferd_registry_ops sqlite_reg_ops = {
    .name = "sqlite",
    .close = sqlite_reg_close,
    .add_version = sq_add_version,
    .get_version = sq_get_version,
    .list_versions = sq_list_versions,
    .set_version_status = sq_set_version_status,
    .list_models = sq_list_models,
    .get_model = sq_get_model,
    .ensure_model = sq_ensure_model,
    .set_default = sq_set_default,
    .set_label = sq_set_label,
    .delete_label = sq_delete_label,
    .list_labels = sq_list_labels,
    .add_deployment = sq_add_deployment,
    .retire_deployment = sq_retire_deployment,
    .list_deployments = sq_list_deployments,
    .put_state = sq_put_state,
    .get_state = sq_get_state,
    .append_audit = sq_append_audit,
    .list_audit = sq_list_audit,
};
