//! The Lua scripts of the protocol: each runs atomically in Redis, so a reader never sees a
//! half-written event and a lease is repaired by exactly one instance. Each starts with a
//! Redis 7 shebang: a writing script is refused whole, before it runs, when Redis is out of
//! memory (without one, Redis lets a script that started with an allowed write go on with
//! refused ones), and the read script is marked `no-writes` so replicas and a full Redis run it.

/// Publishes an event. KEYS: state, seq, wait. ARGV: `open` or `closed`, wait_ms, instance,
/// key_ttl_ms. Returns the event's seq. The seq comes from `INCR`; a missing seq key, or one
/// holding anything but an integer, is seeded from Redis `TIME` in milliseconds, so a flush
/// never sends it back to 1.
pub(crate) const PUBLISH: &str = r"#!lua
local current = false
if redis.call('TYPE', KEYS[2])['ok'] == 'string' then
  current = tonumber(redis.call('GET', KEYS[2]))
end
if not current or current ~= math.floor(current) or current < 0 or current > 9007199254740000 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[2], string.format('%d', now[1] * 1000 + math.floor(now[2] / 1000)))
end
local seq = redis.call('INCR', KEYS[2])
local ttl = tonumber(ARGV[4])
local wait = tonumber(ARGV[2])
redis.call('PEXPIRE', KEYS[2], 2 * ttl)
if ARGV[1] == 'open' then
  redis.call('SET', KEYS[1], string.format('open:%d:%d:%s', seq, wait, ARGV[3]), 'PX', ttl + wait)
  redis.call('SET', KEYS[3], string.format('%d', seq), 'PX', wait)
else
  redis.call('SET', KEYS[1], string.format('closed:%d:%s', seq, ARGV[3]), 'PX', ttl)
  redis.call('DEL', KEYS[3])
end
return seq
";

/// Reads an event (`EVAL_RO`: works on replicas and under `maxmemory`). KEYS: state, wait.
/// Returns the type and value (or nil) of each key, then the `PTTL` of wait.
pub(crate) const READ: &str = r"#!lua flags=no-writes
local out = {}
for i, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key)['ok']
  out[2 * i - 1] = t
  if t == 'string' then out[2 * i] = redis.call('GET', key) else out[2 * i] = false end
end
out[#KEYS * 2 + 1] = redis.call('PTTL', KEYS[2])
return out
";

/// Takes, renews or repairs the probe lease. KEYS: probe. ARGV: instance, lease_ms.
/// Returns `{code, detail}`: 1 this instance holds the lease; 0 another instance does;
/// 2 the key held something else (`detail`) and this instance took it; 3 the lease of another
/// instance had no TTL or a longer one and was trimmed to lease_ms.
pub(crate) const LEASE: &str = r"#!lua
local lease = tonumber(ARGV[2])
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', lease)
  return {1, ''}
end
if t ~= 'string' then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[1], ARGV[1], 'PX', lease)
  return {2, 'a key of type ' .. t}
end
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], lease)
  return {1, ''}
end
if string.len(holder) ~= 16 or not string.match(holder, '^%x+$') then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', lease)
  return {2, 'the value ' .. string.format('%q', string.sub(holder, 1, 40))}
end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], lease)
  return {3, 'no TTL'}
end
if left > lease then
  redis.call('PEXPIRE', KEYS[1], lease)
  return {3, 'a TTL of ' .. left .. 'ms'}
end
return {0, ''}
";

/// Releases the lease if this instance holds it. KEYS: probe. ARGV: instance.
pub(crate) const RELEASE: &str = r"#!lua
if redis.call('TYPE', KEYS[1])['ok'] == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Adds outcomes and reads the fleet's window. KEYS: none. ARGV: prefix, window_s, keep_ms,
/// successes, failures. Buckets are keyed by Redis `TIME` seconds. Returns
/// `{successes, failures}` over the window (only counted if ARGV[6] is `1`).
pub(crate) const OUTCOMES: &str = r"#!lua
local now = tonumber(redis.call('TIME')[1])
local prefix = ARGV[1]
local window = tonumber(ARGV[2])
local keep = tonumber(ARGV[3])
for i, what in ipairs({'s', 'f'}) do
  local delta = tonumber(ARGV[3 + i])
  if delta > 0 then
    local key = prefix .. 'w:' .. now .. ':' .. what
    redis.call('INCRBY', key, delta)
    redis.call('PEXPIRE', key, keep)
  end
end
local totals = {0, 0}
if ARGV[6] == '1' then
  for second = now - window + 1, now do
    for i, what in ipairs({'s', 'f'}) do
      local key = prefix .. 'w:' .. second .. ':' .. what
      if redis.call('TYPE', key)['ok'] == 'string' then
        local n = tonumber(redis.call('GET', key))
        if n and n > 0 then totals[i] = totals[i] + n end
      end
    end
  end
end
return totals
";
