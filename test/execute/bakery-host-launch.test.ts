// The bakery host's launch in the executor: a token EC2 refuses as spent (its host terminated and gone, or
// sent before with other arguments) moves on to its deterministic successors, up to ten; any other error
// fails at once; the chain is the same on every attempt, so a launch repeated after a crash reaches the host
// an earlier attempt made.
import { describe, expect, it } from "vitest";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import { CloudError, type CloudPort, type RunInstanceInput } from "../../controller/cloud/port.ts";
import { execute, successorToken } from "../../controller/execute/executor.ts";
import type { LaunchBakeryHostAction } from "../../controller/plan/actions.ts";

const TOKEN = `leaven-bakery-${"a".repeat(40)}`;
const action: LaunchBakeryHostAction = {
  kind: "launch-bakery-host",
  spec: "(bakery)",
  region: "us-east-1",
  launch: {
    imageId: "ami-0123456789abcdef0",
    instanceType: "t3.medium",
    userData: "#!/bin/bash\n",
    clientToken: TOKEN,
    tags: { [Tag.managedBy]: MANAGED_BY_VALUE, [Tag.installation]: "default", [Tag.role]: "bakery" },
  },
  reason: "test",
};

/** RunInstances answering each token with `answer(token)`: an error code to throw, or the instance id. */
function cloudAnswering(answer: (token: string) => { error: string } | { instanceId: string }) {
  const tokens: string[] = [];
  const cloud = {
    async runInstance(_region: string, input: RunInstanceInput) {
      tokens.push(input.clientToken);
      const result = answer(input.clientToken);
      if ("error" in result) throw new CloudError(result.error, "refused", 400, false);
      return result;
    },
  } as unknown as CloudPort;
  return { cloud, tokens };
}

const successors = (count: number) => Array.from({ length: count }, (_, i) => successorToken(TOKEN, i + 1));

describe("launch-bakery-host", () => {
  it.each([["IdempotentInstanceTerminated"], ["IdempotentParameterMismatch"]])(
    "moves on from a token EC2 refuses with %s to its first successor",
    async (code) => {
      const { cloud, tokens } = cloudAnswering((token) =>
        token === TOKEN ? { error: code } : { instanceId: "i-0000000000000new" },
      );
      const [result] = await execute(cloud, [action]);
      expect(result).toMatchObject({ ok: true, created: "i-0000000000000new" });
      expect(tokens).toEqual([TOKEN, ...successors(1)]);
    },
  );

  it("fails at once on any other error, with no successor tried", async () => {
    const { cloud, tokens } = cloudAnswering(() => ({ error: "InsufficientInstanceCapacity" }));
    const [result] = await execute(cloud, [action]);
    expect(result?.ok).toBe(false);
    expect(result?.error).toMatch(/^InsufficientInstanceCapacity: refused/);
    expect(tokens).toEqual([TOKEN]);
  });

  it("gives up after ten successors, with the last refusal", async () => {
    const { cloud, tokens } = cloudAnswering(() => ({ error: "IdempotentInstanceTerminated" }));
    const [result] = await execute(cloud, [action]);
    expect(result?.ok).toBe(false);
    expect(result?.error).toMatch(/^IdempotentInstanceTerminated: refused/);
    expect(tokens).toEqual([TOKEN, ...successors(10)]);
  });

  it("walks the same chain on a repeat: the host the first attempt made is the one returned", async () => {
    const live = successorToken(TOKEN, 2);
    const answer = (token: string) =>
      token === live ? { instanceId: "i-00000000000live" } : { error: "IdempotentInstanceTerminated" };
    for (let attempt = 0; attempt < 2; attempt++) {
      const { cloud, tokens } = cloudAnswering(answer);
      const [result] = await execute(cloud, [action]);
      expect(result).toMatchObject({ ok: true, created: "i-00000000000live" });
      expect(tokens).toEqual([TOKEN, ...successors(2)]);
    }
  });

  it("derives successors of at most 64 characters, distinct and stable", () => {
    const all = successors(10);
    expect(new Set(all).size).toBe(10);
    for (const token of all) expect(token.length).toBeLessThanOrEqual(64);
    expect(all[0]).toBe(`${TOKEN.slice(0, 40)}-${successorToken(TOKEN, 1).slice(41)}`);
    expect(successorToken(TOKEN, 3)).toBe(successorToken(TOKEN, 3));
    expect(successorToken(TOKEN, 1)).not.toBe(successorToken(`${TOKEN}x`, 1));
  });
});
