-- POST /api/v1/items/BENCH-{a}/move {"before":"BENCH-{b}"}, a and b random and different.
dofile(os.getenv("WRKDIR") .. "/common.lua")
request = function()
  local a = math.random(1, NMAX); local b = math.random(1, NMAX)
  while b == a do b = math.random(1, NMAX) end
  return wrk.format("POST", "/api/v1/items/" .. PRODUCT .. "-" .. a .. "/move", nil,
    '{"before":"' .. PRODUCT .. "-" .. b .. '"}')
end
