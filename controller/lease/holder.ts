import { hostname } from "node:os";
import type { LockHolder, LockRecord } from "./lock-port.ts";

/** This process as a lock holder. */
export function thisHolder(command: string, startedAt: number): LockHolder {
  return { host: hostname(), pid: process.pid, command, startedAt };
}

/** "apply on host ci-7 pid 4242 since 2026-06-01T12:00:00.000Z (expires in 75 s)". */
export function describeHolder(record: LockRecord, now: number): string {
  const { host, pid, command, startedAt } = record.holder;
  const left = Math.ceil((record.expiresAt - now) / 1000);
  const expiry = left > 0 ? `expires in ${left} s` : `expired ${-left} s ago`;
  return `${command} on host ${host} pid ${pid} since ${new Date(startedAt).toISOString()} (${expiry})`;
}
