/* The `inferd` command: parses the command line and runs a subcommand. `serve` loads a model
 * repository and answers the KServe V2 API over HTTP until SIGTERM/SIGINT. */
#include "inferd/abtest.h"
#include "inferd/backend.h"
#include "inferd/cli.h"
#include "inferd/canary.h"
#include "inferd/http.h"
#include "inferd/log.h"
#include "inferd/mirror.h"
#include "inferd/registry.h"
#include "inferd/repo.h"
#include "inferd/router.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_USAGE 2

static const char main_usage[] =
    "usage: inferd <command> [options]\n"
    "\n"
    "inferd serves machine-learning models (ONNX) over the KServe V2 HTTP API.\n"
    "\n"
    "commands:\n"
    "  serve --model-repository DIR [--http-port N] [--http-address ADDR] [--threads N]\n"
    "        [--max-body-bytes N] [--max-connections N] [--shutdown-timeout-secs N]\n"
    "        [--reply-hold-us N]\n"
    "             load a model repository and serve it over HTTP\n"
    "  models list|show|register|deploy|default|label|rollback|unload ...\n"
    "             manage the versions a running server serves (inferd models --help)\n"
    "  audit [--model M] [--limit N]\n"
    "             who changed what, from a running server's audit log\n"
    "\n"
    "options:\n"
    "  -h, --help     show this help\n"
    "  -V, --version  print the version\n"
    "\n"
    "Run 'inferd serve --help' for the server's options.\n";

static const char serve_usage[] =
    "usage: inferd serve --model-repository DIR [options]\n"
    "\n"
    "Loads every model in DIR (DIR/<model>/<version>/model.onnx, optional\n"
    "DIR/<model>/config.json) and serves them over HTTP. A model that fails to load is\n"
    "reported (log, /v2/models/<model>/ready) and the others are served.\n"
    "SIGTERM or SIGINT: stop accepting, finish requests in flight, exit 0.\n"
    "\n"
    "options:\n"
    "  --model-repository DIR  the model repository (required)\n"
    "  --http-port N           TCP port to listen on (default 8000)\n"
    "  --http-address ADDR     address to bind (default 0.0.0.0, every interface)\n"
    "  --threads N             HTTP event-loop threads (default: number of CPUs)\n"
    "  --max-body-bytes N      largest request body accepted; larger ones answer 413\n"
    "                          (default 67108864)\n"
    "  --max-connections N     client connections open at once; further ones wait in the\n"
    "                          listen backlog until one closes (default 1024)\n"
    "  --shutdown-timeout-secs N  longest drain on shutdown before connections are cut\n"
    "                          (default 30)\n"
    "  --reply-hold-us N       when several requests are ready at once, hold their answers\n"
    "                          up to N microseconds to write them together, waking the\n"
    "                          clients once (default 500; 0: write each answer at once)\n"
    "  --model-control-mode M  none (default): serve what DIR holds at start-up;\n"
    "                          poll: follow DIR's changes every --repository-poll-secs;\n"
    "                          explicit: load and unload only through the repository API\n"
    "  --repository-poll-secs N  seconds between scans in poll mode (default 15)\n"
    "  --load-model NAME       explicit mode: load NAME at start-up (repeatable; '*': all)\n"
    "  --registry PATH         the registry database (SQLite; default DIR/.inferd/registry.db;\n"
    "                          'none': keep no registry)\n"
    "  -h, --help              show this help\n";

/* Parses a whole decimal number in [min, max]; returns 0 or -1. */
static int parse_number(const char *text, long long min, long long max, long long *OUT)
{
    char *end;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || v < min || v > max)
        return -1;
    *OUT = v;
    return 0;
}

/* Opens the registry: `location` as given, "none" for no registry, or by default
 * DIR/.inferd/registry.db (a repository that cannot hold it runs without one, with a warning).
 * Returns 0, or -1 when a registry that was asked for cannot be opened. */
static int open_registry(const char *repo_dir, const char *location,
                         inferd_registry_t **OUT_registry)
{
    *OUT_registry = NULL;
    if (location != NULL && strcmp(location, "none") == 0)
        return 0;
    char path[4096];
    inferd_err_t err = {0};
    if (location == NULL) {
        snprintf(path, sizeof(path), "%s/.inferd", repo_dir);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/.inferd/registry.db", repo_dir);
        if (inferd_registry_open(path, OUT_registry, &err) != 0) {
            inferd_log_warn("no registry (%s): what serves will not survive a restart; give "
                            "--registry PATH to keep one elsewhere",
                            err.msg);
            *OUT_registry = NULL;
        }
        return 0;
    }
    if (inferd_registry_open(location, OUT_registry, &err) != 0) {
        inferd_log_error("--registry %s: %s", location, err.msg);
        return -1;
    }
    return 0;
}

static int serve_main(int argc, char **argv)
{
    enum {
        OPT_REPO = 1,
        OPT_PORT,
        OPT_ADDRESS,
        OPT_THREADS,
        OPT_MAX_BODY,
        OPT_SHUTDOWN,
        OPT_CONTROL_MODE,
        OPT_POLL_SECS,
        OPT_LOAD_MODEL,
        OPT_REGISTRY,
        OPT_REPLY_HOLD,
        OPT_MAX_CONNECTIONS,
    };
    static const struct option options[] = {
        {"model-repository", required_argument, NULL, OPT_REPO},
        {"http-port", required_argument, NULL, OPT_PORT},
        {"http-address", required_argument, NULL, OPT_ADDRESS},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"max-body-bytes", required_argument, NULL, OPT_MAX_BODY},
        {"shutdown-timeout-secs", required_argument, NULL, OPT_SHUTDOWN},
        {"model-control-mode", required_argument, NULL, OPT_CONTROL_MODE},
        {"repository-poll-secs", required_argument, NULL, OPT_POLL_SECS},
        {"load-model", required_argument, NULL, OPT_LOAD_MODEL},
        {"registry", required_argument, NULL, OPT_REGISTRY},
        {"reply-hold-us", required_argument, NULL, OPT_REPLY_HOLD},
        {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    inferd_http_config_t config = {
        .address = "0.0.0.0",
        .port = 8000,
        .threads = cpus > 0 ? (int)cpus : 1,
        .max_body_bytes = 64u << 20,
        .shutdown_timeout_ms = 30000,
        .reply_hold_us = 500,
        .max_connections = 1024,
    };
    const char *repo_dir = NULL;
    inferd_repo_options_t repo_options = {.mode = INFERD_CONTROL_NONE, .poll_secs = 15};
    const char *load_names[64];
    const char *registry_location = NULL;
    long long value;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_REPO:
            repo_dir = optarg;
            break;
        case OPT_PORT:
            if (parse_number(optarg, 0, 65535, &value) != 0) {
                fprintf(stderr, "inferd serve: --http-port must be 0-65535, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            config.port = (int)value;
            break;
        case OPT_ADDRESS:
            config.address = optarg;
            break;
        case OPT_THREADS:
            if (parse_number(optarg, 1, 256, &value) != 0) {
                fprintf(stderr, "inferd serve: --threads must be 1-256, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            config.threads = (int)value;
            break;
        case OPT_MAX_BODY:
            if (parse_number(optarg, 1, (long long)1 << 40, &value) != 0) {
                fprintf(stderr,
                        "inferd serve: --max-body-bytes must be a positive number of "
                        "bytes, not '%s'\n",
                        optarg);
                return EXIT_USAGE;
            }
            config.max_body_bytes = (size_t)value;
            break;
        case OPT_SHUTDOWN:
            if (parse_number(optarg, 0, 3600, &value) != 0) {
                fprintf(stderr, "inferd serve: --shutdown-timeout-secs must be 0-3600\n");
                return EXIT_USAGE;
            }
            config.shutdown_timeout_ms = (int)value * 1000;
            break;
        case OPT_CONTROL_MODE:
            if (strcmp(optarg, "none") == 0)
                repo_options.mode = INFERD_CONTROL_NONE;
            else if (strcmp(optarg, "poll") == 0)
                repo_options.mode = INFERD_CONTROL_POLL;
            else if (strcmp(optarg, "explicit") == 0)
                repo_options.mode = INFERD_CONTROL_EXPLICIT;
            else {
                fprintf(stderr,
                        "inferd serve: --model-control-mode must be none, poll or explicit, not "
                        "'%s'\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_POLL_SECS:
            if (parse_number(optarg, 1, 86400, &value) != 0) {
                fprintf(stderr, "inferd serve: --repository-poll-secs must be 1-86400\n");
                return EXIT_USAGE;
            }
            repo_options.poll_secs = (int)value;
            break;
        case OPT_LOAD_MODEL:
            if (repo_options.n_load_names == sizeof(load_names) / sizeof(load_names[0])) {
                fprintf(stderr, "inferd serve: at most 64 --load-model options\n");
                return EXIT_USAGE;
            }
            load_names[repo_options.n_load_names++] = optarg;
            break;
        case OPT_REGISTRY:
            registry_location = optarg;
            break;
        case OPT_REPLY_HOLD:
            if (parse_number(optarg, 0, 10000000, &value) != 0) {
                fprintf(stderr, "inferd serve: --reply-hold-us must be 0-10000000\n");
                return EXIT_USAGE;
            }
            config.reply_hold_us = (int)value;
            break;
        case OPT_MAX_CONNECTIONS:
            if (parse_number(optarg, 1, 1000000, &value) != 0) {
                fprintf(stderr, "inferd serve: --max-connections must be 1-1000000, not '%s'\n",
                        optarg);
                return EXIT_USAGE;
            }
            config.max_connections = (int)value;
            break;
        case 'h':
            fputs(serve_usage, stdout);
            return 0;
        default:
            fputs(serve_usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "inferd serve: unexpected argument '%s'\n%s", argv[optind], serve_usage);
        return EXIT_USAGE;
    }
    if (repo_dir == NULL) {
        fprintf(stderr, "inferd serve: --model-repository DIR is required\n%s", serve_usage);
        return EXIT_USAGE;
    }

    /* Blocks of 4 MiB or more (model weights above all) always get mappings of their own, so
     * that unloading a model gives its memory back to the system. By default glibc raises this
     * threshold to the size of each mapped block freed, then carves the next ones out of its
     * heaps, where freed memory stays resident: load/unload cycles then grew a server by two
     * copies of the weights. */
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    inferd_err_t err = {0};
    inferd_repo_t *repo = NULL;
    inferd_log_info("inferd %s starting: model repository %s", INFERD_VERSION, repo_dir);
    inferd_backends_thread_init(); /* loading warms models up on this thread */
    if (repo_options.n_load_names > 0 && repo_options.mode != INFERD_CONTROL_EXPLICIT) {
        fprintf(stderr, "inferd serve: --load-model needs --model-control-mode explicit\n");
        return EXIT_USAGE;
    }
    repo_options.dir = repo_dir;
    repo_options.load_names = load_names;
    inferd_registry_t *registry = NULL;
    if (open_registry(repo_dir, registry_location, &registry) != 0)
        return EXIT_FAILURE;
    repo_options.registry = registry;
    if (inferd_repo_open(&repo_options, &repo, &err) != 0) {
        inferd_log_error("%s", err.msg);
        inferd_registry_close(registry);
        return EXIT_FAILURE;
    }
    if (inferd_router_create(registry, &config.router) != 0) {
        inferd_log_error("out of memory creating the router");
        inferd_repo_close(repo);
        inferd_registry_close(registry);
        return EXIT_FAILURE;
    }
    inferd_catalog_t *catalog = inferd_repo_snapshot(repo);
    inferd_router_restore(config.router, catalog);
    inferd_catalog_release(catalog);
    if (inferd_ab_start(repo, config.router, &config.ab) != 0)
        inferd_log_error("out of memory starting A/B tests");
    if (inferd_mirror_start(repo, config.router, &config.mirror) == 0)
        inferd_mirror_restore(config.mirror);
    else
        inferd_log_error("cannot start the shadow-traffic worker");
    inferd_canary_t *canary = NULL;
    if (inferd_canary_start(repo, config.router, &canary) != 0)
        inferd_log_error("out of memory starting the canary controller");
    int rc = inferd_http_serve(&config, repo, &err);
    if (rc != 0)
        inferd_log_error("%s", err.msg);
    inferd_ab_stop(config.ab);
    inferd_mirror_stop(config.mirror);
    inferd_canary_stop(canary);
    inferd_repo_close(repo);
    inferd_router_destroy(config.router);
    inferd_registry_close(registry);
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_usage, stderr);
        return EXIT_USAGE;
    }
    const char *command = argv[1];
    if (strcmp(command, "-h") == 0 || strcmp(command, "--help") == 0) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (strcmp(command, "-V") == 0 || strcmp(command, "--version") == 0) {
        printf("inferd %s\n", INFERD_VERSION);
        return 0;
    }
    if (strcmp(command, "serve") == 0)
        return serve_main(argc - 1, argv + 1);
    if (strcmp(command, "models") == 0)
        return inferd_cli_models(argc - 1, argv + 1);
    if (strcmp(command, "audit") == 0)
        return inferd_cli_audit(argc - 1, argv + 1);
    fprintf(stderr, "inferd: unknown command '%s'\n\n%s", command, main_usage);
    return EXIT_USAGE;
}
