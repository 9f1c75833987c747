-- wrk script: every request sends the next token of the file given after `--` (round robin per thread).
-- Arguments after `--`: the token file, then optionally the path (default /Patient/123) and the index of the first
-- token to send (default 1), so that a second run over a file of fresh tokens starts where the first stopped.
local tokens = {}
local next_index = 1
local path = "/Patient/123"

function init(args)
  for line in io.lines(args[1]) do
    tokens[#tokens + 1] = line
  end
  if args[2] and args[2] ~= "" then path = args[2] end
  if args[3] then next_index = math.max(1, math.min(#tokens, tonumber(args[3]) or 1)) end
end

function request()
  local token = tokens[next_index]
  next_index = next_index + 1
  if next_index > #tokens then next_index = 1 end
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
