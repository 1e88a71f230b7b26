--[[ LipAlign for DaVinci Resolve: the Lua menu entry (Workspace > Scripts).

Resolve lists a .lua script whatever Python it has or lacks; a .py one only when it finds a Python 3. The
installer writes this file into Resolve's Scripts folder, once per command ("Auto-align lips.lua", "Revert
LipAlign changes.lua"), with LipAlign's Python and the menu script to run filled in below. It runs that
script with LipAlign's own Python; with no `resolve` object given, the script reaches DaVinci Resolve Studio
by external scripting (Preferences > System > General > External scripting using: Local).

Before it starts anything it checks, as the Python entry does, that no other account could have changed
what it runs: each of the two files and every folder above them must belong to root or this user and be
writable by no group or other (a sticky folder such as /tmp excepted). On Windows rights live in ACLs that
the install folder inherits, so nothing is checked there.
]]

local PYTHON = [[@PYTHON@]]
local SCRIPT = [[@SCRIPT@]]

local windows = package.config:sub(1, 1) == "\\"

local function say(text)
  print("LipAlign: " .. text)
end

local function quote(text)
  if windows then
    return '"' .. text .. '"'
  end
  return "'" .. text:gsub("'", "'\\''") .. "'"
end

local function output_of(command)
  local pipe = io.popen(command)
  if not pipe then
    return ""
  end
  local text = pipe:read("*a") or ""
  pipe:close()
  return text
end

-- Why another account could have changed `path`, or nil. `ls -ldn` prints the mode and the numeric owner
-- on every POSIX system (GNU and BSD alike).
local function unsafe_reason(path)
  if windows then
    return nil
  end
  local me = output_of("id -u"):match("%d+")
  local chain, so_far = { "/" }, ""
  for part in path:gmatch("[^/]+") do
    so_far = so_far .. "/" .. part
    chain[#chain + 1] = so_far
  end
  for _, item in ipairs(chain) do
    local mode, owner = output_of("ls -ldn " .. quote(item) .. " 2>/dev/null"):match("^(%S+)%s+%d+%s+(%d+)")
    if not mode then
      return item .. " is missing"
    end
    if owner ~= "0" and owner ~= me then
      return item .. " belongs to another account (uid " .. owner .. ")"
    end
    if mode:sub(1, 1) ~= "l" then
      local shared = mode:sub(6, 6) == "w" or mode:sub(9, 9) == "w"
      local sticky_folder = mode:sub(1, 1) == "d" and mode:sub(10, 10):lower() == "t" and item ~= path
      if shared and not sticky_folder then
        return item .. " can be changed by other accounts (" .. mode:sub(1, 10) .. ")"
      end
    end
  end
  return nil
end

local reason = unsafe_reason(PYTHON) or unsafe_reason(SCRIPT)
if reason then
  say("refused to start LipAlign: " .. reason .. "; reinstall it (installer/install_resolve.py)")
else
  local command = quote(PYTHON) .. " " .. quote(SCRIPT)
  if windows then
    command = '"' .. command .. '"' -- cmd.exe strips one pair of quotes around the whole line
  end
  local ok = os.execute(command)
  if ok ~= true and ok ~= 0 then
    say("the LipAlign entry stopped with an error; its log is in LipAlign's log folder")
  end
end
