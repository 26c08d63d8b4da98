-- Statements of the MySQL / MariaDB store (mysql2, named placeholders, InnoDB).
--
-- Every instant is epoch milliseconds (BIGINT). "now" is always the DATABASE's clock:
--   TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000
-- UTC_TIMESTAMP is fixed for the duration of one statement and involves no time zone,
-- unlike UNIX_TIMESTAMP(NOW(3)), which converts through the session time zone and is
-- ambiguous for an hour when daylight saving time ends.
--
-- Parameters:
--   :id          SHA-256 hex of the session id (never the id itself)
--   :token       a lease token (unique per acquire: a random per-process prefix and a counter)
--   :lease_ms    lease length in ms
--   :hold_ms     with a lease: keep it this many ms longer (local hand-off); NULL releases it
--   :data        serialized session data; NULL keeps the stored data and version (a touch)
--   :expires_at  new expiry; NULL keeps the stored one (throttled touch: the indexed
--                column is not rewritten)
--   :created_at  first save of a new session
--   :version     the version an optimistic write read
--   :grace_ms    sweep: only records expired for longer than this
--   :limit       sweep: at most this many records
--
-- Outputs. There is no UPDATE … RETURNING, so the updates report through the OK packet:
--   insertId      set with LAST_INSERT_ID(expr) to the row's new version (saves) or new
--                 lease expiry (renew); 0 means no row matched the guard. Unlike
--                 affectedRows it does not depend on the client's FOUND_ROWS flag.
--   affectedRows  deletes and release: 1 when the guard held, 0 when it did not.
-- A refused write is followed by "probe" to tell lost / gone / conflict apart; refusals
-- are rare, so the common case stays one round trip.
--
-- Comments inside a statement must not contain a colon before a word: mysql2 would
-- take it for a placeholder.
--
-- MySQL evaluates SET assignments left to right with the new values of columns already
-- assigned; only acquireReturning relies on it (see there), no other assignment below
-- reads a column assigned before it.
--
-- Statements travel with positional "?" placeholders: the store turns each :name into
-- "?" once, at load (src/stores/mysql.ts), rather than mysql2 on every query.

-- name: serverVersion
-- At first use: MariaDB 10.5 and later take acquireReturning.
SELECT VERSION() AS version;

-- name: lockSchema
-- Serializes schema setup between processes starting at once (startup only; never
-- taken on the request path). Answers locked = 1, or 0 after the 60 s timeout.
SELECT GET_LOCK('sessionlock.schema', 60) AS locked;

-- name: unlockSchema
SELECT RELEASE_LOCK('sessionlock.schema') AS released;

-- name: schemaVersionTable
CREATE TABLE IF NOT EXISTS sessionlock_schema_version (
  singleton TINYINT NOT NULL PRIMARY KEY,
  version   INT NOT NULL
) ENGINE = InnoDB;

-- name: schemaVersion
SELECT version FROM sessionlock_schema_version WHERE singleton = 1;

-- name: setSchemaVersion
INSERT INTO sessionlock_schema_version (singleton, version) VALUES (1, :version)
ON DUPLICATE KEY UPDATE version = VALUES(version);

-- name: migrate1
-- Version 1: the sessions table. Binary collations: keys and tokens compare byte for
-- byte, and data keeps every Unicode character (utf8mb4).
CREATE TABLE IF NOT EXISTS sessionlock_sessions (
  id          VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  data        LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  created_at  BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL,
  version     BIGINT NOT NULL,
  lease_token VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  lease_until BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY sessionlock_sessions_expires_at (expires_at)
) ENGINE = InnoDB;

-- name: acquire
-- Takes the lease if the record is live and free. Followed, on the same connection, by
-- "load": the lease is ours exactly when the loaded lease_token is our token, and
-- otherwise the loaded row explains why (missing, expired, busy).
UPDATE sessionlock_sessions
SET lease_token = :token,
    lease_until = TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000 + :lease_ms
WHERE id = :id
  AND expires_at > TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000
  AND (lease_token IS NULL
       OR lease_until <= TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000);

-- name: acquireReturning
-- MariaDB 10.5+: takes the lease and answers the row in one statement, as UPDATE cannot
-- (no UPDATE … RETURNING). The lease_until assignment reads the lease_token just
-- assigned: tokens are unique per acquire, so it equals :token exactly when this
-- statement took the lease. A key without a row gets a placeholder row (version 0,
-- expired since 1970) that every statement reads as missing, create takes over
-- (claimPlaceholder) and the sweep removes.
INSERT INTO sessionlock_sessions (id, data, created_at, expires_at, version, lease_token, lease_until)
VALUES (:id, '', 0, 0, 0, NULL, 0)
ON DUPLICATE KEY UPDATE
  lease_token = IF(expires_at > TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000
                   AND (lease_token IS NULL OR lease_until <= TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000),
                   :token, lease_token),
  lease_until = IF(lease_token = :token, TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000 + :lease_ms, lease_until)
RETURNING data, created_at, expires_at, version, lease_token, lease_until,
          TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000 AS now_ms;

-- name: load
SELECT data, created_at, expires_at, version, lease_token, lease_until,
       TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000 AS now_ms
FROM sessionlock_sessions WHERE id = :id;

-- name: probe
SELECT expires_at, version, lease_token, lease_until,
       TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000 AS now_ms
FROM sessionlock_sessions WHERE id = :id;

-- name: read
SELECT data, created_at, expires_at, version FROM sessionlock_sessions
WHERE id = :id AND expires_at > TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000;

-- name: renew
UPDATE sessionlock_sessions
SET lease_until = LAST_INSERT_ID(
      TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000 + :lease_ms)
WHERE id = :id AND lease_token = :token;

-- name: saveLeased
-- Saves and releases (or, with a hold, keeps) the lease, only while our token holds it.
UPDATE sessionlock_sessions
SET data        = COALESCE(:data, data),
    version     = LAST_INSERT_ID(version + IF(:data IS NULL, 0, 1)),
    expires_at  = COALESCE(:expires_at, expires_at),
    lease_token = IF(:hold_ms IS NULL, NULL, lease_token),
    lease_until = IF(:hold_ms IS NULL, 0,
                     TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000 + :hold_ms)
WHERE id = :id AND lease_token = :token;

-- name: saveLeasedData
-- The common save: new data, the same expiry (the core throttles touches), the lease
-- released. saveLeased with :expires_at and :hold_ms NULL, without the expressions
-- MariaDB would otherwise evaluate for them on every request.
UPDATE sessionlock_sessions
SET data = :data, version = LAST_INSERT_ID(version + 1), lease_token = NULL, lease_until = 0
WHERE id = :id AND lease_token = :token;

-- name: leaseUntil
-- After a save that kept the lease (hand-off): its new expiry.
SELECT lease_until FROM sessionlock_sessions WHERE id = :id AND lease_token = :token;

-- name: saveVersioned
-- Optimistic save: only if nobody changed it since the version read and nobody holds a
-- live lease.
UPDATE sessionlock_sessions
SET data       = COALESCE(:data, data),
    version    = LAST_INSERT_ID(version + IF(:data IS NULL, 0, 1)),
    expires_at = COALESCE(:expires_at, expires_at)
WHERE id = :id AND version = :version
  AND expires_at > TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000
  AND (lease_token IS NULL
       OR lease_until <= TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000);

-- name: saveExisting
-- Last writer wins (and read-only touches): only if the record is still live. Leaves
-- any lease alone.
UPDATE sessionlock_sessions
SET data       = COALESCE(:data, data),
    version    = LAST_INSERT_ID(version + IF(:data IS NULL, 0, 1)),
    expires_at = COALESCE(:expires_at, expires_at)
WHERE id = :id
  AND expires_at > TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000;

-- name: create
-- A brand-new session. A duplicate key error (1062) means the record exists: conflict.
INSERT INTO sessionlock_sessions (id, data, created_at, expires_at, version, lease_token, lease_until)
VALUES (:id, :data, :created_at, :expires_at, 1, NULL, 0);

-- name: claimPlaceholder
-- After create met a duplicate key: a placeholder row left by acquireReturning is no
-- record, so the new session takes its place. affectedRows is 0 for a real record.
UPDATE sessionlock_sessions
SET data = :data, created_at = :created_at, expires_at = :expires_at, version = 1,
    lease_token = NULL, lease_until = 0
WHERE id = :id AND version = 0;

-- name: deleteLeased
DELETE FROM sessionlock_sessions WHERE id = :id AND lease_token = :token;

-- name: deleteVersioned
DELETE FROM sessionlock_sessions
WHERE id = :id AND version = :version
  AND expires_at > TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000
  AND (lease_token IS NULL
       OR lease_until <= TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000);

-- name: deleteExisting
DELETE FROM sessionlock_sessions
WHERE id = :id AND expires_at > TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000;

-- name: release
-- Gives the lease up and changes nothing else.
UPDATE sessionlock_sessions SET lease_token = NULL, lease_until = 0
WHERE id = :id AND lease_token = :token;

-- name: sweep
-- One batch, oldest first through the index on expires_at. A DELETE reads the newest
-- committed row under its row lock, so both conditions are re-checked at the moment
-- of removal: a session saved or leased meanwhile is never removed.
DELETE FROM sessionlock_sessions
WHERE expires_at < TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000 - :grace_ms
  AND (lease_token IS NULL
       OR lease_until <= TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)
ORDER BY expires_at
LIMIT :limit;
