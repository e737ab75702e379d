/**
 * A minimal reader of 64-bit little-endian ELF files: program headers, section headers and the
 * symbol table, enough for tests to check how a shared library is laid out.
 *
 * @module
 */

/** Program header types used by the layout tests. */
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_TLS = 7;
export const PT_GNU_EH_FRAME = 0x6474e550;
export const PT_GNU_STACK = 0x6474e551;
export const PT_GNU_RELRO = 0x6474e552;
/** Segment permission bits (p_flags). */
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;
/** Dynamic section tags used by the layout tests. */
export const DT_FLAGS = 30;
export const DF_BIND_NOW = 8;

/** One program header (segment). */
export interface Segment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  fileSize: number;
  memSize: number;
}

/** One section header, with its name. */
export interface Section {
  name: string;
  type: number;
  addr: number;
  offset: number;
  size: number;
}

/** One symbol of the static symbol table (.symtab). */
export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
}

/** What {@linkcode readElf} returns. */
export interface Elf {
  segments: Segment[];
  sections: Section[];
  symbols: ElfSymbol[];
  /** The entries of the dynamic section as [tag, value] pairs, in file order. */
  dynamic: [number, number][];
}

/**
 * Reads the headers and the symbol table of a 64-bit little-endian ELF file.
 *
 * @example
 * ```ts
 * import { readElf } from "./elf.ts";
 * const elf = readElf(await Deno.readFile("shim/zig-out/lib/libauditshim.so"));
 * elf.segments.filter((s) => s.type === 1).length; // loadable segments
 * ```
 */
export function readElf(bytes: Uint8Array): Elf {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  if (!magic || bytes[4] !== 2 || bytes[5] !== 1) {
    throw new Error("not a 64-bit little-endian ELF file");
  }
  const u16 = (at: number): number => view.getUint16(at, true);
  const u32 = (at: number): number => view.getUint32(at, true);
  const u64 = (at: number): number => Number(view.getBigUint64(at, true));
  const phoff = u64(0x20);
  const shoff = u64(0x28);
  const phentsize = u16(0x36);
  const phnum = u16(0x38);
  const shentsize = u16(0x3a);
  const shnum = u16(0x3c);
  const shstrndx = u16(0x3e);

  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    segments.push({
      type: u32(at),
      flags: u32(at + 4),
      offset: u64(at + 8),
      vaddr: u64(at + 16),
      fileSize: u64(at + 32),
      memSize: u64(at + 40),
    });
  }

  const raw: {
    nameOffset: number;
    type: number;
    addr: number;
    offset: number;
    size: number;
    link: number;
  }[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    raw.push({
      nameOffset: u32(at),
      type: u32(at + 4),
      addr: u64(at + 16),
      offset: u64(at + 24),
      size: u64(at + 32),
      link: u32(at + 40),
    });
  }
  const decoder = new TextDecoder();
  const stringAt = (table: number, offset: number): string => {
    const start = raw[table].offset + offset;
    let end = start;
    while (end < bytes.length && bytes[end] !== 0) end++;
    return decoder.decode(bytes.subarray(start, end));
  };
  const sections = raw.map((s) => ({
    name: stringAt(shstrndx, s.nameOffset),
    type: s.type,
    addr: s.addr,
    offset: s.offset,
    size: s.size,
  }));

  const SHT_SYMTAB = 2;
  const symbols: ElfSymbol[] = [];
  const symtab = raw.findIndex((s) => s.type === SHT_SYMTAB);
  if (symtab >= 0) {
    const table = raw[symtab];
    for (let at = table.offset; at + 24 <= table.offset + table.size; at += 24) {
      symbols.push({ name: stringAt(table.link, u32(at)), value: u64(at + 8), size: u64(at + 16) });
    }
  }

  const dynamic: [number, number][] = [];
  const dyn = segments.find((s) => s.type === PT_DYNAMIC);
  if (dyn) {
    for (let at = dyn.offset; at + 16 <= dyn.offset + dyn.fileSize; at += 16) {
      dynamic.push([u64(at), u64(at + 8)]);
    }
  }
  return { segments, sections, symbols, dynamic };
}
