// The logger's human lines on a terminal: wrapped at words within its width, continuing two columns in,
// so no word or path is cut in half by the terminal; JSON lines and lines to a non-terminal are whole.
import { describe, expect, it } from "vitest";
import { createLogger } from "../../controller/log/logger.ts";
import { Terminal } from "../support/terminal.ts";

const fields = {
  dir: "specs",
  why: "no ImageSpec in specs: it has no *.yaml or *.yml files (hidden directories and node_modules are skipped)",
};

describe("the text logger", () => {
  it("wraps at words on an 80-column terminal", () => {
    const terminal = new Terminal(80);
    createLogger(terminal.stream(), { json: false }).warn("no ImageSpec to reconcile", fields);
    expect(terminal.text()).toEqual([
      "warn: no ImageSpec to reconcile dir=specs why=no ImageSpec in specs: it has no",
      "  *.yaml or *.yml files (hidden directories and node_modules are skipped)",
    ]);
  });

  it("keeps a short line as it is, its two spaces before the fields too", () => {
    const terminal = new Terminal(80);
    createLogger(terminal.stream(), { json: false }).info("specs loaded", { specs: 0 });
    expect(terminal.text()).toEqual(["specs loaded  specs=0"]);
  });

  it("writes one line per entry to a stream that is not a terminal", () => {
    let text = "";
    createLogger({ write: (t: string) => (text += t) }, { json: false }).warn(
      "no ImageSpec to reconcile",
      fields,
    );
    expect(text).toBe(`warn: no ImageSpec to reconcile  dir=specs why=${fields.why}\n`);
  });
});
