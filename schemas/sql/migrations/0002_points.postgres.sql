-- Raw points on plain PostgreSQL.
--
-- Layout: one row per *segment*, i.e. the points of one tag within one hour that one
-- worker flush wrote, as parallel arrays. Per-row costs (tuple header, index entry, WAL
-- record) are paid once per segment instead of once per point, which is what lets COPY
-- run near a million points per second on two cores (narrow rows with a btree top out
-- near 0.2 M/s on the same machine). A late or out-of-order point simply lands in another
-- segment of the same hour; readers unnest and order by time. Segments of closed hours are
-- merged into one row per tag-hour by compaction.
--
-- Partitioned by day on `bucket` (the hour the segment belongs to); partitions are
-- created ahead by the workers and dropped by retention.
CREATE TABLE IF NOT EXISTS points (
  tag_id   integer NOT NULL,
  bucket   timestamptz NOT NULL,       -- start of the hour holding every point of the row
  ts       timestamptz[] NOT NULL,     -- source timestamps (µs)
  vals     double precision[] NOT NULL,
  quals    smallint[]                  -- OPC DA quality per point; NULL means all good (0xC0)
) PARTITION BY RANGE (bucket);

CREATE INDEX IF NOT EXISTS points_tag_bucket_idx ON points (tag_id, bucket);
