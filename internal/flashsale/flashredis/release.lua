-- Give qty units a buyer holds back to the pool.
-- KEYS[1] state hash, KEYS[2] buyers hash; ARGV[1] buyer id, ARGV[2] qty
-- Returns the units left after the release, or -1 when the buyer holds fewer
-- than qty (or there is no state): then nothing changes, so a replayed release
-- cannot mint stock.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
local qty = tonumber(ARGV[2])
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if held < qty then
  return -1
end
if held == qty then
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('HINCRBY', KEYS[2], ARGV[1], -qty)
end
return redis.call('HINCRBY', KEYS[1], 'left', qty)
