// The page: controls, the live chart, checkpoints and the sampling box. Training runs in a dedicated Worker
// (src/worker/train-worker.ts), so this thread only draws. URL parameters set the controls (and let the e2e test in
// test/e2e.test.ts drive the page); window.__playground mirrors what the page shows, for that test.
import './style.css';
import { decodeText, validateText } from '@tinyformer/data';
import { PRESET_NAMES, PRESETS, type PresetName, type TrainSettings } from '@tinyformer/recipe';
import { LossChart } from './chart.js';
import type { FromWorker, RunSpec, SampleSource, ToWorker, TrainState } from './protocol.js';

interface RunStatus {
  label: string;
  /** train loss of steps 1, 2, ... */
  losses: number[];
  /** [step, val loss] at each eval */
  val: [number, number][];
  step: number;
  tokensPerS: number;
  /** exponential moving average of the seconds per step */
  secsPerStep: number;
  sample: string;
  parameters: number;
}

/** What the page shows, as data (read by the e2e test). */
const status = {
  state: 'starting' as TrainState,
  backend: null as null | { name: string; reason: string; threads: string; isolated: boolean },
  crossOriginIsolated: globalThis.crossOriginIsolated === true,
  iters: 0,
  runs: [] as RunStatus[],
  opened: null as null | Extract<FromWorker, { type: 'opened' }>,
  sample: null as null | { text: string; tokensPerS: number },
  saved: [] as string[],
  errors: [] as string[],
  pings: 0,
  text: null as null | { source: string; length: number },
};
(globalThis as unknown as { __playground: typeof status }).__playground = status;

const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const select = (id: string) => $<HTMLSelectElement>(id);

// --- the worker ---
const worker = new Worker(new URL('./worker/train-worker.ts', import.meta.url), { type: 'module' });
const send = (msg: ToWorker, transfer: Transferable[] = []) => worker.postMessage(msg, transfer);
// ?backend=cpu|gpu|auto: the worker decides (src/worker/backend.ts) and answers with the backend and the reason
send({ type: 'init', backend: params.get('backend') });
let autostarted = false;

function showError(context: string, message: string): void {
  status.errors.push(`${context}: ${message}`);
  $('errors').textContent = status.errors.join('\n');
}

// --- controls ---
for (const name of PRESET_NAMES) select('preset').append(new Option(name, name));

function applyPreset(name: PresetName): void {
  const p = PRESETS[name] as TrainSettings;
  input('layers').value = String(p.model.nLayers);
  input('width').value = String(p.model.dModel);
  input('heads').value = String(p.model.nHeads);
  input('context').value = String(p.model.contextLength);
  input('batch').value = String(p.batchSize);
  input('steps').value = String(p.iters);
  input('lr').value = String(p.lr);
  input('eval-every').value = String(p.evalEvery);
}

const initialPreset = (params.get('preset') ?? 'tiny') as PresetName;
select('preset').value = PRESET_NAMES.includes(initialPreset) ? initialPreset : 'tiny';
applyPreset(select('preset').value as PresetName);
input('seed').value = '1337';
select('preset').addEventListener('change', () => applyPreset(select('preset').value as PresetName));

const FIELD_PARAMS: Record<string, string> = {
  layers: 'layers',
  width: 'width',
  heads: 'heads',
  context: 'context',
  batch: 'batch',
  steps: 'steps',
  lr: 'lr',
  'eval-every': 'evalEvery',
  seed: 'seed',
  prompt: 'prompt',
  tokens: 'tokens',
};
for (const [id, param] of Object.entries(FIELD_PARAMS)) {
  const v = params.get(param);
  if (v !== null) input(id).value = v;
}
if (params.get('compare') === '1') input('compare').checked = true;

function fillKinds(cls: string, kinds: string[]): void {
  for (const s of document.querySelectorAll<HTMLSelectElement>(`select.${cls}`)) {
    s.replaceChildren(...kinds.map((k) => new Option(k, k)));
  }
}

/** Run selects from the URL once the worker has listed the kinds: norm, norm2, placement, placement2, ... */
function applyRunParams(): void {
  for (const [run, suffix] of [
    [0, ''],
    [1, '2'],
  ] as const) {
    for (const field of ['norm', 'placement', 'ffn', 'positional']) {
      const v = params.get(field + suffix);
      if (v !== null) select(`${field}-${run}`).value = v;
    }
  }
  // compare defaults to RMSNorm vs LayerNorm
  if (params.get('norm2') === null && [...select('norm-1').options].some((o) => o.value === 'layernorm')) {
    select('norm-1').value = 'layernorm';
  }
}

function updateCompare(): void {
  ($('run-1') as HTMLFieldSetElement).querySelectorAll('select').forEach((s) => {
    s.disabled = !input('compare').checked;
  });
}
input('compare').addEventListener('change', updateCompare);
updateCompare();

const num = (id: string) => Number(input(id).value);

function runSpec(run: 0 | 1): RunSpec {
  const base = PRESETS[select('preset').value as PresetName] as TrainSettings;
  const norm = select(`norm-${run}`).value;
  const placement = select(`placement-${run}`).value as 'pre' | 'post';
  const ffn = select(`ffn-${run}`).value as 'swiglu' | 'gelu';
  const positional = select(`positional-${run}`).value as 'rope' | 'learned';
  const settings: TrainSettings = {
    ...base,
    model: {
      ...base.model,
      nLayers: num('layers'),
      dModel: num('width'),
      nHeads: num('heads'),
      contextLength: num('context'),
      norm: { kind: norm, placement },
      ffn: { kind: ffn },
      positional,
    },
    batchSize: num('batch'),
    iters: num('steps'),
    lr: num('lr'),
    evalEvery: num('eval-every'),
  };
  // test hooks: a short eval and sample keep the e2e fast
  if (params.has('evalIters')) settings.evalIters = Number(params.get('evalIters'));
  if (params.has('sampleTokens')) settings.sampleTokens = Number(params.get('sampleTokens'));
  return { label: `${placement}-norm ${norm}, ${ffn}, ${positional}`, settings };
}

// --- the text ---
let fileText: { text: string; source: string } | null = null;
let brownText: Promise<string> | null = null;

function corpusChoice(): string {
  return document.querySelector<HTMLInputElement>('input[name=corpus]:checked')!.value;
}

async function readTextFile(file: File): Promise<void> {
  try {
    // the checks and line-end handling charlm's --data gets, so the same file gives the same text
    const text = decodeText(new Uint8Array(await file.arrayBuffer()), file.name);
    fileText = { text, source: file.name };
    document.querySelector<HTMLInputElement>('input[name=corpus][value=file]')!.checked = true;
    $('text-info').textContent = `${file.name}: ${text.length.toLocaleString('en-US')} characters`;
  } catch (e) {
    showError('text', (e as Error).message);
  }
}

input('text-file').addEventListener('change', () => {
  const f = input('text-file').files?.[0];
  if (f) void readTextFile(f);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (f) void readTextFile(f);
});
$('paste').addEventListener('input', () => {
  document.querySelector<HTMLInputElement>('input[name=corpus][value=paste]')!.checked = true;
});

/** The training text: the Brown corpus is a static file the build writes (vite.config.ts), fetched once. */
async function trainingText(): Promise<{ text: string; source: string }> {
  const choice = corpusChoice();
  if (choice === 'file') {
    if (!fileText) throw new Error('choose or drop a text file first');
    return fileText;
  }
  if (choice === 'paste') {
    const text = $<HTMLTextAreaElement>('paste').value.replace(/\r\n?/g, '\n');
    validateText(text, 'the pasted text');
    return { text, source: 'pasted text' };
  }
  brownText ??= fetch(new URL('brown.txt', document.baseURI)).then((r) => {
    if (!r.ok) throw new Error(`brown.txt: HTTP ${r.status}`);
    return r.text();
  });
  // charlm's name for the embedded corpus, so its checkpoints and ours agree on the data
  return { text: await brownText, source: 'brown (embedded default corpus)' };
}

// --- buttons ---
function setButtons(): void {
  const s = status.state;
  ($('start') as HTMLButtonElement).disabled = !['idle', 'done', 'error'].includes(s) || status.backend === null;
  ($('pause') as HTMLButtonElement).disabled = s !== 'training';
  ($('resume') as HTMLButtonElement).disabled = s !== 'paused';
  ($('reset') as HTMLButtonElement).disabled = !['training', 'paused', 'done', 'error'].includes(s);
  ($('save-0') as HTMLButtonElement).disabled = status.runs.length < 1 || s === 'loading';
  ($('save-1') as HTMLButtonElement).disabled = status.runs.length < 2 || s === 'loading';
}

async function startTraining(): Promise<void> {
  try {
    const { text, source } = await trainingText();
    status.text = { source, length: text.length };
    const runs = input('compare').checked ? [runSpec(0), runSpec(1)] : [runSpec(0)];
    status.runs = runs.map((r) => ({
      label: r.label,
      losses: [],
      val: [],
      step: 0,
      tokensPerS: 0,
      secsPerStep: 0,
      sample: '',
      parameters: 0,
    }));
    for (const i of [0, 1]) $(`eval-sample-${i}`).textContent = '';
    redrawChart();
    send({ type: 'start', text, source, seed: num('seed'), runs });
  } catch (e) {
    showError('start', (e as Error).message);
  }
}
$('start').addEventListener('click', () => void startTraining());
$('pause').addEventListener('click', () => send({ type: 'pause' }));
$('resume').addEventListener('click', () => send({ type: 'resume' }));
$('reset').addEventListener('click', () => {
  send({ type: 'reset' });
  status.runs = [];
  redrawChart();
  showProgress();
});
$('save-0').addEventListener('click', () => send({ type: 'save', run: 0 }));
$('save-1').addEventListener('click', () => send({ type: 'save', run: 1 }));
$('ping').addEventListener('click', () => {
  status.pings++;
  $('pings').textContent = String(status.pings);
});
async function openCheckpoint(f: File): Promise<void> {
  const bytes = await f.arrayBuffer();
  send({ type: 'open', bytes, name: f.name }, [bytes]);
}
input('open-file').addEventListener('change', () => {
  const f = input('open-file').files?.[0];
  if (f) void openCheckpoint(f);
});
const openDrop = $('open-drop');
openDrop.addEventListener('dragover', (e) => {
  e.preventDefault();
  openDrop.classList.add('over');
});
openDrop.addEventListener('dragleave', () => openDrop.classList.remove('over'));
openDrop.addEventListener('drop', (e) => {
  e.preventDefault();
  openDrop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (f) void openCheckpoint(f);
});

let sampleId = 0;
$('generate').addEventListener('click', () => {
  const v = select('sample-source').value;
  const source: SampleSource = v === 'opened' ? 'opened' : v === '1' ? 1 : 0;
  status.sample = null;
  $('sample-out').textContent = '…';
  send({
    type: 'sample',
    id: ++sampleId,
    source,
    prompt: input('prompt').value,
    tokens: num('tokens'),
    temperature: num('temperature'),
    topK: num('top-k'),
    topP: num('top-p'),
    seed: num('seed'),
    useCache: input('kv-cache').checked,
  });
});

// --- what the worker says ---
const chart = new LossChart($('chart') as unknown as SVGSVGElement);

function redrawChart(): void {
  const compare = status.runs.length > 1;
  chart.setSeries(
    status.runs.flatMap((r, i) => {
      const name = compare ? `run ${i + 1} (${r.label})` : `run 1 (${r.label})`;
      return [
        {
          name: `${name} train`,
          run: i,
          kind: 'train' as const,
          points: r.losses.map((l, k) => [k + 1, l] as [number, number]),
        },
        { name: `${name} val`, run: i, kind: 'val' as const, points: r.val },
      ];
    }),
  );
}

function fmtSecs(s: number): string {
  if (!Number.isFinite(s)) return '-';
  if (s < 90) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function showProgress(): void {
  const rs = status.runs;
  $('step').textContent = rs.length ? `${Math.min(...rs.map((r) => r.step))} / ${status.iters}` : '-';
  $('tps').textContent = rs.length ? rs.map((r) => Math.round(r.tokensPerS).toLocaleString('en-US')).join(' / ') : '-';
  // both runs step in turn: the time left is the sum of their step times
  const left = rs.reduce((t, r) => t + r.secsPerStep * Math.max(0, status.iters - r.step), 0);
  $('eta').textContent = rs.length && status.state === 'training' ? fmtSecs(left) : '-';
}

function download(bytes: ArrayBuffer, fileName: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case 'hello':
      fillKinds('norm', m.normKinds);
      fillKinds('ffn', m.ffnKinds);
      applyRunParams();
      break;
    case 'backend':
      status.backend = { name: m.name, reason: m.reason, threads: m.threads, isolated: m.isolated };
      $('backend').textContent =
        `${m.reason}${m.isolated ? '' : ' (the page is not cross-origin isolated: see README)'}`;
      break;
    case 'state':
      status.state = m.state;
      $('state').textContent = m.state + (m.message ? ` (${m.message})` : '');
      showProgress();
      if (m.state === 'idle' && params.get('autostart') === '1' && status.runs.length === 0 && !autostarted) {
        autostarted = true;
        void startTraining();
      }
      break;
    case 'ready':
      status.iters = m.iters;
      m.runs.forEach((r, i) => {
        if (status.runs[i]) status.runs[i]!.parameters = r.parameters;
      });
      $('run-info').textContent = m.runs
        .map(
          (r, i) =>
            `run ${i + 1}: ${r.label}, ${(r.parameters / 1e6).toFixed(3)}M parameters, vocabulary ${r.vocabSize}, ` +
            `${r.trainChars.toLocaleString('en-US')} train / ${r.valChars.toLocaleString('en-US')} val characters`,
        )
        .join('\n');
      break;
    case 'steps': {
      const r = status.runs[m.run];
      if (!r) break;
      for (const s of m.steps) {
        r.losses[s.step - 1] = s.loss;
        r.step = s.step;
        const secs = s.ms / 1000;
        r.secsPerStep = r.secsPerStep === 0 ? secs : 0.9 * r.secsPerStep + 0.1 * secs;
        r.tokensPerS = m.tokensPerStep / r.secsPerStep;
      }
      redrawChart();
      showProgress();
      break;
    }
    case 'eval': {
      const r = status.runs[m.run];
      if (!r) break;
      r.val.push([m.step, m.valLoss]);
      r.sample = m.sample;
      $(`eval-sample-${m.run}`).textContent = `step ${m.step}, val ${m.valLoss.toFixed(4)}:\n${m.sample}`;
      redrawChart();
      break;
    }
    case 'checkpoint':
      status.saved.push(m.fileName);
      download(m.bytes, m.fileName);
      break;
    case 'opened':
      status.opened = m;
      $('opened-info').textContent =
        `${m.name}: ${m.description}, ${(m.parameters / 1e6).toFixed(3)}M parameters, vocabulary ${m.vocabSize}` +
        (m.step === null ? '' : `, trained ${m.step} steps`);
      select('sample-source').value = 'opened';
      break;
    case 'sampled':
      if (m.id !== sampleId) break;
      status.sample = { text: m.text, tokensPerS: m.tokensPerS };
      $('sample-out').textContent = m.text;
      $('sample-info').textContent =
        `${m.tokensPerS.toFixed(1)} tokens/s, KV cache ${input('kv-cache').checked ? 'on' : 'off'}`;
      break;
    case 'error':
      showError(m.context, m.message);
      if (m.context === 'sample') $('sample-out').textContent = '';
      break;
  }
  setButtons();
};
worker.onerror = (e) => showError('worker', e.message);
setButtons();
