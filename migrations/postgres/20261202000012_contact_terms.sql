-- Contact search newest first without sorting the matches (docs/performance.md,
-- "Contact search by terms").
--
-- One row per contact and distinct 2- or 3-character word of its search text
-- (search_text already carries the 2- and 3-character prefixes of every longer
-- word, src/records/mod.rs). The primary key lists a term's contacts in list
-- order, so the contacts matching two query words come out of a merge join of
-- two index ranges, newest first, and a page stops after 51 matches. The GIN
-- index, by contrast, returns every match, and each one has to be fetched from
-- the table to be sorted by date.
--
-- A trigger keeps the rows in step with contacts.search_text, whatever writes it.
-- No foreign key: the rows go when their contact goes (the trigger), and a
-- contact goes with its organization.
CREATE TABLE contact_terms (
    organization_id UUID NOT NULL,
    term            TEXT COLLATE "C" NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    contact_id      UUID NOT NULL,
    PRIMARY KEY (organization_id, term, created_at, contact_id)
)
-- A search reads the newest rows of a term through an index-only scan, which
-- visits the table for every row on a page not yet marked all-visible: the
-- pages of recent inserts. Vacuum those every 20,000 new rows instead of
-- after a fifth of the table (3 million rows at 1M contacts).
WITH (
    autovacuum_vacuum_insert_threshold = 20000,
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_scale_factor = 0.01
);

CREATE FUNCTION contact_search_terms(search_text TEXT) RETURNS SETOF TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DISTINCT t FROM unnest(string_to_array(search_text, ' ')) AS t WHERE char_length(t) BETWEEN 2 AND 3
$$;

CREATE FUNCTION contact_terms_sync() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM contact_terms
        WHERE organization_id = OLD.organization_id
          AND term IN (SELECT contact_search_terms(OLD.search_text))
          AND created_at = OLD.created_at AND contact_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO contact_terms (organization_id, term, created_at, contact_id)
        SELECT NEW.organization_id, t, NEW.created_at, NEW.id FROM contact_search_terms(NEW.search_text) AS t;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER contact_terms_insert_delete AFTER INSERT OR DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION contact_terms_sync();
CREATE TRIGGER contact_terms_update AFTER UPDATE OF search_text, created_at ON contacts
    FOR EACH ROW
    WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION contact_terms_sync();

INSERT INTO contact_terms (organization_id, term, created_at, contact_id)
SELECT c.organization_id, t, c.created_at, c.id FROM contacts AS c, contact_search_terms(c.search_text) AS t;
