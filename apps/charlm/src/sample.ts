import { generate } from '@tinyformer/model';
import { setBackend } from '@tinyformer/tensor';
import { type BackendPreference, chooseBackend } from './backend.js';
import { CliError } from './errors.js';
import { loadRun } from './load-run.js';
import { EXIT_PIPE_CLOSED, isStdoutClosed } from './output.js';

/** Thrown from onToken to end generation when stdout's reader is gone. */
const PIPE_CLOSED = Symbol('stdout closed');

export interface SampleOptions {
  checkpoint: string;
  prompt: string;
  tokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  backend: BackendPreference;
  /** false: recompute the whole window per token (to measure what the KV cache saves) */
  cache: boolean;
  log: (line: string) => void;
  write: (text: string) => void;
}

/** Streams generated text; returns tokens/s. */
export async function runSample(o: SampleOptions): Promise<{ text: string; tokensPerS: number }> {
  const chosen = await chooseBackend(o.backend);
  o.log(`backend: ${chosen.reason}`);
  setBackend(chosen.backend);
  try {
    const { model, vocab, file } = loadRun(o.checkpoint);
    // no prompt: start from a newline, or from the first character when the corpus had no newlines
    const prompt = o.prompt.length > 0 ? o.prompt : vocab.has('\n') ? '\n' : vocab.charOf(0);
    const unknown = [...new Set([...prompt].filter((ch) => !vocab.has(ch)))];
    if (unknown.length > 0) {
      throw new CliError(
        `--prompt has characters that ${file} never saw in training: ${unknown.map((c) => `${JSON.stringify(c)} (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`).join(', ')}`,
      );
    }
    // like nanoGPT and Hugging Face, a top-k above the vocabulary size keeps every character
    let topK = o.topK;
    if (topK > vocab.size) {
      o.log(`note: --top-k ${topK} is more than the ${vocab.size} characters of the vocabulary: keeping them all`);
      topK = 0;
    }
    o.write(o.prompt);
    const t0 = performance.now();
    let ids: number[];
    try {
      ids = await generate(model, Array.from(vocab.encode(prompt)), {
        maxTokens: o.tokens,
        temperature: o.temperature,
        topK,
        topP: o.topP,
        seed: o.seed,
        useCache: o.cache,
        onToken: (id) => {
          // `| head -c5`: the reader is gone, so stop generating (quietly, as Unix tools do)
          if (isStdoutClosed()) throw PIPE_CLOSED;
          o.write(vocab.decode([id]));
        },
      });
    } catch (e) {
      if (e !== PIPE_CLOSED) throw e;
      process.exitCode = EXIT_PIPE_CLOSED;
      return { text: '', tokensPerS: 0 };
    }
    const secs = (performance.now() - t0) / 1000;
    o.write('\n');
    const tokensPerS = ids.length / secs;
    o.log(
      `${ids.length} tokens in ${secs.toFixed(2)} s (${tokensPerS.toFixed(1)} tokens/s, KV cache ${o.cache ? 'on' : 'off'})`,
    );
    return { text: vocab.decode(ids), tokensPerS };
  } finally {
    await chosen.dispose();
  }
}
