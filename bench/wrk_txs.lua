-- wrk script: POST pre-signed txs from a file, one JSON body per line, each used once.
-- Threads take interleaved lines so no body is sent twice.
local counter = 1
local bodies = {}
local threads = {}
local stride = 1

function setup(thread)
  table.insert(threads, thread)
  thread:set("offset", #threads)
end

function init(args)
  local path = args[1]
  stride = tonumber(args[2])
  for line in io.lines(path) do
    bodies[#bodies + 1] = line
  end
  counter = offset
end

function request()
  local body = bodies[counter]
  counter = counter + stride
  if body == nil then
    body = bodies[1]
  end
  return wrk.format("POST", "/v1/txs", {["Content-Type"] = "application/json"}, body)
end
