#!/usr/bin/env bash
# A/B of two server binaries on W1 (POST /contacts at 500/s, 10 s), R1 (a
# page of 50 contacts at 500/s) and, given R3's address list, R3 (a two-word
# search at 500/s), on fresh copies of one seeded SQLite database,
# alternating the binaries three times: to tell a change in the tail from the
# run-to-run spread of the machine and the single writer.
#
#   bench/ab_w1.sh DB.sqlite /path/to/crm-before /path/to/crm-after [r3.urls]
#
# DB.sqlite: a database seeded by `crm seed --quick` (bench/work/sqlite/crm.sqlite
# after a bench/run). Prints: round, binary, scenario, req/s, p50, p95, p99 (s).
set -u
export PATH="$HOME/.cargo/bin:$PATH"
SRC=$1
declare -A BIN=([before]=$2 [after]=$3)
W=$(mktemp -d)
KINDS="W1 R1"
if [ -n "${4:-}" ]; then
  sed 's|http://127.0.0.1:[0-9]*/|http://127.0.0.1:18099/|' "$4" > $W/r3.urls
  KINDS="W1 R1 R3"
fi
for round in 1 2 3; do
  for which in before after; do
    rm -f $W/db.sqlite*; cp $SRC $W/db.sqlite
    DATABASE_URL=sqlite://$W/db.sqlite CRM_BIND=127.0.0.1:18099 CRM_SECRET_KEY=bench-secret-key-0123456789abcdef0123456789 \
      CRM_DATA_DIR=$W CRM_LOG=warn CRM_RATE_PER_SECOND=1000000 CRM_AUTH_RATE_PER_MINUTE=1000 CRM_ACCESS_TTL=86400 CRM_DB_MAX_CONNECTIONS=16 \
      "${BIN[$which]}" serve > $W/server.log 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18099/ready >/dev/null && break; sleep 0.1; done
    resp=$(curl -sf -X POST http://127.0.0.1:18099/api/v1/auth/login -H 'Content-Type: application/json' -d '{"email":"user01@acme.example","password":"bench-password-1"}')
    TOKEN=$(echo "$resp" | jq -r .access_token); ORG=$(echo "$resp" | jq -r '.organizations[] | select(.name | test("Acme|acme")) | .id' | head -1)
    [ -z "$ORG" ] && ORG=$(echo "$resp" | jq -r '.organizations[0].id')
    seq 1 100000 | awk -v t="ab$round$which" '{printf "{\"name\":\"Load %s %d\",\"email\":\"w1-%s-%d@load.example\"}\n", t, $1, t, $1}' > $W/bodies
    for kind in $KINDS; do
      if [ $kind = R3 ]; then
        oha --no-tui --output-format json -z 10s -w -q 500 --latency-correction -c 200 -H "Authorization: Bearer $TOKEN" -H "X-Organization-Id: $ORG" --urls-from-file $W/r3.urls > $W/out.json 2>/dev/null
      elif [ $kind = W1 ]; then
        oha --no-tui --output-format json -z 10s -w -q 500 --latency-correction -c 200 -H "Authorization: Bearer $TOKEN" -H "X-Organization-Id: $ORG" -H "Content-Type: application/json" -m POST -Z $W/bodies http://127.0.0.1:18099/api/v1/contacts > $W/out.json 2>/dev/null
      else
        oha --no-tui --output-format json -z 10s -w -q 500 --latency-correction -c 200 -H "Authorization: Bearer $TOKEN" -H "X-Organization-Id: $ORG" -H "Content-Type: application/json" -m GET "http://127.0.0.1:18099/api/v1/contacts?limit=50" > $W/out.json 2>/dev/null
      fi
      echo "$round $which $kind $(jq -r '[.summary.requestsPerSec, .latencyPercentiles.p50, .latencyPercentiles.p95, .latencyPercentiles.p99] | map(tostring) | join(" ")' $W/out.json) codes=$(jq -c .statusCodeDistribution $W/out.json)"
    done
    kill $pid; wait $pid 2>/dev/null
  done
done
