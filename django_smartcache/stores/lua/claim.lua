-- Redis Cluster (cluster_store.py): LOCK and STORE split into a step on the entry's node
-- and a step on the tag node (the slot of the tokens and the counter).
-- KEYS: entry, lock   ARGV: lock token ('' = no lock), lock ttl ms, the first 64 bytes of
-- the entry as the reader saw it, '1' to compare them
-- -> 1 locked | 0 not locked | -1 the entry changed since the reader's GET: read again
if ARGV[4] == '1' and redis.call('GETRANGE', KEYS[1], 0, 63) ~= ARGV[3] then return -1 end
if ARGV[1] ~= '' and redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
