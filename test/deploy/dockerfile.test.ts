// The Dockerfile, checked statically (there is no container engine on the test machines): multi-stage, a
// tagged base that is not `latest`, a non-root numeric USER, the entrypoint the package's bin runs, COPY
// sources that exist and are not excluded by .dockerignore, and an image that holds everything the code
// loads at run time: its relative imports stay inside the copied folders, and every package it imports is a
// production dependency (the build stage installs with --omit=dev).
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/temp-dir.ts";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const read = (path: string) => readFileSync(join(repo, path), "utf8");

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Instructions with their continuation lines joined; comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: Instruction | undefined;
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const continued = line.endsWith("\\");
    const body = continued ? line.slice(0, -1).trim() : line;
    if (pending) pending.args += ` ${body}`;
    else {
      const [keyword = "", ...rest] = body.split(/\s+/);
      pending = { keyword: keyword.toUpperCase(), args: rest.join(" "), line: index + 1 };
    }
    if (!continued) {
      out.push(pending);
      pending = undefined;
    }
  });
  if (pending) out.push(pending);
  return out;
}

const instructions = parseDockerfile(read("Dockerfile"));
const args = new Map(
  instructions
    .filter((i) => i.keyword === "ARG" && i.args.includes("="))
    .map((i) => i.args.split("=", 2) as [string, string]),
);
const expand = (value: string) => value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a, b) => args.get(a ?? b) ?? "");

const stages: { image: string; name?: string; body: Instruction[] }[] = [];
for (const instruction of instructions) {
  if (instruction.keyword === "FROM") {
    const [image = "", as, name] = instruction.args.split(/\s+/);
    stages.push({ image: expand(image), ...(as?.toUpperCase() === "AS" && name ? { name } : {}), body: [] });
  } else stages.at(-1)?.body.push(instruction);
}
const final = stages.at(-1)!;

const ignored = read(".dockerignore")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));

describe("Dockerfile", () => {
  it("is multi-stage, the final stage copying from a named build stage", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const from = final.body.filter((i) => i.keyword === "COPY" && i.args.startsWith("--from="));
    expect(from.length).toBeGreaterThan(0);
    const names = stages.slice(0, -1).map((s) => s.name);
    for (const copy of from) expect(names).toContain(copy.args.match(/^--from=(\S+)/)?.[1]);
  });

  it("installs only the production dependencies, from the lock file", () => {
    const build = stages.slice(0, -1).flatMap((s) => s.body);
    const install = build.find((i) => i.keyword === "RUN" && i.args.includes("npm ci"));
    expect(install?.args).toMatch(/npm ci\b.*--omit=dev/);
    expect(final.body.some((i) => i.keyword === "RUN" && /npm (ci|install)/.test(i.args))).toBe(false);
  });

  it.each(stages.map((s) => [s.image]))("uses a tagged Node 24 base that is not latest: %s", (image) => {
    expect(image).toMatch(/^node:24[-.\w]*(@sha256:[0-9a-f]{64})?$/);
    expect(image).not.toMatch(/:latest\b/);
  });

  it("runs as a non-root numeric user, set after the last COPY", () => {
    const users = final.body.filter((i) => i.keyword === "USER");
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.args.split(":");
    expect(Number(uid)).toBe(65532);
    if (gid !== undefined) expect(Number(gid)).toBeGreaterThan(0);
    const lastCopy = Math.max(...final.body.filter((i) => i.keyword === "COPY").map((i) => i.line));
    expect(users[0]!.line).toBeGreaterThan(lastCopy);
  });

  it("enters at the package's bin with node, which runs the TypeScript as it is", () => {
    const entrypoint = final.body.find((i) => i.keyword === "ENTRYPOINT");
    expect(JSON.parse(entrypoint!.args)).toEqual(["node", "/app/controller/cli/leaven.mjs"]);
    const pkg = JSON.parse(read("package.json")) as { bin: Record<string, string> };
    expect(pkg.bin.leaven).toBe("controller/cli/leaven.mjs");
    expect(final.body.find((i) => i.keyword === "WORKDIR")?.args).toBe("/app");
  });

  const copies = instructions.filter((i) => i.keyword === "COPY" && !i.args.startsWith("--from="));
  it.each(
    copies.flatMap((c) =>
      c.args
        .split(/\s+/)
        .slice(0, -1)
        .map((source) => [source]),
    ),
  )("copies %s, which exists and is not excluded by .dockerignore", (source) => {
    expect(existsSync(join(repo, source))).toBe(true);
    expect(ignored).not.toContain(source);
    expect(ignored).not.toContain(source.replace(/\/$/, ""));
  });

  it("copies exactly what runs: controller, schemas, crds, the package files and node_modules", () => {
    const copied = final.body
      .filter((i) => i.keyword === "COPY")
      .flatMap((i) =>
        i.args
          .replace(/^--from=\S+\s+/, "")
          .split(/\s+/)
          .slice(0, -1),
      )
      .map((s) => s.replace(/^\/app\//, "").replace(/\/$/, ""))
      .sort();
    expect(copied).toEqual([
      "controller",
      "crds",
      "node_modules",
      "package-lock.json",
      "package.json",
      "schemas",
    ]);
  });

  it("keeps node_modules, .git and local state out of the build context", () => {
    for (const entry of ["node_modules", ".git", "**/.leaven", "test"]) expect(ignored).toContain(entry);
  });
});

describe("what the image holds is what the code loads", () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(repo, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) files.push(path);
    }
  };
  walk("controller");
  // `import type` and `export type` statements are erased when Node strips the types: nothing loads them.
  const specifiers = files.flatMap((file) =>
    [
      ...read(file).matchAll(
        /(?:^|\n)\s*(import|export)\s(type\s)?[^;]*?from\s+"([^"]+)"|import\("([^"]+)"\)/g,
      ),
    ]
      .filter((m) => m[2] === undefined)
      .map((m) => ({ file, specifier: (m[3] ?? m[4])! })),
  );

  it("finds the imports", () => {
    expect(files.length).toBeGreaterThan(50);
    expect(specifiers.some((s) => s.specifier === "@aws-sdk/client-ec2")).toBe(true);
  });

  it("has no relative import that leaves controller/ and schemas/", () => {
    const outside = specifiers
      .filter((s) => s.specifier.startsWith("."))
      .map((s) => relative(repo, resolve(repo, dirname(s.file), s.specifier)))
      .filter((target) => !/^(controller|schemas|crds)\//.test(target));
    expect([...new Set(outside)]).toEqual([]);
  });

  it("imports only production dependencies (npm ci --omit=dev leaves out the rest)", () => {
    const pkg = JSON.parse(read("package.json")) as { dependencies: Record<string, string> };
    const builtins = new Set(builtinModules);
    const packages = new Set(
      specifiers
        .map((s) => s.specifier)
        .filter((s) => !s.startsWith(".") && !s.startsWith("node:") && !builtins.has(s))
        .map((s) => (s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]!)),
    );
    expect([...packages].filter((p) => !(p in pkg.dependencies)).sort()).toEqual([]);
  });
});

describe("the image's file layout", () => {
  it("runs the CLI from only the files the Dockerfile copies, validating the examples with the copied schema", () => {
    // The final stage's COPYs into a scratch /app; node_modules linked (it is installed, not copied, in the image).
    const app = tempDir("leaven-image-layout-");
    for (const copy of final.body.filter((i) => i.keyword === "COPY" && !i.args.startsWith("--from="))) {
      const parts = copy.args.split(/\s+/);
      const target = parts.at(-1)!;
      for (const source of parts.slice(0, -1)) {
        const into = target.endsWith("/") && !source.endsWith("/") ? join(target, source) : target;
        cpSync(join(repo, source), join(app, into), { recursive: true });
      }
    }
    symlinkSync(join(repo, "node_modules"), join(app, "node_modules"));
    const entrypoint = JSON.parse(final.body.find((i) => i.keyword === "ENTRYPOINT")!.args) as string[];
    const main = entrypoint[1]!.replace(/^\/app\//, "");
    const run = (...cliArgs: string[]) =>
      spawnSync(process.execPath, [join(app, main), ...cliArgs], { cwd: app, encoding: "utf8" });
    const help = run("--help");
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain("Usage: leaven <command>");
    const validate = run("validate", join(repo, "examples"));
    expect(validate.stderr).toBe("");
    expect(validate.stdout).toMatch(/^ok: \d+ specs valid/);
  });
});
