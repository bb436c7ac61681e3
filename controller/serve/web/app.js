// Leaven's web view: the lineage as a layered SVG graph (foundation → base → app), a spec's build history
// on click, live through Server-Sent Events from /events (falling back to polling /status). Plain ES module,
// no build step, no dependencies: the lineage is a DAG of depth 3, so a layered layout is done here.
const NODE_W = 270;
const COL_GAP = 90;
const ROW_GAP = 14;
const LAYERS = ["foundation", "base", "app", "unknown"];
const svgNs = "http://www.w3.org/2000/svg";

let status;
let selected;
let historyTimer;

const $ = (id) => document.getElementById(id);

function el(name, attrs = {}, text) {
  const node = document.createElementNS(svgNs, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function html(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children)
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function short(build) {
  if (!build) return "—";
  return build.length > 28 ? `${build.slice(0, 27)}…` : build;
}

/** Rows of text a node shows: its channels, each with its build and regions. */
function nodeLines(spec) {
  const lines = [];
  const outdated = new Set(spec.outdated ?? []);
  for (const [channel, value] of Object.entries(spec.channels)) {
    const regions = Object.keys(value.images).length;
    const old = value.build !== undefined && outdated.has(value.build);
    lines.push({
      text: `${channel}: ${short(value.build)} (${regions} region${regions === 1 ? "" : "s"})${old ? " outdated" : ""}`,
      cls: old ? "outdated" : "",
    });
  }
  if (spec.error) lines.push({ text: `${spec.error.file}:${spec.error.line}: error`, cls: "error" });
  return lines;
}

/** Layered layout: one column per layer; in a column, children follow the order of their parents. */
function layout(specs) {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const columns = LAYERS.map(() => []);
  for (const spec of specs) columns[Math.max(0, LAYERS.indexOf(spec.layer))].push(spec);
  const rank = new Map();
  const positions = new Map();
  let width = 0;
  let height = 0;
  let x = 16;
  for (const column of columns) {
    if (column.length === 0) continue;
    // Barycentre of one parent: its row; specs without a known parent keep their name order.
    column.sort((a, b) => {
      const ra = rank.get(a.parent?.spec) ?? -1;
      const rb = rank.get(b.parent?.spec) ?? -1;
      return ra - rb || a.name.localeCompare(b.name);
    });
    let y = 16;
    column.forEach((spec, index) => {
      rank.set(spec.name, index);
      const h = 40 + 14 * nodeLines(spec).length;
      positions.set(spec.name, { x, y, w: NODE_W, h });
      y += h + ROW_GAP;
    });
    height = Math.max(height, y);
    x += NODE_W + COL_GAP;
    width = x;
  }
  const edges = [];
  for (const spec of specs) {
    const parent = spec.parent?.spec;
    if (parent && byName.has(parent)) edges.push({ from: parent, to: spec.name, label: spec.parent.channel });
  }
  return { positions, edges, width, height };
}

function renderGraph() {
  const svg = $("graph");
  svg.replaceChildren();
  if (!status) return;
  const { positions, edges, width, height } = layout(status.specs);
  svg.setAttribute("width", Math.max(width, 400));
  svg.setAttribute("height", Math.max(height, 200));
  for (const edge of edges) {
    const a = positions.get(edge.from);
    const b = positions.get(edge.to);
    const x1 = a.x + a.w;
    const y1 = a.y + 20;
    const x2 = b.x;
    const y2 = b.y + 20;
    const mid = (x1 + x2) / 2;
    const path = el("path", { class: "edge", d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` });
    path.append(el("title", {}, `${edge.to} is baked on ${edge.from}/${edge.label}`));
    svg.append(path);
  }
  for (const spec of status.specs) {
    const p = positions.get(spec.name);
    const g = el("g", {
      class: `node${spec.name === selected ? " selected" : ""}`,
      transform: `translate(${p.x},${p.y})`,
      "data-spec": spec.name,
      "data-phase": spec.phase,
      tabindex: 0,
    });
    g.append(el("rect", { class: "box", width: p.w, height: p.h, rx: 6 }));
    g.append(el("text", { class: "name", x: 10, y: 17 }, spec.name));
    g.append(el("text", { class: "layer", x: 10, y: 31 }, spec.layer));
    const pw = 8 + spec.phase.length * 6.5;
    g.append(el("rect", { class: `phase-bg p-${spec.phase}`, x: p.w - pw - 8, y: 6, width: pw, height: 16 }));
    g.append(el("text", { class: `phase t-${spec.phase}`, x: p.w - pw - 4, y: 18 }, spec.phase));
    nodeLines(spec).forEach((line, i) => {
      g.append(el("text", { class: line.cls, x: 10, y: 48 + 14 * i }, line.text));
    });
    g.append(el("title", {}, spec.message));
    g.addEventListener("click", () => select(spec.name));
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter") select(spec.name);
    });
    svg.append(g);
  }
}

function renderSummary() {
  if (!status) return;
  const counts = new Map();
  for (const spec of status.specs) counts.set(spec.phase, (counts.get(spec.phase) ?? 0) + 1);
  const phases = [...counts].map(([phase, n]) => `${n} ${phase.toLowerCase()}`).join(", ");
  const when = status.lastPassAt ? new Date(status.lastPassAt).toLocaleTimeString() : "no pass yet";
  $("summary").textContent =
    `installation ${status.installation} · ${status.specs.length} specs: ${phases || "none"} · pass ${status.passes} at ${when}` +
    `${status.inFlight ? " · in flight" : ""}${status.commit ? ` · commit ${status.commit}` : ""}`;
  const problems = [
    ...status.diagnostics,
    ...(status.warnings ?? []).map((w) => `warning: ${w}`),
    ...(status.lastError ? [status.lastError] : []),
  ];
  $("errors").hidden = problems.length === 0;
  $("errors").textContent = problems.join("\n");
}

async function select(name) {
  selected = name;
  renderGraph();
  await renderHistory();
}

async function renderHistory() {
  if (!selected || !status) return;
  const spec = status.specs.find((s) => s.name === selected);
  const panel = $("panel");
  const body = $("panel-body");
  panel.hidden = false;
  if (!spec) {
    body.replaceChildren(html("h2", {}, selected), html("div", { class: "msg" }, "no longer defined"));
    return;
  }
  const header = [
    html("h2", {}, spec.name, html("span", { class: "tag" }, spec.phase)),
    html("div", { class: "msg" }, spec.message),
  ];
  if (spec.error)
    header.push(
      html(
        "div",
        { class: "err" },
        `${spec.error.file}:${spec.error.line}:${spec.error.column} ${spec.error.message}`,
      ),
    );
  if (spec.source) header.push(html("div", { class: "msg" }, `defined in ${spec.source}`));
  let history;
  try {
    const response = await fetch(`/builds/${encodeURIComponent(spec.name)}`);
    history = response.ok ? await response.json() : undefined;
  } catch {
    history = undefined;
  }
  if (selected !== spec.name) return;
  const section = html(
    "section",
    { id: "history", "data-testid": "history" },
    html("h3", {}, "Builds, newest first"),
  );
  if (!history || history.builds.length === 0)
    section.append(html("div", { class: "msg" }, "no builds observed yet"));
  for (const build of history?.builds ?? []) {
    const head = html("div", { class: "head" }, build.build);
    for (const channel of build.channels) head.append(html("span", { class: "tag" }, channel));
    if (build.outdated) head.append(html("span", { class: "tag outdated" }, "outdated"));
    if (build.failure) head.append(html("span", { class: "tag failed" }, "failed"));
    const rows = build.regions.map((region) =>
      html(
        "tr",
        {},
        html("td", {}, region.region),
        html("td", { class: `st-${region.state}` }, region.state),
        html("td", { class: "id" }, region.imageId ?? ""),
        html("td", {}, region.channels.join(", ")),
      ),
    );
    const table = html(
      "table",
      {},
      html("tr", {}, ...["region", "state", "image", "channels"].map((h) => html("th", {}, h))),
      ...rows,
    );
    const meta = [];
    if (build.created) meta.push(`created ${build.created}`);
    if (build.parent)
      meta.push(`on ${build.parent.spec}/${build.parent.channel ?? "?"} ${build.parent.build ?? ""}`);
    if (build.failure) meta.push(`failure: ${build.failure}`);
    section.append(
      html(
        "div",
        { class: "build", "data-build": build.build },
        head,
        html("div", { class: "msg" }, meta.join(" · ")),
        table,
      ),
    );
  }
  body.replaceChildren(...header, section);
}

function update(next) {
  status = next;
  renderSummary();
  renderGraph();
  // The open history follows progress, at most twice a second.
  if (selected && !historyTimer)
    historyTimer = setTimeout(() => {
      historyTimer = undefined;
      renderHistory();
    }, 500);
}

async function poll() {
  try {
    const response = await fetch("/status");
    update(await response.json());
  } catch {
    // The controller restarts: keep trying.
  }
  setTimeout(poll, 2000);
}

function connect() {
  if (!("EventSource" in window)) return poll();
  const events = new EventSource("/events");
  events.addEventListener("open", () => $("live").classList.add("on"));
  events.addEventListener("error", () => $("live").classList.remove("on"));
  events.addEventListener("status", (event) => update(JSON.parse(event.data)));
}

$("close").addEventListener("click", () => {
  selected = undefined;
  $("panel").hidden = true;
  renderGraph();
});
connect();
