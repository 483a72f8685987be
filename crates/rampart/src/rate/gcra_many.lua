-- rampart GCRA for several buckets in one call: the arithmetic of gcra.lua
-- applied to each KEYS[i] with ARGV[3i-2] (t), ARGV[3i-1] (tau) and ARGV[3i]
-- (units to take, as gcra.lua's ARGV[3]), in order, so a bucket named twice
-- is spent twice exactly as two calls would spend it. One server only: the
-- keys may lie in different Redis Cluster slots.
-- Returns  { taken_1, ahead_1, taken_2, ahead_2, ... }
if redis.replicate_commands then
  pcall(redis.replicate_commands)
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local out = {}
for i = 1, #KEYS do
  local t = tonumber(ARGV[3 * i - 2])
  local tau = tonumber(ARGV[3 * i - 1])
  local want = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if tat == nil or tat < now then
    tat = now
  end
  if now < tat - tau then
    out[2 * i - 1] = 0
  elseif want < 1 then
    out[2 * i - 1] = 1
  else
    local n = math.min(want, math.floor((now + tau - tat) / t) + 1)
    tat = tat + n * t
    redis.call('SET', KEYS[i], string.format('%.0f', tat),
      'PX', string.format('%.0f', math.ceil((tat - now) / 1000)))
    out[2 * i - 1] = n
  end
  out[2 * i] = tat - now
end
return out
