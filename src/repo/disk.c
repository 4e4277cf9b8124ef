/* Reading a model folder of the repository (repo_private.h): the model folders and numeric
 * version folders, config.json (at most 1 MiB, or the override the load API gave) parsed, and the
 * fingerprints (file names, sizes and mtimes, config text, deployment settings) that tell the
 * control thread whether anything changed since the last load. Reads only: what serves is
 * decided in build.c and changed in repo.c. */
#include "repo_private.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_MAX_BYTES (1 << 20)

/* ==== folders ==== */

bool repo_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int repo_compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void repo_free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* The names in `dir` that are sub-folders (not hidden), sorted. Caller frees with repo_free_names.
 */
int repo_list_subdirs(const char *dir, char ***OUT_names, size_t *OUT_count)
{
    *OUT_names = NULL;
    *OUT_count = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return INFERD_EIO;
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *entry;
    int rc = 0;
    char path[4096];
    while ((entry = readdir(d)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
        if (!repo_is_dir(path))
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL) {
                rc = INFERD_ENOMEM;
                break;
            }
            names = grown;
        }
        if ((names[count] = strdup(entry->d_name)) == NULL) {
            rc = INFERD_ENOMEM;
            break;
        }
        count++;
    }
    closedir(d);
    if (count > 1)
        qsort(names, count, sizeof(*names), repo_compare_names);
    *OUT_names = names;
    *OUT_count = count;
    return rc;
}

static int compare_versions(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The numeric version folders of `model_dir` ("10", not "010"), ascending. Caller frees. */
int64_t *repo_list_version_folders(const char *model_dir, size_t *OUT_count)
{
    char **subdirs;
    size_t n_subdirs;
    repo_list_subdirs(model_dir, &subdirs, &n_subdirs);
    int64_t *numbers = calloc(n_subdirs + 1, sizeof(*numbers));
    size_t count = 0;
    for (size_t i = 0; numbers != NULL && i < n_subdirs; i++) {
        int64_t number = repo_parse_version(subdirs[i]);
        if (number >= 0 && (subdirs[i][0] != '0' || subdirs[i][1] == '\0'))
            numbers[count++] = number;
    }
    repo_free_names(subdirs, n_subdirs);
    if (count > 1)
        qsort(numbers, count, sizeof(*numbers), compare_versions);
    *OUT_count = count;
    return numbers;
}

/* ==== a model folder ==== */

/* FNV-1a, for fingerprints. */
static uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return h;
}

#define HASH_SEED 14695981039346656037u

/* Size and modification time of `path` folded into `h` (absent files fold a marker). */
static uint64_t hash_file_stat(uint64_t h, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return hash_bytes(h, "absent", 6);
    int64_t facts[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
                        (int64_t)st.st_mtim.tv_nsec};
    return hash_bytes(h, facts, sizeof(facts));
}

/* Reads DIR/config.json into *OUT_text (NULL when absent). Returns 0 or an error. */
static int read_config_text(const char *model_dir, char **OUT_text, inferd_err_t *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/config.json", model_dir);
    *OUT_text = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return errno == ENOENT
                   ? 0
                   : inferd_fail(err, INFERD_EIO, "cannot read %s: %s", path, strerror(errno));
    char *text = malloc(CONFIG_MAX_BYTES + 1);
    if (text == NULL) {
        fclose(f);
        return inferd_fail(err, INFERD_ENOMEM, "out of memory reading %s", path);
    }
    size_t len = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
    fclose(f);
    if (len > CONFIG_MAX_BYTES) {
        free(text);
        return inferd_fail(err, INFERD_EINVAL, "%s is larger than 1 MiB", path);
    }
    text[len] = '\0';
    *OUT_text = text;
    return 0;
}

void repo_disk_model_free(repo_disk_model_t *disk)
{
    free(disk->config_text);
    inferd_model_config_free(&disk->config);
    free(disk->failure);
    free(disk->folders);
}

int repo_read_disk_model(const inferd_repo_t *repo, const char *name, const char *override,
                         repo_disk_model_t *disk, inferd_err_t *err)
{
    memset(disk, 0, sizeof(*disk));
    snprintf(disk->dir, sizeof(disk->dir), "%s/%s", repo->dir, name);
    if (!repo_is_dir(disk->dir))
        return inferd_fail(err, INFERD_ENOTFOUND, "no model folder '%s' in the repository %s", name,
                           repo->dir);
    int rc = 0;
    inferd_err_t why = {0};
    if (override != NULL)
        disk->config_text = strdup(override);
    else
        rc = read_config_text(disk->dir, &disk->config_text, &why);
    if (rc == 0 && disk->config_text != NULL)
        rc = inferd_model_config_parse(disk->config_text, strlen(disk->config_text), &disk->config,
                                       &why);
    if (rc == 0 && disk->config.name != NULL && strcmp(disk->config.name, name) != 0)
        rc = inferd_fail(&why, INFERD_EMODEL,
                         "config.json names the model '%s' but its folder is '%s'; they must "
                         "match",
                         disk->config.name, name);
    if (rc == 0 && disk->config_text == NULL) /* no config.json: the defaults */
        rc = inferd_model_config_parse("{}", 2, &disk->config, &why);
    if (rc != 0)
        disk->failure = strdup(why.msg);
    disk->folders = repo_list_version_folders(disk->dir, &disk->n_folders);
    uint64_t h = HASH_SEED;
    if (disk->config_text != NULL)
        h = hash_bytes(h, disk->config_text, strlen(disk->config_text));
    for (size_t i = 0; i < disk->n_folders; i++) {
        char folder[4200];
        snprintf(folder, sizeof(folder), "%s/%lld", disk->dir, (long long)disk->folders[i]);
        h = hash_bytes(h, &disk->folders[i], sizeof(disk->folders[i]));
        DIR *d = opendir(folder);
        struct dirent *entry;
        char **files = NULL;
        size_t n_files = 0, cap = 0;
        while (d != NULL && (entry = readdir(d)) != NULL) {
            if (entry->d_name[0] == '.')
                continue;
            if (n_files == cap) {
                cap = cap ? cap * 2 : 8;
                char **grown = realloc(files, cap * sizeof(*files));
                if (grown == NULL)
                    break;
                files = grown;
            }
            if ((files[n_files] = strdup(entry->d_name)) != NULL)
                n_files++;
        }
        if (d != NULL)
            closedir(d);
        if (n_files > 1)
            qsort(files, n_files, sizeof(*files), repo_compare_names);
        for (size_t f = 0; f < n_files; f++) {
            char path[8400];
            snprintf(path, sizeof(path), "%s/%s", folder, files[f]);
            h = hash_bytes(h, files[f], strlen(files[f]));
            h = hash_file_stat(h, path);
        }
        repo_free_names(files, n_files);
    }
    disk->fingerprint = h;
    (void)err;
    return 0;
}

uint64_t repo_version_fingerprint(const repo_disk_model_t *disk, int64_t number,
                                  const repo_pin_t *pin)
{
    char folder[4200];
    snprintf(folder, sizeof(folder), "%s/%lld", disk->dir, (long long)number);
    uint64_t h = HASH_SEED;
    if (disk->config_text != NULL)
        h = hash_bytes(h, disk->config_text, strlen(disk->config_text));
    DIR *d = opendir(folder);
    struct dirent *entry;
    while (d != NULL && (entry = readdir(d)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char path[8400];
        snprintf(path, sizeof(path), "%s/%s", folder, entry->d_name);
        h ^= hash_file_stat(hash_bytes(HASH_SEED, entry->d_name, strlen(entry->d_name)), path);
    }
    if (d != NULL)
        closedir(d);
    if (pin != NULL && pin->has_sched)
        h = hash_bytes(h, &pin->sched, sizeof(pin->sched));
    if (pin != NULL)
        h = hash_bytes(h, &pin->max_batch_size, sizeof(pin->max_batch_size));
    if (pin != NULL && pin->has_fault)
        h = hash_bytes(h, &pin->fault, sizeof(pin->fault));
    return h;
}
