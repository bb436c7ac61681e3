// load + validate + graph of 5,000 generated specs across 20 files (generation is not timed).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSpecs } from "../../controller/validation/load-specs.ts";
import type { BenchCase } from "../case.ts";

const FILES = 20;
const FOUNDATIONS = 10;
const BASES = 190;
const APPS = 4800;

function foundation(i: number): string {
  return `apiVersion: leaven.dev/v1alpha1
kind: ImageSpec
metadata:
  name: foundation-${i}
spec:
  layer: foundation
  source:
    owners: ["099720109477"]
    name: ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*
    architecture: x86_64
  regions: [us-east-1, eu-west-1]
  channels:
    candidate: { latest: true }
    release: { latest: true, minAge: 7d }
`;
}

function baked(name: string, layer: string, parent: string, channel: string, i: number): string {
  return `apiVersion: leaven.dev/v1alpha1
kind: ImageSpec
metadata:
  name: ${name}
  labels: { team: team-${i % 37} }
spec:
  layer: ${layer}
  parent: { spec: ${parent}, channel: ${channel} }
  version: 1.${i % 50}.${i % 7}
  provision:
    packages: [${name}=1.${i % 50}.${i % 7}, amazon-cloudwatch-agent]
    files:
      - path: /etc/${name}/config.yaml
        mode: "0644"
        content: |
          name: ${name}
    script: |
      systemctl enable ${name}
  bake: { instanceType: t3.medium, timeout: 30m }
  regions: [us-east-1, eu-west-1, ap-southeast-2]
  channels:
    candidate: { latest: true }
    release: { version: ^1.0.0, minAge: 2d }
  retention: { keepBuilds: 3, deprecateAfter: 14d, deregisterAfter: 30d }
`;
}

/** The generated estate as file name → YAML text; specs spread round-robin over the files. */
export function generateEstate(): Map<string, string> {
  const docs: string[] = [];
  for (let i = 0; i < FOUNDATIONS; i++) docs.push(foundation(i));
  for (let i = 0; i < BASES; i++) {
    // Every fifth base is layered on another base, so the lineage is more than two levels deep.
    const parent =
      i >= FOUNDATIONS && i % 5 === 0 ? `base-${i - FOUNDATIONS}` : `foundation-${i % FOUNDATIONS}`;
    docs.push(baked(`base-${i}`, "base", parent, "release", i));
  }
  for (let i = 0; i < APPS; i++)
    docs.push(baked(`app-${i}`, "app", `base-${i % BASES}`, i % 3 === 0 ? "candidate" : "release", i));
  const files = new Map<string, string[]>();
  docs.forEach((doc, i) => {
    const file = `specs-${String(i % FILES).padStart(2, "0")}.yaml`;
    files.set(file, [...(files.get(file) ?? []), doc]);
  });
  return new Map([...files].map(([file, list]) => [file, list.join("---\n")]));
}

export const loadValidateGraphCase: BenchCase = {
  name: "load + validate + graph",
  size: `${FOUNDATIONS + BASES + APPS} specs / ${FILES} files`,
  async run() {
    const dir = await mkdtemp(join(tmpdir(), "leaven-bench-"));
    try {
      for (const [file, text] of generateEstate()) await writeFile(join(dir, file), text);
      const start = performance.now();
      const result = await loadSpecs([dir], { cwd: dir });
      const order = result.graph.topologicalOrder();
      const wallMs = performance.now() - start;
      const errors = result.diagnostics.filter((d) => d.severity === "error").length;
      if (errors > 0 || order.length !== FOUNDATIONS + BASES + APPS) {
        throw new Error(
          `bench estate did not validate clean: ${errors} errors, ${order.length} specs in order`,
        );
      }
      return {
        wallMs,
        extra: { specs: String(result.specs.length), documents: String(result.documentsRead) },
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
