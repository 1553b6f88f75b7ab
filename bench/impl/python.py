"""bench/impl/python.py: the benchmark's roles written with Python 3's socket
module (and selectors for the concurrent echo server):
    python3 bench/impl/python.py ROLE [ARGS...]
Same roles and protocols as bench/c/ref.c (see there); plain, idiomatic code.
"""
import selectors
import socket
import sys
import time

CHUNK, MSG, LINE = 65536, 64, 80


def result(count, secs):
    print(f"RESULT {count} {secs:.9f}", flush=True)


def server_socket(type, backlog=0):
    """A socket bound to 127.0.0.1 port 0, listening if a stream; prints the port."""
    s = socket.socket(socket.AF_INET, type)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    if type == socket.SOCK_STREAM:
        s.listen(backlog)
    print(s.getsockname()[1], flush=True)
    return s


def connect_to(port):
    return socket.create_connection(("127.0.0.1", port))


def recv_exact(s, n):
    """recv until n bytes have come; None at end of stream before the first."""
    data = s.recv(n)
    if not data:
        return None
    while len(data) < n:
        more = s.recv(n - len(data))
        if not more:
            raise EOFError("end of stream inside a message")
        data += more
    return data


def bulk_server():
    ls = server_socket(socket.SOCK_STREAM, 16)
    c, _ = ls.accept()
    total = 0
    while True:
        data = c.recv(CHUNK)
        if not data:
            break
        total += len(data)
    c.sendall(str(total).encode())
    c.close()
    ls.close()


def bulk_client(port, nbytes):
    chunk = b"x" * CHUNK
    s = connect_to(port)
    t0 = time.perf_counter()
    left = nbytes
    while left > 0:
        s.sendall(chunk if left >= CHUNK else chunk[:left])
        left -= CHUNK
    s.shutdown(socket.SHUT_WR)
    ack = b""
    while True:
        data = s.recv(32)
        if not data:
            break
        ack += data
    t1 = time.perf_counter()
    assert int(ack) == nbytes, f"server got {ack} bytes"
    result(nbytes, t1 - t0)
    s.close()


def pingpong_server():
    ls = server_socket(socket.SOCK_STREAM, 16)
    c, _ = ls.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        data = recv_exact(c, MSG)
        if data is None:
            break
        c.sendall(data)
    c.close()
    ls.close()


def pingpong_client(port, n):
    msg = b"x" * MSG
    s = connect_to(port)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = time.perf_counter()
    for _ in range(n):
        s.sendall(msg)
        assert recv_exact(s, MSG) is not None, "server closed early"
    t1 = time.perf_counter()
    result(n, t1 - t0)
    s.close()


def connrate_server(n):
    ls = server_socket(socket.SOCK_STREAM, 128)
    for _ in range(n):
        c, _ = ls.accept()
        assert len(c.recv(1)) == 1
        c.close()
    ls.close()


def connrate_client(port, n):
    t0 = time.perf_counter()
    for _ in range(n):
        s = socket.socket()
        s.connect(("127.0.0.1", port))
        s.sendall(b"x")
        assert s.recv(1) == b"", "expected the end of stream"
        s.close()
    t1 = time.perf_counter()
    result(n, t1 - t0)


def udp_server():
    s = server_socket(socket.SOCK_DGRAM)
    while True:
        data, addr = s.recvfrom(MSG)
        if len(data) != MSG:
            break
        s.sendto(data, addr)
    s.close()


def udp_client(port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    msg = b"x" * MSG
    addr = ("127.0.0.1", port)
    t0 = time.perf_counter()
    for _ in range(n):
        s.sendto(msg, addr)
        assert len(s.recv(MSG)) == MSG
    t1 = time.perf_counter()
    s.sendto(b"END", addr)
    result(n, t1 - t0)
    s.close()


def echo_server():
    """The concurrent workload's server: selectors (epoll), non-blocking
    sockets, a callback per readiness event. Runs until killed."""
    sel = selectors.DefaultSelector()
    ls = server_socket(socket.SOCK_STREAM, 4096)
    ls.setblocking(False)
    pending = {}  # connection -> bytes of a reply not yet sent

    def close(c):
        sel.unregister(c)
        pending.pop(c, None)
        c.close()

    def accept(ls):
        while True:
            try:
                c, _ = ls.accept()
            except BlockingIOError:
                return
            c.setblocking(False)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sel.register(c, selectors.EVENT_READ, read)

    def write_rest(c, data):
        try:
            n = c.send(data)
        except BlockingIOError:
            n = 0
        except OSError:
            close(c)
            return
        if n < len(data):
            pending[c] = data[n:]
            sel.modify(c, selectors.EVENT_WRITE, writable)
        elif c in pending:
            del pending[c]
            sel.modify(c, selectors.EVENT_READ, read)

    def read(c):
        try:
            data = c.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            close(c)
        else:
            write_rest(c, data)

    def writable(c):
        write_rest(c, pending[c])

    sel.register(ls, selectors.EVENT_READ, accept)
    while True:
        for key, _ in sel.select():
            key.data(key.fileobj)


def lines_server(nbytes):
    ls = server_socket(socket.SOCK_STREAM, 16)
    c, _ = ls.accept()
    per = CHUNK // LINE
    chunk = b"".join(bytes([97 + i % 26]) * (LINE - 1) + b"\n" for i in range(per))
    lines = nbytes // LINE
    while lines > 0:
        c.sendall(chunk if lines >= per else chunk[: lines * LINE])
        lines -= per
    c.close()
    ls.close()


def lines_client(port, nbytes):
    s = connect_to(port)
    t0 = time.perf_counter()
    f = s.makefile("rb")
    lines = total = 0
    while True:
        line = f.readline()
        if not line:
            break
        lines += 1
        total += len(line)
    t1 = time.perf_counter()
    assert lines == nbytes // LINE and total == lines * LINE, f"got {lines} lines"
    result(total, t1 - t0)
    f.close()
    s.close()


def main():
    role = globals().get(sys.argv[1].replace("-", "_")) if len(sys.argv) > 1 else None
    if role is None:
        sys.exit("usage: python3 python.py ROLE [ARGS...] (see bench/c/ref.c)")
    role(*(int(a) for a in sys.argv[2:]))


if __name__ == "__main__":
    main()
