-- Deals sorted by amount sort within their currency (amounts of different
-- currencies do not compare): the sort's index leads with the currency.
DROP INDEX deals_amount_idx;
CREATE INDEX deals_amount_idx ON deals (organization_id, currency, amount_cents, id);
