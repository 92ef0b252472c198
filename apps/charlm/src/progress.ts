/** One-line progress: redrawn in place on a terminal, a plain line every `every` steps otherwise (logs, CI). */
export class Progress {
  private lastLen = 0;
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly every = 50,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  update(step: number, loss: number, tokensPerS: number, secondsLeft: number): void {
    const width = 24;
    const filled = Math.round((width * step) / this.total);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const line = `${bar} step ${step}/${this.total} | loss ${loss.toFixed(4)} | ${Math.round(tokensPerS).toLocaleString('en-US')} tok/s | ETA ${formatDuration(secondsLeft)}`;
    if (this.tty) {
      this.out.write(`\r${line}${' '.repeat(Math.max(0, this.lastLen - line.length))}`);
      this.lastLen = line.length;
    } else if (step % this.every === 0 || step === this.total) {
      this.out.write(`${line}\n`);
    }
  }

  /** Ends the in-place line before other output. */
  break(): void {
    if (this.tty && this.lastLen > 0) {
      this.out.write('\n');
      this.lastLen = 0;
    }
  }
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const m = Math.floor(s / 60);
  const sec = Math.round(s % 60);
  return m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
