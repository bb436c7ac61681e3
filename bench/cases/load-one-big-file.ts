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

/** Writes `documents` documents separated by `---` to `path`, a batch at a time: the case's peak RSS is the loader's. */
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

export const loadOneBigFileCase: BenchCase = {
  name: "load + validate one big file",
  size: `${DOCUMENTS.toLocaleString("en")} documents / 1 file`,
  async run() {
    const dir = await mkdtemp(join(tmpdir(), "leaven-bench-"));
    try {
      // Written by another process, so this one's peak RSS is the loader's alone.
      const path = join(dir, "dump.yaml");
      execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--write", path]);
      const bytes = (await stat(path)).size;
      const start = performance.now();
      const result = await loadSpecs([dir], { cwd: dir });
      const wallMs = performance.now() - start;
      const errors = result.diagnostics.filter((d) => d.severity === "error").length;
      if (errors > 0 || result.specs.length !== DOCUMENTS)
        throw new Error(`big file did not validate clean: ${errors} errors, ${result.specs.length} specs`);
      return {
        wallMs,
        extra: { specs: String(result.specs.length), "file MB": (bytes / 1024 / 1024).toFixed(0) },
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

// `node load-one-big-file.ts --write PATH`: the generator, run as its own process by the case.
const write = process.argv.indexOf("--write");
if (write !== -1 && process.argv[1] === fileURLToPath(import.meta.url))
  await writeBigFile(process.argv[write + 1]!);
