-- One row: a value derived from the secret key the first instance on this database started
-- with (HMAC-SHA256 of a fixed label; the key cannot be recovered from it). An instance whose
-- key gives another value refuses to start, instead of failing to decrypt every secret the
-- others sealed (src/db/key-check.ts). `infrapulse rotate-key` replaces it with the new key's.
CREATE TABLE key_check (
  id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  value text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
