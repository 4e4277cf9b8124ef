/* A bump allocator for memory that lives exactly as long as one request: allocations are never
 * freed one by one; the whole arena is reset (keeping its first block) or freed in one go. */
#ifndef INFERD_ARENA_H
#define INFERD_ARENA_H

#include <stddef.h>

typedef struct inferd_arena_block inferd_arena_block_t;

typedef struct inferd_arena {
    inferd_arena_block_t *blocks; /* newest first */
    size_t block_bytes;           /* size of an ordinary block */
    size_t limit_bytes;           /* total the arena may hold; 0 = no limit */
    size_t total_bytes;           /* bytes held in all blocks */
} inferd_arena_t;

/* Prepares an empty arena whose blocks are `block_bytes` (at least 4 KiB) and which refuses to
 * grow past `limit_bytes` in total (0: no limit). Allocates nothing yet. */
void inferd_arena_init(inferd_arena_t *arena, size_t block_bytes, size_t limit_bytes);

/* Returns `size` bytes aligned to 64, valid until the next reset or free; NULL when out of memory
 * or past the arena's limit. */
void *inferd_arena_alloc(inferd_arena_t *arena, size_t size);

/* As inferd_arena_alloc, zero-filled. */
void *inferd_arena_calloc(inferd_arena_t *arena, size_t count, size_t size);

/* Copies the `len` bytes at `s` into the arena as a NUL-terminated string; NULL when out of
 * memory. */
char *inferd_arena_strndup(inferd_arena_t *arena, const char *s, size_t len);

/* Forgets every allocation; keeps one block for reuse so a steady workload stops allocating. */
void inferd_arena_reset(inferd_arena_t *arena);

/* Releases every block. The arena may be used again after inferd_arena_init. */
void inferd_arena_free(inferd_arena_t *arena);

#endif
