-- read: a lock-free snapshot of one session record.
--
-- KEYS[1]  the record hash (see acquire.lua)
--
-- Clock: Redis TIME, for the expiry comparison.
-- Returns:
--   {0}                                        missing or expired
--   {1, data, created_at, expires_at, version}  the record; its lease is ignored
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local r = redis.call('HMGET', KEYS[1], 'data', 'created_at', 'expires_at', 'version')
if not r[1] or tonumber(r[3]) <= now then return {0} end
return {1, r[1], r[2], r[3], r[4]}
