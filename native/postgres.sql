-- Statements of the PostgreSQL store (node-postgres, positional parameters).
--
-- Every instant is epoch milliseconds (bigint). "now" is always the DATABASE's clock,
-- read once per statement in the `clock` CTE, so leases and expiry never depend on the
-- clocks of the application hosts agreeing:
--   (extract(epoch FROM clock_timestamp()) * 1000)::bigint
--
-- Parameters used below (each statement lists its own, in order):
--   id          SHA-256 hex of the session id (never the id itself)
--   token       a lease token (unique per acquire: a random per-process prefix and a counter)
--   lease_ms    lease length in ms
--   hold_ms     with a lease: keep it this many ms longer (local hand-off); NULL releases it
--   data        serialized session data; NULL keeps the stored data and version (a touch)
--   expires_at  new expiry; NULL keeps the stored one (throttled touch: no index update,
--               so the row is rewritten as a HOT update)
--   created_at  first save of a new session
--   version     the version an optimistic write read
--   waiter      1 when this process listens for release notifications, else 0
--   queue_ms    how long a waiter's place as next holder lasts unless it asks again
--   grace_ms    sweep: only records expired for longer than this
--   limit       sweep: at most this many records
--
-- Outputs of the guarded writes (saveLeased … deleteExisting): one row whose `outcome` is
--   'written'  the guard held and the write was made; version/lease_until are the new values
--   'refused'  the guard failed; the row's current lease state (expires_at, version,
--              lease_token, lease_until) and now_ms, read under the row lock, so the
--              store can tell lost / gone / conflict apart without another round trip
--   no row     the record does not exist
--
-- Wake-ups: `waiters` counts busy acquire attempts (made by listening processes) since
-- the lease was last taken. A write that frees the lease sends
--   NOTIFY sessionlock_release, '<id>'
-- only when waiters > 0, so an uncontended session never pays for a notification. The
-- call sits in a CASE branch because CASE is the one construct whose evaluation order
-- PostgreSQL guarantees (an AND may be evaluated in any order).
--
-- Hand-over: the first listening waiter also leaves its token in `next_token`, for
-- queue_ms (it asks again well within that while it still waits). A write that frees
-- the lease while that place is live gives the lease straight to that token instead, and
-- the notification carries what the waiter would have loaded:
--   '<id>\t<token>\t<lease_until>\t<created_at>\t<expires_at>\t<version>\n<data>'
-- so the next holder needs no acquire round trip. Only data up to 7,000 bytes is handed
-- over this way (a payload must stay under 8,000 bytes); larger sessions are released
-- and the waiter acquires as before. A waiter that gives up runs `abandon`.

-- name: lockSchema
-- Serializes schema setup between processes starting at once. Held to the end of the
-- setup transaction only; never taken on the request path.
SELECT pg_advisory_xact_lock(hashtextextended('sessionlock.schema', 0));

-- name: schemaVersionTable
CREATE TABLE IF NOT EXISTS sessionlock_schema_version (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version   integer NOT NULL
);

-- name: schemaVersion
SELECT version FROM sessionlock_schema_version;

-- name: setSchemaVersion
-- $1 version
INSERT INTO sessionlock_schema_version (singleton, version) VALUES (true, $1::integer)
ON CONFLICT (singleton) DO UPDATE SET version = excluded.version;

-- name: migrate1
-- Version 1: the sessions table. fillfactor leaves room in each page so lease changes
-- and throttled touches (which change no indexed column) stay HOT updates.
CREATE TABLE IF NOT EXISTS sessionlock_sessions (
  id          text PRIMARY KEY,
  data        text NOT NULL,
  created_at  bigint NOT NULL,
  expires_at  bigint NOT NULL,
  version     bigint NOT NULL,
  lease_token text,
  lease_until bigint NOT NULL DEFAULT 0,
  waiters     integer NOT NULL DEFAULT 0
) WITH (fillfactor = 80);
CREATE INDEX IF NOT EXISTS sessionlock_sessions_expires_at ON sessionlock_sessions (expires_at);

-- name: migrate2
-- Version 2: the waiter the lease is handed to on release (see "Hand-over" above).
-- Columns with constant defaults: added without rewriting the table.
ALTER TABLE sessionlock_sessions
  ADD COLUMN IF NOT EXISTS next_token    text,
  ADD COLUMN IF NOT EXISTS next_until    bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS next_lease_ms bigint NOT NULL DEFAULT 0;

-- name: acquire
-- $1 id, $2 token, $3 lease_ms, $4 waiter, $5 queue_ms
-- Takes the lease and loads the record in one statement when the record is live and
-- free (or already handed over to this token). When it is busy the same statement
-- counts this attempt in `waiters` (so the holder's release will NOTIFY), takes or
-- renews the next-holder place when it is free, stale or already ours, and answers
-- acquired = false with the lease expiry.
-- No row: missing or expired. The CASE expressions run on the newest row version under
-- the row lock, so two racing acquires can never both win; they repeat their conditions
-- because one UPDATE with no CTE to read the row first is the cheapest plan for the
-- statement every request makes.
-- The statement commits without waiting for its WAL flush (synchronous_commit off for
-- this transaction only): it changes nothing but the lease, and a lease lost in a server
-- crash is safe, because the holder's write is then refused by its token. Sparing that
-- fsync is about a third of a cross-process hand-off. Every write of session data keeps
-- the server's own setting, and flushes any earlier lease change with it.
WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms,
                      set_config('synchronous_commit', 'off', true) AS commit_mode)
UPDATE sessionlock_sessions AS s
SET lease_token   = CASE WHEN s.lease_token IS NULL OR s.lease_until <= clock.now_ms OR s.lease_token = $2::text
                         THEN $2::text ELSE s.lease_token END,
    lease_until   = CASE WHEN s.lease_token IS NULL OR s.lease_until <= clock.now_ms OR s.lease_token = $2::text
                         THEN clock.now_ms + $3::bigint ELSE s.lease_until END,
    waiters       = CASE WHEN s.lease_token IS NULL OR s.lease_until <= clock.now_ms OR s.lease_token = $2::text
                         THEN 0 ELSE least(s.waiters + $4::integer, 1000000) END,
    -- Free: drop our own place in line. Busy, from a listening process, with the place
    -- free, lapsed or ours: take or renew it.
    next_token    = CASE WHEN s.lease_token IS NULL OR s.lease_until <= clock.now_ms OR s.lease_token = $2::text
                         THEN nullif(s.next_token, $2::text)
                         WHEN $4::integer = 1 AND (s.next_token IS NULL OR s.next_until <= clock.now_ms OR s.next_token = $2::text)
                         THEN $2::text ELSE s.next_token END,
    next_until    = CASE WHEN s.lease_token IS NULL OR s.lease_until <= clock.now_ms OR s.lease_token = $2::text
                         THEN s.next_until
                         WHEN $4::integer = 1 AND (s.next_token IS NULL OR s.next_until <= clock.now_ms OR s.next_token = $2::text)
                         THEN clock.now_ms + $5::bigint ELSE s.next_until END,
    next_lease_ms = CASE WHEN s.lease_token IS NULL OR s.lease_until <= clock.now_ms OR s.lease_token = $2::text
                         THEN s.next_lease_ms
                         WHEN $4::integer = 1 AND (s.next_token IS NULL OR s.next_until <= clock.now_ms OR s.next_token = $2::text)
                         THEN $3::bigint ELSE s.next_lease_ms END
FROM clock
WHERE s.id = $1::text AND s.expires_at > clock.now_ms
RETURNING s.lease_token = $2::text AS acquired,
          CASE WHEN s.lease_token = $2::text THEN s.data END AS data,
          s.created_at, s.expires_at, s.version, s.lease_token, s.lease_until, clock.now_ms;

-- name: read
-- $1 id. A lock-free snapshot of a live record.
WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms)
SELECT s.data, s.created_at, s.expires_at, s.version
FROM sessionlock_sessions AS s, clock
WHERE s.id = $1::text AND s.expires_at > clock.now_ms;

-- name: renew
-- $1 id, $2 token, $3 lease_ms
WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms)
UPDATE sessionlock_sessions AS s SET lease_until = clock.now_ms + $3::bigint
FROM clock
WHERE s.id = $1::text AND s.lease_token = $2::text
RETURNING s.lease_until;

-- name: saveLeased
-- $1 id, $2 token, $3 data, $4 expires_at, $5 hold_ms
-- Saves and releases (or, with hold_ms, keeps) the lease, only while token holds it.
-- With data and expires_at NULL and no hold_ms it is the plain release. A release hands
-- the lease over to the next holder's token when its place is live and the data fits a
-- notification (see "Hand-over" above).
WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms),
cur AS (
  SELECT s.id, s.expires_at, s.version, s.lease_token, s.lease_until,
         -- CASE, so the data's length is only measured when someone is in line.
         CASE WHEN $5::bigint IS NULL AND s.next_token IS NOT NULL AND s.next_until > clock.now_ms
              THEN octet_length(coalesce($3::text, s.data)) <= 7000 ELSE false END AS hand_over
  FROM sessionlock_sessions AS s, clock WHERE s.id = $1::text FOR UPDATE OF s
),
done AS (
  UPDATE sessionlock_sessions AS s
  SET data        = coalesce($3::text, s.data),
      version     = s.version + CASE WHEN $3::text IS NULL THEN 0 ELSE 1 END,
      expires_at  = coalesce($4::bigint, s.expires_at),
      lease_token = CASE WHEN $5::bigint IS NOT NULL THEN s.lease_token
                         WHEN cur.hand_over THEN s.next_token END,
      lease_until = CASE WHEN $5::bigint IS NOT NULL THEN clock.now_ms + $5::bigint
                         WHEN cur.hand_over THEN clock.now_ms + s.next_lease_ms ELSE 0 END,
      waiters     = CASE WHEN cur.hand_over THEN 0 ELSE s.waiters END,
      next_token  = CASE WHEN cur.hand_over THEN NULL ELSE s.next_token END
  FROM cur, clock
  WHERE s.id = cur.id AND s.lease_token = $2::text
  RETURNING s.version, s.lease_until, s.waiters, cur.hand_over, s.lease_token AS next_holder,
            s.data, s.created_at, s.expires_at AS new_expires_at
)
SELECT 'written' AS outcome, d.version, d.lease_until, NULL::bigint AS expires_at, NULL::text AS lease_token,
       clock.now_ms,
       CASE WHEN $5::bigint IS NOT NULL THEN false
            WHEN d.hand_over
            THEN pg_notify('sessionlock_release', concat_ws(E'\t', $1::text, d.next_holder, d.lease_until,
                           d.created_at, d.new_expires_at, d.version) || E'\n' || d.data)::text = ''
            WHEN d.waiters > 0 THEN pg_notify('sessionlock_release', $1::text)::text = ''
            ELSE false END AS notified
FROM done AS d, clock
UNION ALL
SELECT 'refused', c.version, c.lease_until, c.expires_at, c.lease_token, clock.now_ms, false
FROM cur AS c, clock WHERE NOT EXISTS (SELECT FROM done);

-- name: saveVersioned
-- $1 id, $2 version, $3 data, $4 expires_at
-- Optimistic save: only if nobody changed the record since version and nobody holds a
-- live lease on it.
WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms),
cur AS (
  SELECT id, expires_at, version, lease_token, lease_until
  FROM sessionlock_sessions WHERE id = $1::text FOR UPDATE
),
done AS (
  UPDATE sessionlock_sessions AS s
  SET data       = coalesce($3::text, s.data),
      version    = s.version + CASE WHEN $3::text IS NULL THEN 0 ELSE 1 END,
      expires_at = coalesce($4::bigint, s.expires_at)
  FROM cur, clock
  WHERE s.id = cur.id AND s.version = $2::bigint AND s.expires_at > clock.now_ms
    AND (s.lease_token IS NULL OR s.lease_until <= clock.now_ms)
  RETURNING s.version, s.lease_until
)
SELECT 'written' AS outcome, d.version, d.lease_until, NULL::bigint AS expires_at, NULL::text AS lease_token,
       clock.now_ms, false AS notified
FROM done AS d, clock
UNION ALL
SELECT 'refused', c.version, c.lease_until, c.expires_at, c.lease_token, clock.now_ms, false
FROM cur AS c, clock WHERE NOT EXISTS (SELECT FROM done);

-- name: saveExisting
-- $1 id, $2 data, $3 expires_at
-- Last writer wins (and read-only touches): only if the record is still live. Leaves
-- any lease alone. No row: gone.
WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms)
UPDATE sessionlock_sessions AS s
SET data       = coalesce($2::text, s.data),
    version    = s.version + CASE WHEN $2::text IS NULL THEN 0 ELSE 1 END,
    expires_at = coalesce($3::bigint, s.expires_at)
FROM clock
WHERE s.id = $1::text AND s.expires_at > clock.now_ms
RETURNING 'written' AS outcome, s.version, s.lease_until, false AS notified;

-- name: create
-- $1 id, $2 data, $3 created_at, $4 expires_at
-- A brand-new session. No row: a record with this id exists (conflict).
INSERT INTO sessionlock_sessions (id, data, created_at, expires_at, version, lease_token, lease_until, waiters)
VALUES ($1::text, $2::text, $3::bigint, $4::bigint, 1, NULL, 0, 0)
ON CONFLICT (id) DO NOTHING
RETURNING 'written' AS outcome, version, lease_until, false AS notified;

-- name: deleteLeased
-- $1 id, $2 token. Wakes waiters, who then find the session missing.
WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms),
cur AS (
  SELECT id, expires_at, version, lease_token, lease_until
  FROM sessionlock_sessions WHERE id = $1::text FOR UPDATE
),
done AS (
  DELETE FROM sessionlock_sessions AS s USING cur
  WHERE s.id = cur.id AND s.lease_token = $2::text
  RETURNING s.version, s.waiters
)
SELECT 'written' AS outcome, d.version, 0::bigint AS lease_until, NULL::bigint AS expires_at, NULL::text AS lease_token,
       clock.now_ms,
       CASE WHEN d.waiters > 0 THEN pg_notify('sessionlock_release', $1::text)::text = '' ELSE false END AS notified
FROM done AS d, clock
UNION ALL
SELECT 'refused', c.version, c.lease_until, c.expires_at, c.lease_token, clock.now_ms, false
FROM cur AS c, clock WHERE NOT EXISTS (SELECT FROM done);

-- name: deleteVersioned
-- $1 id, $2 version
WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms),
cur AS (
  SELECT id, expires_at, version, lease_token, lease_until
  FROM sessionlock_sessions WHERE id = $1::text FOR UPDATE
),
done AS (
  DELETE FROM sessionlock_sessions AS s USING cur, clock
  WHERE s.id = cur.id AND s.version = $2::bigint AND s.expires_at > clock.now_ms
    AND (s.lease_token IS NULL OR s.lease_until <= clock.now_ms)
  RETURNING s.version
)
SELECT 'written' AS outcome, d.version, 0::bigint AS lease_until, NULL::bigint AS expires_at, NULL::text AS lease_token,
       clock.now_ms, false AS notified
FROM done AS d, clock
UNION ALL
SELECT 'refused', c.version, c.lease_until, c.expires_at, c.lease_token, clock.now_ms, false
FROM cur AS c, clock WHERE NOT EXISTS (SELECT FROM done);

-- name: deleteExisting
-- $1 id. No row: gone.
WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms)
DELETE FROM sessionlock_sessions AS s USING clock
WHERE s.id = $1::text AND s.expires_at > clock.now_ms
RETURNING 'written' AS outcome, s.version, 0::bigint AS lease_until, false AS notified;

-- name: abandon
-- $1 id, $2 token. A waiter that gave up: gives back its next-holder place, and the
-- lease if it was already handed over to it (waking the others when they wait).
WITH done AS (
  UPDATE sessionlock_sessions AS s
  SET next_token  = CASE WHEN s.next_token = $2::text THEN NULL ELSE s.next_token END,
      lease_token = CASE WHEN s.lease_token = $2::text THEN NULL ELSE s.lease_token END,
      lease_until = CASE WHEN s.lease_token = $2::text THEN 0 ELSE s.lease_until END
  WHERE s.id = $1::text AND (s.next_token = $2::text OR s.lease_token = $2::text)
  RETURNING s.lease_token IS NULL AND s.waiters > 0 AS wake
)
SELECT CASE WHEN d.wake THEN pg_notify('sessionlock_release', $1::text)::text = '' ELSE false END AS notified
FROM done AS d;

-- name: sweep
-- $1 grace_ms, $2 limit
-- One batch. Rows locked by a request right now are skipped (SKIP LOCKED), never
-- waited for; the DELETE re-checks both conditions on the rows it locked, so a session
-- saved or leased meanwhile is never removed. Uses the index on expires_at.
WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms),
doomed AS (
  SELECT s.id FROM sessionlock_sessions AS s, clock
  WHERE s.expires_at < clock.now_ms - $1::bigint
    AND (s.lease_token IS NULL OR s.lease_until <= clock.now_ms)
  ORDER BY s.expires_at
  LIMIT $2::integer
  FOR UPDATE OF s SKIP LOCKED
)
DELETE FROM sessionlock_sessions AS s USING doomed, clock
WHERE s.id = doomed.id
  AND s.expires_at < clock.now_ms - $1::bigint
  AND (s.lease_token IS NULL OR s.lease_until <= clock.now_ms);
