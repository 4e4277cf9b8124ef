/* The statistics behind A/B tests and bandits: Welch's t-test for two means, the two-proportion
 * z-test, the distributions they need, and the random draws of Thompson sampling. Pure
 * functions of their arguments (the random draws use a state the caller owns). */
#ifndef INFERD_ABSTATS_H
#define INFERD_ABSTATS_H

#include <stdint.h>

/* Welch's t-test of mean b - mean a. */
typedef struct inferd_stat_welch {
    double difference; /* mean_b - mean_a */
    double t;
    double df;              /* Welch-Satterthwaite degrees of freedom */
    double p_value;         /* two-sided */
    double ci_low, ci_high; /* the difference's confidence interval at the requested level */
} inferd_stat_welch_t;

/* Returns 0 with *OUT filled, or -1 ("not enough data": fewer than 2 samples on a side, or no
 * variance on either). `level`: the confidence level of the interval, e.g. 0.95. */
int inferd_stat_welch(uint64_t n_a, double mean_a, double var_a, uint64_t n_b, double mean_b,
                      double var_b, double level, inferd_stat_welch_t *OUT);

/* The two-proportion z-test of rate b - rate a (pooled z; unpooled Wald interval). */
typedef struct inferd_stat_proportions {
    double difference; /* x_b/n_b - x_a/n_a */
    double z;
    double p_value; /* two-sided */
    double ci_low, ci_high;
} inferd_stat_proportions_t;

/* Returns 0, or -1 when a side has no trials or both rates are 0 or both are 1. */
int inferd_stat_two_proportions(uint64_t x_a, uint64_t n_a, uint64_t x_b, uint64_t n_b,
                                double level, inferd_stat_proportions_t *OUT);

/* P(T <= t) for Student's t with `df` degrees of freedom, and its inverse. */
double inferd_stat_t_cdf(double t, double df);
double inferd_stat_t_quantile(double p, double df);

/* The standard normal's CDF and inverse. */
double inferd_stat_normal_cdf(double z);
double inferd_stat_normal_quantile(double p);

/* The regularized incomplete beta function I_x(a, b). */
double inferd_stat_beta_inc(double x, double a, double b);

/* Random draws from a generator whose 64-bit state the caller keeps (any non-zero seed). */
double inferd_stat_uniform(uint64_t *state);                  /* in (0, 1) */
double inferd_stat_normal(uint64_t *state);                   /* N(0, 1) */
double inferd_stat_gamma(uint64_t *state, double shape);      /* Gamma(shape, 1) */
double inferd_stat_beta(uint64_t *state, double a, double b); /* Beta(a, b) */

#endif
