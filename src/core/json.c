/* JSON reading on top of the jsmn tokenizer, and the JSON writer (see inferd/json.h).
 * jsmn only finds token boundaries; this file checks what it leaves open: number grammar,
 * string escapes, UTF-8 and trailing bytes. */
#include "inferd/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS /* closing a bracket is O(1), not a search back through every token */
#include <jsmn.h>

#include "json_number.h"

/* The deepest nesting accepted. Real requests and configs nest a few levels (a tensor of rank 8
 * in nested lists inside an object inside a list: about 11); jsmn closes a bracket by walking
 * the open ones, so unbounded depth would make a hostile body cost quadratic time. */
#define MAX_DEPTH 64

/* Texts up to this size are tokenized in a single pass (see inferd_json_parse). */
#define SINGLE_PASS_MAX_BYTES (64 * 1024)

struct inferd_json_token {
    jsmntok_t tok;
    int next; /* index of the first token after this one's subtree */
};

/* ==== reading ==== */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Tells where a parse went wrong in words a client can act on. */
static int parse_failure(const char *text, size_t len, unsigned int stopped_at, int jsmn_rc,
                         inferd_err_t *err)
{
    if (jsmn_rc == JSMN_ERROR_PART)
        return inferd_fail(err, INFERD_EINVAL,
                           "request body is not valid JSON: it ends before the JSON value is "
                           "complete (%zu bytes received)",
                           len);
    size_t line = 1, column = 1;
    for (size_t i = 0; i < stopped_at && i < len; i++) {
        if (text[i] == '\n') {
            line++;
            column = 1;
        } else {
            column++;
        }
    }
    return inferd_fail(err, INFERD_EINVAL,
                       "request body is not valid JSON: unexpected character at line %zu column "
                       "%zu (byte %u)",
                       line, column, stopped_at);
}

/* Whether `c` can change the depth scan's state: a quote, a backslash or a bracket. */
static bool is_depth_special(char c)
{
    return c == '"' || c == '\\' || c == '[' || c == ']' || c == '{' || c == '}';
}

/* The index of the first byte at or after `i` that is_depth_special, or `len`. Most of a request
 * is numbers, commas and spaces: 16 bytes are compared at once (SSE2, every x86-64 CPU has it). */
static size_t next_depth_special(const char *text, size_t len, size_t i)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i open = _mm_set1_epi8('['), close = _mm_set1_epi8(']');
    const __m128i fold = _mm_set1_epi8((char)0xdf); /* '{' & 0xdf == '[', '}' & 0xdf == ']' */
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(text + i));
        __m128i folded = _mm_and_si128(v, fold);
        __m128i hit =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                         _mm_or_si128(_mm_cmpeq_epi8(folded, open), _mm_cmpeq_epi8(folded, close)));
        int mask = _mm_movemask_epi8(hit);
        if (mask != 0)
            return i + (size_t)__builtin_ctz((unsigned)mask);
    }
#endif
    while (i < len && !is_depth_special(text[i]))
        i++;
    return i;
}

/* Whether brackets in `text` (outside strings) nest deeper than MAX_DEPTH. One linear scan,
 * skipping from one quote, backslash or bracket to the next. */
static bool is_too_deep(const char *text, size_t len)
{
    int depth = 0;
    bool is_in_string = false;
    for (size_t i = next_depth_special(text, len, 0); i < len;
         i = next_depth_special(text, len, i + 1)) {
        char c = text[i];
        if (is_in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                is_in_string = false;
        } else if (c == '"') {
            is_in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > MAX_DEPTH)
                return true;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return false;
}

static int too_deep(inferd_err_t *err)
{
    return inferd_fail(err, INFERD_EINVAL,
                       "request body is not acceptable JSON: it nests deeper than %d levels",
                       MAX_DEPTH);
}

int inferd_json_parse(inferd_json_t *doc, const char *text, size_t len, inferd_arena_t *arena,
                      inferd_err_t *err)
{
    jsmn_parser parser;
    memset(doc, 0, sizeof(*doc));
    if (len > (size_t)INT32_MAX)
        return inferd_fail(err, INFERD_ETOOBIG, "JSON text of %zu bytes is too large", len);
    /* Nesting deeper than MAX_DEPTH is refused: large texts by a scan before tokenizing (a
     * deep one is not worth counting and tokenizing), small ones as their tokens are walked
     * below, which costs nothing more */
    if (len > SINGLE_PASS_MAX_BYTES && is_too_deep(text, len))
        return too_deep(err);
    /* A token takes at least two bytes of text ("1," or "[]"), so small texts are tokenized in
     * one pass into an array of that bound; large ones are counted first, to size the arrays
     * exactly rather than by a bound of eight bytes per byte of text. */
    int count = (int)(len / 2 + 1);
    if (len > SINGLE_PASS_MAX_BYTES) {
        jsmn_init(&parser);
        count = jsmn_parse(&parser, text, len, NULL, 0);
        if (count < 0)
            return parse_failure(text, len, parser.pos, count, err);
    }
    jsmntok_t *raw_tokens = inferd_arena_alloc(arena, sizeof(*raw_tokens) * (size_t)count);
    if (raw_tokens == NULL)
        return inferd_fail(err, INFERD_ETOOBIG,
                           "JSON text has %d values, more than this server can hold per request",
                           count);
    jsmn_init(&parser);
    int parsed = jsmn_parse(&parser, text, len, raw_tokens, (unsigned int)count);
    if (parsed < 0)
        return parse_failure(text, len, parser.pos, parsed, err);
    if (parsed == 0)
        return inferd_fail(err, INFERD_EINVAL, "request body is empty; send a JSON object");
    inferd_json_token_t *tokens = inferd_arena_alloc(arena, sizeof(*tokens) * (size_t)parsed);
    int *open = inferd_arena_alloc(arena, sizeof(*open) * (size_t)parsed);
    if (tokens == NULL || open == NULL)
        return inferd_fail(err, INFERD_ETOOBIG,
                           "JSON text has %d values, more than this server can hold per request",
                           parsed);
    /* Each token's subtree end, in one pass with a stack of the tokens still open: once the
     * tokens that end before token i are popped, the stack holds i's enclosing arrays and
     * objects (a key ends before its value starts), so an array or object pushed on a stack of
     * MAX_DEPTH nests too deep. */
    int depth = 0;
    for (int i = 0; i < parsed; i++) {
        tokens[i].tok = raw_tokens[i];
        while (depth > 0 && raw_tokens[i].start >= raw_tokens[open[depth - 1]].end)
            tokens[open[--depth]].next = i;
        bool is_container = raw_tokens[i].type == JSMN_ARRAY || raw_tokens[i].type == JSMN_OBJECT;
        if (is_container && depth >= MAX_DEPTH)
            return too_deep(err);
        open[depth++] = i;
    }
    while (depth > 0)
        tokens[open[--depth]].next = parsed;
    doc->text = text;
    doc->text_len = len;
    doc->tokens = tokens;
    doc->n_tokens = parsed;
    /* jsmn accepts several values in a row; JSON allows one. */
    int after_root = inferd_json_next(doc, 0);
    size_t end = (size_t)tokens[0].tok.end;
    if (tokens[0].tok.type == JSMN_STRING)
        end++; /* the closing quote */
    while (end < len && is_ws(text[end]))
        end++;
    if (after_root != parsed || end != len)
        return inferd_fail(err, INFERD_EINVAL,
                           "request body is not valid JSON: unexpected bytes after the value at "
                           "byte %zu",
                           end);
    /* jsmn's strict mode still lets some things through: a key with no value ({"a"}) and
     * misspelt literals. Numbers are checked when read; the rest here, so that such text is
     * always a parse error and every object is a list of key/value pairs. */
    for (int i = 0; i < parsed; i++) {
        if (tokens[i].tok.type == JSMN_OBJECT) {
            int child = i + 1;
            for (int member = 0; member < tokens[i].tok.size; member++) {
                if (child + 1 >= parsed || tokens[child].tok.type != JSMN_STRING ||
                    tokens[child].tok.size != 1 || tokens[child + 1].tok.start >= tokens[i].tok.end)
                    return parse_failure(text, len, (unsigned int)tokens[i].tok.start,
                                         JSMN_ERROR_INVAL, err);
                child = tokens[child + 1].next;
            }
            continue;
        }
        if (tokens[i].tok.type != JSMN_PRIMITIVE)
            continue;
        size_t raw_len;
        const char *raw = inferd_json_raw(doc, i, &raw_len);
        bool is_literal =
            (raw_len == 4 && (memcmp(raw, "true", 4) == 0 || memcmp(raw, "null", 4) == 0)) ||
            (raw_len == 5 && memcmp(raw, "false", 5) == 0);
        if (!is_literal && raw[0] != '-' && (raw[0] < '0' || raw[0] > '9'))
            return parse_failure(text, len, (unsigned int)tokens[i].tok.start, JSMN_ERROR_INVAL,
                                 err);
    }
    return 0;
}

inferd_json_kind_t inferd_json_kind(const inferd_json_t *doc, int tok)
{
    const jsmntok_t *t = &doc->tokens[tok].tok;
    switch (t->type) {
    case JSMN_OBJECT:
        return INFERD_JSON_OBJECT;
    case JSMN_ARRAY:
        return INFERD_JSON_ARRAY;
    case JSMN_STRING:
        return INFERD_JSON_STRING;
    default:
        break;
    }
    char first = doc->text[t->start];
    if (first == 't')
        return INFERD_JSON_TRUE;
    if (first == 'f')
        return INFERD_JSON_FALSE;
    if (first == 'n')
        return INFERD_JSON_NULL;
    return INFERD_JSON_NUMBER;
}

int inferd_json_size(const inferd_json_t *doc, int tok)
{
    const jsmntok_t *t = &doc->tokens[tok].tok;
    return (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY) ? t->size : 0;
}

int inferd_json_next(const inferd_json_t *doc, int tok)
{
    return doc->tokens[tok].next;
}

const char *inferd_json_raw(const inferd_json_t *doc, int tok, size_t *OUT_len)
{
    const jsmntok_t *t = &doc->tokens[tok].tok;
    *OUT_len = (size_t)(t->end - t->start);
    return doc->text + t->start;
}

int inferd_json_get(const inferd_json_t *doc, int obj, const char *key)
{
    if (obj < 0 || doc->tokens[obj].tok.type != JSMN_OBJECT)
        return -1;
    int members = doc->tokens[obj].tok.size;
    int child = obj + 1;
    for (int i = 0; i < members; i++) {
        int value = child + 1;
        if (inferd_json_eq(doc, child, key))
            return value;
        child = inferd_json_next(doc, value);
    }
    return -1;
}

bool inferd_json_eq(const inferd_json_t *doc, int tok, const char *s)
{
    if (tok < 0 || doc->tokens[tok].tok.type != JSMN_STRING)
        return false;
    size_t len;
    const char *raw = inferd_json_raw(doc, tok, &len);
    return strlen(s) == len && memcmp(raw, s, len) == 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_hex4(const char *p, const char *end, unsigned *OUT_code)
{
    if (end - p < 4)
        return -1;
    unsigned code = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(p[i]);
        if (h < 0)
            return -1;
        code = code << 4 | (unsigned)h;
    }
    *OUT_code = code;
    return 0;
}

static size_t put_utf8(char *out, unsigned code)
{
    if (code < 0x80) {
        out[0] = (char)code;
        return 1;
    }
    if (code < 0x800) {
        out[0] = (char)(0xC0 | code >> 6);
        out[1] = (char)(0x80 | (code & 0x3F));
        return 2;
    }
    if (code < 0x10000) {
        out[0] = (char)(0xE0 | code >> 12);
        out[1] = (char)(0x80 | (code >> 6 & 0x3F));
        out[2] = (char)(0x80 | (code & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | code >> 18);
    out[1] = (char)(0x80 | (code >> 12 & 0x3F));
    out[2] = (char)(0x80 | (code >> 6 & 0x3F));
    out[3] = (char)(0x80 | (code & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence at `p`, or 0 when it is not one (overlongs, surrogates and
 * code points past U+10FFFF are invalid). */
static size_t utf8_sequence_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t need;
    unsigned min, code;
    if ((c & 0xE0) == 0xC0) {
        need = 2, min = 0x80, code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        need = 3, min = 0x800, code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        need = 4, min = 0x10000, code = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        code = code << 6 | (p[i] & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        return 0;
    return need;
}

int inferd_json_string(const inferd_json_t *doc, int tok, inferd_arena_t *arena, char **OUT_str,
                       size_t *OUT_len)
{
    if (tok < 0 || doc->tokens[tok].tok.type != JSMN_STRING)
        return INFERD_EINVAL;
    size_t raw_len;
    const char *p = inferd_json_raw(doc, tok, &raw_len);
    const char *end = p + raw_len;
    char *out = inferd_arena_alloc(arena, raw_len + 1); /* decoding never grows the text */
    if (out == NULL)
        return INFERD_ENOMEM;
    size_t n = 0;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20)
            return INFERD_EINVAL;
        if (c != '\\') {
            size_t seq = utf8_sequence_len((const unsigned char *)p, (const unsigned char *)end);
            if (seq == 0)
                return INFERD_EINVAL;
            memcpy(out + n, p, seq);
            n += seq;
            p += seq;
            continue;
        }
        if (end - p < 2)
            return INFERD_EINVAL;
        char esc = p[1];
        p += 2;
        switch (esc) {
        case '"':
        case '\\':
        case '/':
            out[n++] = esc;
            break;
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'u': {
            unsigned code;
            if (read_hex4(p, end, &code) != 0)
                return INFERD_EINVAL;
            p += 4;
            if (code >= 0xD800 && code <= 0xDBFF) { /* a surrogate pair */
                unsigned low;
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
                    read_hex4(p + 2, end, &low) != 0 || low < 0xDC00 || low > 0xDFFF)
                    return INFERD_EINVAL;
                p += 6;
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            } else if (code >= 0xDC00 && code <= 0xDFFF) {
                return INFERD_EINVAL;
            }
            n += put_utf8(out + n, code);
            break;
        }
        default:
            return INFERD_EINVAL;
        }
    }
    out[n] = '\0';
    *OUT_str = out;
    if (OUT_len != NULL)
        *OUT_len = n;
    return 0;
}

/* The number token's text, NUL-terminated in `buf` (numbers longer than the buffer are refused:
 * no meaningful number needs 64 characters... except long fractions, which are cut to fit). */
static int number_text(const inferd_json_t *doc, int tok, char *buf, size_t buf_len,
                       bool *is_integer)
{
    if (tok < 0 || doc->tokens[tok].tok.type != JSMN_PRIMITIVE)
        return INFERD_EINVAL;
    size_t len;
    const char *raw = inferd_json_raw(doc, tok, &len);
    double ignored;
    if (inferd_json_number(raw, len, &ignored, is_integer) == INFERD_JSON_NUMBER_INVALID)
        return INFERD_EINVAL;
    if (len >= buf_len)
        return INFERD_EINVAL;
    memcpy(buf, raw, len);
    buf[len] = '\0';
    return 0;
}

/* Whole numbers written with a fraction or exponent ("3.0", "1e3") are accepted for integer
 * types when they are exact in a double. */
static int integral_double(const char *text, double *OUT_value)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno == ERANGE || !isfinite(v) || v != floor(v) || fabs(v) > 9007199254740992.0)
        return INFERD_EINVAL;
    *OUT_value = v;
    return 0;
}

/* Reads a whole number exactly: plain digits through strtoll/strtoull, never a double; the
 * fraction and exponent forms through integral_double. Sets *OUT_signed or *OUT_unsigned. */
static int read_whole_number(const inferd_json_t *doc, int tok, bool is_unsigned,
                             int64_t *OUT_signed, uint64_t *OUT_unsigned)
{
    char text[128];
    bool is_integer;
    if (number_text(doc, tok, text, sizeof(text), &is_integer) != 0)
        return INFERD_EINVAL;
    if (!is_integer) {
        double v;
        if (integral_double(text, &v) != 0 || (is_unsigned && v < 0))
            return INFERD_EINVAL;
        if (is_unsigned)
            *OUT_unsigned = (uint64_t)v;
        else
            *OUT_signed = (int64_t)v;
        return 0;
    }
    errno = 0;
    if (!is_unsigned)
        *OUT_signed = strtoll(text, NULL, 10);
    else if (text[0] != '-')
        *OUT_unsigned = strtoull(text, NULL, 10);
    else if (strcmp(text, "-0") == 0) /* the only negative integer that fits */
        *OUT_unsigned = 0;
    else
        return INFERD_EINVAL;
    return errno == ERANGE ? INFERD_EINVAL : 0;
}

int inferd_json_int64(const inferd_json_t *doc, int tok, int64_t *OUT_value)
{
    return read_whole_number(doc, tok, false, OUT_value, NULL);
}

int inferd_json_uint64(const inferd_json_t *doc, int tok, uint64_t *OUT_value)
{
    return read_whole_number(doc, tok, true, NULL, OUT_value);
}

int inferd_json_double(const inferd_json_t *doc, int tok, double *OUT_value)
{
    char text[128];
    if (tok < 0 || doc->tokens[tok].tok.type != JSMN_PRIMITIVE)
        return INFERD_EINVAL;
    size_t len;
    const char *raw = inferd_json_raw(doc, tok, &len);
    inferd_json_number_t number = inferd_json_number(raw, len, OUT_value, NULL);
    if (number == INFERD_JSON_NUMBER_EXACT)
        return 0;
    if (number == INFERD_JSON_NUMBER_INVALID)
        return INFERD_EINVAL;
    const char *src = raw;
    char *copy = NULL;
    if (len < sizeof(text)) {
        memcpy(text, raw, len);
        text[len] = '\0';
        src = text;
    } else {
        copy = strndup(raw, len); /* very long fractions: rare, allowed */
        if (copy == NULL)
            return INFERD_ENOMEM;
        src = copy;
    }
    char *end;
    errno = 0;
    double v = strtod(src, &end);
    free(copy);
    if (!isfinite(v))
        return INFERD_EINVAL;
    *OUT_value = v; /* underflow to 0 or a subnormal is fine */
    return 0;
}

/* ==== writing ==== */

static bool jsonw_reserve(inferd_jsonw_t *w, size_t extra)
{
    if (w->failed)
        return false;
    if (w->len + extra <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 1024;
    while (cap < w->len + extra)
        cap *= 2;
    char *grown = realloc(w->buf, cap);
    if (grown == NULL) {
        w->failed = true;
        return false;
    }
    w->buf = grown;
    w->cap = cap;
    return true;
}

const char *inferd_jsonw_cstr_of(inferd_jsonw_t *w)
{
    if (!jsonw_reserve(w, 1))
        return NULL;
    w->buf[w->len] = '\0';
    return w->buf;
}

void inferd_jsonw_reset(inferd_jsonw_t *w)
{
    w->len = 0;
    w->failed = false;
}

void inferd_jsonw_free(inferd_jsonw_t *w)
{
    free(w->buf);
    memset(w, 0, sizeof(*w));
}

void inferd_jsonw_raw(inferd_jsonw_t *w, const char *s, size_t len)
{
    if (!jsonw_reserve(w, len))
        return;
    memcpy(w->buf + w->len, s, len);
    w->len += len;
}

void inferd_jsonw_lit(inferd_jsonw_t *w, const char *s)
{
    inferd_jsonw_raw(w, s, strlen(s));
}

void inferd_jsonw_str(inferd_jsonw_t *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    /* worst case: every byte becomes \u00XX (6) or U+FFFD (3) */
    if (!jsonw_reserve(w, len * 6 + 2))
        return;
    char *out = w->buf + w->len;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    *out++ = '"';
    while (p < end) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            *out++ = '\\';
            *out++ = (char)c;
            p++;
        } else if (c < 0x20) {
            *out++ = '\\';
            *out++ = 'u';
            *out++ = '0';
            *out++ = '0';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 0xF];
            p++;
        } else if (c < 0x80) {
            *out++ = (char)c;
            p++;
        } else {
            size_t seq = utf8_sequence_len(p, end);
            if (seq == 0) {
                memcpy(out, "\xEF\xBF\xBD", 3);
                out += 3;
                p++;
            } else {
                memcpy(out, p, seq);
                out += seq;
                p += seq;
            }
        }
    }
    *out++ = '"';
    w->len = (size_t)(out - w->buf);
}

void inferd_jsonw_cstr(inferd_jsonw_t *w, const char *s)
{
    inferd_jsonw_str(w, s, strlen(s));
}

void inferd_jsonw_uint(inferd_jsonw_t *w, uint64_t v)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (!jsonw_reserve(w, (size_t)n))
        return;
    while (n > 0)
        w->buf[w->len++] = digits[--n];
}

void inferd_jsonw_int(inferd_jsonw_t *w, int64_t v)
{
    if (v < 0) {
        inferd_jsonw_raw(w, "-", 1);
        inferd_jsonw_uint(w, (uint64_t)0 - (uint64_t)v);
    } else {
        inferd_jsonw_uint(w, (uint64_t)v);
    }
}

static void jsonw_double(inferd_jsonw_t *w, double v, int digits)
{
    if (!isfinite(v)) {
        inferd_jsonw_raw(w, "null", 4);
        return;
    }
    if (!jsonw_reserve(w, 32))
        return;
    int n = snprintf(w->buf + w->len, 32, "%.*g", digits, v);
    w->len += (size_t)n;
}

void inferd_jsonw_f32(inferd_jsonw_t *w, float v)
{
    if (!isfinite(v)) {
        inferd_jsonw_raw(w, "null", 4);
        return;
    }
    if (!jsonw_reserve(w, 24))
        return;
    w->len += (size_t)inferd_json_format_f32(w->buf + w->len, v);
}

void inferd_jsonw_f64(inferd_jsonw_t *w, double v)
{
    jsonw_double(w, v, 17);
}

void inferd_jsonw_bool(inferd_jsonw_t *w, bool v)
{
    if (v)
        inferd_jsonw_raw(w, "true", 4);
    else
        inferd_jsonw_raw(w, "false", 5);
}

void inferd_jsonw_time_ms(inferd_jsonw_t *w, int64_t ms)
{
    if (ms <= 0) {
        inferd_jsonw_lit(w, "null");
        return;
    }
    time_t seconds = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    char text[48];
    snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    inferd_jsonw_cstr(w, text);
}
