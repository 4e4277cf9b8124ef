/* Request-scoped bump allocator (see inferd/arena.h). Big allocations get a block of their own so
 * that the ordinary block size stays small. */
#include "inferd/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 64

struct inferd_arena_block {
    inferd_arena_block_t *next;
    size_t capacity; /* usable bytes after the header */
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void inferd_arena_init(inferd_arena_t *arena, size_t block_bytes, size_t limit_bytes)
{
    arena->blocks = NULL;
    size_t wanted = block_bytes < 4096 ? 4096 : block_bytes;
    arena->block_bytes = (wanted + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    arena->limit_bytes = limit_bytes;
    arena->total_bytes = 0;
}

static inferd_arena_block_t *arena_add_block(inferd_arena_t *arena, size_t capacity)
{
    if (capacity > SIZE_MAX - sizeof(inferd_arena_block_t))
        return NULL;
    if (arena->limit_bytes != 0 && arena->total_bytes + capacity > arena->limit_bytes)
        return NULL;
    inferd_arena_block_t *block = aligned_alloc(ARENA_ALIGN, sizeof(*block) + capacity);
    if (block == NULL)
        return NULL;
    block->capacity = capacity;
    block->used = 0;
    block->next = arena->blocks;
    arena->blocks = block;
    arena->total_bytes += capacity;
    return block;
}

void *inferd_arena_alloc(inferd_arena_t *arena, size_t size)
{
    if (size > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    size_t rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (rounded == 0)
        rounded = ARENA_ALIGN;
    inferd_arena_block_t *block = arena->blocks;
    if (block == NULL || block->capacity - block->used < rounded) {
        size_t capacity = rounded > arena->block_bytes / 2 ? rounded : arena->block_bytes;
        if (capacity != arena->block_bytes && block != NULL) {
            /* A big allocation gets its own block, placed behind the current one so the
             * current block keeps serving small allocations. */
            inferd_arena_block_t *current = arena->blocks;
            inferd_arena_block_t *big = arena_add_block(arena, capacity);
            if (big == NULL)
                return NULL;
            arena->blocks = current;
            big->next = current->next;
            current->next = big;
            big->used = rounded;
            return big->data;
        }
        block = arena_add_block(arena, capacity);
        if (block == NULL)
            return NULL;
    }
    void *p = block->data + block->used;
    block->used += rounded;
    return p;
}

void *inferd_arena_calloc(inferd_arena_t *arena, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    void *p = inferd_arena_alloc(arena, count * size);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

char *inferd_arena_strndup(inferd_arena_t *arena, const char *s, size_t len)
{
    char *copy = inferd_arena_alloc(arena, len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

void inferd_arena_reset(inferd_arena_t *arena)
{
    /* Keep the largest ordinary-size block; free the rest. */
    inferd_arena_block_t *keep = NULL;
    for (inferd_arena_block_t *b = arena->blocks, *next; b != NULL; b = next) {
        next = b->next;
        if (keep == NULL && b->capacity == arena->block_bytes) {
            keep = b;
            continue;
        }
        free(b);
    }
    arena->blocks = keep;
    arena->total_bytes = 0;
    if (keep != NULL) {
        keep->next = NULL;
        keep->used = 0;
        arena->total_bytes = keep->capacity;
    }
}

void inferd_arena_free(inferd_arena_t *arena)
{
    for (inferd_arena_block_t *b = arena->blocks, *next; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    arena->blocks = NULL;
    arena->total_bytes = 0;
}
