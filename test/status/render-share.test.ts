// How `leaven plan` shows a share-image action: the exact permissions the image will have.
import { describe, expect, it } from "vitest";
import type { ShareImageAction } from "../../controller/plan/actions.ts";
import type { SpecStatus } from "../../controller/plan/status.ts";
import { renderPlan } from "../../controller/status/render-plan.ts";
import { verdictOf } from "../../controller/status/verdict.ts";

const status: SpecStatus = {
  name: "base",
  layer: "base",
  phase: "Ready",
  message: "ready",
  channels: {},
  builds: [],
};

function share(extra: Partial<ShareImageAction>): ShareImageAction {
  return {
    kind: "share-image",
    spec: "base",
    build: "1.0.0+0badcafe",
    region: "eu-west-1",
    imageId: "ami-0123456789abcdef0",
    permissions: {},
    snapshotIds: ["snap-0123456789abcdef0"],
    snapshotAccounts: [],
    shareHash: "29083c46fe4e",
    reason: "base shares with nobody now: permissions Leaven granted on ami-0123456789abcdef0 are removed",
    ...extra,
  };
}

function lines(action: ShareImageAction): string[] {
  const plan = { actions: [action], statuses: [status], bakeRegions: [] };
  const text = renderPlan(
    plan,
    verdictOf({ command: "plan", diagnostics: [], ...plan, regionErrors: new Map() }),
  );
  return text.split("\n").filter((line) => line.includes("share") && line.trim().startsWith("~"));
}

describe("renderPlan: share-image", () => {
  it("names who may launch, and the snapshots' accounts when they are shared", () => {
    expect(
      lines(
        share({
          permissions: {
            accounts: ["111122223333"],
            organizationArns: ["arn:aws:organizations::123456789012:organization/o-abc123"],
          },
          snapshotAccounts: ["111122223333"],
        }),
      ),
    ).toEqual([
      "  ~ share        eu-west-1      ami-0123456789abcdef0 (1.0.0+0badcafe) with exactly 111122223333, arn:aws:organizations::123456789012:organization/o-abc123; its snapshots with 111122223333",
    ]);
  });

  it("says nobody when the spec no longer shares", () => {
    expect(lines(share({}))).toEqual([
      "  ~ share        eu-west-1      ami-0123456789abcdef0 (1.0.0+0badcafe) with nobody",
    ]);
  });
});
