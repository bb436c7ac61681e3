// Server-side apply (application/apply-patch+yaml), approximated without managedFields: a field manager's
// configuration is merged into the live object (maps merge, lists and scalars replace, as for atomic
// lists), and the fields that manager applied last time but no longer applies are removed. Conflicts with
// other managers are never reported (as if every apply were --force-conflicts).
import { clone, isRecord } from "./types.ts";

function withoutDropped(live: unknown, previous: unknown, applied: unknown): unknown {
  if (!isRecord(live) || !isRecord(previous)) return live;
  const out = clone(live);
  const now = isRecord(applied) ? applied : {};
  for (const key of Object.keys(previous)) {
    if (!(key in now)) delete out[key];
    else if (isRecord(previous[key]) && isRecord(now[key]))
      out[key] = withoutDropped(out[key], previous[key], now[key]);
  }
  return out;
}

function merged(live: unknown, applied: unknown): unknown {
  if (!isRecord(applied) || !isRecord(live)) return clone(applied);
  const out = clone(live);
  for (const [key, value] of Object.entries(applied)) {
    if (value === null) delete out[key];
    else out[key] = merged(out[key], value);
  }
  return out;
}

/** The object after `applied` replaces `previous` (this manager's last apply, if any) on `live`. */
export function applyConfiguration(live: unknown, previous: unknown, applied: unknown): unknown {
  return merged(withoutDropped(live, previous, applied), applied);
}
