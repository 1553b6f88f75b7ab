/* core/loop: epoll readiness, a timer heap and a worker pool (see loop.h).
 *
 * Edge-triggered epoll: a descriptor is registered once, for reading and
 * writing, on its first wait and stays until it closes, so a wait costs no
 * epoll_ctl call. That is sound because every operation is tried before it
 * waits: a waiter is armed only after EAGAIN, and the next arrival of data
 * (or of buffer space) is a new edge. Level triggering would need a
 * re-arm or a removal per wait. The same edges keep a hint per
 * descriptor: after EAGAIN, or a short read that emptied a stream, an
 * attempt is known to be useless until the next edge, so the caller can
 * wait at once and save a system call (as tokio does on epoll). */
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "wait.h"

#define MAX_WORKERS 4
#define MAX_EVENTS 256

/* The worker pool outlives the loop while a job still runs (a slow name
 * lookup): it is freed by whoever lets go of it last. */
typedef struct pool {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  lsk_job *queue, *queue_tail; /* waiting for a worker */
  lsk_job *done;               /* finished, for the loop to collect */
  int evfd;                    /* written when `done` gains a job */
  int refs;                    /* the loop + running workers */
  int workers, idle;
  int running;                 /* jobs in a worker's hands */
  int closing;                 /* the loop is gone */
  pthread_t tids[MAX_WORKERS];
} pool;

typedef struct fdrec {
  lsk_waiter *head;
  int registered;
  int drained; /* LSK_WANT_* known to say EAGAIN until the next edge */
  int closed;  /* LSK_WANT_* with the end of stream or an error seen:
                  they stay ready with no further edge, so never drained */
} fdrec;

struct lsk_loop {
  int epfd;
  fdrec *fds;
  int nfds;
  lsk_waiter **heap;
  int heaplen, heapcap;
  int armed;
  lsk_waiter *fired, *fired_tail;
  pool *pool; /* NULL until the first job */
};

/* ---- the timer heap, ordered by deadline ---- */

static void heap_set(lsk_loop *loop, int i, lsk_waiter *w) {
  loop->heap[i] = w;
  w->heap = i;
}

static void heap_up(lsk_loop *loop, int i) {
  lsk_waiter *w = loop->heap[i];
  while (i > 0) {
    int parent = (i - 1) / 2;
    if (loop->heap[parent]->deadline <= w->deadline)
      break;
    heap_set(loop, i, loop->heap[parent]);
    i = parent;
  }
  heap_set(loop, i, w);
}

static void heap_down(lsk_loop *loop, int i) {
  lsk_waiter *w = loop->heap[i];
  for (;;) {
    int c = 2 * i + 1;
    if (c >= loop->heaplen)
      break;
    if (c + 1 < loop->heaplen &&
        loop->heap[c + 1]->deadline < loop->heap[c]->deadline)
      c++;
    if (w->deadline <= loop->heap[c]->deadline)
      break;
    heap_set(loop, i, loop->heap[c]);
    i = c;
  }
  heap_set(loop, i, w);
}

static int heap_push(lsk_loop *loop, lsk_waiter *w) {
  if (loop->heaplen == loop->heapcap) {
    int cap = loop->heapcap ? loop->heapcap * 2 : 64;
    lsk_waiter **h = realloc(loop->heap, (size_t)cap * sizeof *h);
    if (!h)
      return ENOMEM;
    loop->heap = h;
    loop->heapcap = cap;
  }
  heap_set(loop, loop->heaplen++, w);
  heap_up(loop, w->heap);
  return 0;
}

static void heap_remove(lsk_loop *loop, lsk_waiter *w) {
  int i = w->heap;
  if (i < 0)
    return;
  w->heap = -1;
  lsk_waiter *last = loop->heap[--loop->heaplen];
  if (last == w)
    return;
  heap_set(loop, i, last);
  heap_up(loop, i);
  heap_down(loop, last->heap);
}

/* ---- waiters ---- */

static void unlink_fd(lsk_loop *loop, lsk_waiter *w) {
  if (w->fd < 0 || w->fd >= loop->nfds)
    return;
  if (w->prev)
    w->prev->next = w->next;
  else
    loop->fds[w->fd].head = w->next;
  if (w->next)
    w->next->prev = w->prev;
  w->prev = w->next = NULL;
}

static void disarm(lsk_loop *loop, lsk_waiter *w) {
  unlink_fd(loop, w);
  heap_remove(loop, w);
  w->armed = 0;
  loop->armed--;
}

static void abandon(lsk_waiter *w) {
  if (w->job) {
    w->job->waiter = NULL; /* the pool frees it when it ends */
    w->job = NULL;
  }
}

void lsk_loop_fire(lsk_loop *loop, lsk_waiter *w, int result) {
  if (w->armed)
    disarm(loop, w);
  if (result != 0)
    abandon(w);
  w->result = result;
  w->next = NULL;
  w->prev = loop->fired_tail;
  if (loop->fired_tail)
    loop->fired_tail->next = w;
  else
    loop->fired = w;
  loop->fired_tail = w;
}

void lsk_loop_cancel(lsk_loop *loop, lsk_waiter *w) {
  abandon(w);
  if (w->armed) {
    disarm(loop, w);
    return;
  }
  /* Fired but not yet collected: take it off the fired list. */
  for (lsk_waiter *f = loop->fired; f; f = f->next) {
    if (f != w)
      continue;
    if (w->prev)
      w->prev->next = w->next;
    else
      loop->fired = w->next;
    if (w->next)
      w->next->prev = w->prev;
    else
      loop->fired_tail = w->prev;
    w->prev = w->next = NULL;
    return;
  }
}

static int grow_fds(lsk_loop *loop, int fd) {
  if (fd < loop->nfds)
    return 0;
  int n = loop->nfds ? loop->nfds : 64;
  while (n <= fd)
    n *= 2;
  fdrec *r = realloc(loop->fds, (size_t)n * sizeof *r);
  if (!r)
    return ENOMEM;
  memset(r + loop->nfds, 0, (size_t)(n - loop->nfds) * sizeof *r);
  loop->fds = r;
  loop->nfds = n;
  return 0;
}

int lsk_loop_arm(lsk_loop *loop, lsk_waiter *w) {
  int err;
  w->heap = -1;
  w->prev = w->next = NULL;
  w->result = 0;
  if (w->fd >= 0) {
    if ((err = grow_fds(loop, w->fd)) != 0)
      return err;
    fdrec *r = &loop->fds[w->fd];
    if (!r->registered) {
      struct epoll_event ev;
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;
      ev.data.fd = w->fd;
      if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0 &&
          errno != EEXIST)
        return errno;
      r->registered = 1;
      r->drained = r->closed = 0;
    }
  }
  if (w->deadline != LSK_NEVER && (err = heap_push(loop, w)) != 0)
    return err;
  if (w->fd >= 0) {
    fdrec *r = &loop->fds[w->fd];
    w->next = r->head;
    if (r->head)
      r->head->prev = w;
    r->head = w;
  }
  w->armed = 1;
  loop->armed++;
  return 0;
}

void lsk_loop_forget(lsk_loop *loop, int fd) {
  if (fd < 0 || fd >= loop->nfds)
    return;
  fdrec *r = &loop->fds[fd];
  while (r->head)
    lsk_loop_fire(loop, r->head, EBADF);
  if (r->registered) {
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    r->registered = 0;
  }
  r->drained = r->closed = 0;
}

void lsk_loop_release(lsk_loop *loop, int fd) {
  if (fd < 0 || fd >= loop->nfds)
    return;
  fdrec *r = &loop->fds[fd];
  if (!r->registered || r->head)
    return;
  /* EBADF or ENOENT (closed, or the number reused) leave nothing to do. */
  epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
  r->registered = 0;
  r->drained = r->closed = 0;
}

void lsk_loop_drained(lsk_loop *loop, int fd, int events) {
  if (fd >= 0 && fd < loop->nfds && loop->fds[fd].registered)
    loop->fds[fd].drained |= events & ~loop->fds[fd].closed;
}

int lsk_loop_isdrained(const lsk_loop *loop, int fd, int events) {
  return fd >= 0 && fd < loop->nfds &&
         (loop->fds[fd].drained & events) == events;
}

int lsk_loop_armed(const lsk_loop *loop) {
  return loop->armed;
}

int lsk_loop_fd(const lsk_loop *loop) {
  return loop->epfd;
}

int lsk_loop_timeout(const lsk_loop *loop) {
  if (loop->fired)
    return 0;
  if (loop->heaplen == 0)
    return -1;
  return lsk_deadline_remaining_ms(loop->heap[0]->deadline);
}

/* ---- the worker pool ---- */

static void pool_unref(pool *p) {
  pthread_mutex_lock(&p->mu);
  int last = --p->refs == 0;
  pthread_mutex_unlock(&p->mu);
  if (!last)
    return;
  /* Jobs finished after the loop went: nobody will collect them. */
  for (lsk_job *j = p->done, *next; j; j = next) {
    next = j->next;
    j->free(j);
  }
  close(p->evfd);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

static void *worker(void *arg) {
  pool *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->queue && !p->closing) {
      p->idle++;
      pthread_cond_wait(&p->cv, &p->mu);
      p->idle--;
    }
    if (!p->queue)
      break; /* closing and nothing left */
    lsk_job *j = p->queue;
    p->queue = j->next;
    if (!p->queue)
      p->queue_tail = NULL;
    p->running++;
    pthread_mutex_unlock(&p->mu);
    j->run(j);
    pthread_mutex_lock(&p->mu);
    p->running--;
    j->next = p->done;
    p->done = j;
    if (!p->closing) {
      uint64_t one = 1;
      /* The counter cannot overflow in practice; a failed write would
       * only delay collection to the next one. */
      if (write(p->evfd, &one, sizeof one) < 0) {
      }
    }
  }
  pthread_mutex_unlock(&p->mu);
  pool_unref(p);
  return NULL;
}

static int pool_start(lsk_loop *loop) {
  pool *p = calloc(1, sizeof *p);
  if (!p)
    return ENOMEM;
  p->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p->evfd < 0) {
    int err = errno;
    free(p);
    return err;
  }
  struct epoll_event ev;
  ev.events = EPOLLIN;
  ev.data.fd = -1; /* marks the pool's eventfd */
  if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, p->evfd, &ev) < 0) {
    int err = errno;
    close(p->evfd);
    free(p);
    return err;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->refs = 1;
  loop->pool = p;
  return 0;
}

int lsk_loop_submit(lsk_loop *loop, lsk_job *job) {
  int err;
  if (!loop->pool && (err = pool_start(loop)) != 0)
    return err;
  pool *p = loop->pool;
  job->done = 0;
  job->next = NULL;
  /* Arm first: once queued, the job belongs to the pool until it ends. */
  if (job->waiter) {
    job->waiter->job = job;
    if ((err = lsk_loop_arm(loop, job->waiter)) != 0) {
      job->waiter->job = NULL;
      return err;
    }
  }
  pthread_mutex_lock(&p->mu);
  if (p->idle == 0 && p->workers < MAX_WORKERS) {
    if (pthread_create(&p->tids[p->workers], NULL, worker, p) == 0) {
      p->workers++;
      p->refs++;
    }
    if (p->workers == 0) {
      pthread_mutex_unlock(&p->mu);
      if (job->waiter) {
        job->waiter->job = NULL;
        lsk_loop_cancel(loop, job->waiter);
      }
      return EAGAIN;
    }
  }
  if (p->queue_tail)
    p->queue_tail->next = job;
  else
    p->queue = job;
  p->queue_tail = job;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return 0;
}

static void collect_jobs(lsk_loop *loop) {
  pool *p = loop->pool;
  uint64_t n;
  if (read(p->evfd, &n, sizeof n) < 0) {
    /* EAGAIN: already drained by an earlier collection. */
  }
  pthread_mutex_lock(&p->mu);
  lsk_job *j = p->done;
  p->done = NULL;
  pthread_mutex_unlock(&p->mu);
  while (j) {
    lsk_job *next = j->next;
    j->done = 1;
    if (j->waiter) {
      j->waiter->job = NULL; /* done: its owner takes it back */
      lsk_loop_fire(loop, j->waiter, 0);
    }
    else
      j->free(j);
    j = next;
  }
}

/* ---- the loop ---- */

int lsk_loop_new(lsk_loop **out) {
  lsk_loop *loop = calloc(1, sizeof *loop);
  if (!loop)
    return ENOMEM;
  loop->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (loop->epfd < 0) {
    int err = errno;
    free(loop);
    return err;
  }
  *out = loop;
  return 0;
}

void lsk_loop_free(lsk_loop *loop) {
  if (!loop)
    return;
  if (loop->pool) {
    pool *p = loop->pool;
    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    pthread_cond_broadcast(&p->cv);
    /* Idle workers exit at once: wait for them, so that nothing of theirs
     * (glibc's per-thread resolver state) outlives the loop. A worker
     * still in a slow lookup is left to finish on its own. */
    int wait = p->running == 0 && p->queue == NULL;
    int n = p->workers;
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < n; i++) {
      if (wait)
        pthread_join(p->tids[i], NULL);
      else
        pthread_detach(p->tids[i]);
    }
    /* Jobs already collected into the loop but not claimed are freed by
     * their owners; those still in the pool go with it. */
    pool_unref(p);
  }
  close(loop->epfd);
  free(loop->fds);
  free(loop->heap);
  free(loop);
}

static void dispatch(lsk_loop *loop, int fd, uint32_t ev) {
  if (fd < 0) {
    collect_jobs(loop);
    return;
  }
  if (fd >= loop->nfds)
    return;
  int err = (ev & (EPOLLERR | EPOLLHUP)) != 0;
  fdrec *r = &loop->fds[fd];
  if (err)
    r->closed |= LSK_WANT_READ | LSK_WANT_WRITE;
  if (ev & EPOLLRDHUP)
    r->closed |= LSK_WANT_READ;
  if (err || (ev & (EPOLLIN | EPOLLRDHUP | EPOLLPRI)))
    r->drained &= ~LSK_WANT_READ;
  if (err || (ev & EPOLLOUT))
    r->drained &= ~LSK_WANT_WRITE;
  lsk_waiter *w = loop->fds[fd].head;
  while (w) {
    lsk_waiter *next = w->next;
    if (err ||
        ((w->events & LSK_WANT_READ) &&
         (ev & (EPOLLIN | EPOLLRDHUP | EPOLLPRI))) ||
        ((w->events & LSK_WANT_WRITE) && (ev & EPOLLOUT)))
      lsk_loop_fire(loop, w, 0);
    w = next;
  }
}

int lsk_loop_poll(lsk_loop *loop, lsk_deadline until, lsk_waiter **fired) {
  struct epoll_event evs[MAX_EVENTS];
  lsk_deadline d = until;
  if (loop->heaplen > 0 && loop->heap[0]->deadline < d)
    d = loop->heap[0]->deadline;
  int ms = loop->fired ? 0 : lsk_deadline_remaining_ms(d);
  int n = epoll_wait(loop->epfd, evs, MAX_EVENTS, ms);
  if (n < 0) {
    if (errno != EINTR)
      return errno;
    if (lsk_interrupted)
      return EINTR;
    n = 0;
  }
  for (int i = 0; i < n; i++)
    dispatch(loop, evs[i].data.fd, evs[i].events);
  if (loop->heaplen > 0) {
    int64_t now = lsk_clock_now();
    while (loop->heaplen > 0 && loop->heap[0]->deadline <= now)
      lsk_loop_fire(loop, loop->heap[0], ETIMEDOUT);
  }
  *fired = loop->fired;
  loop->fired = loop->fired_tail = NULL;
  return 0;
}
