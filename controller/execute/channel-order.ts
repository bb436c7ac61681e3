// A channel move never leaves consumers without the channel in a region: the set-tags that put a spec's
// channel on its new image run, and must succeed, before the remove-tags that take the same channel off the
// old image in the same region. Removals that no add replaces — a revoked build leaving its channels, a
// channel that no longer exists — do not wait.
import { CHANNEL_TAG_PREFIX } from "../api/tags.ts";
import type { Action, RemoveTagsAction, SetTagsAction } from "../plan/actions.ts";

/** The channel names whose tags a removal takes off. */
function channelsRemoved(action: RemoveTagsAction): string[] {
  return action.keys
    .filter((key) => key.startsWith(CHANNEL_TAG_PREFIX))
    .map((key) => key.slice(CHANNEL_TAG_PREFIX.length));
}

/**
 * Every removal of a channel tag that waits for adds of the same spec's same channel in the same region (on
 * another image), with those adds. A removal absent from the map runs as any other action.
 */
export function channelMoves(actions: readonly Action[]): Map<RemoveTagsAction, SetTagsAction[]> {
  const adds = actions.filter((a): a is SetTagsAction => a.kind === "set-tags");
  const moves = new Map<RemoveTagsAction, SetTagsAction[]>();
  for (const action of actions) {
    if (action.kind !== "remove-tags" || action.revoked) continue;
    const channels = channelsRemoved(action);
    if (channels.length === 0) continue;
    const waitsFor = adds.filter(
      (add) =>
        add.spec === action.spec &&
        add.region === action.region &&
        add.imageId !== action.imageId &&
        channels.some((channel) => add.tags[CHANNEL_TAG_PREFIX + channel] === "true"),
    );
    if (waitsFor.length > 0) moves.set(action, waitsFor);
  }
  return moves;
}

/** Why a removal did not run: the add it waits for did not succeed. */
export function heldBackReason(
  removal: RemoveTagsAction,
  add: SetTagsAction,
  error: string | undefined,
): string {
  const channels = channelsRemoved(removal).filter((c) => add.tags[CHANNEL_TAG_PREFIX + c] === "true");
  const what = `channel ${channels.join(", ")} of ${removal.spec}`;
  return `not run: ${removal.imageId} keeps ${what} in ${removal.region} until ${add.imageId} has it, and tagging ${add.imageId} ${error ? `failed (${error})` : "did not run"}; the next pass tries the move again`;
}
