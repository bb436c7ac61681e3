// An in-process Kubernetes API server for tests: see server.ts for the entry point.
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
