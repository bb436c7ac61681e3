// Starts bench/sim-child.ts and waits for its endpoint: a simulator in another process, as EC2 is.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("./sim-child.ts", import.meta.url));

export interface ChildSim {
  endpoint: string;
  images: number;
  close(): void;
}

export async function startChildSim(specs: number, builds: number, published = false): Promise<ChildSim> {
  const child = spawn(
    process.execPath,
    [script, String(specs), String(builds), ...(published ? ["published"] : [])],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  const { endpoint, images } = JSON.parse(line) as { endpoint: string; images: number };
  return {
    endpoint,
    images,
    close: () => {
      child.stdin?.end();
      child.kill();
    },
  };
}
