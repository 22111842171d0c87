-- KEYS: seq, bump-times hash, tag keys...
-- ARGV: random part, now (seq seed), wall-clock seconds, tag key prefix,
--       hold until (epoch ms, '0' = a plain bump), release (epoch ms: end the holds that
--       end by then; '0' = none)
-- Model tags (``m:...``) and the global tag (``g``) also get their bump time in the hash
-- (bounded: one field per model), for the admin page; same round trip. A plain bump
-- replaces existing tokens (keeping their TTL) and creates none; a token still held (a
-- manual transaction's commit not yet seen) stays held, with a new value, unless the bump
-- releases it (that transaction's own bump, up to the end of its last hold: a later
-- transaction's hold stays); a hold creates or replaces every token with a
-- held one, without a TTL (see scripts.py), keeping a later end already there.
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[2]) end
local s = redis.call('INCR', KEYS[1])
local hold = ARGV[5] ~= '0'
local release = tonumber(ARGV[6])
local now_ms = tonumber(ARGV[3]) * 1000
local seq = string.format('%d', s)
local tok = seq .. '-' .. ARGV[1]
if hold then tok = seq .. '-H' .. ARGV[5] .. '-' .. ARGV[1] end
local skip = #ARGV[4]
for i = 3, #KEYS do
  if hold then
    -- A hold never shortens one still on the tag (a hold sent again late, or from a
    -- clock behind): that later end stays, so the release naming it still ends it.
    local t = tok
    local cur = redis.call('GET', KEYS[i])
    local held = cur and tonumber(string.match(cur, '^%d+%-H(%d+)%-'))
    if held and held > now_ms and held > tonumber(ARGV[5]) then
      t = seq .. '-H' .. string.format('%d', held) .. '-' .. ARGV[1]
    end
    redis.call('SET', KEYS[i], t)
  else
    local cur = redis.call('GET', KEYS[i])
    if cur then
      local t = tok
      local held = tonumber(string.match(cur, '^%d+%-H(%d+)%-'))
      if held and held > now_ms and held > release then
        t = seq .. '-H' .. string.format('%d', held) .. '-' .. ARGV[1]
      end
      redis.call('SET', KEYS[i], t, 'KEEPTTL')
    end
  end
  local tag = string.sub(KEYS[i], skip + 1)
  if tag == 'g' or string.sub(tag, 1, 2) == 'm:' then
    redis.call('HSET', KEYS[2], tag, ARGV[3])
  end
end
return tok
