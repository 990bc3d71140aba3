-- POST /api/v1/products/BENCH/items: a story at the bottom of the backlog.
dofile(os.getenv("WRKDIR") .. "/common.lua")
local n = 0
request = function()
  n = n + 1
  local body = '{"title":"Bench created story ' .. n .. ' checkout flow","description":"' .. string.rep("lorem ipsum ", 16) .. 'dolor sit amet"}'
  return wrk.format("POST", "/api/v1/products/" .. PRODUCT .. "/items", nil, body)
end
