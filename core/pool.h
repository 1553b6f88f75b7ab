/* core/pool: a small-block allocator with the shape of lua_Alloc.
 * Blocks up to LSK_POOL_MAX bytes come from per-size free lists carved out
 * of larger chunks, with no header; bigger ones go to malloc. One pool
 * serves one Lua state, from that state's thread only. */
#ifndef LSK_POOL_H
#define LSK_POOL_H

#include <stddef.h>

/* Under AddressSanitizer the pool poisons its free blocks, the unused
 * tail of each block and the uncarved rest of its chunks, so that ASan
 * reports an access to them as it would for malloc's. */
#if defined(__SANITIZE_ADDRESS__)
#define LSK_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LSK_POOL_ASAN 1
#endif
#endif
#ifndef LSK_POOL_ASAN
#define LSK_POOL_ASAN 0
#endif

/* The pool's granularity and its largest pooled block: sizes are rounded
 * up to a multiple of LSK_POOL_STEP, one free list per multiple. */
#define LSK_POOL_STEP 16
#define LSK_POOL_MAX 1024

typedef struct lsk_pool lsk_pool;

/* Creates an empty pool (it takes no chunk until the first block).
 * Returns 0 or ENOMEM. */
int lsk_pool_new(lsk_pool **out);

/* Frees the pool, its chunks and every block still in it. Blocks from
 * malloc that are still live are not the pool's to free: free them first
 * (a Lua state: lua_close). */
void lsk_pool_free(lsk_pool *p);

/* From now on the pool frees itself (as lsk_pool_free) when the last live
 * block goes back to it, at once if none is live: for a Lua state whose
 * owner calls only lua_close. The first block a state takes (its main
 * block) is the last it frees. */
void lsk_pool_autofree(lsk_pool *p);

/* The allocator, with lua_Alloc's contract; ud is the pool. ptr NULL:
 * returns a new block of nsize bytes (osize is then Lua's type tag,
 * ignored) or NULL. Otherwise osize must be the size the block was last
 * given: nsize 0 frees it and returns NULL; else returns the block
 * resized, keeping min(osize, nsize) bytes, or NULL with ptr untouched.
 * A shrink (nsize <= osize) never fails. Never blocks. */
void *lsk_pool_realloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* Blocks handed out and not yet freed, malloc's included. */
size_t lsk_pool_live(const lsk_pool *p);

/* The most bytes of chunks the pool may hold (the default: no limit);
 * past it, a new pooled block fails like a failed malloc. For tests of
 * the paths taken when memory runs out. */
void lsk_pool_setlimit(lsk_pool *p, size_t bytes);

#endif
