// Loading of the shared JSON test vectors. Integers that do not fit a double (KIDs and CTRs up to 2^64-1) are
// read as exact decimal strings; `big()` turns them (or small numbers) into BigInts.
// Run directly (as node's test runner does for every file under test/) it tests itself.

import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));

/** /work/shared/test-vectors (the official RFC vectors), relative to this folder. */
export const SHARED_VECTORS = join(here, '../../../../shared/test-vectors');
/** The project's language-neutral vectors, top-level test-vectors/. */
export const PROJECT_VECTORS = join(here, '../../../test-vectors');

/** JSON.parse, but every integer literal of 16 or more digits becomes a decimal string. */
export function parseJsonExact(text) {
  // Only outside strings: walk the text and quote long digit runs that follow ':' '[' or ','.
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i];
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
      continue;
    }
    if (ch >= '0' && ch <= '9' || ch === '-') {
      let j = i;
      while (j < text.length && /[-+0-9.eE]/.test(text[j])) j++;
      const lit = text.slice(i, j);
      out += /^-?\d{16,}$/.test(lit) ? '"' + lit + '"' : lit;
      i = j - 1;
      continue;
    }
    out += ch;
  }
  return JSON.parse(out);
}

/** A BigInt of a JSON number or exact decimal string. */
export function big(v) {
  return BigInt(v);
}

/** The parsed file, or null when it does not exist. */
export function loadVectors(path) {
  return existsSync(path) ? parseJsonExact(readFileSync(path, 'utf8')) : null;
}

/** The project vector files whose names start with `prefix` (e.g. 'frames-'), sorted; [] when none. */
export function projectVectorFiles(prefix) {
  if (!existsSync(PROJECT_VECTORS)) return [];
  return readdirSync(PROJECT_VECTORS).filter((f) => f.startsWith(prefix) && f.endsWith('.json')).sort()
    .map((f) => join(PROJECT_VECTORS, f));
}
