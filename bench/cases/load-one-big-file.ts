// load + validate of one 50 MB file of 200,000 small ImageSpec documents (a generated dump, the kind of file
// that once overflowed the stack): time and peak RSS of reading, parsing and validating it in one process.
import { execFileSync } from "node:child_process";
import { appendFile, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadSpecs } from "../../controller/validation/load-specs.ts";
import type { BenchCase } from "../case.ts";

const DOCUMENTS = 200_000;

/** One small foundation spec, about 250 bytes; names are unique so every document is a valid spec. */
function document(i: number): string {
  return `apiVersion: leaven.dev/v1alpha1
kind: ImageSpec
metadata:
  name: vendor-${i}
spec:
  layer: foundation
  source:
    owners: ["099720109477"]
    name: ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*
  regions: [us-east-1]
  channels:
    release: { latest: true }
`;
}

/** Writes `documents` documents separated by `---` to `path`, a batch at a time. */
export async function writeBigFile(path: string, documents = DOCUMENTS): Promise<number> {
  const batch = 10_000;
  let bytes = 0;
  for (let from = 0; from < documents; from += batch) {
    const parts: string[] = [];
    for (let i = from; i < Math.min(documents, from + batch); i++) parts.push(document(i));
    const text = `${from === 0 ? "" : "---\n"}${parts.join("---\n")}`;
    await appendFile(path, text);
    bytes += Buffer.byteLength(text);
  }
  return bytes;
}

interface Loaded {
  wallMs: number;
  maxRssBytes: number;
  specs: number;
  errors: number;
}

/** Loads `dir` as `leaven validate` would and measures it: run in a process that loads nothing else. */
async function loadAndMeasure(dir: string): Promise<Loaded> {
  const start = performance.now();
  const result = await loadSpecs([dir], { cwd: dir });
  const wallMs = performance.now() - start;
  return {
    wallMs,
    // resourceUsage().maxRSS is in kilobytes.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    specs: result.specs.length,
    errors: result.diagnostics.filter((d) => d.severity === "error").length,
  };
}

export const loadOneBigFileCase: BenchCase = {
  name: "load + validate one big file",
  size: `${DOCUMENTS.toLocaleString("en")} documents / 1 file`,
  async run() {
    const dir = await mkdtemp(join(tmpdir(), "leaven-bench-"));
    try {
      // Written by one process and loaded by another that imports only the loader: the peak RSS is the
      // loader's (this bench process has every case's modules loaded, some 250 MB).
      const path = join(dir, "dump.yaml");
      const self = fileURLToPath(import.meta.url);
      execFileSync(process.execPath, [self, "--write", path]);
      const bytes = (await stat(path)).size;
      const loaded = JSON.parse(
        execFileSync(process.execPath, [self, "--load", dir], { encoding: "utf8" }),
      ) as Loaded;
      if (loaded.errors > 0 || loaded.specs !== DOCUMENTS)
        throw new Error(`big file did not validate clean: ${loaded.errors} errors, ${loaded.specs} specs`);
      return {
        wallMs: loaded.wallMs,
        maxRssBytes: loaded.maxRssBytes,
        extra: { specs: String(loaded.specs), "file MB": (bytes / 1024 / 1024).toFixed(0) },
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

// `node load-one-big-file.ts --write PATH` writes the file; `--load DIR` loads it and prints a Loaded.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const write = process.argv.indexOf("--write");
  if (write !== -1) await writeBigFile(process.argv[write + 1]!);
  const load = process.argv.indexOf("--load");
  if (load !== -1) process.stdout.write(`${JSON.stringify(await loadAndMeasure(process.argv[load + 1]!))}\n`);
}
