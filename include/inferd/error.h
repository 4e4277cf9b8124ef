/* inferd error codes: one table gives each code its name, its text and the HTTP status it maps to.
 * Functions return 0 or a negative INFERD_E* code; a message for the client or the operator
 * travels beside it in an inferd_err_t. */
#ifndef INFERD_ERROR_H
#define INFERD_ERROR_H

#include <stddef.h>

/*       name          value  http  text */
#define INFERD_ERRORS(X)                                                                           \
    X(INFERD_EINVAL, -1, 400, "invalid request")                                                   \
    X(INFERD_ENOTFOUND, -2, 404, "not found")                                                      \
    X(INFERD_EMETHOD, -3, 405, "method not allowed")                                               \
    X(INFERD_ECONFLICT, -4, 409, "conflict")                                                       \
    X(INFERD_ETOOBIG, -5, 413, "payload too large")                                                \
    X(INFERD_EMEDIA, -6, 415, "unsupported media type")                                            \
    X(INFERD_EMODEL, -7, 422, "model rejected")                                                    \
    X(INFERD_ERATE, -8, 429, "rate limited")                                                       \
    X(INFERD_EUNAVAIL, -9, 503, "not ready")                                                       \
    X(INFERD_ENOMEM, -10, 500, "out of memory")                                                    \
    X(INFERD_EIO, -11, 500, "I/O error")                                                           \
    X(INFERD_EUNSUPPORTED, -12, 400, "not supported")                                              \
    X(INFERD_EINTERNAL, -13, 500, "internal error")                                                \
    X(INFERD_ETIMEOUT, -14, 504, "timed out")

typedef enum {
#define INFERD_ERROR_ENUM(name, value, http, text) name = value,
    INFERD_ERRORS(INFERD_ERROR_ENUM)
#undef INFERD_ERROR_ENUM
} inferd_errcode_t;

/* A failure with its explanation. `msg` says what went wrong and what to do, in words meant for
 * whoever caused it (the client for request errors, the operator for load errors). */
typedef struct inferd_err {
    int code;
    char msg[512];
} inferd_err_t;

/* Returns the short text of `code` ("not found"), or "unknown error". */
const char *inferd_strerror(int code);

/* Returns the HTTP status `code` maps to (500 for codes outside the table). */
int inferd_http_status(int code);

/* Records `code` and a printf-formatted message in `err` (which may be NULL) and returns `code`,
 * so that a failing path reads `return inferd_fail(err, INFERD_EINVAL, "...", ...);`. */
int inferd_fail(inferd_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts `prefix` in front of the message already in `err` ("loading x: " + old message). */
void inferd_err_prefix(inferd_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
