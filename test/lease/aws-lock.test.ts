// The DynamoDB lock against the simulator, through the real @aws-sdk/client-dynamodb.
import { afterEach, describe, expect, it } from "vitest";
import { createLockClient, DynamoDbLock, lockId } from "../../controller/lease/aws-lock.ts";
import type { LockRecord } from "../../controller/lease/lock-port.ts";
import { LockStoreError } from "../../controller/lease/lock-port.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { type Simulator, startSimulator } from "../../controller/sim/server.ts";

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const sims: Simulator[] = [];
const locks: DynamoDbLock[] = [];
afterEach(async () => {
  for (const lock of locks.splice(0)) lock.close();
  for (const sim of sims.splice(0)) await sim.close();
});

async function setup(options: { table?: boolean; maxAttempts?: number } = {}) {
  const clock = new ManualClock(T0);
  const sim = await startSimulator({ throttle: false, clock });
  sims.push(sim);
  const lock = new DynamoDbLock({
    client: createLockClient({
      region: "us-east-1",
      endpoint: sim.endpoint,
      credentials: { accessKeyId: "AKIDSIM", secretAccessKey: "sim" },
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    }),
    table: "leaven-locks",
    region: "us-east-1",
  });
  locks.push(lock);
  if (options.table !== false) await lock.ensureTable();
  return { sim, clock, lock };
}

function record(token: string, expiresAt: number, installation = "payments"): LockRecord {
  return {
    installation,
    token,
    expiresAt,
    holder: { host: "ci-7", pid: 4242, command: "apply", startedAt: T0 },
  };
}

describe("DynamoDbLock", () => {
  it("controllers creating the table at the same moment all go on with it (one create wins, the rest find it)", async () => {
    const { sim } = await setup({ table: false });
    const others = Array.from({ length: 6 }, () => {
      const lock = new DynamoDbLock({
        client: createLockClient({
          region: "us-east-1",
          endpoint: sim.endpoint,
          credentials: { accessKeyId: "AKIDSIM", secretAccessKey: "sim" },
        }),
        table: "leaven-locks",
        region: "us-east-1",
      });
      locks.push(lock);
      return lock;
    });
    // Each looks (DescribeTable: not found) before any creates: every create but one meets the table.
    await Promise.all(others.map((lock) => lock.ensureTable()));
    expect(await others[5]!.tryAcquire(record("a", T0 + 90_000), T0)).toEqual({ acquired: true });
  });

  it("takes a free lock, refuses a held one naming its holder, and is taken over once expired", async () => {
    const { lock, sim } = await setup();
    expect(await lock.tryAcquire(record("a", T0 + 90_000), T0)).toEqual({ acquired: true });
    expect(await lock.tryAcquire(record("b", T0 + 91_000), T0 + 1_000)).toEqual({
      acquired: false,
      current: record("a", T0 + 90_000),
    });
    // Another installation's lock is another item.
    expect(await lock.tryAcquire(record("c", T0 + 90_000, "web"), T0)).toEqual({ acquired: true });
    // Past the expiry, anyone may take it; the old holder's renewal and release then fail.
    expect(await lock.tryAcquire(record("b", T0 + 200_000), T0 + 90_001)).toEqual({ acquired: true });
    expect(await lock.renew("payments", "a", T0 + 300_000, T0 + 90_002)).toBe(false);
    expect(await lock.release("payments", "a")).toBe(false);
    expect((await lock.read("payments"))?.token).toBe("b");
    const item = sim.world.dynamoTables.get("123456789012/us-east-1/leaven-locks")?.items[
      `S:${lockId("payments")}`
    ];
    expect(item).toMatchObject({
      LockID: { S: "leaven:installation/payments" },
      Installation: { S: "payments" },
      Host: { S: "ci-7" },
      Pid: { N: "4242" },
      Command: { S: "apply" },
      StartedAt: { S: "2026-06-01T12:00:00.000Z" },
      ExpiresAt: { N: String(T0 + 200_000) },
    });
  });

  it("renews and releases only its own lock", async () => {
    const { lock } = await setup();
    await lock.tryAcquire(record("a", T0 + 90_000), T0);
    expect(await lock.renew("payments", "a", T0 + 120_000, T0 + 30_000)).toBe(true);
    expect((await lock.read("payments"))?.expiresAt).toBe(T0 + 120_000);
    expect(await lock.renew("payments", "x", T0 + 999_000, T0 + 30_000)).toBe(false);
    expect(await lock.release("payments", "x")).toBe(false);
    expect(await lock.release("payments", "a")).toBe(true);
    expect(await lock.read("payments")).toBeUndefined();
    // Nothing to renew: a renewal never recreates a released lock.
    expect(await lock.renew("payments", "a", T0 + 120_000, T0 + 31_000)).toBe(false);
    expect(await lock.read("payments")).toBeUndefined();
  });

  it("counts an acquisition whose answer was lost as acquired (its retry finds its own token)", async () => {
    const { lock, sim } = await setup();
    sim.setFaults({ lostResponses: { PutItem: 1 } });
    expect(await lock.tryAcquire(record("a", T0 + 90_000), T0)).toEqual({ acquired: true });
    expect(sim.stats().byAction.PutItem).toBe(2);
    expect(sim.stats().errors).toMatchObject({ ConditionalCheckFailedException: 1 });
    // A lost answer of a renewal or a release is as harmless.
    sim.setFaults({ lostResponses: { UpdateItem: 1, DeleteItem: 1 } });
    expect(await lock.renew("payments", "a", T0 + 120_000, T0 + 30_000)).toBe(true);
    expect(await lock.release("payments", "a")).toBe(false);
    expect(await lock.read("payments")).toBeUndefined();
  });

  it("says how to create the table when it does not exist", async () => {
    const { lock } = await setup({ table: false });
    const error = await lock.tryAcquire(record("a", T0 + 90_000), T0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockStoreError);
    expect((error as Error).message).toContain(
      "the lock table leaven-locks does not exist in us-east-1; create it (partition key LockID, a string): aws dynamodb create-table --region us-east-1 --table-name leaven-locks",
    );
  });

  it("leaves an item that is not a Leaven lock alone, and says so", async () => {
    const { lock, sim } = await setup();
    const table = sim.world.dynamoTables.get("123456789012/us-east-1/leaven-locks")!;
    table.items[`S:${lockId("payments")}`] = { LockID: { S: lockId("payments") }, Info: { S: "someone's" } };
    // No ExpiresAt: the condition's "expired" branch never holds for it.
    expect(await lock.tryAcquire(record("a", T0 + 90_000), T0 + 10 ** 9)).toEqual({ acquired: false });
  });
});
