/* Thread names: what top -H, ps -L, perf and gdb show for each of inferd's threads. */
#ifndef INFERD_THREAD_H
#define INFERD_THREAD_H

/* Names the calling thread `prefix` followed by `name` (NULL: nothing), cut to the 15 bytes
 * Linux keeps: "sched:" and a model's name for its instance threads, "http" for the event
 * loops. */
void inferd_thread_name(const char *prefix, const char *name);

#endif
