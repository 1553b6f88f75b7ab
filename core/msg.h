/* core/msg: the socket calls beyond send and recv: sendmsg/recvmsg with
 * ancillary data (descriptor passing), sendfile with its read fallback,
 * and closing a bare descriptor. One attempt each, as core/sock. */
#ifndef LSK_MSG_H
#define LSK_MSG_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "sock.h"

/* One sendmsg attempt with `m` as the caller built it (msg_name may be
 * NULL), never raising SIGPIPE: 0 with *sent set, EAGAIN, or errno
 * (EMSGSIZE, EINVAL for bad ancillary data, EBADF for a bad descriptor in
 * SCM_RIGHTS, EPIPE, ...). */
int lsk_sock_sendmsg(const lsk_sock *s, const struct msghdr *m, int flags,
                     size_t *sent);

/* One recvmsg attempt into `m` (buffers, control buffer and name space set
 * by the caller; msg_namelen and msg_controllen are updated). Descriptors
 * that arrive in SCM_RIGHTS items are close-on-exec: MSG_CMSG_CLOEXEC is
 * always added, and every received descriptor gets FD_CLOEXEC set again
 * (some kernels, gVisor among them, ignore the flag). They belong to the
 * caller. Returns 0 with *got set, EAGAIN, or errno. */
int lsk_sock_recvmsg(const lsk_sock *s, struct msghdr *m, int flags,
                     size_t *got);

/* Calls fn(fd, ctx) for every descriptor in the SCM_RIGHTS items of a
 * received message's control data. */
void lsk_msg_each_fd(const struct msghdr *m, void (*fn)(int fd, void *ctx),
                     void *ctx);

/* CMSG_LEN / CMSG_SPACE for `len` data bytes; 0 when the result would not
 * fit in a socklen_t. */
size_t lsk_msg_cmsg_len(size_t len);
size_t lsk_msg_cmsg_space(size_t len);

/* One sendfile(2) attempt: up to `count` bytes of `infd` from *offset
 * (advanced by what went; infd's own position is untouched) to the
 * socket, never raising SIGPIPE. Returns 0 with *sent set (0 at end of
 * file), EAGAIN, ENOTSUP when sendfile cannot read that kind of file (a
 * pipe, a socket: use the read fallback), or errno. */
int lsk_sock_sendfile(lsk_sock *s, int infd, off_t *offset,
                      size_t count, size_t *sent);

/* One read of up to len bytes of fd into buf: at `offset` (pread) when
 * offset >= 0, else from the current position. Returns 0 with *got set
 * (0 at end of file), EAGAIN, ESPIPE (pread on a pipe) or errno. */
int lsk_fd_read(int fd, void *buf, size_t len, off_t offset, size_t *got);

/* Closes a bare descriptor (socket.close(fd)); EINTR counts as closed, as
 * in lsk_sock_close. Returns 0 or errno (EBADF). */
int lsk_fd_close(int fd);

#endif
