-- Sessions end after 30 minutes without use (R15 / CNIL 2022-100): when a token was last used.
ALTER TABLE api_tokens ADD COLUMN last_used_at TIMESTAMPTZ;
