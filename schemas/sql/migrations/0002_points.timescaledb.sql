-- Raw points on TimescaleDB: the same segment layout as on plain PostgreSQL (see
-- 0002_points.postgres.sql), as a hypertable on `bucket` with daily chunks. Closed
-- chunks are compressed (segmented by tag, so a tag's range read touches one segment
-- per chunk) and dropped by the retention policy.
CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE TABLE IF NOT EXISTS points (
  tag_id   integer NOT NULL,
  bucket   timestamptz NOT NULL,
  ts       timestamptz[] NOT NULL,
  vals     double precision[] NOT NULL,
  quals    smallint[]
);

SELECT create_hypertable('points', by_range('bucket', INTERVAL '1 day'), if_not_exists => TRUE, create_default_indexes => FALSE);
CREATE INDEX IF NOT EXISTS points_tag_bucket_idx ON points (tag_id, bucket);

ALTER TABLE points SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'tag_id',
  timescaledb.compress_orderby = 'bucket'
);
