// An in-process Kubernetes API server for tests, which @kubernetes/client-node and the real kubectl talk
// to over HTTP on 127.0.0.1 (an ephemeral port):
//
//   const server = await startKubeApiServer({ historyLimit: 100 });
//   const kc = new KubeConfig(); kc.loadFromString(kubeconfigYaml(server.url));   // or server.writeKubeconfig(path)
//   ... create the CRD (crds/imagespec.yaml), then ImageSpecs, Leases, Events ...
//   server.dropWatches(); server.compactHistory(); server.sendBookmarks();        // test hooks
//   await server.close();
//
// Module map: server.ts (HTTP routes) → operations.ts (what each verb does) → store.ts (objects, the global
// resourceVersion, history) and watch.ts (watch streams); resource-registry.ts, builtin-resources.ts and
// crd.ts (what is served); schema-validation.ts, patch.ts, server-side-apply.ts, selectors.ts, jsonpath.ts,
// table.ts, discovery.ts, openapi.ts, kubeconfig.ts, api-errors.ts (Status failures), types.ts.
export { KubeApiError } from "./api-errors.ts";
export { kubeconfigYaml, writeKubeconfig } from "./kubeconfig.ts";
export type { FieldValidation, WriteOptions, WriteResult } from "./operations.ts";
export {
  type KubeApiServer,
  type KubeApiServerOptions,
  type RequestRecord,
  startKubeApiServer,
} from "./server.ts";
export type { StoredEvent } from "./store.ts";
export type { FieldCause, KubeObject, ObjectMeta, ResourceType } from "./types.ts";
