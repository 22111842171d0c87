-- Redis Cluster (cluster_store.py): LOCK and STORE split into a step on the entry's node
-- and a step on the tag node (the slot of the tokens and the counter).
-- KEYS: seq
-- ARGV: tag prefix, seq at start, new token, creation ttl ms, now ms, entry ttl ms
--       ('0' = none), static tag count, the static tag names, then the dynamic tag names
-- -> {1, dynamic tokens...}: store the entry with them (then extends every tag's TTL to
--    the entry's, as STORE does) | {0}: do not store (STORE's reasons)
local s0 = tonumber(ARGV[2])
local moved = tonumber(redis.call('GET', KEYS[1]) or '0') ~= s0
local out = {1}
local first = 8 + tonumber(ARGV[7])
for i = first, #ARGV do
  local key = ARGV[1] .. ARGV[i]
  local t = redis.call('GET', key)
  if not t then
    redis.call('SET', key, ARGV[3], 'PX', ARGV[4])
    t = ARGV[3]
    if moved then return {0} end
  elseif (tonumber(string.match(t, '^%d+%-H(%d+)%-')) or 0) > tonumber(ARGV[5])
      or (tonumber(string.match(t, '^(%d+)')) or 0) > s0 then
    return {0}
  end
  out[#out + 1] = t
end
for i = 8, #ARGV do
  local key = ARGV[1] .. ARGV[i]
  if ARGV[6] ~= '0' then
    redis.call('PEXPIRE', key, ARGV[6], 'GT')
  else
    redis.call('PERSIST', key)
  end
end
return out
