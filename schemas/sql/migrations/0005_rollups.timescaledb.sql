-- Rollups on TimescaleDB: the same columns as on plain PostgreSQL (see
-- 0005_rollups.postgres.sql for what each one means and how they combine). The 1-minute level
-- is a hypertable maintained by the workers (raw points are stored as per-hour segments, which
-- a continuous aggregate cannot bucket by minute); 1 hour and 1 day are hierarchical continuous
-- aggregates over it. Their refresh policies have no start offset, so a late point that changes
-- an old minute row is folded into the hours and days above it at the next refresh; real-time
-- aggregation covers what has not been materialized yet.
CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE TABLE IF NOT EXISTS rollup_1m (
  tag_id    integer NOT NULL,
  bucket    timestamptz NOT NULL,
  n         integer NOT NULL,
  min       double precision,
  max       double precision,
  sum       double precision,
  first_ts  timestamptz,
  first_val double precision,
  last_ts   timestamptz,
  last_val  double precision,
  next_ts   timestamptz,
  tw_ext    double precision NOT NULL DEFAULT 0,
  volume    double precision,
  PRIMARY KEY (tag_id, bucket)
);
SELECT create_hypertable('rollup_1m', by_range('bucket', INTERVAL '7 days'), if_not_exists => TRUE);

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_1h WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT tag_id, time_bucket(INTERVAL '1 hour', bucket) AS bucket,
         sum(n)::integer AS n, min(min) AS min, max(max) AS max, sum(sum) AS sum,
         min(first_ts) AS first_ts, first(first_val, first_ts) AS first_val,
         max(last_ts) AS last_ts, last(last_val, last_ts) AS last_val,
         max(next_ts) AS next_ts, sum(tw_ext) AS tw_ext, sum(volume) AS volume
    FROM rollup_1m
   GROUP BY tag_id, time_bucket(INTERVAL '1 hour', bucket)
  WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_1d WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT tag_id, time_bucket(INTERVAL '1 day', bucket) AS bucket,
         sum(n)::integer AS n, min(min) AS min, max(max) AS max, sum(sum) AS sum,
         min(first_ts) AS first_ts, first(first_val, first_ts) AS first_val,
         max(last_ts) AS last_ts, last(last_val, last_ts) AS last_val,
         max(next_ts) AS next_ts, sum(tw_ext) AS tw_ext, sum(volume) AS volume
    FROM rollup_1h
   GROUP BY tag_id, time_bucket(INTERVAL '1 day', bucket)
  WITH NO DATA;

SELECT add_continuous_aggregate_policy('rollup_1h', start_offset => NULL, end_offset => INTERVAL '1 minute',
  schedule_interval => INTERVAL '1 minute', if_not_exists => TRUE);
SELECT add_continuous_aggregate_policy('rollup_1d', start_offset => NULL, end_offset => INTERVAL '1 hour',
  schedule_interval => INTERVAL '5 minutes', if_not_exists => TRUE);
