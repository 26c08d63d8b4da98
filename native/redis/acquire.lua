-- acquire: take the exclusive lease on one session record and load it, in one step.
--
-- KEYS[1]  the record: a hash {data, created_at, expires_at, version, lease_token,
--          lease_until, waiting}; instants are epoch ms, written as integers
-- ARGV[1]  lease token (unique per acquire)
-- ARGV[2]  lease length, ms
-- ARGV[3]  expiry slack, ms: the key's TTL runs until max(expires_at, lease_until) + this
--
-- Clock: Redis TIME, for the expiry comparison and the lease alike.
-- Returns:
--   {0}                                                   missing or expired; nothing changed
--   {1, data, created_at, expires_at, version, lease_until}  acquired
--   {2, lease_until}                                      busy: someone holds a live lease; the
--                                                         record is marked "waiting" so the
--                                                         release publishes a wake-up
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local r = redis.call('HMGET', KEYS[1], 'data', 'created_at', 'expires_at', 'version', 'lease_token', 'lease_until')
if not r[1] then return {0} end
local expires_at = tonumber(r[3])
if expires_at <= now then return {0} end
local held_until = tonumber(r[6]) or 0
if r[5] and r[5] ~= '' and held_until > now then
  redis.call('HSET', KEYS[1], 'waiting', '1')
  return {2, string.format('%.0f', held_until)}
end
local lease_until = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'lease_token', ARGV[1], 'lease_until', string.format('%.0f', lease_until))
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', math.max(expires_at, lease_until) + tonumber(ARGV[3])))
return {1, r[1], r[2], r[3], r[4], string.format('%.0f', lease_until)}
