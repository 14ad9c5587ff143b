#!/usr/bin/env python3
"""Finds the likely duplicates of the benchmark organization (1M contacts)
and times the list's first page (issue 15, item 5).

    bench/duplicates_speed.py <label> <DATABASE_URL of a seeded database>

Starts target/release/crm on 127.0.0.1:8096, signs in as
user01@acme.example, asks GET /api/v1/contacts/duplicates (which queues the
scan: over 20,000 contacts), waits for the scan (`scanned_at`), then asks
the first page 20 times. Prints one JSON line: the scan's seconds, the
server's peak RSS during it, the groups on the first page, and the first
page's latencies (median and max)."""
import json, os, subprocess, sys, threading, time, urllib.request

label, url = sys.argv[1], sys.argv[2]
base = "http://127.0.0.1:8096"
env = dict(os.environ, CRM_BIND="127.0.0.1:8096", CRM_DATA_DIR="/tmp/dupbench", CRM_LOG="warn", DATABASE_URL=url,
           CRM_AUTH_RATE_PER_MINUTE="1000", CRM_RATE_PER_SECOND="100000")
p = subprocess.Popen([os.environ.get("CRM_BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "crm"))], env=env,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    req = urllib.request.Request(base + "/api/v1/auth/login", data=json.dumps({"email": "user01@acme.example", "password": "bench-password-1"}).encode(),
                                 headers={"content-type": "application/json"})
    s = json.load(urllib.request.urlopen(req))
    org = [o for o in s["organizations"] if o["role"] == "owner"][0]["id"]
    auth = {"Authorization": "Bearer " + s["access_token"], "X-Organization-Id": org}

    def page():
        t0 = time.time()
        body = json.load(urllib.request.urlopen(urllib.request.Request(base + "/api/v1/contacts/duplicates", headers=auth), timeout=120))
        return time.time() - t0, body

    peak = 0
    done = False
    def sample():
        global peak
        while not done:
            for line in open(f"/proc/{p.pid}/status"):
                if line.startswith("VmRSS:"):
                    peak = max(peak, int(line.split()[1]) // 1024)
            time.sleep(0.2)
    threading.Thread(target=sample, daemon=True).start()
    t0 = time.time()
    first, body = page()
    while body["scanned_at"] is None:
        time.sleep(1)
        _, body = page()
        if time.time() - t0 > 900:
            raise SystemExit("the scan did not finish in 15 minutes")
    scan = time.time() - t0
    done = True
    times = sorted(page()[0] for _ in range(20))
    _, body = page()
    print(json.dumps({"label": label, "first_call_s": round(first, 3), "scan_s": round(scan, 1), "peak_rss_mb": peak,
                      "groups_on_first_page": len(body["data"]), "reasons": sorted({g["reason"] for g in body["data"]}),
                      "page_median_ms": round(times[10] * 1000, 1), "page_max_ms": round(times[-1] * 1000, 1)}))
finally:
    p.terminate()
    p.wait()
