// EC2's published request token buckets, per account and region: capacity and refill per second.
// Both the simulator (to throttle) and the executor (to stay under) use this table.

export type ActionClass = "describe" | "mutate" | "copyImage" | "tags" | "deregister" | "runInstances";

export interface BucketSize {
  capacity: number;
  refillPerSecond: number;
}

export const EC2_BUCKETS: Readonly<Record<ActionClass, BucketSize>> = {
  describe: { capacity: 100, refillPerSecond: 20 },
  mutate: { capacity: 50, refillPerSecond: 5 },
  copyImage: { capacity: 100, refillPerSecond: 1 },
  tags: { capacity: 100, refillPerSecond: 10 },
  deregister: { capacity: 100, refillPerSecond: 5 },
  runInstances: { capacity: 5, refillPerSecond: 2 },
};

const actionClasses: Readonly<Record<string, ActionClass>> = {
  CopyImage: "copyImage",
  CreateTags: "tags",
  DeleteTags: "tags",
  DeregisterImage: "deregister",
  DeleteSnapshot: "deregister",
  RunInstances: "runInstances",
};

/** The bucket an EC2 action draws from: Describe and Get calls are "describe", everything else "mutate". */
export function actionClassOf(action: string): ActionClass {
  const explicit = actionClasses[action];
  if (explicit) return explicit;
  return action.startsWith("Describe") || action.startsWith("Get") ? "describe" : "mutate";
}
