// planPublishing, table by table: what is put, what is left alone, what is deleted and why, and what the
// status says when a parameter is not Leaven's or cannot be seen.
import { describe, expect, it } from "vitest";
import type { ObservedParameter } from "../../controller/observe/inventory.ts";
import type { ChannelResolution } from "../../controller/plan/foundation.ts";
import { type PublishInput, planPublishing } from "../../controller/plan/publish.ts";
import type { ValidSpec } from "../../controller/validation/result.ts";
import { inventory, spec } from "./builders.ts";

const app = (overrides: Parameters<typeof spec>[1] extends infer B ? Partial<B> : never = {}): ValidSpec =>
  spec("api", {
    layer: "app",
    parent: { spec: "base", channel: "release" },
    version: "1.0.0",
    regions: ["us-east-1", "eu-west-1"],
    channels: { release: { latest: true } },
    ...overrides,
  });

const release: ChannelResolution = {
  ok: true,
  value: {
    build: "1.0.0+aaaaaaaa",
    images: new Map([
      ["us-east-1", "ami-0000000000000000a"],
      ["eu-west-1", "ami-0000000000000000b"],
    ]),
  },
};

const OWNED_TAGS = {
  "leaven.dev/managed-by": "leaven",
  "leaven.dev/installation": "default",
  "leaven.dev/spec": "api",
  "leaven.dev/channel": "release",
};

function param(
  region: string,
  name: string,
  value: string,
  owned = true,
  tags?: Record<string, string>,
): ObservedParameter {
  return { region, name, value, version: 3, owned, ...(tags ? { tags } : {}) };
}

function input(parts: {
  specs?: ValidSpec[];
  parameters?: ObservedParameter[];
  regions?: string[];
  channels?: Map<string, ChannelResolution>;
  extra?: Partial<PublishInput>;
}): PublishInput {
  const specs = parts.specs ?? [app()];
  return {
    specs,
    channels: new Map(specs.map((s) => [s.name, parts.channels ?? new Map([["release", release]])])),
    inventory: inventory({
      parameters: parts.parameters ?? [],
      parameterRegions: parts.regions ?? ["eu-west-1", "us-east-1"],
    }),
    ...parts.extra,
  };
}

describe("planPublishing: puts", () => {
  it("creates a missing parameter with Leaven's tags, per region", () => {
    const plan = planPublishing(
      input({ parameters: [param("eu-west-1", "/leaven/api/release", "ami-0000000000000000b")] }),
    );
    expect(plan.actions).toEqual([
      {
        kind: "put-parameter",
        spec: "api",
        region: "us-east-1",
        channel: "release",
        build: "1.0.0+aaaaaaaa",
        parameter: {
          name: "/leaven/api/release",
          value: "ami-0000000000000000a",
          dataType: "aws:ec2:image",
          overwrite: false,
          tags: OWNED_TAGS,
        },
        reason:
          "channel release of api is 1.0.0+aaaaaaaa (ami-0000000000000000a) in us-east-1 and is not published yet",
      },
    ]);
    expect(plan.notes).toEqual(new Map());
  });

  it("overwrites Leaven's own parameter, without tags, only when its value differs", () => {
    const plan = planPublishing(
      input({
        parameters: [
          param("us-east-1", "/leaven/api/release", "ami-0000000000000000a"),
          param("eu-west-1", "/leaven/api/release", "ami-00000000000000old"),
        ],
      }),
    );
    expect(plan.actions).toEqual([
      {
        kind: "put-parameter",
        spec: "api",
        region: "eu-west-1",
        channel: "release",
        build: "1.0.0+aaaaaaaa",
        parameter: {
          name: "/leaven/api/release",
          value: "ami-0000000000000000b",
          dataType: "aws:ec2:image",
          overwrite: true,
        },
        previous: { value: "ami-00000000000000old", version: 3 },
        reason:
          "channel release of api moved to 1.0.0+aaaaaaaa (ami-0000000000000000b) in eu-west-1; the parameter holds ami-00000000000000old",
      },
    ]);
  });

  it("publishes under spec.publish.prefix, and not at all with publish.ssm false", () => {
    const custom = planPublishing(input({ specs: [app({ publish: { prefix: "/platform/images" } })] }));
    expect(custom.actions.map((a) => [a.region, a.kind === "put-parameter" && a.parameter.name])).toEqual([
      ["us-east-1", "/platform/images/api/release"],
      ["eu-west-1", "/platform/images/api/release"],
    ]);
    expect(planPublishing(input({ specs: [app({ publish: { ssm: false } })] })).actions).toEqual([]);
  });

  it("leaves a parameter as it is while its channel does not resolve or has no image in the region", () => {
    const parameters = [
      param("us-east-1", "/leaven/api/release", "ami-00000000000000old"),
      param("eu-west-1", "/leaven/api/release", "ami-00000000000000old"),
    ];
    const unresolved = new Map<string, ChannelResolution>([
      ["release", { ok: false, message: "no ready build yet" }],
    ]);
    expect(planPublishing(input({ parameters, channels: unresolved })).actions).toEqual([]);
    const homeOnly = new Map<string, ChannelResolution>([
      [
        "release",
        {
          ok: true,
          value: { build: "1.0.0+aaaaaaaa", images: new Map([["us-east-1", "ami-0000000000000000a"]]) },
        },
      ],
    ]);
    expect(planPublishing(input({ parameters, channels: homeOnly })).actions.map((a) => a.region)).toEqual([
      "us-east-1",
    ]);
  });
});

describe("planPublishing: parameters Leaven does not own", () => {
  it("never overwrites one without Leaven's tags, and stalls the spec naming it", () => {
    const plan = planPublishing(
      input({
        parameters: [
          param("us-east-1", "/leaven/api/release", "ami-0000000000000000a"),
          param("eu-west-1", "/leaven/api/release", "ami-0000000000000bad0", false, { team: "web" }),
        ],
      }),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.stalled).toEqual(new Set(["api"]));
    expect(plan.notes.get("api")).toEqual([
      "publishing blocked: parameter /leaven/api/release in eu-west-1 is not Leaven's (it has no leaven.dev/managed-by tag), and Leaven never overwrites it; delete it (aws ssm delete-parameter --region eu-west-1 --name /leaven/api/release) or set spec.publish.prefix to another path",
    ]);
  });

  it("names another owner or installation when the tags say so", () => {
    const foreign = (tags: Record<string, string>) =>
      planPublishing(
        input({
          specs: [app({ regions: ["us-east-1"] })],
          parameters: [param("us-east-1", "/leaven/api/release", "ami-0000000000000000a", false, tags)],
        }),
      ).notes.get("api")?.[0];
    expect(foreign({ ...OWNED_TAGS, "leaven.dev/managed-by": "someone-else" })).toContain(
      `is not Leaven's (its leaven.dev/managed-by tag is "someone-else", not "leaven")`,
    );
    expect(foreign({ ...OWNED_TAGS, "leaven.dev/installation": "prod" })).toContain(
      `is not Leaven's (it belongs to installation "prod", not "default")`,
    );
  });

  it("never deletes a parameter it does not own, wherever it is", () => {
    const plan = planPublishing(
      input({ parameters: [param("us-east-1", "/leaven/gone/release", "ami-1", false)] }),
    );
    expect(plan.actions.filter((a) => a.kind === "delete-parameter")).toEqual([]);
  });
});

describe("planPublishing: deletes", () => {
  const stale = (name: string, region = "us-east-1") => param(region, name, "ami-00000000000000old");
  const deletes = (plan: ReturnType<typeof planPublishing>) =>
    plan.actions
      .filter((a) => a.kind === "delete-parameter")
      .map((a) => [a.spec, a.region, a.kind === "delete-parameter" && a.name, a.reason]);

  it.each([
    ["a spec that no longer exists", [app()], "/leaven/gone/release", "spec gone no longer exists"],
    [
      "a channel that no longer exists",
      [app()],
      "/leaven/api/candidate",
      "api has no channel candidate any more",
    ],
    [
      "publishing turned off",
      [app({ publish: { ssm: false } })],
      "/leaven/api/release",
      "api has publish.ssm: false",
    ],
    [
      "another prefix",
      [app({ publish: { prefix: "/images" } })],
      "/leaven/api/release",
      "api publishes under /images now",
    ],
    [
      "a region left",
      [app({ regions: ["eu-west-1"] })],
      "/leaven/api/release",
      "api is no longer in us-east-1",
    ],
  ] as const)("deletes Leaven's parameter of %s", (_, specs, name, reason) => {
    const plan = planPublishing(input({ specs: [...specs], parameters: [stale(name)] }));
    expect(deletes(plan)).toEqual([[name.split("/")[2], "us-east-1", name, reason]]);
  });

  it("deletes nothing while a document failed to load, nor for a blocked or suspended spec", () => {
    const gone = [stale("/leaven/gone/release")];
    expect(deletes(planPublishing(input({ parameters: gone, extra: { unattributedErrors: true } })))).toEqual(
      [],
    );
    expect(
      deletes(
        planPublishing(input({ parameters: gone, extra: { blocked: new Map([["gone", "invalid"]]) } })),
      ),
    ).toEqual([]);
    const suspended = app({ suspend: true, channels: {} });
    expect(
      planPublishing(input({ specs: [suspended], parameters: [stale("/leaven/api/release")] })).actions,
    ).toEqual([]);
  });

  it("leaves a Leaven parameter alone that does not read as <prefix>/<spec>/<channel>", () => {
    expect(deletes(planPublishing(input({ parameters: [stale("/leaven/deep/er/name")] })))).toEqual([]);
  });
});

describe("planPublishing: what could not be seen", () => {
  it("puts and deletes nothing in a region whose parameters could not be listed, and says so once", () => {
    const plan = planPublishing({
      ...input({}),
      inventory: inventory({
        parameters: [],
        parameterRegions: ["us-east-1"],
        parameterErrors: new Map([["eu-west-1", "AccessDeniedException: not authorized"]]),
      }),
    });
    expect(plan.actions.map((a) => a.region)).toEqual(["us-east-1"]);
    expect(plan.waiting).toEqual(new Set(["api"]));
    expect(plan.notes.get("api")).toEqual([
      "cannot list parameters in eu-west-1 (AccessDeniedException: not authorized); publishing there waits until it can",
    ]);
  });

  it("plans nothing when parameters were not observed at all", () => {
    const plan = planPublishing({ ...input({}), inventory: inventory({}) });
    expect(plan).toEqual({ actions: [], notes: new Map(), stalled: new Set(), waiting: new Set() });
  });
});
