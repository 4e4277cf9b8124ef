/* Fast, exact number conversions for the JSON reader and writer (json_number.c). */
#ifndef INFERD_CORE_JSON_NUMBER_H
#define INFERD_CORE_JSON_NUMBER_H

#include <stdbool.h>
#include <stddef.h>

/* The value of `p[0..len)`, a number already checked against JSON's grammar, when Clinger's fast
 * path gives it exactly (the very double strtod gives); false when the caller needs strtod. */
bool inferd_json_fast_number(const char *p, size_t len, double *OUT_value);

/* Writes a finite float as printf's "%.9g" does; returns the length (`out` holds at least 16). */
int inferd_json_format_f32(char *out, float v);

#endif
