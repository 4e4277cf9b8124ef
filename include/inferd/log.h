/* Operator-facing log lines on stderr: "<UTC time> <level> <message>", one write per line so
 * that lines from different threads never interleave. */
#ifndef INFERD_LOG_H
#define INFERD_LOG_H

typedef enum {
    INFERD_LOG_DEBUG,
    INFERD_LOG_INFO,
    INFERD_LOG_WARN,
    INFERD_LOG_ERROR
} inferd_log_level_t;

/* Lines below `level` are dropped (default: INFO). */
void inferd_log_set_level(inferd_log_level_t level);

void inferd_log(inferd_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define inferd_log_info(...)  inferd_log(INFERD_LOG_INFO, __VA_ARGS__)
#define inferd_log_warn(...)  inferd_log(INFERD_LOG_WARN, __VA_ARGS__)
#define inferd_log_error(...) inferd_log(INFERD_LOG_ERROR, __VA_ARGS__)

#endif
