-- KEYS: server (the run_id the tokens were acknowledged by), seq, global tag, bump-times hash
-- ARGV: this server's run_id, random part, now (seq seed), wall-clock seconds,
--       '1' when the caller has talked to this very server before (a missing record is
--       then a flush or an eviction on it, not a server come back older)
-- -> 1 when the server is not the recorded one: recorded now, and the global tag bumped
local known = redis.call('GET', KEYS[1])
if known == ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if not known and ARGV[5] == '1' then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], ARGV[3]) end
local s = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[3], string.format('%d', s) .. '-' .. ARGV[2])
redis.call('HSET', KEYS[4], 'g', ARGV[4])
return 1
