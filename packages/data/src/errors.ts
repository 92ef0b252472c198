/**
 * Bad training data: a missing or unreadable --data file, text the vocabulary cannot encode, a corpus too
 * small for the context length. The CLI prints the message alone (no stack), so every message names the
 * file, split or character at fault and what to do about it.
 */
export class DataError extends Error {
  /** @param message - What is wrong and where, ready to show a user as is. */
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}
