/* Fast, exact number conversions for the JSON reader and writer (json_number.c). */
#ifndef INFERD_CORE_JSON_NUMBER_H
#define INFERD_CORE_JSON_NUMBER_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    INFERD_JSON_NUMBER_INVALID,      /* not a JSON number */
    INFERD_JSON_NUMBER_EXACT,        /* *OUT_value set: the very double strtod gives */
    INFERD_JSON_NUMBER_NEEDS_STRTOD, /* a valid number this fast path cannot convert exactly */
} inferd_json_number_t;

/* Checks `p[0..len)` against JSON's number grammar and converts it when Clinger's fast path
 * gives its value exactly (short significands, small exponents), in one pass. For a valid
 * number, *OUT_is_integer (when not NULL) says whether it has no fraction and no exponent. */
inferd_json_number_t inferd_json_number(const char *p, size_t len, double *OUT_value,
                                        bool *OUT_is_integer);

/* Writes a finite float as printf's "%.9g" does; returns the length (`out` holds at least 16). */
int inferd_json_format_f32(char *out, float v);

#endif
