/**
 * A step (such as a schema migration) that must succeed once before a store serves:
 * concurrent callers share one attempt, a failure (the database is down) lets the next
 * call try again, and once it succeeded a call costs no promise at all.
 */
export function onceUntilSuccess(step: () => Promise<void>, alreadyDone = false): () => Promise<void> | undefined {
  let done = alreadyDone;
  let pending: Promise<void> | undefined;
  return () => {
    if (done) return undefined;
    pending ??= step().then(
      () => {
        done = true;
      },
      (error: unknown) => {
        pending = undefined;
        throw error;
      },
    );
    return pending;
  };
}
