-- rampart GCRA: one bucket per key, the same arithmetic as the in-memory
-- store (governor). Atomic: one EVALSHA per decision.
--
-- KEYS[1]  the bucket, e.g. rampart:rl:{deletePet:sub:alice}
-- ARGV[1]  emission interval t, microseconds (period / count)
-- ARGV[2]  tolerance tau, microseconds (t * (capacity - 1))
-- ARGV[3]  units to take: "0" to only look, "1" to spend one, n > 1 to
--          spend as many as fit, at most n (a lease, rate/lease.rs)
-- Returns  { units taken (for "0": 1 if one would pass, else 0),
--            microseconds from now until the bucket is full }
--
-- Time is the Redis server's, so every instance shares one clock. The bucket
-- expires (PX) when it would be full again: an absent bucket is a full one.
if redis.replicate_commands then
  pcall(redis.replicate_commands)
end
local t = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
if now < tat - tau then
  return { 0, tat - now }
end
if want < 1 then
  return { 1, tat - now }
end
-- Units that fit now: the n-th passes while tat + (n - 1) * t <= now + tau.
local n = math.min(want, math.floor((now + tau - tat) / t) + 1)
tat = tat + n * t
-- %.0f keeps every digit (tostring would switch to exponent notation).
redis.call('SET', KEYS[1], string.format('%.0f', tat),
  'PX', string.format('%.0f', math.ceil((tat - now) / 1000)))
return { n, tat - now }
