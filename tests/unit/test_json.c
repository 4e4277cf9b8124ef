/* Unit tests for the JSON reader and writer (src/core/json.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
    /* 64 levels are fine, 65 are refused: small texts as their tokens are walked, large ones
     * by a scan before tokenizing (below: 100,000 levels) */
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
    /* nor after an escaped quote inside a string, however the bytes fall on the 16-byte steps
     * of the scan; brackets among long runs of numbers do count */
    for (int shift = 0; shift < 16; shift++) {
        size_t n = 0;
        n += (size_t)sprintf(text + n, "[%*s\"ab\\\"", shift, "");
        for (int i = 0; i < 70; i++)
            n += (size_t)sprintf(text + n, "[{\\\"");
        n += (size_t)sprintf(text + n, "\"]");
        assert_int_equal(parse(&doc, text, &err), 0);
        for (int depth = 64; depth <= 65; depth++) {
            n = (size_t)sprintf(text, "%*s", shift, "");
            for (int i = 0; i < depth; i++)
                n += (size_t)sprintf(text + n, "[0.123456789, -1.5e3, ");
            for (int i = 0; i < depth; i++)
                n += (size_t)sprintf(text + n, "7]");
            assert_int_equal(parse(&doc, text, &err), depth == 64 ? 0 : INFERD_EINVAL);
        }
    }
    /* objects count as arrays do, keys and their values at any depth */
    for (int depth = 64; depth <= 65; depth++) {
        size_t n = (size_t)sprintf(text, "{\"k\": 1, \"deep\": ");
        for (int i = 1; i < depth; i++)
            n += (size_t)sprintf(text + n, i % 2 ? "{\"a\": \"[{\", \"b\": " : "[1, ");
        n += (size_t)sprintf(text + n, "2");
        for (int i = depth - 1; i >= 1; i--)
            n += (size_t)sprintf(text + n, i % 2 ? "}" : "]");
        sprintf(text + n, "}");
        assert_int_equal(parse(&doc, text, &err), depth == 64 ? 0 : INFERD_EINVAL);
        if (depth == 65)
            assert_non_null(strstr(err.msg, "deeper than 64"));
    }
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

/* A random number text of the forms clients send (digits, fraction, exponent, sign, leading
 * zeros), some inside the exact fast path and some beyond it. */
static void random_number_text(uint64_t *seed, char *out, size_t cap)
{
    *seed = *seed * 6364136223846793005u + 1442695040888963407u;
    uint64_t r = *seed >> 11;
    int n = 0;
    if (r & 1)
        n += snprintf(out + n, cap - (size_t)n, "-");
    int int_digits = (int)(r >> 1 & 7), frac_digits = (int)(r >> 4 & 31) % 22;
    uint64_t digits = *seed * 2862933555777941757u + 3037000493u;
    if (int_digits == 0 || (r >> 9 & 3) == 0)
        n += snprintf(out + n, cap - (size_t)n, "0");
    else
        for (int i = 0; i < int_digits; i++, digits = digits * 6364136223846793005u + 1)
            n += snprintf(out + n, cap - (size_t)n, "%d", (int)((digits >> 33) % 9 + (i == 0)));
    if (frac_digits > 0) {
        n += snprintf(out + n, cap - (size_t)n, ".");
        for (int i = 0; i < frac_digits; i++, digits = digits * 6364136223846793005u + 1)
            n += snprintf(out + n, cap - (size_t)n, "%d", (int)((digits >> 33) % 10));
    }
    if (r >> 11 & 1)
        snprintf(out + n, cap - (size_t)n, "%c%s%d", (r >> 12 & 1) ? 'e' : 'E',
                 (r >> 13 & 1) ? "-" : ((r >> 14 & 1) ? "+" : ""),
                 (int)((r >> 15) % ((r >> 24 & 1) ? 400 : 30)));
}

/* Every number reads as the very double strtod gives (bit for bit: the fast path must never
 * round differently), over random texts and the edges of the fast path. */
static void reads_doubles_exactly_as_strtod(void **state)
{
    (void)state;
    static const char *edges[] = {"0",
                                  "-0",
                                  "0.0",
                                  "-0.0",
                                  "0e0",
                                  "0e-400",
                                  "1",
                                  "9007199254740992",
                                  "9007199254740993",
                                  "9007199254740991",
                                  "1e22",
                                  "1e23",
                                  "1e-22",
                                  "1e-23",
                                  "123456789012345678",
                                  "0.1",
                                  "0.30000000000000004",
                                  "2.2250738585072014e-308",
                                  "4.9e-324",
                                  "1.7976931348623157e308",
                                  "3.4028235e38",
                                  "1.17549435e-38",
                                  "1.4e-45",
                                  "0.000000000000000000000001",
                                  "12345678901234567890",
                                  "1234567890123456789.5",
                                  "9999999999999999999",
                                  "00000",
                                  "-5e22",
                                  "8.98846567431158e307",
                                  "0.1e-20",
                                  "100000000000000000000000"};
    char text[160], doc_text[200];
    uint64_t seed = 42;
    for (int i = 0; i < 200000; i++) {
        size_t n_edges = sizeof(edges) / sizeof(edges[0]);
        if ((size_t)i < n_edges)
            snprintf(text, sizeof(text), "%s", edges[i]);
        else
            random_number_text(&seed, text, sizeof(text));
        snprintf(doc_text, sizeof(doc_text), "[%s]", text);
        inferd_json_t doc;
        inferd_err_t err;
        if (parse(&doc, doc_text, &err) != 0)
            continue; /* not JSON (e.g. "00000"): the grammar test covers refusals */
        double expected = strtod(text, NULL), got = 0.0;
        bool is_json_number = strncmp(text, "00", 2) != 0 && strncmp(text, "-00", 3) != 0;
        if (!is_json_number)
            continue;
        if (!isfinite(expected)) {
            assert_int_not_equal(inferd_json_double(&doc, 1, &got), 0);
            continue;
        }
        assert_int_equal(inferd_json_double(&doc, 1, &got), 0);
        if (memcmp(&got, &expected, sizeof(got)) != 0)
            fail_msg("%s read as %.17g, strtod gives %.17g", text, got, expected);
    }
}

static void refuses_numbers_outside_the_grammar(void **state)
{
    /* the last ones are long enough to pass the fast path's limits: refused all the same */
    const char *bad[] = {"[01]",
                         "[1.]",
                         "[.5]",
                         "[1e]",
                         "[+1]",
                         "[-]",
                         "[0x10]",
                         "[1.2.3]",
                         "[1e+]",
                         "[-01]",
                         "[00]",
                         "[1e5.5]",
                         "[1ee5]",
                         "[-.5]",
                         "[1E-]",
                         "[12345678901234567890123.]",
                         "[1e99999999999999]]",
                         "[0.00000000000000000000000000001e]"};
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

/* Floats are written exactly as printf's "%.9g" writes them (the long double scaling could only
 * differ next to a rounding boundary, which none of these reaches) and read back as the same
 * float: every power of two, the neighbours of powers of ten, and a stride through all 2^32
 * bit patterns. */
static void writer_floats_match_printf(void **state)
{
    (void)state;
    inferd_jsonw_t w = {0};
    char expected[48];
    for (uint64_t step = 0; step < 3; step++) {
        uint64_t stride = step == 0 ? 1009 : 1, count = step == 0 ? 4256768 : 600;
        for (uint64_t i = 0; i < count; i++) {
            uint32_t bits;
            if (step == 0) {
                bits = (uint32_t)(i * stride);
            } else if (step == 1) { /* powers of two and their neighbours */
                float p = ldexpf(1.0f, (int)(i % 300) - 150);
                memcpy(&bits, &p, sizeof(bits));
                bits += (uint32_t)(i / 300) - 1u;
            } else { /* around powers of ten */
                float p = (float)pow(10.0, (double)((int)(i % 80) - 45));
                memcpy(&bits, &p, sizeof(bits));
                bits += (uint32_t)(i / 80 % 3) - 1u;
            }
            float v;
            memcpy(&v, &bits, sizeof(v));
            if (!isfinite(v))
                continue;
            w.len = 0;
            inferd_jsonw_f32(&w, v);
            inferd_jsonw_raw(&w, "", 1);
            float back = strtof(w.buf, NULL);
            if (memcmp(&back, &v, sizeof(v)) != 0)
                fail_msg("%.9g written as %s reads back as %.9g", (double)v, w.buf, (double)back);
            snprintf(expected, sizeof(expected), "%.9g", (double)v);
            if (strcmp(expected, w.buf) != 0)
                fail_msg("%s written as %s", expected, w.buf);
        }
    }
    inferd_jsonw_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_objects_and_finds_members),
        cmocka_unit_test(refuses_malformed_text),
        cmocka_unit_test(refuses_deep_nesting_quickly),
        cmocka_unit_test(reads_integers_exactly),
        cmocka_unit_test(reads_doubles_and_refuses_non_numbers),
        cmocka_unit_test(reads_doubles_exactly_as_strtod),
        cmocka_unit_test(refuses_numbers_outside_the_grammar),
        cmocka_unit_test(decodes_strings),
        cmocka_unit_test(writer_escapes_and_formats),
        cmocka_unit_test(writer_floats_round_trip),
        cmocka_unit_test(writer_floats_match_printf),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
