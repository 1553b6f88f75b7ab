/* core/pool: a small-block allocator with the shape of lua_Alloc.
 * Lua gives the old size of every block it frees or resizes, so a block
 * needs no header: its size says which free list it goes back to. */
#include "pool.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if LSK_POOL_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

#define NCLASS (LSK_POOL_MAX / LSK_POOL_STEP)
/* A chunk's size. Below glibc's mmap threshold (128 KiB), so chunks come
 * from the heap like the blocks they replace; a page of one counts in
 * the RSS only once a block is carved from it. */
#define CHUNK_SIZE ((size_t)64 * 1024)

/* The class of a size from 1 to LSK_POOL_MAX, and its block size. */
#define CLASS(n) (((n) + LSK_POOL_STEP - 1) / LSK_POOL_STEP)
#define BLOCK(c) ((size_t)(c)*LSK_POOL_STEP)

/* A chunk's header, one step long so that blocks keep malloc's
 * alignment; the chunks of a pool form a list. */
typedef union chunk {
  union chunk *next;
  char align[LSK_POOL_STEP];
} chunk;

struct lsk_pool {
  void *free[NCLASS + 1]; /* by class; a free block's first word links */
  char *bump, *end;       /* the newest chunk's part not yet carved */
  chunk *chunks;
  size_t live;    /* blocks handed out, malloc's included */
  size_t held;    /* bytes of chunks */
  size_t limit;   /* the most `held` may grow to */
  size_t adopted; /* malloc blocks turned pool blocks (see move) */
  int autofree;
};

int lsk_pool_new(lsk_pool **out) {
  lsk_pool *p = calloc(1, sizeof *p);
  if (p == NULL)
    return ENOMEM;
  p->limit = SIZE_MAX;
  *out = p;
  return 0;
}

static int inchunk(const lsk_pool *p, const char *b) {
  for (const chunk *c = p->chunks; c; c = c->next)
    if (b > (const char *)c && b < (const char *)c + CHUNK_SIZE)
      return 1;
  return 0;
}

/* The blocks a failed shrink kept (move) sit in the free lists among the
 * chunks' blocks: only their addresses tell them apart. This is slow, and
 * runs only in a pool where memory once ran out. */
static void free_adopted(lsk_pool *p) {
  for (int c = 1; c <= NCLASS && p->adopted > 0; c++) {
    void **link = &p->free[c];
    while (*link && p->adopted > 0) {
      char *b = *link;
      UNPOISON(b, sizeof(void *));
      if (inchunk(p, b)) {
        link = (void **)b;
        continue;
      }
      *link = *(void **)b;
      UNPOISON(b, BLOCK(c));
      free(b);
      p->adopted--;
    }
  }
}

void lsk_pool_free(lsk_pool *p) {
  if (p == NULL)
    return;
  if (p->adopted > 0)
    free_adopted(p);
  for (chunk *c = p->chunks, *next; c; c = next) {
    next = c->next;
    UNPOISON(c, CHUNK_SIZE);
    free(c);
  }
  free(p);
}

void lsk_pool_autofree(lsk_pool *p) {
  p->autofree = 1;
  if (p->live == 0)
    lsk_pool_free(p);
}

size_t lsk_pool_live(const lsk_pool *p) {
  return p->live;
}

void lsk_pool_setlimit(lsk_pool *p, size_t bytes) {
  p->limit = bytes;
}

static void push(lsk_pool *p, int c, void *b) {
  UNPOISON(b, sizeof(void *));
  *(void **)b = p->free[c];
  p->free[c] = b;
  POISON(b, BLOCK(c));
}

/* The head of class c's free list, not empty, taken off it. */
static char *pop(lsk_pool *p, int c) {
  char *b = p->free[c];
  UNPOISON(b, sizeof(void *));
  p->free[c] = *(void **)b;
  POISON(b, BLOCK(c));
  return b;
}

/* A new chunk, after the last one's rest goes to the free list of its
 * size (a multiple of the step, like every block carved before it).
 * Returns 0 when out of memory or over the limit. */
static int newchunk(lsk_pool *p) {
  size_t rest = (size_t)(p->end - p->bump);
  chunk *c;
  if (p->held >= p->limit || p->limit - p->held < CHUNK_SIZE)
    return 0;
  if ((c = malloc(CHUNK_SIZE)) == NULL)
    return 0;
  if (rest >= LSK_POOL_STEP)
    push(p, (int)CLASS(rest), p->bump);
  c->next = p->chunks;
  p->chunks = c;
  p->held += CHUNK_SIZE;
  p->bump = (char *)(c + 1);
  p->end = (char *)c + CHUNK_SIZE;
  POISON(p->bump, (size_t)(p->end - p->bump));
  return 1;
}

/* Makes the largest free block of class c or above the region blocks are
 * carved from, the rest of the last one going to its free list as in
 * newchunk. Blocks never merge again: this lets memory freed in one class
 * serve others, where a new chunk would raise the peak RSS (with free
 * lists by class only, the concurrent echo server's peak was higher than
 * with glibc's malloc, which coalesces). A block kept by a failed shrink
 * (see move) is never split, since lsk_pool_free must find it whole.
 * Returns 0 when there is no such block. */
static int refill(lsk_pool *p, int c) {
  size_t rest = (size_t)(p->end - p->bump);
  char *b;
  int d = NCLASS;
  if (p->adopted > 0)
    return 0;
  while (d >= c && p->free[d] == NULL)
    d--;
  if (d < c)
    return 0;
  b = pop(p, d);
  if (rest >= LSK_POOL_STEP)
    push(p, (int)CLASS(rest), p->bump);
  p->bump = b;
  p->end = b + BLOCK(d);
  return 1;
}

/* A block of class c with its first n bytes usable, or NULL. */
static void *take(lsk_pool *p, int c, size_t n) {
  char *b;
  if (p->free[c] != NULL) {
    b = pop(p, c);
  } else {
    if ((size_t)(p->end - p->bump) < BLOCK(c) && !refill(p, c) && !newchunk(p))
      return NULL;
    b = p->bump;
    p->bump += BLOCK(c);
  }
  UNPOISON(b, n);
  return b;
}

static void give(lsk_pool *p, void *b, size_t n) {
  if (n <= LSK_POOL_MAX)
    push(p, (int)CLASS(n), b);
  else
    free(b);
  if (--p->live == 0 && p->autofree)
    lsk_pool_free(p);
}

/* A resize that moves the block between the pool and malloc, or between
 * two classes. */
static void *move(lsk_pool *p, char *b, size_t osize, size_t nsize) {
  char *nb =
      nsize <= LSK_POOL_MAX ? take(p, (int)CLASS(nsize), nsize) : malloc(nsize);
  if (nb == NULL) {
    if (nsize > osize)
      return NULL;
    /* A shrink must not fail: the block stays where it is and is freed
     * later under its new size, into a smaller class's list, which is
     * safe since it is bigger than that class's blocks. From then on it
     * is a pool block; one from malloc is counted, for lsk_pool_free. */
    if (osize > LSK_POOL_MAX)
      p->adopted++;
    else
      POISON(b + nsize, BLOCK(CLASS(osize)) - nsize);
    return b;
  }
  memcpy(nb, b, osize < nsize ? osize : nsize);
  p->live++; /* give counts the old block out */
  give(p, b, osize);
  return nb;
}

/* The paths of lsk_pool_realloc other than a pooled block taken from its
 * free list or given back to it. Kept out of line, so that those two need
 * no registers saved. */
static NOINLINE void *slow(lsk_pool *p, char *b, size_t osize, size_t nsize) {
  if (b == NULL) {
    if (nsize == 0)
      return NULL;
    b = nsize <= LSK_POOL_MAX ? take(p, (int)CLASS(nsize), nsize)
                              : malloc(nsize);
    if (b != NULL)
      p->live++;
    return b;
  }
  if (nsize == 0) {
    give(p, b, osize);
    return NULL;
  }
  if (osize > LSK_POOL_MAX && nsize > LSK_POOL_MAX) {
    char *nb = realloc(b, nsize);
    return nb == NULL && nsize <= osize ? b : nb;
  }
  if (osize <= LSK_POOL_MAX && nsize <= LSK_POOL_MAX &&
      CLASS(osize) == CLASS(nsize)) {
    POISON(b, BLOCK(CLASS(osize)));
    UNPOISON(b, nsize);
    return b;
  }
  return move(p, b, osize, nsize);
}

void *lsk_pool_realloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  lsk_pool *p = ud;
  char *b = ptr;
  if (b == NULL && nsize - 1 < LSK_POOL_MAX && p->free[CLASS(nsize)]) {
    b = pop(p, (int)CLASS(nsize));
    UNPOISON(b, nsize);
    p->live++;
    return b;
  }
  /* live > 1: this free cannot be the one that ends an autofree pool. */
  if (nsize == 0 && b != NULL && osize <= LSK_POOL_MAX && p->live > 1) {
    push(p, (int)CLASS(osize), b);
    p->live--;
    return NULL;
  }
  return slow(p, b, osize, nsize);
}
