/**
 * The servers the ingest comparison measures: this project's collector,
 * syslog-ng configured for the same job, and socat as a raw byte copy. Each
 * one is started fresh for a run, on its own socket and log directory.
 *
 * @module
 */
import { REPO_ROOT, taskArgs } from "./deno_task.ts";
import type { RssScope } from "./proc.ts";
import { type Server, startServer } from "./server.ts";

const SYSLOG_NG_TEMPLATE = new URL("syslog-ng.conf", import.meta.url);
/** socat's copy buffer: as large as the clients' writes, so the copy is as cheap as it gets. */
const SOCAT_BUFFER_BYTES = 256 * 1024;

/** Where one run of an ingest server lives. */
export interface IngestPaths {
  /** A fresh private directory for the run. */
  workDir: string;
  /** The Unix socket the server must serve. */
  socket: string;
  /** The directory the server writes its output files into. */
  logDir: string;
}

/** A server that ingests newline-delimited events from a Unix socket. */
export interface IngestTarget {
  name: string;
  /** Which processes of the started tree count for the peak RSS. */
  rssScope: RssScope;
  /**
   * Whether sampling /proc can account for its CPU time; not for servers whose work happens in
   * short-lived children that exit between samples.
   */
  cpuMeasurable: boolean;
  /** Which output files hold the events. */
  accept(fileName: string): boolean;
  start(paths: IngestPaths): Promise<Server>;
}

const isSessionFile = (name: string): boolean =>
  name.startsWith("session-") && name.endsWith(".jsonl");

/** This project's collector, started the way `deno task collect` starts it. */
export const COLLECTOR_TARGET: IngestTarget = {
  name: "containai collector",
  // The launcher computes narrow permissions and starts the served process.
  rssScope: "descendants",
  cpuMeasurable: true,
  accept: isSessionFile,
  start: async ({ socket, logDir }) =>
    startServer(Deno.execPath(), {
      args: [...await taskArgs("collect"), "--socket", socket, "--log-dir", logDir],
      cwd: REPO_ROOT,
    }),
};

/** syslog-ng in the foreground with bench/syslog-ng.conf and its state in the run directory. */
export const SYSLOG_NG_TARGET: IngestTarget = {
  name: "syslog-ng",
  rssScope: "tree",
  cpuMeasurable: true,
  accept: isSessionFile,
  start: async ({ workDir, socket, logDir }) => {
    const template = await Deno.readTextFile(SYSLOG_NG_TEMPLATE);
    const config = `${workDir}/syslog-ng.conf`;
    await Deno.writeTextFile(
      config,
      template.replaceAll("@SOCKET@", socket).replaceAll("@LOG_DIR@", logDir),
    );
    return startServer("syslog-ng", {
      args: [
        "--foreground",
        "--cfgfile",
        config,
        "--pidfile",
        `${workDir}/syslog-ng.pid`,
        "--persist-file",
        `${workDir}/syslog-ng.persist`,
        "--control",
        `${workDir}/syslog-ng.ctl`,
        "--no-caps",
      ],
    });
  },
};

/** socat copying every connection's bytes into one file: the floor of any ingest. */
export const SOCAT_TARGET: IngestTarget = {
  name: "socat (raw copy)",
  rssScope: "tree",
  // socat forks a child per connection, which exits as soon as its client is done.
  cpuMeasurable: false,
  accept: (name) => name === "raw.jsonl",
  start: ({ socket, logDir }) =>
    Promise.resolve(startServer("socat", {
      args: [
        "-u",
        "-b",
        String(SOCAT_BUFFER_BYTES),
        `UNIX-LISTEN:${socket},fork,backlog=64`,
        `OPEN:${logDir}/raw.jsonl,creat,append,wronly`,
      ],
    })),
};
