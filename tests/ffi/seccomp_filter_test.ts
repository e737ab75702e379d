import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { ProbeResult } from "../../ffi/mod.ts";
import { chooseCapture } from "../../ffi/mod.ts";
import { compileC } from "../support/shim.ts";

const PRINT_PROBE = new URL("./fixtures/print_probe.ts", import.meta.url).pathname;

/**
 * Sets no_new_privs, installs a filter that makes seccomp(2) fail with EPERM
 * (as hardened container profiles do), then execs its arguments.
 */
const BLOCK_SECCOMP = `
#include <errno.h>
#include <stddef.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
  struct sock_filter code[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = { sizeof code / sizeof code[0], code };
  if (argc < 2) return 119;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 120;
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) return 121;
  execv(argv[1], argv + 1);
  return 122;
}
`;

Deno.test("under a filter that blocks seccomp(2), the probe reports filter mode and no trap", async () => {
  const wrapper = await compileC(BLOCK_SECCOMP);
  const output = await new Deno.Command(wrapper, {
    args: [Deno.execPath(), "run", "--allow-ffi", PRINT_PROBE],
    stderr: "inherit",
  }).output();
  assertEquals(output.code, 0);
  const probe: ProbeResult = JSON.parse(new TextDecoder().decode(output.stdout));
  assertEquals(probe.seccomp_mode, { value: "filter", source: "prctl" });
  assertEquals(probe.no_new_privs, { value: true, source: "prctl" });
  assertEquals(probe.user_notification, {
    value: false,
    source: "seccomp",
    detail: "EPERM: seccomp() blocked by a filter",
  });
  assertEquals(probe.filter_install, {
    value: "blocked",
    source: "seccomp",
    detail: "EPERM: seccomp() blocked by a filter",
  });
  assertEquals(
    chooseCapture(probe).reason,
    "seccomp user notification unavailable (EPERM: seccomp() blocked by a filter); " +
      "the LD_PRELOAD shim captures exec, open and connect",
  );
});
