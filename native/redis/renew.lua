-- renew: extend a lease we still hold.
--
-- KEYS[1]  the record hash (see acquire.lua)
-- ARGV[1]  our lease token
-- ARGV[2]  lease length from now, ms
-- ARGV[3]  expiry slack, ms (see acquire.lua)
--
-- Clock: Redis TIME.
-- Returns: 1 renewed (lease_until = now + ARGV[2]); 0 the record is gone or the lease
-- was taken over by another token.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local r = redis.call('HMGET', KEYS[1], 'lease_token', 'expires_at')
if not r[1] or r[1] ~= ARGV[1] then return 0 end
local lease_until = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'lease_until', string.format('%.0f', lease_until))
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', math.max(tonumber(r[2]), lease_until) + tonumber(ARGV[3])))
return 1
