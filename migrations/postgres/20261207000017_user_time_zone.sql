-- A user's time zone (an IANA name such as `Europe/Paris`): the web app shows
-- times and reads typed due dates in it. Null: the browser's own zone.
ALTER TABLE users ADD COLUMN time_zone TEXT;

-- A password change ends the user's other logins: their refresh tokens are
-- found by user.
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
