/** GET here answers the simulator's clock: `{"now": epoch ms, "speed": n}`. Its own module, so a client that
 * asks a standalone simulator for its clock does not load the simulator. */
export const CLOCK_PATH = "/leaven/clock";
