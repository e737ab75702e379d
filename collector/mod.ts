/** Placeholder until the collector lands (issue 3). @module */
/** Runs `collect`; returns the exit code. */
export function collectCommand(_args: string[]): Promise<number> {
  console.error("collect: not implemented yet");
  return Promise.resolve(2);
}
