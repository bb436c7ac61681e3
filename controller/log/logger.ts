// Structured logs: JSON lines when the stream is not a terminal, short human lines when it is.
import { wrapIndented } from "../status/fit-text.ts";

export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const order: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export const LEVELS = Object.keys(order) as Level[];

export function isLevel(value: string): value is Level {
  return value in order;
}

/** Where log lines go: a stream, or anything that takes text (the live view prints them above itself). */
export interface LogStream {
  write(text: string): unknown;
  isTTY?: boolean;
  /** A terminal's width: human lines are wrapped at words within it (the terminal would cut words). */
  columns?: number;
}

export function createLogger(
  stream: LogStream,
  options: { level?: Level; json?: boolean; now?: () => number } = {},
): Logger {
  const min = order[options.level ?? "info"];
  const json = options.json ?? !stream.isTTY;
  const now = options.now ?? Date.now;
  const write = (level: Level, msg: string, fields: Record<string, unknown> = {}) => {
    if (order[level] < min) return;
    if (json) {
      stream.write(`${JSON.stringify({ time: new Date(now()).toISOString(), level, msg, ...fields })}\n`);
      return;
    }
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    const line = `${level === "info" ? "" : `${level}: `}${msg}${extra ? `  ${extra}` : ""}`;
    const width = stream.isTTY && stream.columns ? Math.max(40, stream.columns - 1) : undefined;
    stream.write(`${width === undefined ? line : wrapIndented(line, width, 2).join("\n")}\n`);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
