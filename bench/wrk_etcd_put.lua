-- wrk script: etcd's JSON gateway, one durable put of a new key per request.
-- args: VALUE_BYTES
local counter = 0
local value = ""

local function b64(text)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((text:gsub(".", function(c)
    local bits, byte = "", c:byte()
    for i = 8, 1, -1 do bits = bits .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0") end
    return bits
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return alphabet:sub(c + 1, c + 1)
  end) .. ({"", "==", "="})[#text % 3 + 1])
end

function init(args)
  value = b64(string.rep("x", tonumber(args[1] or "100")))
end

function request()
  counter = counter + 1
  local key = b64(string.format("worker/%012d", counter))
  local body = '{"key":"' .. key .. '","value":"' .. value .. '"}'
  return wrk.format("POST", "/v3/kv/put", {["Content-Type"] = "application/json"}, body)
end
