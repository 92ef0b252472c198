import { renderDepth } from './experiments/depth.js';
import { renderQuality } from './experiments/quality.js';
import { renderResidual } from './experiments/residual.js';
import { renderSpeed } from './experiments/speed.js';
import { badge, esc, STYLE, table } from './html.js';
import { EXPERIMENTS, type ExperimentName, type LabResults, type Status } from './schema.js';

/** The report page: one self-contained HTML file (inline CSS and SVG, no scripts, fonts or other files). */
export function renderReport(r: LabResults): string {
  const sections: string[] = [];
  const summary: { name: ExperimentName; claim: string; status: Status }[] = [];
  for (const name of EXPERIMENTS) {
    const e = r.experiments[name];
    if (!e) continue;
    sections.push(
      `<section id="${name}"><h2>${esc(e.title)}</h2>\n<p class="claim">Claim: ${esc(e.claim)}</p>\n` +
        `${renderSection(name, r)}\n<p class="note">${e.seconds.toFixed(1)} s. Raw numbers: results.json, ` +
        `<code>experiments.${name}</code>.</p></section>`,
    );
    for (const v of e.verdicts) summary.push({ name, claim: v.claim, status: v.status });
  }
  const summaryRows = summary
    .map(
      (v) => `<tr><td><a href="#${v.name}">${v.name}</a></td><td>${esc(v.claim)}</td><td>${badge(v.status)}</td></tr>`,
    )
    .join('\n');
  const env = r.environment;
  const meta = table(
    ['', ''],
    [
      ['size', r.size],
      ['backend', r.backend],
      ['data', `${r.data.source}: ${r.data.chars.toLocaleString('en-US')} characters, vocabulary ${r.data.vocabSize}`],
      ['seed', String(r.seed)],
      ...(r.plugins.length > 0
        ? [
            [
              'plugins',
              r.plugins.map((p) => `${p.path} (${p.module}): ${p.kinds.map((k) => k.kind).join(', ')}`).join('; '),
            ],
          ]
        : []),
      ['machine', `${env.cpus} x ${env.cpuModel}, ${env.platform}, Node ${env.node}`],
      ['created', r.createdAt],
      ['total time', `${r.seconds.toFixed(0)} s`],
    ],
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tinyformer norm lab</title>
<style>${STYLE}</style>
</head>
<body>
<h1>tinyformer norm lab</h1>
<p class="meta">Normalization claims, measured. Each verdict states the claim, the measured numbers and the rule that
decided it; the rules were fixed before the runs. ${r.size === 'quick' ? '<b>Quick size: smoke-test numbers, too small to judge the claims by.</b>' : ''}</p>
${meta}
<h2>Verdicts</h2>
<table><thead><tr><th>experiment</th><th>claim</th><th>verdict</th></tr></thead><tbody>
${summaryRows}
</tbody></table>
${sections.join('\n')}
</body>
</html>
`;
}

function renderSection(name: ExperimentName, r: LabResults): string {
  const e = r.experiments;
  switch (name) {
    case 'speed':
      return renderSpeed(e.speed!);
    case 'quality':
      return renderQuality(e.quality!);
    case 'depth':
      return renderDepth(e.depth!);
    case 'residual':
      return renderResidual(e.residual!);
  }
}
