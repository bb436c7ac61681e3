// Leader election on the in-process API server's Leases, on the wall clock with short timings.
import { CoordinationV1Api, KubeConfig, V1MicroTime } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../controller/cloud/clock.ts";
import { fenceCloud } from "../../controller/lease/fenced-cloud.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { LeaderElection } from "../../controller/operator/leader-election.ts";
import { type KubeApiServer, kubeconfigYaml, startKubeApiServer } from "../support/kube-api-server/index.ts";
import { waitFor } from "./harness.ts";

let server: KubeApiServer;
let api: CoordinationV1Api;
const elections: LeaderElection[] = [];
beforeEach(async () => {
  server = await startKubeApiServer();
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml(server.url));
  api = kc.makeApiClient(CoordinationV1Api);
});
afterEach(async () => {
  for (const e of elections.splice(0)) await e.stop();
  await server.close();
});

function candidate(identity: string, events: string[] = []): LeaderElection {
  const election = new LeaderElection({
    api,
    namespace: "default",
    name: "leaven-operator-default",
    identity,
    clock: systemClock,
    logger: silentLogger,
    leaseDurationMs: 2_000,
    renewDeadlineMs: 1_200,
    retryPeriodMs: 100,
    onStartedLeading: () => events.push(`${identity} started`),
    onStoppedLeading: (why) => events.push(`${identity} stopped: ${why}`),
  });
  elections.push(election);
  election.start();
  return election;
}

describe("LeaderElection", () => {
  it("elects one leader; the other stands by while the Lease is renewed", async () => {
    const a = candidate("a");
    await waitFor("a leads", () => a.isLeader());
    const b = candidate("b");
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    expect(b.problem()).toContain("held by a");
  });

  it("gives up and fences the cloud when someone else takes the Lease", async () => {
    const events: string[] = [];
    const a = candidate("a", events);
    await waitFor("a leads", () => a.isLeader());
    let sent = 0;
    const cloud = fenceCloud({ createTags: async () => void sent++ } as never, () => a.problem());
    // Someone else writes the Lease (a partitioned peer, an admin): a's next renewal sees another holder.
    const lease = await api.readNamespacedLease({ name: "leaven-operator-default", namespace: "default" });
    await api.replaceNamespacedLease({
      name: "leaven-operator-default",
      namespace: "default",
      body: {
        ...lease,
        spec: { ...lease.spec, holderIdentity: "intruder", renewTime: new V1MicroTime(Date.now()) },
      },
    });
    await waitFor("a stops leading", () => !a.isLeader(), 3_000);
    expect(events).toEqual(["a started", "a stopped: the Lease is held by intruder"]);
    await expect((cloud as unknown as { createTags(): Promise<void> }).createTags()).rejects.toThrow(
      /does not hold the Lease default\/leaven-operator-default \(held by intruder\)/,
    );
    expect(sent).toBe(0);
    // Once the intruder's Lease expires, a takes it back.
    await waitFor("a leads again", () => a.isLeader(), 5_000);
    const back = await api.readNamespacedLease({ name: "leaven-operator-default", namespace: "default" });
    expect(back.spec?.holderIdentity).toBe("a");
    expect(back.spec?.leaseTransitions).toBe(1);
  });

  it("counts itself leader only within the renew deadline when the API server is gone", async () => {
    const a = candidate("a");
    await waitFor("a leads", () => a.isLeader());
    await server.close();
    await waitFor("a gives up", () => !a.isLeader(), 3_000);
    expect(a.problem()).toContain("does not hold the Lease");
    // Restarting on the same port is not possible: the afterEach close of a closed server is harmless.
    server = await startKubeApiServer();
  });
});
