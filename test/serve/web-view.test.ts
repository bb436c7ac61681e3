// The web view in a real headless Chromium (Debian's `chromium`, driven by playwright-core): the lineage
// graph has a node per spec with its phase, updates live while bakes and copies progress, and a click opens
// the spec's build history. A screenshot is written to test/output/web-view.png for review.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "../../controller/sim/server.ts";
import { scratchEstate } from "../support/cli-process.ts";
import { converged, type RunProcess, startRun } from "../support/run-process.ts";

const candidates = [process.env.LEAVEN_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
const executablePath = candidates.find((path): path is string => path !== undefined && existsSync(path));
const outputDir = fileURLToPath(new URL("../output/", import.meta.url));

if (!executablePath)
  console.warn(
    "test/serve/web-view.test.ts: skipped: no Chromium at /usr/bin/chromium (apt-get install chromium, or set LEAVEN_CHROMIUM)",
  );

describe.skipIf(executablePath === undefined)("the web view in headless Chromium", () => {
  let sim: Simulator;
  let run: RunProcess;
  let browser: Awaited<ReturnType<typeof chromium.launch>>;

  beforeAll(async () => {
    const dir = scratchEstate();
    // Slower than the CLI tests, so the page sees bakes in progress before they converge.
    sim = await startSimulator({ speed: 300, statePath: join(dir, "sim.json") });
    run = await startRun(dir, sim, ["--resync", "1h"]);
    browser = await chromium.launch({
      executablePath: executablePath!,
      headless: true,
      args: ["--no-sandbox"],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await run?.stop();
    await sim?.close();
  });

  it("draws a node per spec with its phase, live, and opens a spec's history on click", async () => {
    const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(`${run.url}/`);
    await page.waitForSelector("g.node[data-spec]", { timeout: 20_000 });
    const phasesSeen = new Set<string>();
    const readPhases = async () =>
      page.$$eval("g.node[data-spec]", (nodes) =>
        nodes.map(
          (node) => [node.getAttribute("data-spec"), node.getAttribute("data-phase")] as [string, string],
        ),
      );
    for (const [, phase] of await readPhases()) phasesSeen.add(phase);
    // Live: the page is never reloaded, yet every node ends Ready as the controller converges.
    const deadline = Date.now() + 50_000;
    let phases = await readPhases();
    while (!phases.every(([, phase]) => phase === "Ready") && Date.now() < deadline) {
      for (const [, phase] of phases) phasesSeen.add(phase);
      await page.waitForTimeout(100);
      phases = await readPhases();
    }
    const status = await run.status();
    expect(converged(status)).toBe(true);
    expect(phases.map(([name]) => name).sort()).toEqual(status.specs.map((s) => s.name).sort());
    expect(phases.every(([, phase]) => phase === "Ready")).toBe(true);
    // Before converging the page showed work in progress (the first pass had bakes to start).
    expect([...phasesSeen].some((phase) => phase !== "Ready")).toBe(true);
    // Edges: one per spec with a parent.
    expect(await page.locator("path.edge").count()).toBe(status.specs.filter((s) => s.parent).length);
    // Each channel's build is on its node.
    const api = status.specs.find((s) => s.name === "api-server")!;
    const node = page.locator('g.node[data-spec="api-server"]');
    expect(await node.textContent()).toContain(`release: ${api.channels.release!.build!.slice(0, 20)}`);

    await node.click();
    const history = page.locator('[data-testid="history"]');
    await history.waitFor({ timeout: 10_000 });
    await page.locator("#history .build").first().waitFor();
    const builds = await page.$$eval("#history .build", (items) =>
      items.map((i) => i.getAttribute("data-build")),
    );
    expect(builds).toContain(api.channels.release!.build);
    const rows = await page.locator("#history .build").first().locator("td.id").allTextContents();
    expect(rows.filter((id) => id.startsWith("ami-")).length).toBeGreaterThan(0);
    mkdirSync(outputDir, { recursive: true });
    await page.screenshot({ path: join(outputDir, "web-view.png"), fullPage: true });
    expect(errors).toEqual([]);
  });
});
