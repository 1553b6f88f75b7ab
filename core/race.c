/* core/race: racing connection attempts (see race.h). */
#include "race.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

size_t lsk_race_size(int n) {
  return sizeof(lsk_race) + (size_t)(n > 0 ? n : 0) * sizeof(lsk_race_try);
}

void lsk_race_init(lsk_race *r, int n, double delay) {
  memset(r, 0, lsk_race_size(n));
  r->n = n;
  r->delay = delay < 0 ? -1 : (int64_t)(delay * 1e9);
  r->next_start = LSK_NEVER;
  for (int i = 0; i < n; i++)
    r->tries[i].sock.fd = -1;
}

/* Python's asyncio does the same (_interleave_addrinfos with a first
 * family count of 1): the first try's family, then the others, by turns. */
void lsk_race_interleave(lsk_race *r) {
  if (r->n < 2)
    return;
  lsk_race_try *out = malloc((size_t)r->n * sizeof *out);
  if (!out)
    return; /* keep the resolver's order */
  int first = r->tries[0].addr.u.sa.sa_family;
  int a = 0, b = 0, k = 0;
  while (k < r->n) {
    while (a < r->n && r->tries[a].addr.u.sa.sa_family != first)
      a++;
    if (a < r->n)
      out[k++] = r->tries[a++];
    while (b < r->n && r->tries[b].addr.u.sa.sa_family == first)
      b++;
    if (b < r->n)
      out[k++] = r->tries[b++];
  }
  memcpy(r->tries, out, (size_t)r->n * sizeof *out);
  free(out);
}

static void drop(lsk_race *r, lsk_race_try *t) {
  if (t->sock.fd >= 0) {
    if (r->forget)
      r->forget(t->sock.fd, r->ctx);
    lsk_sock_close(&t->sock);
  }
}

static void fail(lsk_race *r, lsk_race_try *t, int err) {
  if (t->state == LSK_TRY_CONNECTING)
    r->connecting--;
  drop(r, t);
  t->state = LSK_TRY_FAILED;
  t->err = err;
  /* RFC 8305 section 5: a failed attempt lets the next one start now. */
  r->next_start = lsk_clock_now();
}

/* Starts try i: 0 when it connected at once, EINPROGRESS, or it failed. */
static int start(lsk_race *r, lsk_race_try *t) {
  int err = t->src_err;
  if (err == 0)
    err = lsk_sock_open(&t->sock, t->addr.u.sa.sa_family,
                        t->type | SOCK_NONBLOCK, t->proto);
  if (err == 0 && t->has_src)
    err = lsk_sock_bind(&t->sock, &t->src);
  if (err == 0)
    err = lsk_sock_connect_start(&t->sock, &t->addr);
  if (err == EINPROGRESS || err == EAGAIN) {
    t->state = LSK_TRY_CONNECTING;
    r->connecting++;
    return EINPROGRESS;
  }
  if (err == 0) {
    t->state = LSK_TRY_WON;
    return 0;
  }
  fail(r, t, err);
  return err;
}

/* The outcome of the connects in flight: one poll over them all, without
 * waiting; a socket that is writable has finished, and SO_ERROR says
 * how. */
static int check(lsk_race *r, int *winner) {
  struct pollfd pfd[64];
  int idx[64];
  int k = 0, i = 0;
  while (i < r->n) {
    k = 0;
    for (; i < r->n && k < 64; i++)
      if (r->tries[i].state == LSK_TRY_CONNECTING) {
        pfd[k].fd = r->tries[i].sock.fd;
        pfd[k].events = POLLOUT;
        pfd[k].revents = 0;
        idx[k++] = i;
      }
    if (k == 0 || poll(pfd, (nfds_t)k, 0) <= 0)
      continue;
    for (int j = 0; j < k; j++) {
      if (!pfd[j].revents)
        continue;
      lsk_race_try *t = &r->tries[idx[j]];
      int err = lsk_sock_connect_finish(&t->sock);
      if (err == 0) {
        t->state = LSK_TRY_WON;
        r->connecting--;
        *winner = idx[j];
        return 0;
      }
      if (err != EINPROGRESS && err != EALREADY)
        fail(r, t, err);
    }
  }
  return EAGAIN;
}

int lsk_race_step(lsk_race *r, int *winner) {
  if (check(r, winner) == 0)
    return 0;
  while (r->next < r->n &&
         (r->connecting == 0 ||
          (r->delay >= 0 && lsk_clock_now() >= r->next_start))) {
    int i = r->next++;
    if (start(r, &r->tries[i]) == 0) {
      *winner = i;
      return 0;
    }
    if (r->tries[i].state == LSK_TRY_CONNECTING)
      r->next_start = r->delay >= 0 ? lsk_clock_now() + r->delay : LSK_NEVER;
  }
  if (r->connecting > 0)
    return EAGAIN;
  for (int i = 0; i < r->n; i++)
    if (r->tries[i].state == LSK_TRY_FAILED)
      return r->tries[i].err;
  return ECONNREFUSED; /* no tries at all; callers check n first */
}

lsk_deadline lsk_race_wake(const lsk_race *r) {
  if (r->next >= r->n || r->delay < 0 || r->connecting == 0)
    return LSK_NEVER;
  return r->next_start;
}

void lsk_race_take(lsk_race *r, int winner, lsk_sock *out) {
  *out = r->tries[winner].sock;
  r->tries[winner].sock.fd = -1;
  for (int i = 0; i < r->n; i++)
    if (i != winner)
      drop(r, &r->tries[i]);
  r->connecting = 0;
}

void lsk_race_close(lsk_race *r, int err) {
  for (int i = 0; i < r->n; i++) {
    lsk_race_try *t = &r->tries[i];
    if (t->state == LSK_TRY_CONNECTING) {
      t->state = LSK_TRY_FAILED;
      t->err = err;
    }
    drop(r, t);
  }
  r->connecting = 0;
}
