#!/usr/bin/env python3
"""Hostile-load suite (issue 18): what one attacker with a laptop would try,
against a release build on this machine. Not part of CI (it takes minutes and
measures the machine); the fast, deterministic parts are tests/api/hostile.rs
and tests/api/connections.rs.

Each scenario runs against a fresh server while a well-behaved client from
another address (127.0.0.2) asks `/health` and an authenticated contact list
every 50 ms on a new connection each time; the report gives that client's
latencies, the attacker's answers, and the server's memory (RSS sampled every
100 ms from /proc).

    bench/hostile/run.py [--backend sqlite|postgres] [--only NAME ...]
                         [--signins-seconds 20] [--million 1000000]

Writes a Markdown report to stdout (and bench/work/hostile-<backend>.md).
Needs only Python's standard library and `cargo build --release`.
"""

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "target", "release", "crm")
PG_ADMIN = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432")
PORT = 8094
PASSWORD = "Password 123"
VICTIM = "127.0.0.2"


# --- the server -----------------------------------------------------------


class Server:
    """A release server on PORT with its own data directory, its RSS sampled."""

    def __init__(self, backend, env=None):
        self.backend = backend
        self.dir = tempfile.mkdtemp(prefix="crm-hostile-")
        environment = dict(os.environ)
        environment.update(
            {
                "CRM_BIND": f"127.0.0.1:{PORT}",
                "CRM_DATA_DIR": self.dir,
                "CRM_LOG": "warn",
                # Registration of the victim and the scenario's own set-up.
                "CRM_AUTH_RATE_PER_MINUTE": "100000",
                "CRM_AUTH_IP_RATE_PER_MINUTE": "100000",
            }
        )
        if backend == "postgres":
            psql("DROP DATABASE IF EXISTS crm_hostile WITH (FORCE)")
            psql("CREATE DATABASE crm_hostile")
            environment["DATABASE_URL"] = f"{PG_ADMIN}/crm_hostile"
        environment.update(env or {})
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.process = subprocess.Popen([BIN], env=environment, stdout=self.log, stderr=self.log)
        self.samples = []  # (seconds since start, RSS in MB)
        self.started = time.monotonic()
        self._stop = threading.Event()
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit(f"the server did not start; see {self.dir}/server.log")
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self):
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - self.started, self.rss()))
            time.sleep(0.1)

    def rss(self):
        try:
            with open(f"/proc/{self.process.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def peak_since(self, t):
        return max((mb for (at, mb) in self.samples if at >= t), default=self.rss())

    def now(self):
        return time.monotonic() - self.started

    def metric(self, name):
        text = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def stop(self):
        self._stop.set()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        if self.backend == "postgres":
            psql("DROP DATABASE IF EXISTS crm_hostile WITH (FORCE)")
        shutil.rmtree(self.dir, ignore_errors=True)


def psql(sql):
    subprocess.run(["psql", f"{PG_ADMIN}/postgres", "-qAtX", "-c", sql], check=True, capture_output=True)


# --- a small HTTP/1.1 client on raw sockets -----------------------------------


async def connect(source=None):
    """A connection to the server; from `source` when given (binding first
    takes a port for good, so the attacker, with many, lets the kernel pick)."""
    local = (source, 0) if source else None
    return await asyncio.open_connection("127.0.0.1", PORT, local_addr=local)


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return status, body


def request_bytes(method, path, headers=None, body=b""):
    lines = [f"{method} {path} HTTP/1.1", "Host: crm.test"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def exchange(method, path, headers=None, body=b"", source=None):
    reader, writer = await connect(source)
    try:
        writer.write(request_bytes(method, path, headers, body))
        await writer.drain()
        return await read_response(reader)
    finally:
        writer.close()


def json_body(value):
    return {"Content-Type": "application/json"}, json.dumps(value).encode()


async def register(email, source=None):
    headers, body = json_body({"email": email, "password": PASSWORD, "name": email.split("@")[0]})
    status, answer = await exchange("POST", "/api/v1/auth/register", headers, body, source)
    assert status == 201, (status, answer)
    session = json.loads(answer)
    return {
        "Authorization": f"Bearer {session['access_token']}",
        "X-Organization-Id": session["organizations"][0]["id"],
    }


# --- the well-behaved client ----------------------------------------------------


class Victim:
    """Asks /health and a contact list from VICTIM every 50 ms, each on a new
    connection, until stopped; keeps each answer's latency."""

    def __init__(self, auth):
        self.auth = auth
        self.latencies = {"health": [], "list": []}
        self.failures = collections.Counter()
        self.running = True

    async def run(self):
        turn = 0
        while self.running:
            kind = "health" if turn % 2 == 0 else "list"
            path = "/health" if kind == "health" else "/api/v1/contacts?limit=20"
            headers = {} if kind == "health" else self.auth
            started = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(exchange("GET", path, headers, source=VICTIM), 10)
                if status == 200:
                    self.latencies[kind].append((time.perf_counter() - started) * 1000)
                else:
                    self.failures[f"{kind} {status}"] += 1
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                self.failures[f"{kind} {type(e).__name__}"] += 1
            turn += 1
            await asyncio.sleep(0.05)

    def summary(self):
        out = {}
        for kind, values in self.latencies.items():
            if values:
                values = sorted(values)
                out[kind] = {
                    "n": len(values),
                    "p50": round(statistics.median(values), 1),
                    "p99": round(values[min(len(values) - 1, int(len(values) * 0.99))], 1),
                    "max": round(values[-1], 1),
                }
        out["failures"] = dict(self.failures)
        return out


def victim_process(auth, stop, results):
    """The victim, in a process of its own: the attacker's event loop and
    CPU must not delay its measurements."""

    async def run():
        victim = Victim(auth)
        task = asyncio.create_task(victim.run())
        while not stop.is_set():
            await asyncio.sleep(0.05)
        victim.running = False
        await task
        results.put(victim.summary())

    asyncio.run(run())


async def with_victim(server, auth, attack):
    """Runs `attack` while the victim asks; returns the attack's result, the
    victim's summary and the server's memory before, at peak and after."""
    stop = multiprocessing.Event()
    results = multiprocessing.Queue()
    victim = multiprocessing.Process(target=victim_process, args=(auth, stop, results))
    before = server.rss()
    t0 = server.now()
    victim.start()
    await asyncio.sleep(0.5)
    result = await attack()
    stop.set()
    summary = results.get(timeout=60)
    victim.join()
    peak = server.peak_since(t0)
    await asyncio.sleep(2)
    return {"attack": result, "victim": summary, "rss_mb": [round(before), round(peak), round(server.rss())]}


# --- the scenarios ----------------------------------------------------------------


async def scenario_signins(server, auth, args):
    """200 sign-ins at once (unknown emails: each verifies a hash), wave after
    wave for --signins-seconds; then 200 registrations at once."""

    async def attack():
        answers = collections.Counter()
        n = 0
        deadline = time.monotonic() + args.signins_seconds

        async def login(i):
            headers, body = json_body({"email": f"nobody{i}@example.com", "password": "wrong password 1"})
            try:
                status, _ = await exchange("POST", "/api/v1/auth/login", headers, body)
                answers[status] += 1
            except Exception as e:  # noqa: BLE001
                answers[f"{type(e).__name__}: {e}"[:80]] += 1

        while time.monotonic() < deadline:
            await asyncio.gather(*(login(n + i) for i in range(200)))
            n += 200

        async def reg(i):
            headers, body = json_body({"email": f"new{i}@example.com", "password": PASSWORD, "name": "N"})
            try:
                status, _ = await exchange("POST", "/api/v1/auth/register", headers, body)
                answers[f"register {status}"] += 1
            except Exception as e:  # noqa: BLE001
                answers[f"register {type(e).__name__}"] += 1

        await asyncio.gather(*(reg(i) for i in range(200)))
        return {"sign-ins sent": n, "answers": dict(answers)}

    return await with_victim(server, auth, attack)


async def hold_connections(n, partial, seconds):
    """Opens `n` connections from 127.0.0.1 (at most 1,000 connecting at once)
    and holds every one the server keeps, silent or (`partial`) sending a
    request's headers one byte every 2 s, for `seconds`: one the server
    closes is opened again at once, one it refuses after a second. Counts what
    the server did with them."""
    outcome = collections.Counter()
    held_for = []
    gate = asyncio.Semaphore(1000)
    deadline = time.monotonic() + seconds

    async def one():
        while time.monotonic() < deadline:
            async with gate:
                try:
                    reader, writer = await connect()
                except OSError as e:
                    outcome[f"connect failed: {e.strerror}"] += 1
                    await asyncio.sleep(0.5)
                    continue
            opened = time.monotonic()
            outcome["opened"] += 1
            refused = False
            try:
                if partial:
                    writer.write(b"GET /health HTTP/1.1\r\nHost: crm.test\r\n")
                    await writer.drain()
                while time.monotonic() < deadline:
                    try:
                        data = await asyncio.wait_for(reader.read(4096), 2)
                    except asyncio.TimeoutError:
                        if partial:
                            writer.write(b"X")
                            await writer.drain()
                        continue
                    if data.startswith(b"HTTP/1.1 503"):
                        outcome["refused 503 too_many_connections"] += 1
                        refused = True
                    elif not data:
                        outcome["closed by the server"] += 1
                        held_for.append(time.monotonic() - opened)
                    else:
                        outcome["other answer " + data[:12].decode("latin-1")] += 1
                    break
            except (ConnectionError, OSError):
                outcome["reset"] += 1
            finally:
                writer.close()
            # Refused: try again after Retry-After (1 s). Closed by the
            # server's timeout: reconnect at once to keep the place.
            await asyncio.sleep(1 if refused else 0)

    await asyncio.gather(*(one() for _ in range(n)))
    result = {"connections": n, "outcome": dict(outcome)}
    if held_for:
        result["longest held by the server (s)"] = round(max(held_for), 1)
    return result


async def scenario_idle(server, auth, args):
    return await with_victim(server, auth, lambda: hold_connections(args.connections, False, 30))


async def scenario_slow(server, auth, args):
    return await with_victim(server, auth, lambda: hold_connections(args.connections, True, 30))


async def scenario_bodies(server, auth, args):
    """64 clients posting 1 MiB bodies back to back for 20 s (each read whole,
    then refused by validation: 422), and 64 declaring 2 MiB (413 unread)."""

    attacker = await register("attacker@example.com")

    async def attack():
        answers = collections.Counter()
        big = json.dumps({"name": "x" * (1024 * 1024 - 100)}).encode()
        deadline = time.monotonic() + 20
        headers = dict(attacker, **{"Content-Type": "application/json"})

        async def flood(declared_over):
            reader = writer = None
            while time.monotonic() < deadline:
                try:
                    if writer is None:
                        reader, writer = await connect()
                    if declared_over:
                        head = request_bytes("POST", "/api/v1/contacts", dict(headers, **{"Content-Length": str(2 << 20)}))
                        writer.write(head.replace(b"Content-Length: 0\r\n", b""))
                    else:
                        writer.write(request_bytes("POST", "/api/v1/contacts", headers, big))
                    await writer.drain()
                    status, _ = await read_response(reader)
                    answers[status] += 1
                    if declared_over:
                        writer.close()
                        writer = None
                except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
                    answers[type(e).__name__] += 1
                    writer = None

        await asyncio.gather(*(flood(i % 2 == 1) for i in range(128)))
        return {"answers": dict(answers)}

    return await with_victim(server, auth, attack)


async def scenario_shapes(server, auth, args):
    """Deeply nested JSON and 10,000 query parameters: one of each, timed."""

    async def attack():
        out = {}
        headers = dict(auth, **{"Content-Type": "application/json"})
        for name, body in [
            ("100,000-deep array", b"[" * 100_000 + b"1" + b"]" * 100_000),
            ("100,000-deep object", b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
        ]:
            started = time.perf_counter()
            status, _ = await exchange("POST", "/api/v1/contacts", headers, body)
            out[name] = f"{status} in {(time.perf_counter() - started) * 1000:.1f} ms"
        for name, query in [
            ("10,000 distinct parameters", "&".join(f"{i:x}=1" for i in range(10_000))),
            ("10,000 × tag=", "tag=a&" * 10_000),
            ("10,000 × q=", "q=a&" * 10_000),
        ]:
            started = time.perf_counter()
            status, _ = await exchange("GET", f"/api/v1/contacts?{query}", auth)
            out[name] = f"{status} in {(time.perf_counter() - started) * 1000:.1f} ms"
        return out

    return await with_victim(server, auth, attack)


async def scenario_million(server, auth, args):
    """A million failed sign-ins, each from a made-up address (the server
    believes X-Forwarded-For from 127.0.0.1 here) and for a made-up email: the
    worst case for the limiters' keyed state."""

    async def attack():
        answers = collections.Counter()
        keys = []
        counter = iter(range(args.million))
        started = time.monotonic()

        async def worker():
            reader = writer = None
            for i in counter:
                try:
                    if writer is None:
                        reader, writer = await connect()
                    ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
                    headers, body = json_body({"email": f"u{i}@example.com", "password": "wrong password 1"})
                    headers["X-Forwarded-For"] = ip
                    writer.write(request_bytes("POST", "/api/v1/auth/login", headers, body))
                    await writer.drain()
                    status, _ = await read_response(reader)
                    answers[status] += 1
                except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
                    answers[type(e).__name__] += 1
                    writer = None

        async def watch():
            while True:
                await asyncio.sleep(5)
                keys.append((round(time.monotonic() - started), server.metric("rate_limit_keys"), round(server.rss())))

        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(worker() for _ in range(64)))
        elapsed = time.monotonic() - started
        # A key is forgotten once its limit is back to full: twice the
        # slowest limit's interval (5 per minute: 24 s), at the next pruning.
        await asyncio.sleep(30)
        watcher.cancel()
        return {
            "sign-ins": args.million,
            "seconds": round(elapsed),
            "per second": round(args.million / elapsed),
            "answers": dict(answers),
            "limiter keys at peak": max((k for (_, k, _) in keys if k is not None), default=None),
            "limiter keys 30 s after": server.metric("rate_limit_keys"),
            "RSS MB every 5 s": [mb for (_, _, mb) in keys],
        }

    return await with_victim(server, auth, attack)


SCENARIOS = {
    "signins": (scenario_signins, {}),
    "idle": (scenario_idle, {}),
    "slow": (scenario_slow, {}),
    "bodies": (scenario_bodies, {}),
    "shapes": (scenario_shapes, {}),
    # The per-IP sign-in limit is left at its default: the made-up addresses
    # each stay under it, which is what fills the limiter.
    "million": (
        scenario_million,
        {"CRM_TRUSTED_PROXIES": "127.0.0.1", "CRM_AUTH_RATE_PER_MINUTE": "5", "CRM_AUTH_IP_RATE_PER_MINUTE": "30"},
    ),
}


async def run_one(name, args):
    scenario, env = SCENARIOS[name]
    server = Server(args.backend, env)
    try:
        auth = await register("victim@example.com", VICTIM)
        for i in range(20):
            headers, body = json_body({"name": f"Contact {i}"})
            await exchange("POST", "/api/v1/contacts", dict(auth, **headers), body, VICTIM)
        return await scenario(server, auth, args)
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--only", nargs="*", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--signins-seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=20_000)
    parser.add_argument("--million", type=int, default=1_000_000)
    args = parser.parse_args()
    if not os.path.exists(BIN):
        raise SystemExit("build first: cargo build --release")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = [f"## {args.backend} (commit {commit}, {time.strftime('%Y-%m-%d %H:%M')} UTC)", ""]
    for name in args.only:
        print(f"running {name} on {args.backend}…", file=sys.stderr, flush=True)
        result = asyncio.run(run_one(name, args))
        lines += [f"### {name}", "", "```json", json.dumps(result, indent=1, ensure_ascii=False), "```", ""]
        print(json.dumps(result, ensure_ascii=False), file=sys.stderr, flush=True)
    report = "\n".join(lines)
    os.makedirs(os.path.join(ROOT, "bench", "work"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "work", f"hostile-{args.backend}.md"), "w") as f:
        f.write(report)
    print(report)


if __name__ == "__main__":
    main()
