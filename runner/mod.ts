/** Placeholder until the runner lands (issue 5). @module */
/** Runs `run`; returns the exit code. */
export function runCommand(_args: string[]): Promise<number> {
  console.error("run: not implemented yet");
  return Promise.resolve(2);
}
