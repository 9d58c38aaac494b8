/**
 * Oban's default retry delay in seconds: exponential in the attempt, clamped to a 20-step scale
 * when max_attempts is above 20, plus up to 10% upward jitter. Never capped, never reduced.
 */
export function backoffSeconds(attempt: number, maxAttempts: number, random: () => number = Math.random): number {
  const clamped = maxAttempts <= 20 ? attempt : Math.round((attempt / maxAttempts) * 20);
  const base = 15 + 2 ** clamped;
  return base + Math.trunc(random() * 0.1 * base);
}
