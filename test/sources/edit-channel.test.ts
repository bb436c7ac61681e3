import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { type ChannelEdit, editChannel } from "../../controller/sources/edit-channel.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const fixture = (name: string) => readFileSync(join(root, "test/fixtures/promote", name), "utf8");

/**
 * The lines that differ between two texts, by common prefix and suffix: everything outside `removed` and
 * `added` is byte-for-byte the same, line endings included.
 */
function changedLines(before: string, after: string): { line: number; removed: string[]; added: string[] } {
  const a = before.split("\n");
  const b = after.split("\n");
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < a.length - prefix &&
    suffix < b.length - prefix &&
    a[a.length - 1 - suffix] === b[b.length - 1 - suffix]
  )
    suffix++;
  return {
    line: prefix + 1,
    removed: a.slice(prefix, a.length - suffix),
    added: b.slice(prefix, b.length - suffix),
  };
}

interface Case {
  name: string;
  file: string;
  edit: ChannelEdit;
  line: number;
  removed: string[];
  added: string[];
  dropped?: string[];
  added_channel?: boolean;
}

const cases: Case[] = [
  {
    name: "a pinned flow selector gets the new id in its quotes, the trailing comment kept",
    file: "comments.yaml",
    edit: { spec: "ubuntu-base", channel: "release", selector: { build: "2.4.0+0a1b2c3d" } },
    line: 21,
    removed: ['    release: { build: "2.3.0+5f2c91ab" }  # pinned after a week in candidate'],
    added: ['    release: { build: "2.4.0+0a1b2c3d" }  # pinned after a week in candidate'],
  },
  {
    name: "latest becomes a pinned build in place, parentIn kept",
    file: "comments.yaml",
    edit: { spec: "ubuntu-base", channel: "canary", selector: { build: "2.4.0+0a1b2c3d" } },
    line: 22,
    removed: ["    canary: { latest: true, parentIn: release }"],
    added: ['    canary: { build: "2.4.0+0a1b2c3d", parentIn: release }'],
  },
  {
    name: "a pinned build goes back to latest",
    file: "comments.yaml",
    edit: { spec: "ubuntu-base", channel: "release", selector: { latest: true } },
    line: 21,
    removed: ['    release: { build: "2.3.0+5f2c91ab" }  # pinned after a week in candidate'],
    added: ["    release: { latest: true }  # pinned after a week in candidate"],
  },
  {
    name: "a block selector is edited in block style; minAge goes with latest, parentIn and comments stay",
    file: "block.yaml",
    edit: { spec: "block-base", channel: "release", selector: { build: "1.2.0+0a1b2c3d" } },
    line: 19,
    removed: ["      latest: true", "      minAge: 7d"],
    added: ['      build: "1.2.0+0a1b2c3d"'],
    dropped: ["minAge"],
  },
  {
    name: "a plain block build scalar stays plain",
    file: "block.yaml",
    edit: { spec: "block-base", channel: "staging", selector: { build: "1.2.0+0a1b2c3d" } },
    line: 23,
    removed: ["      build: 1.1.0+0123abcd   # plain, not quoted"],
    added: ["      build: 1.2.0+0a1b2c3d   # plain, not quoted"],
  },
  {
    name: "a single-quoted id stays single-quoted in a flow map without spaces",
    file: "quoting.yaml",
    edit: { spec: "quoted", channel: "single", selector: { build: "1.1.0+cccccccc" } },
    line: 11,
    removed: ["    single: {build: '1.0.0+aaaaaaaa'}"],
    added: ["    single: {build: '1.1.0+cccccccc'}"],
  },
  {
    name: "a quoted key is found and its value replaced",
    file: "quoting.yaml",
    edit: { spec: "quoted", channel: "double", selector: { build: "1.1.0+cccccccc" } },
    line: 12,
    removed: ['    double: { "build": "1.0.0+aaaaaaaa" }'],
    added: ['    double: { "build": "1.1.0+cccccccc" }'],
  },
  {
    name: "a plain flow id stays plain; an ineffective minAge beside a build is left alone",
    file: "quoting.yaml",
    edit: { spec: "quoted", channel: "plain", selector: { build: "1.1.0+cccccccc" } },
    line: 13,
    removed: ["    plain: { build: 1.0.0+aaaaaaaa, minAge: 3d }"],
    added: ["    plain: { build: 1.1.0+cccccccc, minAge: 3d }"],
  },
  {
    name: "a version range becomes a pinned build, parentIn kept",
    file: "quoting.yaml",
    edit: { spec: "quoted", channel: "ranged", selector: { build: "1.1.0+cccccccc" } },
    line: 14,
    removed: ['    ranged: { version: "^1.0.0", parentIn: release }'],
    added: ['    ranged: { build: "1.1.0+cccccccc", parentIn: release }'],
  },
  {
    name: "the second spec of a multi-document file; the other documents untouched",
    file: "multi.yaml",
    edit: { spec: "order-worker", channel: "release", selector: { build: "0.9.5+33333333" } },
    line: 33,
    removed: ['    release: { build: "0.9.4+22222222" }'],
    added: ['    release: { build: "0.9.5+33333333" }'],
  },
  {
    name: "the first spec of a multi-document file",
    file: "multi.yaml",
    edit: { spec: "web-frontend", channel: "release", selector: { build: "3.2.1+33333333" } },
    line: 13,
    removed: ['    release: { build: "3.2.0+11111111" }'],
    added: ['    release: { build: "3.2.1+33333333" }'],
  },
  {
    name: "a channel that does not exist is added after the last one, in flow style",
    file: "new-channel.yaml",
    edit: { spec: "two-channels", channel: "release", selector: { build: "1.0.0+cccccccc" } },
    line: 14,
    removed: [],
    added: ['    release: { build: "1.0.0+cccccccc" }'],
    added_channel: true,
  },
  {
    name: "a spec without channels gets the mapping",
    file: "new-channel.yaml",
    edit: { spec: "no-channels", channel: "release", selector: { latest: true } },
    line: 26,
    removed: [],
    added: ["  channels:", "    release: { latest: true }"],
    added_channel: true,
  },
  {
    name: "a flow channels mapping gets the channel appended",
    file: "new-channel.yaml",
    edit: { spec: "flow-channels", channel: "release", selector: { build: "1.0.0+cccccccc" } },
    line: 36,
    removed: ["  channels: { candidate: { latest: true } }"],
    added: ['  channels: { candidate: { latest: true }, release: { build: "1.0.0+cccccccc" } }'],
    added_channel: true,
  },
  {
    name: "a block channel mapping with block selectors gets a block selector, at the end of the file",
    file: "new-channel.yaml",
    edit: { spec: "block-channels", channel: "release", selector: { build: "1.0.0+cccccccc" } },
    line: 50,
    removed: [],
    added: ["    release:", '      build: "1.0.0+cccccccc"'],
    added_channel: true,
  },
];

describe("editChannel", () => {
  for (const crlf of [false, true]) {
    describe(crlf ? "with CRLF line endings" : "with LF line endings", () => {
      it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
        const lf = fixture(c.file);
        const text = crlf ? lf.replaceAll("\n", "\r\n") : lf;
        const result = editChannel(text, c.edit);
        if (!result.ok) throw new Error(result.error);
        const eol = crlf ? "\r" : "";
        expect(changedLines(text, result.text)).toEqual({
          line: c.line,
          removed: c.removed.map((l) => l + eol),
          added: c.added.map((l) => l + eol),
        });
        expect(result).toMatchObject({
          changed: true,
          dropped: c.dropped ?? [],
          added: c.added_channel === true,
        });
        if (crlf) expect(result.text.replaceAll("\r\n", "")).not.toContain("\n");
        // What the file says now: only that selector changed, and as asked.
        const channels = (editedSpec(result.text, c.edit.spec) as { channels: Record<string, unknown> })
          .channels;
        expect(channels[c.edit.channel]).toMatchObject(c.edit.selector);
      });
    });
  }

  it("changes nothing when the channel already selects exactly that (minAge and gates included)", () => {
    for (const [file, edit] of [
      ["comments.yaml", { spec: "ubuntu-base", channel: "release", selector: { build: "2.3.0+5f2c91ab" } }],
      ["comments.yaml", { spec: "ubuntu-base", channel: "canary", selector: { latest: true } }],
      ["block.yaml", { spec: "block-base", channel: "release", selector: { latest: true } }],
      ["quoting.yaml", { spec: "quoted", channel: "plain", selector: { build: "1.0.0+aaaaaaaa" } }],
    ] as const) {
      const text = fixture(file);
      expect(editChannel(text, edit as ChannelEdit)).toEqual({
        ok: true,
        text,
        changed: false,
        added: false,
        dropped: [],
      });
    }
  });

  it("keeps the file's last line without a line break", () => {
    const text = fixture("new-channel.yaml").trimEnd();
    const result = editChannel(text, {
      spec: "block-channels",
      channel: "release",
      selector: { build: "1.0.0+cccccccc" },
    });
    expect(result).toMatchObject({ ok: true });
    expect(result.ok && result.text).toBe(`${text}\n    release:\n      build: "1.0.0+cccccccc"\n`);
  });

  it.each([
    ["channels with no value", "  channels:\n", "  channels:\n    release: { latest: true }\n"],
    [
      "channels: ~ with a comment",
      "  channels: ~ # none yet\n",
      "  channels: # none yet\n    release: { latest: true }\n",
    ],
  ])("fills in %s", (_what, line, replaced) => {
    const text = `kind: ImageSpec\nmetadata: { name: a }\nspec:\n  layer: app\n${line}  regions: [us-east-1]\n`;
    const result = editChannel(text, { spec: "a", channel: "release", selector: { latest: true } });
    expect(result).toEqual({
      ok: true,
      text: text.replace(line, replaced),
      changed: true,
      added: true,
      dropped: [],
    });
  });

  it("uses the document index when given, and checks it is the named spec", () => {
    const text = fixture("multi.yaml");
    const edit = { spec: "order-worker", channel: "release", selector: { build: "0.9.5+33333333" } } as const;
    expect(editChannel(text, { ...edit, documentIndex: 2 })).toMatchObject({ ok: true, changed: true });
    // Document 2 is a ConfigMap of the same name, not the spec.
    expect(editChannel(text, { ...edit, documentIndex: 1 })).toEqual({
      ok: false,
      error:
        "document 2 of the file is not spec order-worker; the file changed since it was read, so run the command again",
    });
    expect(editChannel(text, { ...edit, documentIndex: 0 })).toEqual({
      ok: false,
      error:
        "document 1 of the file is not spec order-worker; the file changed since it was read, so run the command again",
    });
  });

  it.each([
    [
      "a spec the file does not hold",
      "kind: ImageSpec\nmetadata: { name: a }\nspec: { channels: {} }\n",
      "b",
      "no document in the file is named b",
    ],
    [
      "an aliased selector",
      "kind: ImageSpec\nmetadata: { name: a }\nspec:\n  channels:\n    candidate: &pick { latest: true }\n    release: *pick\n",
      "a",
      'channel release of spec a is not a mapping; write it as release: { build: "1.0.0+cccccccc" }',
    ],
    [
      "a merge key in the selector",
      "kind: ImageSpec\nmetadata: { name: a }\nspec:\n  channels:\n    candidate: &pick { latest: true }\n    release: { <<: *pick }\n",
      "a",
      "channel release of spec a uses a << merge key; edit it by hand",
    ],
    [
      "a flow spec mapping without channels",
      "kind: ImageSpec\nmetadata: { name: a }\nspec: { layer: app }\n",
      "a",
      "spec a is a flow mapping; add channels to it by hand",
    ],
    [
      "two documents of the same name",
      "kind: ImageSpec\nmetadata: { name: a }\nspec: { channels: {} }\n---\nkind: ImageSpec\nmetadata: { name: a }\nspec: { channels: {} }\n",
      "a",
      "2 documents in the file are named a; keep one (leaven validate)",
    ],
    [
      "a document with YAML errors",
      "kind: ImageSpec\nmetadata: { name: a }\nspec:\n  channels: {}\n  channels: {}\n",
      "a",
      "spec a has YAML errors (Map keys must be unique); fix them first (leaven validate)",
    ],
  ])("refuses %s with a clear error", (_what, text, spec, error) => {
    expect(editChannel(text, { spec, channel: "release", selector: { build: "1.0.0+cccccccc" } })).toEqual({
      ok: false,
      error,
    });
  });

  it("never changes another line of the examples, whatever the build id (property)", () => {
    const files = ["examples/bases/ubuntu-base.yaml", "examples/apps/web-and-worker.yaml"];
    const version = fc
      .tuple(fc.nat(99), fc.nat(99), fc.nat(99))
      .map(([major, minor, patch]) => `${major}.${minor}.${patch}`);
    const hash = fc.stringMatching(/^[0-9a-f]{8}$/);
    fc.assert(
      fc.property(fc.constantFrom(...files), version, hash, (file, v, h) => {
        const text = readFileSync(join(root, file), "utf8");
        const spec = /name: (\S+)/.exec(text)![1]!;
        const build = `${v}+${h}`;
        const result = editChannel(text, { spec, channel: "release", selector: { build } });
        if (!result.ok) throw new Error(result.error);
        const diff = changedLines(text, result.text);
        expect(diff.removed).toHaveLength(1);
        expect(diff.added).toHaveLength(1);
        expect(diff.added[0]).toContain(`build: "${build}"`);
      }),
      { numRuns: 50 },
    );
  });
});

function editedSpec(text: string, name: string): unknown {
  for (const doc of parseAllDocuments(text)) {
    const value = doc.toJS() as { metadata?: { name?: string }; kind?: string; spec?: unknown };
    if (value.kind === "ImageSpec" && value.metadata?.name === name) return value.spec;
  }
  throw new Error(`no spec ${name}`);
}
