-- GET /api/v1/items/BENCH-{random 1..NMAX}
dofile(os.getenv("WRKDIR") .. "/common.lua")
request = function() return wrk.format("GET", "/api/v1/items/" .. PRODUCT .. "-" .. math.random(1, NMAX)) end
