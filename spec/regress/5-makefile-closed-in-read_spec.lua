-- Bug: a file object closed by a finalizer (__gc) that runs in the middle
-- of its own f:read(...) makes the read go on over freed state.
-- bindings/l_file.c, g_read: any Lua allocation in the read -- the
-- lua_pushlstring of each format's result in step() -- may run pending
-- finalizers; one that calls f:close() runs release(), which frees
-- f->rbuf and sets f->sock to NULL. g_read then parses the next format
-- with p = "" and n - st.off underflowing: step() runs memchr over a huge
-- length from a string literal and returns garbage lines (bytes of the
-- interpreter's read-only data), or ASan reports a global-buffer-overflow;
-- with a format that needs a recv, flushw()/fill() dereference
-- f->sock == NULL. Suggested fix: in g_read, after each step(), stop when
-- f->sock == NULL (raise "file closed during read", without touching
-- rpos/rend); lines_iter goes through g_read and is fixed with it.
-- The scenario (spec/scripts/gc_close.lua fclose) runs in a child process
-- so that a crash fails this spec only.

local child = require "spec.child"

describe("regression: a makefile closed by a __gc during its read", function()
  after_each(child.cleanup)

  it("gives its lines or a clear error, never freed memory", function()
    local out, code = child.run(child.script("gc_close.lua"), { "fclose" },
                                { limit = 60 })
    assert.equal(0, code, out)
    assert.matches("^finalizers ran inside the call\n", out)
  end)

  it("does the same when the line is already buffered", function()
    -- f:read("l") alone with a whole line in the buffer takes a shorter
    -- path (quickline in l_file.c), with its own allocation.
    local out, code = child.run(child.script("gc_close.lua"), { "fline" },
                                { limit = 60 })
    assert.equal(0, code, out)
    assert.matches("^finalizers ran inside the call\n", out)
    assert.matches("\nfile closed during read x20\n", out)
  end)
end)
