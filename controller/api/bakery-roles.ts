// The leaven.dev/role values of a volume bake's resources. Their own module because both observers read
// them: phase two lists bakery hosts with the bake instances (observe/observe.ts), and the volume-bake
// observer takes that listing (observe/volume-bakes.ts), which itself imports from observe.ts.

/** A bakery host: the instance that attaches bake volumes and runs the chroot script (plan/bakery.ts). */
export const BAKERY_ROLE = "bakery";
/** A bake's own volume, from creation to its deletion after RegisterImage (plan/volume-bake.ts). */
export const VOLUME_BAKE_ROLE = "volume-bake";
/** A warm pool volume (plan/volume-pool.ts). */
export const POOL_ROLE = "volume-pool";
