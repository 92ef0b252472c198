// A closed stdout (`charlm train ... | head`) must not cost a run: EPIPE on stdout or stderr is caught here instead
// of crashing the process with a stack trace. The CLI then ends quietly, the way Unix tools do when their reader
// goes away, after the run's state is safe: train writes its checkpoint and exits 141 (128 + SIGPIPE); sample stops
// generating. Documented in RELIABILITY.md.

let stdoutClosed = false;
const listeners = new Set<() => void>();
let watching = false;

const closedPipe = (e: NodeJS.ErrnoException) => e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED';

/** Installs the EPIPE handlers on stdout and stderr (once per process). */
export function watchOutput(): void {
  if (watching) return;
  watching = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (!closedPipe(e)) throw e;
    if (stdoutClosed) return;
    stdoutClosed = true;
    for (const f of listeners) f();
  });
  // a closed stderr only loses messages; nothing else to do
  process.stderr.on('error', (e: NodeJS.ErrnoException) => {
    if (!closedPipe(e)) throw e;
  });
}

/** True once a write to stdout failed because its reader went away. */
export function isStdoutClosed(): boolean {
  return stdoutClosed;
}

/** Calls `f` once stdout's reader is gone; returns the unsubscribe function. */
export function onStdoutClosed(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** The exit code of a CLI that stopped because its output pipe closed (as if killed by SIGPIPE). */
export const EXIT_PIPE_CLOSED = 141;
