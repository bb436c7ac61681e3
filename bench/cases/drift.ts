// What repairing each drift costs: the examples converge on the awkward simulator (in-process CLI), then each
// drift of the drift suite is made behind Leaven's back on a copy of that world and one `leaven apply`
// repairs it. Reports the requests of the repairing apply, all and mutating, per drift and all at once.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { runCli } from "../../controller/cli/run-cli.ts";
import { behindLeavensBack, type Drift, drifts } from "../../test/support/drifts.ts";
import type { BenchCase } from "../case.ts";

const examples = fileURLToPath(new URL("../../examples", import.meta.url));

async function apply(dir: string): Promise<{ code: number; requests: number; mutating: number }> {
  let text = "";
  const stdout = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  const sink = new Writable({ write: (_c, _e, done) => done() });
  const code = await runCli(["apply", "specs", "--sim-state", join(dir, "sim.json"), "--sim-speed", "600"], {
    stdout,
    stderr: sink,
    cwd: dir,
    env: {},
  });
  const match = /^(\d+) AWS requests \((\d+) mutating/m.exec(text);
  return { code, requests: Number(match?.[1] ?? -1), mutating: Number(match?.[2] ?? -1) };
}

export const driftRepairCase: BenchCase = {
  name: "drift repair (examples)",
  size: `${drifts.length} drifts, alone and at once`,
  async run() {
    const root = mkdtempSync(join(tmpdir(), "leaven-bench-drift-"));
    try {
      const baseline = join(root, "baseline");
      cpSync(examples, join(baseline, "specs"), { recursive: true });
      await apply(baseline);
      // A second api-server build, so that an older one exists to be mistagged.
      const app = join(baseline, "specs/apps/api-server.yaml");
      writeFileSync(app, readFileSync(app, "utf8").replaceAll("1.14.2", "1.14.3"));
      await apply(baseline);
      const extra: Record<string, string> = {};
      const started = performance.now();
      const cases: [string, Drift[]][] = [
        ...drifts.map((d, i) => [`#${i + 1}`, [d]] as [string, Drift[]]),
        ["all", drifts],
      ];
      for (const [label, changes] of cases) {
        const dir = join(root, label.replace("#", "d"));
        cpSync(baseline, dir, { recursive: true });
        await behindLeavensBack(join(dir, "sim.json"), async (ec2) => {
          for (const drift of changes) await drift.change(ec2);
        });
        const repaired = await apply(dir);
        extra[label] =
          `${repaired.requests}/${repaired.mutating}${repaired.code === 0 ? "" : " NOT CONVERGED"}`;
      }
      extra.legend = `requests/mutating of the repairing apply; ${drifts.map((d, i) => `#${i + 1} ${d.name}`).join("; ")}`;
      return { wallMs: performance.now() - started, extra };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
