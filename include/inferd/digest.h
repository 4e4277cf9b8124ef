/* Checksums and careful file copies for model artifacts: SHA-256 in lowercase hex, computed
 * while copying so that what was checked is what was stored. */
#ifndef INFERD_DIGEST_H
#define INFERD_DIGEST_H

#include <stdint.h>

#include "inferd/error.h"

/* SHA-256 of the file at `path` into `hex` (64 hex digits + NUL) and its size into *OUT_bytes
 * (may be NULL). Returns 0 or INFERD_EIO with the reason. */
int inferd_file_sha256(const char *path, char hex[65], int64_t *OUT_bytes, inferd_err_t *err);

/* Copies `src` to `dst` (created, mode 0644, fsync'ed; an existing `dst` is refused), hashing
 * what it copies. Returns 0 or INFERD_EIO; on failure `dst` does not exist. */
int inferd_file_copy_sha256(const char *src, const char *dst, char hex[65], int64_t *OUT_bytes,
                            inferd_err_t *err);

#endif
