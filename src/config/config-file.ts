/**
 * Reading the --config file through storage's FileSystem (the only code allowed to touch the
 * disk). A configuration file is small; anything larger than the limit is a mistake (a log
 * file or a binary passed by accident), reported before it is read.
 */
import type { FileSystem } from '../../storage/io/file-system.ts';
import { ConfigError, ConfigErrorCode } from './config-error.ts';

export const configFileBytesMax = 1024 * 1024;

export async function readConfigFile(
  fileSystem: FileSystem,
  path: string,
): Promise<{ path: string; text: string }> {
  let fd: number;
  try {
    fd = await fileSystem.open(path, 'read');
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError(ConfigErrorCode.badFile, `cannot read config file ${path}: ${why}`, {
      source: path,
      cause,
    });
  }
  try {
    const sizeBytes = await fileSystem.size(fd);
    if (sizeBytes > configFileBytesMax) {
      throw new ConfigError(
        ConfigErrorCode.badFile,
        `config file ${path} is ${sizeBytes} bytes; ` +
          `more than ${configFileBytesMax} is not a config`,
        { source: path },
      );
    }
    const buffer = Buffer.alloc(sizeBytes);
    let done = 0;
    while (done < sizeBytes) {
      const n = await fileSystem.read(fd, buffer.subarray(done), done);
      if (n === 0) break;
      done += n;
    }
    return { path, text: buffer.subarray(0, done).toString('utf8') };
  } finally {
    await fileSystem.close(fd);
  }
}
