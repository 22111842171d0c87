-- KEYS: entry, lock, seq
-- ARGV: tag prefix, seq at start, static stamp, body, ttl ms ('0' = none), lock token,
--       new token, fresh until ms ('0' = always fresh), compute ms, creation ttl ms,
--       static tag count, now ms (held tokens end then), the static tag names, then the
--       dynamic tag names
-- -> 1 stored | 0 not stored: a dynamic tag was bumped after the computation started, is
--    held, or was missing while the counter moved (bumped, then evicted: cannot tell)
local s0 = tonumber(ARGV[2])
local moved = tonumber(redis.call('GET', KEYS[3]) or '0') ~= s0
local parts = {}
if ARGV[3] ~= '' then parts[1] = ARGV[3] end
local fresh = true
local nstatic = tonumber(ARGV[11])
local first = 13 + nstatic
for i = first, #ARGV do
  local key = ARGV[1] .. ARGV[i]
  local t = redis.call('GET', key)
  if not t then
    redis.call('SET', key, ARGV[7], 'PX', ARGV[10])
    t = ARGV[7]
    if moved then fresh = false end
  elseif (tonumber(string.match(t, '^%d+%-H(%d+)%-')) or 0) > tonumber(ARGV[12])
      or (tonumber(string.match(t, '^(%d+)')) or 0) > s0 then
    fresh = false
  end
  parts[#parts + 1] = ARGV[i] .. '\n' .. t
end
if fresh then
  local head = 'E' .. ARGV[8] .. '\t' .. ARGV[9] .. '\t' .. table.concat(parts, '\n')
  if ARGV[5] ~= '0' then
    redis.call('SET', KEYS[1], head .. '\0' .. ARGV[4], 'PX', ARGV[5])
  else
    redis.call('SET', KEYS[1], head .. '\0' .. ARGV[4])
  end
  for i = 13, #ARGV do
    local key = ARGV[1] .. ARGV[i]
    if ARGV[5] ~= '0' then
      redis.call('PEXPIRE', key, ARGV[5], 'GT')
    else
      redis.call('PERSIST', key)
    end
  end
end
if ARGV[6] ~= '' and redis.call('GET', KEYS[2]) == ARGV[6] then redis.call('DEL', KEYS[2]) end
if fresh then return 1 end
return 0
