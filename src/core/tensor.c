/* The datatype table's lookups and shape arithmetic shared by every module. */
#include "inferd/tensor.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *v2_name;
    int onnx_type;
    size_t size;
} dtype_info[INFERD_DT_COUNT] = {[INFERD_DT_INVALID] = {"INVALID", 0, 0},
#define INFERD_DTYPE_ROW(suffix, v2, onnx, sz) [INFERD_DT_##suffix] = {v2, onnx, sz},
                                 INFERD_DTYPES(INFERD_DTYPE_ROW)
#undef INFERD_DTYPE_ROW
};

const char *inferd_dtype_name(inferd_dtype_t dtype)
{
    if ((int)dtype <= 0 || dtype >= INFERD_DT_COUNT)
        return "INVALID";
    return dtype_info[dtype].v2_name;
}

inferd_dtype_t inferd_dtype_from_name(const char *name, size_t len)
{
    for (int i = 1; i < INFERD_DT_COUNT; i++) {
        const char *candidate = dtype_info[i].v2_name;
        if (strlen(candidate) == len && memcmp(candidate, name, len) == 0)
            return (inferd_dtype_t)i;
    }
    return INFERD_DT_INVALID;
}

inferd_dtype_t inferd_dtype_from_onnx(int onnx_type)
{
    for (int i = 1; i < INFERD_DT_COUNT; i++)
        if (dtype_info[i].onnx_type == onnx_type)
            return (inferd_dtype_t)i;
    return INFERD_DT_INVALID;
}

size_t inferd_dtype_size(inferd_dtype_t dtype)
{
    if ((int)dtype <= 0 || dtype >= INFERD_DT_COUNT)
        return 0;
    return dtype_info[dtype].size;
}

int64_t inferd_shape_count(const int64_t *shape, int ndim)
{
    const int64_t limit = (int64_t)1 << 62;
    int64_t count = 1;
    bool has_zero_dim = false;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return -1;
        if (shape[i] == 0) {
            has_zero_dim = true;
            continue;
        }
        if (count > limit / shape[i])
            return -1;
        count *= shape[i];
    }
    return has_zero_dim ? 0 : count;
}

int64_t inferd_tensor_count(const inferd_tensor_t *t)
{
    return inferd_shape_count(t->shape, t->ndim);
}

int64_t inferd_tensor_bytes(const inferd_tensor_t *t)
{
    int64_t count = inferd_tensor_count(t);
    if (count < 0)
        return -1;
    return count * (int64_t)inferd_dtype_size(t->dtype);
}

char *inferd_shape_str(const int64_t *shape, int ndim, char *buf, size_t buf_len)
{
    size_t used = 0;
    buf[0] = '\0';
    used += (size_t)snprintf(buf + used, buf_len - used, "[");
    for (int i = 0; i < ndim && used < buf_len; i++)
        used += (size_t)snprintf(buf + used, buf_len - used, "%s%lld", i ? "," : "",
                                 (long long)shape[i]);
    if (used < buf_len)
        snprintf(buf + used, buf_len - used, "]");
    return buf;
}
