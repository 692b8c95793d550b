-- Rollups at 1 minute, 1 hour and 1 day (plain PostgreSQL: tables maintained by the workers;
-- see 0005_rollups.timescaledb.sql for the continuous-aggregate flavor, same columns).
--
-- Every column combines with plain aggregates, so a level is computed from the level below
-- (1h from 1m, 1d from 1h) exactly as it would be from the raw points:
--   n, min, max, sum              over the bucket's good-quality samples
--   first_ts/first_val, last_ts/last_val   the bucket's first and last sample
--   next_ts                       the tag's first sample after this bucket (NULL: none yet);
--                                 a parent keeps the max of its children's
--   tw_ext                        ∫ value dt (value × seconds, previous value held) from
--                                 first_ts up to greatest(next_ts, last_ts); a parent's is the
--                                 sum of its children's
--   volume                        counter and rate tags: production in the bucket, each
--                                 sample-to-sample increment apportioned over the buckets it
--                                 spans (so volumes add up across bucket sizes)
-- A bucket with no sample but a share of a volume has n = 0 and NULL sample columns.
-- The time-weighted average over the bucket's samples is
--   (tw_ext - last_val × (greatest(next_ts, last_ts) - last_ts)) / (last_ts - first_ts)
-- (first_val when the bucket holds one instant); rollups() below computes it.
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
CREATE TABLE IF NOT EXISTS rollup_1h (LIKE rollup_1m INCLUDING ALL);
CREATE TABLE IF NOT EXISTS rollup_1d (LIKE rollup_1m INCLUDING ALL);
