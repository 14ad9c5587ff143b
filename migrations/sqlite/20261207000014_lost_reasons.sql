-- The reasons the web app's Lost dialog offers, in order (an organization
-- setting; a deal's lost_reason stays free text).
ALTER TABLE organizations ADD COLUMN lost_reasons TEXT NOT NULL DEFAULT '[]';
