-- wrk script: one request per line of a file, in order, each line used once per
-- pass (then from the top again).  args: FILE METHOD [PATH]
-- GET: each line is a path (with its query string).
-- POST: each line is a JSON body, sent to PATH.
local lines = {}
local counter = 0
local method = "GET"
local path = "/"

function init(args)
  for line in io.lines(args[1]) do
    lines[#lines + 1] = line
  end
  method = args[2] or method
  path = args[3] or path
end

function request()
  counter = counter % #lines + 1
  if method == "GET" then
    return wrk.format("GET", lines[counter])
  end
  return wrk.format(method, path, {["Content-Type"] = "application/json"}, lines[counter])
end
