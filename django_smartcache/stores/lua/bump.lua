-- KEYS: seq, bump-times hash, tag keys...
-- ARGV: random part, now (seq seed), wall-clock seconds, tag key prefix,
--       hold until (epoch ms, '0' = a plain bump)
-- Model tags (``m:...``) and the global tag (``g``) also get their bump time in the hash
-- (bounded: one field per model), for the admin page; same round trip. A plain bump
-- replaces existing tokens (keeping their TTL) and creates none; a hold creates or
-- replaces every token with a held one, without a TTL (see scripts.py).
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[2]) end
local s = redis.call('INCR', KEYS[1])
local hold = ARGV[5] ~= '0'
local tok = string.format('%d', s) .. '-' .. ARGV[1]
if hold then tok = string.format('%d', s) .. '-H' .. ARGV[5] .. '-' .. ARGV[1] end
local skip = #ARGV[4]
for i = 3, #KEYS do
  if hold then
    redis.call('SET', KEYS[i], tok)
  elseif redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('SET', KEYS[i], tok, 'KEEPTTL')
  end
  local tag = string.sub(KEYS[i], skip + 1)
  if tag == 'g' or string.sub(tag, 1, 2) == 'm:' then
    redis.call('HSET', KEYS[2], tag, ARGV[3])
  end
end
return tok
