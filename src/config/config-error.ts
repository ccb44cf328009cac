/**
 * Configuration mistakes, reported to the operator with the property (or file, or flag) they
 * are about. Callers match on `code`; `property` and `source` say where to look.
 */
import { BrokerError } from '../util/errors.ts';

export const ConfigErrorCode = {
  /** A property name that is not in the catalogue. */
  unknownProperty: 'ERR_CONFIG_UNKNOWN_PROPERTY',
  /** A value that does not parse as the property's type or fails its validator. */
  invalidValue: 'ERR_CONFIG_INVALID_VALUE',
  /** Properties that are fine alone but contradict each other. */
  conflict: 'ERR_CONFIG_CONFLICT',
  /** The --config file cannot be read or is not a YAML mapping. */
  badFile: 'ERR_CONFIG_FILE',
  /** A command-line argument that is not understood. */
  badArgument: 'ERR_CLI_ARGUMENT',
} as const;

export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

export class ConfigError extends BrokerError {
  /** The property concerned, when there is one. */
  readonly property: string | undefined;
  /** Where the value came from: 'file brook.yaml', 'env BROOK_X', '--set', ... */
  readonly source: string | undefined;

  constructor(
    code: ConfigErrorCode,
    message: string,
    details: { property?: string; source?: string; cause?: unknown } = {},
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ConfigError';
    this.property = details.property;
    this.source = details.source;
  }
}
