/* The command line's HTTP calls (libcurl): one request, its status and its JSON body, with the
 * server's {"error"} turned into a one-line message and a distinct message when the server cannot
 * be reached. */
#include "cli_private.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
    inferd_jsonw_raw(user, data, size * count);
    return size * count;
}

int cli_call(const cli_options_t *options, const char *method, const char *path, const char *body,
             cli_reply_t *OUT)
{
    memset(OUT, 0, sizeof(*OUT));
    static bool is_initialized;
    if (!is_initialized) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        is_initialized = true;
    }
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        fprintf(stderr, "inferd: cannot start an HTTP client\n");
        return CLI_EXIT_FAILURE;
    }
    char url[2048], user_header[256];
    snprintf(url, sizeof(url), "%s%s", options->url, path);
    snprintf(user_header, sizeof(user_header), "X-Inferd-User: %s", options->user);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, user_header);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &OUT->body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (body != NULL)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) {
        fprintf(stderr,
                "inferd: cannot reach the server at %s: %s (is `inferd serve` running? "
                "--url or INFERD_URL say where)\n",
                options->url, curl_easy_strerror(rc));
        inferd_jsonw_free(&OUT->body);
        return CLI_EXIT_FAILURE;
    }
    OUT->status = (int)status;
    inferd_arena_init(&OUT->arena, 16 * 1024, 256u << 20);
    const char *text = inferd_jsonw_cstr_of(&OUT->body);
    OUT->is_parsed =
        text != NULL && inferd_json_parse(&OUT->doc, text, OUT->body.len, &OUT->arena, NULL) == 0;
    if (status >= 400) {
        int error = OUT->is_parsed ? inferd_json_get(&OUT->doc, 0, "error") : -1;
        char *message = NULL;
        if (error >= 0)
            inferd_json_string(&OUT->doc, error, &OUT->arena, &message, NULL);
        fprintf(stderr, "inferd: %s %s: HTTP %ld: %s\n", method, path, status,
                message ? message : (text ? text : "no answer"));
        cli_reply_free(OUT);
        return CLI_EXIT_FAILURE;
    }
    if (!OUT->is_parsed) {
        fprintf(stderr, "inferd: %s %s: the server's answer is not JSON\n", method, path);
        cli_reply_free(OUT);
        return CLI_EXIT_FAILURE;
    }
    return 0;
}

void cli_reply_free(cli_reply_t *reply)
{
    inferd_jsonw_free(&reply->body);
    if (reply->status != 0)
        inferd_arena_free(&reply->arena);
    memset(reply, 0, sizeof(*reply));
}

const char *cli_string(cli_reply_t *reply, int obj, const char *key)
{
    int tok = inferd_json_get(&reply->doc, obj, key);
    char *text = NULL;
    if (tok < 0 || inferd_json_kind(&reply->doc, tok) == INFERD_JSON_NULL)
        return "-";
    if (inferd_json_kind(&reply->doc, tok) == INFERD_JSON_STRING) {
        inferd_json_string(&reply->doc, tok, &reply->arena, &text, NULL);
        return text ? text : "-";
    }
    size_t len;
    const char *raw = inferd_json_raw(&reply->doc, tok, &len);
    return inferd_arena_strndup(&reply->arena, raw, len);
}
