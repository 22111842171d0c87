-- KEYS: entry, lock   ARGV: kind ('V' manifest or 'X' pass), value, ttl ms ('0' = none), lock token
if ARGV[3] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[1] .. ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[1] .. ARGV[2])
end
if ARGV[4] ~= '' and redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
return 1
