-- The FTS update triggers fire on every UPDATE that names search_text, and the
-- server's updates always name it. Re-indexing an unchanged text is wasted work
-- that FTS5 pays back later in segment merges: a deal moved to another stage
-- rewrote its index entries each time (W2 p99 of 541 ms under load). Only a
-- changed text is re-indexed now.
DROP TRIGGER contacts_fts_update;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF search_text ON contacts
WHEN old.search_text IS NOT new.search_text BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO contacts_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

DROP TRIGGER companies_fts_update;
CREATE TRIGGER companies_fts_update AFTER UPDATE OF search_text ON companies
WHEN old.search_text IS NOT new.search_text BEGIN
    INSERT INTO companies_fts (companies_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO companies_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

DROP TRIGGER deals_fts_update;
CREATE TRIGGER deals_fts_update AFTER UPDATE OF search_text ON deals
WHEN old.search_text IS NOT new.search_text BEGIN
    INSERT INTO deals_fts (deals_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO deals_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
