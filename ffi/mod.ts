/** Placeholder until the probe lands (issue 5). @module */
/** Runs `probe`; returns the exit code. */
export function probeCommand(_args: string[]): Promise<number> {
  console.error("probe: not implemented yet");
  return Promise.resolve(2);
}
