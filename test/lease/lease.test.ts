// Holding the lock for a run: waiting with the holder's name, timeouts, takeover after expiry, the
// heartbeat, and stopping when renewals fail. A ManualClock moves the time; the store is the simulator's
// DynamoDB through the real client.
import { afterEach, describe, expect, it } from "vitest";
import { CloudError, type CloudPort } from "../../controller/cloud/port.ts";
import { createLockClient, DynamoDbLock } from "../../controller/lease/aws-lock.ts";
import { fenceCloud, LOCK_LOST_CODE } from "../../controller/lease/fenced-cloud.ts";
import { acquireLease, type Lease, LockTimeoutError } from "../../controller/lease/lease.ts";
import type { LockPort } from "../../controller/lease/lock-port.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { type Simulator, startSimulator } from "../../controller/sim/server.ts";

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const TTL = 90_000;
const sims: Simulator[] = [];
const leases: Lease[] = [];
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const lease of leases.splice(0)) await lease.release();
  for (const close of closers.splice(0)) close();
  for (const sim of sims.splice(0)) await sim.close();
});

async function setup() {
  // The simulator keeps its own clock; the lease's clock is the test's.
  const sim = await startSimulator({ throttle: false, clock: new ManualClock(T0) });
  sims.push(sim);
  const lock = new DynamoDbLock({
    client: createLockClient({
      region: "us-east-1",
      endpoint: sim.endpoint,
      credentials: { accessKeyId: "AKIDSIM", secretAccessKey: "sim" },
    }),
    table: "leaven-locks",
    region: "us-east-1",
  });
  closers.push(() => lock.close());
  await lock.ensureTable();
  return { sim, lock, clock: new ManualClock(T0) };
}

const holder = (pid: number, command = "apply") => ({ host: "ci-7", pid, command, startedAt: T0 });

/** Lets pending I/O (the simulator's answers) run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

async function until(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !predicate(); i++) await settle();
  if (!predicate()) throw new Error(`timed out waiting for ${what}`);
}

async function take(
  port: LockPort,
  clock: ManualClock,
  pid: number,
  extra: Partial<Parameters<typeof acquireLease>[0]> = {},
) {
  const lease = await acquireLease({
    port,
    installation: "payments",
    holder: holder(pid),
    clock,
    ttlMs: TTL,
    ...extra,
  });
  leases.push(lease);
  return lease;
}

describe("acquireLease", () => {
  it("waits while another run holds the lock, naming it, and proceeds once it is released", async () => {
    const { lock, clock } = await setup();
    const first = await take(lock, clock, 100);
    const messages: string[] = [];
    let acquired = false;
    const second = acquireLease({
      port: lock,
      installation: "payments",
      holder: holder(200),
      clock,
      ttlMs: TTL,
      onWait: (m) => messages.push(m),
    }).then((lease) => {
      acquired = true;
      leases.push(lease);
      return lease;
    });
    await until(() => messages.length > 0, "the waiting message");
    expect(messages).toEqual([
      "waiting for the lock of installation payments held by apply on host ci-7 pid 100 since 2026-06-01T12:00:00.000Z (expires in 90 s)",
    ]);
    // The first one renews as it goes: the second keeps waiting past the first lease's TTL.
    for (let t = 0; t < 5; t++) {
      clock.advance(10_000);
      await settle();
    }
    expect(acquired).toBe(false);
    expect(first.held()).toBe(true);
    expect((await first.release()).released).toBe(true);
    clock.advance(10_000);
    const lease = await second;
    expect(lease.held()).toBe(true);
    expect((await lock.read("payments"))?.holder.pid).toBe(200);
    // The holder did not change hands while it waited: one message.
    expect(messages).toHaveLength(1);
  });

  it("gives up after the timeout with a message naming the holder; 0 gives up at once", async () => {
    const { lock, clock } = await setup();
    await take(lock, clock, 100);
    const now = acquireLease({
      port: lock,
      installation: "payments",
      holder: holder(200),
      clock,
      ttlMs: TTL,
      timeoutMs: 0,
    });
    await expect(now).rejects.toBeInstanceOf(LockTimeoutError);
    await expect(now).rejects.toThrow(
      "gave up after 0s waiting for the lock of installation payments held by apply on host ci-7 pid 100 since 2026-06-01T12:00:00.000Z (expires in 90 s). It is released when that run ends, or taken over once it expires; run again then, or wait longer with --lock-timeout.",
    );
    const later = acquireLease({
      port: lock,
      installation: "payments",
      holder: holder(300),
      clock,
      ttlMs: TTL,
      timeoutMs: 5_000,
    });
    const failed = later.catch((e: unknown) => e);
    await settle();
    clock.advance(5_000);
    expect(String(await failed)).toContain(
      "gave up after 5s waiting for the lock of installation payments held by apply",
    );
  });

  it("takes over a holder that stopped renewing (killed) once its lease expired", async () => {
    const { lock, clock } = await setup();
    // A holder that died: its record stays, with an expiry nobody renews.
    expect(
      await lock.tryAcquire(
        { installation: "payments", token: "dead", holder: holder(100), expiresAt: T0 + TTL },
        T0,
      ),
    ).toEqual({ acquired: true });
    const messages: string[] = [];
    const next = acquireLease({
      port: lock,
      installation: "payments",
      holder: holder(200),
      clock,
      ttlMs: TTL,
      onWait: (m) => messages.push(m),
    });
    await until(() => messages.length > 0, "the waiting message");
    clock.advance(TTL - 1);
    await settle();
    clock.advance(2);
    const lease = await next;
    leases.push(lease);
    expect(lease.held()).toBe(true);
    expect((await lock.read("payments"))?.token).toBe(lease.token);
  });

  it("keeps the lease by a heartbeat every third of the TTL", async () => {
    const { lock, clock, sim } = await setup();
    const lease = await take(lock, clock, 100);
    for (let beat = 1; beat <= 4; beat++) {
      clock.advance(TTL / 3);
      await until(() => (sim.stats().byAction.UpdateItem ?? 0) >= beat, `renewal ${beat}`);
    }
    expect(lease.held()).toBe(true);
    expect((await lock.read("payments"))?.expiresAt).toBe(T0 + 4 * (TTL / 3) + TTL);
  });

  it("stops acting when its renewals fail: held() turns false before the expiry it wrote, and the fenced cloud refuses changes", async () => {
    const { lock, clock, sim } = await setup();
    const lost: string[] = [];
    const lease = await take(lock, clock, 100, { onLost: (r) => lost.push(r) });
    const calls: string[] = [];
    const cloud = fenceCloud(
      {
        describeImages: async () => {
          calls.push("describeImages");
          return [];
        },
        createTags: async () => {
          calls.push("createTags");
        },
      } as unknown as CloudPort,
      () => lease.problem(),
    );
    await cloud.createTags("us-east-1", ["ami-1"], { a: "b" });
    // Every renewal now fails (5xx); the SDK retries, the heartbeat retries, and the deadline comes.
    sim.setFaults({ serverErrorRate: 1 });
    clock.advance(TTL / 3);
    await until(() => (sim.stats().byAction.UpdateItem ?? 0) >= 1, "a renewal attempt");
    expect(lease.held()).toBe(true);
    clock.advance(TTL / 2 - 1);
    expect(lease.held()).toBe(true);
    clock.advance(1);
    // At expiry - TTL/6: no longer trusted, even though nobody else took it yet.
    expect(lease.held()).toBe(false);
    expect(lost).toEqual([
      expect.stringMatching(/^the lock of installation payments could not be renewed in time/),
    ]);
    await cloud.describeImages("us-east-1", { owners: ["self"] });
    const refused = await cloud.createTags("us-east-1", ["ami-1"], { a: "b" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CloudError);
    expect((refused as CloudError).code).toBe(LOCK_LOST_CODE);
    expect(calls).toEqual(["createTags", "describeImages"]);
  });

  it("is lost at once when another run took the lock over", async () => {
    const { lock, clock } = await setup();
    const lost: string[] = [];
    const lease = await take(lock, clock, 100, { onLost: (r) => lost.push(r) });
    // Someone else's lock in its place (as if this one had expired unseen and been taken over).
    await lock.release("payments", lease.token);
    await lock.tryAcquire(
      { installation: "payments", token: "other", holder: holder(999, "apply"), expiresAt: T0 + 10 * TTL },
      T0,
    );
    clock.advance(TTL / 3);
    await until(() => lost.length > 0, "the lease to be lost");
    expect(lost[0]).toMatch(
      /^the lock of installation payments was taken over by apply on host ci-7 pid 999 since /,
    );
    expect(lease.held()).toBe(false);
    // Its release leaves the other run's lock alone.
    expect((await lease.release()).released).toBe(false);
    expect((await lock.read("payments"))?.token).toBe("other");
  });
});
