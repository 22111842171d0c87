"""Lua scripts for the steps of a cache operation that must be atomic.

An entry is a Redis string under a stable key::

    E<fresh until ms>\\t<compute ms>\\t<tag>\\n<token>\\n<tag>\\n<token>...\\0<payload>

``fresh until`` is when it stops being fresh (epoch ms; ``0`` = never); after it, the entry
is served only as STALE while one process recomputes it, until the key's TTL
(``STALE_TTL`` later). ``compute ms`` feeds early recomputation (XFetch). Tag names are
stored without the key prefix; the payload is encoded by django-redis (serializer and
compressor). ``V<header names>`` is a Vary manifest and ``X<reason>`` a short-lived
"do not cache, do not wait" marker.

A hit needs no script: one ``MGET`` of the entry and the tags' tokens, compared by the
client (``redis_store.py``). Scripts take the lock, store, mark, release and bump.

A token is ``"<seq>-<random>"``: ``seq`` comes from one counter that every
invalidation increments, so a computation that remembers the counter value it
started at can tell whether a tag it discovers later was bumped while it ran.
Tokens created because a tag was missing (never bumped, or evicted) use seq 0.
A *held* token, ``"<seq>-H<until ms>-<random>"``, marks a tag written by a transaction
whose commit has not been seen yet (manual transactions): nothing is stamped with it
until then. It has no TTL (a ``volatile-*`` eviction policy never drops it); the hold
ends at ``until``, carried in the token.

Tag keys never outlive the entries that need them: one created by a read lives
``LOCK_TIMEOUT`` (the longest a computation may take), and each store extends the
TTL of every tag in its stamp to the entry's own (``PEXPIRE ... GT``; a tag of an
entry without expiry is made persistent). A bump does not create a missing tag: no
entry can match a token that does not exist, and the counter it increments stops
any computation under way from storing with that tag (see ``STORE``).
"""

from __future__ import annotations

# KEYS: lock, seq, entry, static tag keys...
# ARGV: lock token ('' = no lock), lock ttl ms, now us (seq seed), new token,
#       the first 64 bytes of the entry as the reader saw it ('' = none),
#       '1' to compare them (a reader that keeps losing that race passes '0')
# -> {locked, seq, tokens...}: the tokens to stamp a computation with, read before it starts
#  | {-1}: the entry changed since the reader's MGET (another process stored it): read again
LOCK = """
if ARGV[6] == '1' and redis.call('GETRANGE', KEYS[3], 0, 63) ~= ARGV[5] then return {-1} end
local seq = redis.call('GET', KEYS[2])
if not seq then
  redis.call('SET', KEYS[2], ARGV[3])
  seq = ARGV[3]
end
local out = {0, seq}
if ARGV[1] ~= '' and redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  out[1] = 1
end
for i = 4, #KEYS do
  local t = redis.call('GET', KEYS[i])
  if not t then
    redis.call('SET', KEYS[i], ARGV[4], 'PX', ARGV[2])
    t = ARGV[4]
  end
  out[#out + 1] = t
end
return out
"""

# KEYS: entry, lock, seq
# ARGV: tag prefix, seq at start, static stamp, body, ttl ms ('0' = none), lock token,
#       new token, fresh until ms ('0' = always fresh), compute ms, creation ttl ms,
#       static tag count, now ms (held tokens end then), the static tag names, then the
#       dynamic tag names
# -> 1 stored | 0 not stored: a dynamic tag was bumped after the computation started, is
#    held, or was missing while the counter moved (bumped, then evicted: cannot tell)
STORE = """
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
  parts[#parts + 1] = ARGV[i] .. '\\n' .. t
end
if fresh then
  local head = 'E' .. ARGV[8] .. '\\t' .. ARGV[9] .. '\\t' .. table.concat(parts, '\\n')
  if ARGV[5] ~= '0' then
    redis.call('SET', KEYS[1], head .. '\\0' .. ARGV[4], 'PX', ARGV[5])
  else
    redis.call('SET', KEYS[1], head .. '\\0' .. ARGV[4])
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
"""

# KEYS: entry, lock   ARGV: kind ('V' manifest or 'X' pass), value, ttl ms ('0' = none), lock token
MARK = """
if ARGV[3] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[1] .. ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[1] .. ARGV[2])
end
if ARGV[4] ~= '' and redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
return 1
"""

# KEYS: lock   ARGV: lock token
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: seq, bump-times hash, tag keys...
# ARGV: random part, now (seq seed), wall-clock seconds, tag key prefix,
#       hold until (epoch ms, '0' = a plain bump)
# Model tags (``m:...``) and the global tag (``g``) also get their bump time in the hash
# (bounded: one field per model), for the admin page; same round trip. A plain bump
# replaces existing tokens (keeping their TTL) and creates none; a hold creates or
# replaces every token with a held one, without a TTL (see the module docstring).
BUMP = """
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
"""

# KEYS: server (the run_id the tokens were acknowledged by), seq, global tag, bump-times hash
# ARGV: this server's run_id, random part, now (seq seed), wall-clock seconds,
#       '1' when the caller has talked to this very server before (a missing record is
#       then a flush or an eviction on it, not a server come back older)
# -> 1 when the server is not the recorded one: recorded now, and the global tag bumped
GENERATION = """
local known = redis.call('GET', KEYS[1])
if known == ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if not known and ARGV[5] == '1' then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], ARGV[3]) end
local s = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[3], string.format('%d', s) .. '-' .. ARGV[2])
redis.call('HSET', KEYS[4], 'g', ARGV[4])
return 1
"""
