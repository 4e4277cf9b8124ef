/* Einsum: numpy's Einstein summation over 1 to 8 operands. Explicit ("ij,jk->ik") and implicit
 * ("ij,jk") outputs, repeated labels (diagonals, traces), one "..." per term broadcast across
 * operands, and size-1 dimensions broadcast against their label. Three ways to run:
 *   - two FP32 operands in a batched-matmul shape ("bij,bjk->bik", "bhqd,bhkd->bhqk", "i,i->")
 *     become sgemm calls, with a transposing copy only where the layout needs one;
 *   - one operand merely permuted ("ij->ji") is a strided copy of element bytes;
 *   - anything else takes the general loop (every output element sums over the other labels),
 *     which refuses more than EINSUM_MAX_WORK products so a small request cannot pin a core. */
#include "numeric.h"

#include <stdlib.h>
#include <string.h>

#define EINSUM_MAX_OPERANDS 8
#define EINSUM_LABELS       52 /* 'A'-'Z' then 'a'-'z': ids in ASCII order */
#define EINSUM_MAX_DIMS     (EINSUM_LABELS + INFERD_MAX_DIMS)
#define EINSUM_MAX_WORK     ((int64_t)1 << 34)

/* One term: its letters as label ids, and where "..." stands among them. */
typedef struct {
    int8_t labels[INFERD_MAX_DIMS];
    int n_labels;
    int ellipsis_at; /* "..." comes before labels[ellipsis_at]; -1 when the term has none */
} einsum_term_t;

typedef struct {
    int n_operands;
    einsum_term_t in[EINSUM_MAX_OPERANDS];
    einsum_term_t out;
} einsum_params_t;

/* ==== parsing (prepare) ==== */

static int label_id(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return 26 + (c - 'a');
    return -1;
}

static char label_char(int id)
{
    return (char)(id < 26 ? 'A' + id : 'a' + (id - 26));
}

/* Parses the `len` characters at `s` (spaces already removed) into `term`. */
static int parse_term(const char *s, size_t len, einsum_term_t *term, inferd_err_t *err)
{
    term->n_labels = 0;
    term->ellipsis_at = -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (term->ellipsis_at >= 0 || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.')
                return inferd_fail(err, INFERD_EMODEL,
                                   "Einsum: a term holds a stray '.' or more than one '...'");
            term->ellipsis_at = term->n_labels;
            i += 2;
            continue;
        }
        int id = label_id(s[i]);
        if (id < 0)
            return inferd_fail(err, INFERD_EMODEL,
                               "Einsum: unexpected character '%c' in the equation", s[i]);
        if (term->n_labels == INFERD_MAX_DIMS)
            return inferd_fail(err, INFERD_EMODEL, "Einsum: a term has more than %d labels",
                               INFERD_MAX_DIMS);
        term->labels[term->n_labels++] = (int8_t)id;
    }
    return 0;
}

static int einsum_prepare(onnx_node_t *node, const Onnx__NodeProto *proto, inferd_err_t *err)
{
    einsum_params_t *p = onnx_params_new(node, sizeof(*p));
    if (p == NULL)
        return INFERD_ENOMEM;
    const char *equation = onnx_attr_string(proto, "equation", NULL);
    if (equation == NULL)
        return inferd_fail(err, INFERD_EMODEL, "Einsum needs an equation attribute");
    char eq[256];
    size_t len = 0;
    for (const char *c = equation; *c; c++) {
        if (*c == ' ')
            continue;
        if (len + 1 >= sizeof(eq))
            return inferd_fail(err, INFERD_EMODEL, "Einsum: the equation is too long");
        eq[len++] = *c;
    }
    eq[len] = '\0';
    char *arrow = strstr(eq, "->");
    size_t lhs_len = arrow != NULL ? (size_t)(arrow - eq) : len;
    if (node->n_inputs > EINSUM_MAX_OPERANDS)
        return inferd_fail(err, INFERD_EMODEL,
                           "Einsum with %d operands is unsupported (at most %d)", node->n_inputs,
                           EINSUM_MAX_OPERANDS);
    /* the left side: one comma-separated term per operand */
    size_t start = 0;
    p->n_operands = 0;
    for (size_t i = 0; i <= lhs_len; i++) {
        if (i < lhs_len && eq[i] != ',')
            continue;
        if (p->n_operands == node->n_inputs)
            return inferd_fail(err, INFERD_EMODEL,
                               "Einsum: the equation has more terms than the "
                               "node's %d inputs",
                               node->n_inputs);
        int rc = parse_term(eq + start, i - start, &p->in[p->n_operands++], err);
        if (rc != 0)
            return rc;
        start = i + 1;
    }
    if (p->n_operands != node->n_inputs)
        return inferd_fail(err, INFERD_EMODEL, "Einsum: the equation has %d terms for %d inputs",
                           p->n_operands, node->n_inputs);
    int count[EINSUM_LABELS] = {0};
    bool has_ellipsis = false;
    for (int o = 0; o < p->n_operands; o++) {
        has_ellipsis |= p->in[o].ellipsis_at >= 0;
        for (int i = 0; i < p->in[o].n_labels; i++)
            count[p->in[o].labels[i]]++;
    }
    if (arrow == NULL) { /* implicit: "..." then the labels seen once, in ASCII order */
        p->out.n_labels = 0;
        p->out.ellipsis_at = has_ellipsis ? 0 : -1;
        for (int id = 0; id < EINSUM_LABELS; id++)
            if (count[id] == 1) {
                if (p->out.n_labels == INFERD_MAX_DIMS)
                    return inferd_fail(err, INFERD_EMODEL,
                                       "Einsum: the output has too many labels");
                p->out.labels[p->out.n_labels++] = (int8_t)id;
            }
        return 0;
    }
    int rc = parse_term(arrow + 2, len - lhs_len - 2, &p->out, err);
    if (rc != 0)
        return rc;
    bool seen[EINSUM_LABELS] = {false};
    for (int i = 0; i < p->out.n_labels; i++) {
        int id = p->out.labels[i];
        if (count[id] == 0 || seen[id])
            return inferd_fail(err, INFERD_EMODEL, "Einsum: output label '%c' is %s",
                               label_char(id), seen[id] ? "repeated" : "in no input");
        seen[id] = true;
    }
    return 0;
}

/* ==== resolving the labels against the input shapes ==== */

/* Every distinct dimension of the product: the output's first (in its order), then the summed
 * ones. Per operand, the stride of each (the sum of the strides of every position it labels, so
 * a repeated label walks the diagonal; 0 where the operand lacks or broadcasts it). */
typedef struct {
    int n_dims, n_out;
    int64_t size[EINSUM_MAX_DIMS];
    int64_t stride[EINSUM_MAX_OPERANDS][EINSUM_MAX_DIMS];
    int8_t count[EINSUM_MAX_OPERANDS][EINSUM_MAX_DIMS];  /* positions of size > 1 labelled so */
    int8_t dim_of[EINSUM_MAX_OPERANDS][INFERD_MAX_DIMS]; /* each operand position's dimension */
    int8_t out_dim_of[INFERD_MAX_DIMS];                  /* each output position's dimension */
    int out_rank;
} einsum_plan_t;

/* Merges a dimension of size `size` into `*known` (-1 unknown): equal sizes agree and 1
 * broadcasts. Returns false on a conflict. */
static bool merge_size(int64_t *known, int64_t size)
{
    if (*known == -1 || *known == 1)
        *known = size;
    else if (size != 1 && size != *known)
        return false;
    return true;
}

/* The dimension operand position `pos` of a term with `ell` ellipsis dimensions stands for:
 * a label id, or EINSUM_LABELS + the ellipsis dimension (right-aligned to `ell_rank`). */
static int position_key(const einsum_term_t *t, int pos, int ell, int ell_rank)
{
    int before = t->ellipsis_at < 0 ? t->n_labels : t->ellipsis_at;
    if (pos < before)
        return t->labels[pos];
    if (pos < before + ell)
        return EINSUM_LABELS + (ell_rank - ell) + (pos - before);
    return t->labels[pos - ell];
}

static int einsum_resolve(const onnx_node_t *node, const inferd_tensor_t *const *in,
                          einsum_plan_t *plan, int64_t *out_shape, inferd_err_t *err)
{
    const einsum_params_t *p = node->params;
    int ell[EINSUM_MAX_OPERANDS], ell_rank = 0;
    for (int o = 0; o < p->n_operands; o++) {
        const einsum_term_t *t = &p->in[o];
        ell[o] = in[o]->ndim - t->n_labels;
        if ((t->ellipsis_at < 0 && ell[o] != 0) || ell[o] < 0)
            return inferd_fail(err, INFERD_EINVAL,
                               "Einsum: operand %d has rank %d; its term "
                               "has %d labels%s",
                               o, in[o]->ndim, t->n_labels,
                               t->ellipsis_at >= 0 ? " and '...'" : "");
        ell_rank = ell[o] > ell_rank ? ell[o] : ell_rank;
    }
    if (ell_rank > 0 && p->out.ellipsis_at < 0)
        return inferd_fail(err, INFERD_EINVAL,
                           "Einsum: the inputs' '...' covers %d dimensions "
                           "but the output has no '...'",
                           ell_rank);
    int64_t key_size[EINSUM_MAX_DIMS];
    for (int key = 0; key < EINSUM_MAX_DIMS; key++)
        key_size[key] = -1;
    for (int o = 0; o < p->n_operands; o++)
        for (int pos = 0; pos < in[o]->ndim; pos++) {
            int key = position_key(&p->in[o], pos, ell[o], ell_rank);
            if (!merge_size(&key_size[key], in[o]->shape[pos]))
                return key < EINSUM_LABELS
                           ? inferd_fail(err, INFERD_EINVAL,
                                         "Einsum: label '%c' has sizes %lld and %lld",
                                         label_char(key), (long long)key_size[key],
                                         (long long)in[o]->shape[pos])
                           : inferd_fail(err, INFERD_EINVAL,
                                         "Einsum: the '...' dimensions do not broadcast");
        }
    /* number the dimensions: the output's in order, then the summed labels */
    int dim_of_key[EINSUM_MAX_DIMS];
    for (int key = 0; key < EINSUM_MAX_DIMS; key++)
        dim_of_key[key] = -1;
    int out_ell = p->out.ellipsis_at >= 0 ? ell_rank : 0;
    plan->out_rank = p->out.n_labels + out_ell;
    if (plan->out_rank > INFERD_MAX_DIMS)
        return inferd_fail(err, INFERD_EINVAL, "Einsum: the output would have rank %d",
                           plan->out_rank);
    plan->n_dims = 0;
    for (int pos = 0; pos < plan->out_rank; pos++) {
        int key = position_key(&p->out, pos, out_ell, ell_rank);
        plan->out_dim_of[pos] = (int8_t)plan->n_dims;
        dim_of_key[key] = plan->n_dims;
        out_shape[pos] = plan->size[plan->n_dims++] = key_size[key];
    }
    plan->n_out = plan->n_dims;
    for (int key = 0; key < EINSUM_LABELS; key++)
        if (key_size[key] >= 0 && dim_of_key[key] < 0) {
            dim_of_key[key] = plan->n_dims;
            plan->size[plan->n_dims++] = key_size[key];
        }
    memset(plan->stride, 0, sizeof(plan->stride));
    memset(plan->count, 0, sizeof(plan->count));
    for (int o = 0; o < p->n_operands; o++) {
        int64_t strides[INFERD_MAX_DIMS];
        onnx_strides(in[o]->shape, in[o]->ndim, strides);
        for (int pos = 0; pos < in[o]->ndim; pos++) {
            int dim = dim_of_key[position_key(&p->in[o], pos, ell[o], ell_rank)];
            plan->dim_of[o][pos] = (int8_t)dim;
            if (in[o]->shape[pos] != 1) { /* a size-1 position broadcasts: stride 0 */
                plan->stride[o][dim] += strides[pos];
                plan->count[o][dim]++;
            }
        }
    }
    return 0;
}

/* The number of products the general loop computes, capped at EINSUM_MAX_WORK + 1. */
static int64_t einsum_work(const einsum_plan_t *plan)
{
    int64_t work = 1;
    for (int d = 0; d < plan->n_dims; d++) {
        if (plan->size[d] == 0)
            return 0;
        work = work > EINSUM_MAX_WORK / plan->size[d] ? EINSUM_MAX_WORK + 1 : work * plan->size[d];
    }
    return work;
}

/* ==== the batched-matmul form ==== */

/* The dimensions of size > 1, grouped by role: batch (both operands and the output), m (first
 * operand and output), n (second operand and output), k (both operands, summed). */
typedef struct {
    int8_t batch[EINSUM_MAX_DIMS], m[EINSUM_MAX_DIMS], n[EINSUM_MAX_DIMS], k[EINSUM_MAX_DIMS];
    int n_batch, n_m, n_n, n_k;
    int64_t batches, rows, cols, depth; /* products of the sizes of batch, m, n, k */
} matmul_form_t;

/* Whether the equation is a batched matmul of two FP32 operands; fills `form` if so. */
static bool matmul_form(const einsum_params_t *p, const inferd_tensor_t *const *in,
                        const einsum_plan_t *plan, matmul_form_t *form)
{
    if (p->n_operands != 2 || in[0]->dtype != INFERD_DT_FP32)
        return false;
    memset(form, 0, sizeof(*form));
    form->batches = form->rows = form->cols = form->depth = 1;
    for (int d = 0; d < plan->n_dims; d++) {
        if (plan->size[d] == 0 || plan->count[0][d] > 1 || plan->count[1][d] > 1)
            return false; /* empty, or a diagonal */
        if (plan->size[d] == 1)
            continue;
        bool in_a = plan->count[0][d] == 1, in_b = plan->count[1][d] == 1, in_out = d < plan->n_out;
        if (in_a && in_b && in_out) {
            form->batch[form->n_batch++] = (int8_t)d;
            form->batches *= plan->size[d];
        } else if (in_a && !in_b && in_out) {
            form->m[form->n_m++] = (int8_t)d;
            form->rows *= plan->size[d];
        } else if (!in_a && in_b && in_out) {
            form->n[form->n_n++] = (int8_t)d;
            form->cols *= plan->size[d];
        } else if (in_a && in_b) {
            form->depth *= plan->size[d]; /* listed below, in the first operand's order */
        } else {
            return false; /* summed over one operand only */
        }
    }
    for (int pos = 0; pos < in[0]->ndim; pos++) {
        int d = plan->dim_of[0][pos];
        if (in[0]->shape[pos] > 1 && d >= plan->n_out && plan->count[1][d] == 1)
            form->k[form->n_k++] = (int8_t)d;
    }
    return true;
}

/* Whether the dimensions of size > 1 of operand `o` (the output when o < 0), in memory order,
 * are the three lists one after another. */
static bool layout_is(const einsum_plan_t *plan, const inferd_tensor_t *const *in, int o,
                      const int8_t *l1, int n1, const int8_t *l2, int n2, const int8_t *l3, int n3)
{
    int8_t want[3 * EINSUM_MAX_DIMS];
    int n = 0;
    memcpy(want + n, l1, (size_t)n1), n += n1;
    memcpy(want + n, l2, (size_t)n2), n += n2;
    memcpy(want + n, l3, (size_t)n3), n += n3;
    int at = 0, rank = o >= 0 ? in[o]->ndim : plan->out_rank;
    for (int pos = 0; pos < rank; pos++) {
        int d = o >= 0 ? plan->dim_of[o][pos] : plan->out_dim_of[pos];
        int64_t size = o >= 0 ? in[o]->shape[pos] : plan->size[d];
        if (size <= 1)
            continue;
        if (at == n || want[at++] != d)
            return false;
    }
    return at == n;
}

/* Copies elements of `element` bytes from `src` into `dst`, walking `n` dimensions in dst's
 * row-major order with the given sizes and source strides (in elements). */
static void permute_copy(const void *src, void *dst, size_t element, int n, const int64_t *size,
                         const int64_t *src_stride)
{
    int64_t total = inferd_shape_count(size, n);
    int64_t index[EINSUM_MAX_DIMS] = {0}, at = 0;
    const uint8_t *s = src;
    uint8_t *t = dst;
    for (int64_t i = 0; i < total; i++) {
        memcpy(t + (size_t)i * element, s + (size_t)at * element, element);
        for (int d = n - 1; d >= 0; d--) {
            index[d]++;
            at += src_stride[d];
            if (index[d] < size[d])
                break;
            at -= src_stride[d] * index[d];
            index[d] = 0;
        }
    }
}

/* Lays operand `o` out densely as the dimension lists one after another, into `dst`. */
static void gather_operand(const einsum_plan_t *plan, const inferd_tensor_t *x, int o,
                           const int8_t *l1, int n1, const int8_t *l2, int n2, const int8_t *l3,
                           int n3, float *dst)
{
    int64_t size[EINSUM_MAX_DIMS], stride[EINSUM_MAX_DIMS];
    int n = 0;
    const int8_t *lists[3] = {l1, l2, l3};
    int counts[3] = {n1, n2, n3};
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < counts[l]; i++) {
            size[n] = plan->size[lists[l][i]];
            stride[n++] = plan->stride[o][lists[l][i]];
        }
    permute_copy(x->data, dst, sizeof(float), n, size, stride);
}

static size_t padded_floats(int64_t count)
{
    return ((size_t)count + 15) & ~(size_t)15;
}

static int einsum_matmul(const einsum_plan_t *plan, const matmul_form_t *f,
                         const inferd_tensor_t *const *in, inferd_tensor_t *out,
                         onnx_scratch_t *scratch, inferd_err_t *err)
{
    bool a_direct = layout_is(plan, in, 0, f->batch, f->n_batch, f->m, f->n_m, f->k, f->n_k);
    bool a_trans =
        !a_direct && layout_is(plan, in, 0, f->batch, f->n_batch, f->k, f->n_k, f->m, f->n_m);
    bool b_direct = layout_is(plan, in, 1, f->batch, f->n_batch, f->k, f->n_k, f->n, f->n_n);
    bool b_trans =
        !b_direct && layout_is(plan, in, 1, f->batch, f->n_batch, f->n, f->n_n, f->k, f->n_k);
    bool y_direct = layout_is(plan, in, -1, f->batch, f->n_batch, f->m, f->n_m, f->n, f->n_n);
    int64_t a_count = f->batches * f->rows * f->depth, b_count = f->batches * f->depth * f->cols;
    int64_t y_count = f->batches * f->rows * f->cols;
    size_t a_floats = a_direct || a_trans ? 0 : padded_floats(a_count);
    size_t b_floats = b_direct || b_trans ? 0 : padded_floats(b_count);
    size_t y_floats = y_direct ? 0 : padded_floats(y_count);
    float *work = NULL;
    if (a_floats + b_floats + y_floats > 0) {
        work = onnx_scratch_get(scratch, sizeof(float) * (a_floats + b_floats + y_floats));
        if (work == NULL)
            return inferd_fail(err, INFERD_ENOMEM, "out of memory for Einsum");
    }
    const float *a = in[0]->data, *b = in[1]->data;
    float *y = y_direct ? out->data : work + a_floats + b_floats;
    if (a_floats > 0) {
        gather_operand(plan, in[0], 0, f->batch, f->n_batch, f->m, f->n_m, f->k, f->n_k, work);
        a = work;
    }
    if (b_floats > 0) {
        gather_operand(plan, in[1], 1, f->batch, f->n_batch, f->k, f->n_k, f->n, f->n_n,
                       work + a_floats);
        b = work + a_floats;
    }
    int64_t lda = a_trans ? f->rows : f->depth, ldb = b_trans ? f->depth : f->cols;
    for (int64_t i = 0; i < f->batches; i++) {
        int rc = onnx_sgemm(a_trans, b_trans, f->rows, f->cols, f->depth, 1.0f,
                            a + i * f->rows * f->depth, lda, b + i * f->depth * f->cols, ldb, 0.0f,
                            y + i * f->rows * f->cols, f->cols, err);
        if (rc != 0)
            return rc;
    }
    if (!y_direct) { /* y is [batch, m, n]: walk the output's order with y's strides */
        int64_t y_stride[EINSUM_MAX_DIMS], stride = 1;
        const int8_t *lists[3] = {f->n, f->m, f->batch};
        int counts[3] = {f->n_n, f->n_m, f->n_batch};
        for (int l = 0; l < 3; l++)
            for (int i = counts[l] - 1; i >= 0; i--) {
                y_stride[lists[l][i]] = stride;
                stride *= plan->size[lists[l][i]];
            }
        int64_t size[INFERD_MAX_DIMS], src_stride[INFERD_MAX_DIMS];
        int n = 0;
        for (int pos = 0; pos < plan->out_rank; pos++) {
            int d = plan->out_dim_of[pos];
            if (plan->size[d] > 1) {
                size[n] = plan->size[d];
                src_stride[n++] = y_stride[d];
            }
        }
        permute_copy(y, out->data, sizeof(float), n, size, src_stride);
    }
    return 0;
}

/* ==== the general loop ==== */

/* Whether operand 0 is only permuted: no diagonal, nothing summed (summed sizes all 1). */
static bool is_permutation(const einsum_params_t *p, const einsum_plan_t *plan)
{
    if (p->n_operands != 1)
        return false;
    for (int d = 0; d < plan->n_dims; d++)
        if (plan->count[0][d] > 1 || (d >= plan->n_out && plan->size[d] != 1))
            return false;
    return true;
}

/* Every output element: the sum over the summed dimensions of the product of the operands.
 * Floats accumulate in double, integers in uint64 (wrapping like the C types). */
static void einsum_general(const einsum_params_t *p, const einsum_plan_t *plan,
                           const inferd_tensor_t *const *in, inferd_tensor_t *out)
{
    int n_ops = p->n_operands, n_out = plan->n_out, n_sum = plan->n_dims - plan->n_out;
    bool is_float = onnx_is_float(in[0]->dtype);
    int64_t out_count = inferd_shape_count(plan->size, n_out);
    int64_t sum_count = inferd_shape_count(plan->size + n_out, n_sum);
    int64_t out_index[EINSUM_MAX_DIMS] = {0}, base[EINSUM_MAX_OPERANDS] = {0};
    for (int64_t y = 0; y < out_count; y++) {
        int64_t sum_index[EINSUM_MAX_DIMS] = {0}, at[EINSUM_MAX_OPERANDS];
        memcpy(at, base, sizeof(at));
        double sum = 0.0;
        uint64_t isum = 0;
        for (int64_t s = 0; s < sum_count; s++) {
            double product = 1.0;
            uint64_t iproduct = 1;
            for (int o = 0; o < n_ops; o++) {
                if (is_float)
                    product *= onnx_load_f64(in[o], at[o]);
                else
                    iproduct *= (uint64_t)onnx_get_i64(in[o], at[o]);
            }
            sum += product;
            isum += iproduct;
            for (int d = n_sum - 1; d >= 0; d--) { /* odometer over the summed dimensions */
                int dim = n_out + d;
                sum_index[d]++;
                for (int o = 0; o < n_ops; o++)
                    at[o] += plan->stride[o][dim];
                if (sum_index[d] < plan->size[dim])
                    break;
                for (int o = 0; o < n_ops; o++)
                    at[o] -= plan->stride[o][dim] * sum_index[d];
                sum_index[d] = 0;
            }
        }
        if (is_float)
            onnx_set_f64(out, y, sum);
        else
            onnx_store_i64(out, y, (int64_t)isum);
        for (int d = n_out - 1; d >= 0; d--) { /* odometer over the output dimensions */
            out_index[d]++;
            for (int o = 0; o < n_ops; o++)
                base[o] += plan->stride[o][d];
            if (out_index[d] < plan->size[d])
                break;
            for (int o = 0; o < n_ops; o++)
                base[o] -= plan->stride[o][d] * out_index[d];
            out_index[d] = 0;
        }
    }
}

/* ==== the op ==== */

static int einsum_shape(const onnx_node_t *node, const inferd_tensor_t *const *in,
                        inferd_tensor_t *out, inferd_err_t *err)
{
    const einsum_params_t *p = node->params;
    for (int o = 0; o < p->n_operands; o++) {
        if (in[o] == NULL)
            return inferd_fail(err, INFERD_EINVAL, "Einsum: operand %d is missing", o);
        if (!onnx_is_float(in[o]->dtype) && !onnx_is_integer(in[o]->dtype))
            return onnx_fail_dtype(err, in[o], "the float and integer types");
        if (in[o]->dtype != in[0]->dtype)
            return inferd_fail(err, INFERD_EINVAL, "Einsum's operands have different datatypes");
    }
    einsum_plan_t plan;
    matmul_form_t form;
    int64_t shape[INFERD_MAX_DIMS];
    int rc = einsum_resolve(node, in, &plan, shape, err);
    if (rc != 0)
        return rc;
    if (!matmul_form(p, in, &plan, &form) && !is_permutation(p, &plan) &&
        einsum_work(&plan) > EINSUM_MAX_WORK)
        return inferd_fail(err, INFERD_EINVAL,
                           "Einsum: this equation on these shapes needs more than %lld products "
                           "on the general path",
                           (long long)EINSUM_MAX_WORK);
    onnx_set_shape(&out[0], in[0]->dtype, shape, plan.out_rank);
    return 0;
}

static int einsum_run(const onnx_node_t *node, const inferd_tensor_t *const *in,
                      inferd_tensor_t *out, onnx_scratch_t *scratch, inferd_err_t *err)
{
    const einsum_params_t *p = node->params;
    einsum_plan_t plan;
    matmul_form_t form;
    int64_t shape[INFERD_MAX_DIMS];
    int rc = einsum_resolve(node, in, &plan, shape, err);
    if (rc != 0)
        return rc;
    if (matmul_form(p, in, &plan, &form))
        return einsum_matmul(&plan, &form, in, &out[0], scratch, err);
    if (is_permutation(p, &plan)) {
        int64_t stride[INFERD_MAX_DIMS];
        for (int d = 0; d < plan.n_out; d++)
            stride[d] = plan.stride[0][d];
        permute_copy(in[0]->data, out[0].data, inferd_dtype_size(in[0]->dtype), plan.n_out,
                     plan.size, stride);
        return 0;
    }
    einsum_general(p, &plan, in, &out[0]);
    return 0;
}

static const onnx_op_t onnx_op_einsum = {
    "Einsum", 1, EINSUM_MAX_OPERANDS, 1, 1, einsum_prepare, einsum_shape, einsum_run};

const onnx_op_t *const onnx_ops_einsum[] = {&onnx_op_einsum, NULL};
