"""Lua scripts that make each cache operation one Redis round trip.

An entry is a Redis hash under a stable key with the fields

* ``s``: its stamp, ``"tag\\ntoken\\ntag\\ntoken..."`` (tag names without the key prefix),
* ``b``: the encoded payload (django-redis serializer and compressor),
* ``v``: instead of ``s``/``b``, a Vary manifest (request header names, one per line),
* ``x``: instead of ``s``/``b``, a short-lived "do not cache, do not wait" marker,
* ``f``: when it stops being fresh (epoch ms; ``0`` = never), after which it is served
  only as STALE while one process recomputes it, until the key's TTL (``STALE_TTL`` later),
* ``d``: how long it took to compute (ms), for early recomputation (XFetch).

A token is ``"<seq>-<random>"``: ``seq`` comes from one counter that every
invalidation increments, so a computation that remembers the counter value it
started at can tell whether a tag it discovers later was bumped while it ran.
Tokens created because a tag was missing (never bumped, or evicted) use seq 0.
"""

from __future__ import annotations

# KEYS: entry, lock, seq, static tag keys...
# ARGV: tag prefix, lock token ('' = no lock), lock ttl ms, now us (seq seed), new token,
#       want stamp, now ms, early factor (XFetch: -beta * ln(random)), serve invalidated ('1')
# -> {1, body[, stamp]} fresh hit | {2, vary names} | {3} pass
#  | {0, locked, seq, tokens...} miss
#  | {4|5|6, locked, seq, body, stamp, tokens...}: aged out (4), invalidated but allowed (5),
#    or still fresh but picked for early recompute (6)
READ = """
local unpack = unpack or table.unpack
local e = redis.call('HMGET', KEYS[1], 's', 'b', 'v', 'x', 'f', 'd')
local state = 0
if e[2] then
  local names, toks = {}, {}
  for n, t in string.gmatch(e[1], '([^\\n]+)\\n([^\\n]+)') do
    names[#names + 1] = ARGV[1] .. n
    toks[#toks + 1] = t
  end
  local ok = #names > 0
  if ok then
    local cur = redis.call('MGET', unpack(names))
    for i = 1, #toks do
      if cur[i] ~= toks[i] then ok = false break end
    end
  end
  if ok then
    local fresh_until = tonumber(e[5]) or 0
    local now = tonumber(ARGV[7])
    if fresh_until == 0 or now + (tonumber(e[6]) or 0) * tonumber(ARGV[8]) < fresh_until then
      if ARGV[6] == '1' then return {1, e[2], e[1]} end
      return {1, e[2]}
    end
    if now < fresh_until then state = 6 else state = 4 end
  elseif ARGV[9] == '1' then
    state = 5
  end
elseif e[3] then
  return {2, e[3]}
elseif e[4] then
  return {3}
end
local seq = redis.call('GET', KEYS[3])
if not seq then
  redis.call('SET', KEYS[3], ARGV[4])
  seq = ARGV[4]
end
local out = {state, 0, seq}
if state ~= 0 then
  out[4] = e[2]
  out[5] = e[1]
end
if ARGV[2] ~= '' and redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
  out[2] = 1
end
for i = 4, #KEYS do
  local t = redis.call('GET', KEYS[i])
  if not t then
    redis.call('SET', KEYS[i], ARGV[5])
    t = ARGV[5]
  end
  out[#out + 1] = t
end
return out
"""

# KEYS: entry, lock
# ARGV: tag prefix, seq at start, static stamp, body, ttl ms ('0' = none), lock token,
#       new token, fresh until ms ('0' = always fresh), compute ms, dynamic tag names...
# -> 1 stored | 0 not stored (a dynamic tag was bumped after the computation started)
STORE = """
local s0 = tonumber(ARGV[2])
local parts = {}
if ARGV[3] ~= '' then parts[1] = ARGV[3] end
local fresh = true
for i = 10, #ARGV do
  local key = ARGV[1] .. ARGV[i]
  local t = redis.call('GET', key)
  if not t then
    redis.call('SET', key, ARGV[7])
    t = ARGV[7]
  elseif (tonumber(string.match(t, '^(%d+)')) or 0) > s0 then
    fresh = false
  end
  parts[#parts + 1] = ARGV[i] .. '\\n' .. t
end
if fresh then
  redis.call('DEL', KEYS[1])
  local stamp = table.concat(parts, '\\n')
  redis.call('HSET', KEYS[1], 's', stamp, 'b', ARGV[4], 'f', ARGV[8], 'd', ARGV[9])
  if ARGV[5] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
end
if ARGV[6] ~= '' and redis.call('GET', KEYS[2]) == ARGV[6] then redis.call('DEL', KEYS[2]) end
if fresh then return 1 end
return 0
"""

# KEYS: entry, lock   ARGV: field ('v' or 'x'), value, ttl ms ('0' = none), lock token
MARK = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
if ARGV[4] ~= '' and redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
return 1
"""

# KEYS: lock   ARGV: lock token
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: seq, bump-times hash, tag keys...
# ARGV: random part, now (seq seed), wall-clock seconds, tag key prefix
# Model tags (``m:...``) and the global tag (``g``) also get their bump time in the hash
# (bounded: one field per model), for the admin page; same round trip.
BUMP = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[2]) end
local s = redis.call('INCR', KEYS[1])
local tok = string.format('%d', s) .. '-' .. ARGV[1]
local skip = #ARGV[4]
for i = 3, #KEYS do
  redis.call('SET', KEYS[i], tok)
  local tag = string.sub(KEYS[i], skip + 1)
  if tag == 'g' or string.sub(tag, 1, 2) == 'm:' then
    redis.call('HSET', KEYS[2], tag, ARGV[3])
  end
end
return tok
"""
