-- A deal may be about a property (leads.md "Properties"): winning it marks
-- the property sold or rented in the same transaction.
ALTER TABLE deals ADD COLUMN property_id BLOB;
CREATE INDEX deals_property_idx ON deals (organization_id, property_id) WHERE property_id IS NOT NULL;
