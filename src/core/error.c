/* The error table's lookups, and the helpers that fill an inferd_err_t. */
#include "inferd/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *inferd_strerror(int code)
{
    switch (code) {
#define INFERD_ERROR_TEXT(name, value, http, text)                                                 \
    case value:                                                                                    \
        return text;
        INFERD_ERRORS(INFERD_ERROR_TEXT)
#undef INFERD_ERROR_TEXT
    }
    return "unknown error";
}

int inferd_http_status(int code)
{
    switch (code) {
#define INFERD_ERROR_HTTP(name, value, http, text)                                                 \
    case value:                                                                                    \
        return http;
        INFERD_ERRORS(INFERD_ERROR_HTTP)
#undef INFERD_ERROR_HTTP
    }
    return 500;
}

int inferd_fail(inferd_err_t *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

void inferd_err_prefix(inferd_err_t *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char prefix[256], old[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    snprintf(err->msg, sizeof(err->msg), "%s%s", prefix, old);
}
