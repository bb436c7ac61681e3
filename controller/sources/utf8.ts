// Strict UTF-8 decoding: a file that is not UTF-8 is reported where it stops being UTF-8, rather than read
// with its bad bytes silently turned into U+FFFD (which would then be baked into an image).

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export type Decoded = { text: string } | { invalidAt: number; byte: number };

/** The text of `bytes`, or the offset and value of the first byte that does not belong to valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): Decoded {
  try {
    return { text: strict.decode(bytes) };
  } catch {
    const invalidAt = firstInvalidUtf8(bytes);
    return { invalidAt, byte: bytes[invalidAt] ?? 0 };
  }
}

/**
 * Offset of the first byte of the first ill-formed sequence (the lead byte of a truncated or overlong
 * sequence, or a stray continuation byte), following the Unicode table of well-formed byte sequences;
 * bytes.length when there is none.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) low = 0xa0; // overlong
      if (lead === 0xed) high = 0x9f; // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) low = 0x90; // overlong
      if (lead === 0xf4) high = 0x8f; // above U+10FFFF
    } else return i;
    if (i + length > bytes.length) return i;
    const second = bytes[i + 1]!;
    if (second < low || second > high) return i;
    for (let k = 2; k < length; k++) {
      const next = bytes[i + k]!;
      if (next < 0x80 || next > 0xbf) return i;
    }
    i += length;
  }
  return bytes.length;
}

/** 1-based line and column (in UTF-16 code units, as every other position) of a byte offset before which the bytes are valid. */
export function positionOfByte(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1 && i < offset; i = bytes.indexOf(0x0a, i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: strict.decode(bytes.subarray(lineStart, offset)).length + 1 };
}
