/**
 * The store `run` keeps compiled policies in: content-addressed, read-only, and never trusting a
 * file or directory somebody else could have written.
 */
import assert from "node:assert/strict";
import { storeCompactPolicy } from "../../policy/mod.ts";
import { tempDir } from "../support/temp_dir.ts";

const TEXT = "CAIPOLICY 1 observe 0\nEND\n";

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("a policy is stored in a read-only file named by the SHA-256 of its text", async () => {
  await using temp = await tempDir("policy-store-");
  const path = await storeCompactPolicy(TEXT, { dir: `${temp.path}/store` });
  assert.equal(path, `${await Deno.realPath(temp.path)}/store/${await sha256Hex(TEXT)}.compact`);
  assert.equal(await Deno.readTextFile(path), TEXT);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o444);
  assert.equal((await Deno.stat(`${temp.path}/store`)).mode! & 0o777, 0o755);
});

Deno.test("the store directory is readable by every user when run's umask is 077", async () => {
  await using temp = await tempDir("policy-store-");
  const dir = `${temp.path}/store`;
  const store = new URL("../../policy/compact_store.ts", import.meta.url).href;
  const code = `import { storeCompactPolicy } from ${JSON.stringify(store)};\n` +
    `await storeCompactPolicy(${JSON.stringify(TEXT)}, { dir: ${JSON.stringify(dir)} });`;
  const out = await new Deno.Command("sh", {
    args: ["-c", 'umask 077 && exec "$@"', "sh", Deno.execPath(), "eval", code],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o755);
});

Deno.test("storing the same policy twice gives the same file and leaves no temporary files", async () => {
  await using temp = await tempDir("policy-store-");
  const first = await storeCompactPolicy(TEXT, { dir: temp.path });
  const second = await storeCompactPolicy(TEXT, { dir: temp.path });
  assert.equal(second, first);
  const names = [];
  for await (const entry of Deno.readDir(temp.path)) names.push(entry.name);
  assert.deepEqual(names, [first.slice(first.lastIndexOf("/") + 1)]);
});

Deno.test("a file planted under a policy's name with other text is replaced", async () => {
  await using temp = await tempDir("policy-store-");
  const planted = `${temp.path}/${await sha256Hex(TEXT)}.compact`;
  await Deno.writeTextFile(planted, "CAIPOLICY 1 observe 0\nEND\n\n", { mode: 0o444 });
  const path = await storeCompactPolicy(TEXT, { dir: temp.path });
  assert.equal(path, await Deno.realPath(planted));
  assert.equal(await Deno.readTextFile(path), TEXT);
});

Deno.test("a writable file under a policy's name is replaced by a read-only one", async () => {
  await using temp = await tempDir("policy-store-");
  const planted = `${temp.path}/${await sha256Hex(TEXT)}.compact`;
  await Deno.writeTextFile(planted, TEXT, { mode: 0o666 });
  await Deno.chmod(planted, 0o666);
  const path = await storeCompactPolicy(TEXT, { dir: temp.path });
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o444);
});

Deno.test("a store directory others may write is not used", async () => {
  await using temp = await tempDir("policy-store-");
  await Deno.chmod(temp.path, 0o777);
  const path = await storeCompactPolicy(TEXT, { dir: temp.path });
  assert.ok(!path.startsWith(`${await Deno.realPath(temp.path)}/`), path);
  assert.equal(await Deno.readTextFile(path), TEXT);
  await Deno.remove(path.slice(0, path.lastIndexOf("/")), { recursive: true });
});

Deno.test({
  name: "a store directory owned by another user is not used",
  ignore: Deno.uid() !== 0,
}, async () => {
  await using temp = await tempDir("policy-store-");
  await Deno.chown(temp.path, 4242, 4242);
  const path = await storeCompactPolicy(TEXT, { dir: temp.path });
  assert.ok(!path.startsWith(`${await Deno.realPath(temp.path)}/`), path);
  await Deno.remove(path.slice(0, path.lastIndexOf("/")), { recursive: true });
});

Deno.test("a symbolic link in place of the store directory is not followed", async () => {
  await using temp = await tempDir("policy-store-");
  await Deno.mkdir(`${temp.path}/elsewhere`);
  await Deno.symlink(`${temp.path}/elsewhere`, `${temp.path}/store`);
  const path = await storeCompactPolicy(TEXT, { dir: `${temp.path}/store` });
  assert.ok(!path.startsWith(`${await Deno.realPath(temp.path)}/`), path);
  await Deno.remove(path.slice(0, path.lastIndexOf("/")), { recursive: true });
});
