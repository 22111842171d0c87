-- Redis Cluster (cluster_store.py): LOCK and STORE split into a step on the entry's node
-- and a step on the tag node (the slot of the tokens and the counter).
-- KEYS: seq, static tag keys...   ARGV: creation ttl ms, now us (seq seed), new token
-- -> {seq, tokens...}: LOCK's answer, without the lock
local seq = redis.call('GET', KEYS[1])
if not seq then
  redis.call('SET', KEYS[1], ARGV[2])
  seq = ARGV[2]
end
local out = {seq}
for i = 2, #KEYS do
  local t = redis.call('GET', KEYS[i])
  if not t then
    redis.call('SET', KEYS[i], ARGV[3], 'PX', ARGV[1])
    t = ARGV[3]
  end
  out[#out + 1] = t
end
return out
