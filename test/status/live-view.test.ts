// The live view as a user sees it: passes drawn into an emulated terminal (test/support/terminal.ts) of 80
// and of 160 columns, and the screen read back: no stale rows, the header, the actions in the scrollback.
import { describe, expect, it } from "vitest";
import type { CloudImage } from "../../controller/cloud/port.ts";
import type { ActionResult } from "../../controller/execute/executor.ts";
import { emptyInventory } from "../../controller/observe/inventory.ts";
import type { Action } from "../../controller/plan/actions.ts";
import type { Phase, SpecStatus } from "../../controller/plan/status.ts";
import type { PassResult } from "../../controller/reconcile/reconciler.ts";
import { LiveView } from "../../controller/status/progress.ts";
import { Terminal } from "../support/terminal.ts";

function status(name: string, phase: Phase, message: string): SpecStatus {
  return { name, layer: "app", phase, message, channels: {}, builds: [] };
}

function pass(
  number: number,
  statuses: SpecStatus[],
  executed: Action[] = [],
  options: { images?: CloudImage[]; results?: ActionResult[] } = {},
): PassResult {
  return {
    number,
    startedAt: 0,
    plan: { actions: executed, statuses, bakeRegions: [] },
    statuses,
    results: options.results ?? executed.map((action) => ({ actions: [action], ok: true })),
    inventory: { ...emptyInventory(), images: options.images ?? [] },
    executed,
    deferred: [],
    observation: { fullWalks: new Map(), reusedPlan: false, plannedAt: 0 },
  };
}

const launch = (spec: string, build: string): Action => ({
  kind: "launch-bake",
  spec,
  build,
  region: "us-east-1",
  reason: "no image of the build",
  launch: {
    imageId: "ami-0000000000000000a",
    instanceType: "t3.small",
    userData: "",
    clientToken: "t",
    tags: {},
  },
});

const moveRelease = (region: string, imageId: string): Action => ({
  kind: "set-tags",
  spec: "web-frontend",
  build: "3.2.1+aaaaaaaa",
  region,
  reason: "release selects it",
  imageId,
  tags: { "leaven.dev/channel/release": "true" },
});

function image(region: string, imageId: string, build: string): CloudImage {
  return {
    imageId,
    region,
    name: `web-frontend-${build}`,
    ownerId: "123456789012",
    state: "available",
    creationDate: "2026-11-01T00:00:00.000Z",
    snapshotIds: [],
    tags: {
      "leaven.dev/spec": "web-frontend",
      "leaven.dev/build": build,
      "leaven.dev/channel/release": "true",
    },
  };
}

const long =
  "1.14.2+b2a7f678: baking on i-26796b20605a9b12e (27s of 25m); channel candidate: no ready build yet; channel release: no ready build yet";

/** Three passes: two bakes launched, a heartbeat, then images created and web-frontend's release moved. */
function drive(terminal: Terminal): void {
  let wall = 0;
  const view = new LiveView(terminal.stream(), { simulated: true, wallNow: () => wall });
  const waiting = (name: string) =>
    status(name, "Waiting", `waiting for ubuntu-base/release: no ready build yet`);
  view.update(
    pass(
      1,
      [
        status(
          "ubuntu-base",
          "Baking",
          "2.3.0+02f849ac: launching the bake instance; channel candidate: none",
        ),
        status("api-server", "Baking", long),
        waiting("ledger"),
        waiting("payments"),
        status("web-frontend", "Promoting", "moving 2 channel tag(s)"),
      ],
      [launch("ubuntu-base", "2.3.0+02f849ac"), launch("api-server", "1.14.2+b2a7f678")],
    ),
    72,
  );
  wall = 4_000;
  view.update(
    pass(2, [
      status("ubuntu-base", "Baking", "2.3.0+02f849ac: baking on i-0fbab69242c8fcf0c1 (20s of 30m)"),
      status("api-server", "Baking", long),
      waiting("ledger"),
      waiting("payments"),
      status("web-frontend", "Promoting", "moving 2 channel tag(s)"),
    ]),
    87,
  );
  wall = 9_000;
  view.update(
    pass(
      3,
      [
        status("ubuntu-base", "Copying", "2.3.0+02f849ac: copying to eu-west-1"),
        status("api-server", "Baking", long),
        waiting("ledger"),
        waiting("payments"),
        status("web-frontend", "Ready", "3.2.1+aaaaaaaa is ready in 2 region(s)"),
      ],
      [moveRelease("us-east-1", "ami-0000000000000000b"), moveRelease("eu-west-1", "ami-0000000000000000c")],
      {
        images: [
          image("us-east-1", "ami-00000000000000001", "3.2.0+befeaea5"),
          image("eu-west-1", "ami-00000000000000002", "3.2.0+befeaea5"),
        ],
      },
    ),
    125,
  );
}

describe("the live view on a terminal", () => {
  it("redraws in place at 80 columns: lines cut at a word to fit, the actions kept above in the scrollback", () => {
    const terminal = new Terminal(80);
    drive(terminal);
    expect(terminal.text()).toEqual([
      "t+1m12s   launched bake instance for ubuntu-base 2.3.0+02f849ac in us-east-1",
      "t+1m12s   launched bake instance for api-server 1.14.2+b2a7f678 in us-east-1",
      "t+2m05s   moved release of web-frontend from 3.2.0+befeaea5 to 3.2.1+aaaaaaaa",
      "          in us-east-1, eu-west-1",
      "t+2m05s   web-frontend: Promoting → Ready",
      "pass 3 · 9s elapsed · sim t+2m05s · ready 1, baking 1, copying 1, waiting 2",
      "  ubuntu-base  Copying  2.3.0+02f849ac: copying to eu-west-1",
      "  api-server   Baking   1.14.2+b2a7f678: baking on i-26796b20605a9b12e (27s of…",
      "  waiting for a parent: ledger, payments",
    ]);
    for (const row of terminal.text()) expect(row.length).toBeLessThan(80);
  });

  it("uses the room of a 160-column terminal", () => {
    const terminal = new Terminal(160);
    drive(terminal);
    expect(terminal.text()).toEqual([
      "t+1m12s   launched bake instance for ubuntu-base 2.3.0+02f849ac in us-east-1",
      "t+1m12s   launched bake instance for api-server 1.14.2+b2a7f678 in us-east-1",
      "t+2m05s   moved release of web-frontend from 3.2.0+befeaea5 to 3.2.1+aaaaaaaa in us-east-1, eu-west-1",
      "t+2m05s   web-frontend: Promoting → Ready",
      "pass 3 · 9s elapsed · sim t+2m05s · ready 1, baking 1, copying 1, waiting 2",
      "  ubuntu-base  Copying  2.3.0+02f849ac: copying to eu-west-1",
      "  api-server   Baking   1.14.2+b2a7f678: baking on i-26796b20605a9b12e (27s of 25m)",
      "  waiting for a parent: ledger, payments",
    ]);
  });

  it("lines up the actions of t+4s and of t+15m59s under each other", () => {
    const terminal = new Terminal(80);
    const view = new LiveView(terminal.stream(), { simulated: true, wallNow: () => 0 });
    view.update(pass(1, [], [launch("ubuntu-base", "2.3.0+02f849ac")]), 4);
    view.update(pass(2, [], [launch("api-server", "1.14.2+b2a7f678")]), 959);
    expect(terminal.text().slice(0, 2)).toEqual([
      "t+4s      launched bake instance for ubuntu-base 2.3.0+02f849ac in us-east-1",
      "t+15m59s  launched bake instance for api-server 1.14.2+b2a7f678 in us-east-1",
    ]);
  });

  it("never draws a block taller than the screen, which could not be redrawn in place", () => {
    const terminal = new Terminal(80, 5);
    const view = new LiveView(terminal.stream(), { simulated: false, wallNow: () => 0 });
    const baking = ["a", "b", "c", "d", "e", "f"].map((name) => status(`spec-${name}`, "Baking", "baking"));
    view.update(pass(1, baking), 10);
    view.update(pass(2, baking), 20);
    expect(terminal.text()).toEqual([
      "pass 2 · 0s elapsed · baking 6",
      "  spec-a  Baking  baking",
      "  spec-b  Baking  baking",
      "  … and 4 more in flight",
    ]);
  });

  it("keeps a failed action and a spec that failed in the scrollback, and the failed spec in the block", () => {
    const terminal = new Terminal(80);
    const view = new LiveView(terminal.stream(), { simulated: false, wallNow: () => 0 });
    view.update(pass(1, [status("ledger", "Baking", "2.0.3+acf9bef7: baking on i-1 (2m of 25m)")]), 60);
    const relaunch = launch("ledger", "2.0.3+acf9bef7");
    view.update(
      pass(
        2,
        [
          status(
            "ledger",
            "Failed",
            "build 2.0.3+acf9bef7 failed: bake script failed: provision script exited with status 1; channel release: none",
          ),
        ],
        [relaunch],
        { results: [{ actions: [relaunch], ok: false, error: "InsufficientInstanceCapacity: none left" }] },
      ),
      75,
    );
    expect(terminal.text()).toEqual([
      "t+1m15s   launch-bake of ledger 2.0.3+acf9bef7 in us-east-1 failed:",
      "          InsufficientInstanceCapacity: none left",
      "t+1m15s   ledger: Baking → Failed — build 2.0.3+acf9bef7 failed: bake script",
      "          failed: provision script exited with status 1",
      "pass 2 · 0s elapsed · failed 1",
      "  ledger  Failed  build 2.0.3+acf9bef7 failed: bake script failed: provision…",
    ]);
  });

  it("prints a warning above the block, and clears the block for the final table", () => {
    const terminal = new Terminal(80);
    const view = new LiveView(terminal.stream(), { simulated: false, wallNow: () => 0 });
    view.update(pass(1, [status("api-server", "Baking", "baking")]), 5);
    view.print(
      "warn: region not observed  region=eu-west-1 error=UnauthorizedOperation: You are not authorized to perform this operation.\n",
    );
    expect(terminal.text()).toEqual([
      "warn: region not observed region=eu-west-1 error=UnauthorizedOperation: You are",
      "  not authorized to perform this operation.",
      "pass 1 · 0s elapsed · baking 1",
      "  api-server  Baking  baking",
    ]);
    view.clear();
    expect(terminal.text()).toEqual([
      "warn: region not observed region=eu-west-1 error=UnauthorizedOperation: You are",
      "  not authorized to perform this operation.",
    ]);
  });

  it("leaves a JSON log line as it is (the terminal wraps it), and still redraws in place", () => {
    const terminal = new Terminal(40);
    const view = new LiveView(terminal.stream(), { simulated: false, wallNow: () => 0 });
    view.update(pass(1, [status("api-server", "Baking", "baking")]), 5);
    const json = '{"level":"warn","msg":"region not observed","region":"eu-west-1",  "x":1}';
    view.print(`${json}\n`);
    view.update(pass(2, [status("api-server", "Copying", "copying")]), 9);
    expect(terminal.text()).toEqual([
      json.slice(0, 40),
      json.slice(40),
      "pass 2 · 0s elapsed · copying 1",
      "  api-server  Copying  copying",
    ]);
  });
});

describe("the live view after the terminal is resized", () => {
  const wide =
    "2.3.0+02f849ac: baking on i-0fbab69242c8fcf0c1 (20s of 30m); channel candidate: no ready build yet; channel release: no ready build yet; parent al2023/release";
  const statuses = (copying: string) => [
    status("ubuntu-base", "Baking", wide),
    status("api-server", "Copying", `1.14.2+b2a7f678: copying to ${copying}`),
  ];
  const block80 = [
    "pass 2 · 0s elapsed · baking 1, copying 1",
    "  ubuntu-base  Baking   2.3.0+02f849ac: baking on i-0fbab69242c8fcf0c1 (20s of…",
    "  api-server   Copying  1.14.2+b2a7f678: copying to eu-west-1",
  ];

  it("redraws at once, cut to the new width, over every row the terminal re-wrapped", () => {
    const terminal = new Terminal(160);
    const view = new LiveView(terminal.stream(), { simulated: false, wallNow: () => 0 });
    view.update(pass(1, statuses("us-west-2")), 5);
    expect(terminal.text()[1]!.length).toBeGreaterThan(80);
    terminal.resize(80);
    expect(terminal.text()).toEqual([
      "pass 1 · 0s elapsed · baking 1, copying 1",
      "  ubuntu-base  Baking   2.3.0+02f849ac: baking on i-0fbab69242c8fcf0c1 (20s of…",
      "  api-server   Copying  1.14.2+b2a7f678: copying to us-west-2",
    ]);
    view.update(pass(2, statuses("eu-west-1")), 9);
    expect(terminal.text()).toEqual(block80);
  });

  it("counts the re-wrapped rows at the next redraw on a stream that does not say it was resized", () => {
    const terminal = new Terminal(160);
    const stream = { write: (text: string) => terminal.feed(text), rows: 24, columns: 160 };
    const view = new LiveView(stream, { simulated: false, wallNow: () => 0 });
    view.update(pass(1, statuses("us-west-2")), 5);
    terminal.resize(80);
    stream.columns = 80;
    view.update(pass(2, statuses("eu-west-1")), 9);
    expect(terminal.text()).toEqual(block80);
  });
});

describe("the test terminal", () => {
  it("re-wraps its lines at a new width, the cursor staying where it was", () => {
    const terminal = new Terminal(10);
    terminal.feed("0123456789abc\nnext\n");
    terminal.resize(5);
    expect(terminal.text()).toEqual(["01234", "56789", "abc", "next"]);
    terminal.feed("z\n");
    expect(terminal.text()).toEqual(["01234", "56789", "abc", "next", "z"]);
    terminal.resize(20);
    expect(terminal.text()).toEqual(["0123456789abc", "next", "z"]);
  });

  it("wraps a long line and moves up over the rows it took", () => {
    const terminal = new Terminal(10);
    terminal.feed("0123456789abc\nnext\n");
    expect(terminal.text()).toEqual(["0123456789", "abc", "next"]);
    terminal.feed("\r\x1b[2A\x1b[Jz\n");
    expect(terminal.text()).toEqual(["0123456789", "z"]);
  });
});
