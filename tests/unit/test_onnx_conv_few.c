/* Unit tests for the direct few-channel convolution (ops/conv_few.c): which convolutions it
 * takes, and its results against a plain double-precision reference for every branch it has:
 * one and several input channels, a last pass with fewer than 6 filters, an odd number of rows
 * or columns, more columns than one pass holds, Relu, Clip or no activation, a fused 2x2 MaxPool,
 * and row-major or channels-last output. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/onnx/ops/conv.h"
#include "onnx_build.h"

typedef struct {
    int batch, channels, filters, in_h, in_w, k;
    bool has_pool, is_channels_last;
    onnx_fused_activation_t activation;
} few_case_t;

static onnx_conv_desc_t desc_of(const few_case_t *c)
{
    onnx_conv_desc_t d;
    memset(&d, 0, sizeof(d));
    d.n_spatial = 2;
    d.has_bias = true;
    d.is_dst_channels_last = c->is_channels_last;
    d.activation = c->activation;
    d.alpha = -0.25f;
    d.beta = 0.5f;
    d.batch = c->batch;
    d.channels = c->channels;
    d.filters = c->filters;
    d.group = 1;
    int64_t in[] = {1, c->in_h, c->in_w}, out[] = {1, c->in_h - c->k + 1, c->in_w - c->k + 1};
    for (int a = 0; a < ONNX_WINDOW_MAX_SPATIAL; a++) {
        d.in[a] = in[a];
        d.out[a] = out[a];
        d.kernel[a] = a == 0 ? 1 : c->k;
        d.stride[a] = d.dilation[a] = 1;
    }
    if (c->has_pool) {
        d.has_pool = true;
        d.pool.n_spatial = 2;
        for (int a = 0; a < ONNX_WINDOW_MAX_SPATIAL; a++) {
            d.pool.in[a] = out[a];
            d.pool.out[a] = a == 0 ? 1 : out[a] / 2;
            d.pool.kernel[a] = d.pool.stride[a] = a == 0 ? 1 : 2;
            d.pool.dilation[a] = 1;
        }
    }
    return d;
}

static double activate(const onnx_conv_desc_t *d, double v)
{
    if (d->activation == ONNX_FUSED_RELU)
        return v > 0 ? v : 0;
    if (d->activation == ONNX_FUSED_CLIP)
        return v < d->alpha ? d->alpha : v > d->beta ? d->beta : v;
    return v;
}

/* The convolution's value at (n, f, i, j), before activation. */
static double ref_at(const few_case_t *c, const float *x, const float *w, const float *bias, int n,
                     int f, int i, int j)
{
    double acc = bias[f];
    for (int ch = 0; ch < c->channels; ch++)
        for (int a = 0; a < c->k; a++)
            for (int b = 0; b < c->k; b++)
                acc += (double)x[((n * c->channels + ch) * c->in_h + i + a) * c->in_w + j + b] *
                       w[((f * c->channels + ch) * c->k + a) * c->k + b];
    return acc;
}

static void check_case(const few_case_t *c)
{
    onnx_conv_desc_t d = desc_of(c);
    assert_true(onnx_conv_few_fits(&d));
    int out_h = c->in_h - c->k + 1, out_w = c->in_w - c->k + 1;
    int rows = c->has_pool ? out_h / 2 : out_h, cols = c->has_pool ? out_w / 2 : out_w;
    size_t n_x = (size_t)c->batch * c->channels * c->in_h * c->in_w;
    size_t n_w = (size_t)c->filters * c->channels * c->k * c->k;
    size_t n_y = (size_t)c->batch * c->filters * rows * cols;
    float *x = malloc(n_x * sizeof(float)), *w = malloc(n_w * sizeof(float));
    float *bias = malloc((size_t)c->filters * sizeof(float));
    float *y = malloc((n_y + 64) * sizeof(float)); /* + a guard past the end */
    assert_non_null(x);
    assert_non_null(w);
    assert_non_null(bias);
    assert_non_null(y);
    uint32_t seed = 17;
    onnx_build_fill(x, n_x, 1.0f, &seed);
    onnx_build_fill(w, n_w, 0.5f, &seed);
    onnx_build_fill(bias, (size_t)c->filters, 0.2f, &seed);
    for (size_t i = 0; i < n_y + 64; i++)
        y[i] = 1234.0f;

    onnx_conv_few_run(&d, x, w, bias, y);

    for (int n = 0; n < c->batch; n++)
        for (int f = 0; f < c->filters; f++)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) {
                    double want;
                    if (c->has_pool) {
                        want = -INFINITY;
                        for (int a = 0; a < 2; a++)
                            for (int b = 0; b < 2; b++)
                                want =
                                    fmax(want, ref_at(c, x, w, bias, n, f, 2 * i + a, 2 * j + b));
                    } else {
                        want = ref_at(c, x, w, bias, n, f, i, j);
                    }
                    want = activate(&d, want);
                    size_t at = c->is_channels_last
                                    ? (((size_t)n * rows + i) * cols + j) * c->filters + f
                                    : (((size_t)n * c->filters + f) * rows + i) * cols + j;
                    if (fabs(y[at] - want) > 1e-4 * (1.0 + fabs(want)))
                        fail_msg("n %d filter %d row %d col %d: %g, want %g", n, f, i, j, y[at],
                                 want);
                }
    for (size_t i = n_y; i < n_y + 64; i++)
        assert_true(y[i] == 1234.0f); /* nothing written past the output */
    free(x);
    free(w);
    free(bias);
    free(y);
}

static void matches_the_reference(void **state)
{
    (void)state;
    if (!__builtin_cpu_supports("avx512f"))
        skip(); /* the kernel needs AVX-512; oneDNN runs these convolutions without it */
    static const few_case_t cases[] = {
        /* LeNet's first layer: one channel, 6 filters, 5x5, pooled, channels-last */
        {3, 1, 6, 28, 28, 5, true, true, ONNX_FUSED_RELU},
        /* RGB, 10 filters (a pass of 6, then 4), 7 rows (the last pair overlaps), 38 columns */
        {2, 3, 10, 9, 40, 3, false, false, ONNX_FUSED_CLIP},
        {2, 3, 10, 9, 40, 3, false, true, ONNX_FUSED_NONE},
        /* odd rows and columns under a pool (the last is pooled by no window), 70 columns */
        {1, 2, 4, 8, 72, 3, true, false, ONNX_FUSED_NONE},
        {2, 4, 15, 12, 11, 2, true, true, ONNX_FUSED_CLIP},
        /* a single filter, two output columns */
        {1, 1, 1, 5, 3, 2, false, false, ONNX_FUSED_RELU},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
}

/* What it leaves to oneDNN: output channels it would not save work on, many input channels,
 * strides, pads, groups, a fused residual or Sigmoid, pools other than 2x2, tiny outputs. */
static void declines_what_it_does_not_handle(void **state)
{
    (void)state;
    few_case_t lenet = {3, 1, 6, 28, 28, 5, true, true, ONNX_FUSED_RELU};
    onnx_conv_desc_t d = desc_of(&lenet);
    if (!__builtin_cpu_supports("avx512f")) {
        assert_false(onnx_conv_few_fits(&d));
        skip();
    }
    assert_true(onnx_conv_few_fits(&d));
    onnx_conv_desc_t no;
    no = d, no.filters = 16;
    assert_false(onnx_conv_few_fits(&no));
    no = d, no.channels = 5;
    assert_false(onnx_conv_few_fits(&no));
    no = d, no.stride[2] = 2;
    assert_false(onnx_conv_few_fits(&no));
    no = d, no.pad_begin[1] = 1;
    assert_false(onnx_conv_few_fits(&no));
    no = d, no.group = 3, no.channels = 3, no.filters = 6;
    assert_false(onnx_conv_few_fits(&no));
    no = d, no.has_sum = true;
    assert_false(onnx_conv_few_fits(&no));
    no = d, no.activation = ONNX_FUSED_SIGMOID;
    assert_false(onnx_conv_few_fits(&no));
    no = d, no.pool.kernel[1] = no.pool.kernel[2] = 3;
    assert_false(onnx_conv_few_fits(&no));
    no = d, no.kernel[1] = no.kernel[2] = 9;
    assert_false(onnx_conv_few_fits(&no));
    no = d, no.out[1] = 1;
    assert_false(onnx_conv_few_fits(&no));
    no = d, no.channels = 3, no.is_src_channels_last = true;
    assert_false(onnx_conv_few_fits(&no));
    no = d, no.n_spatial = 1;
    assert_false(onnx_conv_few_fits(&no));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_the_reference),
        cmocka_unit_test(declines_what_it_does_not_handle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
