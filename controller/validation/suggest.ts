// "Did you mean" hints: the closest spelling among the valid choices.

/** The candidate with the smallest edit distance to `word` (ties: first in the list), or undefined if none. */
export function closest(
  word: string,
  candidates: Iterable<string>,
  maxDistance = Number.POSITIVE_INFINITY,
): string | undefined {
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, two rows at a time. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** ` (did you mean "x"?)`-style hint when a close candidate exists, else "". Close: at most a third of the word. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const hit = closest(word, candidates, Math.max(1, Math.floor(word.length / 3)));
  return hit === undefined ? "" : `; did you mean "${hit}"?`;
}
