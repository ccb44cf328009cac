/**
 * The sendfile addon (storage/native/sendfile.c), loaded if it was built.
 *
 * `sendfileAddon` is undefined when the binary is missing (no compiler at install time), fails
 * to load, or BROOK_DISABLE_SENDFILE=1 is set; `sendfileUnavailableReason` then says why, so
 * the server can log once that fetch reads are copied rather than zero-copy.
 */
import { createRequire } from 'node:module';

export interface SendfileAddon {
  /**
   * Sends up to `length` bytes of file `inFd` from `position` to socket `outFd`. Returns the
   * bytes sent (> 0), 0 at end of file, or a negative errno (-EAGAIN when the socket's send
   * buffer is full). Never blocks: libuv keeps sockets non-blocking.
   */
  sendfile(outFd: number, inFd: number, position: number, length: number): number;
  /** This platform's EAGAIN. */
  readonly EAGAIN: number;
}

/**
 * Where the build step leaves the binary, relative to this module: next to the sources
 * (running the .ts files) or, from the compiled dist/storage/io/, back in the package root.
 */
const ADDON_PATHS = [
  '../native/build/Release/brook_sendfile.node',
  '../../../storage/native/build/Release/brook_sendfile.node',
] as const;

function load(): { addon?: SendfileAddon; reason?: string } {
  if (process.env.BROOK_DISABLE_SENDFILE === '1') return { reason: 'BROOK_DISABLE_SENDFILE=1' };
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of ADDON_PATHS) {
    try {
      const addon = require(path) as SendfileAddon;
      if (typeof addon.sendfile === 'function') return { addon };
      failures.push(`${path}: no sendfile function`);
    } catch (error) {
      failures.push(error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error));
    }
  }
  return { reason: failures.join('; ') };
}

const loaded = load();

export const sendfileAddon: SendfileAddon | undefined = loaded.addon;
export const sendfileUnavailableReason: string | undefined = loaded.reason;
