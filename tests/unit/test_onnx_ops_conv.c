/* Unit tests for the conv family (Conv, ConvTranspose): small cases worked out by hand, a sweep of
 * geometries (groups, strides, dilations, asymmetric pads, 1-D to 3-D) against a direct reference
 * written here, and refusals of inconsistent shapes and attributes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "onnx_op_harness.h"

#define I(v) ((int64_t)(v))

static void conv_2d_pads_strides_and_bias(void **state)
{
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 1, 1, 1}, b[1] = {1};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, x, 4, I(1), I(1), I(3), I(3)),
                             tensor(INFERD_DT_FP32, w, 4, I(1), I(1), I(2), I(2)),
                             tensor(INFERD_DT_FP32, b, 1, I(1))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t plain = {.op_type = "Conv"};
    assert_int_equal(run_op(&plain, in, 3, &out, &err), 0);
    assert_shape(&out, 4, (int64_t[]){1, 1, 2, 2});
    assert_floats(out.data, (float[]){13, 17, 25, 29}, 4);
    free(out.data);
    /* padded to 5x5, stride 2: windows at (-1,-1), (-1,1), (1,-1), (1,1) */
    op_case_t strided = {.op_type = "Conv"};
    add_ints_attr(&strided, "pads", (int64_t[]){1, 1, 1, 1}, 4);
    add_ints_attr(&strided, "strides", (int64_t[]){2, 2}, 2);
    add_ints_attr(&strided, "kernel_shape", (int64_t[]){2, 2}, 2);
    assert_int_equal(run_op(&strided, in, 2, &out, &err), 0);
    assert_shape(&out, 4, (int64_t[]){1, 1, 2, 2});
    assert_floats(out.data, (float[]){1, 5, 11, 28}, 4);
    free(out.data);
}

static void conv_groups_dilations_and_auto_pad(void **state)
{
    /* depthwise: two channels, one filter each */
    float x[6] = {1, 2, 3, 10, 20, 30}, w[4] = {1, 1, 1, -1};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x, 3, I(1), I(2), I(3)),
                             tensor(INFERD_DT_FP32, w, 3, I(2), I(1), I(2))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t depthwise = {.op_type = "Conv"};
    add_int_attr(&depthwise, "group", 2);
    assert_int_equal(run_op(&depthwise, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 2, 2});
    assert_floats(out.data, (float[]){3, 5, -10, -10}, 4);
    free(out.data);

    float line[5] = {1, 2, 3, 4, 5}, pair[2] = {1, 1};
    in[0] = tensor(INFERD_DT_FP32, line, 3, I(1), I(1), I(5));
    in[1] = tensor(INFERD_DT_FP32, pair, 3, I(1), I(1), I(2));
    op_case_t dilated = {.op_type = "Conv"};
    add_ints_attr(&dilated, "dilations", (int64_t[]){2}, 1);
    assert_int_equal(run_op(&dilated, in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){4, 6, 8}, 3);
    free(out.data);

    in[0].shape[2] = 4; /* [1, 2, 3, 4]: SAME pads one zero, at the end or at the beginning */
    op_case_t upper = {.op_type = "Conv"}, lower = {.op_type = "Conv"};
    add_string_attr(&upper, "auto_pad", "SAME_UPPER");
    add_string_attr(&lower, "auto_pad", "SAME_LOWER");
    assert_int_equal(run_op(&upper, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 1, 4});
    assert_floats(out.data, (float[]){3, 5, 7, 4}, 4);
    free(out.data);
    assert_int_equal(run_op(&lower, in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 3, 5, 7}, 4);
    free(out.data);
    op_case_t valid = {.op_type = "Conv"};
    add_string_attr(&valid, "auto_pad", "VALID");
    add_ints_attr(&valid, "strides", (int64_t[]){2}, 1);
    assert_int_equal(run_op(&valid, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 1, 2});
    assert_floats(out.data, (float[]){3, 7}, 2);
    free(out.data);
}

static void conv_pointwise_batches_and_3d(void **state)
{
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, w[6] = {1, 0, 0, 1, 1, 1};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x, 4, I(2), I(2), I(1), I(2)),
                             tensor(INFERD_DT_FP32, w, 4, I(3), I(2), I(1), I(1))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "Conv"};
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
    assert_shape(&out, 4, (int64_t[]){2, 3, 1, 2});
    assert_floats(out.data, (float[]){1, 2, 3, 4, 4, 6, 5, 6, 7, 8, 12, 14}, 12);
    free(out.data);

    float cube[8] = {1, 2, 3, 4, 5, 6, 7, 8}, ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    in[0] = tensor(INFERD_DT_FP32, cube, 5, I(1), I(1), I(2), I(2), I(2));
    in[1] = tensor(INFERD_DT_FP32, ones, 5, I(1), I(1), I(2), I(2), I(2));
    assert_int_equal(run_op(&c, in, 2, &out, &err), 0);
    assert_shape(&out, 5, (int64_t[]){1, 1, 1, 1, 1});
    assert_floats(out.data, (float[]){36}, 1);
    free(out.data);
}

/* ---- a sweep against a direct convolution ---- */

typedef struct {
    int n_spatial;
    int64_t batch, channels, filters, group;
    int64_t in[3], kernel[3], stride[3], dilation[3], pads[6];
} geometry_t;

static float pattern(int64_t i)
{
    return (float)((i * 7919) % 23) / 8.0f - 1.25f;
}

/* Y = conv(X, W) + B computed term by term, for X [batch, channels, in...]. */
static void reference_conv(const geometry_t *g, const float *x, const float *w, const float *b,
                           const int64_t *out, float *y)
{
    int64_t in_g = g->channels / g->group, out_g = g->filters / g->group;
    int64_t in3[3] = {1, 1, 1}, k3[3] = {1, 1, 1}, o3[3] = {1, 1, 1}, s3[3] = {1, 1, 1},
            d3[3] = {1, 1, 1}, p3[3] = {0, 0, 0};
    for (int i = 0; i < g->n_spatial; i++) {
        int a = 3 - g->n_spatial + i;
        in3[a] = g->in[i];
        k3[a] = g->kernel[i];
        o3[a] = out[i];
        s3[a] = g->stride[i];
        d3[a] = g->dilation[i];
        p3[a] = g->pads[i];
    }
    int64_t at = 0;
    for (int64_t n = 0; n < g->batch; n++)
        for (int64_t f = 0; f < g->filters; f++)
            for (int64_t od = 0; od < o3[0]; od++)
                for (int64_t oh = 0; oh < o3[1]; oh++)
                    for (int64_t ow = 0; ow < o3[2]; ow++) {
                        double sum = b[f];
                        int64_t group = f / out_g;
                        for (int64_t c = 0; c < in_g; c++)
                            for (int64_t kd = 0; kd < k3[0]; kd++)
                                for (int64_t kh = 0; kh < k3[1]; kh++)
                                    for (int64_t kw = 0; kw < k3[2]; kw++) {
                                        int64_t id = od * s3[0] - p3[0] + kd * d3[0];
                                        int64_t ih = oh * s3[1] - p3[1] + kh * d3[1];
                                        int64_t iw = ow * s3[2] - p3[2] + kw * d3[2];
                                        if (id < 0 || id >= in3[0] || ih < 0 || ih >= in3[1] ||
                                            iw < 0 || iw >= in3[2])
                                            continue;
                                        int64_t xc = group * in_g + c;
                                        sum +=
                                            x[(((n * g->channels + xc) * in3[0] + id) * in3[1] +
                                               ih) *
                                                  in3[2] +
                                              iw] *
                                            w[(((f * in_g + c) * k3[0] + kd) * k3[1] + kh) * k3[2] +
                                              kw];
                                    }
                        y[at++] = (float)sum;
                    }
}

static void conv_matches_direct_convolution(void **state)
{
    const geometry_t cases[] = {
        {2, 2, 3, 4, 1, {7, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}},
        {2, 1, 4, 6, 2, {8, 5}, {3, 2}, {2, 1}, {1, 2}, {1, 0, 2, 1}},
        {2, 1, 4, 8, 4, {6, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}}, /* depthwise x2 */
        {1, 2, 2, 3, 1, {11}, {4}, {3}, {2}, {3, 0}},
        {3, 1, 2, 2, 2, {4, 5, 3}, {2, 3, 2}, {1, 2, 1}, {2, 1, 1}, {0, 1, 1, 1, 0, 0}},
        {2, 1, 3, 5, 1, {5, 5}, {1, 1}, {2, 2}, {1, 1}, {0, 0, 0, 0}}, /* strided 1x1 */
    };
    for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
        const geometry_t *g = &cases[t];
        int rank = 2 + g->n_spatial;
        inferd_tensor_t in[3];
        in[0] = (inferd_tensor_t){.dtype = INFERD_DT_FP32, .ndim = rank};
        in[1] = (inferd_tensor_t){.dtype = INFERD_DT_FP32, .ndim = rank};
        in[0].shape[0] = g->batch;
        in[0].shape[1] = g->channels;
        in[1].shape[0] = g->filters;
        in[1].shape[1] = g->channels / g->group;
        for (int i = 0; i < g->n_spatial; i++) {
            in[0].shape[2 + i] = g->in[i];
            in[1].shape[2 + i] = g->kernel[i];
        }
        in[2] = tensor(INFERD_DT_FP32, NULL, 1, g->filters);
        int64_t nx = inferd_tensor_count(&in[0]), nw = inferd_tensor_count(&in[1]);
        float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw);
        float *b = malloc(sizeof(float) * (size_t)g->filters);
        for (int64_t i = 0; i < nx; i++)
            x[i] = pattern(i);
        for (int64_t i = 0; i < nw; i++)
            w[i] = pattern(i + 5);
        for (int64_t i = 0; i < g->filters; i++)
            b[i] = (float)i * 0.5f;
        in[0].data = x;
        in[1].data = w;
        in[2].data = b;
        op_case_t c = {.op_type = "Conv"};
        add_int_attr(&c, "group", g->group);
        add_ints_attr(&c, "strides", g->stride, (size_t)g->n_spatial);
        add_ints_attr(&c, "dilations", g->dilation, (size_t)g->n_spatial);
        add_ints_attr(&c, "pads", g->pads, 2 * (size_t)g->n_spatial);
        inferd_tensor_t out;
        inferd_err_t err;
        assert_int_equal(run_op(&c, in, 3, &out, &err), 0);
        int64_t out_dims[3];
        for (int i = 0; i < g->n_spatial; i++) {
            int64_t extent = (g->kernel[i] - 1) * g->dilation[i] + 1;
            out_dims[i] =
                (g->in[i] + g->pads[i] + g->pads[g->n_spatial + i] - extent) / g->stride[i] + 1;
            assert_int_equal(out.shape[2 + i], out_dims[i]);
        }
        int64_t ny = inferd_tensor_count(&out);
        float *want = malloc(sizeof(float) * (size_t)ny);
        reference_conv(g, x, w, b, out_dims, want);
        assert_floats(out.data, want, (size_t)ny);
        free(want);
        free(out.data);
        free(x);
        free(w);
        free(b);
    }
}

static void conv_refuses_inconsistent_inputs(void **state)
{
    float x[18] = {0}, w[8] = {0}, b[3] = {0};
    int32_t ints[9] = {0};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, x, 4, I(1), I(2), I(3), I(3)),
                             tensor(INFERD_DT_FP32, w, 4, I(2), I(1), I(2), I(2)),
                             tensor(INFERD_DT_FP32, b, 1, I(3))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "Conv"};
    assert_int_equal(run_op(&c, in, 2, &out, &err), INFERD_EINVAL); /* W has 1 channel, X 2 */
    assert_non_null(strstr(err.msg, "does not fit"));
    op_case_t grouped = {.op_type = "Conv"};
    add_int_attr(&grouped, "group", 2);
    assert_int_equal(run_op(&grouped, in, 3, &out, &err), INFERD_EINVAL); /* B has 3, not 2 */
    assert_non_null(strstr(err.msg, "B must have 2 values"));
    op_case_t wrong_kernel = {.op_type = "Conv"};
    add_int_attr(&wrong_kernel, "group", 2);
    add_ints_attr(&wrong_kernel, "kernel_shape", (int64_t[]){3, 3}, 2);
    assert_int_equal(run_op(&wrong_kernel, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "kernel_shape"));
    op_case_t wrong_count = {.op_type = "Conv"};
    add_int_attr(&wrong_count, "group", 2);
    add_ints_attr(&wrong_count, "strides", (int64_t[]){1, 1, 1}, 3);
    assert_int_equal(run_op(&wrong_count, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "strides has 3 values"));
    /* a 2x2 kernel dilated by 4 spans 5 positions: more than 3 */
    op_case_t too_wide = {.op_type = "Conv"};
    add_int_attr(&too_wide, "group", 2);
    add_ints_attr(&too_wide, "dilations", (int64_t[]){4, 4}, 2);
    assert_int_equal(run_op(&too_wide, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "does not fit"));
    in[0] = tensor(INFERD_DT_INT32, ints, 4, I(1), I(1), I(3), I(3));
    assert_int_equal(run_op(&c, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "INT32"));
    in[0] = tensor(INFERD_DT_FP32, x, 2, I(2), I(9));
    assert_int_equal(run_op(&c, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "rank"));

    /* attributes refused when the model loads */
    op_case_t bad_pad = {.op_type = "Conv"};
    add_string_attr(&bad_pad, "auto_pad", "SOMETIMES");
    assert_int_equal(run_op(&bad_pad, in, 2, &out, &err), INFERD_EMODEL);
    assert_non_null(strstr(err.msg, "auto_pad"));
    op_case_t negative = {.op_type = "Conv"};
    add_ints_attr(&negative, "pads", (int64_t[]){-1, 0, 0, 0}, 4);
    assert_int_equal(run_op(&negative, in, 2, &out, &err), INFERD_EMODEL);
    op_case_t zero_group = {.op_type = "Conv"};
    add_int_attr(&zero_group, "group", 0);
    assert_int_equal(run_op(&zero_group, in, 2, &out, &err), INFERD_EMODEL);
    op_case_t zero_stride = {.op_type = "Conv"};
    add_ints_attr(&zero_stride, "strides", (int64_t[]){0, 1}, 2);
    assert_int_equal(run_op(&zero_stride, in, 2, &out, &err), INFERD_EMODEL);
}

/* ---- ConvTranspose ---- */

static void conv_transpose_strides_pads_and_output_shape(void **state)
{
    float x[2] = {1, 2}, w[3] = {1, 1, 1};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x, 3, I(1), I(1), I(2)),
                             tensor(INFERD_DT_FP32, w, 3, I(1), I(1), I(3))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t plain = {.op_type = "ConvTranspose"};
    assert_int_equal(run_op(&plain, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 1, 4});
    assert_floats(out.data, (float[]){1, 3, 3, 2}, 4);
    free(out.data);
    op_case_t strided = {.op_type = "ConvTranspose"};
    add_ints_attr(&strided, "strides", (int64_t[]){2}, 1);
    assert_int_equal(run_op(&strided, in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 1, 3, 2, 2}, 5);
    free(out.data);
    op_case_t padded = {.op_type = "ConvTranspose"};
    add_ints_attr(&padded, "strides", (int64_t[]){2}, 1);
    add_ints_attr(&padded, "pads", (int64_t[]){1, 1}, 2);
    assert_int_equal(run_op(&padded, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 1, 3});
    assert_floats(out.data, (float[]){1, 3, 2}, 3);
    free(out.data);
    op_case_t extra = {.op_type = "ConvTranspose"};
    add_ints_attr(&extra, "strides", (int64_t[]){2}, 1);
    add_ints_attr(&extra, "output_padding", (int64_t[]){1}, 1);
    assert_int_equal(run_op(&extra, in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 1, 3, 2, 2, 0}, 6);
    free(out.data);
    /* an output_shape one larger than the natural 5 adds the position at the end */
    op_case_t shaped = {.op_type = "ConvTranspose"};
    add_ints_attr(&shaped, "strides", (int64_t[]){2}, 1);
    add_ints_attr(&shaped, "output_shape", (int64_t[]){6}, 1);
    assert_int_equal(run_op(&shaped, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 1, 6});
    assert_floats(out.data, (float[]){1, 1, 3, 2, 2, 0}, 6);
    free(out.data);
}

static void conv_transpose_auto_pad_groups_and_bias(void **state)
{
    float x[3] = {1, 2, 3}, w[3] = {1, 1, 1};
    inferd_tensor_t in[3] = {tensor(INFERD_DT_FP32, x, 3, I(1), I(1), I(3)),
                             tensor(INFERD_DT_FP32, w, 3, I(1), I(1), I(3))};
    inferd_tensor_t out;
    inferd_err_t err;
    /* natural output [1,1,3,2,5,3,3]; SAME keeps 3 * 2 = 6, dropping one end */
    op_case_t upper = {.op_type = "ConvTranspose"}, lower = {.op_type = "ConvTranspose"};
    add_ints_attr(&upper, "strides", (int64_t[]){2}, 1);
    add_string_attr(&upper, "auto_pad", "SAME_UPPER");
    add_ints_attr(&lower, "strides", (int64_t[]){2}, 1);
    add_string_attr(&lower, "auto_pad", "SAME_LOWER");
    assert_int_equal(run_op(&upper, in, 2, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 1, 6});
    assert_floats(out.data, (float[]){1, 1, 3, 2, 5, 3}, 6);
    free(out.data);
    assert_int_equal(run_op(&lower, in, 2, &out, &err), 0);
    assert_floats(out.data, (float[]){1, 3, 2, 5, 3, 3}, 6);
    free(out.data);

    float two[2] = {1, 2}, filters[4] = {1, 1, 1, -1}, bias[2] = {10, 20};
    in[0] = tensor(INFERD_DT_FP32, two, 3, I(1), I(2), I(1));
    in[1] = tensor(INFERD_DT_FP32, filters, 3, I(2), I(1), I(2));
    in[2] = tensor(INFERD_DT_FP32, bias, 1, I(2));
    op_case_t grouped = {.op_type = "ConvTranspose"};
    add_int_attr(&grouped, "group", 2);
    assert_int_equal(run_op(&grouped, in, 3, &out, &err), 0);
    assert_shape(&out, 3, (int64_t[]){1, 2, 2});
    assert_floats(out.data, (float[]){11, 11, 22, 18}, 4);
    free(out.data);
    /* 1x1 kernel: the product lands directly in the output */
    float pointwise[2] = {3, -1};
    in[1] = tensor(INFERD_DT_FP32, pointwise, 3, I(2), I(1), I(1));
    assert_int_equal(run_op(&grouped, in, 3, &out, &err), 0);
    assert_floats(out.data, (float[]){13, 18}, 2);
    free(out.data);
}

static void conv_transpose_is_the_adjoint_of_conv(void **state)
{
    /* <conv(x, w), y> == <x, conv_transpose(y, w)> for every geometry */
    float x[2 * 7 * 6], w[2 * 3 * 3 * 2], y[3 * 4 * 5];
    for (int i = 0; i < 84; i++)
        x[i] = pattern(i);
    for (int i = 0; i < 36; i++)
        w[i] = pattern(i + 3);
    for (int i = 0; i < 60; i++)
        y[i] = pattern(i + 11);
    inferd_tensor_t conv_in[2] = {tensor(INFERD_DT_FP32, x, 4, I(1), I(2), I(7), I(6)),
                                  tensor(INFERD_DT_FP32, w, 4, I(3), I(2), I(3), I(2))};
    inferd_tensor_t conv_out, transposed;
    inferd_err_t err;
    op_case_t conv = {.op_type = "Conv"}, convt = {.op_type = "ConvTranspose"};
    int64_t strides[2] = {2, 1}, pads[4] = {1, 0, 1, 1}, dilations[2] = {1, 2};
    add_ints_attr(&conv, "strides", strides, 2);
    add_ints_attr(&conv, "pads", pads, 4);
    add_ints_attr(&conv, "dilations", dilations, 2);
    add_ints_attr(&convt, "strides", strides, 2);
    add_ints_attr(&convt, "pads", pads, 4);
    add_ints_attr(&convt, "dilations", dilations, 2);
    assert_int_equal(run_op(&conv, conv_in, 2, &conv_out, &err), 0);
    assert_shape(&conv_out, 4, (int64_t[]){1, 3, 4, 5});
    /* ConvTranspose's W is [in channels, out channels, ...]: Conv's W read the same way */
    inferd_tensor_t convt_in[2] = {tensor(INFERD_DT_FP32, y, 4, I(1), I(3), I(4), I(5)),
                                   tensor(INFERD_DT_FP32, w, 4, I(3), I(2), I(3), I(2))};
    assert_int_equal(run_op(&convt, convt_in, 2, &transposed, &err), 0);
    assert_shape(&transposed, 4, (int64_t[]){1, 2, 7, 6});
    double lhs = 0, rhs = 0;
    for (int i = 0; i < 60; i++)
        lhs += (double)((float *)conv_out.data)[i] * y[i];
    for (int i = 0; i < 84; i++)
        rhs += (double)((float *)transposed.data)[i] * x[i];
    assert_true(fabs(lhs - rhs) < 1e-3 * (1 + fabs(lhs)));
    free(conv_out.data);
    free(transposed.data);
}

static void conv_transpose_refuses_inconsistent_inputs(void **state)
{
    float x[4] = {0}, w[6] = {0};
    inferd_tensor_t in[2] = {tensor(INFERD_DT_FP32, x, 3, I(1), I(2), I(2)),
                             tensor(INFERD_DT_FP32, w, 3, I(3), I(1), I(2))};
    inferd_tensor_t out;
    inferd_err_t err;
    op_case_t c = {.op_type = "ConvTranspose"};
    assert_int_equal(run_op(&c, in, 2, &out, &err), INFERD_EINVAL); /* W for 3 channels, X 2 */
    assert_non_null(strstr(err.msg, "must equal X's 2 channels"));
    in[1] = tensor(INFERD_DT_FP32, w, 3, I(2), I(1), I(2));
    op_case_t overpadded = {.op_type = "ConvTranspose"};
    add_ints_attr(&overpadded, "pads", (int64_t[]){2, 1}, 2); /* natural length 3 */
    assert_int_equal(run_op(&overpadded, in, 2, &out, &err), INFERD_EINVAL);
    assert_non_null(strstr(err.msg, "leave no output"));
    op_case_t wrong_shape = {.op_type = "ConvTranspose"};
    add_ints_attr(&wrong_shape, "output_shape", (int64_t[]){4, 4}, 2);
    assert_int_equal(run_op(&wrong_shape, in, 2, &out, &err), INFERD_EINVAL);
    op_case_t negative = {.op_type = "ConvTranspose"};
    add_ints_attr(&negative, "output_padding", (int64_t[]){-1}, 1);
    assert_int_equal(run_op(&negative, in, 2, &out, &err), INFERD_EMODEL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv_2d_pads_strides_and_bias),
        cmocka_unit_test(conv_groups_dilations_and_auto_pad),
        cmocka_unit_test(conv_pointwise_batches_and_3d),
        cmocka_unit_test(conv_matches_direct_convolution),
        cmocka_unit_test(conv_refuses_inconsistent_inputs),
        cmocka_unit_test(conv_transpose_strides_pads_and_output_shape),
        cmocka_unit_test(conv_transpose_auto_pad_groups_and_bias),
        cmocka_unit_test(conv_transpose_is_the_adjoint_of_conv),
        cmocka_unit_test(conv_transpose_refuses_inconsistent_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
