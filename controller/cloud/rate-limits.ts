// EC2's published request token buckets, per account and region: capacity and refill per second.
// Both the simulator (to throttle) and the executor (to stay under) use bucketFor(); the action classes
// below only sort calls into reads and changes (request-stats.ts) and keep the older category table.

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
 * EC2 throttles each API action with its own bucket ("Request throttling for the Amazon EC2 API", Request token
 * bucket sizes and refill rates): a request takes a token from its action's bucket only, so a drained
 * DescribeImages bucket does not slow DescribeInstances. The sizes come by category, and some actions
 * ("Uncategorized actions") have sizes of their own.
 */
export const EC2_CATEGORY_BUCKETS = {
  /** Describe*, List*, Search* and Get* not in another category. */
  nonMutating: { capacity: 100, refillPerSecond: 20 },
  /** The actions in UNFILTERED_DESCRIBE_ACTIONS when called with neither a filter nor pagination. */
  unfilteredNonMutating: { capacity: 50, refillPerSecond: 10 },
  /** Every other action that changes something, unless it has a size of its own. */
  mutating: { capacity: 50, refillPerSecond: 5 },
  /** Security-group, key-pair, peering and Spot request actions (none of which Leaven sends). */
  resourceIntensive: { capacity: 50, refillPerSecond: 5 },
} as const satisfies Record<string, BucketSize>;

/** Actions with a bucket size of their own ("Uncategorized actions"), among those EC2 offers near Leaven's. */
export const EC2_ACTION_BUCKETS: Readonly<Record<string, BucketSize>> = {
  CopyImage: { capacity: 100, refillPerSecond: 1 },
  CreateLaunchTemplateVersion: { capacity: 100, refillPerSecond: 5 },
  CreateSnapshot: { capacity: 100, refillPerSecond: 5 },
  CreateSnapshots: { capacity: 100, refillPerSecond: 5 },
  CreateTags: { capacity: 100, refillPerSecond: 10 },
  CreateVolume: { capacity: 100, refillPerSecond: 5 },
  DeleteSnapshot: { capacity: 100, refillPerSecond: 5 },
  DeleteTags: { capacity: 100, refillPerSecond: 10 },
  DeleteVolume: { capacity: 100, refillPerSecond: 5 },
  DeregisterImage: { capacity: 100, refillPerSecond: 5 },
  ModifyImageAttribute: { capacity: 100, refillPerSecond: 5 },
  ModifyLaunchTemplate: { capacity: 100, refillPerSecond: 5 },
  ModifySnapshotAttribute: { capacity: 100, refillPerSecond: 5 },
  RunInstances: { capacity: 5, refillPerSecond: 2 },
  StartInstances: { capacity: 5, refillPerSecond: 2 },
  TerminateInstances: { capacity: 100, refillPerSecond: 5 },
};

/** Non-mutating actions that draw from a smaller bucket when called with neither a filter nor pagination. */
export const UNFILTERED_DESCRIBE_ACTIONS: readonly string[] = [
  "DescribeInstances",
  "DescribeInstanceStatus",
  "DescribeNetworkInterfaces",
  "DescribeSecurityGroups",
  "DescribeSnapshots",
  "DescribeSpotInstanceRequests",
  "DescribeVolumes",
];

const RESOURCE_INTENSIVE_ACTIONS: readonly string[] = [
  "AcceptVpcPeeringConnection",
  "AuthorizeSecurityGroupIngress",
  "CancelSpotInstanceRequests",
  "CreateKeyPair",
  "CreateVpcPeeringConnection",
  "DeleteVpcPeeringConnection",
  "RejectVpcPeeringConnection",
  "RevokeSecurityGroupIngress",
  "RequestSpotInstances",
];

/** One token bucket: the key that names it (per account and region) and its size. */
export interface ActionBucket {
  key: string;
  size: BucketSize;
}

/** How a request was made, where it changes the bucket: EC2's smaller bucket for unfiltered, unpaginated listings. */
export interface RequestShape {
  /** Neither `Filter.N` nor `MaxResults`/`NextToken` was sent. */
  unfilteredUnpaginated?: boolean;
}

/**
 * The bucket a request draws from: one per EC2 action (sized by its category, or its own size), the unfiltered
 * and unpaginated listings of UNFILTERED_DESCRIBE_ACTIONS in a bucket of their own, and SSM's shared classes.
 * The AWS adapter always pages, so a client that knows only the action name uses the paged bucket.
 */
export function bucketFor(action: string, shape: RequestShape = {}): ActionBucket {
  if (Object.hasOwn(ssmActionClasses, action)) {
    const cls = ssmActionClasses[action]!;
    return { key: `ssm:${cls}`, size: SSM_BUCKETS[cls] };
  }
  const own = Object.hasOwn(EC2_ACTION_BUCKETS, action) ? EC2_ACTION_BUCKETS[action] : undefined;
  if (own) return { key: action, size: own };
  if (isNonMutatingName(action)) {
    if (shape.unfilteredUnpaginated && UNFILTERED_DESCRIBE_ACTIONS.includes(action)) {
      return { key: `${action}:unfiltered`, size: EC2_CATEGORY_BUCKETS.unfilteredNonMutating };
    }
    return { key: action, size: EC2_CATEGORY_BUCKETS.nonMutating };
  }
  if (RESOURCE_INTENSIVE_ACTIONS.includes(action)) {
    return { key: action, size: EC2_CATEGORY_BUCKETS.resourceIntensive };
  }
  return { key: action, size: EC2_CATEGORY_BUCKETS.mutating };
}

function isNonMutatingName(action: string): boolean {
  return /^(Describe|List|Search|Get)[A-Z]/.test(action);
}

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
  // Run Command (volume bakes): AWS publishes no rate; paced like the other changing and reading calls.
  SendCommand: "ssmMutate",
  GetCommandInvocation: "ssmDescribe",
  ListCommands: "ssmDescribe",
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
