// The lock's defaults, apart from its implementations so that reading leaven.yaml loads no AWS SDK.

/** The DynamoDB table Leaven's lock uses when leaven.yaml names none (lock: { table: … }). */
export const DEFAULT_LOCK_TABLE = "leaven-locks";

/** Default time to live of a lease: a kill -9'd holder is taken over at most this long after its last renewal. */
export const DEFAULT_LEASE_TTL_MS = 90_000;
