// Measurements that compare methods run them round by round, in an order that rotates.

/** Runs the round's methods in a rotating order, so no method always goes first (warm caches). */
export async function alternate(round: number, steps: Array<() => Promise<void>>): Promise<void> {
  for (let i = 0; i < steps.length; i++) await steps[(i + round) % steps.length]();
}
