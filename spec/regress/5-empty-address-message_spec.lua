-- Bug: an error about an empty Unix address reads "connect : [EINVAL] ...":
-- the failing call's address formats as "" (s:connect("") on an AF_UNIX
-- socket), the error gets address = "" and tostring writes "op" .. " " ..
-- "" before the colon, against API.md's "op[ address]: [NAME] message".
-- (The failure path formats the address with lsk_addr_format and passes
-- the text on even when it is empty: bindings/l_socket.c, lsockL_fail.)
-- Suggested fix: pass no address when the text is empty (or skip an empty
-- address in l_error.c's __tostring).

local socket = require "lsock"
local helpers = require "spec.helpers"

describe("regression: an empty Unix address in an error", function()
  after_each(helpers.cleanup)

  it("is left out of the message", function()
    local s = helpers.track(socket.socket(socket.AF_UNIX))
    local e = helpers.fails(s.connect, s, "")
    assert.equal(socket.error, getmetatable(e))
    assert.equal("connect: [" .. e.name .. "] " .. e.message, tostring(e))
  end)
end)
