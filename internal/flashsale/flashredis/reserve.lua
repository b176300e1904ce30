-- Reserve qty units of one session SKU for one buyer, atomically, and queue
-- the win for the order writer in the same step.
-- KEYS[1] state hash (left, limit, start, end), KEYS[2] buyers hash,
-- KEYS[3] tickets hash (ticket -> "qty buyer"), KEYS[4] wins stream
-- ARGV[1] buyer id, ARGV[2] qty, ARGV[3] now (unix ms, the caller's clock),
-- ARGV[4] ticket, ARGV[5] session id, ARGV[6] sku id, ARGV[7] data
-- Returns {code, left, held}: 0 won, 1 sold out, 2 limit reached,
-- 3 not open (before the start, or no state: Redis emptied and not rebuilt),
-- 4 ended, 5 won before (the ticket is a repeat: nothing taken).
local st = redis.call('HMGET', KEYS[1], 'left', 'limit', 'start', 'end')
if not st[1] then
  return {3, 0, 0}
end
local left = tonumber(st[1])
if redis.call('HEXISTS', KEYS[3], ARGV[4]) == 1 then
  return {5, left, tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')}
end
local now = tonumber(ARGV[3])
if now < tonumber(st[3]) then
  return {3, left, 0}
end
if now >= tonumber(st[4]) then
  return {4, left, 0}
end
local qty = tonumber(ARGV[2])
if left < qty then
  return {1, left, 0}
end
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if held + qty > tonumber(st[2]) then
  return {2, left, held}
end
redis.call('HINCRBY', KEYS[1], 'left', -qty)
redis.call('HINCRBY', KEYS[2], ARGV[1], qty)
redis.call('HSET', KEYS[3], ARGV[4], qty .. ' ' .. ARGV[1])
redis.call('XADD', KEYS[4], '*', 't', ARGV[4], 'b', ARGV[1], 'q', qty, 's', ARGV[5], 'k', ARGV[6], 'd', ARGV[7], 'at', now)
return {0, left - qty, held + qty}
