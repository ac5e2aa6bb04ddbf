/**
 * What a start-up has started so far, to stop in reverse order: the last started (which may use the
 * earlier ones) first. A stop that fails does not keep the others from running, and stopping again
 * stops nothing twice.
 */
export function stopList(): { push(stop: () => Promise<void>): void; stopAll(): Promise<void> } {
  const stops: Array<() => Promise<void>> = [];
  return {
    push: (stop) => void stops.push(stop),
    async stopAll() {
      for (let stop = stops.pop(); stop; stop = stops.pop()) await stop().catch(() => undefined);
    },
  };
}
