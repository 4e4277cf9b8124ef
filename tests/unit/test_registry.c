/* Unit tests for the registry (src/registry) on its SQLite store: every call, its conflicts and
 * not-founds, the audit entries each mutation writes, the append-only audit table, state that
 * survives close and reopen, files that are refused, and a writer killed with SIGKILL that
 * loses nothing it acknowledged. Each test works in its own temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inferd/registry.h"

static char dir[256];
static char db_path[320];

static int make_dir(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/inferd-test-registry-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db_path, sizeof(db_path), "%s/registry.db", dir);
    return 0;
}

static int remove_dir(void **state)
{
    const char *names[] = {"registry.db", "registry.db-wal", "registry.db-shm",
                           "registry.db-journal", "garbage.db"};
    char path[400];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

static inferd_registry_t *open_registry(void)
{
    inferd_registry_t *r = NULL;
    inferd_err_t err = {0};
    int rc = inferd_registry_open(db_path, &r, &err);
    if (rc != 0)
        fprintf(stderr, "open: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(r);
    return r;
}

/* A version with every field set; strings borrowed from static storage. */
static inferd_reg_version_t sample_version(const char *model, int64_t version)
{
    inferd_reg_version_t v = {0};
    v.model = (char *)model;
    v.version = version;
    v.artifact_path = (char *)"fraud/1/model.onnx";
    snprintf(v.sha256, sizeof(v.sha256), "%064d", 7);
    v.framework = (char *)"onnx";
    v.inputs_json = (char *)"[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[-1,4]}]";
    v.outputs_json = (char *)"[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[-1,1]}]";
    v.size_bytes = 1234;
    v.metadata_json = (char *)"{\"auc\":0.91}";
    v.tags_json = (char *)"[\"prod\"]";
    v.status = INFERD_VS_DRAFT;
    v.created_by = (char *)"alice";
    return v;
}

static void add(inferd_registry_t *r, const char *model, int64_t version)
{
    inferd_reg_version_t v = sample_version(model, version);
    inferd_err_t err = {0};
    inferd_audit_t audit = {.actor = "alice", .reason = "test"};
    int rc = inferd_registry_add_version(r, &v, &audit, &err);
    if (rc != 0)
        fprintf(stderr, "add_version: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

/* Every audit entry, oldest first (caller frees). */
static inferd_audit_entry_t *all_audit(inferd_registry_t *r, size_t *count)
{
    inferd_audit_entry_t *entries = NULL;
    inferd_err_t err = {0};
    assert_int_equal(inferd_registry_list_audit(r, NULL, 0, 0, &entries, count, &err), 0);
    return entries;
}

static size_t audit_count(inferd_registry_t *r)
{
    size_t count;
    inferd_audit_entry_t *entries = all_audit(r, &count);
    inferd_audit_entries_free(entries, count);
    return count;
}

/* Runs one SQL statement on the file directly (no registry); returns SQLite's code and, in
 * msg, its message. */
static int raw_sql(const char *sql, char *msg, size_t msg_len)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    char *errmsg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &errmsg);
    if (msg != NULL)
        snprintf(msg, msg_len, "%s", errmsg ? errmsg : "");
    sqlite3_free(errmsg);
    sqlite3_close(db);
    return rc;
}

/* The single text value a query returns, from the file directly. */
static void raw_query_text(const char *sql, char *out, size_t out_len)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *text = sqlite3_column_text(st, 0);
    snprintf(out, out_len, "%s", text ? (const char *)text : "");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ==== opening ==== */

static void test_open_creates_schema_in_wal_mode(void **state)
{
    inferd_registry_t *r = open_registry();
    char text[64];
    raw_query_text("PRAGMA journal_mode", text, sizeof(text));
    assert_string_equal(text, "wal");
    raw_query_text("PRAGMA user_version", text, sizeof(text));
    assert_string_equal(text, "1");
    inferd_registry_close(r);

    /* "sqlite:PATH" is the same file; a second open migrates nothing */
    char location[400];
    snprintf(location, sizeof(location), "sqlite:%s", db_path);
    inferd_err_t err = {0};
    assert_int_equal(inferd_registry_open(location, &r, &err), 0);
    inferd_registry_close(r);
    raw_query_text("PRAGMA user_version", text, sizeof(text));
    assert_string_equal(text, "1");

    r = (inferd_registry_t *)&err; /* must be reset */
    assert_int_equal(inferd_registry_open("postgres://db/inferd", &r, &err), INFERD_EUNSUPPORTED);
    assert_null(r);
    assert_non_null(strstr(err.msg, "postgres://db/inferd"));
}

static void test_missing_directory_is_refused(void **state)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/no/such/dir/registry.db", dir);
    inferd_registry_t *r = NULL;
    inferd_err_t err = {0};
    assert_int_equal(inferd_registry_open(path, &r, &err), INFERD_EIO);
    assert_null(r);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "create it first"));
}

static void test_file_that_is_not_a_database_is_refused(void **state)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/garbage.db", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is a config file, not a database\n", f);
    fclose(f);
    inferd_registry_t *r = NULL;
    inferd_err_t err = {0};
    assert_int_equal(inferd_registry_open(path, &r, &err), INFERD_EIO);
    assert_null(r);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "not a SQLite database"));
    /* and the file is left as it was */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 200 * 38);
}

static void test_newer_schema_is_refused(void **state)
{
    inferd_registry_close(open_registry());
    assert_int_equal(raw_sql("PRAGMA user_version = 99", NULL, 0), SQLITE_OK);
    inferd_registry_t *r = NULL;
    inferd_err_t err = {0};
    assert_int_equal(inferd_registry_open(db_path, &r, &err), INFERD_EIO);
    assert_non_null(strstr(err.msg, "schema version 99"));
}

/* ==== models and versions ==== */

static void test_versions_add_get_list(void **state)
{
    inferd_registry_t *r = open_registry();
    inferd_err_t err = {0};
    add(r, "fraud", 2);
    add(r, "fraud", 1);

    inferd_reg_version_t v;
    assert_int_equal(inferd_registry_get_version(r, "fraud", 2, &v, &err), 0);
    assert_string_equal(v.model, "fraud");
    assert_int_equal(v.version, 2);
    assert_string_equal(v.artifact_path, "fraud/1/model.onnx");
    assert_int_equal(strlen(v.sha256), 64);
    assert_string_equal(v.framework, "onnx");
    assert_string_equal(v.metadata_json, "{\"auc\":0.91}");
    assert_string_equal(v.tags_json, "[\"prod\"]");
    assert_int_equal(v.size_bytes, 1234);
    assert_int_equal(v.status, INFERD_VS_DRAFT);
    assert_string_equal(v.created_by, "alice");
    assert_true(v.created_at_ms > 1600000000000LL); /* 0 became now */
    inferd_reg_version_clear(&v);

    /* empty members read back as JSON, never NULL */
    inferd_reg_version_t bare = {.model = "churn", .version = 3};
    assert_int_equal(inferd_registry_add_version(r, &bare, NULL, &err), 0);
    assert_int_equal(inferd_registry_get_version(r, "churn", 3, &v, &err), 0);
    assert_string_equal(v.inputs_json, "null");
    assert_string_equal(v.metadata_json, "{}");
    assert_string_equal(v.tags_json, "[]");
    assert_string_equal(v.artifact_path, "");
    assert_string_equal(v.sha256, "");
    inferd_reg_version_clear(&v);

    inferd_reg_version_t *list;
    size_t count;
    assert_int_equal(inferd_registry_list_versions(r, "fraud", &list, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_int_equal(list[0].version, 1);
    assert_int_equal(list[1].version, 2);
    inferd_reg_versions_free(list, count);

    assert_int_equal(inferd_registry_list_versions(r, "nobody", &list, &count, &err), 0);
    assert_int_equal(count, 0);
    inferd_reg_versions_free(list, count);

    assert_int_equal(inferd_registry_get_version(r, "fraud", 9, &v, &err), INFERD_ENOTFOUND);
    assert_int_equal(inferd_registry_get_version(r, "nobody", 1, &v, &err), INFERD_ENOTFOUND);
    inferd_registry_close(r);
}

static void test_duplicate_version_conflicts_and_changes_nothing(void **state)
{
    inferd_registry_t *r = open_registry();
    add(r, "fraud", 1);
    size_t audits = audit_count(r);

    inferd_reg_version_t again = sample_version("fraud", 1);
    again.framework = "xgboost";
    inferd_err_t err = {0};
    assert_int_equal(inferd_registry_add_version(r, &again, NULL, &err), INFERD_ECONFLICT);
    assert_non_null(strstr(err.msg, "already exists"));
    assert_non_null(strstr(err.msg, db_path));
    assert_int_equal(audit_count(r), audits); /* the audit row was rolled back with it */

    /* a conflict whatever the status */
    assert_int_equal(
        inferd_registry_set_version_status(r, "fraud", 1, INFERD_VS_ARCHIVED, NULL, &err), 0);
    assert_int_equal(inferd_registry_add_version(r, &again, NULL, &err), INFERD_ECONFLICT);

    inferd_reg_version_t v;
    assert_int_equal(inferd_registry_get_version(r, "fraud", 1, &v, &err), 0);
    assert_string_equal(v.framework, "onnx");
    inferd_reg_version_clear(&v);
    inferd_registry_close(r);
}

static void test_bad_arguments_are_refused(void **state)
{
    inferd_registry_t *r = open_registry();
    inferd_err_t err = {0};
    inferd_reg_version_t v = sample_version("fraud", 0);
    assert_int_equal(inferd_registry_add_version(r, &v, NULL, &err), INFERD_EINVAL);
    v = sample_version("", 1);
    assert_int_equal(inferd_registry_add_version(r, &v, NULL, &err), INFERD_EINVAL);
    v = sample_version("fraud", 1);
    v.sha256[3] = 'G';
    assert_int_equal(inferd_registry_add_version(r, &v, NULL, &err), INFERD_EINVAL);
    v = sample_version("fraud", 1);
    v.metadata_json = "{not json";
    assert_int_equal(inferd_registry_add_version(r, &v, NULL, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, db_path));
    assert_non_null(strstr(err.msg, "CHECK constraint failed")); /* SQLite's own words */
    assert_int_equal(inferd_registry_set_label(r, "fraud", "", 1, NULL, &err), INFERD_EINVAL);
    assert_int_equal(inferd_registry_set_default(r, "fraud", -1, NULL, &err), INFERD_EINVAL);
    assert_int_equal(inferd_registry_set_version_status(r, "fraud", 1, INFERD_VS_COUNT, NULL, &err),
                     INFERD_EINVAL);

    /* nothing of the above reached the database, not even the model row */
    inferd_reg_model_t *models;
    size_t count;
    assert_int_equal(inferd_registry_list_models(r, &models, &count, &err), 0);
    assert_int_equal(count, 0);
    inferd_reg_models_free(models, count);
    assert_int_equal(audit_count(r), 0);
    inferd_registry_close(r);
}

static void test_version_status(void **state)
{
    inferd_registry_t *r = open_registry();
    inferd_err_t err = {0};
    add(r, "fraud", 1);
    assert_int_equal(
        inferd_registry_set_version_status(r, "fraud", 1, INFERD_VS_ACTIVE, NULL, &err), 0);
    inferd_reg_version_t v;
    assert_int_equal(inferd_registry_get_version(r, "fraud", 1, &v, &err), 0);
    assert_int_equal(v.status, INFERD_VS_ACTIVE);
    inferd_reg_version_clear(&v);
    assert_int_equal(
        inferd_registry_set_version_status(r, "fraud", 2, INFERD_VS_ACTIVE, NULL, &err),
        INFERD_ENOTFOUND);

    assert_string_equal(inferd_version_status_name(INFERD_VS_DEPRECATED), "deprecated");
    assert_null(inferd_version_status_name(INFERD_VS_COUNT));
    assert_int_equal(inferd_version_status_parse("archived"), INFERD_VS_ARCHIVED);
    assert_int_equal(inferd_version_status_parse("gone"), -1);
    assert_int_equal(inferd_version_status_parse(NULL), -1);
    inferd_registry_close(r);
}

static void test_models_and_default(void **state)
{
    inferd_registry_t *r = open_registry();
    inferd_err_t err = {0};
    add(r, "zeta", 1);
    assert_int_equal(inferd_registry_ensure_model(r, "alpha", &err), 0);
    size_t audits = audit_count(r);
    assert_int_equal(inferd_registry_ensure_model(r, "alpha", &err), 0);
    assert_int_equal(audit_count(r), audits); /* nothing new: no entry */

    inferd_reg_model_t *models;
    size_t count;
    assert_int_equal(inferd_registry_list_models(r, &models, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_string_equal(models[0].name, "alpha");
    assert_string_equal(models[1].name, "zeta");
    assert_int_equal(models[1].default_version, 0);
    inferd_reg_models_free(models, count);

    assert_int_equal(inferd_registry_set_default(r, "zeta", 1, NULL, &err), 0);
    inferd_reg_model_t m;
    assert_int_equal(inferd_registry_get_model(r, "zeta", &m, &err), 0);
    assert_int_equal(m.default_version, 1);
    assert_true(m.created_at_ms > 0);
    inferd_reg_model_clear(&m);
    assert_int_equal(inferd_registry_set_default(r, "zeta", 0, NULL, &err), 0);
    assert_int_equal(inferd_registry_get_model(r, "zeta", &m, &err), 0);
    assert_int_equal(m.default_version, 0);
    inferd_reg_model_clear(&m);

    /* set_default creates the model */
    assert_int_equal(inferd_registry_set_default(r, "new", 4, NULL, &err), 0);
    assert_int_equal(inferd_registry_get_model(r, "new", &m, &err), 0);
    assert_int_equal(m.default_version, 4);
    inferd_reg_model_clear(&m);
    assert_int_equal(inferd_registry_get_model(r, "nobody", &m, &err), INFERD_ENOTFOUND);

    inferd_audit_entry_t *entries = all_audit(r, &count);
    assert_string_equal(entries[count - 2].action, "clear_default");
    assert_string_equal(entries[count - 1].action, "set_default");
    assert_string_equal(entries[count - 1].model, "new");
    assert_int_equal(entries[count - 1].version, 4);
    inferd_audit_entries_free(entries, count);
    inferd_registry_close(r);
}

/* ==== labels ==== */

static void test_labels(void **state)
{
    inferd_registry_t *r = open_registry();
    inferd_err_t err = {0};
    assert_int_equal(inferd_registry_set_label(r, "fraud", "stable", 3, NULL, &err), 0);
    assert_int_equal(inferd_registry_set_label(r, "fraud", "canary", 4, NULL, &err), 0);
    assert_int_equal(inferd_registry_set_label(r, "churn", "stable", 1, NULL, &err), 0);
    assert_int_equal(inferd_registry_set_label(r, "fraud", "stable", 4, NULL, &err), 0); /* moved */

    inferd_reg_label_t *labels;
    size_t count;
    assert_int_equal(inferd_registry_list_labels(r, "fraud", &labels, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_string_equal(labels[0].label, "canary");
    assert_string_equal(labels[1].label, "stable");
    assert_int_equal(labels[1].version, 4);
    inferd_reg_labels_free(labels, count);

    assert_int_equal(inferd_registry_list_labels(r, NULL, &labels, &count, &err), 0);
    assert_int_equal(count, 3);
    assert_string_equal(labels[0].model, "churn");
    inferd_reg_labels_free(labels, count);

    assert_int_equal(inferd_registry_delete_label(r, "fraud", "canary", NULL, &err), 0);
    assert_int_equal(inferd_registry_delete_label(r, "fraud", "canary", NULL, &err),
                     INFERD_ENOTFOUND);
    assert_int_equal(inferd_registry_list_labels(r, "fraud", &labels, &count, &err), 0);
    assert_int_equal(count, 1);
    inferd_reg_labels_free(labels, count);

    inferd_audit_entry_t *entries = all_audit(r, &count);
    assert_int_equal(count, 5); /* four sets and one delete; the failed delete left nothing */
    assert_string_equal(entries[3].action, "set_label");
    assert_int_equal(entries[3].version, 4);
    assert_string_equal(entries[4].action, "delete_label");
    inferd_audit_entries_free(entries, count);
    inferd_registry_close(r);
}

/* ==== deployments ==== */

static void test_deployments(void **state)
{
    inferd_registry_t *r = open_registry();
    inferd_err_t err = {0};
    int64_t first = 0, second = 0, third = 0;
    assert_int_equal(inferd_registry_add_deployment(r, "fraud", 1, "{\"instances\":2}", "alice",
                                                    NULL, &first, &err),
                     0);
    assert_int_equal(inferd_registry_add_deployment(r, "fraud", 2, NULL, NULL, NULL, &second, &err),
                     0);
    /* a new deployment of version 1 retires the first */
    assert_int_equal(inferd_registry_add_deployment(r, "fraud", 1, "{\"instances\":4}", "bob", NULL,
                                                    &third, &err),
                     0);
    assert_true(first < second && second < third);

    inferd_reg_deployment_t *list;
    size_t count;
    assert_int_equal(inferd_registry_list_deployments(r, "fraud", false, &list, &count, &err), 0);
    assert_int_equal(count, 3);
    assert_int_equal(list[0].id, third); /* newest first */
    assert_true(list[0].is_active);
    assert_int_equal(list[0].retired_at_ms, 0);
    assert_string_equal(list[0].config_json, "{\"instances\":4}");
    assert_string_equal(list[0].created_by, "bob");
    assert_int_equal(list[2].id, first);
    assert_false(list[2].is_active);
    assert_true(list[2].retired_at_ms > 0);
    assert_string_equal(list[1].config_json, "{}");
    inferd_reg_deployments_free(list, count);

    assert_int_equal(inferd_registry_list_deployments(r, "fraud", true, &list, &count, &err), 0);
    assert_int_equal(count, 2);
    inferd_reg_deployments_free(list, count);

    assert_int_equal(inferd_registry_retire_deployment(r, "fraud", 1, NULL, &err), 0);
    assert_int_equal(inferd_registry_retire_deployment(r, "fraud", 1, NULL, &err),
                     INFERD_ENOTFOUND);
    assert_int_equal(inferd_registry_retire_deployment(r, "nobody", 1, NULL, &err),
                     INFERD_ENOTFOUND);
    assert_int_equal(inferd_registry_list_deployments(r, NULL, true, &list, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(list[0].version, 2);
    inferd_reg_deployments_free(list, count);
    inferd_registry_close(r);

    /* the database itself holds at most one active deployment per version */
    char msg[256];
    assert_int_not_equal(raw_sql("INSERT INTO deployments (model, version, config_json,"
                                 " created_at_ms, created_by) VALUES ('fraud', 2, '{}', 1, '')",
                                 msg, sizeof(msg)),
                         SQLITE_OK);
    assert_non_null(strstr(msg, "UNIQUE"));
}

/* ==== state documents ==== */

static void test_state_documents(void **state)
{
    inferd_registry_t *r = open_registry();
    inferd_err_t err = {0};
    char *json = NULL;
    assert_int_equal(inferd_registry_get_state(r, "fraud", "traffic", &json, &err),
                     INFERD_ENOTFOUND);
    assert_null(json);
    assert_int_equal(
        inferd_registry_put_state(r, "fraud", "traffic", "{\"split\":[90,10]}", NULL, &err), 0);
    assert_int_equal(
        inferd_registry_put_state(r, "fraud", "traffic", "{\"split\":[50,50]}", NULL, &err), 0);
    assert_int_equal(inferd_registry_get_state(r, "fraud", "traffic", &json, &err), 0);
    assert_string_equal(json, "{\"split\":[50,50]}");
    free(json);

    size_t audits = audit_count(r);
    assert_int_equal(inferd_registry_put_state(r, "fraud", "traffic", "{oops", NULL, &err),
                     INFERD_EINVAL);
    assert_int_equal(audit_count(r), audits);
    assert_int_equal(inferd_registry_get_state(r, "fraud", "traffic", &json, &err), 0);
    assert_string_equal(json, "{\"split\":[50,50]}"); /* unchanged */
    free(json);

    assert_int_equal(inferd_registry_put_state(r, "fraud", "traffic", NULL, NULL, &err), 0);
    assert_int_equal(inferd_registry_get_state(r, "fraud", "traffic", &json, &err),
                     INFERD_ENOTFOUND);
    assert_int_equal(audit_count(r), audits + 1); /* "delete_state" */
    /* deleting what is not there is no change: 0, no entry */
    assert_int_equal(inferd_registry_put_state(r, "fraud", "traffic", NULL, NULL, &err), 0);
    assert_int_equal(audit_count(r), audits + 1);
    inferd_registry_close(r);
}

/* ==== the audit log ==== */

static void test_audit_entries(void **state)
{
    inferd_registry_t *r = open_registry();
    inferd_err_t err = {0};
    add(r, "fraud", 1);
    inferd_audit_t deploy = {.actor = "bob",
                             .action = "deploy",
                             .model = "fraud",
                             .version = 1,
                             .detail_json = "{\"instances\":2}",
                             .reason = "ticket 42"};
    assert_int_equal(
        inferd_registry_add_deployment(r, "fraud", 1, NULL, "bob", &deploy, NULL, &err), 0);
    inferd_audit_t failed_load = {.actor = "poller", .action = "load_failed", .model = "churn"};
    assert_int_equal(inferd_registry_append_audit(r, &failed_load, &err), 0);
    inferd_audit_t server = {.actor = "startup", .action = "start"};
    assert_int_equal(inferd_registry_append_audit(r, &server, &err), 0);
    assert_int_equal(inferd_registry_append_audit(r, NULL, &err), INFERD_EINVAL);
    inferd_audit_t bad_detail = {.action = "x", .detail_json = "[1,"};
    assert_int_equal(inferd_registry_append_audit(r, &bad_detail, &err), INFERD_EINVAL);

    size_t count;
    inferd_audit_entry_t *all = all_audit(r, &count);
    assert_int_equal(count, 4);
    assert_string_equal(all[0].action, "register"); /* the call's own action filled in */
    assert_string_equal(all[0].actor, "alice");
    assert_string_equal(all[0].model, "fraud");
    assert_int_equal(all[0].version, 1);
    assert_string_equal(all[0].reason, "test");
    assert_string_equal(all[0].detail_json, "{}");
    assert_string_equal(all[1].actor, "bob");
    assert_string_equal(all[1].detail_json, "{\"instances\":2}");
    assert_string_equal(all[1].reason, "ticket 42");
    assert_string_equal(all[2].model, "churn");
    assert_int_equal(all[2].version, 0);
    assert_string_equal(all[3].model, "");
    assert_string_equal(all[3].reason, "");
    for (size_t i = 1; i < count; i++) {
        assert_true(all[i].id > all[i - 1].id);
        assert_true(all[i].at_ms >= all[i - 1].at_ms);
    }

    inferd_audit_entry_t *page;
    size_t page_count;
    assert_int_equal(inferd_registry_list_audit(r, NULL, all[0].id, 2, &page, &page_count, &err),
                     0);
    assert_int_equal(page_count, 2);
    assert_int_equal(page[0].id, all[1].id);
    assert_int_equal(page[1].id, all[2].id);
    inferd_audit_entries_free(page, page_count);

    assert_int_equal(inferd_registry_list_audit(r, "fraud", 0, 0, &page, &page_count, &err), 0);
    assert_int_equal(page_count, 2);
    assert_string_equal(page[1].action, "deploy");
    inferd_audit_entries_free(page, page_count);

    assert_int_equal(inferd_registry_list_audit(r, NULL, all[3].id, 10, &page, &page_count, &err),
                     0);
    assert_int_equal(page_count, 0);
    inferd_audit_entries_free(page, page_count);
    inferd_audit_entries_free(all, count);

    /* a mutation whose audit entry cannot be written is rolled back whole */
    inferd_reg_version_t v = sample_version("fraud", 2);
    assert_int_equal(inferd_registry_add_version(r, &v, &bad_detail, &err), INFERD_EINVAL);
    inferd_reg_version_t read;
    assert_int_equal(inferd_registry_get_version(r, "fraud", 2, &read, &err), INFERD_ENOTFOUND);
    inferd_registry_close(r);
}

static void test_audit_rows_refuse_update_and_delete(void **state)
{
    inferd_registry_t *r = open_registry();
    add(r, "fraud", 1);
    inferd_registry_close(r);

    char msg[256];
    assert_int_not_equal(raw_sql("UPDATE audit SET actor = 'mallory'", msg, sizeof(msg)),
                         SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    assert_int_not_equal(raw_sql("DELETE FROM audit", msg, sizeof(msg)), SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));

    r = open_registry();
    size_t count;
    inferd_audit_entry_t *entries = all_audit(r, &count);
    assert_int_equal(count, 1);
    assert_string_equal(entries[0].actor, "alice");
    inferd_audit_entries_free(entries, count);
    inferd_registry_close(r);
}

/* ==== durability ==== */

static void test_everything_survives_close_and_reopen(void **state)
{
    inferd_registry_t *r = open_registry();
    inferd_err_t err = {0};
    add(r, "fraud", 1);
    add(r, "fraud", 2);
    assert_int_equal(inferd_registry_set_default(r, "fraud", 2, NULL, &err), 0);
    assert_int_equal(inferd_registry_set_label(r, "fraud", "stable", 1, NULL, &err), 0);
    assert_int_equal(inferd_registry_add_deployment(r, "fraud", 2, "{}", "", NULL, NULL, &err), 0);
    assert_int_equal(inferd_registry_put_state(r, "fraud", "canary", "{\"stage\":2}", NULL, &err),
                     0);
    inferd_registry_close(r);

    r = open_registry();
    inferd_reg_version_t *versions;
    size_t count;
    assert_int_equal(inferd_registry_list_versions(r, "fraud", &versions, &count, &err), 0);
    assert_int_equal(count, 2);
    inferd_reg_versions_free(versions, count);
    inferd_reg_model_t m;
    assert_int_equal(inferd_registry_get_model(r, "fraud", &m, &err), 0);
    assert_int_equal(m.default_version, 2);
    inferd_reg_model_clear(&m);
    inferd_reg_label_t *labels;
    assert_int_equal(inferd_registry_list_labels(r, "fraud", &labels, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(labels[0].version, 1);
    inferd_reg_labels_free(labels, count);
    inferd_reg_deployment_t *deployments;
    assert_int_equal(inferd_registry_list_deployments(r, "fraud", true, &deployments, &count, &err),
                     0);
    assert_int_equal(count, 1);
    assert_int_equal(deployments[0].version, 2);
    inferd_reg_deployments_free(deployments, count);
    char *json;
    assert_int_equal(inferd_registry_get_state(r, "fraud", "canary", &json, &err), 0);
    assert_string_equal(json, "{\"stage\":2}");
    free(json);
    assert_int_equal(audit_count(r), 6);
    inferd_registry_close(r);
}

/* ==== concurrency ==== */

typedef struct racer {
    inferd_registry_t *registry;
    int rc;
} racer_t;

static void *race_to_register(void *arg)
{
    racer_t *racer = arg;
    inferd_reg_version_t v = sample_version("race", 1);
    inferd_err_t err = {0};
    racer->rc = inferd_registry_add_version(racer->registry, &v, NULL, &err);
    return NULL;
}

/* Eight threads register one version, through one handle and through a second connection to
 * the same file: exactly one wins, the others see a conflict. */
static void test_concurrent_registrations_give_one_winner(void **state)
{
    inferd_registry_t *shared = open_registry();
    inferd_registry_t *other = open_registry();
    racer_t racers[8];
    pthread_t threads[8];
    for (int i = 0; i < 8; i++) {
        racers[i] = (racer_t){.registry = i % 2 ? other : shared, .rc = 1};
        assert_int_equal(pthread_create(&threads[i], NULL, race_to_register, &racers[i]), 0);
    }
    int winners = 0, conflicts = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        winners += racers[i].rc == 0;
        conflicts += racers[i].rc == INFERD_ECONFLICT;
    }
    assert_int_equal(winners, 1);
    assert_int_equal(conflicts, 7);
    assert_int_equal(audit_count(shared), 1);
    inferd_registry_close(other);
    inferd_registry_close(shared);
}

/* ==== a writer killed mid-stream ==== */

enum { OP_VERSION, OP_LABEL, OP_STATE, OP_COUNT };

/* The child: registers versions 1, 2, ... each followed by a label move and a state document,
 * and reports each acknowledged call as version * OP_COUNT + op, until it is killed. */
static void crash_writer(int report_fd)
{
    inferd_registry_t *r = NULL;
    inferd_err_t err = {0};
    if (inferd_registry_open(db_path, &r, &err) != 0)
        _exit(2);
    for (int64_t version = 1; version < 1000000; version++) {
        inferd_reg_version_t v = sample_version("crash", version);
        if (inferd_registry_add_version(r, &v, NULL, &err) != 0)
            _exit(3);
        int64_t ack = version * OP_COUNT + OP_VERSION;
        if (write(report_fd, &ack, sizeof(ack)) != sizeof(ack))
            _exit(4);
        if (inferd_registry_set_label(r, "crash", "latest", version, NULL, &err) != 0)
            _exit(3);
        ack = version * OP_COUNT + OP_LABEL;
        if (write(report_fd, &ack, sizeof(ack)) != sizeof(ack))
            _exit(4);
        char json[64];
        snprintf(json, sizeof(json), "{\"version\":%lld}", (long long)version);
        if (inferd_registry_put_state(r, "crash", "last", json, NULL, &err) != 0)
            _exit(3);
        ack = version * OP_COUNT + OP_STATE;
        if (write(report_fd, &ack, sizeof(ack)) != sizeof(ack))
            _exit(4);
    }
    _exit(0);
}

static void test_kill_9_loses_nothing_acknowledged(void **state)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        crash_writer(fds[1]);
    }
    close(fds[1]);

    /* let it run a while, then kill it wherever it is */
    int64_t ack, last_ack = -1;
    int acks = 0;
    while (acks < 150 && read(fds[0], &ack, sizeof(ack)) == sizeof(ack)) {
        last_ack = ack;
        acks++;
    }
    assert_int_equal(acks, 150);
    assert_int_equal(kill(pid, SIGKILL), 0);
    while (read(fds[0], &ack, sizeof(ack)) == sizeof(ack)) /* what it said before dying */
        last_ack = ack;
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    /* the file is sound before anyone repairs anything */
    char integrity[64];
    raw_query_text("PRAGMA integrity_check", integrity, sizeof(integrity));
    assert_string_equal(integrity, "ok");

    int64_t last_version = last_ack / OP_COUNT, last_op = last_ack % OP_COUNT;
    int64_t label_at_least = last_op >= OP_LABEL ? last_version : last_version - 1;
    int64_t state_at_least = last_op >= OP_STATE ? last_version : last_version - 1;

    inferd_registry_t *r = open_registry();
    inferd_err_t err = {0};
    inferd_reg_version_t *versions;
    size_t count;
    assert_int_equal(inferd_registry_list_versions(r, "crash", &versions, &count, &err), 0);
    assert_true(count >= (size_t)last_version);
    assert_true(count <= (size_t)last_version + 1); /* at most the one in flight besides */
    for (size_t i = 0; i < count; i++)
        assert_int_equal(versions[i].version, (int64_t)i + 1);
    inferd_reg_versions_free(versions, count);

    inferd_reg_label_t *labels;
    assert_int_equal(inferd_registry_list_labels(r, "crash", &labels, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_true(labels[0].version >= label_at_least);
    inferd_reg_labels_free(labels, count);

    char *json;
    assert_int_equal(inferd_registry_get_state(r, "crash", "last", &json, &err), 0);
    long long state_version = 0;
    assert_int_equal(sscanf(json, "{\"version\":%lld}", &state_version), 1);
    assert_true(state_version >= state_at_least);
    free(json);

    /* every acknowledged change has its audit entry: three per finished version */
    size_t audits = audit_count(r);
    assert_true(audits >= (size_t)(last_version * OP_COUNT - (OP_COUNT - 1 - last_op)));
    inferd_registry_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, make_dir, remove_dir)
        T(test_open_creates_schema_in_wal_mode),
        T(test_missing_directory_is_refused),
        T(test_file_that_is_not_a_database_is_refused),
        T(test_newer_schema_is_refused),
        T(test_versions_add_get_list),
        T(test_duplicate_version_conflicts_and_changes_nothing),
        T(test_bad_arguments_are_refused),
        T(test_version_status),
        T(test_models_and_default),
        T(test_labels),
        T(test_deployments),
        T(test_state_documents),
        T(test_audit_entries),
        T(test_audit_rows_refuse_update_and_delete),
        T(test_everything_survives_close_and_reopen),
        T(test_concurrent_registrations_give_one_winner),
        T(test_kill_9_loses_nothing_acknowledged),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
