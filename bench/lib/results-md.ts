// bench/RESULTS.md: one "## " section per bench, refreshed in place.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const PREAMBLE = `# Lodge benchmarks

Figures written by the benches themselves (\`npm run bench\`); each section is
refreshed in place by the run that produced it. Timings here are measurements
on the machine named in the section, not assertions: no test checks them.
`;

/** Replace the section that starts with `## ${heading}` (up to the next "## "), or append it. */
export function writeSection(file: string, heading: string, body: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : PREAMBLE;
  const section = `## ${heading}\n\n${body.trim()}\n`;
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  let out: string;
  if (start < 0) {
    out = `${text.replace(/\n*$/, '\n')}\n${section}`;
  } else {
    let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
    if (end < 0) end = lines.length;
    const before = lines.slice(0, start).join('\n').replace(/\n*$/, '\n\n');
    const after = lines.slice(end).join('\n');
    out = `${before}${section}${after ? `\n${after}` : ''}`;
  }
  writeFileSync(file, out.replace(/\n*$/, '\n'));
}
