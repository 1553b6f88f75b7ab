/* core/race: connecting to the first of several addresses, as RFC 8305
 * ("Happy Eyeballs v2") describes: the addresses are interleaved by
 * family, a new attempt starts a fixed delay after the previous one (at
 * once when one fails), and the first to connect wins. Non-blocking: the
 * caller waits for the sockets in flight and calls lsk_race_step again. */
#ifndef LSK_RACE_H
#define LSK_RACE_H

#include <stddef.h>

#include "addr.h"
#include "clock.h"
#include "sock.h"

enum { LSK_TRY_IDLE, LSK_TRY_CONNECTING, LSK_TRY_FAILED, LSK_TRY_WON };

typedef struct lsk_race_try {
  lsk_addr addr;  /* where to connect */
  lsk_addr src;   /* the source address to bind first, when has_src */
  int has_src;
  int src_err;    /* nonzero: the source address failed (the try fails) */
  int type, proto;
  lsk_sock sock;  /* fd -1 unless connecting or won */
  int state;      /* LSK_TRY_* */
  int err;        /* why it failed */
} lsk_race_try;

typedef struct lsk_race {
  int n;          /* tries */
  int next;       /* the first try not started */
  int connecting; /* tries in flight */
  int64_t delay;  /* ns between starts; < 0: one at a time */
  lsk_deadline next_start;
  /* Called just before a descriptor closes (an event loop must forget
   * it); may be NULL. */
  void (*forget)(int fd, void *ctx);
  void *ctx;
  lsk_race_try tries[];
} lsk_race;

/* Bytes an lsk_race with n tries takes. */
size_t lsk_race_size(int n);

/* Sets up r for n tries (zeroed, every fd -1); `delay` in seconds, < 0
 * for one attempt at a time. The caller then fills each try's addr, type,
 * proto and source. */
void lsk_race_init(lsk_race *r, int n, double delay);

/* Reorders the tries as RFC 8305 section 4: alternating families,
 * starting with the first try's, each family keeping its own order. */
void lsk_race_interleave(lsk_race *r);

/* Checks the attempts in flight and starts the next ones that are due.
 * Returns 0 with *winner set when a try has connected; EAGAIN when the
 * caller should wait (for writability of the connecting tries' sockets,
 * or until lsk_race_wake); or, once every try has failed, the first try's
 * error. Never blocks. */
int lsk_race_step(lsk_race *r, int *winner);

/* When lsk_race_step has a new attempt to start even if no socket
 * becomes ready: LSK_NEVER when none. */
lsk_deadline lsk_race_wake(const lsk_race *r);

/* Hands the winner's socket to the caller (*out) and closes every other
 * one. */
void lsk_race_take(lsk_race *r, int winner, lsk_sock *out);

/* Closes every socket the race still holds; tries in flight fail with
 * `err` (ETIMEDOUT when the caller's deadline passed). Idempotent. */
void lsk_race_close(lsk_race *r, int err);

#endif
