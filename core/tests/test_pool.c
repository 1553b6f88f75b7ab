/* core/tests/test_pool: the small-block allocator, called as Lua calls a
 * lua_Alloc. Under ASan (LSOCK_SANITIZE) it also checks that free blocks
 * and the unused tails of blocks are poisoned. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../pool.h"
#include "check.h"

#if LSK_POOL_ASAN
#include <sanitizer/asan_interface.h>
#define POISONED(p) __asan_address_is_poisoned(p)
#endif

/* What Lua passes as osize for a new block: a type tag, not a size. */
#define TAG 4

static lsk_pool *newpool(void) {
  lsk_pool *p = NULL;
  ASSERT_OK(lsk_pool_new(&p));
  return p;
}

static void *get(lsk_pool *p, size_t n) {
  return lsk_pool_realloc(p, NULL, TAG, n);
}

static void put(lsk_pool *p, void *b, size_t n) {
  ASSERT(lsk_pool_realloc(p, b, n, 0) == NULL);
}

/* Fills b[0, n) with bytes derived from seed, and checks them back. */
static void fill(void *b, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    ((unsigned char *)b)[i] = (unsigned char)(seed + i * 7);
}

static int filled(const void *b, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (((const unsigned char *)b)[i] != (unsigned char)(seed + i * 7))
      return 0;
  return 1;
}

static void every_size_aligned(void) {
  lsk_pool *p = newpool();
  void *b[LSK_POOL_MAX + 200];
  for (size_t n = 1; n < LSK_POOL_MAX + 200; n++) {
    b[n] = get(p, n);
    ASSERT(b[n] != NULL);
    ASSERT_EQ((uintptr_t)b[n] % LSK_POOL_STEP, 0);
    fill(b[n], n, (unsigned)n);
  }
  ASSERT_EQ(lsk_pool_live(p), LSK_POOL_MAX + 199);
  for (size_t n = 1; n < LSK_POOL_MAX + 200; n++)
    ASSERT(filled(b[n], n, (unsigned)n));
  for (size_t n = 1; n < LSK_POOL_MAX + 200; n++)
    put(p, b[n], n);
  ASSERT_EQ(lsk_pool_live(p), 0);
  lsk_pool_free(p);
}

static void freed_block_is_reused(void) {
  lsk_pool *p = newpool();
  void *a = get(p, 100);
  put(p, a, 100);
  /* 100 and 112 share a class; the freed block comes back first. */
  ASSERT(get(p, 112) == a);
  put(p, a, 112);
  lsk_pool_free(p);
}

static void null_and_zero(void) {
  lsk_pool *p = newpool();
  ASSERT(lsk_pool_realloc(p, NULL, TAG, 0) == NULL);
  ASSERT(lsk_pool_realloc(p, NULL, 0, 0) == NULL); /* luaM_freearray */
  ASSERT_EQ(lsk_pool_live(p), 0);
  lsk_pool_free(p);
}

static void resize_keeps_bytes(void) {
  /* Same class, another class, pool to malloc, malloc to malloc, and
   * back down, each keeping min(osize, nsize) bytes. */
  static const size_t sizes[] = {24, 30, 200, 40, 2000, 5000, 700, 9, 1};
  lsk_pool *p = newpool();
  size_t n = 10;
  void *b = get(p, n);
  fill(b, n, 3);
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t m = sizes[i], keep = n < m ? n : m;
    void *nb = lsk_pool_realloc(p, b, n, m);
    ASSERT(nb != NULL);
    ASSERT(filled(nb, keep, 3));
    fill(nb, m, 3);
    b = nb;
    n = m;
    ASSERT_EQ(lsk_pool_live(p), 1);
  }
  /* 24 and 30 share a class: resized in place. */
  b = get(p, 24);
  ASSERT(lsk_pool_realloc(p, b, 24, 30) == b);
  put(p, b, 30);
  lsk_pool_free(p);
}

static void many_chunks(void) {
  /* Enough blocks for several chunks, of mixed classes: none overlaps
   * another (each keeps its own bytes). */
  enum { N = 20000 };
  lsk_pool *p = newpool();
  void **b = calloc(N, sizeof *b);
  ASSERT(b != NULL);
  for (unsigned i = 0; i < N; i++) {
    size_t n = 1 + (i * 37) % 300;
    b[i] = get(p, n);
    ASSERT(b[i] != NULL);
    fill(b[i], n, i);
  }
  for (unsigned i = 0; i < N; i += 2)
    put(p, b[i], 1 + (i * 37) % 300);
  for (unsigned i = 1; i < N; i += 2)
    ASSERT(filled(b[i], 1 + (i * 37) % 300, i));
  for (unsigned i = 1; i < N; i += 2)
    put(p, b[i], 1 + (i * 37) % 300);
  ASSERT_EQ(lsk_pool_live(p), 0);
  free(b);
  lsk_pool_free(p);
}

static void random_workload(void) {
  /* Allocations, resizes and frees in a random order, as a Lua state
   * makes them, against a model of what each block holds. */
  enum { SLOTS = 512, OPS = 200000 };
  lsk_pool *p = newpool();
  void *b[SLOTS] = {0};
  size_t n[SLOTS] = {0};
  unsigned seed[SLOTS] = {0};
  srand(7);
  for (unsigned op = 0; op < OPS; op++) {
    int i = rand() % SLOTS;
    size_t m = (size_t)(rand() % 8 == 0 ? rand() % 3000 : rand() % 200) + 1;
    if (b[i] == NULL) {
      b[i] = get(p, m);
      ASSERT(b[i] != NULL);
    } else if (rand() % 2) {
      ASSERT(filled(b[i], n[i], seed[i]));
      put(p, b[i], n[i]);
      b[i] = NULL;
      continue;
    } else {
      ASSERT(filled(b[i], n[i], seed[i]));
      b[i] = lsk_pool_realloc(p, b[i], n[i], m);
      ASSERT(b[i] != NULL);
      ASSERT(filled(b[i], n[i] < m ? n[i] : m, seed[i]));
    }
    n[i] = m;
    seed[i] = op;
    fill(b[i], m, op);
  }
  for (int i = 0; i < SLOTS; i++)
    if (b[i] != NULL)
      put(p, b[i], n[i]);
  ASSERT_EQ(lsk_pool_live(p), 0);
  lsk_pool_free(p);
}

static void out_of_memory(void) {
  lsk_pool *p = newpool();
  void *a = get(p, 64); /* takes the first chunk */
  lsk_pool_setlimit(p, 0);
  /* Big blocks are malloc's, whatever the limit. */
  void *b = get(p, 2000);
  ASSERT(b != NULL);
  b = lsk_pool_realloc(p, b, 2000, 1500);
  ASSERT(b != NULL);
  fill(a, 64, 1);
  /* The rest of the chunk is carved, then new blocks fail. */
  size_t used = 0;
  while (get(p, LSK_POOL_MAX) != NULL)
    ASSERT(++used < 100);
  while (get(p, 1) != NULL)
    ASSERT(++used < 200);
  ASSERT(get(p, 1) == NULL);
  /* A growth fails as with malloc, leaving the block as it was. */
  ASSERT(lsk_pool_realloc(p, a, 64, 900) == NULL);
  ASSERT(filled(a, 64, 1));
  /* Shrinks cannot fail: a pool block stays in place, and so does a
   * malloc block shrunk into a class (the pool adopts it). */
  ASSERT(lsk_pool_realloc(p, a, 64, 20) == a);
  ASSERT(filled(a, 20, 1));
  fill(b, 1500, 2);
  ASSERT(lsk_pool_realloc(p, b, 1500, 100) == b);
  ASSERT(filled(b, 100, 2));
  put(p, a, 20);
  put(p, b, 100);
  /* Both are reused by their new class. */
  ASSERT(get(p, 20) == a);
  ASSERT(get(p, 100) == b);
  put(p, a, 20);
  put(p, b, 100);
  /* lsk_pool_free returns the adopted block to malloc: ASan's and
   * valgrind's leak checks would see it otherwise. */
  lsk_pool_free(p);
}

static void freed_block_serves_other_classes(void) {
  /* Once the chunks are used up, a free block of a bigger class is cut
   * into smaller blocks before a new chunk is taken. */
  lsk_pool *p = newpool();
  char *big = get(p, LSK_POOL_MAX);
  lsk_pool_setlimit(p, 0);
  while (get(p, 1) != NULL)
    ;
  put(p, big, LSK_POOL_MAX);
  for (int i = 0; i < LSK_POOL_MAX / 64; i++) {
    char *b = get(p, 64);
    ASSERT(b == big + i * 64);
    fill(b, 64, (unsigned)i);
  }
  ASSERT(get(p, 1) == NULL);
  for (int i = 0; i < LSK_POOL_MAX / 64; i++)
    ASSERT(filled(big + i * 64, 64, (unsigned)i));
  lsk_pool_free(p);
}

static void autofree_on_last_block(void) {
  lsk_pool *p = newpool();
  void *main_block = get(p, 1200); /* a state's first block is big */
  void *s = get(p, 50);
  lsk_pool_autofree(p);
  put(p, s, 50);
  ASSERT_EQ(lsk_pool_live(p), 1);
  put(p, main_block, 1200); /* frees the pool: the leak checks tell */
  p = newpool();
  lsk_pool_autofree(p); /* nothing live: frees it at once */
}

#if LSK_POOL_ASAN
static void poisoned(void) {
  lsk_pool *p = newpool();
  char *a = get(p, 20); /* a 32-byte block */
  ASSERT(!POISONED(a) && !POISONED(a + 19));
  ASSERT(POISONED(a + 20) && POISONED(a + 31));
  ASSERT(POISONED(a + 32)); /* not carved yet */
  char *b = lsk_pool_realloc(p, a, 20, 30);
  ASSERT(b == a && !POISONED(a + 29) && POISONED(a + 30));
  put(p, a, 30);
  ASSERT(POISONED(a) && POISONED(a + 8));
  lsk_pool_free(p);
}
#endif

int main(void) {
  RUN(every_size_aligned);
  RUN(freed_block_is_reused);
  RUN(null_and_zero);
  RUN(resize_keeps_bytes);
  RUN(many_chunks);
  RUN(random_workload);
  RUN(out_of_memory);
  RUN(freed_block_serves_other_classes);
  RUN(autofree_on_last_block);
#if LSK_POOL_ASAN
  RUN(poisoned);
#endif
  return 0;
}
