// The in-process Kubernetes API server, exercised with the client the operator uses
// (@kubernetes/client-node: typed APIs, Watch, makeInformer) and with the genuine kubectl.
import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type Informer,
  KubeConfig,
  type KubernetesObject,
  loadYaml,
  makeInformer,
  type ObjectCache,
  PatchStrategy,
  setHeaderOptions,
  type V1CustomResourceDefinition,
  Watch,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type KubeApiServer,
  type KubeObject,
  kubeconfigYaml,
  startKubeApiServer,
} from "./kube-api-server/index.ts";
import { kubeTools } from "./kube-tools.ts";
import { tempDir } from "./temp-dir.ts";

const repo = fileURLToPath(new URL("../..", import.meta.url));
// loadYaml gives the typed object the typed API serializes: a plain parse would lose `enum` (the model's
// attribute is `_enum`), and with it the schema's enums.
const crd = loadYaml<V1CustomResourceDefinition>(readFileSync(join(repo, "crds/imagespec.yaml"), "utf8"));
const GROUP = "leaven.dev";
const VERSION = "v1alpha1";
const PLURAL = "imagespecs";
const IMAGESPECS = `/apis/${GROUP}/${VERSION}/namespaces/default/${PLURAL}`;

function imageSpec(name: string, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: "ImageSpec",
    metadata: { name },
    spec: {
      layer: "foundation",
      source: { owners: ["099720109477"], name: "ubuntu/images/*" },
      regions: ["us-east-1"],
      channels: { candidate: { latest: true } },
    },
    ...extra,
  };
}

/** The Status of a failed client-node call (ApiException carries code and the body as text). */
function statusOf(error: unknown): {
  code: number;
  reason?: string;
  message?: string;
  details?: { causes?: { field: string; reason: string }[] };
} {
  const e = error as { code?: number; body?: unknown };
  const body =
    typeof e.body === "string"
      ? (JSON.parse(e.body) as Record<string, unknown>)
      : (e.body as Record<string, unknown>);
  return { code: e.code ?? 0, ...body };
}

async function failure(promise: Promise<unknown>): Promise<ReturnType<typeof statusOf>> {
  try {
    await promise;
  } catch (error) {
    return statusOf(error);
  }
  throw new Error("expected the call to fail");
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Clients {
  kc: KubeConfig;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  leases: CoordinationV1Api;
  events: EventsV1Api;
  crds: ApiextensionsV1Api;
}

function clientsFor(server: KubeApiServer): Clients {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml(server.url));
  return {
    kc,
    custom: kc.makeApiClient(CustomObjectsApi),
    core: kc.makeApiClient(CoreV1Api),
    leases: kc.makeApiClient(CoordinationV1Api),
    events: kc.makeApiClient(EventsV1Api),
    crds: kc.makeApiClient(ApiextensionsV1Api),
  };
}

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const strategicPatch = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);

let server: KubeApiServer;
let api: Clients;
type CachingInformer = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
const informers: CachingInformer[] = [];

async function startWithCrd(options: Parameters<typeof startKubeApiServer>[0] = {}): Promise<void> {
  server = await startKubeApiServer(options);
  api = clientsFor(server);
  await api.crds.createCustomResourceDefinition({ body: crd });
}

function create(name: string, extra: Partial<KubeObject> = {}): Promise<KubeObject> {
  return api.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: "default",
    plural: PLURAL,
    body: imageSpec(name, extra),
  }) as Promise<KubeObject>;
}

function get(name: string): Promise<KubeObject> {
  return api.custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: "default",
    plural: PLURAL,
    name,
  }) as Promise<KubeObject>;
}

function informer(): CachingInformer {
  const inf = makeInformer(api.kc, IMAGESPECS, () =>
    api.custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: "default",
      plural: PLURAL,
    }),
  );
  informers.push(inf);
  return inf;
}

afterEach(async () => {
  for (const inf of informers.splice(0)) await inf.stop();
  await server?.close();
});

describe("kube-api-server with @kubernetes/client-node", () => {
  beforeEach(() => startWithCrd());

  it("serves ImageSpecs once their CRD is created, and the CRD is established", async () => {
    const established = await api.crds.readCustomResourceDefinition({ name: "imagespecs.leaven.dev" });
    expect(established.status?.conditions?.find((c) => c.type === "Established")?.status).toBe("True");
    const discovery = (await (await fetch(`${server.url}/apis/${GROUP}/${VERSION}`)).json()) as {
      resources: { name: string; shortNames?: string[] }[];
    };
    expect(discovery.resources.map((r) => r.name)).toEqual(["imagespecs", "imagespecs/status"]);
    expect(discovery.resources[0]!.shortNames).toEqual(["ims"]);

    const created = await create("ubuntu-jammy");
    expect(created.metadata.generation).toBe(1);
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    // Defaults from the schema are filled in, as the real server does.
    expect((created.spec as { publish?: unknown }).publish).toBeUndefined();
    const list = (await api.custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: "default",
      plural: PLURAL,
    })) as {
      items: KubeObject[];
      metadata: { resourceVersion: string };
    };
    expect(list.items.map((i) => i.metadata.name)).toEqual(["ubuntu-jammy"]);
    expect(Number(list.metadata.resourceVersion)).toBeGreaterThanOrEqual(
      Number(created.metadata.resourceVersion),
    );
  });

  it("rejects an ImageSpec its schema refuses with a 422 Invalid Status whose causes name the fields", async () => {
    const bad = imageSpec("bad");
    bad.spec = { layer: "middle", version: "1.0", bake: { rootVolume: { size: 0 } } };
    const status = await failure(create("bad", { spec: bad.spec }));
    expect(status.code).toBe(422);
    expect(status.reason).toBe("Invalid");
    expect(status.message).toMatch(/^ImageSpec\.leaven\.dev "bad" is invalid: \[/);
    const causes = status.details?.causes?.map((c) => `${c.field} ${c.reason}`).sort();
    expect(causes).toEqual([
      "spec.bake.rootVolume.size FieldValueInvalid",
      "spec.layer FieldValueNotSupported",
      "spec.regions FieldValueRequired",
      "spec.version FieldValueInvalid",
    ]);
    // Unknown fields are pruned (with a warning), or refused under fieldValidation=Strict.
    const pruned = await create("pruned", { spec: { ...(imageSpec("x").spec as object), colour: "blue" } });
    expect((pruned.spec as Record<string, unknown>).colour).toBeUndefined();
    const strict = await failure(
      api.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: "default",
        plural: PLURAL,
        fieldValidation: "Strict",
        body: imageSpec("strict", { spec: { ...(imageSpec("x").spec as object), colour: "blue" } }),
      }),
    );
    expect(strict.code).toBe(400);
    expect(strict.message).toContain('unknown field "spec.colour"');
  });

  it("feeds an informer ADDED, MODIFIED and DELETED", async () => {
    const seen: string[] = [];
    const inf = informer();
    inf.on("add", (o) => seen.push(`add ${o.metadata?.name}`));
    inf.on("update", (o) => seen.push(`update ${o.metadata?.name}`));
    inf.on("delete", (o) => seen.push(`delete ${o.metadata?.name}`));
    await create("before");
    await inf.start();
    await waitFor("the initial list", () => seen.includes("add before"));
    await create("after");
    await waitFor("the watch's ADDED", () => seen.includes("add after"));
    await api.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: "default",
        plural: PLURAL,
        name: "after",
        body: { metadata: { labels: { team: "a" } } },
      },
      mergePatch,
    );
    await waitFor("the watch's MODIFIED", () => seen.includes("update after"));
    await api.custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: "default",
      plural: PLURAL,
      name: "before",
    });
    await waitFor("the watch's DELETED", () => seen.includes("delete before"));
    expect(inf.list("default").map((o) => o.metadata?.name)).toEqual(["after"]);
  });

  it("answers a watch from a compacted resourceVersion with 410 Expired, and the informer relists", async () => {
    const inf = informer();
    const names = (): string[] =>
      inf
        .list("default")
        .map((o) => o.metadata?.name ?? "")
        .sort();
    await create("one");
    await inf.start();
    await waitFor("the initial list", () => names().includes("one"));
    await waitFor("the watch", () => server.watches.openCount === 1);
    const lists = (): number =>
      server.requests.filter(
        (r) => r.method === "GET" && r.path.startsWith(IMAGESPECS) && !r.path.includes("watch="),
      ).length;
    const listsBefore = lists();
    // While the informer is between watches, changes happen and the history is compacted (all in this
    // tick, before its re-watch can arrive): it re-watches from a forgotten resourceVersion.
    server.dropWatches();
    const type = server.resource(`${GROUP}/${VERSION}`, PLURAL);
    server.operations.create(type, "default", imageSpec("two"), {});
    server.operations.delete(type, "default", "one", undefined, false);
    server.compactHistory();
    await waitFor("the relist", () => names().join() === "two");
    expect(lists()).toBe(listsBefore + 1);

    // The raw protocol: an ERROR event carrying the Status, then the end of the stream.
    const events: { type: string; object: { code?: number; reason?: string } }[] = [];
    let ended = false;
    await new Watch(api.kc).watch(
      IMAGESPECS,
      { resourceVersion: "1" },
      (type, object) => events.push({ type, object }),
      () => {
        ended = true;
      },
    );
    await waitFor("the stream's end", () => ended);
    expect(events).toMatchObject([{ type: "ERROR", object: { code: 410, reason: "Expired" } }]);
    // A list at an exact, forgotten resourceVersion is 410 too.
    const response = await fetch(`${server.url}${IMAGESPECS}?resourceVersion=1&resourceVersionMatch=Exact`);
    expect(response.status).toBe(410);
    expect(((await response.json()) as { reason: string }).reason).toBe("Expired");
  });

  it("keeps a bounded history: the oldest resourceVersions expire once historyLimit events are newer", async () => {
    await server.close();
    await startWithCrd({ historyLimit: 3 });
    const first = await create("a");
    for (const name of ["b", "c", "d", "e"]) await create(name);
    const response = await fetch(
      `${server.url}${IMAGESPECS}?watch=true&resourceVersion=${first.metadata.resourceVersion}`,
    );
    const line = JSON.parse((await response.text()).trim()) as { type: string; object: { code: number } };
    expect(line).toMatchObject({ type: "ERROR", object: { code: 410 } });
  });

  it("sends bookmarks every bookmarkIntervalMs, and none to watches that do not allow them", async () => {
    await server.close();
    await startWithCrd({ bookmarkIntervalMs: 50 });
    const marked: string[] = [];
    const plain: string[] = [];
    await new Watch(api.kc).watch(
      IMAGESPECS,
      { allowWatchBookmarks: true },
      (type) => marked.push(type),
      () => {},
    );
    await new Watch(api.kc).watch(
      IMAGESPECS,
      {},
      (type) => plain.push(type),
      () => {},
    );
    await waitFor("two bookmarks", () => marked.filter((t) => t === "BOOKMARK").length >= 2, 2000);
    expect(plain).toEqual([]);
    server.dropWatches();
  });

  it("applies server-side: creates, merges into what others wrote, and drops what its manager stopped applying", async () => {
    const apply = (body: object, manager = "leaven"): Promise<Response> =>
      fetch(`${server.url}${IMAGESPECS}/ssa?fieldManager=${manager}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/apply-patch+yaml" },
        body: JSON.stringify(body),
      });
    const first = imageSpec("ssa", { metadata: { name: "ssa", labels: { owner: "leaven", tier: "1" } } });
    expect((await apply(first)).status).toBe(201);
    await api.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: "default",
        plural: PLURAL,
        name: "ssa",
        body: { metadata: { labels: { other: "x" } } },
      },
      mergePatch,
    );
    const second = imageSpec("ssa", { metadata: { name: "ssa", labels: { owner: "leaven" } } });
    const response = await apply(second);
    expect(response.status).toBe(200);
    const applied = (await response.json()) as KubeObject;
    expect(applied.metadata.labels).toEqual({ owner: "leaven", other: "x" });
    const noManager = await fetch(`${server.url}${IMAGESPECS}/ssa`, {
      method: "PATCH",
      headers: { "Content-Type": "application/apply-patch+yaml" },
      body: "{}",
    });
    expect(noManager.status).toBe(400);
  });

  it("sends bookmarks to watches that allow them, and ends a watch after timeoutSeconds", async () => {
    const created = await create("marked");
    const events: { type: string; rv: string | undefined }[] = [];
    let ended = false;
    const started = Date.now();
    await new Watch(api.kc).watch(
      IMAGESPECS,
      { resourceVersion: created.metadata.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 1 },
      (type, object: KubeObject) => events.push({ type, rv: object.metadata?.resourceVersion }),
      () => {
        ended = true;
      },
    );
    await waitFor("the watch", () => server.watches.openCount === 1);
    await create("later");
    server.sendBookmarks();
    await waitFor("the bookmark", () => events.some((e) => e.type === "BOOKMARK"));
    expect(events.map((e) => e.type)).toEqual(["ADDED", "BOOKMARK"]);
    expect(events[1]!.rv).toBe(String(server.store.resourceVersion));
    await waitFor("the timeout", () => ended, 3000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("selects by label and by metadata.name, and a watch sees an object leave its selector as DELETED", async () => {
    await create("red", { metadata: { name: "red", labels: { colour: "red" } } });
    await create("blue", { metadata: { name: "blue", labels: { colour: "blue" } } });
    const byLabel = (await api.custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: "default",
      plural: PLURAL,
      labelSelector: "colour=red",
    })) as { items: KubeObject[] };
    expect(byLabel.items.map((i) => i.metadata.name)).toEqual(["red"]);
    const byName = (await api.custom.listClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      fieldSelector: "metadata.name=blue",
    })) as {
      items: KubeObject[];
    };
    expect(byName.items.map((i) => i.metadata.name)).toEqual(["blue"]);
    const unsupported = await fetch(`${server.url}${IMAGESPECS}?fieldSelector=spec.layer%3Dapp`);
    expect(unsupported.status).toBe(400);

    const events: string[] = [];
    await new Watch(api.kc).watch(
      IMAGESPECS,
      { labelSelector: "colour=red" },
      (type, o: KubeObject) => events.push(`${type} ${o.metadata.name}`),
      () => {},
    );
    await waitFor("the initial ADDED", () => events.length === 1);
    await api.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: "default",
        plural: PLURAL,
        name: "red",
        body: { metadata: { labels: { colour: "green" } } },
      },
      mergePatch,
    );
    await waitFor("the DELETED", () => events.length === 2);
    expect(events).toEqual(["ADDED red", "DELETED red"]);
    server.dropWatches();
  });

  it("keeps status out of main writes and spec out of status writes; generation follows the spec only", async () => {
    const created = await create("st", { status: { phase: "Ready" } });
    expect(created.status).toBeUndefined();
    const withStatus = (await api.custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace: "default",
      plural: PLURAL,
      name: "st",
      body: {
        ...created,
        spec: { ...(created.spec as object), regions: ["eu-west-1"] },
        status: { phase: "Baking" },
      },
    })) as KubeObject;
    expect(withStatus.status).toEqual({ phase: "Baking" });
    expect((withStatus.spec as { regions: string[] }).regions).toEqual(["us-east-1"]);
    expect(withStatus.metadata.generation).toBe(1);

    const labelled = (await api.custom.replaceNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: "default",
      plural: PLURAL,
      name: "st",
      body: {
        ...withStatus,
        metadata: { ...withStatus.metadata, labels: { a: "b" } },
        status: { phase: "Failed" },
      },
    })) as KubeObject;
    expect(labelled.status).toEqual({ phase: "Baking" });
    expect(labelled.metadata.generation).toBe(1);

    const respecced = (await api.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: "default",
        plural: PLURAL,
        name: "st",
        body: { spec: { regions: ["eu-west-1"] } },
      },
      mergePatch,
    )) as KubeObject;
    expect(respecced.metadata.generation).toBe(2);

    const patchedStatus = (await api.custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        namespace: "default",
        plural: PLURAL,
        name: "st",
        body: { spec: { layer: "app" }, status: { observedGeneration: 2 } },
      },
      mergePatch,
    )) as KubeObject;
    expect(patchedStatus.status).toEqual({ phase: "Baking", observedGeneration: 2 });
    expect((patchedStatus.spec as { layer: string }).layer).toBe("foundation");
    expect(patchedStatus.metadata.generation).toBe(2);
    // A status write that the schema refuses is 422 too.
    const bad = await failure(
      api.custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace: "default",
          plural: PLURAL,
          name: "st",
          body: { status: { observedGeneration: "two" } },
        },
        mergePatch,
      ),
    );
    expect(bad.details?.causes?.[0]).toMatchObject({
      field: "status.observedGeneration",
      reason: "FieldValueTypeInvalid",
    });
    // A write that changes nothing does not advance the resourceVersion.
    const before = server.store.resourceVersion;
    await api.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: "default",
        plural: PLURAL,
        name: "st",
        body: { spec: { regions: ["eu-west-1"] } },
      },
      mergePatch,
    );
    expect(server.store.resourceVersion).toBe(before);
  });

  it("applies merge and JSON patches, and refuses strategic merge on custom resources with 415", async () => {
    await create("p");
    const merged = (await api.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: "default",
        plural: PLURAL,
        name: "p",
        body: { spec: { channels: { release: { build: "x" }, candidate: null } } },
      },
      mergePatch,
    )) as { spec: { channels: unknown } };
    expect(merged.spec.channels).toEqual({ release: { build: "x" } });
    const patched = (await api.custom.patchNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: "default",
      plural: PLURAL,
      name: "p",
      body: [
        { op: "test", path: "/spec/channels/release/build", value: "x" },
        { op: "replace", path: "/spec/channels/release/build", value: "y" },
        { op: "add", path: "/spec/regions/-", value: "eu-west-1" },
      ],
    })) as { spec: { channels: { release: { build: string } }; regions: string[] } };
    expect(patched.spec.channels.release.build).toBe("y");
    expect(patched.spec.regions).toEqual(["us-east-1", "eu-west-1"]);
    const failedTest = await failure(
      api.custom.patchNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: "default",
        plural: PLURAL,
        name: "p",
        body: [{ op: "test", path: "/spec/layer", value: "app" }],
      }),
    );
    expect(failedTest.code).toBe(422);
    const strategic = await failure(
      api.custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: "default",
          plural: PLURAL,
          name: "p",
          body: { spec: {} },
        },
        strategicPatch,
      ),
    );
    expect(strategic).toMatchObject({ code: 415, reason: "UnsupportedMediaType" });
    // A patch carrying a stale resourceVersion is a precondition, refused with 409.
    const stale = await failure(
      api.custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: "default",
          plural: PLURAL,
          name: "p",
          body: { metadata: { resourceVersion: "1" }, spec: { layer: "base" } },
        },
        mergePatch,
      ),
    );
    expect(stale).toMatchObject({ code: 409, reason: "Conflict" });
  });

  it("refuses a stale update with 409 Conflict and a second create with 409 AlreadyExists", async () => {
    const created = await create("c");
    await api.custom.replaceNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: "default",
      plural: PLURAL,
      name: "c",
      body: { ...created, metadata: { ...created.metadata, labels: { v: "2" } } },
    });
    const stale = await failure(
      api.custom.replaceNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: "default",
        plural: PLURAL,
        name: "c",
        body: created,
      }),
    );
    expect(stale).toMatchObject({ code: 409, reason: "Conflict" });
    expect(stale.message).toBe(
      'Operation cannot be fulfilled on imagespecs.leaven.dev "c": the object has been modified; please apply your changes to the latest version and try again',
    );
    const again = await failure(create("c"));
    expect(again).toMatchObject({ code: 409, reason: "AlreadyExists" });
    const { resourceVersion: _, ...noVersion } = created.metadata;
    const unconditional = await failure(
      api.custom.replaceNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: "default",
        plural: PLURAL,
        name: "c",
        body: { ...created, metadata: noVersion },
      }),
    );
    expect(unconditional).toMatchObject({ code: 422 });
    const missingNamespace = await failure(
      api.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: "nowhere",
        plural: PLURAL,
        body: imageSpec("n"),
      }),
    );
    expect(missingNamespace).toMatchObject({ code: 404, message: 'namespaces "nowhere" not found' });
  });

  it("keeps a deleted object with finalizers, marked with deletionTimestamp, until they are removed", async () => {
    const events: string[] = [];
    await create("f", { metadata: { name: "f", finalizers: ["leaven.dev/images"] } });
    await new Watch(api.kc).watch(
      IMAGESPECS,
      {},
      (type, o: KubeObject) => events.push(`${type} ${o.metadata.name}`),
      () => {},
    );
    await waitFor("the watch", () => events.length === 1);
    await api.custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: "default",
      plural: PLURAL,
      name: "f",
    });
    const deleting = await get("f");
    expect(deleting.metadata.deletionTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(deleting.metadata.deletionGracePeriodSeconds).toBe(0);
    expect(deleting.metadata.generation).toBe(2);
    const added = await failure(
      api.custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: "default",
          plural: PLURAL,
          name: "f",
          body: { metadata: { finalizers: ["leaven.dev/images", "other"] } },
        },
        mergePatch,
      ),
    );
    expect(added.details?.causes?.[0]).toMatchObject({
      field: "metadata.finalizers",
      reason: "FieldValueForbidden",
    });
    await api.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: "default",
        plural: PLURAL,
        name: "f",
        body: { metadata: { finalizers: null } },
      },
      mergePatch,
    );
    expect((await failure(get("f"))).code).toBe(404);
    await waitFor("the DELETED", () => events.includes("DELETED f"));
    expect(events).toEqual(["ADDED f", "MODIFIED f", "DELETED f"]);
    server.dropWatches();
  });

  it("keeps Leases with optimistic concurrency, for leader election", async () => {
    const lease = await api.leases.createNamespacedLease({
      namespace: "default",
      body: {
        metadata: { name: "leaven-operator" },
        spec: {
          holderIdentity: "pod-a",
          leaseDurationSeconds: 15,
          acquireTime: new Date(),
          renewTime: new Date(),
        },
      },
    });
    expect(lease.spec?.holderIdentity).toBe("pod-a");
    const renewed = await api.leases.replaceNamespacedLease({
      name: "leaven-operator",
      namespace: "default",
      body: { ...lease, spec: { ...lease.spec, renewTime: new Date(Date.now() + 1000) } },
    });
    expect(Number(renewed.metadata?.resourceVersion)).toBeGreaterThan(
      Number(lease.metadata?.resourceVersion),
    );
    // pod-b read the lease before pod-a renewed it: its takeover is refused.
    const takeover = await failure(
      api.leases.replaceNamespacedLease({
        name: "leaven-operator",
        namespace: "default",
        body: { ...lease, spec: { ...lease.spec, holderIdentity: "pod-b" } },
      }),
    );
    expect(takeover).toMatchObject({ code: 409, reason: "Conflict" });
    const invalidLease = await failure(
      api.leases.createNamespacedLease({
        namespace: "default",
        body: { metadata: { name: "bad" }, spec: { leaseDurationSeconds: 0 } },
      }),
    );
    expect(invalidLease.details?.causes?.[0]?.field).toBe("spec.leaseDurationSeconds");
    const merged = await api.leases.patchNamespacedLease(
      { name: "leaven-operator", namespace: "default", body: { spec: { holderIdentity: "pod-c" } } },
      strategicPatch,
    );
    expect(merged.spec?.holderIdentity).toBe("pod-c");
  });

  it("stores v1 and events.k8s.io/v1 Events in one place, each API showing its own fields", async () => {
    const now = new Date();
    await api.core.createNamespacedEvent({
      namespace: "default",
      body: {
        metadata: { name: "core-event" },
        involvedObject: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: "ImageSpec",
          name: "x",
          namespace: "default",
        },
        reason: "Baking",
        message: "baking 1.0.0",
        type: "Normal",
        source: { component: "leaven" },
      },
    });
    await api.events.createNamespacedEvent({
      namespace: "default",
      body: {
        metadata: { name: "new-event" },
        eventTime: now,
        regarding: { apiVersion: `${GROUP}/${VERSION}`, kind: "ImageSpec", name: "x", namespace: "default" },
        reason: "Baked",
        note: "baked 1.0.0",
        type: "Normal",
        action: "Bake",
        reportingController: "leaven.dev/operator",
        reportingInstance: "pod-a",
      },
    });
    const core = await api.core.listNamespacedEvent({
      namespace: "default",
      fieldSelector: "involvedObject.name=x",
    });
    expect(core.items.map((e) => `${e.metadata.name}: ${e.message}`).sort()).toEqual([
      "core-event: baking 1.0.0",
      "new-event: baked 1.0.0",
    ]);
    const modern = await api.events.listNamespacedEvent({ namespace: "default" });
    expect(modern.items.find((e) => e.metadata?.name === "new-event")?.regarding?.name).toBe("x");
    const incomplete = await failure(
      api.events.createNamespacedEvent({
        namespace: "default",
        body: { metadata: { name: "bad" }, eventTime: now, reason: "X", type: "Normal" },
      }),
    );
    expect(incomplete.code).toBe(422);
    expect(incomplete.details?.causes?.map((c) => c.field).sort()).toEqual([
      "action",
      "reportingController",
      "reportingInstance",
    ]);
  });

  it("answers a Table with the CRD's printer columns when asked for as=Table", async () => {
    await create("t");
    const response = await fetch(`${server.url}${IMAGESPECS}`, {
      headers: { Accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" },
    });
    const table = (await response.json()) as {
      kind: string;
      columnDefinitions: { name: string }[];
      rows: { cells: unknown[] }[];
    };
    expect(table.kind).toBe("Table");
    expect(table.columnDefinitions.map((c) => c.name)).toEqual([
      "Name",
      "Layer",
      "Version",
      "Candidate",
      "Release",
      "Ready",
      "Age",
    ]);
    expect(table.rows[0]!.cells.slice(0, 3)).toEqual(["t", "foundation", null]);
  });

  it("stops serving ImageSpecs when their CRD is deleted: they are deleted and their watches end", async () => {
    await create("doomed");
    const events: string[] = [];
    let ended = false;
    await new Watch(api.kc).watch(
      IMAGESPECS,
      {},
      (type) => events.push(type),
      () => {
        ended = true;
      },
    );
    await waitFor("the watch", () => events.length === 1);
    await api.crds.deleteCustomResourceDefinition({ name: "imagespecs.leaven.dev" });
    await waitFor("the watch's end", () => ended);
    expect((await fetch(`${server.url}${IMAGESPECS}`)).status).toBe(404);
    expect(server.store.list("leaven.dev/imagespecs")).toEqual([]);
    const groups = (await (await fetch(`${server.url}/apis`)).json()) as { groups: { name: string }[] };
    expect(groups.groups.map((g) => g.name)).not.toContain(GROUP);
  });

  it("names map keys and list indexes in field paths as the real server does", async () => {
    const spec = {
      ...(imageSpec("x").spec as object),
      regions: ["us-east-1", 7],
      share: { kmsKeys: { "eu-west-1": "not-an-arn" } },
    };
    const status = await failure(create("paths", { spec }));
    expect(status.details?.causes?.map((c) => c.field).sort()).toEqual([
      "spec.regions[1]",
      "spec.share.kmsKeys[eu-west-1]",
    ]);
  });

  it("has the namespaces default and kube-system, and empties a namespace it deletes", async () => {
    const namespaces = await api.core.listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(
      expect.arrayContaining(["default", "kube-system"]),
    );
    await api.core.createNamespace({ body: { metadata: { name: "team-a" } } });
    await api.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: "team-a",
      plural: PLURAL,
      body: imageSpec("inside"),
    });
    await api.core.deleteNamespace({ name: "team-a" });
    expect((await failure(api.core.readNamespace({ name: "team-a" }))).code).toBe(404);
    expect(server.store.list("leaven.dev/imagespecs", "team-a")).toEqual([]);
  });
});

const found = kubeTools();
const kubectlReason = "unavailable" in found ? found.unavailable : "";
if (kubectlReason) console.warn(`kube-api-server.test.ts: kubectl tests skipped: ${kubectlReason}`);

describe.skipIf(kubectlReason !== "")(
  `kube-api-server with the real kubectl${kubectlReason ? ` (skipped: ${kubectlReason})` : ""}`,
  () => {
    const run = promisify(execFile);
    let kubeconfig: string;
    let cacheDir: string;

    /** Runs kubectl asynchronously: the server answers from this process's event loop. */
    async function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      if (!("tools" in found)) throw new Error(kubectlReason);
      try {
        const { stdout, stderr } = await run(
          found.tools.kubectl,
          ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, ...args],
          {
            cwd: repo,
            env: { PATH: process.env.PATH ?? "", HOME: cacheDir },
          },
        );
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code?: number; stdout?: string; stderr?: string };
        return {
          code: typeof e.code === "number" ? e.code : 1,
          stdout: e.stdout ?? "",
          stderr: e.stderr ?? "",
        };
      }
    }

    beforeEach(async () => {
      server = await startKubeApiServer();
      const dir = tempDir("leaven-kubectl-");
      kubeconfig = server.writeKubeconfig(join(dir, "kubeconfig"));
      cacheDir = join(dir, "cache");
    });

    it("applies the CRD and the examples, gets them with their printer columns, patches a channel and waits for Ready", async () => {
      const crdApply = await kubectl("apply", "-f", join(repo, "crds/"));
      expect(crdApply).toMatchObject({
        code: 0,
        stdout: "customresourcedefinition.apiextensions.k8s.io/imagespecs.leaven.dev created\n",
      });
      // examples/ keeps its specs in subfolders too (apps/, bases/): -R takes them all.
      const examples = await kubectl("apply", "-R", "-f", join(repo, "examples/"));
      expect(examples.stderr).toBe("");
      expect(examples.code).toBe(0);
      expect(examples.stdout).toContain("imagespec.leaven.dev/ubuntu-jammy created");
      expect(examples.stdout).toContain("imagespec.leaven.dev/api-server created");
      // kubectl left validation to the server (it found fieldValidation in the OpenAPI v3 document).
      expect(
        server.requests.some((r) => r.method === "POST" && r.path.includes("fieldValidation=Strict")),
      ).toBe(true);
      const again = await kubectl("apply", "-R", "-f", join(repo, "examples/"));
      expect(again.stdout).toContain("imagespec.leaven.dev/ubuntu-jammy unchanged");

      const table = await kubectl("get", "imagespecs");
      expect(table.code).toBe(0);
      const [header, ...rows] = table.stdout.trim().split("\n");
      expect(header!.split(/\s+/)).toEqual([
        "NAME",
        "LAYER",
        "VERSION",
        "CANDIDATE",
        "RELEASE",
        "READY",
        "AGE",
      ]);
      expect(
        rows
          .find((r) => r.startsWith("ubuntu-base "))
          ?.split(/\s+/)
          .slice(0, 3),
      ).toEqual(["ubuntu-base", "base", "2.3.0"]);

      const patched = await kubectl(
        "patch",
        "imagespec",
        "api-server",
        "--type",
        "merge",
        "-p",
        '{"spec":{"channels":{"release":{"version":null,"build":"1.14.2+0123abcd"}}}}',
      );
      expect(patched).toMatchObject({ code: 0, stdout: "imagespec.leaven.dev/api-server patched\n" });
      const type = server.resource(`${GROUP}/${VERSION}`, PLURAL);
      const apiServer = server.operations.get(type, "default", "api-server");
      expect((apiServer.spec as { channels: { release: unknown } }).channels.release).toEqual({
        build: "1.14.2+0123abcd",
        parentIn: "release",
      });
      expect(apiServer.metadata.generation).toBe(2);

      const waiting = kubectl("wait", "--for=condition=Ready", "imagespec/api-server", "--timeout=10s");
      await waitFor("kubectl's watch", () => server.watches.openCount > 0, 8000);
      const current = server.operations.get(type, "default", "api-server");
      server.operations.update(
        type,
        "default",
        "api-server",
        {
          ...current,
          status: {
            observedGeneration: 2,
            conditions: [{ type: "Ready", status: "True", reason: "Converged" }],
          },
        },
        { subresource: "status" },
      );
      expect(await waiting).toMatchObject({
        code: 0,
        stdout: "imagespec.leaven.dev/api-server condition met\n",
      });
      const ready = await kubectl("get", "ims", "api-server", "--no-headers");
      // Columns without a value print empty, as for custom resources on a real server.
      expect(ready.stdout).toMatch(/^api-server\s+app\s+1\.14\.2\s+True\s+\d+s\n$/);
    });

    it("watches with kubectl get -w, in the printer columns, and runs helm", async () => {
      await kubectl("apply", "-f", join(repo, "crds/"));
      if (!("tools" in found)) throw new Error(kubectlReason);
      const watcher = spawn(
        found.tools.kubectl,
        ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, "get", "imagespecs", "-w"],
        {
          env: { PATH: process.env.PATH ?? "", HOME: cacheDir },
        },
      );
      let output = "";
      watcher.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      try {
        await waitFor("kubectl's watch", () => server.watches.openCount > 0, 8000);
        const type = server.resource(`${GROUP}/${VERSION}`, PLURAL);
        server.operations.create(type, "default", imageSpec("watched"), {});
        await waitFor("the watched row", () => /\nwatched\s+foundation\s+\d+s\n/.test(output), 8000);
        expect(output.split("\n")[0]!.split(/\s+/)).toEqual([
          "NAME",
          "LAYER",
          "VERSION",
          "CANDIDATE",
          "RELEASE",
          "READY",
          "AGE",
        ]);
      } finally {
        watcher.kill();
      }
      const helm = await run(found.tools.helm, ["version", "--short"], {
        env: { PATH: process.env.PATH ?? "", HOME: cacheDir },
      });
      expect(helm.stdout).toMatch(/^v\d+\.\d+\.\d+/);
    });

    it("reports the server's verdicts: unknown fields under strict validation, schema violations, server-side apply", async () => {
      await kubectl("apply", "-f", join(repo, "crds/"));
      const dir = tempDir("leaven-kubectl-specs-");
      const file = join(dir, "bad.yaml");
      const { writeFileSync } = await import("node:fs");
      writeFileSync(
        file,
        "apiVersion: leaven.dev/v1alpha1\nkind: ImageSpec\nmetadata:\n  name: bad\nspec:\n  layer: nope\n  regions: [us-east-1]\n  colour: blue\n",
      );
      const strict = await kubectl("apply", "-f", file);
      expect(strict.code).toBe(1);
      expect(strict.stderr).toContain('strict decoding error: unknown field "spec.colour"');
      const lax = await kubectl("apply", "--validate=false", "-f", file);
      expect(lax.code).toBe(1);
      expect(lax.stderr).toContain(
        'spec.layer: Unsupported value: "nope": supported values: "foundation", "base", "app"',
      );

      const serverSide = await kubectl(
        "apply",
        "--server-side",
        "-f",
        join(repo, "examples/foundations.yaml"),
      );
      expect(serverSide).toMatchObject({ code: 0 });
      expect(serverSide.stdout).toContain("imagespec.leaven.dev/al2023 serverside-applied");
      const got = await kubectl("get", "imagespec", "al2023", "-o", "jsonpath={.spec.layer}");
      expect(got.stdout).toBe("foundation");
    });
  },
);
