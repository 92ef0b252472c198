import { COMMANDS, type Command, type Flag, flagsOf } from './flags.js';

const SECTIONS = { run: 'data and run:', model: 'model:', optimizer: 'optimizer:' } as const;
const COLUMN = 27;

/** `charlm --help`. */
export function mainHelp(): string {
  const names = Object.keys(COMMANDS) as Command[];
  const width = Math.max(...names.map((c) => c.length)) + 4;
  return `charlm: train a character-level transformer LM end to end

usage: charlm <command> [options]

commands:
${names.map((c) => `  ${c.padEnd(width)}${COMMANDS[c].summary}`).join('\n')}

charlm <command> --help shows the options of each command.`;
}

/** `charlm <command> --help`, from the flag table. */
export function commandHelp(command: Command): string {
  const flags = flagsOf(command).filter((f) => f.name !== 'help');
  const lines = [`usage: charlm ${command} ${COMMANDS[command].usage}`, ''];
  // headings only where every flag has one (train); the other commands list theirs in table order
  const grouped = flags.every((f) => f.section);
  const sections = grouped ? [...new Set(flags.map((f) => f.section!))] : [undefined];
  for (const section of sections) {
    if (section) lines.push(SECTIONS[section]);
    for (const f of flags.filter((x) => !grouped || x.section === section)) lines.push(flagLine(f));
  }
  const note = COMMANDS[command].note;
  if (note) lines.push('', note);
  return lines.join('\n');
}

function flagLine(f: Flag): string {
  const left = `  --${f.name}${f.type === 'boolean' ? '' : ` ${f.arg}`}`;
  const help = typeof f.help === 'function' ? f.help() : f.help;
  let text = f.type === 'choice' ? [f.choices.join(' | '), help].filter((s) => s !== '').join(': ') : help;
  if (f.default !== undefined) text += ` (default ${f.default})`;
  const [first, ...more] = text.split('\n');
  const pad = left.length <= COLUMN - 2 ? left.padEnd(COLUMN) : `${left}  `;
  return [pad + first, ...more.map((m) => ' '.repeat(COLUMN) + m)].join('\n');
}
