-- Search text carries the 2- and 3-character prefixes of its longer words, so
-- a short query word is one exact term of the GIN index rather than a prefix
-- scan over every term starting with it (src/records/mod.rs, search_text). The
-- server writes them from now on; this adds them to the rows already there.
CREATE FUNCTION pg_temp.with_prefixes(words TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT words || COALESCE(' ' || (
        SELECT string_agg(p, ' ') FROM (
            SELECT DISTINCT left(w, n) AS p
            FROM unnest(string_to_array(words, ' ')) AS w, (VALUES (2), (3)) AS lengths (n)
            WHERE char_length(w) > n AND left(w, n) <> ALL (string_to_array(words, ' '))
        ) AS prefixes
    ), '')
$$;
UPDATE contacts SET search_text = pg_temp.with_prefixes(search_text) WHERE search_text <> '';
UPDATE companies SET search_text = pg_temp.with_prefixes(search_text) WHERE search_text <> '';
UPDATE deals SET search_text = pg_temp.with_prefixes(search_text) WHERE search_text <> '';
