-- watch: called by a waiter right after it subscribed to the record's release channel,
-- to close the window between its "busy" answer and the subscription.
--
-- KEYS[1]  the record hash (see acquire.lua)
--
-- Clock: Redis TIME.
-- Returns: 1 the lease is free now (or the record is missing/expired): try again at
-- once; 0 still held: the record is marked "waiting" so its release publishes.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local r = redis.call('HMGET', KEYS[1], 'expires_at', 'lease_token', 'lease_until')
if not r[1] or tonumber(r[1]) <= now then return 1 end
if not r[2] or r[2] == '' or (tonumber(r[3]) or 0) <= now then return 1 end
redis.call('HSET', KEYS[1], 'waiting', '1')
return 0
