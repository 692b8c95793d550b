-- Core tables shared by every store flavor: the tag registry and the consumed Kafka
-- offsets that make ingest exactly-once.

-- One row per tag name, filled automatically by the workers the first time a name
-- arrives; unit, asset, kind and metadata can be set from config or the API.
CREATE TABLE IF NOT EXISTS tags (
  id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 256),
  -- value kind on the wire: 0 number, 1 boolean
  value_kind  smallint NOT NULL DEFAULT 0 CHECK (value_kind IN (0, 1)),
  -- what the values mean for rollups and production curves
  kind        text NOT NULL DEFAULT 'gauge' CHECK (kind IN ('gauge', 'counter', 'rate')),
  unit        text,
  asset       text,
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tags_asset_idx ON tags (asset) WHERE asset IS NOT NULL;

-- Next Kafka offset whose data is NOT yet durable, per consumer group and partition.
-- Updated in the same transaction as the rows it covers; a worker skips messages below
-- it after a crash or rebalance, so a replay writes nothing twice.
CREATE TABLE IF NOT EXISTS consumer_offsets (
  group_id     text NOT NULL,
  topic        text NOT NULL,
  partition    integer NOT NULL,
  next_offset  bigint,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);
