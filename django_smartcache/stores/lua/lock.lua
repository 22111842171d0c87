-- KEYS: lock, seq, entry, static tag keys...
-- ARGV: lock token ('' = no lock), lock ttl ms, now us (seq seed), new token,
--       the first 64 bytes of the entry as the reader saw it ('' = none),
--       '1' to compare them (a reader that keeps losing that race passes '0')
-- -> {locked, seq, tokens...}: the tokens to stamp a computation with, read before it starts
--  | {-1}: the entry changed since the reader's MGET (another process stored it): read again
if ARGV[6] == '1' and redis.call('GETRANGE', KEYS[3], 0, 63) ~= ARGV[5] then return {-1} end
local seq = redis.call('GET', KEYS[2])
if not seq then
  redis.call('SET', KEYS[2], ARGV[3])
  seq = ARGV[3]
end
local out = {0, seq}
if ARGV[1] ~= '' and redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  out[1] = 1
end
for i = 4, #KEYS do
  local t = redis.call('GET', KEYS[i])
  if not t then
    redis.call('SET', KEYS[i], ARGV[4], 'PX', ARGV[2])
    t = ARGV[4]
  end
  out[#out + 1] = t
end
return out
