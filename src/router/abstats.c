/* Statistics for A/B tests and bandits (see inferd/abstats.h). The incomplete beta function is
 * evaluated by its continued fraction (modified Lentz's method); quantiles by bisection on the
 * CDFs, which is slow only by the standards of a hot path this is not on; gamma draws by
 * Marsaglia and Tsang's squeeze method, boosted for shapes below 1. */
#include "inferd/abstats.h"

#include <math.h>

/* The continued fraction of I_x(a, b) (converges for x < (a + 1) / (a + b + 2)). */
static double beta_fraction(double x, double a, double b)
{
    const double tiny = 1e-300, epsilon = 1e-15;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    d = fabs(d) < tiny ? tiny : d;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        double m2 = 2 * m;
        double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
        d = 1 + aa * d, c = 1 + aa / c;
        d = fabs(d) < tiny ? tiny : d, c = fabs(c) < tiny ? tiny : c;
        d = 1 / d, h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
        d = 1 + aa * d, c = 1 + aa / c;
        d = fabs(d) < tiny ? tiny : d, c = fabs(c) < tiny ? tiny : c;
        d = 1 / d;
        double step = d * c;
        h *= step;
        if (fabs(step - 1) < epsilon)
            break;
    }
    return h;
}

double inferd_stat_beta_inc(double x, double a, double b)
{
    if (!(x > 0))
        return 0;
    if (!(x < 1))
        return 1;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2))
        return front * beta_fraction(x, a, b) / a;
    return 1 - front * beta_fraction(1 - x, b, a) / b;
}

double inferd_stat_t_cdf(double t, double df)
{
    if (isinf(t))
        return t > 0 ? 1 : 0;
    double tail = 0.5 * inferd_stat_beta_inc(df / (df + t * t), df / 2, 0.5);
    return t > 0 ? 1 - tail : tail;
}

double inferd_stat_normal_cdf(double z)
{
    return 0.5 * erfc(-z / sqrt(2));
}

/* The x in [low, high] where the increasing `cdf` reaches p, by bisection. */
static double invert(double (*cdf)(double, double), double arg, double p, double low, double high)
{
    for (int i = 0; i < 200 && high - low > 1e-12 * (1 + fabs(low)); i++) {
        double mid = 0.5 * (low + high);
        if (cdf(mid, arg) < p)
            low = mid;
        else
            high = mid;
    }
    return 0.5 * (low + high);
}

static double normal_cdf_arg(double z, double unused)
{
    (void)unused;
    return inferd_stat_normal_cdf(z);
}

double inferd_stat_normal_quantile(double p)
{
    if (!(p > 0))
        return -INFINITY;
    if (!(p < 1))
        return INFINITY;
    return invert(normal_cdf_arg, 0, p, -40, 40);
}

double inferd_stat_t_quantile(double p, double df)
{
    if (!(p > 0))
        return -INFINITY;
    if (!(p < 1))
        return INFINITY;
    double bound = 10;
    while (inferd_stat_t_cdf(bound, df) < p || inferd_stat_t_cdf(-bound, df) > p)
        bound *= 4; /* heavy tails at small df */
    return invert(inferd_stat_t_cdf, df, p, -bound, bound);
}

int inferd_stat_welch(uint64_t n_a, double mean_a, double var_a, uint64_t n_b, double mean_b,
                      double var_b, double level, inferd_stat_welch_t *OUT)
{
    if (n_a < 2 || n_b < 2 || !(var_a >= 0) || !(var_b >= 0))
        return -1;
    double se_a = var_a / (double)n_a, se_b = var_b / (double)n_b;
    double se2 = se_a + se_b;
    if (!(se2 > 0))
        return -1;
    double se = sqrt(se2);
    OUT->difference = mean_b - mean_a;
    OUT->t = OUT->difference / se;
    OUT->df = se2 * se2 / (se_a * se_a / (double)(n_a - 1) + se_b * se_b / (double)(n_b - 1));
    OUT->p_value = 2 * inferd_stat_t_cdf(-fabs(OUT->t), OUT->df);
    double q = inferd_stat_t_quantile(0.5 + level / 2, OUT->df);
    OUT->ci_low = OUT->difference - q * se;
    OUT->ci_high = OUT->difference + q * se;
    return 0;
}

int inferd_stat_two_proportions(uint64_t x_a, uint64_t n_a, uint64_t x_b, uint64_t n_b,
                                double level, inferd_stat_proportions_t *OUT)
{
    if (n_a == 0 || n_b == 0 || x_a > n_a || x_b > n_b)
        return -1;
    double p_a = (double)x_a / (double)n_a, p_b = (double)x_b / (double)n_b;
    double pooled = (double)(x_a + x_b) / (double)(n_a + n_b);
    double se_pooled = sqrt(pooled * (1 - pooled) * (1.0 / (double)n_a + 1.0 / (double)n_b));
    if (!(se_pooled > 0))
        return -1;
    OUT->difference = p_b - p_a;
    OUT->z = OUT->difference / se_pooled;
    OUT->p_value = erfc(fabs(OUT->z) / sqrt(2));
    double se = sqrt(p_a * (1 - p_a) / (double)n_a + p_b * (1 - p_b) / (double)n_b);
    double q = inferd_stat_normal_quantile(0.5 + level / 2);
    OUT->ci_low = OUT->difference - q * se;
    OUT->ci_high = OUT->difference + q * se;
    return 0;
}

/* ==== random draws ==== */

double inferd_stat_uniform(uint64_t *state)
{
    uint64_t x = (*state += 0x9e3779b97f4a7c15u); /* splitmix64 */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    x ^= x >> 31;
    return ((double)(x >> 11) + 0.5) / 9007199254740992.0;
}

double inferd_stat_normal(uint64_t *state)
{
    double u = inferd_stat_uniform(state), v = inferd_stat_uniform(state);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v); /* Box-Muller */
}

double inferd_stat_gamma(uint64_t *state, double shape)
{
    if (shape < 1) /* Gamma(a) = Gamma(a + 1) * U^(1/a) */
        return inferd_stat_gamma(state, shape + 1) * pow(inferd_stat_uniform(state), 1 / shape);
    double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double x = inferd_stat_normal(state), v = 1 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = inferd_stat_uniform(state);
        if (u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)))
            return d * v;
    }
}

double inferd_stat_beta(uint64_t *state, double a, double b)
{
    double x = inferd_stat_gamma(state, a), y = inferd_stat_gamma(state, b);
    return x / (x + y);
}
