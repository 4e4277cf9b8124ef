/* Exact conversions between JSON number text and binary floating point on the infer path, in
 * place of strtod and printf's arbitrary-precision machinery (json_number.h). */
#include "json_number.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Exact powers of ten as doubles: 10^22 is the largest whose value a double holds exactly. */
static const double exact_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads p[0..len) against JSON's number grammar and, when Clinger's fast path allows, its value
 * exactly: at most 19 significant digits making a significand up to 2^53, and a decimal
 * exponent within +-22. Then significand and power of ten are both exact doubles, and one IEEE
 * multiplication or division rounds their product correctly, giving the very double strtod
 * gives. One pass: the grammar is checked as the digits are read. *OUT_is_integer (when not
 * NULL) tells a valid number without fraction or exponent. */
inferd_json_number_t inferd_json_number(const char *p, size_t len, double *OUT_value,
                                        bool *OUT_is_integer)
{
    bool is_integer = true;
    size_t i = 0;
    bool is_negative = len > 0 && p[0] == '-';
    if (is_negative)
        i++;
    if (i >= len || !is_digit(p[i]))
        return INFERD_JSON_NUMBER_INVALID;
    if (p[i] == '0' && i + 1 < len && is_digit(p[i + 1]))
        return INFERD_JSON_NUMBER_INVALID; /* no leading zeros */
    uint64_t significand = 0;
    int digits = 0, exponent = 0;
    bool is_exact = true;
    for (; i < len && is_digit(p[i]); i++) {
        if (significand == 0 && p[i] == '0')
            continue; /* leading zeros count for nothing */
        if (++digits > 19)
            is_exact = false;
        else
            significand = significand * 10 + (uint64_t)(p[i] - '0');
    }
    if (i < len && p[i] == '.') {
        is_integer = false;
        size_t first = ++i;
        for (; i < len && is_digit(p[i]); i++) {
            exponent--;
            if (significand == 0 && p[i] == '0')
                continue;
            if (++digits > 19)
                is_exact = false;
            else
                significand = significand * 10 + (uint64_t)(p[i] - '0');
        }
        if (i == first)
            return INFERD_JSON_NUMBER_INVALID; /* "1." */
    }
    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        is_integer = false;
        i++;
        bool is_negative_exponent = i < len && p[i] == '-';
        if (i < len && (p[i] == '-' || p[i] == '+'))
            i++;
        size_t first = i;
        int written = 0;
        for (; i < len && is_digit(p[i]); i++)
            if (written <= 1000) /* beyond any double's range either way: strtod decides */
                written = written * 10 + (p[i] - '0');
        if (i == first)
            return INFERD_JSON_NUMBER_INVALID; /* "1e" */
        if (written > 1000)
            is_exact = false;
        exponent += is_negative_exponent ? -written : written;
    }
    if (i != len)
        return INFERD_JSON_NUMBER_INVALID;
    if (OUT_is_integer != NULL)
        *OUT_is_integer = is_integer;
    if (!is_exact || significand > ((uint64_t)1 << 53))
        return INFERD_JSON_NUMBER_NEEDS_STRTOD;
    double value = (double)significand;
    if (significand == 0)
        value = 0.0;
    else if (exponent >= 0 && exponent <= 22)
        value *= exact_pow10[exponent];
    else if (exponent < 0 && exponent >= -22)
        value /= exact_pow10[-exponent];
    else
        return INFERD_JSON_NUMBER_NEEDS_STRTOD;
    *OUT_value = is_negative ? -value : value;
    return INFERD_JSON_NUMBER_EXACT;
}

/* 10^k for k = 0..54 in long double (exact up to 10^27, correctly rounded beyond). */
static const long double pow10_ld[] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,  1e10L,
    1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L,
    1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L, 1e28L, 1e29L, 1e30L, 1e31L, 1e32L,
    1e33L, 1e34L, 1e35L, 1e36L, 1e37L, 1e38L, 1e39L, 1e40L, 1e41L, 1e42L, 1e43L,
    1e44L, 1e45L, 1e46L, 1e47L, 1e48L, 1e49L, 1e50L, 1e51L, 1e52L, 1e53L, 1e54L};

/* A finite, non-zero float's 9 significant digits into *OUT_digits (a whole number from 10^8
 * to 10^9 - 1) and the decimal exponent of the first digit into *OUT_exp10. The scaling runs in
 * long double (64-bit significand), so the digits are the correctly rounded ones except when
 * the float lies within about 10^-10 of a digit's rounding boundary, where the last digit may
 * be one off: 9 digits within one unit still read back as the same float, whose neighbours are
 * at least 6e-8 apart in relative terms against the digits' 1e-8. */
static void f32_digits(float v, uint32_t *OUT_digits, int *OUT_exp10)
{
    long double x = fabsl((long double)v);
    /* log10 from the binary exponent, floor((e2 - 1) * log10(2)) (78913 / 2^18), at most one
     * short of the decimal exponent; the loop below corrects it */
    int e2;
    frexpf(v, &e2);
    int t = (e2 - 1) * 78913;
    int exp10 = t >= 0 ? t >> 18 : -((-t + (1 << 18) - 1) >> 18);
    for (;;) {
        int shift = 8 - exp10; /* from -30 (3.4e38) to 54 (1.4e-45) */
        long double scaled = shift >= 0 ? x * pow10_ld[shift] : x / pow10_ld[-shift];
        /* to nearest, ties to even, as printf rounds an exact tie (scaled + 0.5 is exact) */
        long double up = scaled + 0.5L;
        uint64_t rounded = (uint64_t)up;
        if ((long double)rounded == up && (rounded & 1u))
            rounded--;
        if (rounded >= 1000000000u) {
            exp10++; /* rounding carried into a tenth digit */
            continue;
        }
        if (rounded < 100000000u) {
            exp10--;
            continue;
        }
        *OUT_digits = (uint32_t)rounded;
        *OUT_exp10 = exp10;
        return;
    }
}

/* Writes a float as printf's "%.9g" does (9 significant digits, trailing zeros dropped,
 * exponent form below 1e-4 and from 1e9), without printf's arbitrary-precision machinery:
 * every value reads back as the same float. Returns the length; `out` holds at least 16. */
int inferd_json_format_f32(char *out, float v)
{
    int n = 0;
    if (signbit(v))
        out[n++] = '-';
    if (v == 0.0f) {
        out[n++] = '0';
        return n;
    }
    uint32_t digits;
    int exp10;
    f32_digits(v, &digits, &exp10);
    char text[9];
    for (int i = 8; i >= 0; i--, digits /= 10)
        text[i] = (char)('0' + digits % 10);
    int kept = 9;
    while (kept > 1 && text[kept - 1] == '0')
        kept--;
    if (exp10 < -4 || exp10 >= 9) { /* d[.ddd]e(+|-)XX */
        out[n++] = text[0];
        if (kept > 1) {
            out[n++] = '.';
            memcpy(out + n, text + 1, (size_t)kept - 1);
            n += kept - 1;
        }
        out[n++] = 'e';
        out[n++] = exp10 < 0 ? '-' : '+';
        int e = abs(exp10);
        if (e >= 10)
            out[n++] = (char)('0' + e / 10);
        else
            out[n++] = '0';
        out[n++] = (char)('0' + e % 10);
    } else if (exp10 >= 0) { /* ddd[.ddd] */
        int whole = exp10 + 1;
        for (int i = 0; i < whole; i++)
            out[n++] = i < kept ? text[i] : '0';
        if (kept > whole) {
            out[n++] = '.';
            memcpy(out + n, text + whole, (size_t)(kept - whole));
            n += kept - whole;
        }
    } else { /* 0.000ddd */
        out[n++] = '0';
        out[n++] = '.';
        for (int i = 0; i < -exp10 - 1; i++)
            out[n++] = '0';
        memcpy(out + n, text, (size_t)kept);
        n += kept;
    }
    return n;
}
