-- Contact search newest first without sorting the matches (docs/performance.md,
-- "Contact search by terms").
--
-- One row per contact and distinct 2- or 3-character word of its search text
-- (search_text already carries the 2- and 3-character prefixes of every longer
-- word, src/records/mod.rs). The primary key lists a term's contacts in list
-- order, so the contacts matching two query words come out of an ordered
-- INTERSECT of two index ranges (a merge), newest first, and a page stops after
-- 51 matches. FTS5, by contrast, returns every match to be sorted by date.
--
-- Triggers keep the rows in step with contacts.search_text, whatever writes it.
-- The words of search_text are letters and digits only, so they can be split
-- as a JSON array.
CREATE TABLE contact_terms (
    organization_id BLOB NOT NULL,
    term            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    contact_id      BLOB NOT NULL,
    PRIMARY KEY (organization_id, term, created_at, contact_id)
) WITHOUT ROWID;

CREATE TRIGGER contact_terms_insert AFTER INSERT ON contacts BEGIN
    INSERT OR IGNORE INTO contact_terms (organization_id, term, created_at, contact_id)
    SELECT new.organization_id, value, new.created_at, new.id
    FROM json_each('["' || replace(new.search_text, ' ', '","') || '"]')
    WHERE length(value) BETWEEN 2 AND 3;
END;
CREATE TRIGGER contact_terms_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contact_terms
    WHERE organization_id = old.organization_id
      AND term IN (SELECT value FROM json_each('["' || replace(old.search_text, ' ', '","') || '"]'))
      AND created_at = old.created_at AND contact_id = old.id;
END;
CREATE TRIGGER contact_terms_update AFTER UPDATE OF search_text, created_at ON contacts
WHEN old.search_text IS NOT new.search_text OR old.created_at IS NOT new.created_at BEGIN
    DELETE FROM contact_terms
    WHERE organization_id = old.organization_id
      AND term IN (SELECT value FROM json_each('["' || replace(old.search_text, ' ', '","') || '"]'))
      AND created_at = old.created_at AND contact_id = old.id;
    INSERT OR IGNORE INTO contact_terms (organization_id, term, created_at, contact_id)
    SELECT new.organization_id, value, new.created_at, new.id
    FROM json_each('["' || replace(new.search_text, ' ', '","') || '"]')
    WHERE length(value) BETWEEN 2 AND 3;
END;

INSERT OR IGNORE INTO contact_terms (organization_id, term, created_at, contact_id)
SELECT c.organization_id, j.value, c.created_at, c.id
FROM contacts AS c, json_each('["' || replace(c.search_text, ' ', '","') || '"]') AS j
WHERE length(j.value) BETWEEN 2 AND 3;
