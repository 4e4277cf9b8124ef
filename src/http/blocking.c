/* Control-plane requests off the event loops (see call.h): the request's parts are copied, the
 * work runs on the repository's control thread, and the answer comes back to the loop that owns
 * the request through h2o_multithread_send_message. A client that left is detected through a
 * dispose callback on its request's pool, as for scheduled inference. */
#include "call.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct blocking_job blocking_job_t;

typedef struct {
    blocking_job_t *job; /* NULL once the job has answered */
} blocking_ref_t;

struct blocking_job {
    h2o_multithread_message_t message; /* to the owning loop */
    http_blocking_t b;
    void (*work)(http_blocking_t *b);
    h2o_multithread_receiver_t *loop;
    int64_t *loop_in_flight;
    h2o_req_t *http_req; /* NULL once the client went away */
    blocking_ref_t *ref;
    char *copies; /* one allocation for every copied string */
};

static void on_request_disposed(void *data)
{
    blocking_ref_t *ref = data;
    if (ref->job != NULL)
        ref->job->http_req = NULL;
}

/* Control thread. */
static void run_job(void *arg)
{
    blocking_job_t *job = arg;
    job->work(&job->b);
    h2o_multithread_send_message(job->loop, &job->message);
}

static void job_free(blocking_job_t *job)
{
    inferd_jsonw_free(&job->b.out);
    free(job->copies);
    free(job);
}

void http_on_blocking_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        blocking_job_t *job = H2O_STRUCT_FROM_MEMBER(blocking_job_t, message.link, messages->next);
        h2o_linklist_unlink(&job->message.link);
        (*job->loop_in_flight)--;
        if (job->http_req != NULL) {
            job->ref->job = NULL;
            http_call_t call = http_loop_call(job->http_req);
            if (job->b.status == 503)
                h2o_add_header(&job->http_req->pool, &job->http_req->res.headers,
                               H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
            if (job->b.out.failed) {
                inferd_err_t err;
                inferd_fail(&err, INFERD_ENOMEM, "out of memory writing the answer");
                http_reply_error(&call, &err);
            } else {
                http_reply_text(&call, job->b.status, "application/json", job->b.out.buf,
                                job->b.out.len);
            }
        }
        job_free(job);
    }
}

/* Appends a NUL-terminated copy of `len` bytes at `src` to `dst` and returns where it starts. */
static const char *copy_in(char **dst, const char *src, size_t len)
{
    if (src == NULL)
        return NULL;
    char *start = *dst;
    memcpy(start, src, len);
    start[len] = '\0';
    *dst += len + 1;
    return start;
}

static size_t cstr_len(const char *s)
{
    return s ? strlen(s) : 0;
}

void http_run_blocking(http_call_t *call, void (*work)(http_blocking_t *b), void *user)
{
    h2o_req_t *req = call->req;
    h2o_iovec_t query = {"", 0};
    if (req->query_at != SIZE_MAX)
        query =
            h2o_iovec_init(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    const char *actor = "api";
    size_t actor_len = 3;
    ssize_t user_header = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-inferd-user"), -1);
    if (user_header >= 0 && req->headers.entries[user_header].value.len > 0 &&
        req->headers.entries[user_header].value.len <= 128) {
        actor = req->headers.entries[user_header].value.base;
        actor_len = req->headers.entries[user_header].value.len;
    }
    static const char *const reserved[] = {"repository", "startup", "poller"};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (actor_len == strlen(reserved[i]) && memcmp(actor, reserved[i], actor_len) == 0) {
            inferd_err_t err;
            inferd_fail(&err, INFERD_EINVAL,
                        "X-Inferd-User '%s' is reserved for inferd's own changes; name a person "
                        "or a service",
                        reserved[i]);
            http_reply_error(call, &err);
            return;
        }
    size_t total = cstr_len(call->model) + cstr_len(call->version) + cstr_len(call->label) +
                   cstr_len(call->name) + req->entity.len + query.len + actor_len + 8;
    blocking_job_t *job = calloc(1, sizeof(*job));
    char *copies = job != NULL ? malloc(total) : NULL;
    if (copies == NULL) {
        free(job);
        inferd_err_t err;
        inferd_fail(&err, INFERD_ENOMEM, "out of memory taking the request");
        http_reply_error(call, &err);
        return;
    }
    job->copies = copies;
    char *cursor = copies;
    job->b.repo = (inferd_repo_t *)call->repo;
    job->b.router = call->router;
    job->b.model = copy_in(&cursor, call->model, cstr_len(call->model));
    job->b.version = copy_in(&cursor, call->version, cstr_len(call->version));
    job->b.label = copy_in(&cursor, call->label, cstr_len(call->label));
    job->b.name = copy_in(&cursor, call->name, cstr_len(call->name));
    job->b.body = copy_in(&cursor, req->entity.base ? req->entity.base : "", req->entity.len);
    job->b.body_len = req->entity.len;
    job->b.query = copy_in(&cursor, query.base, query.len);
    job->b.actor = copy_in(&cursor, actor, actor_len);
    job->b.status = 200;
    job->b.user = user;
    job->work = work;
    job->loop = call->blocking_done;
    job->loop_in_flight = call->jobs_in_flight;
    job->http_req = req;
    job->ref = h2o_mem_alloc_shared(&req->pool, sizeof(*job->ref), on_request_disposed);
    job->ref->job = job;
    (*call->jobs_in_flight)++;
    if (inferd_repo_run(job->b.repo, run_job, job) != 0) {
        (*call->jobs_in_flight)--;
        job->ref->job = NULL;
        job_free(job);
        inferd_err_t err;
        inferd_fail(&err, INFERD_EUNAVAIL, "the server is shutting down");
        http_reply_error(call, &err);
    }
}

void http_blocking_error(http_blocking_t *b, const inferd_err_t *err)
{
    b->status = inferd_http_status(err->code);
    inferd_jsonw_reset(&b->out);
    inferd_jsonw_lit(&b->out, "{\"error\":");
    inferd_jsonw_cstr(&b->out, err->msg);
    inferd_jsonw_lit(&b->out, "}");
}
