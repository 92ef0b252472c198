import { CharDataset, CharVocab } from '@tinyformer/data';
import { loadBrownText, readTextFile } from '@tinyformer/data/node';
import { type Backend, getBackend, setBackend } from '@tinyformer/tensor';

/** What every experiment gets: the backend the run chose, the encoded corpus, the seed and a logger. */
export interface LabContext {
  /** the backend chosen at start-up; it is also the default backend, so models built here land on it */
  backend: Backend;
  /** every backend the speed experiment measures, with its label */
  speedBackends: { backend: Backend; label: string }[];
  dataset: CharDataset;
  dataSource: string;
  seed: number;
  log: (line: string) => void;
  /** norm kinds beyond the built-ins (from --plugin): quality and depth train them too */
  extraNorms?: readonly ExtraNorm[];
}

export interface ExtraNorm {
  kind: string;
  /** the registry's one-line description */
  description: string;
}

/** How reports name a norm kind: the built-ins by their paper names, any other kind as registered. */
export function normLabel(kind: string): string {
  return kind === 'rmsnorm' ? 'RMSNorm' : kind === 'layernorm' ? 'LayerNorm' : kind;
}

export interface DataInfo {
  source: string;
  chars: number;
  vocabSize: number;
  trainTokens: number;
  valTokens: number;
}

/** The corpus: a --data file, or the embedded Brown corpus that charlm trains on (optionally cut short). */
export function loadDataset(opts: { data?: string; maxChars?: number }): { dataset: CharDataset; source: string } {
  const text = opts.data ? readTextFile(opts.data) : loadBrownText({ maxChars: opts.maxChars });
  const cut = opts.data && opts.maxChars !== undefined ? text.slice(0, opts.maxChars) : text;
  const source = opts.data ?? 'brown (embedded default corpus)';
  return { dataset: new CharDataset(cut, CharVocab.fromText(cut)), source };
}

export function dataInfo(ctx: LabContext): DataInfo {
  const d = ctx.dataset;
  return {
    source: ctx.dataSource,
    chars: d.tokens.length,
    vocabSize: d.vocab.size,
    trainTokens: d.train.length,
    valTokens: d.val.length,
  };
}

/** Runs `fn` with `backend` as the default backend (new tensors and models land there), then restores the old one. */
export async function withBackend<T>(backend: Backend, fn: () => Promise<T>): Promise<T> {
  const prev = getBackend();
  setBackend(backend);
  try {
    return await fn();
  } finally {
    setBackend(prev);
  }
}
