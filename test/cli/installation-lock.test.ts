// Installations and their lock, end to end: `leaven apply` processes against one standalone simulator over
// HTTP (EC2 and the lock's DynamoDB table on one endpoint), as two CI jobs or two repositories would run.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { createLockClient, DynamoDbLock, lockId } from "../../controller/lease/aws-lock.ts";
import { type Simulator, startSimulator } from "../../controller/sim/server.ts";
import { stateAt } from "../../controller/sim/world.ts";
import { runCli, scratchEstate, startCli, waitFor } from "../support/cli-process.ts";
import { tempDir } from "../support/temp-dir.ts";

const LOCKS = "123456789012/us-east-1/leaven-locks";

function summary(stdout: string): { outcome: string; mutating: number } {
  const match =
    /^(Converged|Stalled|Stopped) after \d+ pass(?:es)? .*\.\n\d+ AWS requests \((\d+) mutating/m.exec(
      stdout,
    );
  if (!match) throw new Error(`no summary line in:\n${stdout.slice(-3000)}`);
  return { outcome: match[1]!, mutating: Number(match[2]) };
}

async function withSim<T>(dir: string, work: (sim: Simulator) => Promise<T>): Promise<T> {
  const sim = await startSimulator({ speed: 600, statePath: join(dir, "standalone.json") });
  try {
    return await work(sim);
  } finally {
    await sim.close();
  }
}

/** The installation's lock item in the simulator's table, as stored. */
function lockItem(sim: Simulator, installation = "default") {
  return sim.world.dynamoTables.get(LOCKS)?.items[`S:${lockId(installation)}`];
}

describe("one installation, one apply at a time", () => {
  it("a second apply waits, naming the holder, and proceeds once the first is done", async () => {
    const dir = scratchEstate();
    await withSim(dir, async (sim) => {
      const args = ["apply", "specs", "--sim-endpoint", sim.endpoint];
      const first = startCli(args, dir);
      await waitFor(first.output, (out) => out.includes('"kind":"launch-bake"'));
      const second = startCli(args, dir);
      await waitFor(second.errors, (err) => err.includes("waiting for the lock"));
      expect(second.errors()).toMatch(
        new RegExp(
          `leaven apply: waiting for the lock of installation default held by apply on host \\S+ pid ${first.child.pid} since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(expires in \\d+ s\\)\\n`,
        ),
      );
      // It waits: nothing of its own happens while the first holds the lock.
      expect(second.output()).not.toContain('"msg":"');
      const firstRun = await first.done;
      const firstEnded = Date.now();
      expect(summary(firstRun.stdout).outcome).toBe("Converged");
      expect(firstRun.code).toBe(0);
      const secondRun = await second.done;
      expect(Date.now()).toBeGreaterThanOrEqual(firstEnded);
      // The first converged everything: the second, once it holds the lock, has nothing left to do.
      expect(summary(secondRun.stdout)).toEqual({ outcome: "Converged", mutating: 0 });
      expect(secondRun.code).toBe(0);
      expect(lockItem(sim)).toBeUndefined();
    });
  });

  it("gives up with --lock-timeout, exit 1, naming the holder, having changed nothing", async () => {
    const dir = scratchEstate();
    await withSim(dir, async (sim) => {
      // Another run holds the lock (taken directly, with an expiry far ahead).
      const lock = new DynamoDbLock({
        client: createLockClient({
          region: "us-east-1",
          endpoint: sim.endpoint,
          credentials: { accessKeyId: "AKIDSIM", secretAccessKey: "sim" },
        }),
        table: "leaven-locks",
        region: "us-east-1",
      });
      await lock.ensureTable();
      const startedAt = Date.UTC(2026, 5, 1, 12, 0, 0);
      await lock.tryAcquire(
        {
          installation: "default",
          token: "other",
          holder: { host: "ci-7", pid: 4242, command: "apply", startedAt },
          expiresAt: sim.clock.now() + 10 * 86_400_000,
        },
        sim.clock.now(),
      );
      lock.close();
      sim.resetStats();
      const run = await runCli(
        ["apply", "specs", "--sim-endpoint", sim.endpoint, "--lock-timeout", "1s"],
        dir,
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        "leaven apply: waiting for the lock of installation default held by apply on host ci-7 pid 4242 since 2026-06-01T12:00:00.000Z (expires in ",
      );
      expect(run.stderr).toMatch(
        /leaven apply: gave up after 1s waiting for the lock of installation default held by apply on host ci-7 pid 4242 since 2026-06-01T12:00:00\.000Z \(expires in \d+ s\)\. It is released when that run ends, or taken over once it expires; run again then, or wait longer with --lock-timeout\.\n/,
      );
      // Not a single EC2 request: it never observed, let alone changed, anything.
      expect(Object.keys(sim.stats().byAction).filter((a) => !/Item$|Table$/.test(a))).toEqual([]);
      expect(lockItem(sim)?.Token).toEqual({ S: "other" });
    });
  });

  it("takes over from a holder killed with kill -9 once its lease expires, and converges", async () => {
    const dir = scratchEstate();
    await withSim(dir, async (sim) => {
      const args = ["apply", "specs", "--sim-endpoint", sim.endpoint];
      const killed = startCli(args, dir);
      await waitFor(killed.output, (out) => out.includes('"kind":"launch-bake"'));
      killed.child.kill("SIGKILL");
      await killed.done;
      expect(lockItem(sim)?.Pid).toEqual({ N: String(killed.child.pid) });
      const next = startCli(args, dir);
      const run = await next.done;
      expect(run.stderr).toContain(`held by apply on host`);
      expect(run.stderr).toContain(`pid ${killed.child.pid} since`);
      expect(summary(run.stdout).outcome).toBe("Converged");
      expect(run.code).toBe(0);
      // The bake the killed run launched was resumed, not leaked.
      // The bakery host of the examples' volume bakes stays up by design; no bake instance does.
      const live = [...sim.world.region("us-east-1").instances.values()].filter(
        (i) => stateAt(i.timeline, sim.clock.now()) !== "terminated" && i.tags[Tag.role] !== "bakery",
      );
      expect(live).toEqual([]);
      expect(lockItem(sim)).toBeUndefined();
    });
  });

  it("stops acting, exit 1, when its lock is taken over (its renewal fails)", async () => {
    const dir = scratchEstate();
    await withSim(dir, async (sim) => {
      const run = startCli(["apply", "specs", "--sim-endpoint", sim.endpoint], dir);
      await waitFor(run.output, (out) => out.includes('"kind":"launch-bake"'));
      // Another run's lock in its place, as if this one's had expired unseen and been taken over.
      const table = sim.world.dynamoTables.get(LOCKS)!;
      table.items[`S:${lockId("default")}`] = {
        ...lockItem(sim)!,
        Token: { S: "thief" },
        Host: { S: "elsewhere" },
        Pid: { N: "99" },
        ExpiresAt: { N: String(sim.clock.now() + 86_400_000) },
      };
      const ended = await run.done;
      expect(ended.code).toBe(1);
      expect(ended.stdout).toContain(
        '"msg":"lost the installation\'s lock: stopping; nothing more is changed"',
      );
      expect(ended.stderr).toMatch(
        /leaven apply: stopped: the lock of installation default was taken over by apply on host elsewhere pid 99 since .*; this run changed nothing after that\./,
      );
      expect(ended.stdout).not.toMatch(/^Converged after/m);
      // The other run's lock is left alone.
      expect(lockItem(sim)?.Token).toEqual({ S: "thief" });
    });
  });
});

const FOUNDATION = `apiVersion: leaven.dev/v1alpha1
kind: ImageSpec
metadata: { name: ubuntu-jammy }
spec:
  layer: foundation
  source:
    owners: ["099720109477"]
    name: ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*
    architecture: x86_64
  regions: [us-east-1, eu-west-1]
  channels:
    release: { latest: true }
`;

function layer(name: string, parent: string, packages: string[], layerName = "base", publish = ""): string {
  return `apiVersion: leaven.dev/v1alpha1
kind: ImageSpec
metadata: { name: ${name} }
spec:
  layer: ${layerName}
  parent: { spec: ${parent}, channel: release }
  version: 1.0.0
  provision: { packages: [${packages.join(", ")}] }
  regions: [us-east-1, eu-west-1]
  channels:
    candidate: { latest: true }
    release: { latest: true }
  retention: { keepBuilds: 0, deprecateAfter: 1m, deregisterAfter: 2m }
${publish}`;
}

/** Same-named specs of two installations in one region publish under different SSM prefixes. */
const WEB_PUBLISH = "  publish: { prefix: /leaven-web }\n";

/** A spec folder with its leaven.yaml naming the installation. */
function repository(root: string, installation: string, specs: Record<string, string>): string {
  const dir = join(root, installation);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "leaven.yaml"), `cloud: simulator\ninstallation: ${installation}\n`);
  for (const [file, text] of Object.entries(specs)) writeFileSync(join(dir, file), text);
  return dir;
}

describe("two installations in one account", () => {
  it("each converges on its own images; neither terminates, retags or retires the other's", async () => {
    const root = tempDir("leaven-installations-");
    // The same base name in both (different recipes), and an app only each of them has.
    const payments = repository(root, "payments", {
      "foundation.yaml": FOUNDATION,
      "base.yaml": layer("platform-base", "ubuntu-jammy", ["curl"]),
      "app.yaml": layer("payments-api", "platform-base", ["payments-api"], "app"),
    });
    const web = repository(root, "web", {
      "foundation.yaml": FOUNDATION + WEB_PUBLISH,
      "base.yaml": layer("platform-base", "ubuntu-jammy", ["curl", "jq"], "base", WEB_PUBLISH),
      "app.yaml": layer("web-api", "platform-base", ["web-api"], "app", WEB_PUBLISH),
    });
    await withSim(root, async (sim) => {
      const apply = (dir: string) => startCli(["apply", dir, "--sim-endpoint", sim.endpoint], root);
      // At the same time: different installations do not wait for each other.
      const [a, b] = await Promise.all([apply(payments).done, apply(web).done]);
      for (const run of [a, b]) {
        expect(run.stderr).not.toContain("waiting for the lock");
        expect(run.stdout.length, `exit ${run.code}; stderr:\n${run.stderr.slice(-2000)}`).toBeGreaterThan(0);
        expect(summary(run.stdout).outcome, run.stdout.slice(-2000)).toBe("Converged");
        expect(run.code).toBe(0);
        expect(run.stdout).not.toContain("no longer exists");
      }
      expect(a.stdout).not.toMatch(/"kind":"[a-z-]+","spec":"web-api"/);
      expect(b.stdout).not.toMatch(/"kind":"[a-z-]+","spec":"payments-api"/);

      const now = sim.clock.now();
      const images = ["us-east-1", "eu-west-1"].flatMap((region) =>
        [...sim.world.region(region).images.values()]
          .filter((image) => image.tags[Tag.managedBy] === "leaven")
          .map((image) => ({ region, state: stateAt(image.timeline, now), tags: image.tags })),
      );
      const of = (installation: string, spec: string) =>
        images.filter((i) => i.tags[Tag.installation] === installation && i.tags[Tag.spec] === spec);
      for (const [installation, specs] of [
        ["payments", ["platform-base", "payments-api"]],
        ["web", ["platform-base", "web-api"]],
      ] as const) {
        for (const spec of specs) {
          const own = of(installation, spec);
          // One build, home image and copy, available, in both channels, never staged for retirement.
          expect(own.map((i) => i.region).sort(), `${installation} ${spec}`).toEqual([
            "eu-west-1",
            "us-east-1",
          ]);
          for (const image of own) {
            expect(image.state).toBe("available");
            expect(image.tags["leaven.dev/channel/release"]).toBe("true");
            expect(image.tags["leaven.dev/channel/candidate"]).toBe("true");
            expect(image.tags[Tag.unusedSince]).toBeUndefined();
            expect(image.tags[Tag.deprecatedAt]).toBeUndefined();
          }
        }
      }
      // Two builds of platform-base, one per installation, and nothing that belongs to neither.
      expect(
        new Set(images.filter((i) => i.tags[Tag.spec] === "platform-base").map((i) => i.tags[Tag.build]))
          .size,
      ).toBe(2);
      expect(images.filter((i) => !["payments", "web"].includes(i.tags[Tag.installation] ?? ""))).toEqual([]);
      // Every bake instance was its own installation's, and is gone; snapshots carry their installation.
      const instances = [...sim.world.region("us-east-1").instances.values()];
      expect(instances.length).toBeGreaterThanOrEqual(4);
      for (const instance of instances) {
        expect(["payments", "web"]).toContain(instance.tags[Tag.installation]);
        expect(stateAt(instance.timeline, now)).toBe("terminated");
      }
      const snapshots = [...sim.world.region("us-east-1").snapshots.values()].filter(
        (s) => s.tags[Tag.managedBy],
      );
      expect(snapshots.length).toBeGreaterThan(0);
      for (const snapshot of snapshots)
        expect(["payments", "web"]).toContain(snapshot.tags[Tag.installation]);

      // Again, each in turn: nothing to do; the other's images are not this one's to change.
      for (const dir of [payments, web]) {
        const again = await runCli(["apply", dir, "--sim-endpoint", sim.endpoint], root);
        expect(summary(again.stdout)).toEqual({ outcome: "Converged", mutating: 0 });
      }
      // The default installation (no leaven.yaml) owns none of it: its plan for an empty folder is empty.
      const nobody = join(root, "nobody");
      mkdirSync(nobody);
      writeFileSync(join(nobody, "foundation.yaml"), FOUNDATION.replace("ubuntu-jammy", "ubuntu-lts"));
      const plan = await runCli(["plan", nobody, "--sim-endpoint", sim.endpoint, "--output", "json"], root);
      const planned = JSON.parse(plan.stdout) as { actions: { kind: string; spec: string }[] };
      // Only its own foundation's parameters to publish; no orphan, no clean-up of anyone else's images.
      expect(new Set(planned.actions.map((a) => `${a.kind} ${a.spec}`))).toEqual(
        new Set(["put-parameter ubuntu-lts"]),
      );
      expect(plan.stdout).not.toMatch(/platform-base|payments-api|web-api/);
    });
  });

  it("refuses an installation name that is not tag-safe, naming the file and the field", async () => {
    const root = tempDir("leaven-installations-");
    const dir = repository(root, "Payments_Team", { "foundation.yaml": FOUNDATION });
    const run = await runCli(["plan", dir], root);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `leaven plan: Payments_Team/leaven.yaml:2:15 installation: "Payments_Team" is not a valid installation name (it has uppercase letters): use 1 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit — it is recorded in the leaven.dev/installation tag\n`,
    );
    const plain = join(root, "plain");
    mkdirSync(plain);
    writeFileSync(join(plain, "foundation.yaml"), FOUNDATION);
    const flag = await runCli(["plan", plain, "--installation", "a".repeat(64)], root);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain(
      `--installation: "${"a".repeat(64)}" is not a valid installation name (it is 64 characters long)`,
    );
  });
});
