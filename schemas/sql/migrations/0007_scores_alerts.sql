-- Anomaly scores and the alerts they raise (workers/score, workers/alerts).

-- One score per tag per scored window, in [0, 1]; ts is the time of the window's last point.
CREATE TABLE IF NOT EXISTS anomaly_scores (
  tag_id  integer NOT NULL,
  ts      timestamptz NOT NULL,
  score   real NOT NULL CHECK (score >= 0 AND score <= 1),
  model   text NOT NULL,
  PRIMARY KEY (tag_id, ts)
);

-- An alert opens when a tag's score stays above the open threshold for the minimum duration
-- and closes when it stays below the close threshold (hysteresis). At most one open alert per
-- tag and model.
CREATE TABLE IF NOT EXISTS alerts (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tag_id      integer NOT NULL,
  asset       text,
  model       text NOT NULL,
  opened_at   timestamptz NOT NULL,
  closed_at   timestamptz,
  peak_score  real NOT NULL,
  threshold   real NOT NULL,
  CHECK (closed_at IS NULL OR closed_at >= opened_at)
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_open_idx ON alerts (tag_id, model) WHERE closed_at IS NULL;
CREATE INDEX IF NOT EXISTS alerts_opened_idx ON alerts (opened_at DESC);
CREATE INDEX IF NOT EXISTS alerts_asset_idx ON alerts (asset, opened_at DESC);
