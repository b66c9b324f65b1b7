#!lua name=parley
-- Parley's Redis Functions library: the sequencer of cluster mode. Loaded
-- with FUNCTION LOAD REPLACE by server/cluster/sequencer.cpp (this file is
-- embedded into the binary at build time, cmake/EmbedText.cmake); the key
-- names, payloads and guarantees are described in sequencer.hpp.
--
-- DESIGN
-- Each function is one FCALL, and Redis runs a function to its end before
-- anything else (atomically). Every key a function touches comes in KEYS,
-- so the keys of one call share a hash tag and would stay on one Redis
-- Cluster shard. Each function validates its arguments and reads what it
-- needs before its first write: a refusal (DUP, NOSEED, EPOCH, TOP, KEPT, a bad
-- argument) changes nothing. Redis does not roll back a function that fails
-- half way, so the one write that can fail on a consistent state (XADD to
-- the log, if its top id were ahead of the room's seq) comes first.
--
-- NUMBERS
-- Lua 5.1 numbers are doubles: exact only below 2^53, and tostring(1e15) is
-- "1e+15". Seqs, gens and epochs are therefore never converted to numbers:
-- they stay canonical decimal strings (no sign, no leading zero), compared
-- and incremented as strings below, exactly, whatever their size. The C++
-- side sends only canonical decimals and refuses anything above 2^63-1.

-- A canonical decimal: "0", or digits not starting with 0.
local function is_decimal(s)
  return type(s) == 'string' and (s == '0' or string.find(s, '^[1-9]%d*$') ~= nil)
end

-- a > b for canonical decimals (byte compare: independent of the locale).
local function greater(a, b)
  if #a ~= #b then return #a > #b end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return false
end

-- s + 1 for a canonical decimal ("199" -> "200").
local function increment(s)
  local i = #s
  while i > 0 and string.byte(s, i) == 57 do i = i - 1 end  -- 57: '9'
  if i == 0 then return '1' .. string.rep('0', #s) end
  return string.sub(s, 1, i - 1) .. string.char(string.byte(s, i) + 1) .. string.rep('0', #s - i)
end

-- Nil when every named argument is a canonical decimal, else the error reply.
local function check_decimals(args, names)
  for i, name in ipairs(names) do
    if name ~= '' and not is_decimal(args[i]) then
      return redis.error_reply('PARLEY bad argument ' .. name .. ': not a decimal')
    end
  end
  return nil
end

-- The seq of a stream id "<seq>-0".
local function seq_of_id(id)
  return string.match(id, '^(%d+)-')
end

-- parley_publish KEYS meta, log, outbox[, dd]
--                ARGV room, expected_epoch ('' = any), expected_top ('' = any), body, dd_ttl_s,
--                     log_maxlen, channel
-- -> {'DUP', seq, epoch} | {'NOSEED'} | {'EPOCH', seq, epoch} | {'TOP', seq, epoch} | {'OK', seq, epoch}
-- With expected_top the event is exactly expected_top + 1 or is refused
-- (TOP, with the room's top): a node that decided the event on a replica
-- at that top knows nothing came between.
local function publish(keys, args)
  local meta, log, outbox, dd = keys[1], keys[2], keys[3], keys[4]
  local room, expected, expected_top, body, ttl, maxlen, channel =
    args[1], args[2], args[3], args[4], args[5], args[6], args[7]
  local bad = check_decimals(args, {'room', '', '', '', 'dd_ttl_s', 'log_maxlen'})
  if bad then return bad end
  if expected ~= '' and not is_decimal(expected) then return redis.error_reply('PARLEY bad argument expected_epoch') end
  if expected_top ~= '' and not is_decimal(expected_top) then
    return redis.error_reply('PARLEY bad argument expected_top')
  end
  if #keys < 3 or #keys > 4 or type(channel) ~= 'string' then
    return redis.error_reply('PARLEY parley_publish takes 3 or 4 keys and 7 arguments')
  end
  if dd then
    local prior = redis.call('GET', dd)
    if prior then
      local seq, epoch = string.match(prior, '^(%d+) (%d+)$')
      if not seq then return redis.error_reply('PARLEY malformed dedup entry ' .. dd) end
      return {'DUP', seq, epoch}
    end
  end
  local state = redis.call('HMGET', meta, 'epoch', 'seq')
  local epoch, top = state[1], state[2]
  if not epoch then return {'NOSEED'} end
  if not is_decimal(top) then return redis.error_reply('PARLEY room meta without a seq: ' .. meta) end
  if expected ~= '' and expected ~= epoch then return {'EPOCH', top, epoch} end
  if expected_top ~= '' and expected_top ~= top then return {'TOP', top, epoch} end
  if not greater('9223372036854775807', top) then return redis.error_reply('PARLEY seq would pass 2^63-1: ' .. meta) end
  local seq = increment(top)
  redis.call('XADD', log, 'MAXLEN', '~', maxlen, seq .. '-0', 'e', epoch, 'b', body)
  redis.call('HSET', meta, 'seq', seq)
  redis.call('XADD', outbox, '*', 'r', room, 's', seq, 'e', epoch, 'b', body)
  if dd then redis.call('SET', dd, seq .. ' ' .. epoch, 'EX', ttl) end
  redis.call('PUBLISH', channel, 'M' .. seq .. ' ' .. epoch .. '\n' .. body)
  return {'OK', seq, epoch}
end

-- parley_seed KEYS meta, log   ARGV epoch, gen, base_seq, channel
-- -> {'SEEDED', base, epoch} | {'KEPT', seq, epoch, gen}
-- A room's gen counts its epochs: the higher gen wins, so two nodes that
-- seed the same room at once agree on one epoch.
local function seed(keys, args)
  local meta, log = keys[1], keys[2]
  local epoch, gen, base, channel = args[1], args[2], args[3], args[4]
  local bad = check_decimals(args, {'epoch', 'gen', 'base_seq'})
  if bad then return bad end
  if type(channel) ~= 'string' then return redis.error_reply('PARLEY parley_seed takes 4 arguments') end
  local cur = redis.call('HMGET', meta, 'epoch', 'gen', 'seq')
  if cur[1] and is_decimal(cur[2]) and not greater(gen, cur[2]) then
    return {'KEPT', cur[3] or '0', cur[1], cur[2]}
  end
  redis.call('DEL', log)
  redis.call('HSET', meta, 'epoch', epoch, 'gen', gen, 'seq', base, 'persisted', base)
  redis.call('PUBLISH', channel, 'R' .. base .. ' ' .. epoch)
  return {'SEEDED', base, epoch}
end

-- parley_read (no-writes) KEYS meta, log   ARGV after_seq, count
-- -> {'NOSEED'} | {'OK', epoch, gen, seq, persisted, first_seq_in_log (0: empty), seq, epoch, body, ...}
local function read(keys, args)
  local meta, log = keys[1], keys[2]
  local bad = check_decimals(args, {'after_seq', 'count'})
  if bad then return bad end
  if args[2] == '0' then return redis.error_reply('PARLEY bad argument count: 0') end  -- XRANGE COUNT 0 is nil
  local cur = redis.call('HMGET', meta, 'epoch', 'gen', 'seq', 'persisted')
  if not cur[1] then return {'NOSEED'} end
  local out = {'OK', cur[1], cur[2] or '0', cur[3] or '0', cur[4] or '0', '0'}
  local first = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)
  if #first > 0 then out[6] = seq_of_id(first[1][1]) end
  local entries = redis.call('XRANGE', log, increment(args[1]) .. '-0', '+', 'COUNT', args[2])
  for _, entry in ipairs(entries) do
    local fields, epoch, body = entry[2], '', ''
    for i = 1, #fields, 2 do
      if fields[i] == 'e' then epoch = fields[i + 1] elseif fields[i] == 'b' then body = fields[i + 1] end
    end
    out[#out + 1] = seq_of_id(entry[1])
    out[#out + 1] = epoch
    out[#out + 1] = body
  end
  return out
end

-- parley_persisted KEYS meta   ARGV epoch, seq, channel -> 1 (moved) | 0
-- Only forwards, only in the current epoch, and never above the top seq
-- (nothing above it was issued, so nothing above it can be on disk).
local function persisted(keys, args)
  local meta = keys[1]
  local epoch, seq, channel = args[1], args[2], args[3]
  local bad = check_decimals(args, {'epoch', 'seq'})
  if bad then return bad end
  if type(channel) ~= 'string' then return redis.error_reply('PARLEY parley_persisted takes 3 arguments') end
  local cur = redis.call('HMGET', meta, 'epoch', 'seq', 'persisted')
  if cur[1] ~= epoch or not is_decimal(cur[2]) then return 0 end
  if greater(seq, cur[2]) or not greater(seq, cur[3] or '0') then return 0 end
  redis.call('HSET', meta, 'persisted', seq)
  redis.call('PUBLISH', channel, 'W' .. seq .. ' ' .. epoch)
  return 1
end

-- parley_lease KEYS lease   ARGV node, ttl_ms -> 1 (held by node now) | 0
local function lease(keys, args)
  local key, node, ttl = keys[1], args[1], args[2]
  local bad = check_decimals(args, {'', 'ttl_ms'})
  if bad then return bad end
  local holder = redis.call('GET', key)
  if not holder then
    redis.call('SET', key, node, 'PX', ttl)
    return 1
  end
  if holder ~= node then return 0 end
  redis.call('PEXPIRE', key, ttl)
  return 1
end

-- parley_release KEYS lease   ARGV node -> 1 (released) | 0 (not held by node)
local function release(keys, args)
  if redis.call('GET', keys[1]) ~= args[1] then return 0 end
  redis.call('DEL', keys[1])
  return 1
end

-- parley_ack KEYS outbox   ARGV group, id... -> entries deleted
-- XACK and XDEL together: apart, a connection lost between them would leave
-- an entry acknowledged but never deleted (the outbox is never trimmed).
local function ack(keys, args)
  local ids = {}
  for i = 2, #args do ids[#ids + 1] = args[i] end
  if #ids == 0 then return 0 end
  redis.call('XACK', keys[1], args[1], unpack(ids))
  return redis.call('XDEL', keys[1], unpack(ids))
end

-- The persister's reads, fenced by the lease: an entry is delivered (and
-- becomes pending for `node`) only while `node` holds its partition's lease,
-- checked in the same atomic call. A read that reaches Redis late (a node
-- paused, or cut off with the command in flight) finds the lease taken and
-- delivers nothing, so once another node holds the lease and has claimed
-- the pending entries, no earlier holder can take any more of them.
-- Group errors are caught per partition (redis.pcall), so one missing group
-- does not abort a call whose earlier reads already moved entries.

-- One partition's entries, or 0 (lease not held) or -1 (no consumer group).
local function fenced(lease, node, read)
  if redis.call('GET', lease) ~= node then return 0 end
  local r = redis.pcall(unpack(read))
  if type(r) == 'table' and r.err then
    if string.find(r.err, 'NOGROUP', 1, true) then return -1 end
    error(r.err)
  end
  return r
end

-- parley_take KEYS lease_1, outbox_1, ..., lease_n, outbox_n   ARGV node, group, count
-- -> one element per partition: its new entries [[id, fields], ...], 0 or -1
local function take(keys, args)
  local node, group, count = args[1], args[2], args[3]
  local bad = check_decimals(args, {'', '', 'count'})
  if bad then return bad end
  if #keys == 0 or #keys % 2 ~= 0 then return redis.error_reply('PARLEY parley_take takes pairs of keys') end
  local out = {}
  for i = 1, #keys, 2 do
    local r = fenced(keys[i], node, {'XREADGROUP', 'GROUP', group, node, 'COUNT', count, 'STREAMS', keys[i + 1], '>'})
    if r == false then r = {} elseif type(r) == 'table' then r = r[1][2] end  -- nil: nothing new
    out[#out + 1] = r
  end
  return out
end

-- parley_claim KEYS lease, outbox   ARGV node, group, min_idle_ms, cursor, count
-- -> XAUTOCLAIM's reply (next cursor, entries, deleted ids), 0 or -1
local function claim(keys, args)
  local node, group, idle, cursor, count = args[1], args[2], args[3], args[4], args[5]
  local bad = check_decimals(args, {'', '', 'min_idle_ms', '', 'count'})
  if bad then return bad end
  return fenced(keys[1], node, {'XAUTOCLAIM', keys[2], group, node, idle, cursor, 'COUNT', count})
end

-- parley_ids KEYS ids   ARGV count, floor
-- -> the first of `count` room ids no node was given before, none below floor
-- Room ids are below 2^32, so plain Lua numbers hold them exactly.
local function ids(keys, args)
  local bad = check_decimals(args, {'count', 'floor'})
  if bad then return bad end
  local count, floor = tonumber(args[1]), tonumber(args[2])
  if count < 1 or count > 65536 then return redis.error_reply('PARLEY bad argument count: 1..65536') end
  local top = tonumber(redis.call('GET', keys[1]) or '0')
  if not top then return redis.error_reply('PARLEY malformed room id counter ' .. keys[1]) end
  if top < floor then top = floor end
  if top + count > 4294967295 then return redis.error_reply('PARLEY room ids exhausted') end
  redis.call('SET', keys[1], string.format('%d', top + count))
  return top + 1
end

redis.register_function{function_name = 'parley_ids', callback = ids}
redis.register_function{function_name = 'parley_publish', callback = publish}
redis.register_function{function_name = 'parley_seed', callback = seed}
redis.register_function{function_name = 'parley_read', callback = read, flags = {'no-writes'}}
redis.register_function{function_name = 'parley_persisted', callback = persisted}
redis.register_function{function_name = 'parley_lease', callback = lease}
redis.register_function{function_name = 'parley_release', callback = release}
redis.register_function{function_name = 'parley_ack', callback = ack}
redis.register_function{function_name = 'parley_take', callback = take}
redis.register_function{function_name = 'parley_claim', callback = claim}
