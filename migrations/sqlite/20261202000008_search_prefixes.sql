-- Short query words: FTS5 keeps a prefix index of 2 and 3 characters, so
-- `"jo"*` reads one index entry instead of merging every term that starts
-- with `jo`. The server also writes those prefixes into search_text (for
-- PostgreSQL, src/records/mod.rs); the prefix index covers the rows written
-- before. The tables are rebuilt from their content tables.
DROP TABLE contacts_fts;
CREATE VIRTUAL TABLE contacts_fts USING fts5 (
    search_text, content = 'contacts', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3'
);
INSERT INTO contacts_fts (contacts_fts) VALUES ('rebuild');

DROP TABLE companies_fts;
CREATE VIRTUAL TABLE companies_fts USING fts5 (
    search_text, content = 'companies', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3'
);
INSERT INTO companies_fts (companies_fts) VALUES ('rebuild');

DROP TABLE deals_fts;
CREATE VIRTUAL TABLE deals_fts USING fts5 (
    search_text, content = 'deals', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3'
);
INSERT INTO deals_fts (deals_fts) VALUES ('rebuild');
