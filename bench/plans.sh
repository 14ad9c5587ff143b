#!/usr/bin/env bash
# EXPLAIN (ANALYZE, BUFFERS) of the SQL the server sends for each benchmark
# request (bench.md R1-R6, and issue 16's L1, P1 and custom-field filters),
# on a PostgreSQL database filled by `crm seed` (and a SQLite one: $BENCH_SQLITE).
# The statements are copied from the server's debug log (CRM_LOG=sqlx::query=debug)
# with their parameters filled in; docs/performance.md records the results.
# (The benchmark's floor does not use these copies: bench/run captures the
# statements from PostgreSQL's log as the server sends them.)
# Usage: bench/plans.sh [database URL] [two search prefixes]
set -euo pipefail
DB=${1:-postgres://postgres@127.0.0.1:5432/crm_bench}
read -r W1 W2 <<<"${2:-jo sm}"
q() { psql "$DB" -AtX -c "$1"; }
# As src/records/mod.rs builds it: 2-3 character words are exact terms.
tsq() { if [ ${#1} -ge 2 ] && [ ${#1} -le 3 ]; then echo "$1"; else echo "$1:*"; fi; }
ORG=$(q "SELECT id FROM organizations WHERE name = 'Acme Bench'")
OWNER=$(q "SELECT user_id FROM memberships WHERE organization_id = '$ORG' AND role = 'member' ORDER BY user_id LIMIT 1")
PIPELINE=$(q "SELECT id FROM pipelines WHERE organization_id = '$ORG' AND is_default")
IFS='|' read -r DEEP_AT DEEP_ID <<<"$(q "SELECT created_at, id FROM contacts WHERE organization_id = '$ORG' ORDER BY created_at DESC, id DESC OFFSET 500000 LIMIT 1")"
CONTACT=$(q "SELECT id FROM contacts WHERE organization_id = '$ORG' ORDER BY id OFFSET 123456 LIMIT 1")
COLS="id, owner_id, name, email, phone, title, company_id, lead_source, customer_since, tags, created_at, updated_at, version"
DEAL_COLS="id, owner_id, title, contact_id, company_id, pipeline_id, stage, status, amount_cents, currency, expected_close_date, lost_reason, closed_at, tags, created_at, updated_at, version, furthest_position"

explain() {
  echo "== $1"
  psql "$DB" -AtX -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) $2" | grep -v '^Planning:$' | sed 's/^/   /'
}
explain "R1 first page of contacts" \
  "SELECT $COLS FROM contacts WHERE organization_id = '$ORG' ORDER BY created_at DESC, id DESC LIMIT 51"
explain "R2 a page 500,000 rows deep (keyset)" \
  "SELECT $COLS FROM contacts WHERE organization_id = '$ORG' AND (created_at, id) < ('$DEEP_AT', '$DEEP_ID') ORDER BY created_at DESC, id DESC LIMIT 51"
# R3 as src/contacts/queries.rs (term_page) sends it: the terms' key ranges
# merged newest first, joined to their rows.
explain "R3 search '$W1 $W2' by terms (migration 12)" \
  "SELECT $COLS FROM (SELECT t0.created_at AS at_, t0.contact_id AS cid FROM contact_terms AS t0 JOIN contact_terms AS t1 ON t1.organization_id = t0.organization_id AND t1.created_at = t0.created_at AND t1.contact_id = t0.contact_id AND t1.term = '$W2' WHERE t0.organization_id = '$ORG' AND t0.term = '$W1' ORDER BY t0.created_at DESC, t0.contact_id DESC LIMIT 51) AS m JOIN contacts ON contacts.organization_id = '$ORG' AND contacts.id = m.cid ORDER BY m.at_ DESC, m.cid DESC"
explain "R3 search '$W1 $W2', one-letter words or other sorts: the full-text index" \
  "SELECT $COLS FROM contacts WHERE organization_id = '$ORG' AND search_vector @@ to_tsquery('simple', '$(tsq $W1) & $(tsq $W2)') ORDER BY created_at DESC, id DESC LIMIT 51"
explain "R4 one contact" \
  "SELECT $COLS FROM contacts WHERE organization_id = '$ORG' AND id = '$CONTACT'"
explain "R5 deals by status, stage and owner" \
  "SELECT $DEAL_COLS FROM deals WHERE organization_id = '$ORG' AND status IN ('in_progress') AND stage = 'proposal' AND owner_id = '$OWNER' ORDER BY created_at DESC, id DESC LIMIT 51"
explain "R6 funnel (cache cold)" \
  "SELECT stage, status, furthest_position, COUNT(*) FROM deals WHERE organization_id = '$ORG' AND pipeline_id = '$PIPELINE' GROUP BY stage, status, furthest_position"
explain "overdue tasks" \
  "SELECT id FROM tasks WHERE organization_id = '$ORG' AND is_done = false AND due_date < now() ORDER BY COALESCE(due_date, '9999-12-31T00:00:00+00:00') ASC, id ASC LIMIT 51"
explain "deals by expected close date" \
  "SELECT id FROM deals WHERE organization_id = '$ORG' ORDER BY COALESCE(expected_close_date, '9999-12-31') ASC, id ASC LIMIT 51"

# Issue 16: leads above a score (L1), listings of a city in a price range
# (P1), and the custom-field filters (custom_values, migration 28) on the
# seeded lead fields `region` (select) and `budget` (number).
LEAD_COLS="id, owner_id, name, email, phone, company_name, source, utm, status, score, score_reasons, preferences, next_follow_up_at, tags, custom, created_at, updated_at, version"
PROP_COLS="id, owner_id, title, property_type, listing_type, status, price_cents, currency, bedrooms, city_key, tags, custom, created_at, updated_at, version"
L1_SQL="SELECT $LEAD_COLS FROM leads WHERE organization_id = '$ORG' AND score >= 50 ORDER BY score DESC, id DESC LIMIT 51"
P1_SQL="SELECT $PROP_COLS FROM properties WHERE organization_id = '$ORG' AND price_cents >= 20000000 AND price_cents <= 80000000 AND city_key = 'lisbon' ORDER BY created_at DESC, id DESC LIMIT 51"
CUSTOM_EQ_SQL="SELECT $LEAD_COLS FROM leads WHERE organization_id = '$ORG' AND id IN (SELECT record_id FROM custom_values WHERE organization_id = '$ORG' AND record_type = 'leads' AND key = 'region' AND value_text = 'north') ORDER BY created_at DESC, id DESC LIMIT 51"
CUSTOM_RANGE_SQL="SELECT $LEAD_COLS FROM leads WHERE organization_id = '$ORG' AND id IN (SELECT record_id FROM custom_values WHERE organization_id = '$ORG' AND record_type = 'leads' AND key = 'budget' AND value_number IS NOT NULL AND value_number >= 990000 AND value_number <= 999000) ORDER BY created_at DESC, id DESC LIMIT 51"
explain "L1 leads with score >= 50, best first" "$L1_SQL"
explain "P1 listings in Lisbon priced 200,000 to 800,000" "$P1_SQL"
explain "custom field filter custom.region=north (a quarter of half the leads)" "$CUSTOM_EQ_SQL"
explain "custom field range custom.budget_min=990000&custom.budget_max=999000 (a rare range)" "$CUSTOM_RANGE_SQL"

# The same on a SQLite database seeded the same way ($BENCH_SQLITE: its file),
# with SQLite's EXPLAIN QUERY PLAN (uuids as blobs).
if [ -n "${BENCH_SQLITE:-}" ]; then
  LITE_ORG=$(sqlite3 "$BENCH_SQLITE" "SELECT hex(id) FROM organizations WHERE name = 'Acme Bench'")
  lite() {
    echo "== SQLite: $1"
    sqlite3 "$BENCH_SQLITE" "EXPLAIN QUERY PLAN ${2//\'$ORG\'/X\'$LITE_ORG\'}" | sed 's/^/   /'
  }
  lite "L1" "$L1_SQL"
  lite "P1" "$P1_SQL"
  lite "custom.region=north" "$CUSTOM_EQ_SQL"
  lite "custom.budget range" "$CUSTOM_RANGE_SQL"
fi
