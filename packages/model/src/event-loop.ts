let lastTurn = 0;

/**
 * Lets the event loop turn (a pending Ctrl-C or SIGTERM handler, a closed pipe, a page's messages to its Worker)
 * when at least `intervalMs` have passed since the last turn this function gave. Long loops of synchronous compute
 * (training micro-batches, evaluation batches, generated tokens) call it each iteration: a few microseconds when it
 * turns, nothing otherwise. A resolved promise is not enough: signal handlers run only on a macrotask turn.
 *
 * @param intervalMs - Turn at most this often (default 200 ms, so a signal is seen well within a second).
 * @returns After the turn, or at once when none was due.
 */
export async function turnEventLoop(intervalMs = 200): Promise<void> {
  const now = performance.now();
  if (now - lastTurn < intervalMs) return;
  lastTurn = now;
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  await new Promise<void>((resolve) => (g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0)));
}
