// The collectors' Kafka sink with store-and-forward (spool in ../spool). See ../spool/README.md.
export { KafkaSink, type KafkaSinkConfig, type KafkaSinkDeps, type KafkaSinkStats } from './sink.js'
export { findLanded } from './landed.js'
