-- The extension typed after a contact's number (`+1 415 555 0134 ext. 12`):
-- kept beside the E.164 number instead of dropped.
ALTER TABLE contacts ADD COLUMN phone_extension TEXT;
