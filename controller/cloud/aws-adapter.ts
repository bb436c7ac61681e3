// The CloudPort on @aws-sdk/client-ec2: real EC2, or the embedded simulator through an endpoint override.
// One client per region, created on first use. The SDK's retries are off; ours (retry.ts) run on the
// injected clock, and a middleware counts every HTTP request actually sent (request-stats.ts).
import {
  AttachVolumeCommand,
  type BootModeValues,
  CopyImageCommand,
  CreateImageCommand,
  CreateLaunchTemplateCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteLaunchTemplateCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeleteVolumeCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeRegionsCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  DisableImageCommand,
  DisableImageDeprecationCommand,
  EC2Client,
  type EC2ClientConfig,
  type Filter as Ec2Filter,
  type Image as Ec2Image,
  type Instance as Ec2Instance,
  type LaunchTemplate as Ec2LaunchTemplate,
  type Snapshot as Ec2Snapshot,
  type Tag as Ec2Tag,
  type Volume as Ec2Volume,
  EnableImageCommand,
  EnableImageDeprecationCommand,
  GetConsoleOutputCommand,
  type LaunchPermission,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RegisterImageCommand,
  type RequestLaunchTemplateData,
  type ResourceType,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  StartInstancesCommand,
  StopInstancesCommand,
  type TagSpecification,
  TerminateInstancesCommand,
  type VolumeType,
} from "@aws-sdk/client-ec2";
import {
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
  type SSMClientConfig,
} from "@aws-sdk/client-ssm";
import type { Logger } from "../log/logger.ts";
import { silentLogger } from "../log/logger.ts";
import { type Clock, systemClock } from "./clock.ts";
import { FastEc2QueryProtocol } from "./fast-describe-images.ts";
import {
  CloudError,
  type CloudImage,
  type CloudInstance,
  type CloudLaunchTemplate,
  type CloudPort,
  type CloudSnapshot,
  type CloudVolume,
  type CommandInvocationStatus,
  type CommandSummary,
  type Filter,
  type ImageBoot,
  type ImageState,
  type InstanceState,
  type LaunchPermissions,
  type LaunchTemplateLaunch,
  type ObservedLaunchPermissions,
  type Tags,
  type VolumeAttachment,
  type VolumeState,
} from "./port.ts";
import { createRequestRecorder, type RequestStats } from "./request-stats.ts";
import {
  CONSISTENCY_RETRY_POLICY,
  classifyError,
  DEFAULT_RETRY_POLICY,
  eventualCodesFor,
  type RetryPolicy,
  withRetries,
} from "./retry.ts";
import { createParameterPort } from "./ssm-adapter.ts";

export interface AwsCloudOptions {
  /** Read DescribeImages pages with Leaven's scanner rather than the SDK's deserialiser (default true). */
  fastDescribeImages?: boolean;
  /** Sends every region's requests here (the simulator serves all regions on one endpoint). */
  endpoint?: string;
  /** A named profile from the shared config/credentials files. */
  profile?: string;
  /** Explicit credentials; without them the SDK's default chain (env, profile, SSO, web identity, instance role). */
  credentials?: EC2ClientConfig["credentials"];
  clock?: Clock;
  random?: () => number;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** The budget for EC2's eventual-consistency errors (see retry.ts); default CONSISTENCY_RETRY_POLICY. */
  consistency?: Partial<RetryPolicy>;
  logger?: Logger;
  /** Paces requests per region and action class (see region-rate-limiter.ts); none when absent. */
  limiter?: { take(region: string, action: string): Promise<void> };
}

export interface AwsCloud extends CloudPort {
  /** Requests sent since creation or the last resetStats(). */
  stats(): RequestStats;
  resetStats(): void;
  /** Closes the regional clients' sockets. */
  close(): void;
}

/** EC2 pages DescribeImages/Instances/Snapshots at most 1000 at a time. */
const PAGE_SIZE = 1000;
/**
 * The SDK's logger middleware copies every response deeply (its sensitive-data filter) to hand it to a logger
 * that, here, drops it: a tenth of a full walk's CPU. Leaven logs requests itself (the stats middleware and
 * the retry events), so the middleware goes.
 */
export function withoutSdkLogging(client: { middlewareStack: { remove(name: string): boolean } }): void {
  client.middlewareStack.remove("loggerMiddleware");
}

/** DescribeVolumes takes MaxResults 5 to 500 (the EC2 API reference). */
const VOLUME_PAGE_SIZE = 500;

/** ListCommands takes MaxResults 1 to 50. */
const COMMAND_PAGE_SIZE = 50;

/** DescribeLaunchTemplates takes MaxResults 1 to 200 (the EC2 API reference). */
const LAUNCH_TEMPLATE_PAGE_SIZE = 200;

export function createAwsCloud(options: AwsCloudOptions = {}): AwsCloud {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? silentLogger;
  const policy: RetryPolicy = {
    maxAttempts: options.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
    baseDelayMs: options.baseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
  };
  const consistency: RetryPolicy = { ...CONSISTENCY_RETRY_POLICY, ...options.consistency };
  const recorder = createRequestRecorder();
  /** Instance types whose GetConsoleOutput refused Latest (not on Nitro), for the life of the process. */
  const latestUnsupported = new Set<string>();
  const clients = new Map<string, EC2Client>();

  const clientFor = (region: string): EC2Client => {
    const existing = clients.get(region);
    if (existing) return existing;
    const config: EC2ClientConfig = {
      region,
      maxAttempts: 1,
      // A request that hangs must fail (and be retried by us) rather than stall a reconcile pass forever.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000, throwOnRequestTimeout: true },
    };
    // DescribeImages pages read by Leaven's own scanner (cloud/fast-describe-images.ts); all else by the SDK.
    if (options.fastDescribeImages !== false) config.protocol = FastEc2QueryProtocol;
    if (options.endpoint) config.endpoint = options.endpoint;
    if (options.credentials) config.credentials = options.credentials;
    else if (options.profile) config.profile = options.profile;
    const client = new EC2Client(config);
    withoutSdkLogging(client);
    // finalizeRequest runs once per HTTP attempt, after signing and just before the request is sent.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const action = (context.commandName ?? "Unknown").replace(/Command$/, "");
        recorder.request(region, action);
        try {
          return await next(args);
        } catch (error) {
          if (classifyError(error).kind === "throttle") recorder.throttled(region, action);
          throw error;
        }
      },
      { step: "finalizeRequest", name: "leavenRequestStats", priority: "low" },
    );
    clients.set(region, client);
    return client;
  };

  // SSM Parameter Store: its own client per region, on the same endpoint (the simulator serves both), with
  // the same request counting, pacing and retries as EC2's.
  const ssmClients = new Map<string, SSMClient>();
  const ssmClientFor = (region: string): SSMClient => {
    const existing = ssmClients.get(region);
    if (existing) return existing;
    const config: SSMClientConfig = {
      region,
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000, throwOnRequestTimeout: true },
    };
    if (options.endpoint) config.endpoint = options.endpoint;
    if (options.credentials) config.credentials = options.credentials;
    else if (options.profile) config.profile = options.profile;
    const client = new SSMClient(config);
    withoutSdkLogging(client);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const action = (context.commandName ?? "Unknown").replace(/Command$/, "");
        recorder.request(region, action);
        try {
          return await next(args);
        } catch (error) {
          if (classifyError(error).kind === "throttle") recorder.throttled(region, action);
          throw error;
        }
      },
      { step: "finalizeRequest", name: "leavenRequestStats", priority: "low" },
    );
    ssmClients.set(region, client);
    return client;
  };

  /** One EC2 call with our retries; `send` builds a fresh command per attempt. */
  const call = <T>(
    region: string,
    action: string,
    send: (client: EC2Client) => Promise<T>,
    eventual: ReadonlySet<string> = eventualCodesFor(action),
  ): Promise<T> => paced(region, action, () => send(clientFor(region)), eventual);

  /**
   * A call naming several resources: EC2 fails all of it for one unknown id, which is most likely gone rather
   * than not visible yet, so NotFound surfaces at once and the executor splits the batch (each id alone is
   * retried on the consistency budget).
   */
  const batchCodes = (action: string, ids: readonly string[]): ReadonlySet<string> =>
    ids.length > 1
      ? new Set([...eventualCodesFor(action)].filter((code) => !code.endsWith(".NotFound")))
      : eventualCodesFor(action);

  /**
   * One call of either service: paced by the client-side buckets, retried on throttling and 5xx, and on the
   * codes by which EC2's eventual consistency shows for this action (none for SSM's, whose names differ).
   */
  const paced = <T>(
    region: string,
    action: string,
    attempt: () => Promise<T>,
    eventual: ReadonlySet<string> = eventualCodesFor(action),
  ): Promise<T> =>
    withRetries(
      async () => {
        // Every attempt — retries and later pages included — draws from the client-side bucket, so a
        // throttled retry cannot steal the token the next paced request counted on.
        await options.limiter?.take(region, action);
        return attempt();
      },
      {
        policy,
        eventual: { codes: eventual, policy: consistency },
        clock,
        random,
        onRetry: ({ attempt, delayMs, error }) => {
          recorder.retried(region, action);
          logger.debug("retrying AWS call", { region, action, attempt, delayMs, code: error.code });
        },
      },
    );

  /**
   * A call EC2 or SSM takes no idempotency token for (CreateSnapshot, SendCommand), sent at most once: a 5xx,
   * a timeout or a dropped connection may come after the service took it, so from then on an attempt only
   * looks for what it made (`find`) and never sends again; not listed yet, the call fails with `notFound`
   * (retryable: a later pass looks again). A refusal (throttled, or an error the service answered) was not
   * taken, and is sent again.
   */
  const sentAtMostOnce = <T>(
    region: string,
    action: string,
    send: () => Promise<T>,
    find: () => Promise<T | undefined>,
    notFound: CloudError,
  ): Promise<T> => {
    let mayHaveBeenTaken = false;
    return paced(region, action, async () => {
      if (mayHaveBeenTaken) {
        const found = await find();
        if (found) return found;
        throw notFound;
      }
      try {
        return await send();
      } catch (error) {
        if (classifyError(error).kind === "transient") mayHaveBeenTaken = true;
        throw error;
      }
    });
  };

  /** Walks NextToken to the end; a token that repeats would loop forever, so it is an error. */
  const paginate = async <T>(
    region: string,
    action: string,
    page: (client: EC2Client, token: string | undefined) => Promise<{ items: T[]; next?: string }>,
  ): Promise<T[]> => {
    const all: T[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const current = token;
      const result = await call(region, action, (client) => page(client, current));
      for (const item of result.items) all.push(item);
      token = result.next || undefined;
      if (token !== undefined) {
        if (seen.has(token)) {
          throw new CloudError("PaginationLoop", `${action} returned NextToken ${token} twice`, 0, false);
        }
        seen.add(token);
      }
    } while (token !== undefined);
    return all;
  };

  return {
    async describeRegions(region) {
      const out = await call(region, "DescribeRegions", (c) => c.send(new DescribeRegionsCommand({})));
      return (out.Regions ?? []).flatMap((r) => (r.RegionName ? [r.RegionName] : []));
    },

    async describeImages(region, input) {
      const byId = input.imageIds !== undefined && input.imageIds.length > 0;
      const images = await paginate(region, "DescribeImages", async (c, token) => {
        const out = await c.send(
          new DescribeImagesCommand({
            ...(input.owners?.length ? { Owners: input.owners } : {}),
            ...(byId ? { ImageIds: input.imageIds } : { MaxResults: PAGE_SIZE }),
            ...(input.filters?.length ? { Filters: toFilters(input.filters) } : {}),
            ...(input.includeDeprecated !== undefined ? { IncludeDeprecated: input.includeDeprecated } : {}),
            ...(input.includeDisabled !== undefined ? { IncludeDisabled: input.includeDisabled } : {}),
            ...(token ? { NextToken: token } : {}),
          }),
        );
        // Mapped as each page arrives: the SDK's objects of a page are garbage once it is mapped, so a walk
        // never holds the estate twice.
        // Boot settings only for images asked for by id (a volume bake's parent): the estate's walks keep no
        // more per image than they did.
        const items = (out.Images ?? []).map((image) => toCloudImage(region, image, byId));
        return { items, ...(out.NextToken ? { next: out.NextToken } : {}) };
      });
      return images;
    },

    async describeInstances(region, filters) {
      const instances = await paginate(region, "DescribeInstances", async (c, token) => {
        const out = await c.send(
          new DescribeInstancesCommand({
            MaxResults: PAGE_SIZE,
            ...(filters.length ? { Filters: toFilters(filters) } : {}),
            ...(token ? { NextToken: token } : {}),
          }),
        );
        const items = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
        return { items, ...(out.NextToken ? { next: out.NextToken } : {}) };
      });
      return instances.map((instance) => toCloudInstance(region, instance));
    },

    async describeSnapshots(region, filters) {
      const snapshots = await paginate(region, "DescribeSnapshots", async (c, token) => {
        const out = await c.send(
          new DescribeSnapshotsCommand({
            // Without an owner EC2 lists every public snapshot too; Leaven only ever manages its own.
            OwnerIds: ["self"],
            MaxResults: PAGE_SIZE,
            ...(filters.length ? { Filters: toFilters(filters) } : {}),
            ...(token ? { NextToken: token } : {}),
          }),
        );
        return { items: out.Snapshots ?? [], ...(out.NextToken ? { next: out.NextToken } : {}) };
      });
      return snapshots.map((snapshot) => toCloudSnapshot(region, snapshot));
    },

    async getConsoleOutput(region, instanceId, options) {
      const send = (latest: boolean) =>
        call(region, "GetConsoleOutput", (c) =>
          c.send(
            new GetConsoleOutputCommand({ InstanceId: instanceId, ...(latest ? { Latest: true } : {}) }),
          ),
        );
      const type = options?.instanceType;
      let out: Awaited<ReturnType<typeof send>>;
      if (options?.latest && !(type !== undefined && latestUnsupported.has(type))) {
        try {
          out = await send(true);
        } catch (error) {
          if (!latestRefused(error)) throw error;
          // Not a Nitro type: the buffered output is all there is. Asked once per type and process.
          if (type !== undefined) latestUnsupported.add(type);
          logger.debug("GetConsoleOutput Latest is not supported; reading the buffered output", {
            region,
            instanceId,
            ...(type !== undefined ? { instanceType: type } : {}),
          });
          out = await send(false);
        }
      } else {
        out = await send(false);
      }
      return out.Output ? Buffer.from(out.Output, "base64").toString("utf8") : "";
    },

    async runInstance(region, input) {
      const request: RunInstancesCommandInput = {
        ImageId: input.imageId,
        InstanceType: input.instanceType as RunInstancesCommandInput["InstanceType"],
        MinCount: 1,
        MaxCount: 1,
        UserData: Buffer.from(input.userData, "utf8").toString("base64"),
        ClientToken: input.clientToken,
        // The bake script powers off: the instance must stop (not terminate) so its volume can be imaged.
        InstanceInitiatedShutdownBehavior: "stop",
        TagSpecifications: tagSpecifications(["instance", "volume"], input.tags),
      };
      if (input.subnetId) request.SubnetId = input.subnetId;
      if (input.securityGroupIds?.length) request.SecurityGroupIds = input.securityGroupIds;
      if (input.instanceProfile) {
        request.IamInstanceProfile = input.instanceProfile.startsWith("arn:")
          ? { Arn: input.instanceProfile }
          : { Name: input.instanceProfile };
      }
      if (input.rootVolume) {
        request.BlockDeviceMappings = [
          {
            DeviceName: input.rootVolume.deviceName,
            Ebs: {
              DeleteOnTermination: true,
              ...(input.rootVolume.size !== undefined ? { VolumeSize: input.rootVolume.size } : {}),
              ...(input.rootVolume.type ? { VolumeType: input.rootVolume.type as VolumeType } : {}),
              ...(input.rootVolume.kmsKeyId ? { Encrypted: true, KmsKeyId: input.rootVolume.kmsKeyId } : {}),
            },
          },
        ];
      }
      const out = await call(region, "RunInstances", (c) => c.send(new RunInstancesCommand(request)));
      const instanceId = out.Instances?.[0]?.InstanceId;
      if (!instanceId) throw missingField("RunInstances", "an instance id");
      return { instanceId };
    },

    async stopInstances(region, instanceIds) {
      if (instanceIds.length === 0) return;
      await call(region, "StopInstances", (c) =>
        c.send(new StopInstancesCommand({ InstanceIds: instanceIds })),
      );
    },

    async startInstances(region, instanceIds) {
      if (instanceIds.length === 0) return;
      await call(region, "StartInstances", (c) =>
        c.send(new StartInstancesCommand({ InstanceIds: instanceIds })),
      );
    },

    async terminateInstances(region, instanceIds) {
      if (instanceIds.length === 0) return;
      await call(
        region,
        "TerminateInstances",
        (c) => c.send(new TerminateInstancesCommand({ InstanceIds: instanceIds })),
        batchCodes("TerminateInstances", instanceIds),
      );
    },

    async createImage(region, input) {
      const out = await call(region, "CreateImage", (c) =>
        c.send(
          new CreateImageCommand({
            InstanceId: input.instanceId,
            Name: input.name,
            ...(input.description ? { Description: input.description } : {}),
            TagSpecifications: tagSpecifications(["image", "snapshot"], input.tags),
          }),
        ),
      );
      if (!out.ImageId) throw missingField("CreateImage", "an image id");
      return { imageId: out.ImageId };
    },

    async copyImage(region, input) {
      const out = await call(region, "CopyImage", (c) =>
        c.send(
          new CopyImageCommand({
            SourceRegion: input.sourceRegion,
            SourceImageId: input.sourceImageId,
            Name: input.name,
            ClientToken: input.clientToken,
            // Off: the source's channel, share and bake-instance tags must not leak onto the copy (the
            // planner gives the copy its complete tag set in TagSpecifications).
            CopyImageTags: false,
            ...(input.description ? { Description: input.description } : {}),
            ...(input.kmsKeyId ? { KmsKeyId: input.kmsKeyId, Encrypted: true } : {}),
            TagSpecifications: tagSpecifications(["image", "snapshot"], input.tags),
          }),
        ),
      );
      if (!out.ImageId) throw missingField("CopyImage", "an image id");
      return { imageId: out.ImageId };
    },

    async createTags(region, resourceIds, tags) {
      if (resourceIds.length === 0 || Object.keys(tags).length === 0) return;
      await call(
        region,
        "CreateTags",
        (c) => c.send(new CreateTagsCommand({ Resources: resourceIds, Tags: toTagList(tags) })),
        batchCodes("CreateTags", resourceIds),
      );
    },

    async deleteTags(region, resourceIds, keys) {
      if (resourceIds.length === 0 || keys.length === 0) return;
      // Keys only: EC2 deletes the tag whatever its value.
      await call(
        region,
        "DeleteTags",
        (c) => c.send(new DeleteTagsCommand({ Resources: resourceIds, Tags: keys.map((Key) => ({ Key })) })),
        batchCodes("DeleteTags", resourceIds),
      );
    },

    async describeLaunchPermissions(region, imageId) {
      const out = await call(region, "DescribeImageAttribute", (c) =>
        c.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: "launchPermission" })),
      );
      return fromLaunchPermissions(out.LaunchPermissions);
    },

    async modifyLaunchPermissions(region, imageId, change) {
      const add = toLaunchPermissions(change.add);
      const remove = toLaunchPermissions(change.remove);
      if (add.length === 0 && remove.length === 0) return;
      await call(region, "ModifyImageAttribute", (c) =>
        c.send(
          new ModifyImageAttributeCommand({
            ImageId: imageId,
            LaunchPermission: {
              ...(add.length > 0 ? { Add: add } : {}),
              ...(remove.length > 0 ? { Remove: remove } : {}),
            },
          }),
        ),
      );
    },

    async describeVolumePermissions(region, snapshotId) {
      const out = await call(region, "DescribeSnapshotAttribute", (c) =>
        c.send(
          new DescribeSnapshotAttributeCommand({
            SnapshotId: snapshotId,
            Attribute: "createVolumePermission",
          }),
        ),
      );
      const permissions = out.CreateVolumePermissions ?? [];
      return {
        accounts: permissions.flatMap((p) => (p.UserId ? [p.UserId] : [])),
        public: permissions.some((p) => p.Group === "all"),
      };
    },

    async modifyVolumePermissions(region, snapshotId, change) {
      if (change.add.length === 0 && change.remove.length === 0) return;
      await call(region, "ModifySnapshotAttribute", (c) =>
        c.send(
          new ModifySnapshotAttributeCommand({
            SnapshotId: snapshotId,
            Attribute: "createVolumePermission",
            CreateVolumePermission: {
              ...(change.add.length > 0 ? { Add: change.add.map((UserId) => ({ UserId })) } : {}),
              ...(change.remove.length > 0 ? { Remove: change.remove.map((UserId) => ({ UserId })) } : {}),
            },
          }),
        ),
      );
    },

    async enableImageDeprecation(region, imageId, deprecateAt) {
      await call(region, "EnableImageDeprecation", (c) =>
        c.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: deprecateAt })),
      );
    },

    async disableImage(region, imageId) {
      await call(region, "DisableImage", (c) => c.send(new DisableImageCommand({ ImageId: imageId })));
    },

    async deregisterImage(region, imageId, options) {
      await call(region, "DeregisterImage", (c) =>
        c.send(
          new DeregisterImageCommand({
            ImageId: imageId,
            ...(options?.deleteSnapshots ? { DeleteAssociatedSnapshots: true } : {}),
          }),
        ),
      );
    },

    async enableImage(region, imageId) {
      await call(region, "EnableImage", (c) => c.send(new EnableImageCommand({ ImageId: imageId })));
    },

    async disableImageDeprecation(region, imageId) {
      await call(region, "DisableImageDeprecation", (c) =>
        c.send(new DisableImageDeprecationCommand({ ImageId: imageId })),
      );
    },

    async describeLaunchTemplateImages(region) {
      const versions = await paginate(region, "DescribeLaunchTemplateVersions", async (c, token) => {
        const out = await c.send(
          new DescribeLaunchTemplateVersionsCommand({
            Versions: ["$Latest", "$Default"],
            MaxResults: LAUNCH_TEMPLATE_PAGE_SIZE,
            ...(token ? { NextToken: token } : {}),
          }),
        );
        return {
          items: out.LaunchTemplateVersions ?? [],
          ...(out.NextToken ? { next: out.NextToken } : {}),
        };
      });
      return versions.flatMap((v) =>
        v.LaunchTemplateData?.ImageId
          ? [
              {
                launchTemplateId: v.LaunchTemplateId ?? "",
                name: v.LaunchTemplateName ?? "",
                version: v.VersionNumber ?? 0,
                isDefault: v.DefaultVersion === true,
                imageId: v.LaunchTemplateData.ImageId,
              },
            ]
          : [],
      );
    },

    async deleteSnapshot(region, snapshotId) {
      await call(region, "DeleteSnapshot", (c) =>
        c.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })),
      );
    },

    async createLaunchTemplate(region, input) {
      const out = await call(region, "CreateLaunchTemplate", (c) =>
        c.send(
          new CreateLaunchTemplateCommand({
            LaunchTemplateName: input.name,
            ClientToken: input.clientToken,
            ...(input.description ? { VersionDescription: input.description } : {}),
            LaunchTemplateData: launchTemplateData(input.launch),
            TagSpecifications: tagSpecifications(["launch-template"], input.tags),
          }),
        ),
      );
      const launchTemplateId = out.LaunchTemplate?.LaunchTemplateId;
      if (!launchTemplateId) throw missingField("CreateLaunchTemplate", "a launch template id");
      return { launchTemplateId };
    },

    async describeLaunchTemplates(region, filters, launchTemplateIds) {
      const byId = launchTemplateIds !== undefined && launchTemplateIds.length > 0;
      const templates = await paginate(region, "DescribeLaunchTemplates", async (c, token) => {
        const out = await c.send(
          new DescribeLaunchTemplatesCommand({
            ...(byId ? { LaunchTemplateIds: launchTemplateIds } : { MaxResults: LAUNCH_TEMPLATE_PAGE_SIZE }),
            ...(filters.length ? { Filters: toFilters(filters) } : {}),
            ...(token ? { NextToken: token } : {}),
          }),
        );
        return { items: out.LaunchTemplates ?? [], ...(out.NextToken ? { next: out.NextToken } : {}) };
      });
      return templates.map((template) => toCloudLaunchTemplate(region, template));
    },

    async deleteLaunchTemplate(region, launchTemplateId) {
      await call(region, "DeleteLaunchTemplate", (c) =>
        c.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: launchTemplateId })),
      );
    },

    async createVolume(region, input) {
      const out = await call(region, "CreateVolume", (c) =>
        c.send(
          new CreateVolumeCommand({
            SnapshotId: input.snapshotId,
            AvailabilityZone: input.availabilityZone,
            ClientToken: input.clientToken,
            ...(input.size !== undefined ? { Size: input.size } : {}),
            ...(input.volumeType ? { VolumeType: input.volumeType as VolumeType } : {}),
            ...(input.kmsKeyId ? { Encrypted: true, KmsKeyId: input.kmsKeyId } : {}),
            TagSpecifications: tagSpecifications(["volume"], input.tags),
          }),
        ),
      );
      if (!out.VolumeId) throw missingField("CreateVolume", "a volume id");
      return { volumeId: out.VolumeId };
    },

    async describeVolumes(region, filters, volumeIds) {
      const byId = volumeIds !== undefined && volumeIds.length > 0;
      const volumes = await paginate(region, "DescribeVolumes", async (c, token) => {
        const out = await c.send(
          new DescribeVolumesCommand({
            ...(byId ? { VolumeIds: volumeIds } : { MaxResults: VOLUME_PAGE_SIZE }),
            ...(filters.length ? { Filters: toFilters(filters) } : {}),
            ...(token ? { NextToken: token } : {}),
          }),
        );
        return { items: out.Volumes ?? [], ...(out.NextToken ? { next: out.NextToken } : {}) };
      });
      return volumes.map((volume) => toCloudVolume(region, volume));
    },

    async attachVolume(region, volumeId, instanceId, device) {
      await call(region, "AttachVolume", (c) =>
        c.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: device })),
      );
    },

    async detachVolume(region, volumeId, options) {
      await call(region, "DetachVolume", (c) =>
        c.send(
          new DetachVolumeCommand({
            VolumeId: volumeId,
            ...(options?.instanceId ? { InstanceId: options.instanceId } : {}),
            ...(options?.force ? { Force: true } : {}),
          }),
        ),
      );
    },

    async deleteVolume(region, volumeId) {
      await call(region, "DeleteVolume", (c) => c.send(new DeleteVolumeCommand({ VolumeId: volumeId })));
    },

    async createSnapshot(region, input) {
      const tagged = Object.entries(input.tags);
      const snapshotId = await sentAtMostOnce(
        region,
        "CreateSnapshot",
        async () => {
          const out = await clientFor(region).send(
            new CreateSnapshotCommand({
              VolumeId: input.volumeId,
              ...(input.description ? { Description: input.description } : {}),
              TagSpecifications: tagSpecifications(["snapshot"], input.tags),
            }),
          );
          if (!out.SnapshotId) throw missingField("CreateSnapshot", "a snapshot id");
          return out.SnapshotId;
        },
        // A snapshot of the volume with exactly these tags (the build's).
        async () => {
          if (tagged.length === 0) return undefined;
          await options.limiter?.take(region, "DescribeSnapshots");
          const found = await clientFor(region).send(
            new DescribeSnapshotsCommand({
              OwnerIds: ["self"],
              Filters: [
                { Name: "volume-id", Values: [input.volumeId] },
                ...tagged.map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] })),
              ],
            }),
          );
          return found.Snapshots?.find((snapshot) => snapshot.SnapshotId)?.SnapshotId;
        },
        // The planner waits for a late one (plan/volume-bake.ts SNAPSHOT_VISIBILITY_MS).
        new CloudError(
          "SnapshotNotListedYet",
          `CreateSnapshot of ${input.volumeId} may have gone through (its answer was lost) but no snapshot of it is listed yet`,
          0,
          true,
        ),
      );
      return { snapshotId };
    },

    async registerImage(region, input) {
      const out = await call(region, "RegisterImage", (c) =>
        c.send(
          new RegisterImageCommand({
            Name: input.name,
            ...(input.description ? { Description: input.description } : {}),
            Architecture: input.architecture as "x86_64" | "arm64",
            VirtualizationType: input.virtualizationType ?? "hvm",
            RootDeviceName: input.rootDeviceName,
            ...(input.bootMode ? { BootMode: input.bootMode as BootModeValues } : {}),
            ...(input.enaSupport !== undefined ? { EnaSupport: input.enaSupport } : {}),
            ...(input.sriovNetSupport ? { SriovNetSupport: "simple" } : {}),
            BlockDeviceMappings: [
              {
                DeviceName: input.rootDeviceName,
                Ebs: {
                  SnapshotId: input.root.snapshotId,
                  DeleteOnTermination: input.root.deleteOnTermination ?? true,
                  ...(input.root.size !== undefined ? { VolumeSize: input.root.size } : {}),
                  ...(input.root.volumeType ? { VolumeType: input.root.volumeType as VolumeType } : {}),
                },
              },
            ],
            TagSpecifications: tagSpecifications(["image"], input.tags),
          }),
        ),
      );
      if (!out.ImageId) throw missingField("RegisterImage", "an image id");
      return { imageId: out.ImageId };
    },

    async sendCommand(region, input) {
      const comment = input.comment?.slice(0, 100);
      const first = input.instanceIds[0];
      const commandId = await sentAtMostOnce(
        region,
        "SendCommand",
        async () => {
          const out = await ssmClientFor(region).send(
            new SendCommandCommand({
              DocumentName: "AWS-RunShellScript",
              InstanceIds: input.instanceIds,
              Parameters: {
                commands: input.commands,
                ...(input.timeoutSeconds !== undefined
                  ? { executionTimeout: [String(input.timeoutSeconds)] }
                  : {}),
              },
              ...(input.timeoutSeconds !== undefined ? { TimeoutSeconds: input.timeoutSeconds } : {}),
              ...(comment ? { Comment: comment } : {}),
              ...(input.outputS3
                ? { OutputS3BucketName: input.outputS3.bucket, OutputS3KeyPrefix: input.outputS3.keyPrefix }
                : {}),
            }),
          );
          if (!out.Command?.CommandId) throw missingField("SendCommand", "a command id");
          return out.Command.CommandId;
        },
        // The command by its comment, among the first instance's newest.
        async () => {
          if (!comment || !first) return undefined;
          await options.limiter?.take(region, "ListCommands");
          const listed = await ssmClientFor(region).send(
            new ListCommandsCommand({ InstanceId: first, MaxResults: COMMAND_PAGE_SIZE }),
          );
          return listed.Commands?.find((c) => c.Comment === comment && c.CommandId)?.CommandId;
        },
        // The planner waits for a late one (plan/volume-bake.ts COMMAND_VISIBILITY_MS).
        new CloudError(
          "CommandNotListedYet",
          `SendCommand to ${first ?? "no instance"} may have gone through (its answer was lost) but no command with its comment is listed yet`,
          0,
          true,
        ),
      );
      return { commandId };
    },

    async getCommandInvocation(region, commandId, instanceId) {
      // Not retried on InvocationDoesNotExist: the caller polls anyway, and a moment after SendCommand SSM
      // may not know the invocation yet.
      const out = await paced(region, "GetCommandInvocation", () =>
        ssmClientFor(region).send(
          new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
        ),
      );
      return {
        commandId,
        instanceId,
        status: (out.Status ?? "Pending") as CommandInvocationStatus,
        ...(out.ResponseCode !== undefined ? { responseCode: out.ResponseCode } : {}),
        stdout: out.StandardOutputContent ?? "",
        stderr: out.StandardErrorContent ?? "",
      };
    },

    async listCommands(region, instanceId) {
      const all: CommandSummary[] = [];
      const seen = new Set<string>();
      let token: string | undefined;
      do {
        const current = token;
        const out = await paced(region, "ListCommands", () =>
          ssmClientFor(region).send(
            new ListCommandsCommand({
              InstanceId: instanceId,
              MaxResults: COMMAND_PAGE_SIZE,
              ...(current ? { NextToken: current } : {}),
            }),
          ),
        );
        for (const command of out.Commands ?? []) {
          const requestedAt = isoDate(command.RequestedDateTime);
          all.push({
            commandId: command.CommandId ?? "",
            ...(command.Comment ? { comment: command.Comment } : {}),
            status: (command.Status ?? "Pending") as CommandInvocationStatus,
            requestedAt: requestedAt ?? "",
          });
        }
        token = out.NextToken || undefined;
        if (token !== undefined) {
          if (seen.has(token))
            throw new CloudError(
              "PaginationLoop",
              `ListCommands returned NextToken ${token} twice`,
              0,
              false,
            );
          seen.add(token);
        }
      } while (token !== undefined);
      return all.sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
    },

    ...createParameterPort((region, action, send) => paced(region, action, () => send(ssmClientFor(region)))),

    stats: () => recorder.snapshot(),
    resetStats: () => recorder.reset(),
    close() {
      for (const client of clients.values()) client.destroy();
      clients.clear();
      for (const client of ssmClients.values()) client.destroy();
      ssmClients.clear();
    },
  };
}

/**
 * GetConsoleOutput refusing Latest=true for the instance's type. EC2 documents Latest as supported only on
 * Nitro types and answers others with UnsupportedOperation; a parameter error that names Latest counts too.
 */
function latestRefused(error: unknown): boolean {
  if (!(error instanceof CloudError)) return false;
  if (error.code === "UnsupportedOperation") return true;
  return (
    ["InvalidParameter", "InvalidParameterValue", "InvalidParameterCombination"].includes(error.code) &&
    /latest/i.test(error.message.slice(error.code.length))
  );
}

function missingField(action: string, what: string): CloudError {
  return new CloudError("MalformedResponse", `${action} answered without ${what}`, 0, false);
}

function toFilters(filters: Filter[]): Ec2Filter[] {
  return filters.map((f) => ({ Name: f.name, Values: f.values }));
}

function toLaunchPermissions(permissions: LaunchPermissions): LaunchPermission[] {
  return [
    ...(permissions.accounts ?? []).map((UserId) => ({ UserId })),
    ...(permissions.organizationArns ?? []).map((OrganizationArn) => ({ OrganizationArn })),
    ...(permissions.organizationalUnitArns ?? []).map((OrganizationalUnitArn) => ({ OrganizationalUnitArn })),
  ];
}

export function fromLaunchPermissions(
  permissions: LaunchPermission[] | undefined,
): ObservedLaunchPermissions {
  const observed: ObservedLaunchPermissions = {
    accounts: [],
    organizationArns: [],
    organizationalUnitArns: [],
    public: false,
  };
  for (const permission of permissions ?? []) {
    if (permission.UserId) observed.accounts.push(permission.UserId);
    if (permission.OrganizationArn) observed.organizationArns.push(permission.OrganizationArn);
    if (permission.OrganizationalUnitArn)
      observed.organizationalUnitArns.push(permission.OrganizationalUnitArn);
    if (permission.Group === "all") observed.public = true;
  }
  return observed;
}

function toTagList(tags: Tags): Ec2Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/**
 * A launch template's data for a bake's launch, as RunInstances would have been sent it. With a subnet the
 * network goes in a network interface (EC2 refuses top-level security groups beside one).
 */
function launchTemplateData(launch: LaunchTemplateLaunch): RequestLaunchTemplateData {
  const data: RequestLaunchTemplateData = {
    ImageId: launch.imageId,
    InstanceType: launch.instanceType as RequestLaunchTemplateData["InstanceType"],
    UserData: Buffer.from(launch.userData, "utf8").toString("base64"),
    // As for the bake: the script powers off, and the stopped instance keeps its volume to look at.
    InstanceInitiatedShutdownBehavior: "stop",
  };
  if (launch.subnetId) {
    data.NetworkInterfaces = [
      {
        DeviceIndex: 0,
        SubnetId: launch.subnetId,
        ...(launch.securityGroupIds?.length ? { Groups: launch.securityGroupIds } : {}),
      },
    ];
  } else if (launch.securityGroupIds?.length) {
    data.SecurityGroupIds = launch.securityGroupIds;
  }
  if (launch.instanceProfile) {
    data.IamInstanceProfile = launch.instanceProfile.startsWith("arn:")
      ? { Arn: launch.instanceProfile }
      : { Name: launch.instanceProfile };
  }
  if (launch.rootVolume) {
    data.BlockDeviceMappings = [
      {
        DeviceName: launch.rootVolume.deviceName,
        Ebs: {
          DeleteOnTermination: true,
          ...(launch.rootVolume.size !== undefined ? { VolumeSize: launch.rootVolume.size } : {}),
          ...(launch.rootVolume.type ? { VolumeType: launch.rootVolume.type as VolumeType } : {}),
          ...(launch.rootVolume.kmsKeyId ? { Encrypted: true, KmsKeyId: launch.rootVolume.kmsKeyId } : {}),
        },
      },
    ];
  }
  return data;
}

/** EC2 rejects a TagSpecification with no tags, so none are sent when there is nothing to tag. */
function tagSpecifications(types: ResourceType[], tags: Tags): TagSpecification[] | undefined {
  if (Object.keys(tags).length === 0) return undefined;
  return types.map((ResourceType) => ({ ResourceType, Tags: toTagList(tags) }));
}

export function fromTagList(tags: Ec2Tag[] | undefined): Tags {
  const out: Tags = {};
  for (const tag of tags ?? []) if (tag.Key !== undefined) out[tag.Key] = tag.Value ?? "";
  return out;
}

/** EC2 returns dates as strings (images) or Dates (instances); the port speaks ISO 8601. */
function isoDate(value: string | Date | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
}

export function toCloudImage(region: string, image: Ec2Image, withBoot = false): CloudImage {
  const snapshotIds = (image.BlockDeviceMappings ?? []).flatMap((m) =>
    m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
  );
  const deprecationTime = isoDate(image.DeprecationTime);
  const description = image.Description;
  const stateReason = image.StateReason?.Message ?? image.StateReason?.Code;
  return {
    imageId: image.ImageId ?? "",
    region,
    name: image.Name ?? "",
    ownerId: image.OwnerId ?? "",
    state: (image.State ?? "pending") as ImageState,
    creationDate: isoDate(image.CreationDate) ?? "",
    ...(image.Architecture ? { architecture: image.Architecture } : {}),
    ...(description ? { description } : {}),
    ...(image.RootDeviceName ? { rootDeviceName: image.RootDeviceName } : {}),
    ...(deprecationTime ? { deprecationTime } : {}),
    snapshotIds,
    tags: fromTagList(image.Tags),
    ...(stateReason ? { stateReason } : {}),
    ...(image.SourceImageId ? { sourceImageId: image.SourceImageId } : {}),
    ...(withBoot ? { boot: toImageBoot(image) } : {}),
  };
}

function toImageBoot(image: Ec2Image): ImageBoot {
  const root = (image.BlockDeviceMappings ?? []).find((m) => m.DeviceName === image.RootDeviceName)?.Ebs;
  return {
    ...(root?.SnapshotId ? { rootSnapshotId: root.SnapshotId } : {}),
    ...(root?.VolumeSize !== undefined ? { rootVolumeSize: root.VolumeSize } : {}),
    ...(root?.VolumeType ? { rootVolumeType: root.VolumeType } : {}),
    ...(image.BootMode ? { bootMode: image.BootMode } : {}),
    ...(image.EnaSupport !== undefined ? { enaSupport: image.EnaSupport } : {}),
    ...(image.SriovNetSupport ? { sriovNetSupport: image.SriovNetSupport === "simple" } : {}),
    ...(image.VirtualizationType ? { virtualizationType: image.VirtualizationType } : {}),
  };
}

export function toCloudInstance(region: string, instance: Ec2Instance): CloudInstance {
  const stateReason =
    instance.StateReason?.Message ?? instance.StateReason?.Code ?? instance.StateTransitionReason;
  const state = (instance.State?.Name ?? "pending") as InstanceState;
  const stoppedAt =
    state === "stopping" || state === "stopped" ? transitionTime(instance.StateTransitionReason) : undefined;
  const devices = (instance.BlockDeviceMappings ?? []).flatMap((m) => (m.DeviceName ? [m.DeviceName] : []));
  return {
    instanceId: instance.InstanceId ?? "",
    region,
    imageId: instance.ImageId ?? "",
    state,
    launchTime: isoDate(instance.LaunchTime) ?? "",
    ...(instance.InstanceType ? { instanceType: instance.InstanceType } : {}),
    ...(instance.Placement?.AvailabilityZone
      ? { availabilityZone: instance.Placement.AvailabilityZone }
      : {}),
    ...(stateReason ? { stateReason } : {}),
    ...(stoppedAt ? { stoppedAt } : {}),
    ...(devices.length > 0 ? { devices } : {}),
    tags: fromTagList(instance.Tags),
  };
}

/** The time in a StateTransitionReason such as "User initiated (2026-06-01 12:00:00 GMT)", as ISO 8601. */
export function transitionTime(reason: string | undefined): string | undefined {
  const match = /\((\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) GMT\)/.exec(reason ?? "");
  if (!match) return undefined;
  const time = Date.parse(`${match[1]}T${match[2]}Z`);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

export function toCloudSnapshot(region: string, snapshot: Ec2Snapshot): CloudSnapshot {
  const startTime = isoDate(snapshot.StartTime);
  const progress = Number.parseFloat(snapshot.Progress ?? "");
  return {
    snapshotId: snapshot.SnapshotId ?? "",
    region,
    state: snapshot.State ?? "",
    ...(startTime ? { startTime } : {}),
    ...(Number.isFinite(progress) ? { progress } : {}),
    ...(snapshot.Description ? { description: snapshot.Description } : {}),
    tags: fromTagList(snapshot.Tags),
  };
}

export function toCloudVolume(region: string, volume: Ec2Volume): CloudVolume {
  const createTime = isoDate(volume.CreateTime);
  const attachments: VolumeAttachment[] = (volume.Attachments ?? []).map((a) => ({
    instanceId: a.InstanceId ?? "",
    device: a.Device ?? "",
    state: (a.State ?? "attaching") as VolumeAttachment["state"],
  }));
  return {
    volumeId: volume.VolumeId ?? "",
    region,
    availabilityZone: volume.AvailabilityZone ?? "",
    state: (volume.State ?? "creating") as VolumeState,
    size: volume.Size ?? 0,
    ...(volume.VolumeType ? { volumeType: volume.VolumeType } : {}),
    ...(volume.SnapshotId ? { snapshotId: volume.SnapshotId } : {}),
    ...(createTime ? { createTime } : {}),
    attachments,
    tags: fromTagList(volume.Tags),
  };
}

export function toCloudLaunchTemplate(region: string, template: Ec2LaunchTemplate): CloudLaunchTemplate {
  return {
    launchTemplateId: template.LaunchTemplateId ?? "",
    region,
    name: template.LaunchTemplateName ?? "",
    createTime: isoDate(template.CreateTime) ?? "",
    tags: fromTagList(template.Tags),
  };
}
