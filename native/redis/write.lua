-- write: one guarded write to a session record; the guard is checked and the write
-- made in the same step (this is the fence), and a release wakes the waiters.
--
-- KEYS[1]   the record hash (see acquire.lua)
-- ARGV[1]   guard kind: 'lease' | 'version' | 'create' | 'exists'
-- ARGV[2]   guard value: the lease token ('lease'), the version read ('version'), else ''
-- ARGV[3]   op kind: 'save' | 'delete' | 'release'
-- ARGV[4]   save: '1' when ARGV[5] holds new data, '0' keeps data and version (a touch)
-- ARGV[5]   save: the new serialized data
-- ARGV[6]   save: new expires_at, epoch ms; '' keeps the stored one
-- ARGV[7]   save of a new record: created_at, epoch ms
-- ARGV[8]   save under 'lease': keep the lease this many ms more (local hand-off); '' releases it
-- ARGV[9]   expiry slack, ms: the key's TTL runs until max(expires_at, lease_until) + this
-- ARGV[10]  the release channel of this record (same hash tag, so the same slot)
-- ARGV[11]  the publish command: 'PUBLISH', or 'SPUBLISH' on Redis Cluster
--
-- Clock: Redis TIME, for expiry and lease comparisons and the held lease's end.
-- Returns {status, version, lease_until}:
--   {1, version, lease_until}  ok; version after a save ('' for delete/release);
--                              lease_until only when the lease was kept ('' otherwise)
--   {2}  lost: the lease token is not ours (taken over)
--   {3}  gone: the record is missing (or expired, for 'exists' and 'version')
--   {4}  conflict: 'create' found a record; 'version' found another version or a live lease
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local key = KEYS[1]
local guard, guard_value, op = ARGV[1], ARGV[2], ARGV[3]
local function int(n) return string.format('%.0f', n) end

local r = redis.call('HMGET', key, 'created_at', 'expires_at', 'version', 'lease_token', 'lease_until', 'waiting')
local exists = r[1] ~= false
local expires_at = tonumber(r[2]) or 0
local version = tonumber(r[3]) or 0
local token = r[4] or ''
local lease_until = tonumber(r[5]) or 0
local leased = token ~= '' and lease_until > now

if guard == 'create' then
  if exists then return {4} end
elseif guard == 'exists' then
  if not exists or expires_at <= now then return {3} end
elseif guard == 'lease' then
  if not exists then return {3} end
  if token ~= guard_value then return {2} end
elseif guard == 'version' then
  if not exists or expires_at <= now then return {3} end
  if version ~= tonumber(guard_value) or leased then return {4} end
else
  return redis.error_reply('unknown guard kind')
end

-- A released lease wakes the waiters, but only when one said it waits (acquire.lua and
-- watch.lua set "waiting"), so an uncontended commit publishes nothing.
local function wake()
  if r[6] then
    redis.call('HDEL', key, 'waiting')
    redis.call(ARGV[11], ARGV[10], '1')
  end
end

if op == 'delete' then
  redis.call('DEL', key)
  if r[6] then redis.call(ARGV[11], ARGV[10], '1') end
  return {1, '', ''}
end

if op == 'release' then
  if exists then
    redis.call('HSET', key, 'lease_token', '', 'lease_until', '0')
    wake()
  end
  return {1, '', ''}
end

if op ~= 'save' then return redis.error_reply('unknown op kind') end

if not exists then
  -- Only 'create' reaches here: every other guard needs the record.
  if ARGV[4] ~= '1' or ARGV[6] == '' then return redis.error_reply('a new record needs data and an expiry') end
  local created_at = ARGV[7] ~= '' and ARGV[7] or int(now)
  redis.call('HSET', key, 'data', ARGV[5], 'created_at', created_at, 'expires_at', ARGV[6],
    'version', '1', 'lease_token', '', 'lease_until', '0')
  redis.call('PEXPIREAT', key, int(tonumber(ARGV[6]) + tonumber(ARGV[9])))
  return {1, '1', ''}
end

local fields = {}
if ARGV[4] == '1' then
  version = version + 1
  table.insert(fields, 'data'); table.insert(fields, ARGV[5])
  table.insert(fields, 'version'); table.insert(fields, int(version))
end
if ARGV[6] ~= '' then
  expires_at = tonumber(ARGV[6])
  table.insert(fields, 'expires_at'); table.insert(fields, ARGV[6])
end
local kept = ''
if guard == 'lease' then
  if ARGV[8] ~= '' then
    lease_until = now + tonumber(ARGV[8])
    kept = int(lease_until)
    table.insert(fields, 'lease_until'); table.insert(fields, kept)
  else
    -- A read-only touch or a last-writer-wins save (other guards) leaves the lease alone.
    lease_until = 0
    table.insert(fields, 'lease_token'); table.insert(fields, '')
    table.insert(fields, 'lease_until'); table.insert(fields, '0')
  end
end
if #fields > 0 then redis.call('HSET', key, unpack(fields)) end
redis.call('PEXPIREAT', key, int(math.max(expires_at, lease_until) + tonumber(ARGV[9])))
if guard == 'lease' and ARGV[8] == '' then wake() end
return {1, int(version), kept}
