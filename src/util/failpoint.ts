// Failpoints for crash tests: LODGE_FAILPOINTS=name,name makes the process
// SIGKILL itself when it reaches a named point, so a test can stop the agent
// exactly between two steps of a multi-step operation (the intent written,
// the work half done, the outcome not yet recorded) and check that the next
// agent finishes or rolls it back. Unset (always, outside such tests), a
// failpoint is one Set lookup.
const armed = new Set((process.env.LODGE_FAILPOINTS ?? '').split(',').map((s) => s.trim()).filter(Boolean));

export function failpoint(name: string): void {
  if (!armed.has(name)) return;
  process.stderr.write(`lodge: failpoint ${name}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
  // The signal is delivered at once; never run past the point meanwhile.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
}
