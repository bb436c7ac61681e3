// When the loop looks again while something is in flight. The poll interval suits transitions of minutes
// (an instance booting and provisioning, CreateImage). A volume bake is a chain of transitions of seconds — a
// volume created (~15 s), attached (~5 s), detached (~10 s), a snapshot of the changed blocks, RegisterImage
// of it (~20 s) — and a 15-second poll on each was a third of its time. Aminator waits on each of them in a
// tight loop; Leaven keeps one step per pass and looks again sooner instead: each pass names the soonest
// moment a transition it observed may have ended.
import { Tag } from "../api/tags.ts";
import type { Inventory } from "../observe/inventory.ts";
import { commandEnded } from "../observe/volume-bakes.ts";

/** How soon to look at a transition that takes seconds. */
export const SHORT_LOOK_MS = 5_000;

/** How long past a chroot bake's expected end it is still looked for at the short interval. */
const LATE_MS = 60_000;

export interface NextLook {
  /** Milliseconds from the pass's end. */
  ms: number;
  /** What is expected to change by then, for the debug log. */
  why: string;
}

/**
 * The soonest look worth taking before the poll interval, or undefined when nothing observed ends sooner.
 * A snapshot's end is estimated from its progress (time so far × what is left / what is done).
 */
export function nextLook(inventory: Inventory, now: number, pollMs: number): NextLook | undefined {
  let best: NextLook | undefined;
  const consider = (ms: number, why: string) => {
    const clamped = Math.max(SHORT_LOOK_MS, Math.round(ms));
    if (clamped < pollMs && (!best || clamped < best.ms)) best = { ms: clamped, why };
  };
  const bakes = inventory.volumeBakes;
  for (const volume of bakes?.volumes ?? []) {
    if (volume.state === "creating") consider(SHORT_LOOK_MS, `volume ${volume.volumeId} being created`);
    for (const attachment of volume.attachments)
      if (attachment.state === "attaching" || attachment.state === "detaching")
        consider(SHORT_LOOK_MS, `volume ${volume.volumeId} ${attachment.state}`);
  }
  for (const snapshot of bakes?.snapshots ?? []) {
    if (snapshot.state !== "pending") continue;
    const started = snapshot.startTime ? Date.parse(snapshot.startTime) : Number.NaN;
    const done = snapshot.progress ?? 0;
    const left =
      Number.isFinite(started) && done > 0 && done < 100
        ? ((now - started) * (100 - done)) / done
        : SHORT_LOOK_MS;
    consider(left, `snapshot ${snapshot.snapshotId} ${done}% done`);
  }
  // Only a pass that observed volume bakes has any of the rest in flight: the images are scanned once then
  // (they are the whole estate's), for the home images being registered and the specs' last bake times.
  if (bakes) {
    const running = [...bakes.commands.values()].flatMap((command) => {
      if (commandEnded(command.status)) return [];
      const spec = bakes.volumes.find((v) => v.volumeId === command.volumeId)?.tags[Tag.spec];
      return spec !== undefined ? [{ command, spec }] : [];
    });
    const lastBake = new Map<string, { at: string; seconds: number }>();
    const specs = new Set(running.map((r) => r.spec));
    for (const image of inventory.images) {
      if (image.tags[Tag.bakeMethod] !== "volume" || image.region !== image.tags[Tag.homeRegion]) continue;
      // RegisterImage of a snapshot is done in seconds (CreateImage, which snapshots an instance, and
      // CopyImage to the other regions, in minutes): the home image of a volume bake.
      if (image.state === "pending" && image.sourceImageId === undefined)
        consider(SHORT_LOOK_MS, `image ${image.imageId} being registered`);
      const spec = image.tags[Tag.spec];
      const seconds = Number(image.tags[Tag.provisionSeconds]);
      if (spec === undefined || !specs.has(spec) || !Number.isFinite(seconds) || seconds <= 0) continue;
      const newest = lastBake.get(spec);
      if (!newest || image.creationDate > newest.at) lastBake.set(spec, { at: image.creationDate, seconds });
    }
    // A chroot bake takes minutes, and about as long as the spec's last one: look for its end about then,
    // from a little before it until a minute after; a longer bake waits for the poll.
    for (const { command, spec } of running) {
      const seconds = lastBake.get(spec)?.seconds;
      if (seconds === undefined) continue;
      const end = Date.parse(command.requestedAt) + seconds * 1000;
      if (now > end + LATE_MS) continue;
      consider(
        end - SHORT_LOOK_MS - now,
        `command ${command.commandId} expected to end (last bake ${seconds}s)`,
      );
    }
  }
  for (const instance of [...inventory.instances, ...(bakes?.hosts ?? [])])
    if (instance.state === "stopping" || instance.state === "pending")
      consider(SHORT_LOOK_MS, `instance ${instance.instanceId} ${instance.state}`);
  return best;
}
