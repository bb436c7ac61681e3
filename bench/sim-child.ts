// A simulator holding the bench estate (argv: specs, builds per spec, "published"), in a process of its own: a case that must measure Leaven's client
// alone (wall, CPU, peak RSS) walks it over HTTP as it would walk EC2. Prints {"endpoint": …} once seeded,
// then serves until its standard input closes.
import { BENCH_REGIONS, convergedEstate, estateSpecs } from "./estate.ts";
import { seed, seedPublished, simTarget, vendorImagesOf } from "./sim-estate.ts";

const specs = Number(process.argv[2] ?? 2000);
const builds = Number(process.argv[3] ?? 20);
/** `published`: the parameters Leaven publishes are seeded too, as after its first apply. */
const published = process.argv[4] === "published";
const target = await simTarget({ speed: 1 });
const estateSpecsList = estateSpecs(specs, BENCH_REGIONS);
const estate = convergedEstate(
  estateSpecsList,
  await vendorImagesOf(target, estateSpecsList),
  target.sim.clock.now(),
  builds,
);
seed(target.sim, estate.images);
if (published) seedPublished(target.sim, estateSpecsList, estate);
process.stdout.write(`${JSON.stringify({ endpoint: target.sim.endpoint, images: estate.images.length })}\n`);
process.stdin.resume();
process.stdin.on("end", () => {
  void target.close().then(() => process.exit(0));
});
