/* Reading JSON (a jsmn token array over the caller's text, tokens kept in an arena) and writing it
 * (an append-only buffer). One reader and one writer for every JSON inferd touches: request
 * bodies, config.json, responses. */
#ifndef INFERD_JSON_H
#define INFERD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inferd/arena.h"
#include "inferd/error.h"

typedef enum {
    INFERD_JSON_OBJECT,
    INFERD_JSON_ARRAY,
    INFERD_JSON_STRING,
    INFERD_JSON_NUMBER,
    INFERD_JSON_TRUE,
    INFERD_JSON_FALSE,
    INFERD_JSON_NULL
} inferd_json_kind_t;

typedef struct inferd_json_token inferd_json_token_t;

/* A parsed document. Token 0 is the root; `text` must outlive the document. */
typedef struct inferd_json {
    const char *text;
    size_t text_len;
    inferd_json_token_t *tokens;
    int n_tokens;
} inferd_json_t;

/* Parses `len` bytes of `text` into `doc`, the tokens allocated from `arena`.
 * Returns 0, INFERD_EINVAL (not JSON, trailing bytes, message says where) or INFERD_ETOOBIG
 * (more tokens than the arena may hold). */
int inferd_json_parse(inferd_json_t *doc, const char *text, size_t len, inferd_arena_t *arena,
                      inferd_err_t *err);

inferd_json_kind_t inferd_json_kind(const inferd_json_t *doc, int tok);

/* Number of children: members of an object, elements of an array, 0 for scalars. */
int inferd_json_size(const inferd_json_t *doc, int tok);

/* The token after `tok`'s whole subtree (its next sibling, or n_tokens). */
int inferd_json_next(const inferd_json_t *doc, int tok);

/* The value token of member `key` in object `obj`, or -1 when absent (or `obj` not an object). */
int inferd_json_get(const inferd_json_t *doc, int obj, const char *key);

/* The raw bytes of a token (a string without its quotes and still escaped). */
const char *inferd_json_raw(const inferd_json_t *doc, int tok, size_t *OUT_len);

/* True when `tok` is a string whose raw bytes equal `s` (no escapes considered). */
bool inferd_json_eq(const inferd_json_t *doc, int tok, const char *s);

/* Decodes string `tok` (escapes, and UTF-8 checked) into a NUL-terminated copy in `arena`.
 * Returns 0 or INFERD_EINVAL (not a string, bad escape, invalid UTF-8) or INFERD_ENOMEM. */
int inferd_json_string(const inferd_json_t *doc, int tok, inferd_arena_t *arena, char **OUT_str,
                       size_t *OUT_len);

/* Number conversions. Each returns 0, or INFERD_EINVAL when `tok` is not a JSON number, is not
 * an integer (for the integer forms) or does not fit the result type. Integers are parsed
 * exactly, never through a double. */
int inferd_json_int64(const inferd_json_t *doc, int tok, int64_t *OUT_value);
int inferd_json_uint64(const inferd_json_t *doc, int tok, uint64_t *OUT_value);
int inferd_json_double(const inferd_json_t *doc, int tok, double *OUT_value);

/* ---- writer ---- */

/* An append-only text buffer. Appends never fail visibly: on out of memory the writer marks
 * itself failed and drops further text; check `failed` once at the end. */
typedef struct inferd_jsonw {
    char *buf;
    size_t len;
    size_t cap;
    bool failed;
} inferd_jsonw_t;

/* Empties the buffer, keeping its memory. */
void inferd_jsonw_reset(inferd_jsonw_t *w);
/* The text written so far as a NUL-terminated string (the NUL is not part of len), or NULL when
 * the writer failed. Valid until the next append. */
const char *inferd_jsonw_cstr_of(inferd_jsonw_t *w);
/* Releases the buffer. */
void inferd_jsonw_free(inferd_jsonw_t *w);

void inferd_jsonw_raw(inferd_jsonw_t *w, const char *s, size_t len);
/* Appends a NUL-terminated literal piece of JSON syntax as is. */
void inferd_jsonw_lit(inferd_jsonw_t *w, const char *s);
/* Appends `len` bytes as a quoted JSON string, escaping what JSON requires; invalid UTF-8 bytes
 * become U+FFFD. */
void inferd_jsonw_str(inferd_jsonw_t *w, const char *s, size_t len);
void inferd_jsonw_cstr(inferd_jsonw_t *w, const char *s);
void inferd_jsonw_int(inferd_jsonw_t *w, int64_t v);
void inferd_jsonw_uint(inferd_jsonw_t *w, uint64_t v);
/* Floats are written so that they read back to the same value (9 and 17 significant digits);
 * NaN and infinities, which JSON cannot express, are written as null. */
void inferd_jsonw_f32(inferd_jsonw_t *w, float v);
void inferd_jsonw_f64(inferd_jsonw_t *w, double v);
void inferd_jsonw_bool(inferd_jsonw_t *w, bool v);
/* A time in milliseconds since the epoch as an ISO 8601 UTC string ("2026-11-22T12:00:05.895Z"),
 * or null for ms <= 0. */
void inferd_jsonw_time_ms(inferd_jsonw_t *w, int64_t ms);

#endif
