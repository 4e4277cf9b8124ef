/* The command line's HTTP call (libcurl): one request, its status and its JSON body. The
 * server's {"error"} becomes one line on stderr with the HTTP status; a server that cannot be
 * reached gets its own message, naming the URL and how to point elsewhere. */
#include "cli_private.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_S 10L
#define REQUEST_TIMEOUT_S 600L /* registering a large model loads and checksums it */

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
    inferd_jsonw_t *body = user;
    inferd_jsonw_raw(body, data, size * count);
    return body->failed ? 0 : size * count; /* 0 makes curl stop with CURLE_WRITE_ERROR */
}

int cli_reply_set(cli_reply_t *OUT, int status, const char *text, size_t len)
{
    memset(OUT, 0, sizeof(*OUT));
    OUT->status = status;
    inferd_arena_init(&OUT->arena, 16 * 1024, 256u << 20);
    inferd_jsonw_raw(&OUT->body, text, len);
    const char *copy = inferd_jsonw_cstr_of(&OUT->body);
    if (copy == NULL)
        return INFERD_ENOMEM;
    OUT->is_parsed = inferd_json_parse(&OUT->doc, copy, len, &OUT->arena, NULL) == 0;
    return 0;
}

void cli_reply_free(cli_reply_t *reply)
{
    inferd_jsonw_free(&reply->body);
    inferd_arena_free(&reply->arena);
    memset(reply, 0, sizeof(*reply));
}

/* The one-line message for a transport failure: nothing was answered. */
static void print_unreachable(const cli_args_t *a, CURLcode rc, const char *detail)
{
    const char *what = detail && *detail ? detail : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        fprintf(stderr, "inferd: the server at %s did not answer in time: %s\n", a->url, what);
    else
        fprintf(stderr,
                "inferd: cannot reach the server at %s: %s (is `inferd serve` running there? "
                "--url or INFERD_URL say where it is)\n",
                a->url, what);
}

int cli_call(const cli_args_t *a, const cli_request_t *request, cli_reply_t *OUT)
{
    memset(OUT, 0, sizeof(*OUT));
    static bool is_initialized;
    if (!is_initialized) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        is_initialized = true;
    }
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        fprintf(stderr, "inferd: cannot start an HTTP client (out of memory?)\n");
        return CLI_EXIT_FAILURE;
    }
    char url[sizeof(a->url) + sizeof(request->path)], user_header[192];
    char error_text[CURL_ERROR_SIZE] = "";
    snprintf(url, sizeof(url), "%s%s", a->url, request->path);
    snprintf(user_header, sizeof(user_header), "X-Inferd-User: %s", a->user);
    struct curl_slist *headers = curl_slist_append(NULL, user_header);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (request->body.len > 0)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    inferd_jsonw_t body = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request->method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
    if (request->body.len > 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->body.buf);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)request->body.len);
    } else if (strcmp(request->method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    }
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) {
        inferd_jsonw_free(&body);
        if (rc == CURLE_WRITE_ERROR)
            fprintf(stderr, "inferd: out of memory reading the server's answer\n");
        else
            print_unreachable(a, rc, error_text);
        return CLI_EXIT_FAILURE;
    }
    cli_reply_t *reply = OUT;
    int set_rc = cli_reply_set(reply, (int)status, body.buf ? body.buf : "", body.len);
    inferd_jsonw_free(&body);
    if (set_rc != 0) {
        fprintf(stderr, "inferd: out of memory reading the server's answer\n");
        cli_reply_free(reply);
        return CLI_EXIT_FAILURE;
    }
    if (status >= 300) {
        int error = reply->is_parsed ? inferd_json_get(&reply->doc, 0, "error") : -1;
        char *message = NULL;
        if (error >= 0)
            inferd_json_string(&reply->doc, error, &reply->arena, &message, NULL);
        const char *text = message ? message : inferd_jsonw_cstr_of(&reply->body);
        /* a non-JSON answer (a proxy's page) is cut to its first line */
        int text_len = text ? (int)strcspn(text, "\r\n") : 0;
        fprintf(stderr, "inferd: %s %s: HTTP %ld: %.*s\n", request->method, request->path, status,
                text_len > 0 ? text_len : 20, text_len > 0 ? text : "(no message with it)");
        cli_reply_free(reply);
        return CLI_EXIT_FAILURE;
    }
    if (!reply->is_parsed) {
        fprintf(stderr,
                "inferd: %s %s: HTTP %ld, but the answer is not JSON (is %s an inferd "
                "server?)\n",
                request->method, request->path, status, a->url);
        cli_reply_free(reply);
        return CLI_EXIT_FAILURE;
    }
    return 0;
}
