-- rampart GCRA for several buckets in one call: the arithmetic of gcra.lua
-- applied to each KEYS[i] with ARGV[3i-2] (t), ARGV[3i-1] (tau) and ARGV[3i]
-- (units to take, as gcra.lua's ARGV[3]), in order, so a bucket named twice
-- is spent twice exactly as two calls would spend it. One server only: the
-- keys may lie in different Redis Cluster slots.
--
-- A bucket named several times (one client's single requests are already
-- coalesced into one entry by rate/coalesce.rs; a lease or a look beside
-- them is not) is read once and written once, with its final value;
-- each request still gets its own answer, computed in order on the bucket's
-- value after the requests before it (every request of the call sees the
-- same `now`, so this is exactly what one call per request would answer).
-- Returns  { taken_1, ahead_1, taken_2, ahead_2, ... }
if redis.replicate_commands then
  pcall(redis.replicate_commands)
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local out = {}
-- The bucket's value after the requests seen so far (clamped to `now`, as
-- every request reads it), and the buckets to write back, in first-spent order.
local tats = {}
local written = {}
local order = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local t = tonumber(ARGV[3 * i - 2])
  local tau = tonumber(ARGV[3 * i - 1])
  local want = tonumber(ARGV[3 * i])
  local tat = tats[key]
  if tat == nil then
    tat = tonumber(redis.call('GET', key))
    if tat == nil or tat < now then
      tat = now
    end
  end
  if now < tat - tau then
    out[2 * i - 1] = 0
  elseif want < 1 then
    out[2 * i - 1] = 1
  else
    local n = math.min(want, math.floor((now + tau - tat) / t) + 1)
    tat = tat + n * t
    if not written[key] then
      written[key] = true
      order[#order + 1] = key
    end
    out[2 * i - 1] = n
  end
  tats[key] = tat
  out[2 * i] = tat - now
end
for j = 1, #order do
  local key = order[j]
  local tat = tats[key]
  redis.call('SET', key, string.format('%.0f', tat),
    'PX', string.format('%.0f', math.ceil((tat - now) / 1000)))
end
return out
