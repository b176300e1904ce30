-- Give a won ticket's units back to the pool, once.
-- KEYS[1] state hash, KEYS[2] buyers hash, KEYS[3] tickets hash; ARGV[1] ticket
-- Returns the units left after the release, or -1 when the ticket holds
-- nothing (never won, released already, or no state): then nothing changes,
-- so a replayed release cannot mint stock.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
local t = redis.call('HGET', KEYS[3], ARGV[1])
if not t then
  return -1
end
local sp = string.find(t, ' ', 1, true)
local qty = tonumber(string.sub(t, 1, sp - 1))
local buyer = string.sub(t, sp + 1)
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('HINCRBY', KEYS[2], buyer, -qty) <= 0 then
  redis.call('HDEL', KEYS[2], buyer)
end
return redis.call('HINCRBY', KEYS[1], 'left', qty)
