/**
 * A byte range of an open file that storage hands out instead of reading it into memory.
 * The server writes it to the socket (sendfile where available) and then calls `release()`,
 * which lets storage close or recycle the descriptor once no response still refers to it.
 */

export interface FileRegion {
  readonly kind: 'file-region';
  readonly fd: number;
  readonly position: number;
  readonly length: number;
  release(): void;
}

/** What an encoder accepts for a `records` field: bytes in memory or a region of a file. */
export type RecordsData = Buffer | FileRegion;

export function isFileRegion(value: unknown): value is FileRegion {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'file-region'
  );
}
