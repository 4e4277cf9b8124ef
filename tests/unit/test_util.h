/* Helpers shared by the unit tests: paths into the source tree and whole-file reads. */
#ifndef INFERD_TEST_UTIL_H
#define INFERD_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

/* `relative` under the source tree (ctest sets INFERD_SOURCE_DIR), in a static buffer. */
static inline const char *source_path(const char *relative)
{
    static char path[4096];
    const char *root = getenv("INFERD_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/%s", root ? root : ".", relative);
    return path;
}

/* The whole file at `path`, NUL-terminated, malloc'ed (caller frees); its length in *len.
 * Aborts the test when the file cannot be read. */
static inline char *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        abort();
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *data = malloc((size_t)size + 1);
    if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size)
        abort();
    fclose(f);
    data[size] = '\0';
    *len = (size_t)size;
    return data;
}

#endif
