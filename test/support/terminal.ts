// A tiny terminal emulator for tests of what a user sees on a terminal: text goes into a buffer `columns`
// wide that wraps long lines like a real terminal (xterm's deferred wrap: a line of exactly `columns`
// characters takes one row), and the few escapes Leaven's live view may emit move the cursor and erase.
// The buffer is the scrollback and the screen together; the screen is its last `rows` rows, and the cursor
// cannot move above the screen's top row, as on a real terminal. Any other escape fails the test.
// resize() re-wraps what is there at the new width, as most terminals do (VTE, iTerm2, kitty, tmux), and
// emits "resize" on the streams, as a tty.WriteStream does.
import { Writable } from "node:stream";

type TerminalWritable = Writable & { isTTY: true; columns: number; rows: number };

export class Terminal {
  private width: number;
  readonly rows: number;
  private lines: string[] = [""];
  /** Per row: whether it wrapped onto the next (the two are one line of text). */
  private wrapped: boolean[] = [false];
  private row = 0;
  private col = 0;
  private readonly streams: TerminalWritable[] = [];

  constructor(columns: number, rows = 24) {
    this.width = columns;
    this.rows = rows;
  }

  get columns(): number {
    return this.width;
  }

  /** Changes the width: every line of text is wrapped again at it, the cursor kept where it was in its line. */
  resize(columns: number): void {
    const logical: string[] = [];
    let cursor = { line: 0, offset: 0 };
    let text = "";
    for (let i = 0; i < this.lines.length; i++) {
      if (i === this.row) cursor = { line: logical.length, offset: text.length + this.col };
      text += this.lines[i]!;
      if (!this.wrapped[i]) {
        logical.push(text);
        text = "";
      }
    }
    if (text !== "") logical.push(text);
    this.width = columns;
    this.lines = [];
    this.wrapped = [];
    for (const [index, line] of logical.entries()) {
      const start = this.lines.length;
      const count = Math.max(1, Math.ceil(line.length / columns));
      for (let r = 0; r < count; r++) {
        this.lines.push(line.slice(r * columns, (r + 1) * columns));
        this.wrapped.push(r < count - 1);
      }
      if (index === cursor.line) {
        // At the end of a line that fills its last row, the cursor waits there (deferred wrap).
        const deferred = cursor.offset > 0 && cursor.offset % columns === 0 && cursor.offset >= line.length;
        this.row = start + (deferred ? cursor.offset / columns - 1 : Math.floor(cursor.offset / columns));
        this.col = deferred ? columns : cursor.offset % columns;
      }
    }
    for (const stream of this.streams) {
      stream.columns = columns;
      stream.emit("resize");
    }
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
        this.wrapped.length = this.row + 1;
        this.wrapped[this.row] = false;
        return;
      case "K":
        if ((n ?? 0) !== 0) throw new Error(`unsupported erase ESC[${n}K`);
        this.lines[this.row] = this.lines[this.row]!.slice(0, this.col);
        this.wrapped[this.row] = false;
        return;
      default:
        throw new Error(`unsupported escape ESC[${n ?? ""}${command}`);
    }
  }

  private down(wrap = false): void {
    this.wrapped[this.row] = wrap;
    this.row++;
    this.col = 0;
    if (this.row === this.lines.length) {
      this.lines.push("");
      this.wrapped.push(false);
    }
  }

  private put(char: string): void {
    if (this.col >= this.columns) this.down(true);
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
  stream(): TerminalWritable {
    const stream = new Writable({
      write: (chunk, _encoding, done) => {
        this.feed(String(chunk));
        done();
      },
    });
    const tty = Object.assign(stream, { isTTY: true as const, columns: this.columns, rows: this.rows });
    this.streams.push(tty);
    return tty;
  }
}
