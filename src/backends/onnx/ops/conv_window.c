/* The sliding-window geometry Conv, ConvTranspose and the pooling ops share: parsing kernel_shape,
 * strides, dilations, pads and auto_pad, and resolving them against an input's spatial sizes into
 * output sizes and explicit pads (see conv.h). Not the arithmetic of any one op. */
#include "conv.h"

#include <string.h>

/* Attribute values above this are refused, so that sums and products of a few of them and of a
 * tensor dimension (below 2^62) cannot overflow int64. */
#define WINDOW_ATTR_LIMIT ((int64_t)1 << 31)

int64_t onnx_conv_mul3(int64_t a, int64_t b, int64_t c)
{
    int64_t ab, abc;
    if (a < 0 || b < 0 || c < 0 || __builtin_mul_overflow(a, b, &ab) ||
        __builtin_mul_overflow(ab, c, &abc) || abc > ((int64_t)1 << 62))
        return -1;
    return abc;
}

/* Reads list attribute `name` into `values` (at most `max`), each within [min, limit). Sets
 * *count to how many, or -1 when absent. */
static int parse_list(const Onnx__NodeProto *proto, const char *op, const char *name,
                      int64_t *values, int max, int64_t min, int *count, inferd_err_t *err)
{
    int n = onnx_attr_ints(proto, name, values, max);
    if (n > max)
        return inferd_fail(err, INFERD_EMODEL,
                           "%s: %s has %d values; at most %d spatial dimensions are supported", op,
                           name, n, max / (strcmp(name, "pads") == 0 ? 2 : 1));
    for (int i = 0; i < n; i++)
        if (values[i] < min || values[i] >= WINDOW_ATTR_LIMIT)
            return inferd_fail(err, INFERD_EMODEL, "%s: %s value %lld is out of range", op, name,
                               (long long)values[i]);
    *count = n;
    return 0;
}

int onnx_window_parse(const Onnx__NodeProto *proto, const char *op, onnx_window_attrs_t *attrs,
                      inferd_err_t *err)
{
    int rc = parse_list(proto, op, "kernel_shape", attrs->kernel, ONNX_WINDOW_MAX_SPATIAL, 1,
                        &attrs->n_kernel, err);
    if (rc == 0)
        rc = parse_list(proto, op, "strides", attrs->strides, ONNX_WINDOW_MAX_SPATIAL, 1,
                        &attrs->n_strides, err);
    if (rc == 0)
        rc = parse_list(proto, op, "dilations", attrs->dilations, ONNX_WINDOW_MAX_SPATIAL, 1,
                        &attrs->n_dilations, err);
    if (rc == 0)
        rc = parse_list(proto, op, "pads", attrs->pads, 2 * ONNX_WINDOW_MAX_SPATIAL, 0,
                        &attrs->n_pads, err);
    if (rc != 0)
        return rc;
    const char *auto_pad = onnx_attr_string(proto, "auto_pad", "NOTSET");
    if (strcmp(auto_pad, "NOTSET") == 0 || auto_pad[0] == '\0')
        attrs->auto_pad = ONNX_AUTO_PAD_NOTSET;
    else if (strcmp(auto_pad, "SAME_UPPER") == 0)
        attrs->auto_pad = ONNX_AUTO_PAD_SAME_UPPER;
    else if (strcmp(auto_pad, "SAME_LOWER") == 0)
        attrs->auto_pad = ONNX_AUTO_PAD_SAME_LOWER;
    else if (strcmp(auto_pad, "VALID") == 0)
        attrs->auto_pad = ONNX_AUTO_PAD_VALID;
    else
        return inferd_fail(err, INFERD_EMODEL, "%s: unknown auto_pad '%s'", op, auto_pad);
    if (attrs->n_pads > 0 && attrs->n_pads % 2 != 0)
        return inferd_fail(err, INFERD_EMODEL, "%s: pads needs an even number of values", op);
    return 0;
}

/* Checks that list attribute `name` has `n_spatial` values (`factor` per dimension). */
static int check_count(int count, int n_spatial, int factor, const char *op, const char *name,
                       inferd_err_t *err)
{
    if (count >= 0 && count != factor * n_spatial)
        return inferd_fail(err, INFERD_EINVAL,
                           "%s: %s has %d values but the input has %d spatial dimensions", op, name,
                           count, n_spatial);
    return 0;
}

int onnx_window_resolve(const onnx_window_attrs_t *attrs, int n_spatial, const int64_t *in_dims,
                        const int64_t *kernel, bool is_ceil_mode, const char *op, onnx_window_t *w,
                        inferd_err_t *err)
{
    memset(w, 0, sizeof(*w)); /* padding too: windows are parts of byte-compared cache keys */
    if (n_spatial < 1 || n_spatial > ONNX_WINDOW_MAX_SPATIAL)
        return inferd_fail(err, INFERD_EINVAL,
                           "%s supports 1 to %d spatial dimensions; the input has %d", op,
                           ONNX_WINDOW_MAX_SPATIAL, n_spatial);
    int rc = check_count(attrs->n_kernel, n_spatial, 1, op, "kernel_shape", err);
    if (rc == 0)
        rc = check_count(attrs->n_strides, n_spatial, 1, op, "strides", err);
    if (rc == 0)
        rc = check_count(attrs->n_dilations, n_spatial, 1, op, "dilations", err);
    if (rc == 0 && attrs->n_pads > 0)
        rc = check_count(attrs->n_pads, n_spatial, 2, op, "pads", err);
    if (rc != 0)
        return rc;
    if (kernel == NULL && attrs->n_kernel < 0)
        return inferd_fail(err, INFERD_EINVAL, "%s needs kernel_shape", op);

    int offset = ONNX_WINDOW_MAX_SPATIAL - n_spatial;
    w->n_spatial = n_spatial;
    for (int a = 0; a < ONNX_WINDOW_MAX_SPATIAL; a++) {
        w->in[a] = w->out[a] = w->kernel[a] = w->stride[a] = w->dilation[a] = 1;
        w->pad_begin[a] = w->pad_end[a] = 0;
    }
    for (int i = 0; i < n_spatial; i++) {
        int a = offset + i;
        int64_t k = kernel != NULL ? kernel[i] : attrs->kernel[i];
        if (kernel != NULL && attrs->n_kernel >= 0 && attrs->kernel[i] != k)
            return inferd_fail(err, INFERD_EINVAL, "%s: kernel_shape %lld differs from W's %lld",
                               op, (long long)attrs->kernel[i], (long long)k);
        if (k < 1 || k >= WINDOW_ATTR_LIMIT)
            return inferd_fail(err, INFERD_EINVAL, "%s: kernel size %lld is out of range", op,
                               (long long)k);
        int64_t s = attrs->n_strides > 0 ? attrs->strides[i] : 1;
        int64_t d = attrs->n_dilations > 0 ? attrs->dilations[i] : 1;
        int64_t in = in_dims[i], extent = (k - 1) * d + 1;
        int64_t pad_begin = 0, pad_end = 0, out;
        switch (attrs->auto_pad) {
        case ONNX_AUTO_PAD_SAME_UPPER:
        case ONNX_AUTO_PAD_SAME_LOWER: {
            out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + extent - in;
            if (total < 0)
                total = 0;
            pad_begin = attrs->auto_pad == ONNX_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            pad_end = total - pad_begin;
            break;
        }
        case ONNX_AUTO_PAD_VALID:
            out = in >= extent ? (in - extent) / s + 1 : 0;
            break;
        default:
            if (attrs->n_pads > 0) {
                pad_begin = attrs->pads[i];
                pad_end = attrs->pads[n_spatial + i];
            }
            int64_t span = in + pad_begin + pad_end - extent;
            if (span < 0) {
                out = 0;
            } else if (is_ceil_mode) {
                out = (span + s - 1) / s + 1;
                if ((out - 1) * s >= in + pad_begin) /* would start in the right padding */
                    out--;
            } else {
                out = span / s + 1;
            }
            break;
        }
        if (out < 1)
            return inferd_fail(err, INFERD_EINVAL,
                               "%s: the window (extent %lld) does not fit spatial dimension %d of "
                               "size %lld with pads %lld and %lld",
                               op, (long long)extent, i, (long long)in, (long long)pad_begin,
                               (long long)pad_end);
        w->in[a] = in;
        w->out[a] = out;
        w->kernel[a] = k;
        w->stride[a] = s;
        w->dilation[a] = d;
        w->pad_begin[a] = pad_begin;
        w->pad_end[a] = pad_end;
    }
    return 0;
}
