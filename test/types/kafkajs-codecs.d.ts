// kafkajs's codec plugins ship no types; tests only register them with kafkajs.
declare module 'kafkajs-snappy' {
  import type { CompressionCodecs } from 'kafkajs';

  const codec: (typeof CompressionCodecs)[number];
  export default codec;
}
