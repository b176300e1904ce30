-- Load one session SKU's state. KEYS[1] state, KEYS[2] buyers, KEYS[3] tickets.
-- ARGV[1] left, ARGV[2] limit, ARGV[3] start, ARGV[4] end (unix ms),
-- ARGV[5] "1" to load only when the state is absent (Ensure), "0" to replace
-- (Load); then triples: "b", buyer, units held | "t", ticket, "qty buyer".
-- Returns 1 when it loaded, 0 when the state was there and left alone.
if ARGV[5] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'left', ARGV[1], 'limit', ARGV[2], 'start', ARGV[3], 'end', ARGV[4])
for i = 6, #ARGV, 3 do
  if ARGV[i] == 'b' then
    redis.call('HSET', KEYS[2], ARGV[i + 1], ARGV[i + 2])
  else
    redis.call('HSET', KEYS[3], ARGV[i + 1], ARGV[i + 2])
  end
end
return 1
