/**
 * IncrementalAlterConfigs and AlterConfigs as the cluster controller decides them: a resource's
 * changes are planned against its overrides in the latest state (so APPEND and SUBTRACT see
 * every change decided before them), checked as on a single node (the topic-config catalogue,
 * src/config/topic-config.ts), and written as ConfigRecords, all of a resource's or none.
 *
 * Only TOPIC resources can be altered: BROKER resources are refused with INVALID_REQUEST, as on
 * a single node (no dynamic broker configs yet).
 */
import { ErrorCode } from '../../protocol/errors.ts';
import { MetadataRecordType } from '../../protocol/generated/metadata-record-table.ts';
import { isTopicConfigName, topicConfigProblem } from '../config/topic-config.ts';
import { CONFIG_RESOURCE_TOPIC } from '../metadata/metadata-record.ts';
import type { ConfigChange } from '../metadata/topic-commands.ts';
import type { Decision } from './decision.ts';

/** What a plan returns: the changes to write, or why the resource is refused. */
export type PlannedChanges =
  | readonly ConfigChange[]
  | { readonly errorCode: number; readonly message: string };

export interface ConfigAlteration {
  readonly resourceType: number;
  readonly resourceName: string;
  /**
   * Turns the resource's current overrides into changes. It runs when the command is decided,
   * on the controller's event queue, so it sees every earlier decision.
   */
  readonly plan: (current: ReadonlyMap<string, string>) => PlannedChanges;
}

export interface ConfigResult {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export function alterConfigs(decision: Decision, alteration: ConfigAlteration): ConfigResult {
  const { resourceType, resourceName } = alteration;
  const fail = (errorCode: number, errorMessage: string): ConfigResult => ({
    resourceType,
    resourceName,
    errorCode,
    errorMessage,
  });
  if (resourceType !== CONFIG_RESOURCE_TOPIC) {
    return fail(ErrorCode.INVALID_REQUEST, 'Only topic configs can be altered on this cluster.');
  }
  if (!decision.state.topicByName(resourceName)) {
    return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${resourceName} does not exist.`);
  }
  const planned = alteration.plan(decision.state.configs(resourceType, resourceName));
  if (!Array.isArray(planned)) {
    const refusal = planned as Exclude<PlannedChanges, readonly ConfigChange[]>;
    return fail(refusal.errorCode, refusal.message);
  }
  const changes = planned as readonly ConfigChange[];
  for (const [name, value] of changes) {
    // A deletion needs only a known name; a value must pass the catalogue's check.
    const problem =
      value !== null
        ? topicConfigProblem(name, value)
        : isTopicConfigName(name)
          ? undefined
          : `Unknown topic config name: ${name}`;
    if (problem) return fail(ErrorCode.INVALID_CONFIG, problem);
  }
  if (changes.length > decision.recordsLeft) {
    return fail(ErrorCode.POLICY_VIOLATION, 'The request changes more configs than one may.');
  }
  for (const [name, value] of changes) {
    decision.emit({
      type: MetadataRecordType.ConfigRecord,
      data: { resourceType, resourceName, name, value },
    });
  }
  return { resourceType, resourceName, errorCode: ErrorCode.NONE, errorMessage: null };
}
