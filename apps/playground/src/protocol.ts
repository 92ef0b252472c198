// The messages between the page (src/main.ts) and the training Worker (src/worker/train-worker.ts). Both sides import
// only these types, so a message the other side does not understand is a compile error.
import type { TrainSettings } from '@tinyformer/recipe';

/** What ?backend= asks for; src/worker/backend.ts decides what runs. */
export type BackendRequest = 'cpu' | 'gpu' | 'auto';

/** One model of a run: a label for the chart and the full settings (a preset with the page's changes). */
export interface RunSpec {
  label: string;
  settings: TrainSettings;
}

/** Which model the sampling box samples from: a training run (0 or 1) or the opened checkpoint. */
export type SampleSource = 0 | 1 | 'opened';

export interface SampleRequest {
  source: SampleSource;
  prompt: string;
  tokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  useCache: boolean;
}

/** Page -> Worker. */
export type ToWorker =
  | { type: 'init' /** the ?backend= value, parsed by the worker */; backend: string | null }
  | {
      type: 'start';
      /** the training text and what to call it (charlm's `data.source`) */
      text: string;
      source: string;
      seed: number;
      /** one run, or two trained side by side on the same batches */
      runs: RunSpec[];
    }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'reset' }
  | { type: 'save'; run: 0 | 1 }
  | { type: 'open'; bytes: ArrayBuffer; name: string }
  | ({ type: 'sample'; id: number } & SampleRequest);

export type TrainState = 'starting' | 'idle' | 'loading' | 'training' | 'paused' | 'done' | 'error';

/** Worker -> Page. */
export type FromWorker =
  | { type: 'hello'; normKinds: string[]; ffnKinds: string[] }
  | { type: 'backend'; name: string; reason: string; threads: string; isolated: boolean }
  | { type: 'state'; state: TrainState; message?: string }
  | {
      type: 'ready';
      runs: { label: string; parameters: number; vocabSize: number; trainChars: number; valChars: number }[];
      iters: number;
    }
  | {
      type: 'steps';
      run: number;
      steps: { step: number; loss: number; lr: number; ms: number }[];
      tokensPerStep: number;
    }
  | { type: 'eval'; run: number; step: number; valLoss: number; sample: string }
  | { type: 'checkpoint'; run: number; bytes: ArrayBuffer; fileName: string }
  | {
      type: 'opened';
      name: string;
      parameters: number;
      vocabSize: number;
      step: number | null;
      description: string;
    }
  | { type: 'sampled'; id: number; text: string; tokensPerS: number }
  | { type: 'error'; message: string; context: string };
