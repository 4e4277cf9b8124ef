/* Per-node thread counts, chosen per input shape by timing (see exec_threads.h).
 *
 * A plan goes through ONNX_THREAD_PLAN_RUNS steps, one per run of its shape:
 *   0  every node on N threads, untimed (builds the N-thread primitives)
 *   1  every node on one thread, untimed (builds the one-thread primitives)
 *   2-5  N threads and one thread in turn, each node's time kept (the fastest of two)
 *   6-7  the mix: each node on whichever of the two was faster for it, the run timed
 * then the choice among "all N", "all one" and the mix with the shortest run is kept. When the
 * mix equals one of the other two, steps 6 and 7 are skipped. A context runs on one thread at a
 * time, so nothing here locks. */
#include "exec_threads.h"

#include <stdlib.h>
#include <string.h>

/* Shapes remembered per context: as many as the state cache keeps per node. */
#define MAX_PLANS 64

/* The longest key: the ndim and shape of up to 4 rank-8 inputs (more and larger inputs are not
 * planned: every node runs on N threads). */
#define MAX_KEY (1 + INFERD_MAX_DIMS * 4)

typedef enum { CHOICE_MANY, CHOICE_ONE, CHOICE_MIXED, N_CHOICES } choice_t;

enum { STEP_FIRST_TIMED = 2, STEP_FIRST_MIXED = 6 };

struct onnx_thread_plan {
    int64_t key[MAX_KEY]; /* ndim and shape of each input, up to key_len */
    int key_len;
    int threads; /* N, the model's intra-op threads */
    int n_nodes;
    uint64_t id;               /* unique among the plans of a context, never 0 */
    int step;                  /* next calibration step; ONNX_THREAD_PLAN_RUNS once settled */
    choice_t run;              /* what this run uses */
    uint8_t *mix;              /* threads per node in the mix */
    int64_t *node_ns[2];       /* fastest time of each node on N threads and on one */
    int64_t run_ns[N_CHOICES]; /* fastest run of each choice, 0 before one was timed */
    uint64_t last_use;
};

struct onnx_thread_plans {
    onnx_thread_plan_t plans[MAX_PLANS];
    int n_plans;
    int n_nodes;
    uint64_t clock;
    uint64_t last_id;
};

onnx_thread_plans_t *onnx_thread_plans_new(int n_nodes)
{
    onnx_thread_plans_t *plans = calloc(1, sizeof(*plans));
    if (plans != NULL)
        plans->n_nodes = n_nodes;
    return plans;
}

static void plan_clear(onnx_thread_plan_t *plan)
{
    free(plan->mix);
    free(plan->node_ns[0]);
    free(plan->node_ns[1]);
    memset(plan, 0, sizeof(*plan));
}

void onnx_thread_plans_free(onnx_thread_plans_t *plans)
{
    if (plans == NULL)
        return;
    for (int i = 0; i < plans->n_plans; i++)
        plan_clear(&plans->plans[i]);
    free(plans);
}

/* The key of a run: each input's ndim and shape. Returns its length, or -1 when the inputs do
 * not fit in a key (many inputs: such a run keeps every node on N threads). */
static int make_key(int64_t *key, const inferd_tensor_t *inputs, int n_inputs)
{
    int len = 0;
    for (int i = 0; i < n_inputs; i++) {
        if (len + 1 + inputs[i].ndim > MAX_KEY)
            return -1;
        key[len++] = inputs[i].ndim;
        for (int d = 0; d < inputs[i].ndim; d++)
            key[len++] = inputs[i].shape[d];
    }
    return len;
}

/* A fresh plan in a free slot, or in the least recently used one; NULL when out of memory. */
static onnx_thread_plan_t *plan_make(onnx_thread_plans_t *plans)
{
    size_t n = (size_t)plans->n_nodes + 1;
    uint8_t *mix = calloc(n, sizeof(*mix));
    int64_t *many_ns = calloc(n, sizeof(*many_ns)), *one_ns = calloc(n, sizeof(*one_ns));
    if (mix == NULL || many_ns == NULL || one_ns == NULL) {
        free(mix);
        free(many_ns);
        free(one_ns);
        return NULL;
    }
    onnx_thread_plan_t *plan;
    if (plans->n_plans < MAX_PLANS) {
        plan = &plans->plans[plans->n_plans++];
    } else {
        plan = &plans->plans[0];
        for (int i = 1; i < plans->n_plans; i++)
            if (plans->plans[i].last_use < plan->last_use)
                plan = &plans->plans[i];
        plan_clear(plan);
    }
    plan->mix = mix;
    plan->node_ns[0] = many_ns;
    plan->node_ns[1] = one_ns;
    plan->n_nodes = plans->n_nodes;
    plan->id = ++plans->last_id;
    return plan;
}

onnx_thread_plan_t *onnx_thread_plan_begin(onnx_thread_plans_t *plans,
                                           const inferd_tensor_t *inputs, int n_inputs, int threads)
{
    int64_t key[MAX_KEY];
    int key_len = make_key(key, inputs, n_inputs);
    if (plans == NULL || key_len < 0)
        return NULL;
    onnx_thread_plan_t *plan = NULL;
    for (int i = 0; i < plans->n_plans && plan == NULL; i++) {
        onnx_thread_plan_t *p = &plans->plans[i];
        if (p->threads == threads && p->key_len == key_len &&
            memcmp(p->key, key, sizeof(int64_t) * (size_t)key_len) == 0)
            plan = p;
    }
    if (plan == NULL) {
        if ((plan = plan_make(plans)) == NULL)
            return NULL;
        memcpy(plan->key, key, sizeof(int64_t) * (size_t)key_len);
        plan->key_len = key_len;
        plan->threads = threads;
    }
    plan->last_use = ++plans->clock;
    if (plan->step < STEP_FIRST_MIXED)
        plan->run = plan->step % 2 == 0 ? CHOICE_MANY : CHOICE_ONE;
    else if (plan->step < ONNX_THREAD_PLAN_RUNS)
        plan->run = CHOICE_MIXED;
    return plan;
}

int onnx_thread_plan_node_threads(const onnx_thread_plan_t *plan, int n)
{
    switch (plan->run) {
    case CHOICE_ONE:
        return 1;
    case CHOICE_MIXED:
        return plan->mix[n];
    default:
        return plan->threads;
    }
}

bool onnx_thread_plan_is_timing(const onnx_thread_plan_t *plan)
{
    return plan->step >= STEP_FIRST_TIMED && plan->step < STEP_FIRST_MIXED;
}

void onnx_thread_plan_node_ns(onnx_thread_plan_t *plan, int n, int64_t ns)
{
    int64_t *best = &plan->node_ns[plan->run == CHOICE_ONE][n];
    if (*best == 0 || ns < *best)
        *best = ns;
}

/* After the timed runs of both thread counts: the mix, and whether it differs from both. */
static bool make_mix(onnx_thread_plan_t *plan)
{
    int single = 0;
    for (int n = 0; n < plan->n_nodes; n++) {
        bool is_one_faster = plan->node_ns[1][n] <= plan->node_ns[0][n];
        plan->mix[n] = (uint8_t)(is_one_faster ? 1 : plan->threads);
        single += is_one_faster;
    }
    return single > 0 && single < plan->n_nodes;
}

static void settle(onnx_thread_plan_t *plan)
{
    choice_t best = CHOICE_MANY;
    for (choice_t c = CHOICE_ONE; c < N_CHOICES; c++)
        if (plan->run_ns[c] > 0 && plan->run_ns[c] < plan->run_ns[best])
            best = c;
    plan->run = best;
    plan->step = ONNX_THREAD_PLAN_RUNS;
    free(plan->node_ns[0]);
    free(plan->node_ns[1]);
    plan->node_ns[0] = plan->node_ns[1] = NULL;
}

uint64_t onnx_thread_plan_id(const onnx_thread_plan_t *plan)
{
    return plan->id;
}

bool onnx_thread_plan_end(onnx_thread_plan_t *plan, int64_t run_ns, bool is_ok)
{
    if (plan == NULL || !is_ok || plan->step >= ONNX_THREAD_PLAN_RUNS)
        return false;
    if (plan->step >= STEP_FIRST_TIMED) {
        int64_t *best = &plan->run_ns[plan->run];
        if (*best == 0 || run_ns < *best)
            *best = run_ns;
    }
    plan->step++;
    bool is_done =
        plan->step == ONNX_THREAD_PLAN_RUNS || (plan->step == STEP_FIRST_MIXED && !make_mix(plan));
    if (is_done)
        settle(plan);
    return is_done;
}

bool onnx_thread_plan_is_settled(const onnx_thread_plan_t *plan)
{
    return plan->step >= ONNX_THREAD_PLAN_RUNS;
}
