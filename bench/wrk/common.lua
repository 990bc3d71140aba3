-- Shared by the Keel wrk scripts: JSON bodies, the API token from KEEL_TOKEN, the number of items
-- in BENCH from NMAX, the product key from KEEL_PRODUCT (default BENCH), a seed per thread.
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("KEEL_TOKEN") or "")
NMAX = tonumber(os.getenv("NMAX") or "10000")
PRODUCT = os.getenv("KEEL_PRODUCT") or "BENCH"
local counter = 0
function setup(thread) counter = counter + 1; thread:set("tid", counter) end
function init(args) math.randomseed(os.time() * 1000 + (tid or 0)) end
