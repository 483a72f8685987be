-- Brute-force lockout counter, shared by every instance (same semantics as
-- rampart's in-memory MemoryLockout).
-- KEYS[1]: the target's hash (fields: until, start, n).
-- ARGV: now (Unix seconds), threshold, window (s), lock_for (s).
-- Returns the lock's length in seconds when this failure locks the target, else 0.
local now = tonumber(ARGV[1])
local threshold = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local lock_for = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'until', 'start', 'n')
local locked_until = tonumber(state[1]) or 0
if locked_until > now then
  return 0
end
local start = tonumber(state[2]) or now
local n = tonumber(state[3]) or 0
if locked_until ~= 0 or now - start >= window then
  start = now
  n = 0
end
n = n + 1
if n >= threshold then
  redis.call('HSET', KEYS[1], 'until', now + lock_for, 'start', now, 'n', 0)
  redis.call('EXPIRE', KEYS[1], lock_for + window)
  return lock_for
end
redis.call('HSET', KEYS[1], 'until', 0, 'start', start, 'n', n)
redis.call('EXPIRE', KEYS[1], window)
return 0
