/* SHA-256 of model artifacts through OpenSSL's EVP interface, and copying an artifact into the
 * repository while hashing it (see inferd/digest.h). */
#include "inferd/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CHUNK_BYTES (1 << 20)

static void to_hex(const unsigned char *digest, unsigned len, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < len && i < 32; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

/* Reads `in` to its end, hashing, and writing to `out` when >= 0. */
static int pump(int in, int out, const char *what, char hex[65], int64_t *OUT_bytes,
                inferd_err_t *err)
{
    static _Thread_local unsigned char buf[CHUNK_BYTES];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return inferd_fail(err, INFERD_ENOMEM, "cannot start a SHA-256 digest");
    }
    int64_t total = 0;
    int rc = 0;
    for (;;) {
        ssize_t got = read(in, buf, sizeof(buf));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = inferd_fail(err, INFERD_EIO, "cannot read %s: %s", what, strerror(errno));
            break;
        }
        if (got == 0)
            break;
        EVP_DigestUpdate(ctx, buf, (size_t)got);
        total += got;
        for (ssize_t done = 0; out >= 0 && done < got;) {
            ssize_t wrote = write(out, buf + done, (size_t)(got - done));
            if (wrote < 0 && errno == EINTR)
                continue;
            if (wrote <= 0) {
                rc = inferd_fail(err, INFERD_EIO, "cannot write the copy of %s: %s", what,
                                 strerror(errno));
                break;
            }
            done += wrote;
        }
        if (rc != 0)
            break;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    EVP_MD_CTX_free(ctx);
    if (rc == 0) {
        to_hex(digest, len, hex);
        if (OUT_bytes != NULL)
            *OUT_bytes = total;
    }
    return rc;
}

int inferd_file_sha256(const char *path, char hex[65], int64_t *OUT_bytes, inferd_err_t *err)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return inferd_fail(err, INFERD_EIO, "cannot open %s: %s", path, strerror(errno));
    int rc = pump(in, -1, path, hex, OUT_bytes, err);
    close(in);
    return rc;
}

int inferd_file_copy_sha256(const char *src, const char *dst, char hex[65], int64_t *OUT_bytes,
                            inferd_err_t *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return inferd_fail(err, INFERD_EIO, "cannot open %s: %s", src, strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        int saved = errno;
        close(in);
        return inferd_fail(err, INFERD_EIO, "cannot create %s: %s", dst, strerror(saved));
    }
    int rc = pump(in, out, src, hex, OUT_bytes, err);
    if (rc == 0 && fsync(out) != 0)
        rc = inferd_fail(err, INFERD_EIO, "cannot flush %s: %s", dst, strerror(errno));
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = inferd_fail(err, INFERD_EIO, "cannot write %s: %s", dst, strerror(errno));
    if (rc != 0)
        unlink(dst);
    return rc;
}
