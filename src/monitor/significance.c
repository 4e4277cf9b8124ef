/* The statistics behind A/B tests, canaries and bandits (include/inferd/significance.h): running
 * summaries, Welch's t-test, the two-proportion z-test, Wilson intervals, the normal and Student
 * t distributions, random draws for Thompson sampling, histogram percentiles, and the comparison
 * of a variant with its control. Pure numerics on libm: nothing here knows about requests,
 * routers or JSON; the A/B code feeds it numbers and prints what comes back.
 *
 * Numerical notes. Tails are computed directly (never as 1 - CDF) so that small p-values keep
 * their relative accuracy: the two-sided t p-value is I_x(df/2, 1/2) with x = df / (df + t^2),
 * and the incomplete beta function is given both x and 1 - x, each computed without
 * cancellation, and ln B(a, b) for a large a (a huge Welch df) from Stirling's series rather
 * than a difference of two nearly equal log-gammas. Above df = 1e7 the t tail is Fisher's
 * expansion in 1/df (see t_upper_tail). */
#include "inferd/significance.h"
#include "inferd/random.h"

#include <float.h>
#include <math.h>
#include <string.h>

const char *inferd_sig_status_name(int status)
{
    if (status == 0)
        return "ok";
    if (status == INFERD_SIG_NOT_ENOUGH_DATA)
        return "not enough data";
    return inferd_strerror(status);
}

/* ==== running summaries ==== */

int inferd_sig_summary_add(inferd_sig_summary_t *s, double x)
{
    if (!isfinite(x))
        return INFERD_EINVAL;
    /* Welford: the mean moves by delta / n, and M2 grows by delta * (x - new mean), which is
     * (n - 1) / n * delta^2 >= 0 without the cancellation of sum(x^2) - n mean^2. */
    s->count++;
    double delta = x - s->mean;
    s->mean += delta / (double)s->count;
    s->m2 += delta * (x - s->mean);
    if (s->count == 1 || x < s->min)
        s->min = x;
    if (s->count == 1 || x > s->max)
        s->max = x;
    return 0;
}

void inferd_sig_summary_merge(inferd_sig_summary_t *into, const inferd_sig_summary_t *from)
{
    if (from->count == 0)
        return;
    if (into->count == 0) {
        *into = *from;
        return;
    }
    /* Chan, Golub, LeVeque (1979): M2 = M2_a + M2_b + delta^2 n_a n_b / n. */
    double n_a = (double)into->count, n_b = (double)from->count, n = n_a + n_b;
    double delta = from->mean - into->mean;
    into->mean += delta * (n_b / n);
    into->m2 += from->m2 + delta * delta * (n_a * n_b / n);
    into->count += from->count;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
}

double inferd_sig_summary_variance(const inferd_sig_summary_t *s)
{
    return s->count < 2 ? 0 : s->m2 / (double)(s->count - 1);
}

double inferd_sig_summary_stderr(const inferd_sig_summary_t *s)
{
    return s->count < 2 ? 0 : sqrt(inferd_sig_summary_variance(s) / (double)s->count);
}

/* ==== distributions ==== */

#define SQRT_2PI 2.50662827463100050242 /* sqrt(2 pi) */

double inferd_sig_log_gamma(double x)
{
    int sign;
    return lgamma_r(x, &sign);
}

/* The continued fraction of I_x(a, b) (DLMF 8.17.22):
 *   I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * 1 / (1 + d1 / (1 + d2 / (1 + ...)))
 *   d(2m+1) = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)),
 *   d(2m)   = m (b - m) x / ((a + 2m - 1)(a + 2m)),
 * evaluated from the front with the modified Lentz method (Thompson and Barnett, 1986). It
 * converges quickly for x < (a + 1) / (a + b + 2); the caller uses the symmetry
 * I_x(a, b) = 1 - I_{1-x}(b, a) otherwise. Returns the fraction's value, 1 / (1 + ...). */
static double beta_continued_fraction(double a, double b, double x)
{
    const double tiny = 1e-300, epsilon = 1e-16;
    /* The fraction is 0 + n1 / (1 + n2 / (1 + n3 / ...)) with n1 = 1 and n(k+1) = d(k). */
    double value = tiny, c = tiny, d = 0;
    int calm_steps = 0;
    for (int k = 1; k <= 20000; k++) {
        double numerator;
        if (k == 1) {
            numerator = 1;
        } else {
            int j = k - 1; /* the index of d(j) */
            double m = (double)(j / 2);
            if (j % 2 == 1)
                numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
            else
                numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
        }
        d = 1 + numerator * d;
        if (fabs(d) < tiny)
            d = tiny;
        d = 1 / d;
        c = 1 + numerator / c;
        if (fabs(c) < tiny)
            c = tiny;
        double step = c * d;
        value *= step;
        /* Two calm steps in a row: with a large a every even numerator is tiny (m (b - m) x /
         * a^2), so one step near 1 alone says nothing about convergence. */
        if (fabs(step - 1) >= epsilon)
            calm_steps = 0;
        else if (++calm_steps == 2)
            break;
    }
    return value;
}

/* ln B(a, b). When one argument is large, lgamma(big) - lgamma(big + small) cancels most of its
 * digits; Stirling's series ln Gamma(x) = (x - 1/2) ln x - x + ln(2 pi)/2 + w(x),
 * w(x) = 1/(12x) - 1/(360x^3) + 1/(1260x^5) - 1/(1680x^7) + ..., turns the difference into
 * -(big - 1/2) ln(1 + small/big) - small ln(big + small) + small + w(big) - w(big + small),
 * whose terms are small. The truncated series is good to 2e-15 from x = 20 on. */
static double stirling_remainder(double x)
{
    double r = 1 / x, r2 = r * r;
    return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 / 1680)));
}

static double log_beta(double a, double b)
{
    double big = fmax(a, b), small = fmin(a, b);
    if (big < 20)
        return inferd_sig_log_gamma(a) + inferd_sig_log_gamma(b) - inferd_sig_log_gamma(a + b);
    return inferd_sig_log_gamma(small) - (big - 0.5) * log1p(small / big) -
           small * log(big + small) + small + stirling_remainder(big) -
           stirling_remainder(big + small);
}

/* I_x(a, b) given x and y = 1 - x, each accurate on its own (so that x near 1 keeps digits). */
static double beta_inc_xy(double x, double y, double a, double b)
{
    if (x <= 0)
        return 0;
    if (y <= 0)
        return 1;
    /* ln x and ln y from whichever of x, y is the more accurate near that end */
    double log_x = x < 0.5 ? log(x) : log1p(-y), log_y = y < 0.5 ? log(y) : log1p(-x);
    double front = exp(a * log_x + b * log_y - log_beta(a, b));
    if (x < (a + 1) / (a + b + 2))
        return front * beta_continued_fraction(a, b, x) / a;
    return 1 - front * beta_continued_fraction(b, a, y) / b;
}

double inferd_sig_beta_inc(double x, double a, double b)
{
    if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1) || isinf(a) || isinf(b))
        return NAN;
    return beta_inc_xy(x, 1 - x, a, b);
}

/* P(Z > z), without cancellation for large z. */
static double normal_upper_tail(double z)
{
    return 0.5 * erfc(z / M_SQRT2);
}

double inferd_sig_normal_cdf(double z)
{
    return 0.5 * erfc(-z / M_SQRT2);
}

/* The lower-tail quantile for p in (0, 0.5]: Acklam's rational approximation (relative error
 * below 1.2e-9), refined by one Halley step on Phi(x) - p with Phi from erfc, which brings it to
 * about machine precision. */
static double normal_lower_quantile(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    double x;
    if (p < 0.02425) {
        double q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    /* Halley: with e = Phi(x) - p and u = e / phi(x), x -= u / (1 + x u / 2). */
    double e = inferd_sig_normal_cdf(x) - p;
    double u = e * SQRT_2PI * exp(0.5 * x * x);
    if (isfinite(u))
        x -= u / (1 + 0.5 * x * u);
    return x;
}

double inferd_sig_normal_quantile(double p)
{
    if (!(p >= 0 && p <= 1))
        return NAN;
    if (p == 0)
        return -INFINITY;
    if (p == 1)
        return INFINITY;
    if (p <= 0.5)
        return normal_lower_quantile(p);
    return -normal_lower_quantile(1 - p); /* 1 - p is exact for p in [0.5, 1] */
}

/* P(T > t) for t >= 0: I_x(df/2, 1/2) / 2 with x = df / (df + t^2) and 1 - x = t^2 / (df + t^2),
 * both from q = t / sqrt(df) so that neither cancels. The continued fraction loses about
 * df * 1e-17 of relative accuracy for |t| > sqrt(3) (its first terms nearly cancel when a is
 * large), so above BIG_DF the tail is Fisher's expansion
 * P(T > t) = Q(t) + phi(t) (t^3 + t) / (4 df) + O(df^-2), which is closer there. */
#define BIG_DF 1e7

static double t_upper_tail(double t, double df)
{
    if (isinf(df))
        return normal_upper_tail(t);
    if (df > BIG_DF)
        return normal_upper_tail(t) + exp(-0.5 * t * t) / SQRT_2PI * (t * t * t + t) / (4 * df);
    double q = t / sqrt(df); /* t^2 / df = q^2 */
    double x, y;
    if (q > 1e150) { /* q^2 would overflow */
        x = 1 / q / q;
        y = 1;
    } else {
        x = 1 / (1 + q * q);
        y = q * q / (1 + q * q);
    }
    return 0.5 * beta_inc_xy(x, y, 0.5 * df, 0.5);
}

/* The density of t, (1 + t^2/df)^(-(df + 1)/2) / (sqrt(df) B(df/2, 1/2)), for Newton steps. */
static double t_pdf(double t, double df)
{
    return exp(-0.5 * (df + 1) * log1p(t * t / df) - 0.5 * log(df) - log_beta(0.5 * df, 0.5));
}

static bool is_valid_df(double df)
{
    return df > 0; /* false for NaN; +inf allowed */
}

double inferd_sig_t_cdf(double t, double df)
{
    if (!is_valid_df(df) || isnan(t))
        return NAN;
    if (isinf(t))
        return t > 0 ? 1 : 0;
    return t < 0 ? t_upper_tail(-t, df) : 1 - t_upper_tail(t, df);
}

/* The t >= 0 with P(T > t) = tail, for tail in (0, 0.5]: Newton's method on the tail, kept
 * inside a bracket [low, high] that always holds the root (bisection when Newton leaves it). */
static double t_upper_quantile(double tail, double df)
{
    double low = 0, high = fmax(1, -normal_lower_quantile(tail));
    while (t_upper_tail(high, df) > tail && high < 1e300)
        high *= 4;
    double t = -normal_lower_quantile(tail); /* the normal's quantile is a fair first guess */
    if (!(t > low && t < high))
        t = 0.5 * (low + high);
    for (int i = 0; i < 400; i++) {
        double excess = t_upper_tail(t, df) - tail; /* > 0: t is below the root */
        if (excess == 0)
            return t;
        if (excess > 0)
            low = t;
        else
            high = t;
        double next = t + excess / t_pdf(t, df);
        if (!(next > low && next < high))
            next = high > 16 * (low + 1) ? sqrt((low + 1) * high) : 0.5 * (low + high);
        if (fabs(next - t) <= 1e-15 * fabs(t) || high - low <= 1e-15 * high)
            return next;
        t = next;
    }
    return t;
}

double inferd_sig_t_quantile(double p, double df)
{
    if (!is_valid_df(df) || !(p >= 0 && p <= 1))
        return NAN;
    if (p == 0)
        return -INFINITY;
    if (p == 1)
        return INFINITY;
    if (p == 0.5)
        return 0;
    if (isinf(df))
        return inferd_sig_normal_quantile(p);
    return p < 0.5 ? -t_upper_quantile(p, df) : t_upper_quantile(1 - p, df);
}

/* ==== tests of two samples ==== */

static bool is_valid_level(double level)
{
    return level > 0 && level < 1;
}

int inferd_sig_welch(uint64_t n_a, double mean_a, double var_a, uint64_t n_b, double mean_b,
                     double var_b, double level, inferd_sig_welch_t *OUT)
{
    memset(OUT, 0, sizeof(*OUT));
    OUT->p_value = 1;
    if (!is_valid_level(level) || !isfinite(mean_a) || !isfinite(mean_b) || !(var_a >= 0) ||
        !(var_b >= 0) || isinf(var_a) || isinf(var_b))
        return INFERD_EINVAL;
    if (n_a < 2 || n_b < 2 || (var_a == 0 && var_b == 0))
        return INFERD_SIG_NOT_ENOUGH_DATA;
    double se2_a = var_a / (double)n_a, se2_b = var_b / (double)n_b;
    double se2 = se2_a + se2_b, se = sqrt(se2);
    double difference = mean_b - mean_a;
    /* Welch-Satterthwaite: df = (s_a^2/n_a + s_b^2/n_b)^2 /
     *   ((s_a^2/n_a)^2 / (n_a - 1) + (s_b^2/n_b)^2 / (n_b - 1)). */
    double df = se2 * se2 / (se2_a * se2_a / (double)(n_a - 1) + se2_b * se2_b / (double)(n_b - 1));
    OUT->difference = difference;
    OUT->t = difference / se;
    OUT->df = df;
    OUT->p_value = fmin(1, 2 * t_upper_tail(fabs(OUT->t), df));
    double half_width = inferd_sig_t_quantile(0.5 + 0.5 * level, df) * se;
    OUT->ci_low = difference - half_width;
    OUT->ci_high = difference + half_width;
    return 0;
}

int inferd_sig_welch_summaries(const inferd_sig_summary_t *a, const inferd_sig_summary_t *b,
                               double level, inferd_sig_welch_t *OUT)
{
    return inferd_sig_welch(a->count, a->mean, inferd_sig_summary_variance(a), b->count, b->mean,
                            inferd_sig_summary_variance(b), level, OUT);
}

int inferd_sig_two_proportions(uint64_t successes_a, uint64_t trials_a, uint64_t successes_b,
                               uint64_t trials_b, double level, inferd_sig_proportions_t *OUT)
{
    memset(OUT, 0, sizeof(*OUT));
    OUT->p_value = 1;
    if (!is_valid_level(level) || successes_a > trials_a || successes_b > trials_b)
        return INFERD_EINVAL;
    if (trials_a == 0 || trials_b == 0)
        return INFERD_SIG_NOT_ENOUGH_DATA;
    double n_a = (double)trials_a, n_b = (double)trials_b;
    double rate_a = (double)successes_a / n_a, rate_b = (double)successes_b / n_b;
    OUT->rate_a = rate_a;
    OUT->rate_b = rate_b;
    uint64_t successes = successes_a + successes_b, trials = trials_a + trials_b;
    if (successes == 0 || successes == trials)
        return INFERD_SIG_NOT_ENOUGH_DATA;
    double pooled = (double)successes / (double)trials;
    double difference = rate_b - rate_a;
    double pooled_se = sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b));
    OUT->difference = difference;
    OUT->z = difference / pooled_se;
    OUT->p_value = fmin(1, erfc(fabs(OUT->z) / M_SQRT2));
    double wald_se = sqrt(rate_a * (1 - rate_a) / n_a + rate_b * (1 - rate_b) / n_b);
    double half_width = inferd_sig_normal_quantile(0.5 + 0.5 * level) * wald_se;
    OUT->ci_low = fmax(-1, difference - half_width);
    OUT->ci_high = fmin(1, difference + half_width);
    return 0;
}

int inferd_sig_wilson(uint64_t successes, uint64_t trials, double level, double *OUT_low,
                      double *OUT_high)
{
    *OUT_low = 0;
    *OUT_high = 1;
    if (!is_valid_level(level) || successes > trials)
        return INFERD_EINVAL;
    if (trials == 0)
        return INFERD_SIG_NOT_ENOUGH_DATA;
    /* Wilson (1927): the p with |p_hat - p| = z sqrt(p (1 - p) / n), i.e.
     * (p_hat + z^2/2n +- z sqrt(p_hat (1 - p_hat) / n + z^2 / 4n^2)) / (1 + z^2/n). */
    double n = (double)trials, rate = (double)successes / n;
    double z = inferd_sig_normal_quantile(0.5 + 0.5 * level), z2 = z * z;
    double center = (rate + z2 / (2 * n)) / (1 + z2 / n);
    double half_width = z / (1 + z2 / n) * sqrt(rate * (1 - rate) / n + z2 / (4 * n * n));
    *OUT_low = fmax(0, center - half_width);
    *OUT_high = fmin(1, center + half_width);
    return 0;
}

/* ==== random draws ==== */

void inferd_sig_rng_seed(inferd_sig_rng_t *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = inferd_splitmix64(&seed); /* spreads one seed over 256 bits */
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        rng->s[0] = 1;
}

static uint64_t rotate_left(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t inferd_sig_rng_next(inferd_sig_rng_t *rng)
{
    /* xoshiro256** (Blackman and Vigna, 2018): the output scrambles s[1]; the state advances by
     * a linear map over GF(2) of period 2^256 - 1. */
    uint64_t *s = rng->s;
    uint64_t result = rotate_left(s[1] * 5, 7) * 9;
    uint64_t shifted = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= shifted;
    s[3] = rotate_left(s[3], 45);
    return result;
}

double inferd_sig_uniform(inferd_sig_rng_t *rng)
{
    /* k / 2^53 for the top 53 bits k, redrawn when k is 0: never 0, at most 1 - 2^-53. */
    for (;;) {
        uint64_t k = inferd_sig_rng_next(rng) >> 11;
        if (k != 0)
            return (double)k * 0x1.0p-53;
    }
}

double inferd_sig_normal(inferd_sig_rng_t *rng)
{
    /* Box-Muller: sqrt(-2 ln U1) cos(2 pi U2) is N(0, 1) for independent uniforms. */
    double u1 = inferd_sig_uniform(rng), u2 = inferd_sig_uniform(rng);
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* Marsaglia and Tsang (2000) for shape >= 1: with d = shape - 1/3 and c = 1 / sqrt(9d),
 * d (1 + c X)^3 for a standard normal X, accepted with the squeeze u < 1 - 0.0331 X^4 or else
 * ln u < X^2/2 + d (1 - v + ln v), has the Gamma(shape, 1) law. */
static double gamma_at_least_one(inferd_sig_rng_t *rng, double shape)
{
    double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double x, v;
        do {
            x = inferd_sig_normal(rng);
            v = 1 + c * x;
        } while (v <= 0);
        v = v * v * v;
        double u = inferd_sig_uniform(rng), x2 = x * x;
        if (u < 1 - 0.0331 * x2 * x2)
            return d * v;
        if (log(u) < 0.5 * x2 + d * (1 - v + log(v)))
            return d * v;
    }
}

/* ln of a Gamma(shape, 1) draw. Below 1 the boost: Gamma(shape) = Gamma(shape + 1) U^(1/shape),
 * whose logarithm stays finite however small the draw. */
static double log_gamma_draw(inferd_sig_rng_t *rng, double shape)
{
    if (shape >= 1)
        return log(gamma_at_least_one(rng, shape));
    return log(gamma_at_least_one(rng, shape + 1)) + log(inferd_sig_uniform(rng)) / shape;
}

static bool is_valid_shape(double shape)
{
    return shape > 0 && isfinite(shape);
}

double inferd_sig_gamma(inferd_sig_rng_t *rng, double shape)
{
    if (!is_valid_shape(shape))
        return NAN;
    if (shape >= 1)
        return gamma_at_least_one(rng, shape);
    return exp(log_gamma_draw(rng, shape));
}

double inferd_sig_beta(inferd_sig_rng_t *rng, double a, double b)
{
    if (!is_valid_shape(a) || !is_valid_shape(b))
        return NAN;
    /* X / (X + Y) = 1 / (1 + Y/X) with X ~ Gamma(a), Y ~ Gamma(b). */
    double log_x = log_gamma_draw(rng, a), log_y = log_gamma_draw(rng, b);
    return 1 / (1 + exp(log_y - log_x));
}

/* ==== percentiles from histograms ==== */

int inferd_sig_histogram_quantile(const double *upper_bounds, const uint64_t *counts,
                                  size_t n_buckets, double q, double *OUT_value)
{
    *OUT_value = 0;
    if (n_buckets == 0 || !(q >= 0 && q <= 1) || isnan(upper_bounds[0]))
        return INFERD_EINVAL;
    for (size_t i = 1; i < n_buckets; i++)
        if (!(upper_bounds[i] > upper_bounds[i - 1]) || isinf(upper_bounds[i - 1]))
            return INFERD_EINVAL;
    if (isinf(upper_bounds[0]))
        return INFERD_EINVAL; /* only an overflow bucket: no finite bound to answer */
    uint64_t total = 0;
    for (size_t i = 0; i < n_buckets; i++)
        total += counts[i];
    if (total == 0)
        return INFERD_SIG_NOT_ENOUGH_DATA;
    /* The bucket holding rank q * total: the first non-empty one whose cumulative count reaches
     * the rank (non-empty so that q = 0 answers the smallest value's bucket, not 0 / 0). */
    double rank = q * (double)total;
    uint64_t below = 0; /* values in the buckets before `bucket` */
    size_t bucket = 0;
    while (bucket + 1 < n_buckets &&
           (counts[bucket] == 0 || (double)(below + counts[bucket]) < rank)) {
        below += counts[bucket];
        bucket++;
    }
    double upper = upper_bounds[bucket];
    if (isinf(upper)) { /* the overflow bucket: nothing is known above the last bound */
        *OUT_value = upper_bounds[bucket - 1];
        return 0;
    }
    if (bucket == 0 && upper <= 0) {
        *OUT_value = upper;
        return 0;
    }
    double lower = bucket == 0 ? 0 : upper_bounds[bucket - 1];
    double share = counts[bucket] ? (rank - (double)below) / (double)counts[bucket] : 1;
    *OUT_value = lower + (upper - lower) * fmin(1, fmax(0, share));
    return 0;
}

/* ==== a variant against its control ==== */

static double mean_or_nan(const inferd_sig_summary_t *s)
{
    return s->count ? s->mean : NAN;
}

static void welch_test(const inferd_sig_summary_t *control, const inferd_sig_summary_t *variant,
                       double alpha, inferd_sig_test_t *OUT)
{
    inferd_sig_welch_t welch;
    int rc = inferd_sig_welch_summaries(control, variant, 1 - alpha, &welch);
    OUT->status = rc == 0 ? 0 : INFERD_SIG_NOT_ENOUGH_DATA; /* summaries hold finite values */
    OUT->n_control = control->count;
    OUT->n_variant = variant->count;
    OUT->control_estimate = mean_or_nan(control);
    OUT->variant_estimate = mean_or_nan(variant);
    OUT->difference = welch.difference;
    OUT->ci_low = welch.ci_low;
    OUT->ci_high = welch.ci_high;
    OUT->statistic = welch.t;
    OUT->df = welch.df;
    OUT->p_value = welch.p_value;
    OUT->is_significant = rc == 0 && welch.p_value < alpha;
}

static void proportions_test(const inferd_sig_arm_t *control, const inferd_sig_arm_t *variant,
                             double alpha, inferd_sig_test_t *OUT)
{
    inferd_sig_proportions_t result;
    int rc = inferd_sig_two_proportions(control->errors, control->requests, variant->errors,
                                        variant->requests, 1 - alpha, &result);
    OUT->status = rc;
    OUT->n_control = control->requests;
    OUT->n_variant = variant->requests;
    OUT->control_estimate = control->requests ? result.rate_a : NAN;
    OUT->variant_estimate = variant->requests ? result.rate_b : NAN;
    OUT->difference = result.difference;
    OUT->ci_low = result.ci_low;
    OUT->ci_high = result.ci_high;
    OUT->statistic = result.z;
    OUT->df = INFINITY;
    OUT->p_value = result.p_value;
    OUT->is_significant = rc == 0 && result.p_value < alpha;
}

int inferd_sig_compare(const inferd_sig_arm_t *control, const inferd_sig_arm_t *variant,
                       inferd_sig_metric_t primary, double alpha, uint64_t min_samples,
                       inferd_sig_comparison_t *OUT)
{
    memset(OUT, 0, sizeof(*OUT));
    OUT->alpha = alpha;
    OUT->min_samples = min_samples;
    OUT->primary = primary;
    OUT->winner = INFERD_SIG_WINNER_NONE;
    if (!(alpha > 0 && alpha < 1) || (unsigned)primary >= INFERD_SIG_N_METRICS ||
        control->errors > control->requests || variant->errors > variant->requests)
        return INFERD_EINVAL;
    welch_test(&control->latency_ms, &variant->latency_ms, alpha, &OUT->tests[INFERD_SIG_LATENCY]);
    welch_test(&control->reward, &variant->reward, alpha, &OUT->tests[INFERD_SIG_REWARD]);
    proportions_test(control, variant, alpha, &OUT->tests[INFERD_SIG_ERROR_RATE]);

    const inferd_sig_test_t *decisive = &OUT->tests[primary];
    OUT->has_min_samples = decisive->n_control >= min_samples && decisive->n_variant >= min_samples;
    if (decisive->status == 0 && decisive->is_significant && OUT->has_min_samples) {
        /* better = a higher reward, a lower latency or error rate */
        double gain = primary == INFERD_SIG_REWARD ? decisive->difference : -decisive->difference;
        if (gain > 0)
            OUT->winner = INFERD_SIG_WINNER_VARIANT;
        else if (gain < 0)
            OUT->winner = INFERD_SIG_WINNER_CONTROL;
    }
    return 0;
}

const char *inferd_sig_metric_name(inferd_sig_metric_t metric)
{
    static const char *const names[INFERD_SIG_N_METRICS] = {
        [INFERD_SIG_LATENCY] = "latency_ms",
        [INFERD_SIG_REWARD] = "reward",
        [INFERD_SIG_ERROR_RATE] = "error_rate",
    };
    return (unsigned)metric < INFERD_SIG_N_METRICS ? names[metric] : "unknown";
}

const char *inferd_sig_winner_name(inferd_sig_winner_t winner)
{
    switch (winner) {
    case INFERD_SIG_WINNER_CONTROL:
        return "control";
    case INFERD_SIG_WINNER_VARIANT:
        return "variant";
    default:
        return "none";
    }
}
