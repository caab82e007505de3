// A seeded xorshift32 generator for the property runs of the E2EE tests: rng(seed)() gives the next unsigned 32-bit
// value, the same sequence for the same seed.
export function rng(seed) {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x;
  };
}
