#!/usr/bin/env bash
# Signs in as the seeded owner of the large organization and reads every list
# the benchmark uses: a quick check that a seeded database serves requests.
# Usage: bench/smoke.sh [base URL]   (default http://127.0.0.1:8004; the script adds /api/v1)
set -euo pipefail
API=${1:-http://127.0.0.1:8004}/api/v1
login=$(curl -sf -X POST "$API/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"user01@acme.example","password":"bench-password-1"}')
TOKEN=$(jq -r .access_token <<<"$login")
ORG=$(curl -sf "$API/auth/me" -H "Authorization: Bearer $TOKEN" | jq -r '.organizations[] | select(.name=="Acme Bench") | .id')
H=(-H "Authorization: Bearer $TOKEN" -H "X-Organization-Id: $ORG")
get() { curl -sf "${H[@]}" "$API$1"; }
echo "R1 first page:   $(get '/contacts?limit=50' | jq -c '[(.data|length), .data[0].name, .next_cursor != null]')"
CURSOR=$(get '/contacts?limit=50' | jq -r .next_cursor)
echo "R2 next page:    $(get "/contacts?limit=50&cursor=$CURSOR" | jq -c '[(.data|length), .data[0].name]')"
echo "R3 search:       $(get '/contacts?q=ma%20jo&limit=50' | jq -c '[(.data|length), .data[0].name]')"
ID=$(get '/contacts?limit=1' | jq -r '.data[0].id')
echo "R4 one contact:  $(get "/contacts/$ID" | jq -c '[.name, .email, .phone, .tags]')"
OWNER=$(get '/members' | jq -r '.data[1].user_id')
echo "R5 deals:        $(get "/deals?status=in_progress&stage=proposal&owner_id=$OWNER&limit=50" | jq -c '[(.data|length), .data[0].title]')"
echo "R6 funnel:       $(get '/analytics/deals/funnel' | jq -c '[.stages[] | [.stage, .current, .entered]]')"
echo "summary:         $(get '/analytics/deals/summary' | jq -c '[.total, .win_rate]')"
echo "overdue tasks:   $(get '/tasks?overdue=true&limit=5' | jq -c '[(.data|length), .data[0].title]')"
DEAL=$(get '/deals?limit=1&status=won' | jq -r '.data[0].id')
echo "timeline:        $(get "/deals/$DEAL/activities" | jq -c '[.data[] | .type]')"
echo "tags:            $(get '/tags' | jq -c '[.data[:3][] | [.name, .count]]')"
