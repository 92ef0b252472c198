import { type ChildProcess, spawn } from 'node:child_process';

/*
 * Training steps are synchronous compute: while one runs, this process's signal handlers cannot run, so a Ctrl-C
 * is seen only when the step ends (seconds for large models), and a second Ctrl-C pressed meanwhile would be
 * coalesced with the first. A tiny watcher process in the same process group sees every Ctrl-C at once: the first
 * is acknowledged on stderr immediately (the trainer stops after its step with a checkpoint), the second kills the
 * trainer at once (SIGKILL: checkpoint writes are atomic, so nothing is half-written). Signals sent to the trainer's
 * pid alone (kill <pid>) reach only the trainer and are handled at the end of the step.
 */
/** What a stopped run says when a signal is first seen: the watcher (at once) or the trainer (without a watcher). */
export function finishingMessage(sig: string): string {
  return `\n${sig}: finishing this step and writing a checkpoint (press Ctrl-C again to exit at once; the last checkpoint stays intact)\n`;
}

const WATCHER_SOURCE = `
const finishingMessage = ${finishingMessage.toString()};
const trainer = Number(process.env.TINYFORMER_TRAINER_PID);
let seen = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    seen++;
    if (seen === 1) {
      if (process.connected) process.send({ seen: sig });
      process.stderr.write(finishingMessage(sig));
      return;
    }
    process.stderr.write('\\n' + sig + ' again: stopping at once; the last checkpoint is intact\\n');
    try { process.kill(trainer, 'SIGKILL'); } catch {}
    process.exit(0);
  });
}
process.on('disconnect', () => process.exit(0));
if (process.send) process.send('ready');
`;

/** A running watcher; stop() ends it. */
export interface SignalWatcher {
  /** true once the watcher has seen (and announced) this signal */
  saw(sig: string): boolean;
  stop(): void;
}

/**
 * Starts the watcher beside a training run and resolves once it listens (so the first Ctrl-C after this is seen).
 * Resolves to null when it cannot start (the run then relies on its own handlers).
 */
export async function startSignalWatcher(): Promise<SignalWatcher | null> {
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['-e', WATCHER_SOURCE], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, TINYFORMER_TRAINER_PID: String(process.pid) },
    });
  } catch {
    return null;
  }
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve(true);
    });
    child.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!ready) {
    child.kill('SIGKILL');
    return null;
  }
  const seen = new Set<string>();
  child.on('message', (m: { seen?: string }) => {
    if (typeof m?.seen === 'string') seen.add(m.seen);
  });
  // neither the process nor its IPC channel keeps the trainer alive
  child.unref();
  (child.channel as { unref?: () => void } | undefined)?.unref?.();
  return {
    saw: (sig) => seen.has(sig),
    stop() {
      if (child.connected) child.disconnect();
      child.kill('SIGKILL');
    },
  };
}
