import type { Status, Verdict } from './schema.js';

/** HTML building blocks for the report: escaped text, tables and verdict badges, no scripts, no external files. */

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function table(head: readonly string[], rows: readonly (readonly string[])[], caption?: string): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table>${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const STATUS_LABEL: Record<Status, string> = {
  agrees: 'agrees',
  partly: 'partly agrees',
  disagrees: 'disagrees',
  inconclusive: 'inconclusive',
};

export function badge(status: Status): string {
  return `<span class="badge ${status}">${STATUS_LABEL[status]}</span>`;
}

export function verdictList(verdicts: readonly Verdict[]): string {
  const items = verdicts.map(
    (v) => `<li>${badge(v.status)} <b>${esc(v.claim)}</b><br><span class="evidence">${esc(v.evidence)}</span></li>`,
  );
  return `<ul class="verdicts">${items.join('\n')}</ul>`;
}

/** Charts side by side when the page is wide enough. */
export function charts(svgs: readonly string[]): string {
  return `<div class="charts">${svgs.map((s) => `<figure>${s}</figure>`).join('\n')}</div>`;
}

export function statusLine(v: Verdict): string {
  return `[${STATUS_LABEL[v.status]}] ${v.claim}: ${v.evidence}`;
}

export const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1200px;
  padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; margin-top: 2.5rem; }
.meta { color: #555; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.88rem; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.55rem; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.badge { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 0.8rem; font-size: 0.8rem; color: white; }
.badge.agrees { background: #2e7d32; } .badge.partly { background: #ef8f00; }
.badge.disagrees { background: #c62828; } .badge.inconclusive { background: #757575; }
.verdicts { list-style: none; padding-left: 0; } .verdicts li { margin: 0.6rem 0; }
.evidence { color: #444; font-size: 0.9rem; }
.charts { display: flex; flex-wrap: wrap; gap: 0.8rem; } figure { margin: 0; }
.claim { background: #f7f7fb; border-left: 4px solid #9fa8da; padding: 0.4rem 0.8rem; }
.note { color: #555; font-size: 0.88rem; }
`;
