// A tiny terminal emulator for tests of what a user sees on a terminal: text goes into a buffer `columns`
// wide that wraps long lines like a real terminal (xterm's deferred wrap: a line of exactly `columns`
// characters takes one row), and the few escapes Leaven's live view may emit move the cursor and erase.
// The buffer is the scrollback and the screen together; the screen is its last `rows` rows, and the cursor
// cannot move above the screen's top row, as on a real terminal. Any other escape fails the test.
import { Writable } from "node:stream";

export class Terminal {
  readonly columns: number;
  readonly rows: number;
  private lines: string[] = [""];
  private row = 0;
  private col = 0;

  constructor(columns: number, rows = 24) {
    this.columns = columns;
    this.rows = rows;
  }

  /** Applies `text` as the terminal would (a "\n" also returns the carriage, like a tty's onlcr). */
  feed(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const char = text[i]!;
      if (char === "\x1b") {
        const sequence = /^\x1b\[(\d*)([A-Za-z])/.exec(text.slice(i));
        if (!sequence) throw new Error(`unsupported escape at ${JSON.stringify(text.slice(i, i + 8))}`);
        this.control(sequence[2]!, sequence[1] === "" ? undefined : Number(sequence[1]));
        i += sequence[0].length - 1;
      } else if (char === "\r") this.col = 0;
      else if (char === "\n") this.down();
      else this.put(char);
    }
  }

  private control(command: string, n: number | undefined): void {
    switch (command) {
      case "A": {
        const top = Math.max(0, this.lines.length - this.rows);
        this.row = Math.max(top, this.row - (n ?? 1));
        this.col = Math.min(this.col, this.columns - 1);
        return;
      }
      case "J":
        if ((n ?? 0) !== 0) throw new Error(`unsupported erase ESC[${n}J`);
        this.lines[this.row] = this.lines[this.row]!.slice(0, this.col);
        this.lines.length = this.row + 1;
        return;
      case "K":
        if ((n ?? 0) !== 0) throw new Error(`unsupported erase ESC[${n}K`);
        this.lines[this.row] = this.lines[this.row]!.slice(0, this.col);
        return;
      default:
        throw new Error(`unsupported escape ESC[${n ?? ""}${command}`);
    }
  }

  private down(): void {
    this.row++;
    this.col = 0;
    if (this.row === this.lines.length) this.lines.push("");
  }

  private put(char: string): void {
    if (this.col >= this.columns) this.down();
    const line = this.lines[this.row]!.padEnd(this.col);
    this.lines[this.row] = line.slice(0, this.col) + char + line.slice(this.col + 1);
    this.col++;
  }

  /** Every row, scrollback and screen, without trailing spaces; the empty row the cursor rests on is left off. */
  text(): string[] {
    const rows = this.lines.map((line) => line.trimEnd());
    return rows.at(-1) === "" ? rows.slice(0, -1) : rows;
  }

  /** A writable stream that looks like a tty of this size (isTTY, columns, rows) and writes into this terminal. */
  stream(): Writable & { isTTY: true; columns: number; rows: number } {
    const stream = new Writable({
      write: (chunk, _encoding, done) => {
        this.feed(String(chunk));
        done();
      },
    });
    return Object.assign(stream, { isTTY: true as const, columns: this.columns, rows: this.rows });
  }
}
