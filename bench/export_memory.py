#!/usr/bin/env python3
"""Streams GET /api/v1/contacts/export of the benchmark organization from a
release server and samples the server's RSS (issue 15, item 6).

    bench/export_memory.py <label> <DATABASE_URL of a seeded database>

Starts target/release/crm on 127.0.0.1:8099 (data dir /tmp/benchdata),
signs in as user01@acme.example, reads the export to the end and prints one
JSON line: rows, bytes, seconds, rows/s, RSS before and during."""
import json, os, subprocess, sys, threading, time, urllib.request
backend = sys.argv[1]
url = sys.argv[2]
env = dict(os.environ, CRM_BIND="127.0.0.1:8099", CRM_DATA_DIR="/tmp/benchdata", CRM_LOG="warn", DATABASE_URL=url,
           CRM_AUTH_RATE_PER_MINUTE="1000", CRM_RATE_PER_SECOND="100000")
binary = os.environ.get("CRM_BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "crm"))
p = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(600):
    try:
        urllib.request.urlopen("http://127.0.0.1:8099/health", timeout=1); break
    except OSError: time.sleep(0.1)
def rss():
    for line in open(f"/proc/{p.pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1]) / 1024
req = urllib.request.Request("http://127.0.0.1:8099/api/v1/auth/login", data=json.dumps({"email": "user01@acme.example", "password": "bench-password-1"}).encode(), headers={"content-type": "application/json"})
s = json.load(urllib.request.urlopen(req))
org = [o for o in s["organizations"] if o["role"] == "owner"][0]["id"]
samples = []; done = False
def sample():
    t0 = time.time()
    while not done:
        samples.append((round(time.time() - t0, 1), round(rss())))
        time.sleep(0.5)
threading.Thread(target=sample, daemon=True).start()
before = rss(); t0 = time.time()
r = urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:8099/api/v1/contacts/export", headers={"Authorization": "Bearer " + s["access_token"], "X-Organization-Id": org}), timeout=600)
n = 0; lines = 0
while True:
    chunk = r.read(1 << 20)
    if not chunk: break
    n += len(chunk); lines += chunk.count(b"\n")
elapsed = time.time() - t0; done = True
print(json.dumps({"backend": backend, "bytes": n, "lines": lines, "seconds": round(elapsed, 1), "rows_per_s": round((lines - 1) / elapsed), "rss_before_mb": round(before), "rss_peak_mb": max(m for _, m in samples), "rss_samples_mb": [m for _, m in samples][::max(1, len(samples)//20)]}))
p.terminate(); p.wait()
