import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

async function read(path: string): Promise<string> {
  return await Deno.readTextFile(new URL(path, ROOT));
}

function argDefault(containerfile: string, name: string): string {
  const match = containerfile.match(new RegExp(`^ARG ${name}=(\\S+)$`, "m"));
  assert.ok(match, `Containerfile declares no "ARG ${name}=..." default`);
  return match[1];
}

Deno.test("the Containerfile's default Deno image is the pinned Deno version", async () => {
  const pinned = (await read("toolchain/deno.version")).trim();
  const image = argDefault(await read("Containerfile"), "DENO_IMAGE");
  assert.equal(image, `docker.io/denoland/deno:bin-${pinned}`);
});

Deno.test("the Containerfile's default Zig version is the pinned Zig version", async () => {
  const pinned = (await read("toolchain/zig.version")).trim();
  assert.equal(argDefault(await read("Containerfile"), "ZIG_VERSION"), pinned);
});

Deno.test("the Containerfile's default base image is the public Debian slim image", async () => {
  assert.equal(
    argDefault(await read("Containerfile"), "BASE_IMAGE"),
    "docker.io/library/debian:bookworm-slim",
  );
});
