import { describe, expect, it } from "vitest";
import { LineageGraph } from "../../controller/lineage/graph.ts";

// f → b → {a1, a2}, g → c → a3; z alone.
const specs = [
  { name: "a2", parent: "b" },
  { name: "a1", parent: "b" },
  { name: "b", parent: "f" },
  { name: "f" },
  { name: "a3", parent: "c" },
  { name: "c", parent: "g" },
  { name: "g" },
  { name: "z" },
];
const graph = LineageGraph.fromSpecs(specs);

describe("LineageGraph", () => {
  it("orders parents before children, by depth then name", () => {
    expect(graph.topologicalOrder()).toEqual(["f", "g", "z", "b", "c", "a1", "a2", "a3"]);
  });

  it.each([
    ["f", [], ["b"], [], ["b", "a1", "a2"]],
    ["b", ["f"], ["a1", "a2"], ["f"], ["a1", "a2"]],
    ["a3", ["c"], [], ["c", "g"], []],
    ["z", [], [], [], []],
    ["unknown", [], [], [], []],
  ])(
    "%s: parents %j, children %j, ancestors %j, descendants %j",
    (name, parents, children, ancestors, descendants) => {
      expect(graph.parents(name)).toEqual(parents);
      expect(graph.children(name)).toEqual(children);
      expect(graph.ancestors(name)).toEqual(ancestors);
      expect(graph.descendants(name)).toEqual(descendants);
    },
  );

  it("lists roots and ignores edges to unknown nodes", () => {
    expect(LineageGraph.fromSpecs([{ name: "x", parent: "missing" }, { name: "y" }]).roots()).toEqual([
      "x",
      "y",
    ]);
    expect(graph.findCycle()).toBeUndefined();
  });

  it.each([
    ["self", [{ name: "a", parent: "a" }], [["a", "a"]]],
    [
      "two",
      [
        { name: "b", parent: "a" },
        { name: "a", parent: "b" },
      ],
      [["a", "b", "a"]],
    ],
    [
      "three, started from the smallest name",
      [
        { name: "c", parent: "a" },
        { name: "a", parent: "b" },
        { name: "b", parent: "c" },
        { name: "d", parent: "c" },
      ],
      [["a", "b", "c", "a"]],
    ],
    [
      "two separate",
      [
        { name: "x", parent: "y" },
        { name: "y", parent: "x" },
        { name: "p", parent: "p" },
      ],
      [
        ["p", "p"],
        ["x", "y", "x"],
      ],
    ],
  ])("finds cycles: %s", (_label, nodes, cycles) => {
    const g = LineageGraph.fromSpecs(nodes);
    expect(g.cycles()).toEqual(cycles);
    expect(() => g.topologicalOrder()).toThrow(`lineage has a cycle: ${cycles[0]!.join(" → ")}`);
  });

  it("handles deep lineages without recursion limits", () => {
    const chain = Array.from({ length: 20_000 }, (_, i) =>
      i === 0 ? { name: "n0" } : { name: `n${i}`, parent: `n${i - 1}` },
    );
    const deep = LineageGraph.fromSpecs(chain);
    expect(deep.topologicalOrder()[19_999]).toBe("n19999");
    expect(deep.ancestors("n19999")).toHaveLength(19_999);
    expect(deep.cycles()).toEqual([]);
  });
});
