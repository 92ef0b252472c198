/** A user-facing error: the CLI prints its message (no stack) and exits non-zero. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}
