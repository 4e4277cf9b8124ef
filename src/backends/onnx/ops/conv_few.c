/* A direct 2-D convolution for few input and output channels, such as a CNN's first layer on
 * grayscale or RGB images (see conv.h: onnx_conv_few_fits).
 *
 * oneDNN computes output channels in blocks of 16, so a Conv with 6 filters does 16/6 of the work
 * (LeNet's first layer, 1 -> 6 channels 5x5 over 28x28 at batch 64: 186 us on one thread, 122 us
 * on two). Here each pass computes two output rows of up to 32 columns for 6 filters at a time in
 * 24 AVX-512 registers: every input vector loaded is multiplied by 6 weights and used for both
 * rows (71 us on one thread for the same layer). A fused 2x2 MaxPool takes the maximum of the two
 * rows and of neighbouring columns in registers, before bias and activation, which commute with
 * the maximum as they add a constant or are monotonic. Outputs go row-major or channels-last.
 * One thread: the node's thread plan (exec_threads.h) then keeps it on one. */
#include "conv.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_FEW_KERNEL 1
#endif

enum {
    FEW_FILTERS = 6,      /* filters computed per pass: 4 x 6 accumulators */
    FEW_MAX_CHANNELS = 4, /* input channels */
    FEW_MAX_KERNEL = 7,   /* kernel height and width */
    FEW_COLUMNS = 32,     /* output columns per pass: two vectors */
};

/* The geometry of one run, in the names the kernel uses. */
typedef struct {
    int64_t batch, channels, filters;
    int64_t in_h, in_w, out_h, out_w, k_h, k_w;
    bool has_pool, is_channels_last;
    onnx_fused_activation_t activation;
    float alpha, beta;
} few_t;

static bool is_pool_2x2(const onnx_window_t *w)
{
    for (int a = 1; a < ONNX_WINDOW_MAX_SPATIAL; a++)
        if (w->kernel[a] != 2 || w->stride[a] != 2 || w->dilation[a] != 1 || w->pad_begin[a] != 0 ||
            w->pad_end[a] != 0 || w->out[a] != w->in[a] / 2)
            return false;
    return true;
}

bool onnx_conv_few_fits(const onnx_conv_desc_t *d)
{
#ifdef HAVE_FEW_KERNEL
    if (d->n_spatial != 2 || d->group != 1 || d->channels > FEW_MAX_CHANNELS || d->filters >= 16 ||
        d->has_sum || d->activation == ONNX_FUSED_SIGMOID ||
        (d->is_src_channels_last && d->channels > 1))
        return false;
    for (int a = 1; a < ONNX_WINDOW_MAX_SPATIAL; a++)
        if (d->stride[a] != 1 || d->dilation[a] != 1 || d->pad_begin[a] != 0 ||
            d->pad_end[a] != 0 || d->kernel[a] > FEW_MAX_KERNEL)
            return false;
    if (d->out[1] < 2 || d->out[2] < 2 || d->out[2] > INT32_MAX / 2)
        return false;
    if (d->has_pool && !is_pool_2x2(&d->pool))
        return false;
    return __builtin_cpu_supports("avx512f");
#else
    (void)d;
    return false;
#endif
}

#ifdef HAVE_FEW_KERNEL

__attribute__((target("avx512f"), always_inline)) static inline __m512 activate(const few_t *f,
                                                                                __m512 v)
{
    if (f->activation == ONNX_FUSED_RELU)
        return _mm512_max_ps(v, _mm512_setzero_ps());
    if (f->activation == ONNX_FUSED_CLIP)
        return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(f->alpha)), _mm512_set1_ps(f->beta));
    return v;
}

static __mmask16 lanes(int64_t n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* Writes `n_cols` values of each of the pass's `n_filters` vectors (pairs lo/hi of 16 columns)
 * for output row `row` of image `n`, from column `col`, in the output's layout. */
__attribute__((target("avx512f"))) static void store_row(const few_t *f, float *y, int64_t n,
                                                         int64_t filter0, int n_filters,
                                                         int64_t row, int64_t col, int64_t n_cols,
                                                         int64_t rows, int64_t cols,
                                                         const __m512 *lo, const __m512 *hi)
{
    if (!f->is_channels_last) {
        for (int o = 0; o < n_filters; o++) {
            float *dst = y + ((n * f->filters + filter0 + o) * rows + row) * cols + col;
            _mm512_mask_storeu_ps(dst, lanes(n_cols), lo[o]);
            _mm512_mask_storeu_ps(dst + 16, lanes(n_cols - 16), hi[o]);
        }
        return;
    }
    float t[FEW_FILTERS][FEW_COLUMNS];
    for (int o = 0; o < n_filters; o++) {
        _mm512_storeu_ps(t[o], lo[o]);
        _mm512_storeu_ps(t[o] + 16, hi[o]);
    }
    float *dst = y + ((n * rows + row) * cols + col) * f->filters + filter0;
    for (int64_t c = 0; c < n_cols; c++, dst += f->filters)
        for (int o = 0; o < n_filters; o++)
            dst[o] = t[o][c];
}

/* Output rows `row` and `row` + 1 (or, pooled, pooled row `row` / 2) of image `n` for filters
 * filter0.. (weights `w` as [channel][ky][kx][FEW_FILTERS], `bias` FEW_FILTERS) from column
 * `col` of the convolution's output. */
__attribute__((target("avx512f"))) static void few_pass(const few_t *f, const float *x,
                                                        const float *w, const float *bias, float *y,
                                                        int64_t n, int64_t filter0, int n_filters,
                                                        int64_t row, int64_t col)
{
    /* 24 accumulators in named variables: held in arrays, GCC stores them on every tap */
    __m512 a00, a01, a02, a03, a04, a05, a10, a11, a12, a13, a14, a15;
    __m512 b00, b01, b02, b03, b04, b05, b10, b11, b12, b13, b14, b15;
    a00 = a01 = a02 = a03 = a04 = a05 = a10 = a11 = a12 = a13 = a14 = a15 = _mm512_setzero_ps();
    b00 = b01 = b02 = b03 = b04 = b05 = b10 = b11 = b12 = b13 = b14 = b15 = a00;
    int64_t n_cols = f->out_w - col < FEW_COLUMNS ? f->out_w - col : FEW_COLUMNS;
    __mmask16 m_lo = lanes(n_cols), m_hi = lanes(n_cols - 16);
    for (int64_t c = 0; c < f->channels; c++) {
        const float *plane = x + ((n * f->channels + c) * f->in_h + row) * f->in_w + col;
        for (int64_t ky = 0; ky < f->k_h; ky++) {
            const float *r0 = plane + ky * f->in_w, *r1 = r0 + f->in_w;
            for (int64_t kx = 0; kx < f->k_w; kx++, w += FEW_FILTERS) {
                __m512 v00 = _mm512_maskz_loadu_ps(m_lo, r0 + kx);
                __m512 v01 = _mm512_maskz_loadu_ps(m_hi, r0 + kx + 16);
                __m512 v10 = _mm512_maskz_loadu_ps(m_lo, r1 + kx);
                __m512 v11 = _mm512_maskz_loadu_ps(m_hi, r1 + kx + 16);
#define FEW_FMA(o)                                                                                 \
    do {                                                                                           \
        __m512 wv = _mm512_set1_ps(w[o]);                                                          \
        a0##o = _mm512_fmadd_ps(wv, v00, a0##o);                                                   \
        a1##o = _mm512_fmadd_ps(wv, v01, a1##o);                                                   \
        b0##o = _mm512_fmadd_ps(wv, v10, b0##o);                                                   \
        b1##o = _mm512_fmadd_ps(wv, v11, b1##o);                                                   \
    } while (0)
                FEW_FMA(0);
                FEW_FMA(1);
                FEW_FMA(2);
                FEW_FMA(3);
                FEW_FMA(4);
                FEW_FMA(5);
#undef FEW_FMA
            }
        }
    }
    __m512 a0[FEW_FILTERS] = {a00, a01, a02, a03, a04, a05},
           a1[FEW_FILTERS] = {a10, a11, a12, a13, a14, a15},
           b0[FEW_FILTERS] = {b00, b01, b02, b03, b04, b05},
           b1[FEW_FILTERS] = {b10, b11, b12, b13, b14, b15};
    if (f->has_pool) {
        /* columns 2j and 2j + 1 of the 32 sit at lanes 2j, 2j + 1 of the pair (lo, hi) */
        const __m512i even =
            _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
        const __m512i odd =
            _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
        __m512 pooled[FEW_FILTERS], unused[FEW_FILTERS];
#pragma GCC unroll 6
        for (int o = 0; o < FEW_FILTERS; o++) {
            __m512 lo = _mm512_max_ps(a0[o], b0[o]), hi = _mm512_max_ps(a1[o], b1[o]);
            __m512 m = _mm512_max_ps(_mm512_permutex2var_ps(lo, even, hi),
                                     _mm512_permutex2var_ps(lo, odd, hi));
            pooled[o] = activate(f, _mm512_add_ps(m, _mm512_set1_ps(bias[o])));
            unused[o] = _mm512_setzero_ps();
        }
        int64_t pooled_w = f->out_w / 2, pooled_col = col / 2;
        int64_t n_pooled = pooled_w - pooled_col < 16 ? pooled_w - pooled_col : 16;
        store_row(f, y, n, filter0, n_filters, row / 2, pooled_col, n_pooled, f->out_h / 2,
                  pooled_w, pooled, unused);
        return;
    }
#pragma GCC unroll 6
    for (int o = 0; o < FEW_FILTERS; o++) {
        __m512 b = _mm512_set1_ps(bias[o]);
        a0[o] = activate(f, _mm512_add_ps(a0[o], b));
        a1[o] = activate(f, _mm512_add_ps(a1[o], b));
        b0[o] = activate(f, _mm512_add_ps(b0[o], b));
        b1[o] = activate(f, _mm512_add_ps(b1[o], b));
    }
    store_row(f, y, n, filter0, n_filters, row, col, n_cols, f->out_h, f->out_w, a0, a1);
    store_row(f, y, n, filter0, n_filters, row + 1, col, n_cols, f->out_h, f->out_w, b0, b1);
}

void onnx_conv_few_run(const onnx_conv_desc_t *d, const float *x, const float *w, const float *bias,
                       float *y)
{
    few_t f = {
        .batch = d->batch,
        .channels = d->channels,
        .filters = d->filters,
        .in_h = d->in[1],
        .in_w = d->in[2],
        .out_h = d->out[1],
        .out_w = d->out[2],
        .k_h = d->kernel[1],
        .k_w = d->kernel[2],
        .has_pool = d->has_pool,
        .is_channels_last = d->is_dst_channels_last,
        .activation = d->activation,
        .alpha = d->alpha,
        .beta = d->beta,
    };
    /* a pass computes two rows: pooled, the pair one 2x2 window covers (an odd last row is
     * pooled by none); else an odd last row comes with the one before it, computed twice */
    int64_t rows = f.has_pool ? f.out_h / 2 * 2 : f.out_h;
    for (int64_t filter0 = 0; filter0 < f.filters; filter0 += FEW_FILTERS) {
        int n_filters =
            (int)(f.filters - filter0 < FEW_FILTERS ? f.filters - filter0 : FEW_FILTERS);
        float wl[FEW_MAX_CHANNELS * FEW_MAX_KERNEL * FEW_MAX_KERNEL * FEW_FILTERS] = {0};
        float bl[FEW_FILTERS] = {0};
        int64_t taps = f.channels * f.k_h * f.k_w;
        for (int o = 0; o < n_filters; o++) {
            for (int64_t t = 0; t < taps; t++)
                wl[t * FEW_FILTERS + o] = w[(filter0 + o) * taps + t];
            bl[o] = bias != NULL ? bias[filter0 + o] : 0.0f;
        }
        for (int64_t n = 0; n < f.batch; n++)
            for (int64_t row = 0; row < rows; row += 2) {
                int64_t start = row + 1 < rows ? row : rows - 2;
                for (int64_t col = 0; col < f.out_w; col += FEW_COLUMNS)
                    few_pass(&f, x, wl, bl, y, n, filter0, n_filters, start, col);
            }
    }
}

#else

void onnx_conv_few_run(const onnx_conv_desc_t *d, const float *x, const float *w, const float *bias,
                       float *y)
{
    (void)d, (void)x, (void)w, (void)bias, (void)y; /* onnx_conv_few_fits said no */
}

#endif
