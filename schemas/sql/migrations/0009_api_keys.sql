-- API keys (api/auth). The key itself is never stored: only its SHA-256, which is enough
-- for 256-bit random keys (a slow KDF protects guessable passwords, not random keys) and
-- keeps verification cheap. `prefix` is the key's first characters, shown in listings and
-- used to find the row; `scopes` are 'read' and/or 'admin'.
CREATE TABLE IF NOT EXISTS api_keys (
  id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  prefix        text NOT NULL UNIQUE,
  key_hash      text NOT NULL,
  scopes        text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'admin']::text[]),
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
