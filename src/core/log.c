/* Log lines for operators (see inferd/log.h). Not a request log: nothing here is on the hot path.
 */
#include "inferd/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static inferd_log_level_t min_level = INFERD_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void inferd_log_set_level(inferd_log_level_t level)
{
    min_level = level;
}

void inferd_log(inferd_log_level_t level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char line[2048];
    struct timespec now;
    struct tm utc;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &utc);
    size_t used = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &utc);
    used += (size_t)snprintf(line + used, sizeof(line) - used, ".%03ldZ %s ", now.tv_nsec / 1000000,
                             level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int wrote = vsnprintf(line + used, sizeof(line) - used, fmt, ap);
    va_end(ap);
    used = wrote < 0 ? used : used + (size_t)wrote;
    if (used > sizeof(line) - 2)
        used = sizeof(line) - 2;
    line[used++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, used);
    (void)ignored;
}
