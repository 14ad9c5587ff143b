#!/usr/bin/env bash
# Server time of the web app's pages on a seeded database (ui.md: a page of
# 100 rows renders in under 50 ms server time on the benchmark data set).
# Signs in through the sign-in form as the owner of the large organization,
# then requests each page RUNS times in a row (the first is cold) and prints
# the median and the slowest of the warm runs, as curl measures them on the
# loopback (time to the last byte).
# Usage: bench/web_pages.sh [base URL] [runs]   (default http://127.0.0.1:8004, 11)
set -eu
BASE=${1:-http://127.0.0.1:8004}
RUNS=${2:-11}
JAR=$(mktemp)
trap 'rm -f "$JAR"' EXIT
csrf() { grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//'; }
TOKEN=$(curl -sf -c "$JAR" -b "$JAR" "$BASE/login" | csrf)
curl -sf -c "$JAR" -b "$JAR" -o /dev/null -X POST "$BASE/login" \
  --data-urlencode "_csrf=$TOKEN" --data-urlencode "email=user01@acme.example" \
  --data-urlencode "password=bench-password-1" --data-urlencode "next=/"
# The owner of several organizations starts in the first by name: pick Acme Bench.
PAGE=$(curl -sf -b "$JAR" "$BASE/contacts")
TOKEN=$(grep -o 'name="csrf-token" content="[^"]*"' <<<"$PAGE" | sed 's/.*content="//; s/"$//')
ORG=$(grep -o '<option value="[^"]*"[^>]*>Acme Bench<' <<<"$PAGE" | sed 's/<option value="//; s/".*//' || true)
if [ -n "$ORG" ]; then
  curl -sf -b "$JAR" -o /dev/null -X POST "$BASE/organization" --data-urlencode "_csrf=$TOKEN" --data-urlencode "organization_id=$ORG"
fi
CONTACT=$(curl -sf -b "$JAR" "$BASE/contacts" | grep -o 'href="/contacts/[0-9a-f-]\{36\}"' | head -1 | sed 's/href="//; s/"//')
DEAL=$(curl -sf -b "$JAR" "$BASE/deals?status=won" | grep -o 'href="/deals/[0-9a-f-]\{36\}"' | head -1 | sed 's/href="//; s/"//')
COMPANY=$(curl -sf -b "$JAR" "$BASE/companies" | grep -o 'href="/companies/[0-9a-f-]\{36\}"' | head -1 | sed 's/href="//; s/"//')
# A member of the board's owner filter (the first one A–Z).
OWNER=$(curl -sf -b "$JAR" "$BASE/board" | tr '\n' ' ' | grep -o 'id="board-owner"[^<]*<option value="">[^<]*</option> *<option value="[0-9a-f-]\{36\}"' | grep -o '[0-9a-f-]\{36\}' | tail -1 || true)
printf '%-40s %8s %8s %8s %8s\n' page status cold_ms median_ms max_ms
for path in / /contacts "/contacts?sort=name" "/contacts?q=ma%20jo" "/contacts?tag=vip" \
            /companies /deals "/deals?status=in_progress&sort=amount" /board /tasks "/tasks?overdue=true" \
            "$CONTACT" "$DEAL" "$COMPANY" /settings/audit \
            "/deals?sort=-amount" "/board?owner_id=$OWNER" /contacts/choices "/contacts/choices?q=ma" "/contacts/choices?q=load" \
            "/companies/choices?q=ac"; do
  times=()
  status=0
  for _ in $(seq "$RUNS"); do
    read -r status t < <(curl -s -b "$JAR" -o /dev/null -w '%{http_code} %{time_total}\n' "$BASE$path")
    times+=("$t")
  done
  cold=${times[0]}
  warm=$(printf '%s\n' "${times[@]:1}" | sort -n)
  median=$(sed -n "$(( (RUNS - 1 + 1) / 2 ))p" <<<"$warm")
  max=$(tail -1 <<<"$warm")
  awk -v p="$path" -v s="$status" -v c="$cold" -v m="$median" -v x="$max" \
    'BEGIN { printf "%-40s %8s %8.1f %8.1f %8.1f\n", p, s, c*1000, m*1000, x*1000 }'
done
