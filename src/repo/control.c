/* The control thread: the one thread that changes what is served. It runs queued work in order
 * (repository and management API calls), rescans the disk every poll interval in poll mode, and
 * frees versions whose last reference dropped elsewhere, so that request threads never pay for
 * an unload and control-plane changes never race each other. */
#include "inferd/backend.h"
#include "inferd/clock.h"
#include "inferd/log.h"
#include "inferd/thread.h"
#include "repo_private.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inferd_repo_t *reaping_repo; /* one repository per process */

/* Any thread: the last reference to `v` dropped; the control thread frees it. */
static void reap_later(inferd_model_version_t *v)
{
    inferd_repo_t *repo = reaping_repo;
    pthread_mutex_lock(&repo->queue_lock);
    if (repo->n_reap == repo->cap_reap) {
        size_t cap = repo->cap_reap ? repo->cap_reap * 2 : 16;
        inferd_model_version_t **grown = realloc(repo->reap, cap * sizeof(*grown));
        if (grown == NULL) { /* cannot defer: free it here */
            pthread_mutex_unlock(&repo->queue_lock);
            inferd_version_free(v);
            return;
        }
        repo->reap = grown;
        repo->cap_reap = cap;
    }
    repo->reap[repo->n_reap++] = v;
    pthread_cond_signal(&repo->has_work);
    pthread_mutex_unlock(&repo->queue_lock);
}

void repo_reap_now(inferd_repo_t *repo)
{
    bool freed = false;
    for (;;) {
        pthread_mutex_lock(&repo->queue_lock);
        inferd_model_version_t *v = repo->n_reap ? repo->reap[--repo->n_reap] : NULL;
        pthread_mutex_unlock(&repo->queue_lock);
        if (v == NULL)
            break;
        inferd_log_info("model '%s' version %s unloaded", v->model_name, v->version_str);
        inferd_version_free(v);
        freed = true;
    }
    if (freed)
        malloc_trim(0); /* give the unloaded weights back to the system */
}

int inferd_repo_run(inferd_repo_t *repo, void (*fn)(void *arg), void *arg)
{
    repo_task_t *task = malloc(sizeof(*task));
    if (task == NULL)
        return INFERD_ENOMEM;
    *task = (repo_task_t){fn, arg, NULL};
    pthread_mutex_lock(&repo->queue_lock);
    if (repo->is_closing || !repo->has_thread) {
        pthread_mutex_unlock(&repo->queue_lock);
        free(task);
        return INFERD_EUNAVAIL;
    }
    if (repo->tail != NULL)
        repo->tail->next = task;
    else
        repo->head = task;
    repo->tail = task;
    pthread_cond_signal(&repo->has_work);
    pthread_mutex_unlock(&repo->queue_lock);
    return 0;
}

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t done;
    bool is_done;
} sync_point_t;

static void reach_sync_point(void *arg)
{
    sync_point_t *point = arg;
    pthread_mutex_lock(&point->lock);
    point->is_done = true;
    pthread_cond_signal(&point->done);
    pthread_mutex_unlock(&point->lock);
}

int inferd_repo_sync(inferd_repo_t *repo)
{
    sync_point_t point = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    int rc = inferd_repo_run(repo, reach_sync_point, &point);
    pthread_mutex_lock(&point.lock);
    while (rc == 0 && !point.is_done)
        pthread_cond_wait(&point.done, &point.lock);
    pthread_mutex_unlock(&point.lock);
    return rc;
}

static void *control_main(void *arg)
{
    inferd_repo_t *repo = arg;
    inferd_thread_name("repo-control", NULL);
    inferd_backends_thread_init(); /* loads warm models up on this thread */
    uint64_t poll_ns = (uint64_t)repo->poll_secs * 1000000000u;
    uint64_t next_poll = inferd_monotonic_ns() + poll_ns;
    pthread_mutex_lock(&repo->queue_lock);
    for (;;) {
        while (repo->head == NULL && repo->n_reap == 0 && !repo->is_closing) {
            if (repo->mode != INFERD_CONTROL_POLL) {
                pthread_cond_wait(&repo->has_work, &repo->queue_lock);
                continue;
            }
            uint64_t now = inferd_monotonic_ns();
            if (now >= next_poll)
                break;
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            uint64_t wait = next_poll - now;
            until.tv_sec += (time_t)(wait / 1000000000u);
            until.tv_nsec += (long)(wait % 1000000000u);
            if (until.tv_nsec >= 1000000000L)
                until.tv_sec++, until.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&repo->has_work, &repo->queue_lock, &until);
        }
        repo_task_t *task = repo->head;
        if (task != NULL) {
            repo->head = task->next;
            if (repo->head == NULL)
                repo->tail = NULL;
        }
        bool is_closing = repo->is_closing;
        pthread_mutex_unlock(&repo->queue_lock);
        if (task != NULL) {
            task->fn(task->arg);
            free(task);
        } else if (!is_closing && repo->mode == INFERD_CONTROL_POLL &&
                   inferd_monotonic_ns() >= next_poll) {
            inferd_repo_poll(repo);
            next_poll = inferd_monotonic_ns() + poll_ns;
        }
        repo_reap_now(repo);
        pthread_mutex_lock(&repo->queue_lock);
        if (is_closing && repo->head == NULL)
            break;
    }
    pthread_mutex_unlock(&repo->queue_lock);
    return NULL;
}

int repo_control_start(inferd_repo_t *repo, inferd_err_t *err)
{
    reaping_repo = repo;
    inferd_version_set_reaper(reap_later);
    pthread_mutex_lock(&repo->queue_lock);
    int rc = pthread_create(&repo->thread, NULL, control_main, repo);
    repo->has_thread = rc == 0;
    pthread_mutex_unlock(&repo->queue_lock);
    if (rc != 0) {
        inferd_version_set_reaper(NULL);
        return inferd_fail(err, INFERD_EINTERNAL, "cannot start the control thread: %s",
                           strerror(rc));
    }
    return 0;
}

void repo_control_stop(inferd_repo_t *repo)
{
    pthread_mutex_lock(&repo->queue_lock);
    bool has_thread = repo->has_thread;
    repo->is_closing = true;
    pthread_cond_signal(&repo->has_work);
    pthread_mutex_unlock(&repo->queue_lock);
    if (has_thread)
        pthread_join(repo->thread, NULL);
    repo->has_thread = false;
}
