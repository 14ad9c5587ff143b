# Request targets of the benchmark scenarios, picked from a seeded database
# as bench/run picks them. Sourced by bench/ab and bench/soak.
#
# Needs: BACKEND (postgres|sqlite), DB_URL (postgres) or SQLITE_FILE
# (sqlite), API (the server's /api/v1 address). Sets ORG (Acme Bench's id).

sql() { # one query, rows as a|b|c
  if [ "$BACKEND" = postgres ]; then psql "$DB_URL" -AtX -F'|' -c "$1"; else sqlite3 -separator '|' "$SQLITE_FILE" "$1"; fi
}
uuid_sql() { # the text form of a uuid column on either backend
  if [ "$BACKEND" = postgres ]; then echo "$1::text"; else
    echo "lower(substr(hex($1),1,8)||'-'||substr(hex($1),9,4)||'-'||substr(hex($1),13,4)||'-'||substr(hex($1),17,4)||'-'||substr(hex($1),21))"
  fi
}

# make_targets DIR: writes DIR/{R1,R2,R3,R3w,R4,R5,W2,M1}.urls (M1: R1-R5 in
# equal shares, as bench/run's mix).
make_targets() {
  local dir=$1 of total space created_sql
  ORG=$(sql "SELECT $(uuid_sql id) FROM organizations WHERE name = 'Acme Bench'")
  if [ "$BACKEND" = postgres ]; then of="organization_id = '$ORG'"; else of="organization_id = x'${ORG//-/}'"; fi
  total=$(sql "SELECT COUNT(*) FROM contacts WHERE $of")
  space="instr(name, ' ')" created_sql="created_at"
  if [ "$BACKEND" = postgres ]; then
    space="strpos(name, ' ')"
    created_sql="to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
  fi
  echo "$API/contacts?limit=50" >"$dir/R1.urls"
  sql "SELECT $created_sql, $(uuid_sql id) FROM (SELECT created_at, id, ROW_NUMBER() OVER (ORDER BY created_at DESC, id DESC) AS rn FROM contacts WHERE $of) AS t WHERE rn > $((total / 10)) AND rn % $((total / 200 + 1)) = 0" |
    while IFS='|' read -r at id; do
      printf '%s?limit=50&cursor=%s\n' "$API/contacts" "$(printf '["%s","%s"]' "$at" "$id" | base64 -w0 | tr '+/' '-_' | tr -d '=')"
    done >"$dir/R2.urls"
  sql "SELECT lower(substr(name, 1, 2)) || '%20' || lower(substr(substr(name, $space + 1), 1, 2)) FROM (SELECT name, ROW_NUMBER() OVER (ORDER BY id) AS rn FROM contacts WHERE $of) AS t WHERE rn % $((total / 200 + 1)) = 0" |
    sed "s|^|$API/contacts?limit=50\&q=|" >"$dir/R3.urls"
  # R3w: the worst pairs, as bench/run's.
  local common
  common=$(sql "SELECT lower(substr(name, 1, 2)) FROM contacts WHERE $of GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1")
  sql "SELECT DISTINCT lower(substr(substr(name, $space + 1), 1, 2)) FROM contacts WHERE $of ORDER BY 1" |
    while read -r last; do
      echo "$API/contacts?limit=50&q=$common%20$last"
      echo "$API/contacts?limit=50&q=lo%20$last"
    done >"$dir/R3w.urls"
  sql "SELECT $(uuid_sql id) FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn FROM contacts WHERE $of) AS t WHERE rn % $((total / 1000 + 1)) = 0" |
    sed "s|^|$API/contacts/|" >"$dir/R4.urls"
  sql "SELECT $(uuid_sql user_id) FROM memberships WHERE $of ORDER BY user_id" |
    sed "s|^|$API/deals?status=in_progress\&stage=proposal\&limit=50\&owner_id=|" >"$dir/R5.urls"
  sql "SELECT $(uuid_sql id) FROM deals WHERE $of AND status = 'in_progress' AND stage = 'qualification' ORDER BY id" |
    sed "s|^|$API/deals/|" >"$dir/W2.urls"
  local f
  for f in R1 R2 R3 R4 R5; do
    head -n 200 "$dir/$f.urls" | awk -v n=200 '{a[NR]=$0} END {for (i = 0; i < n; i++) print a[i % NR + 1]}'
  done >"$dir/M1.urls"
}

# write_bodies FILE TAG N: N distinct new-contact bodies for W1.
write_bodies() {
  seq 1 "$3" | awk -v t="$2" '{printf "{\"name\":\"Load %s %d\",\"email\":\"w1-%s-%d@load.example\"}\n", t, $1, t, $1}' >"$1"
}
