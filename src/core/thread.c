/* Thread names (see inferd/thread.h). */
#define _GNU_SOURCE /* pthread_setname_np */
#include "inferd/thread.h"

#include <pthread.h>
#include <stdio.h>

void inferd_thread_name(const char *prefix, const char *name)
{
    char text[16]; /* the kernel keeps 15 bytes and the terminator */
    snprintf(text, sizeof(text), "%s%s", prefix, name != NULL ? name : "");
    pthread_setname_np(pthread_self(), text); /* a name is a convenience: failure changes nothing */
}
