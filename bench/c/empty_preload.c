/*
 * The cheapest possible LD_PRELOAD library: no hooks, no constructor. Loading
 * it into every process is the floor any preload-based auditor pays before it
 * does any work (the dynamic loader opens, maps and relocates one more object).
 */
int containai_bench_empty_preload(void) { return 0; }
