/**
 * A byte range of an open file that storage hands out instead of reading it into memory.
 * Same shape as protocol/wire/file-region.ts (storage may not import the protocol's wire
 * layer for this, and the two are checked structurally by TypeScript wherever they meet).
 *
 * Invariant: `fd` stays open and its bytes [position, position + length) stay unchanged
 * until `release()` is called, whatever roll, retention, truncation or compaction do
 * meanwhile (storage pins the descriptor; a deleted file is unlinked only after the last
 * region of it is released). `release()` is idempotent.
 */
export interface FileRegion {
  readonly kind: 'file-region';
  readonly fd: number;
  readonly position: number;
  readonly length: number;
  release(): void;
}

export function isFileRegion(value: unknown): value is FileRegion {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'file-region'
  );
}
