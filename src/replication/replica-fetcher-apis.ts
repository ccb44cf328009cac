/**
 * The three APIs a follower speaks to its leader, as codec descriptors built from the one
 * generated module each needs. The full api-table would load the codecs of every Kafka API
 * (megabytes); a broker loads only what it uses (see api-catalogue's `loadApi`).
 *
 * Versions are fixed: Brook brokers speak the same ones (no ApiVersions round trip), and
 * these are the ones KIP-320 and KIP-903 need (Fetch v17: topic ids, lastFetchedEpoch,
 * divergingEpoch, replicaState with the broker epoch).
 */
import { type ApiDescriptor, ApiInfos } from '../../protocol/generated/api-catalogue.ts';
import * as fetch from '../../protocol/generated/apis/01-fetch.ts';
import * as listOffsets from '../../protocol/generated/apis/02-list-offsets.ts';
import * as epochs from '../../protocol/generated/apis/23-offset-for-leader-epoch.ts';

export const replicaFetchVersions = {
  fetch: 17,
  listOffsets: 9,
  offsetForLeaderEpoch: 4,
} as const;

export const FetchApi: ApiDescriptor<fetch.FetchRequest, fetch.FetchResponse> = {
  ...ApiInfos.Fetch,
  newRequest: fetch.newFetchRequest,
  decodeRequest: fetch.decodeFetchRequest,
  encodeRequest: fetch.encodeFetchRequest,
  newResponse: fetch.newFetchResponse,
  decodeResponse: fetch.decodeFetchResponse,
  encodeResponse: fetch.encodeFetchResponse,
};

export const ListOffsetsApi: ApiDescriptor<
  listOffsets.ListOffsetsRequest,
  listOffsets.ListOffsetsResponse
> = {
  ...ApiInfos.ListOffsets,
  newRequest: listOffsets.newListOffsetsRequest,
  decodeRequest: listOffsets.decodeListOffsetsRequest,
  encodeRequest: listOffsets.encodeListOffsetsRequest,
  newResponse: listOffsets.newListOffsetsResponse,
  decodeResponse: listOffsets.decodeListOffsetsResponse,
  encodeResponse: listOffsets.encodeListOffsetsResponse,
};

export const OffsetForLeaderEpochApi: ApiDescriptor<
  epochs.OffsetForLeaderEpochRequest,
  epochs.OffsetForLeaderEpochResponse
> = {
  ...ApiInfos.OffsetForLeaderEpoch,
  newRequest: epochs.newOffsetForLeaderEpochRequest,
  decodeRequest: epochs.decodeOffsetForLeaderEpochRequest,
  encodeRequest: epochs.encodeOffsetForLeaderEpochRequest,
  newResponse: epochs.newOffsetForLeaderEpochResponse,
  decodeResponse: epochs.decodeOffsetForLeaderEpochResponse,
  encodeResponse: epochs.encodeOffsetForLeaderEpochResponse,
};
