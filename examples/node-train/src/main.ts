import { lossDrop, roundTrip, train } from './train.js';

// node dist/main.js: both layouts for 30 steps, losses printed, then a checkpoint round trip in bytes
let failed = false;
for (const layout of ['rmsnorm-pre', 'layernorm-post'] as const) {
  const { model, vocab, losses } = await train(layout, 30, (step, loss) => {
    if (step % 5 === 0 || step === 29)
      console.log(`${layout} step ${String(step).padStart(2)}: loss ${loss.toFixed(4)}`);
  });
  const { first, last } = lossDrop(losses);
  const rt = await roundTrip(model, vocab);
  const fell = last < first;
  console.log(
    `${layout}: loss ${first.toFixed(3)} -> ${last.toFixed(3)} (${fell ? 'falls' : 'DOES NOT FALL'}); ` +
      `checkpoint ${rt.bytes.length} bytes, max logit difference after reload ${rt.maxLogitDiff}`,
  );
  if (!fell || rt.maxLogitDiff !== 0) failed = true;
}
if (failed) process.exitCode = 1;
