#!/usr/bin/env python3
"""Imports N generated contacts through POST /api/v1/imports into a fresh
organization of a release server and prints the rate (issue 15, item 10).

    bench/import_speed.py <label> <DATABASE_URL> <rows> [port] [same]

Starts target/release/crm on 127.0.0.1:<port> (default 8098; data dir
/tmp/importbench-<label>), registers an owner, uploads a CSV of <rows>
contacts (name, email, phone, title, company out of 500, two tags; every
tenth row repeats an earlier email, so the merge checks find matches), and
polls the import until it ends. With `same`, every row is the same contact
(the "a million rows of one duplicate" case: one created, the rest
unchanged). Prints one JSON line: rows, seconds from
upload to completed, rows/s, the import's counts and the server's peak RSS."""
import io, json, os, random, shutil, subprocess, sys, threading, time, urllib.request, uuid

label, url, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
port = int(sys.argv[4]) if len(sys.argv) > 4 else 8098
same = len(sys.argv) > 5 and sys.argv[5] == "same"
base = f"http://127.0.0.1:{port}"
data = f"/tmp/importbench-{label}"
shutil.rmtree(data, ignore_errors=True)
os.makedirs(data)
env = dict(os.environ, CRM_BIND=f"127.0.0.1:{port}", CRM_DATA_DIR=data, CRM_LOG="warn", DATABASE_URL=url,
           CRM_AUTH_RATE_PER_MINUTE="1000", CRM_RATE_PER_SECOND="100000", CRM_REQUEST_TIMEOUT="600")
p = subprocess.Popen([os.environ.get("CRM_BIN", os.path.join(os.path.dirname(__file__), "..", "target", "release", "crm"))], env=env,
                     stdout=subprocess.DEVNULL, stderr=open(f"{data}/server.log", "w"))
try:
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)

    def call(method, path, body=None, headers=None, raw=None, ctype="application/json"):
        h = dict(headers or {})
        if body is not None:
            raw = json.dumps(body).encode()
        if raw is not None:
            h["content-type"] = ctype
        req = urllib.request.Request(base + path, data=raw, headers=h, method=method)
        with urllib.request.urlopen(req, timeout=900) as r:
            return json.load(r)

    s = call("POST", "/api/v1/auth/register", {"email": f"owner-{uuid.uuid4().hex[:8]}@bench.example", "password": "bench-password-1", "name": "Owner"})
    auth = {"Authorization": "Bearer " + s["access_token"], "X-Organization-Id": s["organizations"][0]["id"]}

    random.seed(7)
    out = io.StringIO()
    out.write("First Name,Last Name,Email,Phone Number,Job Title,Company,Labels\r\n")
    for i in range(rows):
        j = 0 if same else random.randrange(i) if i > 10 and i % 10 == 0 else i
        out.write(f"Person{j},Family{j % 977},person{j}@example{j % 97}.com,+1 212 {200 + j // 10000:03d} {j % 10000:04d},"
                  f"Title {j % 50},Company {j % 500},tag{j % 7};batch\r\n")
    csv = out.getvalue().encode()
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"object\"\r\n\r\ncontacts\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"contacts.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + csv + f"\r\n--{boundary}--\r\n".encode()

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
    started = call("POST", "/api/v1/imports", raw=body, headers=auth, ctype=f"multipart/form-data; boundary={boundary}")
    accepted = time.time() - t0
    while True:
        imp = call("GET", f"/api/v1/imports/{started['id']}", headers=auth)
        if imp["status"] in ("completed", "failed"):
            break
        time.sleep(0.25)
    elapsed = time.time() - t0
    done = True
    counts = {k: imp[k] for k in ("status", "total_rows", "created", "merged", "unchanged", "skipped", "conflicts", "companies_created")}
    print(json.dumps({"label": label, "rows": rows, "bytes": len(csv), "upload_s": round(accepted, 2), "seconds": round(elapsed, 2),
                      "rows_per_s": round(rows / elapsed), "peak_rss_mb": peak, **counts, "first_errors": imp["errors"][:3]}))
finally:
    p.terminate()
    p.wait()
