-- wrk script: GET /v1/urls for one model, cycling through many subscribers.
local counter = 0
local model = "model-3"
local subscribers = 1000

function init(args)
  model = args[1] or model
  subscribers = tonumber(args[2] or subscribers)
end

function request()
  counter = counter + 1
  local subscriber = string.format("02%064x", counter % subscribers)
  return wrk.format("GET", "/v1/urls?model=" .. model .. "&subscriber=" .. subscriber)
end
