/* What the command line prints for a person: cells taken from the server's JSON, and tables whose
 * columns are as wide as their widest cell, whatever the names' lengths. Not for --json, which
 * prints the server's bytes unchanged. */
#include "cli_private.h"

#include <stdlib.h>
#include <string.h>

/* ==== cells ==== */

const char *cli_cell(cli_reply_t *reply, int obj, const char *key)
{
    int tok = inferd_json_get(&reply->doc, obj, key);
    if (tok < 0 || inferd_json_kind(&reply->doc, tok) == INFERD_JSON_NULL)
        return "-";
    if (inferd_json_kind(&reply->doc, tok) == INFERD_JSON_STRING) {
        char *text = NULL;
        if (inferd_json_string(&reply->doc, tok, &reply->arena, &text, NULL) != 0 || text == NULL)
            return "?";
        return *text ? text : "-";
    }
    size_t len;
    const char *raw = inferd_json_raw(&reply->doc, tok, &len);
    const char *copy = inferd_arena_strndup(&reply->arena, raw, len);
    return copy ? copy : "?";
}

/* A scalar token as text: strings decoded, others as their JSON. */
static void write_scalar(cli_reply_t *reply, int tok, inferd_jsonw_t *w)
{
    size_t len;
    const char *raw = inferd_json_raw(&reply->doc, tok, &len);
    char *text = NULL;
    if (inferd_json_kind(&reply->doc, tok) == INFERD_JSON_STRING &&
        inferd_json_string(&reply->doc, tok, &reply->arena, &text, &len) == 0)
        raw = text;
    inferd_jsonw_raw(w, raw, len);
}

const char *cli_cell_compact(cli_reply_t *reply, int obj, const char *key)
{
    int tok = inferd_json_get(&reply->doc, obj, key);
    if (tok < 0)
        return "-";
    inferd_json_kind_t kind = inferd_json_kind(&reply->doc, tok);
    if (kind != INFERD_JSON_OBJECT && kind != INFERD_JSON_ARRAY)
        return cli_cell(reply, obj, key);
    if (inferd_json_size(&reply->doc, tok) == 0)
        return "-";
    bool is_object = inferd_json_kind(&reply->doc, tok) == INFERD_JSON_OBJECT;
    inferd_jsonw_t w = {0};
    for (int i = 0, item = tok + 1; i < inferd_json_size(&reply->doc, tok); i++) {
        if (i > 0)
            inferd_jsonw_lit(&w, ",");
        write_scalar(reply, item, &w);
        if (is_object) {
            inferd_jsonw_lit(&w, "=");
            write_scalar(reply, item + 1, &w);
            item = inferd_json_next(&reply->doc, item + 1);
        } else {
            item = inferd_json_next(&reply->doc, item);
        }
    }
    const char *text = inferd_jsonw_cstr_of(&w);
    const char *copy = text ? inferd_arena_strndup(&reply->arena, text, w.len) : NULL;
    inferd_jsonw_free(&w);
    return copy ? copy : "?";
}

/* ==== tables ==== */

size_t cli_display_width(const char *text)
{
    size_t width = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        width += (*p & 0xC0) != 0x80; /* count lead bytes, not continuation bytes */
    return width;
}

void cli_table_init(cli_table_t *table, const cli_column_t *columns, int n_columns)
{
    memset(table, 0, sizeof(*table));
    table->columns = columns;
    table->n_columns = n_columns < CLI_TABLE_MAX_COLUMNS ? n_columns : CLI_TABLE_MAX_COLUMNS;
}

/* A copy of `text` fit for one table cell: "-" for nothing, control characters as spaces. */
static char *cell_copy(const char *text)
{
    if (text == NULL || *text == '\0')
        text = "-";
    char *copy = strdup(text);
    for (unsigned char *p = (unsigned char *)copy; copy != NULL && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return copy;
}

void cli_table_add(cli_table_t *table, const char *const *cells)
{
    if (table->failed)
        return;
    if (table->n_rows == table->cap_rows) {
        size_t cap = table->cap_rows ? table->cap_rows * 2 : 16;
        char **grown = realloc(table->cells, cap * (size_t)table->n_columns * sizeof(char *));
        if (grown == NULL) {
            table->failed = true;
            return;
        }
        table->cells = grown;
        table->cap_rows = cap;
    }
    char **row = table->cells + table->n_rows * (size_t)table->n_columns;
    for (int c = 0; c < table->n_columns; c++) {
        row[c] = cell_copy(cells[c]);
        if (row[c] == NULL) {
            for (int k = 0; k < c; k++)
                free(row[k]);
            table->failed = true;
            return;
        }
    }
    table->n_rows++;
}

/* Writes one row; the last column is not padded, so that no line ends in blanks. */
static void print_row(const cli_table_t *table, const char *const *cells, const size_t *widths,
                      FILE *out)
{
    for (int c = 0; c < table->n_columns; c++) {
        bool is_last = c == table->n_columns - 1;
        size_t pad = widths[c] - cli_display_width(cells[c]);
        if (table->columns[c].is_right_aligned)
            fprintf(out, "%*s%s", (int)pad, "", cells[c]);
        else
            fprintf(out, "%s%*s", cells[c], is_last ? 0 : (int)pad, "");
        fputs(is_last ? "\n" : "  ", out);
    }
}

int cli_table_print(const cli_table_t *table, FILE *out)
{
    size_t widths[CLI_TABLE_MAX_COLUMNS] = {0};
    int n_columns = table->n_columns;
    bool has_header = n_columns > 0 && table->columns[0].header != NULL;
    const char *headers[CLI_TABLE_MAX_COLUMNS];
    for (int c = 0; c < n_columns; c++) {
        headers[c] = table->columns[c].header ? table->columns[c].header : "";
        widths[c] = has_header ? cli_display_width(headers[c]) : 0;
    }
    for (size_t r = 0; r < table->n_rows; r++)
        for (int c = 0; c < n_columns; c++) {
            size_t width = cli_display_width(table->cells[r * (size_t)table->n_columns + c]);
            widths[c] = width > widths[c] ? width : widths[c];
        }
    if (has_header)
        print_row(table, headers, widths, out);
    for (size_t r = 0; r < table->n_rows; r++)
        print_row(table, (const char *const *)table->cells + r * (size_t)table->n_columns, widths,
                  out);
    return table->failed ? INFERD_ENOMEM : 0;
}

void cli_table_free(cli_table_t *table)
{
    for (size_t i = 0; i < table->n_rows * (size_t)table->n_columns; i++)
        free(table->cells[i]);
    free(table->cells);
    memset(table, 0, sizeof(*table));
}
