/* The HTTP front end: h2o event loops (one per thread, SO_REUSEPORT listeners) speaking the
 * KServe V2 / Open Inference Protocol and the load-balancer health endpoints. */
#ifndef INFERD_HTTP_H
#define INFERD_HTTP_H

#include <stddef.h>

#include "inferd/error.h"
#include "inferd/repo.h"
#include "inferd/router.h"

typedef struct inferd_http_config {
    const char *address; /* IPv4 or IPv6 literal to bind; "0.0.0.0" for every interface */
    int port;
    int threads;             /* event-loop threads */
    size_t max_body_bytes;   /* larger request bodies answer 413 */
    int max_connections;     /* client connections open at once, all threads together (each
                                thread takes an equal share); further ones wait in the backlog */
    int shutdown_timeout_ms; /* how long a drain may take before open connections are cut */
    int reply_hold_us;       /* answers of requests ready together are held up to this long, then
                                written in one burst (0: each at once); see server.c */
    inferd_router_t *router; /* traffic rules for requests that name no version */
    struct inferd_ab *ab;    /* A/B tests */
    struct inferd_mirror *mirror; /* shadow traffic */
} inferd_http_config_t;

/* Serves `repo` until SIGTERM or SIGINT, then stops accepting, lets requests in flight finish
 * (up to the shutdown timeout) and returns 0. Returns a negative code when the port cannot be
 * bound, with the reason in err. Blocks SIGTERM, SIGINT and SIGPIPE in the calling thread. */
int inferd_http_serve(const inferd_http_config_t *config, const inferd_repo_t *repo,
                      inferd_err_t *err);

#endif
