// The embedded EC2-compatible simulator: an HTTP server on loopback that speaks the EC2 Query protocol,
// so the unchanged @aws-sdk/client-ec2 talks to it with only the endpoint changed.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { acceleratedClock, type Clock } from "../cloud/clock.ts";
import { actionClassOf, bucketFor } from "../cloud/rate-limits.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import { accountOfAccessKey } from "./accounts.ts";
import { type AwkwardOptions, resolveAwkward } from "./awkward.ts";
import { SimBucket } from "./buckets.ts";
import { CLOCK_PATH } from "./clock-path.ts";
import type { ActionHandler, RequestContext } from "./context.ts";
import { describeRegions } from "./describe-regions.ts";
import { createDynamoDbService, DYNAMODB_CONTENT_TYPE, isDynamoDbRequest } from "./dynamodb.ts";
import {
  disableEbsEncryptionByDefault,
  enableEbsEncryptionByDefault,
  getEbsDefaultKmsKeyId,
  getEbsEncryptionByDefault,
} from "./encryption.ts";
import { SimError } from "./errors.ts";
import { type Faults, seededRandom } from "./faults.ts";
import {
  copyImage,
  createImage,
  deregisterImage,
  describeImageAttribute,
  describeImages,
  disableImage,
  disableImageDeprecation,
  enableImage,
  enableImageDeprecation,
  modifyImageAttribute,
  type SeedImage,
  seedImages,
} from "./images.ts";
import {
  describeInstances,
  getConsoleOutput,
  runInstances,
  startInstances,
  stopInstances,
  terminateInstances,
} from "./instances.ts";
import {
  createLaunchTemplate,
  createLaunchTemplateVersion,
  deleteLaunchTemplate,
  describeLaunchTemplates,
  describeLaunchTemplateVersions,
  modifyLaunchTemplate,
} from "./launch-templates.ts";
import { ListingCache } from "./pagination.ts";
import { accessKeyFromAuthorization, Params, regionFromAuthorization } from "./query-protocol.ts";
import { isSimRegion, SIM_REGIONS } from "./regions.ts";
import { createS3Service, isS3Request } from "./s3.ts";
import {
  deleteSnapshot,
  describeSnapshotAttribute,
  describeSnapshots,
  modifySnapshotAttribute,
} from "./snapshots.ts";
import { createSsmService, isSsmRequest, SSM_CONTENT_TYPE } from "./ssm.ts";
import {
  type ClockAnchor,
  readClockFile,
  removeStaleTempFiles,
  resumeTime,
  writeClockFile,
} from "./state-files.ts";
import { createTags, deleteTags } from "./tags.ts";
import { vendorImages } from "./vendor-images.ts";
import {
  attachVolume,
  createSnapshot,
  createVolume,
  deleteVolume,
  describeVolumes,
  detachVolume,
  registerImage,
} from "./volumes.ts";
import { DEFAULT_TIMINGS, type SimTimings, World } from "./world.ts";
import { errorXml, responseXml } from "./xml.ts";

const HANDLERS: Readonly<Record<string, ActionHandler>> = {
  DescribeRegions: describeRegions,
  DescribeImages: describeImages,
  CreateImage: createImage,
  CopyImage: copyImage,
  DeregisterImage: deregisterImage,
  ModifyImageAttribute: modifyImageAttribute,
  DescribeImageAttribute: describeImageAttribute,
  EnableImageDeprecation: enableImageDeprecation,
  DisableImage: disableImage,
  EnableImage: enableImage,
  DisableImageDeprecation: disableImageDeprecation,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  StartInstances: startInstances,
  StopInstances: stopInstances,
  TerminateInstances: terminateInstances,
  GetConsoleOutput: getConsoleOutput,
  DescribeSnapshots: describeSnapshots,
  DeleteSnapshot: deleteSnapshot,
  ModifySnapshotAttribute: modifySnapshotAttribute,
  DescribeSnapshotAttribute: describeSnapshotAttribute,
  CreateLaunchTemplate: createLaunchTemplate,
  DescribeLaunchTemplates: describeLaunchTemplates,
  DeleteLaunchTemplate: deleteLaunchTemplate,
  CreateLaunchTemplateVersion: createLaunchTemplateVersion,
  ModifyLaunchTemplate: modifyLaunchTemplate,
  DescribeLaunchTemplateVersions: describeLaunchTemplateVersions,
  GetEbsEncryptionByDefault: getEbsEncryptionByDefault,
  EnableEbsEncryptionByDefault: enableEbsEncryptionByDefault,
  DisableEbsEncryptionByDefault: disableEbsEncryptionByDefault,
  GetEbsDefaultKmsKeyId: getEbsDefaultKmsKeyId,
  CreateVolume: createVolume,
  DescribeVolumes: describeVolumes,
  AttachVolume: attachVolume,
  DetachVolume: detachVolume,
  DeleteVolume: deleteVolume,
  CreateSnapshot: createSnapshot,
  RegisterImage: registerImage,
};

export { CLOCK_PATH };

/** Wall ms between two notes of the clock in the clock file. */
const CLOCK_TICK_MS = 1000;

/** The actions the simulator implements. */
export const SIM_ACTIONS: readonly string[] = Object.keys(HANDLERS);

export interface SimulatorOptions {
  /** Default 0: any free port. Always bound to 127.0.0.1. */
  port?: number;
  /** Persist the world here (atomically, after every mutating request); in memory when absent. */
  statePath?: string;
  /** An injected clock (tests); otherwise a clock `speed` times faster than wall time. */
  clock?: Clock;
  /** Default 1. Ignored when `clock` is given. */
  speed?: number;
  /** Default true: EC2's token buckets, one per account, region and action (rate-limits.ts bucketFor). */
  throttle?: boolean;
  faults?: Faults;
  timings?: Partial<SimTimings>;
  logger?: Logger;
  /** AMI copies that may be pending into one region (default EC2's, 300); more fail with ResourceLimitExceeded. */
  concurrentCopyLimit?: number;
  /**
   * Default off: behave "as awkward as EC2" (awkward.ts): the console buffer, client-token lifetimes, eventual
   * consistency, a second account and EBS encryption by default. `true` is all of them with their defaults;
   * an object overrides the defaults (`{ consistency: false }`, `{ ...AWKWARD_NONE, console: true }`).
   */
  awkward?: boolean | Partial<AwkwardOptions>;
  /**
   * Default false: a restart resumes the clock where it stood when last saved (the embedded simulator, whose
   * client stops with it). True (`leaven sim`): the clock went on at its speed while stopped, as the clients'
   * copies of it did, so after a kill -9 and a restart it agrees with them again; and the clock is noted
   * every second in a clock file beside the state (state-files.ts), in case the wall clock is set back.
   */
  clockRunsWhileStopped?: boolean;
}

export interface SimStats {
  requests: number;
  byAction: Record<string, number>;
  byRegion: Record<string, number>;
  /** Requests answered RequestLimitExceeded (by a bucket or an injected fault). */
  throttled: number;
  /** `throttled` by action, e.g. { CopyImage: 3 }. */
  throttledByAction: Record<string, number>;
  /** Of `throttled`, those a bucket would have let through but for the noisy neighbour (Faults.noisyNeighbour). */
  throttledByNeighbour: number;
  /** Requests for actions that change state (anything but Describe and Get calls), whatever their outcome. */
  mutating: number;
  /** Error responses by error code. */
  errors: Record<string, number>;
}

export interface Simulator {
  /** `http://127.0.0.1:<port>`: pass as `endpoint` to EC2Client. */
  endpoint: string;
  port: number;
  clock: Clock;
  statePath: string | undefined;
  world: World;
  /** The awkward behaviours in force (all off unless SimulatorOptions.awkward asked for them). */
  awkward: AwkwardOptions;
  setFaults(faults: Faults): void;
  faults(): Faults;
  stats(): SimStats;
  resetStats(): void;
  /** Creates available, caller-owned images without HTTP (benchmarks); returns their ids. */
  seedImages(images: readonly SeedImage[]): string[];
  /** Temp files of writers killed mid-write that this start deleted, with their total size. */
  removedTempFiles: { files: string[]; bytes: number };
  /** Persists the world (when a state path is set) and stops listening. */
  close(): Promise<void>;
}

function emptyStats(): SimStats {
  return {
    requests: 0,
    byAction: {},
    byRegion: {},
    throttled: 0,
    throttledByNeighbour: 0,
    throttledByAction: {},
    mutating: 0,
    errors: {},
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** The clock file's note, unless the state file was saved after it (by a simulator that keeps no clock file). */
function clockNote(statePath: string, stateSavedAt: number | undefined): ClockAnchor | undefined {
  const note = readClockFile(statePath);
  return note && (stateSavedAt === undefined || note.savedAt >= stateSavedAt) ? note : undefined;
}

function makeWorld(options: SimulatorOptions, timings: SimTimings): World {
  const persisted = options.statePath ? World.readPersisted(options.statePath) : undefined;
  // Time never goes backwards across restarts: the clock resumes from the later of the state file's time
  // (saved with every change) and the clock file's (rewritten every second), continued across the stop
  // when its clients kept running.
  const wallNow = Date.now();
  const resume = resumeTime(
    [
      persisted && {
        clockNow: persisted.clockNow,
        savedAt: persisted.savedAt ?? wallNow,
        speed: persisted.speed ?? 0,
      },
      persisted && options.statePath ? clockNote(options.statePath, persisted.savedAt) : undefined,
    ],
    wallNow,
    options.clockRunsWhileStopped ?? false,
  );
  const speed = options.clock ? 1 : (options.speed ?? 1);
  const clock = options.clock ?? acceleratedClock(speed, resume ?? wallNow);
  const world = persisted
    ? World.fromPersisted(persisted, clock, timings)
    : new World(clock, timings, clock.now());
  world.clockSpeed = speed;
  if (persisted) return world;
  for (const region of SIM_REGIONS) {
    for (const image of vendorImages(region, world.epoch)) world.addImage(region, image);
  }
  return world;
}

/** Starts the simulator; resolves once it is listening. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const awkward = resolveAwkward(options.awkward);
  const timings: SimTimings = { ...DEFAULT_TIMINGS, ...options.timings };
  const removedTempFiles = options.statePath
    ? removeStaleTempFiles(options.statePath)
    : { files: [], bytes: 0 };
  const world = makeWorld(options, timings);
  if (options.concurrentCopyLimit !== undefined) world.concurrentCopyLimit = options.concurrentCopyLimit;
  const clock = world.clock;
  const logger = options.logger ?? silentLogger;
  const statePath = options.statePath;
  const throttle = options.throttle ?? true;
  const listings = new ListingCache();
  const buckets = new Map<string, SimBucket>();
  let faults: Faults = { ...options.faults };
  let random = seededRandom(faults.seed ?? 1);
  let stats = emptyStats();
  let requestCounter = 0;

  const save = () => {
    if (statePath) world.save(statePath);
  };
  // The clock file is for a simulator whose clients outlive it (`leaven sim`): the embedded simulator's
  // client dies with it, nobody sees its clock go back, and a file rewritten every second beside specs
  // that `leaven run` watches would wake it every second.
  const clockFile = statePath !== undefined && options.clockRunsWhileStopped === true;
  const saveClock = () => {
    if (statePath && clockFile) writeClockFile(statePath, world.clockAnchor());
  };
  if (statePath) {
    save();
    saveClock();
  }
  // Between changes only the clock moves: note it every second, cheaply, for a restart after a kill -9.
  // A note that cannot be written (the folder was removed under a simulator nobody closed) is skipped:
  // the state file's own time still holds.
  const clockTick = clockFile
    ? setInterval(() => {
        try {
          saveClock();
        } catch (error) {
          logger.debug("simulator clock not noted", { error: String(error) });
        }
      }, CLOCK_TICK_MS)
    : undefined;
  clockTick?.unref();

  const neighbourRate = () => faults.noisyNeighbour ?? 0;
  /** EC2 keeps a bucket per account, region and action (unfiltered listings of some actions apart). */
  const bucket = (account: string, region: string, action: string, params: Params): SimBucket => {
    const unfilteredUnpaginated =
      params.indices("Filter").length === 0 &&
      params.get("MaxResults") === undefined &&
      params.get("NextToken") === undefined;
    const { key, size } = bucketFor(action, { unfilteredUnpaginated });
    const id = `${account}/${region}/${key}`;
    let found = buckets.get(id);
    if (!found) {
      found = new SimBucket(size, clock, neighbourRate);
      buckets.set(id, found);
    }
    return found;
  };

  const count = (record: Record<string, number>, key: string) => {
    record[key] = (record[key] ?? 0) + 1;
  };

  const handle = async (
    req: IncomingMessage,
    requestId: string,
  ): Promise<{ status: number; body: string }> => {
    if (faults.latencyMs) await sleep(faults.latencyMs);
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const body = req.method === "POST" ? await readBody(req) : url.search.slice(1);
    const params = Params.fromForm(body);
    const action = params.get("Action") ?? "";
    const region = regionFromAuthorization(req.headers.authorization);
    const account = accountOfAccessKey(
      accessKeyFromAuthorization(req.headers.authorization),
      awkward.consumerAccount,
    );
    stats.requests += 1;
    count(stats.byAction, action || "(none)");
    count(stats.byRegion, region);
    if (!isSimRegion(region)) {
      throw new SimError("AuthFailure", "AWS was not able to validate the provided access credentials", 401);
    }
    const handler = HANDLERS[action];
    if (!handler)
      throw new SimError(
        "InvalidAction",
        `The action ${action || "(none)"} is not valid for this web service.`,
      );
    const mutating = actionClassOf(action) !== "describe";
    if (mutating) stats.mutating += 1;
    const taken = throttle ? bucket(account, region, action, params).tryTake() : "taken";
    if (taken !== "taken" || (faults.throttleRate && random() < faults.throttleRate)) {
      stats.throttled += 1;
      count(stats.throttledByAction, action);
      if (taken === "throttled-by-neighbour") stats.throttledByNeighbour += 1;
      throw new SimError("RequestLimitExceeded", "Request limit exceeded.", 503);
    }
    if (faults.serverErrorRate && random() < faults.serverErrorRate) {
      throw random() < 0.5
        ? new SimError("InternalError", "An internal error has occurred", 500)
        : new SimError("Unavailable", "The server is overloaded and can't handle the request.", 503);
    }
    const ctx: RequestContext = {
      world,
      region,
      account,
      params,
      faults,
      listings,
      now: clock.now(),
      awkward,
      random: () => random(),
    };
    const result = handler(ctx);
    // Persist before answering, so whatever the caller saw acknowledged survives a kill -9.
    if (mutating) save();
    if (mutating && faults.lostResponseRate && random() < faults.lostResponseRate) {
      // Done and saved, but the caller hears only of a server error: its retry must not do it twice.
      throw random() < 0.5
        ? new SimError("InternalError", "An internal error has occurred", 500)
        : new SimError(
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
            503,
          );
    }
    return { status: 200, body: responseXml(action, requestId, result) };
  };

  // SSM Parameter Store, on the same endpoint: JSON requests whose x-amz-target names an AmazonSSM action.
  const ssm = createSsmService({
    world,
    clock,
    throttle,
    accountOf: (req) =>
      accountOfAccessKey(accessKeyFromAuthorization(req.headers.authorization), awkward.consumerAccount),
    faults: () => faults,
    awkward,
    random: () => random(),
    stats: () => stats,
    save,
  });
  /**
   * Answers one request of a JSON-protocol service (SSM, DynamoDB): its handler's answer, a 500 with the
   * service's error type when the handler throws, or nothing at all when the answer is to be lost (the
   * change is made and saved; the caller never hears of it).
   */
  const respondJson =
    (
      service: {
        handle(req: IncomingMessage, raw: string): Promise<{ status: number; body: string; lost?: boolean }>;
      },
      contentType: string,
      internalError: { __type: string; message: string },
    ) =>
    (req: IncomingMessage, res: ServerResponse, requestId: string) => {
      readBody(req)
        .then((raw) => service.handle(req, raw))
        .catch((error: unknown) => {
          logger.error("simulator request failed", { error: String((error as Error)?.stack ?? error) });
          count(stats.errors, "InternalServerError");
          return { status: 500, body: JSON.stringify(internalError), lost: false };
        })
        .then(({ status, body, lost }) => {
          if (lost) {
            res.socket?.destroy();
            return;
          }
          res.writeHead(status, {
            "content-type": contentType,
            "content-length": Buffer.byteLength(body),
            "x-amzn-requestid": requestId,
          });
          res.end(body);
        });
    };
  const respondSsm = respondJson(ssm, SSM_CONTENT_TYPE, {
    __type: "InternalServerError",
    message: "An error occurred on the server side.",
  });

  // DynamoDB (the installation lock's table), on the same endpoint: JSON 1.0 requests whose x-amz-target
  // names a DynamoDB_20120810 operation.
  const dynamodb = createDynamoDbService({
    world,
    clock,
    accountOf: (req) =>
      accountOfAccessKey(accessKeyFromAuthorization(req.headers.authorization), awkward.consumerAccount),
    faults: () => faults,
    random: () => random(),
    stats: () => stats,
    save,
  });
  const respondDynamoDb = respondJson(dynamodb, DYNAMODB_CONTENT_TYPE, {
    __type: "com.amazonaws.dynamodb.v20120810#InternalServerError",
    message: "Internal server error",
  });

  // S3, path-style under /s3 (the package manifests' bucket).
  const s3 = createS3Service({
    world,
    consumerAccounts: awkward.consumerAccount,
    now: () => clock.now(),
    count: (operation, mutating) => {
      stats.requests += 1;
      count(stats.byAction, operation);
      if (mutating) stats.mutating += 1;
    },
    countError: (code) => count(stats.errors, code),
    save,
  });

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (isS3Request(req)) {
      s3(req, res);
      return;
    }
    if (req.method === "GET" && req.url === CLOCK_PATH) {
      // Not EC2: lets a controller attached to a standalone simulator share its accelerated clock.
      const body = JSON.stringify({ now: clock.now(), speed: options.clock ? 1 : (options.speed ?? 1) });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    requestCounter += 1;
    const hex = createHash("sha256").update(`request:${requestCounter}`).digest("hex");
    const requestId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
    if (isSsmRequest(req)) {
      respondSsm(req, res, requestId);
      return;
    }
    if (isDynamoDbRequest(req)) {
      respondDynamoDb(req, res, requestId);
      return;
    }
    handle(req, requestId)
      .catch((error: unknown) => {
        if (error instanceof SimError) {
          count(stats.errors, error.code);
          return { status: error.status, body: errorXml(error.code, error.message, requestId) };
        }
        logger.error("simulator request failed", { error: String((error as Error)?.stack ?? error) });
        count(stats.errors, "InternalError");
        return { status: 500, body: errorXml("InternalError", "An internal error has occurred", requestId) };
      })
      .then(({ status, body }) => {
        res.writeHead(status, {
          "content-type": "text/xml;charset=UTF-8",
          "content-length": Buffer.byteLength(body),
          "x-amzn-requestid": requestId,
        });
        res.end(body);
      });
  };

  const server = createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.debug("simulator listening", { port, statePath });

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    clock,
    statePath,
    world,
    awkward,
    setFaults(next) {
      // The neighbour's draw so far was at the old rate.
      for (const found of buckets.values()) found.settle();
      faults = { ...next };
      random = seededRandom(faults.seed ?? 1);
    },
    faults: () => ({ ...faults }),
    stats: () => structuredClone(stats),
    resetStats() {
      stats = emptyStats();
    },
    seedImages(images) {
      const ids = seedImages(world, images);
      save();
      return ids;
    },
    removedTempFiles,
    close: async () => {
      clearInterval(clockTick);
      save();
      saveClock();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
