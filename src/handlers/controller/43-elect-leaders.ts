/**
 * ElectLeaders (key 43) on the controller listener, versions 0-2.
 *
 * Behavior:
 * - PREFERRED (0) moves leadership to the first replica when it is in the ISR and active;
 *   UNCLEAN (1) elects an out-of-sync live replica for a leaderless partition
 *   (src/controller/partition-commands.ts). Per partition: not needed ELECTION_NOT_NEEDED,
 *   preferred replica not eligible PREFERRED_LEADER_NOT_AVAILABLE, no live replica
 *   ELIGIBLE_LEADERS_NOT_AVAILABLE, unknown UNKNOWN_TOPIC_OR_PARTITION. The answer waits for
 *   the commit of the changes. Elsewhere: NOT_CONTROLLER.
 *
 * Version notes: v0 preferred only, no top-level error (a refusal is reported per
 * partition); v1 electionType and the top-level error; v2 flexible.
 */
import { ApiKey } from '../../../protocol/generated/api-catalogue.ts';
import type {
  ElectLeadersRequest,
  ElectLeadersResponse,
} from '../../../protocol/generated/apis/43-elect-leaders.ts';
import { defineHandler } from '../handler.ts';
import { withController } from './controller-services.ts';
import { refusedElections } from './topic-requests.ts';

export const controllerElectLeadersHandler = defineHandler<
  ElectLeadersRequest,
  ElectLeadersResponse
>(
  withController({
    apiKey: ApiKey.ElectLeaders,
    minVersion: 0,
    maxVersion: 2,
    async handle(_ctx, request, version, { controller }) {
      // v0 has no electionType field: it decodes as 0, PREFERRED, which is what v0 means.
      const response = await controller.electLeaders(request);
      return version >= 1 || response.errorCode === 0
        ? response
        : refusedElections(request, version, response.errorCode);
    },
    errorResponse: refusedElections,
  }),
);
