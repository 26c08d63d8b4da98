-- Statements of the SQLite store (better-sqlite3, named parameters).
--
-- Parameters, every instant in epoch milliseconds on this host's clock:
--   @id          SHA-256 hex of the session id (never the id itself)
--   @now         the current instant
--   @token       a lease token (unique per acquire: a random per-process prefix and a counter)
--   @lease_ms    lease length in ms
--   @hold_ms     with a lease: keep it this many ms longer (local hand-off); NULL releases it
--   @data        serialized session data; NULL keeps the stored data and version
--   @expires_at  new expiry; NULL keeps the stored one
--   @version     the version an optimistic write read
--   @cutoff      sweep: remove records that expired before this (@now - grace)
--   @limit       sweep: at most this many records
--
-- A statement that finds no row returns nothing; the store then runs "probe" to tell
-- the caller why (missing, expired, leased by someone else, version moved on).

-- name: schema
CREATE TABLE IF NOT EXISTS sessionlock_sessions (
  id          TEXT PRIMARY KEY,
  data        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  version     INTEGER NOT NULL,
  lease_token TEXT,
  lease_until INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessionlock_sessions_expires_at ON sessionlock_sessions (expires_at);

-- name: acquire
-- Takes the lease and loads the record in one step, if the record is live and free.
UPDATE sessionlock_sessions
SET lease_token = @token, lease_until = @now + @lease_ms
WHERE id = @id AND expires_at > @now AND (lease_token IS NULL OR lease_until <= @now)
RETURNING data, created_at, expires_at, version, lease_until;

-- name: probe
SELECT expires_at, version, lease_token, lease_until FROM sessionlock_sessions WHERE id = @id;

-- name: read
SELECT data, created_at, expires_at, version FROM sessionlock_sessions WHERE id = @id AND expires_at > @now;

-- name: saveLeased
-- Saves and releases (or, with @hold_ms, keeps) the lease, only while @token holds it.
UPDATE sessionlock_sessions
SET data = coalesce(@data, data),
    version = version + (@data IS NOT NULL),
    expires_at = coalesce(@expires_at, expires_at),
    lease_token = CASE WHEN @hold_ms IS NULL THEN NULL ELSE lease_token END,
    lease_until = CASE WHEN @hold_ms IS NULL THEN 0 ELSE @now + @hold_ms END
WHERE id = @id AND lease_token = @token
RETURNING version, lease_until;

-- name: saveVersioned
-- Optimistic save: only if nobody changed it since @version and nobody holds a live lease.
UPDATE sessionlock_sessions
SET data = coalesce(@data, data),
    version = version + (@data IS NOT NULL),
    expires_at = coalesce(@expires_at, expires_at)
WHERE id = @id AND version = @version AND expires_at > @now
  AND (lease_token IS NULL OR lease_until <= @now)
RETURNING version, lease_until;

-- name: saveExisting
-- Last writer wins (and read-only touches): only if the record is still live.
UPDATE sessionlock_sessions
SET data = coalesce(@data, data),
    version = version + (@data IS NOT NULL),
    expires_at = coalesce(@expires_at, expires_at)
WHERE id = @id AND expires_at > @now
RETURNING version, lease_until;

-- name: create
INSERT INTO sessionlock_sessions (id, data, created_at, expires_at, version, lease_token, lease_until)
VALUES (@id, @data, @created_at, @expires_at, 1, NULL, 0)
ON CONFLICT (id) DO NOTHING
RETURNING version, lease_until;

-- name: deleteLeased
DELETE FROM sessionlock_sessions WHERE id = @id AND lease_token = @token RETURNING version;

-- name: deleteVersioned
DELETE FROM sessionlock_sessions
WHERE id = @id AND version = @version AND expires_at > @now
  AND (lease_token IS NULL OR lease_until <= @now)
RETURNING version;

-- name: deleteExisting
DELETE FROM sessionlock_sessions WHERE id = @id AND expires_at > @now RETURNING version;

-- name: release
UPDATE sessionlock_sessions SET lease_token = NULL, lease_until = 0
WHERE id = @id AND lease_token = @token
RETURNING version, lease_until;

-- name: renew
UPDATE sessionlock_sessions SET lease_until = @now + @lease_ms
WHERE id = @id AND lease_token = @token
RETURNING lease_until;

-- name: sweep
-- One batch. Both conditions are checked again by the DELETE itself, in the same
-- statement as the selection, so a session saved or locked meanwhile is never removed.
DELETE FROM sessionlock_sessions
WHERE id IN (
  SELECT id FROM sessionlock_sessions
  WHERE expires_at < @cutoff AND (lease_token IS NULL OR lease_until <= @now)
  ORDER BY expires_at
  LIMIT @limit
)
AND expires_at < @cutoff AND (lease_token IS NULL OR lease_until <= @now);
