#!/usr/bin/env python3
"""bench/bench.py: runs lsock's benchmark and prints the table.

Normally started by bench/run.sh, which installs the peers, builds lsock and
the C programs, raises the descriptor limit and then runs this with the
right paths. See `sh bench/run.sh --help`.

For every row (a workload on a CPU placement) it runs each implementation
in turn, then all of them again, --reps times (A B C D A B C D ...; the
one-core rows --one-core-reps times), and reports each one's median and
its ratio to the C reference's median. Every
process it starts runs in its own process group and is killed when its run
ends, fails or times out, and when this program exits or is interrupted.
"""
import argparse
import atexit
import datetime
import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

WORKLOADS = ["bulk", "pingpong", "connrate", "udp", "concurrent", "startup", "lines", "instructions"]
IMPLS = ["c", "lsock", "python", "luasocket", "lsock-tasks", "floor"]
LABELS = {"c": "C", "lsock": "lsock", "python": "Python 3", "luasocket": "LuaSocket",
          "lsock-tasks": "lsock tasks", "floor": "Lua floor"}
# Implementations that play only some workloads' rows: lsock's concurrent
# server written with tasks (lsock's own concurrent server uses
# socket.epoll, as Python's uses selectors), and the Lua floor
# (bench/c/floor.c), a reference rather than a library, which plays the
# rows that tell what Lua itself costs per call.
ONLY = {"lsock-tasks": ("concurrent",), "floor": ("pingpong", "connrate")}

# Sizes: the for a full run, small ones for the quick mode (a smoke
# test of the scripts: it checks that everything runs and parses, no speed).
FULL = {
    "bulk": 1 << 30,            # bytes
    "pingpong": 100_000,        # round trips
    "connrate": 20_000,         # connections
    "udp": 200_000,             # round trips
    "concurrent": [1000, 10000],  # simultaneous connections
    "rounds": 100,              # round trips per connection
    "startup": 50,              # launches per sample
    "lines": 100_000_000,       # bytes of 80-byte lines
    "instructions": 20_000,     # round trips under callgrind (and twice that)
    "timeout": 300,             # seconds, per run of one implementation
}
QUICK = {
    "bulk": 64 << 20,
    "pingpong": 5000,
    "connrate": 1000,
    "udp": 5000,
    "concurrent": [100, 1000],
    "rounds": 10,
    "startup": 5,
    "lines": 10_000_000,
    "instructions": 1000,
    "timeout": 60,
}

LIVE = set()  # processes started and not yet reaped


def kill(p):
    """Kills p's whole process group and reaps p."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    LIVE.discard(p)


def busy_jiffies():
    """CPU time spent by every process on the machine so far (user, nice
    and system, in clock ticks: interrupts and softirqs are left out)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return sum(int(x) for x in fields[1:4])


def own_jiffies():
    """CPU time of this program and of every child it has reaped."""
    t = os.times()
    return (t.user + t.system + t.children_user + t.children_system) * os.sysconf("SC_CLK_TCK")


def kill_all():
    for p in list(LIVE):
        kill(p)


def on_signal(signum, _frame):
    kill_all()
    sys.stderr.write(f"\nbench: stopped by signal {signum}; every process it started is gone\n")
    os._exit(128 + signum)


class RunError(Exception):
    pass


class Bench:
    def __init__(self, opts):
        self.o = opts
        self.sizes = QUICK if opts.quick else FULL
        self.notes = []      # skips and failures, printed under the table
        self.failed = False  # a run that should have worked did not
        self.ncpu = os.cpu_count() or 1
        self.taskset = shutil.which("taskset")
        self.tmp = tempfile.mkdtemp(prefix="lsock-bench-")
        self.bin = opts.bin_dir
        self.ref = os.path.join(self.bin, "ref")
        self.loadgen = os.path.join(self.bin, "loadgen")
        self.launch = os.path.join(self.bin, "launch")
        self.floor_so = os.path.join(self.bin, "floor.so")
        self.python = opts.python
        self.lua = shutil.which("lua5.4") or "lua5.4"
        self.valgrind = shutil.which("valgrind")
        self.available = {}
        self.results = []    # {"row", "unit", "impl", "samples": [...]}

    # ---- commands ----

    def cmd(self, impl, role, *args):
        args = [str(a) for a in args]
        if impl == "c":
            return [self.ref, role, *args]
        if impl == "lsock":
            return [self.o.lsock, os.path.join(HERE, "impl", "lsock.lua"), role, *args]
        if impl == "python":
            return [self.python, os.path.join(HERE, "impl", "python.py"), role, *args]
        if impl == "luasocket":
            return [self.lua, os.path.join(HERE, "impl", "luasocket.lua"), role, *args]
        if impl == "lsock-tasks":
            role = {"echo-server": "echo-tasks-server"}.get(role, role)
            return [self.o.lsock, os.path.join(HERE, "impl", "lsock.lua"), role, *args]
        if impl == "floor":
            return [self.o.lsock, os.path.join(HERE, "impl", "floor.lua"), self.floor_so, role, *args]
        raise ValueError(impl)

    def startup_cmd(self, impl):
        return {
            "c": [self.ref, "startup"],
            "lsock": [self.o.lsock, "-e", 'local socket = require "lsock"'],
            "python": [self.python, "-c", "import socket"],
            "luasocket": [self.lua, "-e", 'require "socket"'],
        }[impl]

    def note(self, text):
        print(f"  note: {text}", flush=True)
        if text not in self.notes:
            self.notes.append(text)

    def probe(self, argv, env=None):
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=30, env=env)
            return r.returncode == 0, (r.stderr or r.stdout).decode(errors="replace").strip()
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, str(e)

    def check_impls(self):
        """Which implementations can run here; a missing one gets a note."""
        for impl in self.o.impls:
            if impl == "c":
                missing = [p for p in (self.ref, self.loadgen, self.launch) if not os.access(p, os.X_OK)]
                ok, why = not missing, "not built: " + ", ".join(missing)
            elif impl == "lsock":
                ok, why = self.probe([self.o.lsock, "-e", 'assert(require "lsock")'])
            elif impl == "lsock-tasks":
                ok, why = self.probe([self.o.lsock, "-e",
                                      'local s = require "lsock"; assert(s.spawn and s.run)'])
            elif impl == "python":
                ok, why = self.probe([self.python, "-c", "import socket, selectors"])
            elif impl == "floor":
                ok, why = self.probe([self.o.lsock, "-e",
                                      f'assert(package.loadlib("{self.floor_so}", "luaopen_floor"))'])
            else:
                ok, why = self.probe([self.lua, "-e", 'require "socket"'])
            self.available[impl] = ok
            if not ok:
                self.note(f"{LABELS[impl]} skipped everywhere: it does not run here ({why.splitlines()[-1] if why else 'no output'})")
        if "lsock" in self.o.impls and self.available.get("lsock"):
            ok, _ = self.probe([self.o.lsock, "-e", 'local s = require "lsock"; os.exit(s.epoll and 0 or 3)'])
            self.available["lsock-epoll"] = ok
        if "c" not in self.o.impls or not self.available.get("c"):
            self.note("no C reference in this run: ratios are not computed")

    # ---- running processes ----

    def pin(self, cpus):
        if cpus is None or not self.taskset:
            return []
        return [self.taskset, "-c", cpus]

    def spawn(self, argv, cpus, name, env=None, stdin=subprocess.DEVNULL):
        err = open(os.path.join(self.tmp, name + ".err"), "w+b")
        p = subprocess.Popen(self.pin(cpus) + [str(a) for a in argv], stdin=stdin,
                             stdout=subprocess.PIPE, stderr=err,
                             start_new_session=True, env=env)
        p.errfile = err
        LIVE.add(p)
        return p

    @staticmethod
    def stderr_tail(p):
        p.errfile.seek(0)
        text = [t for t in p.errfile.read().decode(errors="replace").strip().splitlines()
                if t.strip() and not t.startswith((" ", "\t"))]
        if not text:
            return f"exit status {p.returncode}"
        # Lua puts the message first, Python last (after "Traceback ...").
        return text[-1] if text[0].startswith("Traceback") else text[0]

    @staticmethod
    def read_line(p, deadline):
        """The first line of p's stdout, within the deadline."""
        fd = p.stdout.fileno()
        data = b""
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RunError("no first line (port, READY) in time")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 256)
                if not chunk:
                    p.wait()
                    raise RunError("exited early: " + Bench.stderr_tail(p))
                data += chunk
        return data.split(b"\n", 1)[0].decode()

    @staticmethod
    def parse_result(out):
        for line in out.decode(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "RESULT":
                count, secs = int(parts[1]), float(parts[2])
                if secs <= 0:
                    raise RunError(f"bad RESULT line: {line}")
                return count, secs
        raise RunError("no RESULT line in the client's output")

    def pair(self, impl, workload, args, cpus_server, cpus_client, server_prefix=()):
        """Runs one server/client pair (the server's command after
        server_prefix); returns (count, seconds)."""
        deadline = time.monotonic() + self.sizes["timeout"]
        procs = []
        try:
            srv_args = [args[0]] if workload in ("connrate", "lines") else []
            srv = self.spawn([*server_prefix, *self.cmd(impl, workload + "-server", *srv_args)],
                             cpus_server, "server")
            procs.append(srv)
            port = int(self.read_line(srv, deadline))
            cli = self.spawn(self.cmd(impl, workload + "-client", port, *args), cpus_client, "client")
            procs.append(cli)
            try:
                out, _ = cli.communicate(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise RunError(f"timed out after {self.sizes['timeout']} s")
            if cli.returncode != 0:
                raise RunError("client failed: " + self.stderr_tail(cli))
            try:
                srv.wait(timeout=max(1, min(15, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                raise RunError("server did not exit after the client finished")
            if srv.returncode != 0:
                raise RunError("server failed: " + self.stderr_tail(srv))
            return self.parse_result(out)
        finally:
            for p in procs:
                kill(p)
                p.errfile.close()

    @staticmethod
    def peak_rss_kib(pid):
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise RunError("no VmHWM in /proc")

    @staticmethod
    def cpu_ns(pid):
        """CPU time used so far by every thread of pid, in nanoseconds."""
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        return total

    def concurrent(self, impl, conns):
        """The impl's echo server on CPU 0, the C load generator on CPU 1;
        returns (round trips, seconds, server peak RSS KiB, server CPU
        seconds during the timed part)."""
        deadline = time.monotonic() + self.sizes["timeout"]
        procs = []
        try:
            srv = self.spawn(self.cmd(impl, "echo-server"), "0", "server")
            procs.append(srv)
            port = int(self.read_line(srv, deadline))
            gen = self.spawn([self.loadgen, port, conns, self.sizes["rounds"], self.sizes["timeout"]],
                             "1", "loadgen", stdin=subprocess.PIPE)
            procs.append(gen)
            if self.read_line(gen, deadline) != "READY":
                raise RunError("the load generator did not say READY")
            cpu0 = self.cpu_ns(srv.pid)
            try:
                out, _ = gen.communicate(b"GO\n", timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise RunError(f"timed out after {self.sizes['timeout']} s")
            if srv.poll() is not None:
                raise RunError("server died: " + self.stderr_tail(srv))
            if gen.returncode != 0:
                raise RunError("load generator failed: " + self.stderr_tail(gen))
            cpu = (self.cpu_ns(srv.pid) - cpu0) / 1e9
            rss = self.peak_rss_kib(srv.pid)
            count, secs = self.parse_result(out)
            return count, secs, rss, cpu
        finally:
            for p in procs:
                kill(p)
                p.errfile.close()

    def startup(self, command, env=None):
        """Median wall time (ms) and peak RSS (KiB) of launching the
        interpreter to load its socket module and exit."""
        argv = [self.launch, self.sizes["startup"], *command]
        p = self.spawn([str(a) for a in argv], "0", "launch", env)
        try:
            out, _ = p.communicate(timeout=self.sizes["timeout"])
            if p.returncode != 0:
                raise RunError("launch failed: " + self.stderr_tail(p))
            for line in out.decode().splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[0] == "STARTUP":
                    return float(parts[1]), float(parts[2])
            raise RunError("no STARTUP line")
        except subprocess.TimeoutExpired:
            raise RunError("timed out")
        finally:
            kill(p)
            p.errfile.close()

    def callgrind(self, run, k):
        """The user-space instructions callgrind counts in run(prefix, k),
        which starts one process under prefix."""
        out = os.path.join(self.tmp, "callgrind.out")
        if os.path.exists(out):
            os.unlink(out)
        run([self.valgrind, "--tool=callgrind", "--callgrind-out-file=" + out], k)
        try:
            with open(out) as f:
                for line in f:
                    if line.startswith(("summary:", "totals:")):
                        return int(line.split()[1])
        except (OSError, ValueError) as e:
            raise RunError(f"unreadable callgrind output: {e}")
        raise RunError("no totals in the callgrind output")

    def per_op(self, run):
        """Instructions per operation (round trip, connection) of run: the
        count of 2n operations minus that of n, over n, so that start-up
        and exit cancel out."""
        n = self.sizes["instructions"]
        return (self.callgrind(run, 2 * n) - self.callgrind(run, n)) / n

    # ---- rows ----

    def rows(self):
        """The rows to run, each a dict: name, run(impl) -> {unit: value},
        skip(impl) -> None, or a note saying why impl is skipped ("" when the
        row does not apply to it), fds: descriptors a process needs, and
        optionally reps (instead of --reps) and workload (an implementation
        in ONLY plays the row when its workload is among its own)."""
        s = self.sizes
        two, one = ("0", "1"), ("0", "0")
        out = []
        want = self.o.workloads
        placements = []
        if self.o.placement in ("both", "2"):
            placements.append(("2 cores", two))
        if self.o.placement in ("both", "1"):
            placements.append(("1 core", one))

        def pair_row(workload, size, per, unit, scale, place):
            label, (cs, cc) = place
            name = f"{workload} ({per}, {label})"

            def run(impl):
                count, secs = self.pair(impl, workload, [size], cs, cc)
                return {unit: count / secs / scale}
            row = {"name": name, "run": run, "skip": lambda impl: None, "fds": 0,
                   "workload": workload}
            if label == "1 core":
                row["reps"] = self.o.one_core_reps
            out.append(row)

        two_core = [p for p in placements if p[0] == "2 cores"]
        if self.ncpu < 2 and two_core:
            self.note(f"only {self.ncpu} CPU: the two-core rows are skipped")
            two_core = []
        if "bulk" in want:
            for place in two_core:
                pair_row("bulk", s["bulk"], f"{s['bulk'] >> 20} MiB", "MB/s", 1e6, place)
        for wl, per in (("pingpong", "round trips/s"), ("connrate", "connections/s"), ("udp", "round trips/s")):
            if wl not in want:
                continue
            for place in placements:
                if place[0] == "2 cores" and not two_core:
                    continue
                pair_row(wl, s[wl], f"{s[wl]:,}", per, 1, place)
        if "concurrent" in want and two_core:
            for n in s["concurrent"]:
                def run(impl, n=n):
                    count, secs, rss, cpu = self.concurrent(impl, n)
                    return {"round trips/s": count / secs,
                            "server CPU µs/round trip": cpu / count * 1e6,
                            "server peak RSS MiB": rss / 1024}

                def skip(impl, n=n):
                    if impl == "lsock" and not self.available.get("lsock-epoll"):
                        return "lsock concurrent skipped: this lsock has no socket.epoll"
                    if impl == "luasocket" and n + 16 > 1024:
                        return (f"LuaSocket concurrent {n:,} skipped: socket.select works on an fd_set "
                                "and refuses descriptors >= FD_SETSIZE (1024)")
                    return None
                out.append({"name": f"concurrent ({n:,} conns x {s['rounds']})", "run": run,
                            "skip": skip, "fds": n + 64, "workload": "concurrent"})
        if "startup" in want:
            def run(impl):
                ms, rss = self.startup(self.startup_cmd(impl))
                return {"ms": ms, "peak RSS MiB": rss / 1024}
            out.append({"name": f"startup (median of {s['startup']})", "run": run,
                        "skip": lambda impl: None, "fds": 0})
            # lsock.so in stock lua5.4: the same interpreter as LuaSocket's row.
            so_dir = os.path.dirname(self.o.lsock)

            def run_so(impl):
                env = dict(os.environ, LUA_CPATH=f"{so_dir}/?.so;;")
                ms, rss = self.startup([self.lua, "-e", 'require "lsock"'], env)
                return {"ms": ms, "peak RSS MiB": rss / 1024}

            def skip_so(impl):
                if impl != "lsock":
                    return ""
                if not os.path.exists(os.path.join(so_dir, "lsock.so")):
                    return f"lsock.so startup skipped: no lsock.so in {so_dir}"
                return None
            out.append({"name": "startup, lsock.so in lua5.4", "run": run_so, "skip": skip_so, "fds": 0})
        if "lines" in want:
            for place in two_core:
                pair_row("lines", s["lines"], f"{s['lines'] // 1_000_000} MB", "MB/s", 1e6, place)
        if "instructions" in want:
            # Instruction counts do not vary from run to run: one run each.
            def skip_cg(impl):
                if not self.valgrind:
                    return "instruction rows skipped: valgrind is not installed (apt-get install valgrind)"
                return None
            for wl, per in (("pingpong", "round trip"), ("connrate", "connection"), ("udp", "round trip")):
                def run(impl, wl=wl, per=per):
                    return {f"instructions/{per}": self.per_op(
                        lambda prefix, k: self.pair(impl, wl, [k], "0", "1", server_prefix=prefix))}
                out.append({"name": f"{wl} server, callgrind", "run": run, "skip": skip_cg,
                            "fds": 0, "reps": 1, "workload": wl})
        return out

    def run(self):
        self.check_impls()
        impls = [i for i in self.o.impls if self.available.get(i)]
        if not self.taskset:
            self.note("taskset not found: processes are not pinned to CPUs")
        try:
            nofile = int(subprocess.run(["sh", "-c", "ulimit -n"], capture_output=True).stdout)
        except ValueError:
            nofile = 1 << 30
        for row in self.rows():
            name, runner = row["name"], row["run"]
            print(f"\n== {name}", flush=True)
            active = []
            for impl in impls:
                plays = impl not in ONLY or row.get("workload") in ONLY[impl]
                why = row["skip"](impl) if plays else ""
                if why is None and row["fds"] > nofile:
                    why = f"{name} skipped: the descriptor limit is {nofile} (run with ulimit -n {row['fds']})"
                if why == "":
                    continue
                if why:
                    self.note(why)
                    self.results.append({"row": name, "impl": impl, "skipped": why, "samples": []})
                else:
                    active.append(impl)
            samples = {impl: [] for impl in active}
            errors = {impl: [] for impl in active}
            busy = own = wall = 0.0
            reps = row.get("reps", self.o.reps)
            for rep in range(reps):
                self.wait_idle()
                busy0, own0, t0 = busy_jiffies(), own_jiffies(), time.monotonic()
                for impl in active:
                    try:
                        v = runner(impl)
                        samples[impl].append(v)
                        shown = ", ".join(f"{fmt(x)} {u}" for u, x in v.items())
                        print(f"  rep {rep + 1} {LABELS[impl]:<10} {shown}", flush=True)
                    except (RunError, OSError, ValueError) as e:
                        errors[impl].append(str(e))
                        print(f"  rep {rep + 1} {LABELS[impl]:<10} FAILED: {e}", flush=True)
                busy += busy_jiffies() - busy0
                own += own_jiffies() - own0
                wall += (time.monotonic() - t0) * os.sysconf("SC_CLK_TCK") * self.ncpu
            # How much CPU other processes took meanwhile (approximate): a
            # benchmark of a 2-CPU machine shared with other work is noisy.
            other = max(0.0, (busy - own) / wall) if wall > 0 else 0.0
            if other > 0.10:
                self.note(f"{name}: other processes used about {other:.0%} of the CPUs during this row")
            for impl in active:
                for e in dict.fromkeys(errors[impl]):
                    self.failed = True
                    self.note(f"{LABELS[impl]} {name}: {len(errors[impl])} of {reps} runs failed: {e}")
                self.results.append({"row": name, "impl": impl, "samples": samples[impl],
                                     "errors": errors[impl], "other_cpu": round(other, 3)})
        self.report(impls)

    def wait_idle(self):
        """With --wait-idle S: before a round of runs, wait (at most S
        seconds in all) until other processes leave the CPUs alone."""
        if self.o.wait_idle <= 0:
            return
        waited = 0.0
        while waited < self.o.wait_idle:
            b0, t0 = busy_jiffies(), time.monotonic()
            time.sleep(2)
            dt = time.monotonic() - t0
            waited += dt
            other = (busy_jiffies() - b0) / (dt * os.sysconf("SC_CLK_TCK") * self.ncpu)
            if other < 0.05:
                return
            print(f"  (other processes use {other:.0%} of the CPUs: waiting)", flush=True)
        self.o.wait_idle = 0  # used up: go on regardless

    # ---- the table ----

    def medians(self):
        """{(row, unit): {impl: median}} in row order."""
        table = {}
        for r in self.results:
            if not r["samples"]:
                continue
            for unit in r["samples"][0]:
                vals = [s[unit] for s in r["samples"]]
                table.setdefault((r["row"], unit), {})[r["impl"]] = statistics.median(vals)
        return table

    def report(self, impls):
        table = self.medians()
        cols = [i for i in self.o.impls]
        header = ["workload", "unit"] + [LABELS[i] for i in cols]
        lines = []
        for (row, unit), vals in table.items():
            base = vals.get("c")
            cells = []
            for impl in cols:
                if impl not in vals:
                    cells.append(self.missing_cell(row, impl))
                    continue
                v = vals[impl]
                ratio = f" ({v / base:.2f}x)" if base else ""
                cells.append(fmt(v) + ratio)
            lines.append([row, unit] + cells)
        info = machine_info()
        title = (f"lsock benchmark, {info['date']}, {'quick mode' if self.o.quick else 'full run'}, "
                 f"median of {self.o.reps}"
                 + (f" (one-core rows: {self.o.one_core_reps})"
                    if self.o.one_core_reps != self.o.reps and self.o.placement != "2" else "")
                 + ("; instruction counts from one run each" if "instructions" in self.o.workloads else "")
                 + "; ratios are to the C reference")
        print("\n" + title)
        machine = (f"machine: {info['cpus']} CPUs, {info['cpu']}, Linux {info['kernel']}"
                   + (f", {info['virt']}" if info["virt"] else "") + f"; lsock {info['lsock']}")
        print(machine)
        text = render_text(header, lines)
        print(text)
        if self.notes:
            print("notes:")
            for n in self.notes:
                print(f"  - {n}")
        md = render_markdown(header, lines)
        if self.o.markdown:
            with open(self.o.markdown, "w") as f:
                f.write(f"{title}\n\n{machine}\n\n{md}\n")
                if self.notes:
                    f.write("\n")
                for n in self.notes:
                    f.write(f"- {n}\n")
            print(f"markdown table: {self.o.markdown}")
        if self.o.json:
            with open(self.o.json, "w") as f:
                json.dump({"machine": info, "quick": self.o.quick, "reps": self.o.reps,
                           "one_core_reps": self.o.one_core_reps,
                           "sizes": self.sizes, "results": self.results, "notes": self.notes}, f, indent=1)
            print(f"all samples: {self.o.json}")

    def missing_cell(self, row, impl):
        """What a cell without a figure says: skipped (with a note), failed
        (with a note) or "-" (the row does not apply)."""
        if not self.available.get(impl):
            return "skipped"
        for r in self.results:
            if r["row"] == row and r["impl"] == impl:
                return "skipped" if r.get("skipped") else "failed"
        return "-"


def fmt(x):
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def render_text(header, lines):
    widths = [max(len(str(r[i])) for r in [header] + lines) for i in range(len(header))]
    out = []
    for k, r in enumerate([header] + lines):
        out.append("  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def render_markdown(header, lines):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(["---", "---"] + ["---:"] * (len(header) - 2)) + "|"]
    for r in lines:
        out.append("| " + " | ".join(r) + " |")
    return "\n".join(out)


def machine_info():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    virt = ""
    try:
        d = subprocess.run(["dmesg"], capture_output=True, timeout=10).stdout.decode(errors="replace")
        if "gVisor" in d:
            virt = "under gVisor"
        elif "Hypervisor detected" in d:
            virt = "virtual machine (" + d.split("Hypervisor detected:", 1)[1].split("\n", 1)[0].strip() + ")"
    except (OSError, subprocess.TimeoutExpired, IndexError):
        pass
    try:
        rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                             capture_output=True, timeout=10).stdout.decode().strip()
    except (OSError, subprocess.TimeoutExpired):
        rev = ""
    return {"date": datetime.date.today().isoformat(), "cpus": os.cpu_count(), "cpu": cpu,
            "kernel": platform.release(), "virt": virt, "lsock": rev or "unknown"}


def main():
    ap = argparse.ArgumentParser(description="lsock's benchmark (normally run through bench/run.sh)")
    ap.add_argument("--quick", action="store_true", help="small sizes, one repetition: a smoke test")
    ap.add_argument("--impl", default=",".join(IMPLS), help="comma-separated: " + ",".join(IMPLS))
    ap.add_argument("--workload", default=",".join(WORKLOADS), help="comma-separated: " + ",".join(WORKLOADS))
    ap.add_argument("--reps", type=int, help="repetitions (default 5, 1 in quick mode)")
    ap.add_argument("--one-core-reps", type=int,
                    help="repetitions of the one-core rows, whose samples take seconds and "
                         "spread most (default 3 times --reps; 1 in quick mode)")
    ap.add_argument("--placement", choices=["both", "2", "1"], default="both",
                    help="two-process rows on 2 cores, 1 core or both (default)")
    ap.add_argument("--bin-dir", required=True, help="where ref, loadgen and launch are")
    ap.add_argument("--lsock", required=True, help="the built lsock interpreter")
    ap.add_argument("--python", default=shutil.which("python3") or "python3")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="S",
                    help="before each round of runs wait until other processes leave the CPUs "
                         "idle, for at most S seconds in all (default 0: do not wait)")
    ap.add_argument("--markdown", help="also write the table as Markdown to this file")
    ap.add_argument("--json", help="also write every sample as JSON to this file")
    o = ap.parse_args()
    o.impls = [i for i in o.impl.split(",") if i]
    o.workloads = [w for w in o.workload.split(",") if w]
    for i in o.impls:
        if i not in IMPLS:
            ap.error(f"unknown implementation {i!r}; choose from {', '.join(IMPLS)}")
    for w in o.workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w!r}; choose from {', '.join(WORKLOADS)}")
    if o.reps is None:
        o.reps = 1 if o.quick else 5
    if o.one_core_reps is None:
        o.one_core_reps = o.reps if o.quick else 3 * o.reps
    if o.reps < 1 or o.one_core_reps < 1:
        ap.error("--reps and --one-core-reps must be at least 1")
    o.lsock = os.path.abspath(o.lsock)
    o.bin_dir = os.path.abspath(o.bin_dir)

    atexit.register(kill_all)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    b = Bench(o)
    t0 = time.monotonic()
    try:
        b.run()
    finally:
        kill_all()
        shutil.rmtree(b.tmp, ignore_errors=True)
    print(f"bench: {time.monotonic() - t0:.0f} s")
    sys.exit(1 if b.failed else 0)


if __name__ == "__main__":
    main()
