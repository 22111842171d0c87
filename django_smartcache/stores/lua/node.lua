-- Redis Cluster (cluster_store.py), on the tag node: is this entry node a server (run_id and
-- replication id) whose entries we know? A restart from disk or a replica promoted is not:
-- its entries may predate acknowledged deletes, so every entry is made stale.
-- KEYS: known nodes hash, seq, global tag, bump-times hash
-- ARGV: the node's identity, random part, now (seq seed), wall-clock seconds,
--       '1' when this process checked this very identity before (the hash was then
--       flushed or evicted on the tag node: the entry node's data did not go back)
-- -> 1 when the global tag was bumped
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('HLEN', KEYS[1]) >= 1000 then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
if ARGV[5] == '1' then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], ARGV[3]) end
local s = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[3], string.format('%d', s) .. '-' .. ARGV[2])
redis.call('HSET', KEYS[4], 'g', ARGV[4])
return 1
