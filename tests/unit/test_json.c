/* Unit tests for the JSON reader and writer (src/core/json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inferd/json.h"

static inferd_arena_t arena;

static int setup(void **state)
{
    inferd_arena_init(&arena, 4096, 1 << 20);
    return 0;
}

static int teardown(void **state)
{
    inferd_arena_free(&arena);
    return 0;
}

static int parse(inferd_json_t *doc, const char *text, inferd_err_t *err)
{
    inferd_arena_reset(&arena);
    return inferd_json_parse(doc, text, strlen(text), &arena, err);
}

static void parses_objects_and_finds_members(void **state)
{
    inferd_json_t doc;
    inferd_err_t err;
    assert_int_equal(parse(&doc, "{\"a\": [1, [2, 3]], \"b\": {\"c\": true}, \"d\": null}", &err),
                     0);
    assert_int_equal(inferd_json_kind(&doc, 0), INFERD_JSON_OBJECT);
    assert_int_equal(inferd_json_size(&doc, 0), 3);
    int a = inferd_json_get(&doc, 0, "a"), b = inferd_json_get(&doc, 0, "b");
    assert_int_equal(inferd_json_kind(&doc, a), INFERD_JSON_ARRAY);
    assert_int_equal(inferd_json_size(&doc, a), 2);
    assert_int_equal(inferd_json_kind(&doc, inferd_json_get(&doc, b, "c")), INFERD_JSON_TRUE);
    assert_int_equal(inferd_json_kind(&doc, inferd_json_get(&doc, 0, "d")), INFERD_JSON_NULL);
    assert_int_equal(inferd_json_get(&doc, 0, "missing"), -1);
    assert_int_equal(inferd_json_get(&doc, a, "a"), -1); /* not an object */
    assert_int_equal(inferd_json_next(&doc, a), b - 1);  /* b's key follows a's subtree */
}

static void refuses_malformed_text(void **state)
{
    const char *bad[] = {"",
                         "{",
                         "{\"a\": 1",
                         "[1, 2] x",
                         "{\"a\": tru}",
                         "{\"a\": nulll}",
                         "{\"a\": 1} {\"b\": 2}",
                         "{\"a\" 1 \"b\"}",
                         "\"unterminated"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        inferd_json_t doc;
        inferd_err_t err = {0};
        assert_int_not_equal(parse(&doc, bad[i], &err), 0);
        assert_true(strlen(err.msg) > 0);
    }
}

static void refuses_deep_nesting_quickly(void **state)
{
    /* 64 levels are fine; 65 are refused before tokenizing (jsmn's cost grows with depth) */
    static char text[2 * 100000 + 3];
    inferd_json_t doc;
    inferd_err_t err;
    for (int depth = 64; depth <= 65; depth++) {
        memset(text, '[', (size_t)depth);
        memset(text + depth, ']', (size_t)depth);
        text[2 * depth] = '\0';
        int rc = parse(&doc, text, &err);
        assert_int_equal(rc, depth == 64 ? 0 : INFERD_EINVAL);
    }
    assert_non_null(strstr(err.msg, "deeper than 64"));
    memset(text, '[', 100000);
    memset(text + 100000, ']', 100000);
    text[200000] = '\0';
    assert_int_equal(parse(&doc, text, &err), INFERD_EINVAL);
    assert_int_equal(
        parse(&doc, "[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]",
              &err),
        0); /* brackets inside strings do not count */
}

static void reads_integers_exactly(void **state)
{
    inferd_json_t doc;
    inferd_err_t err;
    int64_t s;
    uint64_t u;
    assert_int_equal(parse(&doc,
                           "[9223372036854775807, -9223372036854775808, "
                           "18446744073709551615, 9223372036854775808, 1.5, 3.0, 1e3, -1, -0]",
                           &err),
                     0);
    assert_int_equal(inferd_json_int64(&doc, 1, &s), 0);
    assert_true(s == INT64_MAX);
    assert_int_equal(inferd_json_int64(&doc, 2, &s), 0);
    assert_true(s == INT64_MIN);
    assert_int_equal(inferd_json_uint64(&doc, 3, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_not_equal(inferd_json_int64(&doc, 4, &s), 0); /* past INT64_MAX */
    assert_int_not_equal(inferd_json_int64(&doc, 5, &s), 0); /* 1.5 is not whole */
    assert_int_equal(inferd_json_int64(&doc, 6, &s), 0);
    assert_int_equal(s, 3);
    assert_int_equal(inferd_json_int64(&doc, 7, &s), 0);
    assert_int_equal(s, 1000);
    assert_int_not_equal(inferd_json_uint64(&doc, 8, &u), 0); /* -1 */
    assert_int_equal(inferd_json_uint64(&doc, 9, &u), 0);     /* -0 */
    assert_true(u == 0);
}

static void reads_doubles_and_refuses_non_numbers(void **state)
{
    inferd_json_t doc;
    inferd_err_t err;
    double d;
    assert_int_equal(parse(&doc, "[0.1, -2.5e-3, 1e999, \"1\", true, 5e-324]", &err), 0);
    assert_int_equal(inferd_json_double(&doc, 1, &d), 0);
    assert_true(d == 0.1);
    assert_int_equal(inferd_json_double(&doc, 2, &d), 0);
    assert_true(d == -2.5e-3);
    assert_int_not_equal(inferd_json_double(&doc, 3, &d), 0); /* overflows to infinity */
    assert_int_not_equal(inferd_json_double(&doc, 4, &d), 0); /* a string */
    assert_int_not_equal(inferd_json_double(&doc, 5, &d), 0); /* a literal */
    assert_int_equal(inferd_json_double(&doc, 6, &d), 0);
    assert_true(d == 5e-324);
}

static void refuses_numbers_outside_the_grammar(void **state)
{
    const char *bad[] = {"[01]", "[1.]", "[.5]", "[1e]", "[+1]", "[-]", "[0x10]", "[1.2.3]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        inferd_json_t doc;
        inferd_err_t err;
        double d;
        if (parse(&doc, bad[i], &err) == 0)
            assert_int_not_equal(inferd_json_double(&doc, 1, &d), 0);
    }
}

static void decodes_strings(void **state)
{
    inferd_json_t doc;
    inferd_err_t err;
    char *s;
    size_t len;
    assert_int_equal(parse(&doc,
                           "[\"a\\\"b\\\\c\\n\", \"\\u00e9\\ud83d\\ude00\", \"caf\xc3\xa9\", "
                           "\"\\ud800\", \"bad\xff\"]",
                           &err),
                     0);
    assert_int_equal(inferd_json_string(&doc, 1, &arena, &s, &len), 0);
    assert_string_equal(s, "a\"b\\c\n");
    assert_int_equal(inferd_json_string(&doc, 2, &arena, &s, &len), 0);
    assert_string_equal(s, "\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(inferd_json_string(&doc, 3, &arena, &s, &len), 0);
    assert_string_equal(s, "caf\xc3\xa9");
    assert_int_not_equal(inferd_json_string(&doc, 4, &arena, &s, &len), 0); /* lone surrogate */
    assert_int_not_equal(inferd_json_string(&doc, 5, &arena, &s, &len), 0); /* invalid UTF-8 */
    assert_int_not_equal(parse(&doc, "[\"\\x\"]", &err), 0);                /* unknown escape */
}

static void writer_escapes_and_formats(void **state)
{
    inferd_jsonw_t w = {0};
    inferd_jsonw_lit(&w, "[");
    inferd_jsonw_cstr(&w, "q\"\\\n\x01");
    inferd_jsonw_lit(&w, ",");
    inferd_jsonw_str(&w, "bad\xff", 4);
    inferd_jsonw_lit(&w, ",");
    inferd_jsonw_int(&w, INT64_MIN);
    inferd_jsonw_lit(&w, ",");
    inferd_jsonw_uint(&w, UINT64_MAX);
    inferd_jsonw_lit(&w, ",");
    inferd_jsonw_f32(&w, 0.5f);
    inferd_jsonw_lit(&w, ",");
    inferd_jsonw_f64(&w, 1.0 / 0.0);
    inferd_jsonw_lit(&w, ",");
    inferd_jsonw_bool(&w, false);
    inferd_jsonw_lit(&w, "]");
    inferd_jsonw_raw(&w, "", 1);
    assert_false(w.failed);
    assert_string_equal(w.buf, "[\"q\\\"\\\\\\u000a\\u0001\",\"bad\xef\xbf\xbd\","
                               "-9223372036854775808,18446744073709551615,0.5,null,false]");
    inferd_jsonw_reset(&w);
    assert_int_equal(w.len, 0);
    inferd_jsonw_free(&w);
}

static void writer_floats_round_trip(void **state)
{
    float values[] = {0.1f, 1.0f / 3.0f, 3.4028234663852886e38f, 1e-45f, -7.25f};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        inferd_jsonw_t w = {0};
        inferd_jsonw_f32(&w, values[i]);
        inferd_jsonw_raw(&w, "", 1);
        assert_true(strtof(w.buf, NULL) == values[i]);
        inferd_jsonw_free(&w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_objects_and_finds_members),
        cmocka_unit_test(refuses_malformed_text),
        cmocka_unit_test(refuses_deep_nesting_quickly),
        cmocka_unit_test(reads_integers_exactly),
        cmocka_unit_test(reads_doubles_and_refuses_non_numbers),
        cmocka_unit_test(refuses_numbers_outside_the_grammar),
        cmocka_unit_test(decodes_strings),
        cmocka_unit_test(writer_escapes_and_formats),
        cmocka_unit_test(writer_floats_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
