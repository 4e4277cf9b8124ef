/* Unit tests for the command line (src/cli): argument parsing, the request each subcommand
 * builds, and the tables a person reads. No server: answers are given as text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli_private.h"

/* ==== helpers ==== */

static char why[768];

/* Parses `inferd <group> <args...>` for the subcommand named by args[0]; returns its rc. */
static int parse_with(const char *group, cli_args_t *a, int argc, const char **args)
{
    const cli_command_t *c = cli_find_command(group, args[0]);
    assert_non_null(c);
    static char *argv[32];
    for (int i = 0; i < argc; i++)
        argv[i] = (char *)args[i];
    argv[argc] = NULL;
    return cli_parse_args(c, argc, argv, a, why, sizeof(why));
}

#define PARSE(a, ...)                                                                              \
    parse_with("models", a, sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *),                \
               (const char *[]){__VA_ARGS__})
#define PARSE_AUDIT(a, ...)                                                                        \
    parse_with("audit", a, sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *),                 \
               (const char *[]){__VA_ARGS__})

/* Builds the request of subcommand `name` from parsed `a`; returns its rc. */
static int build(const char *group, const char *name, const cli_args_t *a, cli_request_t *r)
{
    return cli_find_command(group, name)->build(a, r, why, sizeof(why));
}

static const char *body_of(cli_request_t *r)
{
    const char *text = inferd_jsonw_cstr_of(&r->body);
    return text ? text : "";
}

/* What `print` writes for a reply with body `json`, in a static buffer. */
static const char *printed(const char *group, const char *name, const cli_args_t *a,
                           const char *json)
{
    static char text[8192];
    cli_reply_t reply;
    assert_int_equal(cli_reply_set(&reply, 200, json, strlen(json)), 0);
    assert_true(reply.is_parsed);
    FILE *out = fmemopen(text, sizeof(text), "w");
    assert_non_null(out);
    cli_find_command(group, name)->print(&reply, a, out);
    fputc('\0', out);
    fclose(out);
    cli_reply_free(&reply);
    return text;
}

static int setup(void **state)
{
    setenv("USER", "alice", 1);
    unsetenv("INFERD_URL");
    return 0;
}

/* ==== parsing ==== */

static void register_takes_every_option(void **state)
{
    cli_args_t a;
    assert_int_equal(PARSE(&a, "register", "fraud", "--artifact", "/m/model.onnx", "--version", "3",
                           "--framework", "onnx", "--metadata", "{\"acc\": 0.9}", "--tags", "a,b",
                           "--reason", "retrained", "--json", "--user", "bob"),
                     0);
    assert_string_equal(a.operands[0], "fraud");
    assert_int_equal(a.n_operands, 1);
    assert_string_equal(a.artifact, "/m/model.onnx");
    assert_int_equal(a.version, 3);
    assert_string_equal(a.framework, "onnx");
    assert_string_equal(a.metadata, "{\"acc\": 0.9}");
    assert_string_equal(a.tags, "a,b");
    assert_string_equal(a.reason, "retrained");
    assert_true(a.is_json);
    assert_string_equal(a.user, "bob");
    assert_string_equal(a.url, CLI_DEFAULT_URL);
    assert_int_equal(a.to_version, -1);
    assert_int_equal(a.limit, -1);
}

static void defaults_come_from_the_environment(void **state)
{
    cli_args_t a;
    setenv("INFERD_URL", "http://models.internal:9000///", 1);
    assert_int_equal(PARSE(&a, "list"), 0);
    assert_string_equal(a.url, "http://models.internal:9000");
    assert_string_equal(a.user, "alice");
    assert_false(a.is_json);
    /* --url wins over the environment */
    assert_int_equal(PARSE(&a, "list", "--url", "https://other:1/"), 0);
    assert_string_equal(a.url, "https://other:1");
    unsetenv("INFERD_URL");
}

static void options_may_come_before_operands(void **state)
{
    cli_args_t a;
    assert_int_equal(PARSE(&a, "deploy", "--version", "2", "--default", "fraud", "--instances", "4",
                           "--max-batch-size", "0", "--queue-delay-us", "500"),
                     0);
    assert_string_equal(a.operands[0], "fraud");
    assert_int_equal(a.version, 2);
    assert_true(a.make_default);
    assert_int_equal(a.instances, 4);
    assert_int_equal(a.max_batch_size, 0);
    assert_int_equal(a.queue_delay_us, 500);
}

static void version_operands_are_numbers(void **state)
{
    cli_args_t a;
    assert_int_equal(PARSE(&a, "label", "fraud", "canary", "4"), 0);
    assert_string_equal(a.operands[1], "canary");
    assert_int_equal(a.operand_version, 4);
    assert_int_equal(PARSE(&a, "default", "fraud", "two"), CLI_EXIT_USAGE);
    assert_non_null(strstr(why, "VERSION must be a version number"));
    assert_int_equal(PARSE(&a, "default", "fraud", "0"), CLI_EXIT_USAGE);
    assert_int_equal(PARSE(&a, "default", "fraud", "-1"), CLI_EXIT_USAGE);
    assert_int_equal(PARSE(&a, "default", "fraud", "99999999999999999999"), CLI_EXIT_USAGE);
}

static void usage_mistakes_say_what_is_wrong(void **state)
{
    cli_args_t a;
    assert_int_equal(PARSE(&a, "deploy", "fraud"), CLI_EXIT_USAGE);
    assert_string_equal(why, "inferd models deploy: --version N is required");
    assert_int_equal(PARSE(&a, "register", "fraud"), CLI_EXIT_USAGE);
    assert_string_equal(why, "inferd models register: --artifact PATH is required");
    assert_int_equal(PARSE(&a, "rollback", "fraud", "--reason", "x"), CLI_EXIT_USAGE);
    assert_string_equal(why, "inferd models rollback: --to N is required");
    assert_int_equal(PARSE(&a, "list", "--artifact", "x"), CLI_EXIT_USAGE);
    assert_string_equal(why, "inferd models list does not take --artifact");
    assert_int_equal(PARSE(&a, "list", "--frobnicate"), CLI_EXIT_USAGE);
    assert_string_equal(why, "inferd models list: unknown option '--frobnicate'");
    assert_int_equal(PARSE(&a, "list", "-x"), CLI_EXIT_USAGE);
    assert_string_equal(why, "inferd models list: unknown option '-x'");
    assert_int_equal(PARSE(&a, "show", "fraud", "--url"), CLI_EXIT_USAGE);
    assert_string_equal(why, "inferd models show: --url needs a value");
    assert_int_equal(PARSE(&a, "show"), CLI_EXIT_USAGE);
    assert_string_equal(why, "inferd models show: expected MODEL");
    assert_int_equal(PARSE(&a, "show", "a", "b"), CLI_EXIT_USAGE);
    assert_string_equal(why, "inferd models show: unexpected argument 'b'");
    assert_int_equal(PARSE(&a, "show", ""), CLI_EXIT_USAGE);
    assert_int_equal(PARSE(&a, "deploy", "m", "--version", "1", "--instances", "0"),
                     CLI_EXIT_USAGE);
    assert_string_equal(why, "inferd models deploy: --instances takes a whole number from 1 to "
                             "1024, not '0'");
    assert_int_equal(PARSE(&a, "deploy", "m", "--version", "1.5"), CLI_EXIT_USAGE);
    assert_int_equal(PARSE(&a, "deploy", "m", "--version", " 1"), CLI_EXIT_USAGE);
    assert_int_equal(PARSE(&a, "list", "--url", "localhost:8000"), CLI_EXIT_USAGE);
    assert_non_null(strstr(why, "must start with http:// or https://"));
    assert_int_equal(PARSE(&a, "list", "--user", "eve\r\nX-Evil: 1"), CLI_EXIT_USAGE);
    assert_int_equal(PARSE_AUDIT(&a, "audit", "--limit", "0"), CLI_EXIT_USAGE);
    assert_int_equal(PARSE_AUDIT(&a, "audit", "extra"), CLI_EXIT_USAGE);
    assert_string_equal(why, "inferd audit: unexpected argument 'extra'");
}

static void help_wins_over_mistakes(void **state)
{
    cli_args_t a;
    assert_int_equal(PARSE(&a, "register", "--help"), 0);
    assert_true(a.wants_help);
    assert_int_equal(PARSE(&a, "deploy", "-h"), 0);
    assert_true(a.wants_help);
    char text[4096];
    FILE *out = fmemopen(text, sizeof(text), "w");
    cli_print_help(cli_find_command("models", "deploy"), out);
    fputc('\0', out);
    fclose(out);
    assert_non_null(strstr(text, "usage: inferd models deploy MODEL --version N [--instances N]\n"
                                 "                            [--max-batch-size N]"));
    assert_non_null(strstr(text, "  --queue-delay-us N    how long a request may wait"));
    assert_null(strstr(text, "--artifact"));
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        assert_true(strlen(line) < 80);
}

/* ==== requests ==== */

static void register_body(void **state)
{
    cli_args_t a;
    cli_request_t r;
    assert_int_equal(PARSE(&a, "register", "fraud", "--artifact", "/m/model.onnx", "--version", "3",
                           "--metadata", "{\"acc\": 0.9}", "--tags", " a, b ,,c\"", "--reason",
                           "new data"),
                     0);
    assert_int_equal(build("models", "register", &a, &r), 0);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.path, "/v1/models");
    assert_string_equal(body_of(&r),
                        "{\"name\":\"fraud\",\"artifact\":\"/m/model.onnx\",\"version\":3,"
                        "\"metadata\":{\"acc\": 0.9},\"tags\":[\"a\",\"b\",\"c\\\"\"],"
                        "\"reason\":\"new data\"}");
    cli_request_free(&r);
}

static void register_makes_relative_paths_absolute(void **state)
{
    cli_args_t a;
    cli_request_t r;
    assert_int_equal(PARSE(&a, "register", "m", "--artifact", "v3/model.onnx"), 0);
    assert_int_equal(build("models", "register", &a, &r), 0);
    char *cwd = getcwd(NULL, 0), expected[4096];
    snprintf(expected, sizeof(expected), "{\"name\":\"m\",\"artifact\":\"%s/v3/model.onnx\"}", cwd);
    assert_string_equal(body_of(&r), expected);
    free(cwd);
    cli_request_free(&r);
    /* URIs go as they are */
    assert_int_equal(PARSE(&a, "register", "m", "--artifact", "file:///m/x.onnx"), 0);
    assert_int_equal(build("models", "register", &a, &r), 0);
    assert_string_equal(body_of(&r), "{\"name\":\"m\",\"artifact\":\"file:///m/x.onnx\"}");
    cli_request_free(&r);
}

static void register_refuses_metadata_that_is_not_an_object(void **state)
{
    static const char *bad[] = {"[1, 2]", "{\"a\": }", "accuracy=0.9", "{} {}", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cli_args_t a;
        cli_request_t r;
        assert_int_equal(PARSE(&a, "register", "m", "--artifact", "/x", "--metadata", bad[i]), 0);
        assert_int_equal(build("models", "register", &a, &r), CLI_EXIT_USAGE);
        assert_non_null(strstr(why, "--metadata must be a JSON object"));
        cli_request_free(&r);
    }
}

static void deploy_body(void **state)
{
    cli_args_t a;
    cli_request_t r;
    assert_int_equal(PARSE(&a, "deploy", "fraud", "--version", "2", "--instances", "2",
                           "--max-batch-size", "16", "--queue-delay-us", "250", "--default"),
                     0);
    assert_int_equal(build("models", "deploy", &a, &r), 0);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.path, "/v1/models/fraud/deployments");
    assert_string_equal(body_of(&r), "{\"version\":2,\"instance_count\":2,\"max_batch_size\":16,"
                                     "\"dynamic_batching\":{\"max_queue_delay_microseconds\":250},"
                                     "\"make_default\":true}");
    cli_request_free(&r);
    assert_int_equal(PARSE(&a, "deploy", "fraud", "--version", "2"), 0);
    assert_int_equal(build("models", "deploy", &a, &r), 0);
    assert_string_equal(body_of(&r), "{\"version\":2}");
    cli_request_free(&r);
}

static void change_bodies_and_paths(void **state)
{
    cli_args_t a;
    cli_request_t r;
    assert_int_equal(PARSE(&a, "default", "fraud", "3", "--reason", "better"), 0);
    assert_int_equal(build("models", "default", &a, &r), 0);
    assert_string_equal(r.method, "PUT");
    assert_string_equal(r.path, "/v1/models/fraud/versions/3/default");
    assert_string_equal(body_of(&r), "{\"reason\":\"better\"}");
    cli_request_free(&r);

    assert_int_equal(PARSE(&a, "label", "fraud", "canary", "4"), 0);
    assert_int_equal(build("models", "label", &a, &r), 0);
    assert_string_equal(r.method, "PUT");
    assert_string_equal(r.path, "/v1/models/fraud/labels/canary");
    assert_string_equal(body_of(&r), "{\"version\":4}");
    cli_request_free(&r);

    assert_int_equal(PARSE(&a, "rollback", "fraud", "--to", "2", "--reason", "p99 \"high\""), 0);
    assert_int_equal(build("models", "rollback", &a, &r), 0);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.path, "/v1/models/fraud/rollback");
    assert_string_equal(body_of(&r), "{\"to_version\":2,\"reason\":\"p99 \\\"high\\\"\"}");
    cli_request_free(&r);

    assert_int_equal(PARSE(&a, "unload", "fraud", "--version", "3"), 0);
    assert_int_equal(build("models", "unload", &a, &r), 0);
    assert_string_equal(r.path, "/v1/models/fraud/versions/3/undeploy");
    assert_string_equal(body_of(&r), "{}");
    cli_request_free(&r);
    assert_int_equal(PARSE(&a, "unload", "fraud"), 0);
    assert_int_equal(build("models", "unload", &a, &r), 0);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.path, "/v2/repository/models/fraud/unload");
    cli_request_free(&r);

    assert_int_equal(PARSE(&a, "show", "fraud"), 0);
    assert_int_equal(build("models", "show", &a, &r), 0);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.path, "/v1/models/fraud");
    assert_int_equal(r.body.len, 0);
    cli_request_free(&r);
}

static void names_are_escaped_in_paths(void **state)
{
    cli_args_t a;
    cli_request_t r;
    assert_int_equal(PARSE(&a, "label", "a/b c", "x?y", "1"), 0);
    assert_int_equal(build("models", "label", &a, &r), 0);
    assert_string_equal(r.path, "/v1/models/a%2Fb%20c/labels/x%3Fy");
    cli_request_free(&r);
    char out[8];
    assert_int_equal(cli_escape("ab~-._", out, sizeof(out)), 0);
    assert_string_equal(out, "ab~-._");
    assert_int_equal(cli_escape("abcdefgh", out, sizeof(out)), -1);
    assert_int_equal(cli_escape("\xc3\xa9", out, sizeof(out)), 0);
    assert_string_equal(out, "%C3%A9");
}

static void audit_query(void **state)
{
    cli_args_t a;
    cli_request_t r;
    assert_int_equal(PARSE_AUDIT(&a, "audit"), 0);
    assert_int_equal(build("audit", "audit", &a, &r), 0);
    assert_string_equal(r.path, "/v1/audit");
    cli_request_free(&r);
    assert_int_equal(PARSE_AUDIT(&a, "audit", "--model", "fraud&x", "--limit", "5", "--after", "0"),
                     0);
    assert_int_equal(build("audit", "audit", &a, &r), 0);
    assert_string_equal(r.path, "/v1/audit?model=fraud%26x&after=0&limit=5");
    cli_request_free(&r);
    assert_int_equal(PARSE_AUDIT(&a, "audit", "--limit", "7"), 0);
    assert_int_equal(build("audit", "audit", &a, &r), 0);
    assert_string_equal(r.path, "/v1/audit?limit=7");
    cli_request_free(&r);
}

/* ==== tables ==== */

static const char *render(cli_table_t *table)
{
    static char text[4096];
    FILE *out = fmemopen(text, sizeof(text), "w");
    assert_int_equal(cli_table_print(table, out), 0);
    fputc('\0', out);
    fclose(out);
    return text;
}

static void tables_fit_their_widest_cell(void **state)
{
    static const cli_column_t columns[] = {{"NAME", false}, {"BYTES", true}, {"NOTE", false}};
    cli_table_t t;
    cli_table_init(&t, columns, 3);
    cli_table_add(&t, (const char *[]){"a_rather_long_model_name", "5", "x"});
    cli_table_add(&t, (const char *[]){"b", "123456789", ""});
    cli_table_add(&t, (const char *[]){NULL, "7", "two\nlines\tand tab"});
    assert_string_equal(render(&t), "NAME                          BYTES  NOTE\n"
                                    "a_rather_long_model_name          5  x\n"
                                    "b                         123456789  -\n"
                                    "-                                 7  two lines and tab\n");
    cli_table_free(&t);
}

static void widths_count_characters_not_bytes(void **state)
{
    assert_int_equal(cli_display_width("d\xc3\xa9j\xc3\xa0"), 4);
    assert_int_equal(cli_display_width("\xe6\xa8\xa1\xe5\x9e\x8b"), 2);
    static const cli_column_t columns[] = {{"MODEL", false}, {"V", false}};
    cli_table_t t;
    cli_table_init(&t, columns, 2);
    cli_table_add(&t, (const char *[]){"d\xc3\xa9j\xc3\xa0vu", "1"});
    cli_table_add(&t, (const char *[]){"ab", "2"});
    assert_string_equal(render(&t), "MODEL   V\n"
                                    "d\xc3\xa9j\xc3\xa0vu  1\n"
                                    "ab      2\n");
    cli_table_free(&t);
}

static void a_table_without_header_and_an_empty_one(void **state)
{
    static const cli_column_t fields[] = {{NULL, false}, {NULL, false}};
    cli_table_t t;
    cli_table_init(&t, fields, 2);
    cli_table_add(&t, (const char *[]){"model:", "fraud"});
    cli_table_add(&t, (const char *[]){"default:", "2"});
    assert_string_equal(render(&t), "model:    fraud\ndefault:  2\n");
    cli_table_free(&t);
    static const cli_column_t columns[] = {{"ID", true}, {"AT", false}};
    cli_table_init(&t, columns, 2);
    assert_string_equal(render(&t), "ID  AT\n");
    cli_table_free(&t);
}

/* ==== cells and the printed answers ==== */

static void cells_from_json(void **state)
{
    cli_reply_t r;
    const char *json = "{\"s\": \"caf\\u00e9\", \"n\": 42, \"z\": null, \"e\": \"\", "
                       "\"l\": [1, 2, 3], \"o\": {\"stable\": 2, \"canary\": \"x\"}, \"el\": [], "
                       "\"d\": {\"a\": [1]}}";
    assert_int_equal(cli_reply_set(&r, 200, json, strlen(json)), 0);
    assert_string_equal(cli_cell(&r, 0, "s"), "caf\xc3\xa9");
    assert_string_equal(cli_cell(&r, 0, "n"), "42");
    assert_string_equal(cli_cell(&r, 0, "z"), "-");
    assert_string_equal(cli_cell(&r, 0, "e"), "-");
    assert_string_equal(cli_cell(&r, 0, "absent"), "-");
    assert_string_equal(cli_cell(&r, 0, "d"), "{\"a\": [1]}");
    assert_string_equal(cli_cell_compact(&r, 0, "l"), "1,2,3");
    assert_string_equal(cli_cell_compact(&r, 0, "o"), "stable=2,canary=x");
    assert_string_equal(cli_cell_compact(&r, 0, "el"), "-");
    assert_string_equal(cli_cell_compact(&r, 0, "n"), "42");
    assert_string_equal(cli_cell_compact(&r, 0, "absent"), "-");
    cli_reply_free(&r);
    /* an answer that is not JSON is kept, not parsed */
    assert_int_equal(cli_reply_set(&r, 502, "<html>", 6), 0);
    assert_false(r.is_parsed);
    assert_int_equal(r.body.len, 6);
    cli_reply_free(&r);
}

static void list_prints_one_row_per_model(void **state)
{
    cli_args_t a;
    assert_int_equal(PARSE(&a, "list"), 0);
    const char *text = printed(
        "models", "list", &a,
        "{\"models\": [{\"name\": \"credit_risk\", \"default_version\": null, \"versions\": [1], "
        "\"serving\": [1], \"labels\": {}}, {\"name\": \"mnist_mlp\", \"default_version\": 12, "
        "\"versions\": [1, 2, 12], \"serving\": [2, 12], \"labels\": {\"stable\": 2}}]}");
    assert_string_equal(text, "NAME         DEFAULT  SERVING  VERSIONS  LABELS\n"
                              "credit_risk        -  1        1         -\n"
                              "mnist_mlp         12  2,12     1,2,12    stable=2\n");
    assert_string_equal(printed("models", "list", &a, "{\"models\": []}"),
                        "NAME  DEFAULT  SERVING  VERSIONS  LABELS\n");
}

static void show_prints_fields_versions_and_deployments(void **state)
{
    cli_args_t a;
    assert_int_equal(PARSE(&a, "show", "m"), 0);
    const char *text = printed(
        "models", "show", &a,
        "{\"name\": \"m\", \"default_version\": 2, \"serving_version\": 2, \"labels\": "
        "{\"stable\": 2}, \"versions\": [{\"version\": 2, \"status\": \"active\", \"state\": "
        "\"AVAILABLE\", \"sha256\": \"cd447b321d9a89efbc\", \"size_bytes\": 341206, "
        "\"framework\": \"onnx\", \"tags\": [\"small\", \"digits\"], \"created_at\": "
        "\"2026-11-22T13:41:19.051Z\", \"created_by\": \"alice\"}], \"deployments\": [{\"id\": "
        "3, \"version\": 2, \"config\": {\"source\": \"policy\"}, \"active\": true, "
        "\"created_at\": \"2026-11-22T13:41:19.052Z\", \"created_by\": \"startup\"}]}");
    assert_string_equal(
        text,
        "model:    m\n"
        "default:  2\n"
        "serving:  2\n"
        "labels:   stable=2\n"
        "\n"
        "VERSION  STATUS  STATE      FRAMEWORK   BYTES  SHA256        TAGS          CREATED      "
        "             BY\n"
        "      2  active  AVAILABLE  onnx       341206  cd447b321d9a  small,digits  "
        "2026-11-22T13:41:19.051Z  alice\n"
        "\n"
        "DEPLOYMENT  VERSION  ACTIVE  CREATED                   BY       CONFIG\n"
        "         3        2  yes     2026-11-22T13:41:19.052Z  startup  {\"source\": "
        "\"policy\"}\n");
}

static void change_answers_read_as_sentences(void **state)
{
    cli_args_t a;
    assert_int_equal(PARSE(&a, "rollback", "m", "--to", "2"), 0);
    assert_string_equal(printed("models", "rollback", &a,
                                "{\"model\": \"m\", \"default_version\": 2, \"previous_version\": "
                                "3, \"reason\": \"p99 too high\"}"),
                        "m: rolled back from version 3 to 2 (reason: p99 too high)\n");
    assert_string_equal(printed("models", "rollback", &a,
                                "{\"model\": \"m\", \"default_version\": 2, \"previous_version\": "
                                "null, \"reason\": null}"),
                        "m: rolled back from version - to 2\n");
    assert_int_equal(PARSE(&a, "deploy", "m", "--version", "3", "--default"), 0);
    assert_string_equal(
        printed("models", "deploy", &a, "{\"model\": \"m\", \"version\": 3, \"id\": 9}"),
        "m version 3 serves (deployment 9) and is the default version\n");
    assert_int_equal(PARSE(&a, "label", "m", "canary", "3"), 0);
    assert_string_equal(
        printed("models", "label", &a, "{\"model\": \"m\", \"label\": \"canary\", \"version\": 3}"),
        "m: label canary -> version 3\n");
    assert_int_equal(PARSE(&a, "register", "m", "--artifact", "/x"), 0);
    assert_string_equal(printed("models", "register", &a,
                                "{\"name\": \"m\", \"version\": 4, \"sha256\": \"ab\", "
                                "\"size_bytes\": 10}"),
                        "registered m version 4 (10 bytes, sha256 ab)\n"
                        "it does not serve yet: inferd models deploy m --version 4\n");
}

static void audit_prints_entries(void **state)
{
    cli_args_t a;
    assert_int_equal(PARSE_AUDIT(&a, "audit"), 0);
    const char *text = printed(
        "audit", "audit", &a,
        "{\"entries\": [{\"id\": 9, \"at\": \"T1\", \"actor\": \"alice\", \"action\": "
        "\"rollback\", \"model\": \"m\", \"version\": 2, \"detail\": {\"from\": 3}, \"reason\": "
        "\"p99\\nhigh\"}, {\"id\": 10, \"at\": \"T2\", \"actor\": \"startup\", \"action\": "
        "\"discover\", \"model\": \"m\", \"version\": null, \"detail\": {}, \"reason\": \"\"}]}");
    assert_string_equal(text, "ID  AT  ACTOR    ACTION    MODEL  VERSION  REASON    DETAIL\n"
                              " 9  T1  alice    rollback  m            2  p99 high  {\"from\": 3}\n"
                              "10  T2  startup  discover  m            -  -         {}\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(register_takes_every_option, setup),
        cmocka_unit_test_setup(defaults_come_from_the_environment, setup),
        cmocka_unit_test_setup(options_may_come_before_operands, setup),
        cmocka_unit_test_setup(version_operands_are_numbers, setup),
        cmocka_unit_test_setup(usage_mistakes_say_what_is_wrong, setup),
        cmocka_unit_test_setup(help_wins_over_mistakes, setup),
        cmocka_unit_test_setup(register_body, setup),
        cmocka_unit_test_setup(register_makes_relative_paths_absolute, setup),
        cmocka_unit_test_setup(register_refuses_metadata_that_is_not_an_object, setup),
        cmocka_unit_test_setup(deploy_body, setup),
        cmocka_unit_test_setup(change_bodies_and_paths, setup),
        cmocka_unit_test_setup(names_are_escaped_in_paths, setup),
        cmocka_unit_test_setup(audit_query, setup),
        cmocka_unit_test(tables_fit_their_widest_cell),
        cmocka_unit_test(widths_count_characters_not_bytes),
        cmocka_unit_test(a_table_without_header_and_an_empty_one),
        cmocka_unit_test(cells_from_json),
        cmocka_unit_test_setup(list_prints_one_row_per_model, setup),
        cmocka_unit_test_setup(show_prints_fields_versions_and_deployments, setup),
        cmocka_unit_test_setup(change_answers_read_as_sentences, setup),
        cmocka_unit_test_setup(audit_prints_entries, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
