// charts/leaven with the genuine helm and kubectl (test/support/kube-tools.ts): `helm lint` (and --strict),
// `helm template` with the default values, a list of namespaces, a ServiceMonitor and an IRSA role; every
// rendered manifest validated against the Kubernetes schemas (kubernetes-models) and for unknown fields
// (a round trip through @kubernetes/client-node's typed models), and the Deployment's
// security context, probes, ports and arguments, and the RBAC's exact rules, asserted. The manifests the
// in-process API server serves (the CRD, and ImageSpecs against it) are applied to it with the real kubectl;
// it serves no Deployments, Services or RBAC, so those are checked against the schemas only.
import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadYaml } from "@kubernetes/client-node";
import { CustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { Service, ServiceAccount } from "kubernetes-models/v1";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { type KubeApiServer, startKubeApiServer } from "../support/kube-api-server/index.ts";
import { kubeTools } from "../support/kube-tools.ts";
import { tempDir } from "../support/temp-dir.ts";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const chart = join(repo, "charts/leaven");
const NAMESPACE = "leaven-system";
const RELEASE = "leaven";
const ROLE_ARN = "arn:aws:iam::111122223333:role/leaven-operator";

// Manifests are JSON-shaped YAML of any structure; the assertions below narrow what they read.
// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are untyped data, checked by the schemas.
type Manifest = Record<string, any>;

/** The schema of each kind the chart renders (kubernetes-models validates against the Kubernetes OpenAPI). */
// Each constructor takes its own kind's interface; `never` lets one table hold them all (the data is checked
// by validate(), not by the compiler).
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/ServiceAccount": ServiceAccount,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "apiextensions.k8s.io/v1/CustomResourceDefinition": CustomResourceDefinition,
};

const WATCH_RULES = [
  {
    apiGroups: ["leaven.dev"],
    resources: ["imagespecs"],
    verbs: ["get", "list", "watch", "update", "patch"],
  },
  { apiGroups: ["leaven.dev"], resources: ["imagespecs/status"], verbs: ["get", "update", "patch"] },
  { apiGroups: ["leaven.dev"], resources: ["imagespecs/finalizers"], verbs: ["update"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
  { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
];
const LEASE_RULES = [
  {
    apiGroups: ["coordination.k8s.io"],
    resources: ["leases"],
    verbs: ["get", "list", "watch", "create", "update", "patch"],
  },
];

const found = kubeTools();
const reason = "unavailable" in found ? found.unavailable : "";
if (reason) console.warn(`helm-chart.test.ts: skipped, helm and kubectl cannot be had: ${reason}`);

function helm(...args: string[]): { code: number; stdout: string; stderr: string } {
  if (!("tools" in found)) throw new Error(reason);
  // HOME and Helm's own folders in a scratch folder: nothing read from or written to the user's Helm setup.
  const home = tempDir("leaven-helm-");
  const result = spawnSync(found.tools.helm, args, {
    cwd: repo,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "",
      HOME: home,
      HELM_CACHE_HOME: join(home, "cache"),
      HELM_CONFIG_HOME: join(home, "config"),
      HELM_DATA_HOME: join(home, "data"),
    },
  });
  return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** `helm template` of the chart with these flags, as objects (empty documents dropped). */
function render(...flags: string[]): Manifest[] {
  const out = helm("template", RELEASE, chart, "--namespace", NAMESPACE, ...flags);
  expect(out.stderr).toBe("");
  expect(out.code).toBe(0);
  return parseAllDocuments(out.stdout)
    .map((doc) => doc.toJSON() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

const byKind = (manifests: Manifest[], kind: string) => manifests.filter((m) => m.kind === kind);
const one = (manifests: Manifest[], kind: string) => {
  const found = byKind(manifests, kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
const sortedRules = (rules: Manifest[]) =>
  rules.map((r) => JSON.stringify({ ...r, verbs: [...r.verbs].sort() })).sort();

const CASES: [name: string, flags: string[]][] = [
  ["default values", []],
  ["namespaces listed", ["--set-json", 'namespaces=["team-a","team-b"]']],
  ["serviceMonitor enabled", ["--set", "serviceMonitor.enabled=true"]],
  ["an IRSA role", ["--set", `serviceAccount.roleArn=${ROLE_ARN}`]],
];

describe.skipIf(reason !== "")(`charts/leaven${reason ? ` (skipped: ${reason})` : ""}`, () => {
  it.each([[[]], [["--strict"]]])("passes helm lint %j", (flags) => {
    const out = helm("lint", chart, ...flags);
    expect(out.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
    expect(out.code).toBe(0);
  });

  it.each(CASES)("passes helm lint --strict with %s", (_name, flags) => {
    const out = helm("lint", chart, "--strict", ...flags);
    expect(out.stdout).toContain("0 chart(s) failed");
    expect(out.code).toBe(0);
  });

  it.each(CASES)("renders with %s manifests valid against the Kubernetes schemas", (_name, flags) => {
    const manifests = render("--include-crds", ...flags);
    expect(manifests.length).toBeGreaterThan(5);
    for (const manifest of manifests) {
      const key = `${manifest.apiVersion}/${manifest.kind}`;
      if (key === "monitoring.coreos.com/v1/ServiceMonitor") continue; // checked on its own below
      const Model = MODELS[key];
      expect(Model, `a schema for ${key}`).toBeDefined();
      expect(
        () => new Model!(manifest as never).validate(),
        `${key} ${manifest.metadata?.name}`,
      ).not.toThrow();
    }
  });

  it.each(CASES)("renders with %s no field the Kubernetes API does not know", (_name, flags) => {
    // kubernetes-models' validation allows unknown fields (the API server drops or, with strict field
    // validation, refuses them); @kubernetes/client-node's typed models keep only the fields the API has, so a
    // round trip through them shows a misspelt or misplaced key.
    for (const manifest of render(...flags)) {
      if (manifest.kind === "ServiceMonitor") continue;
      const typed = JSON.parse(JSON.stringify(loadYaml(JSON.stringify(manifest)))) as Manifest;
      expect(typed, `${manifest.kind} ${manifest.metadata.name}`).toEqual(manifest);
    }
  });

  it.each(CASES)("labels every object of %s with the recommended labels", (_name, flags) => {
    for (const manifest of render(...flags)) {
      expect(manifest.metadata.labels, `${manifest.kind} ${manifest.metadata.name}`).toMatchObject({
        "app.kubernetes.io/name": "leaven",
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/version": "0.1.0",
        "app.kubernetes.io/component": "operator",
        "app.kubernetes.io/part-of": "leaven",
        "app.kubernetes.io/managed-by": "Helm",
        "helm.sh/chart": "leaven-0.1.0",
      });
    }
  });

  it("renders the operator's Deployment: arguments, replicas, region, ports and probes", () => {
    const deployment = one(render(), "Deployment");
    expect(deployment.metadata.namespace).toBe(NAMESPACE);
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template;
    expect(pod.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(pod.spec.serviceAccountName).toBe("leaven");
    const [container, ...others] = pod.spec.containers;
    expect(others).toEqual([]);
    expect(container.image).toBe("leaven:0.1.0");
    expect(container.args).toEqual([
      "operator",
      "--cloud",
      "aws",
      "--installation",
      "default",
      "--listen",
      ":8080",
      "--leader-elect=true",
      "--lease-namespace",
      NAMESPACE,
    ]);
    expect(container.env).toContainEqual({ name: "AWS_REGION", value: "us-east-1" });
    expect(container.ports).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(container.resources.requests).toEqual({ cpu: "100m", memory: "256Mi" });
    expect(container.resources.limits.memory).toBe("512Mi");
  });

  it("runs the operator non-root, on a read-only root filesystem with /tmp an emptyDir", () => {
    const pod = one(render(), "Deployment").spec.template.spec;
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    const container = pod.containers[0];
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
    expect(pod.volumes).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }]);
  });

  it("grants exactly the operator's verbs: ImageSpecs and Events cluster-wide, the Lease in the release namespace", () => {
    const manifests = render();
    const clusterRole = one(manifests, "ClusterRole");
    expect(sortedRules(clusterRole.rules)).toEqual(sortedRules(WATCH_RULES));
    const binding = one(manifests, "ClusterRoleBinding");
    expect(binding.roleRef).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "leaven",
    });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "leaven", namespace: NAMESPACE }]);
    const role = one(manifests, "Role");
    expect(role.metadata).toMatchObject({ name: "leaven-leader-election", namespace: NAMESPACE });
    expect(sortedRules(role.rules)).toEqual(sortedRules(LEASE_RULES));
    const roleBinding = one(manifests, "RoleBinding");
    expect(roleBinding.metadata.namespace).toBe(NAMESPACE);
    expect(roleBinding.roleRef.name).toBe("leaven-leader-election");
    for (const rule of [...clusterRole.rules, ...role.rules]) {
      expect(rule.verbs).not.toContain("*");
      expect(rule.resources).not.toContain("*");
      expect(rule.apiGroups).not.toContain("*");
    }
  });

  it("watches listed namespaces with a Role and RoleBinding in each, and no ClusterRole", () => {
    const manifests = render("--set-json", 'namespaces=["team-a","team-b"]');
    expect(byKind(manifests, "ClusterRole")).toEqual([]);
    expect(byKind(manifests, "ClusterRoleBinding")).toEqual([]);
    const roles = byKind(manifests, "Role");
    for (const namespace of ["team-a", "team-b"]) {
      const role = roles.find((r) => r.metadata.namespace === namespace && r.metadata.name === "leaven");
      expect(sortedRules(role!.rules)).toEqual(sortedRules(WATCH_RULES));
      const binding = byKind(manifests, "RoleBinding").find((b) => b.metadata.namespace === namespace);
      expect(binding!.roleRef).toEqual({
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: "leaven",
      });
      expect(binding!.subjects).toEqual([{ kind: "ServiceAccount", name: "leaven", namespace: NAMESPACE }]);
    }
    const leases = roles.filter((r) => r.metadata.name === "leaven-leader-election");
    expect(leases.map((r) => r.metadata.namespace)).toEqual([NAMESPACE]);
    expect(sortedRules(leases[0]!.rules)).toEqual(sortedRules(LEASE_RULES));
    expect(roles).toHaveLength(3);
    const args = one(manifests, "Deployment").spec.template.spec.containers[0].args;
    expect(args).toEqual([
      "operator",
      "--cloud",
      "aws",
      "--installation",
      "default",
      "--namespace",
      "team-a",
      "--namespace",
      "team-b",
      "--listen",
      ":8080",
      "--leader-elect=true",
      "--lease-namespace",
      NAMESPACE,
    ]);
  });

  it("serves metrics on a Service port named http-metrics, and a ServiceMonitor only when enabled", () => {
    const manifests = render();
    expect(byKind(manifests, "ServiceMonitor")).toEqual([]);
    const service = one(manifests, "Service");
    expect(service.spec.ports).toEqual([
      { name: "http-metrics", port: 8080, targetPort: "http", protocol: "TCP" },
    ]);
    const podLabels = one(manifests, "Deployment").spec.template.metadata.labels;
    expect(podLabels).toMatchObject(service.spec.selector);

    const monitored = render(
      "--set",
      "serviceMonitor.enabled=true",
      "--set-json",
      'serviceMonitor.labels={"release":"kps"}',
    );
    const monitor = one(monitored, "ServiceMonitor");
    expect(monitor.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(monitor.metadata.labels.release).toBe("kps");
    expect(monitor.spec.selector.matchLabels).toEqual(service.spec.selector);
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: [NAMESPACE] });
    expect(monitor.spec.endpoints).toEqual([
      { port: "http-metrics", path: "/metrics", interval: "30s", scrapeTimeout: "10s" },
    ]);
  });

  it("annotates the ServiceAccount with the IRSA role only when one is given", () => {
    expect(one(render(), "ServiceAccount").metadata.annotations).toBeUndefined();
    const account = one(render("--set", `serviceAccount.roleArn=${ROLE_ARN}`), "ServiceAccount");
    expect(account.metadata.annotations).toEqual({ "eks.amazonaws.com/role-arn": ROLE_ARN });
    expect(account.metadata.namespace).toBe(NAMESPACE);
  });

  it("passes the installation, region and flags the values name; runs one replica without leader election", () => {
    const manifests = render(
      "--set",
      "installation=payments",
      "--set",
      "aws.region=eu-west-1",
      "--set",
      "replicaCount=1",
      "--set",
      "leaderElection.enabled=false",
    );
    const container = one(manifests, "Deployment").spec.template.spec.containers[0];
    expect(container.args).toEqual([
      "operator",
      "--cloud",
      "aws",
      "--installation",
      "payments",
      "--listen",
      ":8080",
      "--leader-elect=false",
    ]);
    expect(container.env).toContainEqual({ name: "AWS_REGION", value: "eu-west-1" });
    // No Lease, no grant on Leases.
    expect(byKind(manifests, "Role")).toEqual([]);
  });

  it("leaves the ServiceAccount and RBAC to the cluster's admins when told to", () => {
    const manifests = render(
      "--set",
      "serviceAccount.create=false",
      "--set",
      "serviceAccount.name=ops-leaven",
      "--set",
      "rbac.create=false",
    );
    expect(manifests.map((m) => m.kind).sort()).toEqual(["Deployment", "Service"]);
    expect(one(manifests, "Deployment").spec.template.spec.serviceAccountName).toBe("ops-leaven");
  });

  it.each([
    ["an installation name that is not a DNS label", ["--set", "installation=Payments"], "/installation"],
    [
      "an existing ServiceAccount without its name",
      ["--set", "serviceAccount.create=false"],
      "serviceAccount.name is required when serviceAccount.create is false",
    ],
    ["a mistyped value", ["--set", "replicas=3"], "replicas"],
    [
      "an IRSA value that is not a role ARN",
      ["--set", "serviceAccount.roleArn=leaven"],
      "/serviceAccount/roleArn",
    ],
    [
      "two replicas without leader election",
      ["--set", "leaderElection.enabled=false"],
      "replicaCount > 1 needs leaderElection.enabled",
    ],
    [
      "a ServiceMonitor without the Service",
      ["--set", "serviceMonitor.enabled=true", "--set", "service.enabled=false"],
      "serviceMonitor.enabled needs service.enabled",
    ],
  ])("refuses %s", (_name, flags, message) => {
    const out = helm("template", RELEASE, chart, ...flags);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain(message);
  });

  it("ships the CRD generated from the schema, unchanged", () => {
    const copy = readFileSync(join(chart, "crds/imagespec.yaml"), "utf8");
    expect(copy).toBe(readFileSync(join(repo, "crds/imagespec.yaml"), "utf8"));
    const crds = byKind(render("--include-crds"), "CustomResourceDefinition");
    expect(crds.map((c) => c.metadata.name)).toEqual(["imagespecs.leaven.dev"]);
    // Without --include-crds (helm install puts crds/ in first), no template renders one.
    expect(byKind(render(), "CustomResourceDefinition")).toEqual([]);
  });

  it("documents every value in values.yaml and types it in values.schema.json", () => {
    const values = readFileSync(join(chart, "values.yaml"), "utf8").split("\n");
    const schema = JSON.parse(readFileSync(join(chart, "values.schema.json"), "utf8")) as {
      properties: Record<string, { properties?: Record<string, unknown> }>;
    };
    const undocumented: string[] = [];
    const untyped: string[] = [];
    const path: string[] = [];
    const documented: boolean[] = [];
    values.forEach((line, index) => {
      const key = line.match(/^( *)([A-Za-z]\w*):(.*)$/);
      if (!key) return;
      const depth = key[1]!.length / 2;
      path.length = depth;
      documented.length = depth;
      path.push(key[2]!);
      // Documented by the comment right above it, or by one above a group it is in (resources, contexts).
      const commented = (values[index - 1] ?? "").trim().startsWith("#");
      documented.push(commented || documented.some(Boolean));
      const isGroup = key[3]!.trim() === "";
      if (!isGroup && !documented.at(-1)) undocumented.push(path.join("."));
      const top = schema.properties[path[0]!];
      if (depth === 0 && !top) untyped.push(path.join("."));
      if (depth === 1 && top?.properties && !top.properties[key[2]!]) untyped.push(path.join("."));
    });
    expect(undocumented).toEqual([]);
    expect(untyped).toEqual([]);
  });
});

describe.skipIf(reason !== "")(
  `charts/leaven on the in-process API server with the real kubectl${reason ? ` (skipped: ${reason})` : ""}`,
  () => {
    const run = promisify(execFile);
    let server: KubeApiServer;
    let kubeconfig: string;
    let cacheDir: string;

    async function kubectl(
      input: string | undefined,
      ...args: string[]
    ): Promise<{ code: number; stdout: string; stderr: string }> {
      if (!("tools" in found)) throw new Error(reason);
      // Asynchronous: the server answers from this process's event loop.
      const child = run(found.tools.kubectl, ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, ...args], {
        cwd: repo,
        env: { PATH: process.env.PATH ?? "", HOME: cacheDir },
      });
      if (input !== undefined) child.child.stdin?.end(input);
      try {
        const { stdout, stderr } = await child;
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
      const dir = tempDir("leaven-chart-kubectl-");
      kubeconfig = server.writeKubeconfig(join(dir, "kubeconfig"));
      cacheDir = join(dir, "cache");
    });
    afterEach(async () => {
      await server.close();
    });

    it("applies the rendered manifests the server serves (the CRD), then ImageSpecs against it", async () => {
      const resources = await kubectl(undefined, "api-resources", "-o", "name");
      expect(resources.code).toBe(0);
      const served = new Set(resources.stdout.trim().split("\n"));
      const manifests = render("--include-crds");
      const plural: Record<string, string> = {
        CustomResourceDefinition: "customresourcedefinitions.apiextensions.k8s.io",
        Deployment: "deployments.apps",
        Service: "services",
        ServiceAccount: "serviceaccounts",
        ClusterRole: "clusterroles.rbac.authorization.k8s.io",
        ClusterRoleBinding: "clusterrolebindings.rbac.authorization.k8s.io",
        Role: "roles.rbac.authorization.k8s.io",
        RoleBinding: "rolebindings.rbac.authorization.k8s.io",
      };
      const applicable = manifests.filter((m) => served.has(plural[m.kind] ?? ""));
      const notServed = manifests.filter((m) => !served.has(plural[m.kind] ?? "")).map((m) => m.kind);
      // What the in-process server does not serve is validated against the schemas above; say what.
      if (notServed.length > 0)
        console.info(
          `helm-chart.test.ts: the in-process API server serves no ${[...new Set(notServed)].join(", ")}`,
        );
      expect(applicable.map((m) => m.kind)).toContain("CustomResourceDefinition");

      const yaml = applicable.map((m) => JSON.stringify(m)).join("\n---\n");
      const dryRun = await kubectl(yaml, "apply", "--dry-run=server", "-f", "-");
      expect(dryRun.stderr).toBe("");
      expect(dryRun.stdout).toContain(
        "customresourcedefinition.apiextensions.k8s.io/imagespecs.leaven.dev created (server dry run)",
      );

      const applied = await kubectl(yaml, "apply", "-f", "-");
      expect(applied.code).toBe(0);
      const examples = await kubectl(
        undefined,
        "apply",
        "--dry-run=server",
        "-R",
        "-f",
        join(repo, "examples/"),
      );
      expect(examples.stderr).toBe("");
      expect(examples.stdout).toContain("imagespec.leaven.dev/api-server created (server dry run)");
      const none = await kubectl(undefined, "get", "imagespecs", "-o", "name");
      expect(none).toMatchObject({ code: 0, stdout: "" });
    });
  },
);
