// The training Worker: the runs, their evals and checkpoints, and sampling, off the page's thread. Runs are built by
// @tinyformer/recipe's setupRun, as `charlm train` builds them, so a seed and settings give the losses Node gives.
// Every operation on the backend goes through one queue (`serial`), so a sample or a save asked for while training
// runs between two steps, never inside one.
import { CharVocab } from '@tinyformer/data';
import { FFN_KINDS } from '@tinyformer/ffn';
import { CheckpointError, type DecoderLM, decodeCheckpoint, generate } from '@tinyformer/model';
import { normKinds } from '@tinyformer/norm';
import { evalSample, meanLoss, type Run, setupRun } from '@tinyformer/recipe';
import { setBackend } from '@tinyformer/tensor';
import type { FromWorker, RunSpec, SampleRequest, ToWorker, TrainState } from '../protocol.js';
import { type ChosenBackend, chooseBackend, parseBackendRequest } from './backend.js';

const scope = self as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  crossOriginIsolated: boolean;
};

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

let chosen: ChosenBackend | null = null;
let state: TrainState = 'starting';
let runs: { spec: RunSpec; run: Run; bestVal: number | null }[] = [];
let iters = 0;
let opened: { model: DecoderLM; vocab: CharVocab } | null = null;
/** bumped by reset and start, so a loop of an earlier run stops */
let generation = 0;

let queue: Promise<unknown> = Promise.resolve();
function serial<T>(op: () => Promise<T>): Promise<T> {
  const next = queue.then(op);
  queue = next.catch(() => {});
  return next;
}

/** A turn of the event loop, so pause, save and sample messages are handled between steps. */
const yieldToMessages = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function setState(s: TrainState, message?: string): void {
  state = s;
  post({ type: 'state', state: s, ...(message === undefined ? {} : { message }) });
}

function fail(context: string, e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  post({ type: 'error', message, context });
}

function disposeRuns(): void {
  for (const { run } of runs) {
    for (const p of run.model.parameters()) p.dispose();
    run.trainer.optimizer.dispose();
  }
  runs = [];
}

async function start(msg: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  generation++;
  disposeRuns();
  setState('loading');
  runs = msg.runs.map((spec) => ({
    spec,
    run: setupRun({ text: msg.text, settings: spec.settings, seed: msg.seed, source: msg.source }),
    bestVal: null,
  }));
  iters = Math.max(...msg.runs.map((r) => r.settings.iters));
  post({
    type: 'ready',
    iters,
    runs: runs.map(({ spec, run }) => ({
      label: spec.label,
      parameters: run.model.parameterCount(),
      vocabSize: run.vocab.size,
      trainChars: run.dataset.train.length,
      valChars: run.dataset.val.length,
    })),
  });
  setState('training');
  void loop(generation);
}

/** One step of each run in turn (the same batches: each run's sampler has the same seed), until done or paused. */
let looping = false;
async function loop(gen: number): Promise<void> {
  if (looping) return; // a resume soon after a pause: the loop that is still running goes on
  looping = true;
  try {
    await steps(gen);
  } finally {
    looping = false;
  }
  // a resume, or a reset and start, that came while this loop was finishing its step
  if (state === 'training') void loop(generation);
}

async function steps(gen: number): Promise<void> {
  while (gen === generation && state === 'training') {
    const more = await serial(async () => {
      if (gen !== generation || state !== 'training') return false;
      let any = false;
      for (let i = 0; i < runs.length; i++) {
        const r = runs[i]!;
        const { trainer, sampler, config } = r.run;
        const s = r.spec.settings;
        if (trainer.step >= s.iters) continue;
        any = true;
        const step = trainer.step + 1;
        const t0 = performance.now();
        const result = await trainer.trainStep(() => ({
          ...sampler.next(),
          batchSize: sampler.batchSize,
          contextLength: sampler.contextLength,
        }));
        const ms = performance.now() - t0;
        post({
          type: 'steps',
          run: i,
          steps: [{ step, loss: result.loss, lr: result.lr, ms }],
          tokensPerStep: s.batchSize * config.contextLength * s.gradAccumulation,
        });
        if (step % s.evalEvery === 0 || step === s.iters) {
          const valLoss = await meanLoss(
            r.run.model,
            r.run.dataset.val,
            s.batchSize,
            config.contextLength,
            s.evalIters,
          );
          if (r.bestVal === null || valLoss < r.bestVal) r.bestVal = valLoss;
          const sample = await evalSample(r.run.model, r.run.vocab, s.sampleTokens, step);
          post({ type: 'eval', run: i, step, valLoss, sample });
        }
      }
      return any;
    });
    if (!more) {
      if (gen === generation) setState('done');
      return;
    }
    await yieldToMessages();
  }
}

async function save(index: 0 | 1): Promise<void> {
  const r = runs[index];
  if (!r) throw new Error(`there is no run ${index + 1} to save: start training first`);
  const bytes = await r.run.checkpoint(r.bestVal);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const fileName = `${r.spec.label.replace(/[^a-z0-9.-]+/gi, '-')}-step${r.run.trainer.step}.safetensors`;
  post({ type: 'checkpoint', run: index, bytes: buffer, fileName }, [buffer]);
}

function open(bytes: ArrayBuffer, name: string): void {
  const { model, meta, config } = decodeCheckpoint(bytes, name);
  if (!Array.isArray(meta.vocab)) {
    throw new CheckpointError(name, 'has no character vocabulary: it was not written by charlm or the playground');
  }
  const vocab = CharVocab.fromJSON(meta.vocab as string[]);
  if (vocab.size !== config.vocabSize) {
    throw new CheckpointError(
      name,
      `its vocabulary has ${vocab.size} characters but the model expects ${config.vocabSize}`,
    );
  }
  if (opened) for (const p of opened.model.parameters()) p.dispose();
  opened = { model, vocab };
  const step = typeof meta.step === 'number' ? meta.step : null;
  post({
    type: 'opened',
    name,
    parameters: model.parameterCount(),
    vocabSize: vocab.size,
    step,
    description:
      `${config.nLayers} layers x ${config.dModel}, ${config.nHeads} heads, context ${config.contextLength}, ` +
      `${config.norm.placement}-norm ${config.norm.kind}, ${config.ffn.kind}, ${config.positional} positions`,
  });
}

async function sample(id: number, o: SampleRequest): Promise<void> {
  const target =
    o.source === 'opened'
      ? opened
      : runs[o.source]
        ? { model: runs[o.source]!.run.model, vocab: runs[o.source]!.run.vocab }
        : null;
  if (!target)
    throw new Error(o.source === 'opened' ? 'open a checkpoint first' : `there is no run ${o.source + 1} yet`);
  const { model, vocab } = target;
  const prompt = o.prompt.length > 0 ? o.prompt : vocab.has('\n') ? '\n' : vocab.charOf(0);
  const unknown = [...new Set([...prompt].filter((ch) => !vocab.has(ch)))];
  if (unknown.length > 0)
    throw new Error(
      `the prompt has characters the model never saw: ${unknown.map((c) => JSON.stringify(c)).join(', ')}`,
    );
  // as charlm sample does: a top-k above the vocabulary keeps every character
  const topK = o.topK > vocab.size ? 0 : o.topK;
  const t0 = performance.now();
  const ids = await generate(model, Array.from(vocab.encode(prompt)), {
    maxTokens: o.tokens,
    temperature: o.temperature,
    topK,
    topP: o.topP,
    seed: o.seed,
    useCache: o.useCache,
  });
  const secs = (performance.now() - t0) / 1000;
  post({ type: 'sampled', id, text: o.prompt + vocab.decode(ids), tokensPerS: ids.length / secs });
}

scope.onmessage = (e) => {
  const msg = e.data;
  switch (msg.type) {
    case 'init':
      void (async () => {
        try {
          post({ type: 'hello', normKinds: normKinds(), ffnKinds: [...FFN_KINDS] });
          const { request, note } = parseBackendRequest(msg.backend);
          chosen = await chooseBackend(request);
          if (note) chosen = { ...chosen, reason: note + chosen.reason };
          setBackend(chosen.backend);
          post({
            type: 'backend',
            name: chosen.name,
            reason: chosen.reason,
            threads: chosen.threads,
            isolated: scope.crossOriginIsolated,
          });
          setState('idle');
        } catch (err) {
          fail('backend', err);
          setState('error', String(err));
        }
      })();
      break;
    case 'start':
      serial(() => start(msg)).catch((err) => {
        fail('start', err);
        setState('error', err instanceof Error ? err.message : String(err));
      });
      break;
    case 'pause':
      if (state === 'training') setState('paused');
      break;
    case 'resume':
      if (state === 'paused') {
        setState('training');
        void loop(generation);
      }
      break;
    case 'reset':
      generation++;
      void serial(async () => {
        disposeRuns();
        setState('idle');
      });
      break;
    case 'save':
      serial(() => save(msg.run)).catch((err) => fail('save', err));
      break;
    case 'open':
      serial(async () => open(msg.bytes, msg.name)).catch((err) => fail('open', err));
      break;
    case 'sample':
      serial(() => sample(msg.id, msg)).catch((err) => fail('sample', err));
      break;
  }
};
