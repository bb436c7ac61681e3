// Temporary folders for tests. Each is removed when the test that made it finishes (after its afterEach
// hooks); one made outside a test (in beforeAll, at collection) is removed after its file, by the
// afterAll hook that test/support/vitest-setup.ts registers. Nothing a test writes under os.tmpdir()
// outlives its file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";

const made = new Set<string>();

function remove(dir: string): void {
  // Retries cover a child process that is still letting go of files in it.
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  made.delete(dir);
}

/** A fresh folder `os.tmpdir()/<prefix>XXXXXX`, removed after the current test (or file). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  try {
    onTestFinished(() => remove(dir));
  } catch {
    // Not inside a test: removeTempDirs() at the end of the file takes it.
  }
  return dir;
}

/** Removes every folder tempDir() made that is still there; the setup file runs it after each file. */
export function removeTempDirs(): void {
  for (const dir of [...made]) remove(dir);
}
