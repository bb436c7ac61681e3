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

/**
 * SSM Parameter Store's request rates per account and region. Parameter Store publishes a throughput, not a
 * bucket ("AWS Systems Manager endpoints and quotas", Parameter Store: max throughput 40 TPS by default,
 * shared by GetParameter, GetParameters and GetParametersByPath; PutParameter 3 TPS at the standard
 * throughput), so each is modelled as a bucket one second deep. AWS publishes no figure for
 * DescribeParameters, ListTagsForResource, DeleteParameter and the tag calls; they throttle well below the
 * get calls in practice, so they are paced conservatively here.
 */
export type SsmActionClass = "ssmGet" | "ssmPut" | "ssmDescribe" | "ssmMutate";

export const SSM_BUCKETS: Readonly<Record<SsmActionClass, BucketSize>> = {
  ssmGet: { capacity: 40, refillPerSecond: 40 },
  ssmPut: { capacity: 3, refillPerSecond: 3 },
  ssmDescribe: { capacity: 10, refillPerSecond: 10 },
  ssmMutate: { capacity: 3, refillPerSecond: 3 },
};

/** Every SSM action Leaven sends or the simulator serves, with its class. SSM and EC2 share no action name. */
const ssmActionClasses: Readonly<Record<string, SsmActionClass>> = {
  GetParameter: "ssmGet",
  GetParameters: "ssmGet",
  GetParametersByPath: "ssmGet",
  PutParameter: "ssmPut",
  DescribeParameters: "ssmDescribe",
  ListTagsForResource: "ssmDescribe",
  DeleteParameter: "ssmMutate",
  AddTagsToResource: "ssmMutate",
  RemoveTagsFromResource: "ssmMutate",
};

/** A bucket of either service. */
export type ApiActionClass = ActionClass | SsmActionClass;

export function isSsmAction(action: string): boolean {
  return Object.hasOwn(ssmActionClasses, action);
}

export function isSsmClass(cls: ApiActionClass): cls is SsmActionClass {
  return Object.hasOwn(SSM_BUCKETS, cls);
}

/** Classes of calls that only read: they count as neither mutating nor billable changes. */
export function isReadClass(cls: ApiActionClass): boolean {
  return cls === "describe" || cls === "ssmGet" || cls === "ssmDescribe";
}

export function bucketSizeOf(cls: ApiActionClass): BucketSize {
  return isSsmClass(cls) ? SSM_BUCKETS[cls] : EC2_BUCKETS[cls];
}

/**
 * The bucket an action draws from: SSM's actions by name; EC2's Describe and Get calls are "describe",
 * everything else "mutate".
 */
export function actionClassOf(action: string): ApiActionClass {
  if (Object.hasOwn(ssmActionClasses, action)) return ssmActionClasses[action]!;
  const explicit = actionClasses[action];
  if (explicit) return explicit;
  return action.startsWith("Describe") || action.startsWith("Get") ? "describe" : "mutate";
}
