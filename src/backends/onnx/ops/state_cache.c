/* The per-shape state cache of a node in one context (see state_cache.h). A context runs on one
 * thread at a time, so the cache needs no lock; the build counter is shared and atomic. Lookup
 * is a linear scan: a node sees a handful of shapes, and comparing a few dozen bytes per slot
 * costs nothing next to the primitive it finds. */
#include "state_cache.h"

#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/error.h"

typedef struct {
    void *key; /* owned copy */
    size_t key_len;
    int threads;   /* OpenMP threads when it was built: oneDNN sizes a primitive's work for them */
    uint64_t plan; /* the thread plan of the last run that used it */
    void *state;
    uint64_t last_use; /* the cache's use clock at its last find or put */
} cache_slot_t;

typedef struct {
    cache_slot_t slots[ONNX_STATE_CACHE_SLOTS];
    int n_slots;
    uint64_t clock;
    void (*free_state)(void *state);
} state_cache_t;

static _Atomic uint64_t builds;

static void slot_free(state_cache_t *cache, cache_slot_t *slot)
{
    cache->free_state(slot->state);
    free(slot->key);
    *slot = (cache_slot_t){0};
}

static void cache_free(void *data)
{
    state_cache_t *cache = data;
    if (cache == NULL)
        return;
    for (int i = 0; i < cache->n_slots; i++)
        slot_free(cache, &cache->slots[i]);
    free(cache);
}

void *onnx_state_cache_find(onnx_node_state_t *node_state, const void *key, size_t key_len)
{
    state_cache_t *cache = node_state->data;
    if (cache == NULL)
        return NULL;
    int threads = omp_get_max_threads();
    for (int i = 0; i < cache->n_slots; i++) {
        cache_slot_t *slot = &cache->slots[i];
        if (slot->key_len == key_len && slot->threads == threads &&
            memcmp(slot->key, key, key_len) == 0) {
            slot->last_use = ++cache->clock;
            slot->plan = node_state->plan;
            return slot->state;
        }
    }
    return NULL;
}

int onnx_state_cache_put(onnx_node_state_t *node_state, const void *key, size_t key_len,
                         void *state, void (*free_state)(void *state))
{
    state_cache_t *cache = node_state->data;
    void *key_copy = malloc(key_len > 0 ? key_len : 1);
    if (cache == NULL && key_copy != NULL) {
        cache = calloc(1, sizeof(*cache));
        if (cache != NULL) {
            cache->free_state = free_state;
            node_state->data = cache;
            node_state->free = cache_free;
        }
    }
    if (cache == NULL || key_copy == NULL) {
        free(key_copy);
        free_state(state);
        return INFERD_ENOMEM;
    }
    memcpy(key_copy, key, key_len);
    cache_slot_t *slot;
    if (cache->n_slots < ONNX_STATE_CACHE_SLOTS) {
        slot = &cache->slots[cache->n_slots++];
    } else {
        slot = &cache->slots[0];
        for (int i = 1; i < cache->n_slots; i++)
            if (cache->slots[i].last_use < slot->last_use)
                slot = &cache->slots[i];
        slot_free(cache, slot);
    }
    *slot = (cache_slot_t){key_copy,         key_len, omp_get_max_threads(),
                           node_state->plan, state,   ++cache->clock};
    atomic_fetch_add_explicit(&builds, 1, memory_order_relaxed);
    return 0;
}

int onnx_state_cache_release_trials(onnx_node_state_t *node_state, uint64_t plan, int keep_threads)
{
    if (node_state->free != cache_free || plan == 0)
        return 0;
    state_cache_t *cache = node_state->data;
    int released = 0;
    for (int i = 0; i < cache->n_slots;) {
        cache_slot_t *slot = &cache->slots[i];
        if (slot->plan != plan || slot->threads == keep_threads) {
            i++;
            continue;
        }
        slot_free(cache, slot);
        *slot = cache->slots[--cache->n_slots];
        cache->slots[cache->n_slots] = (cache_slot_t){0};
        released++;
    }
    return released;
}

uint64_t onnx_state_cache_builds(void)
{
    return atomic_load_explicit(&builds, memory_order_relaxed);
}
