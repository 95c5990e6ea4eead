-- wrk: anonymous /catalog pages chosen at random (280 pages of 25 at 7,004 public products),
-- so the short-lived page cache sees a realistic mix of hits and misses.
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/catalog?currency=EUR&page=" .. math.random(1, 280))
end
