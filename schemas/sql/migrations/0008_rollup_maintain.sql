-- Rollup maintenance, the same on both flavors.
--
-- Every worker flush records which time range of which tags it wrote (one rollup_dirty row per
-- flush, in the flush's own transaction, so a replayed or failed flush marks nothing twice or
-- nothing at all). The refresher (aggregate/refresh-pass.ts) claims those rows and recomputes
-- the 1-minute rollups the new points can change, from the raw points: the minutes they fall
-- in, widened back to the minute holding the sample before them and forward to the minute
-- holding the sample after them, because a new point changes the time-weighted integral and
-- the counter increment of its neighbours. On plain PostgreSQL the 1-hour and 1-day rows above
-- those minutes are then recomputed from the level below (rollup_parents); on TimescaleDB
-- continuous aggregates do that.
--
-- The refresher computes the minute rows in TypeScript (aggregate/minutes.ts): PostgreSQL's
-- row-at-a-time unnest, window and aggregate plan ran at about 55,000 points/s here, far below
-- ingest. rollup_compute below is the same computation in SQL: rollup_rebuild uses it for
-- rebuilds and data loaded around the workers, and the tests hold the two against each other.

-- How production is derived from a tag (see tags.kind):
--  counter_modulus  a counter wraps to 0 when it reaches this value (e.g. 4294967.296 for a
--                   uint32 totalizer scaled by 0.001); a decrease near it is a rollover, any
--                   other decrease a reset (the counter restarted from 0). NULL: no rollover.
--  rate_period_s    a rate tag's unit is per this many seconds (86400 for bbl/day).
ALTER TABLE tags ADD COLUMN IF NOT EXISTS counter_modulus double precision CHECK (counter_modulus > 0);
ALTER TABLE tags ADD COLUMN IF NOT EXISTS rate_period_s double precision NOT NULL DEFAULT 86400 CHECK (rate_period_s > 0);

-- Point ranges written and not yet rolled up: tag_ids[i] got points in [from_us[i], to_us[i]]
-- (µs since the Unix epoch).
CREATE TABLE IF NOT EXISTS rollup_dirty (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tag_ids  integer[] NOT NULL,
  from_us  bigint[] NOT NULL,
  to_us    bigint[] NOT NULL
);

-- The share in [a, b] of the production between samples (t0, v0) and (t1, v1), a <= b within
-- [t0, t1]. Counters: the increment (with rollover and reset) spread evenly over the interval.
-- Rates: the integral of the linearly interpolated rate, in the rate's unit × its period.
CREATE OR REPLACE FUNCTION rollup_increment(kind text, modulus double precision, rate_period double precision,
  t0 timestamptz, v0 double precision, t1 timestamptz, v1 double precision, a timestamptz, b timestamptz)
RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE kind
    WHEN 'counter' THEN
      (CASE WHEN v1 >= v0 THEN v1 - v0
            WHEN modulus IS NOT NULL AND v0 > modulus / 2 THEN v1 + modulus - v0
            ELSE v1 END)
      * extract(epoch FROM b - a)::float8 / extract(epoch FROM t1 - t0)::float8
    WHEN 'rate' THEN
      ((v0 + (v1 - v0) * extract(epoch FROM a - t0)::float8 / extract(epoch FROM t1 - t0)::float8)
     + (v0 + (v1 - v0) * extract(epoch FROM b - t0)::float8 / extract(epoch FROM t1 - t0)::float8)) / 2
      * extract(epoch FROM b - a)::float8 / rate_period
  END
$$;

-- Rollup rows at bucket width p_width of tag p_tags[i] for the buckets in [p_from[i], p_to[i])
-- (bounds aligned to the width), computed from the raw good-quality points. The samples just
-- outside each range come from the 1-minute rollups, so a range's edge buckets get their
-- time-weighted integral and production right. Rows exist for buckets with a sample and, for
-- counter and rate tags, for buckets a sample-to-sample interval passes through.
CREATE OR REPLACE FUNCTION rollup_compute(p_tags integer[], p_from timestamptz[], p_to timestamptz[], p_width interval)
RETURNS TABLE (tag_id integer, bucket timestamptz, n integer, min double precision, max double precision,
               sum double precision, first_ts timestamptz, first_val double precision, last_ts timestamptz,
               last_val double precision, next_ts timestamptz, tw_ext double precision, volume double precision)
LANGUAGE sql STABLE AS $$
  WITH ranges AS (
    SELECT * FROM unnest(p_tags, p_from, p_to) AS r(tag_id, f, t)
  ), raw AS (
    SELECT r.tag_id, u.t, u.v, true AS inside
      FROM ranges r
      JOIN points p ON p.tag_id = r.tag_id
                   AND p.bucket >= date_bin('1 hour', r.f, TIMESTAMPTZ '2000-01-01 00:00:00+00') AND p.bucket < r.t
                   -- segments are time-ordered: skip the ones wholly outside before unnesting
                   AND p.ts[cardinality(p.ts)] >= r.f AND p.ts[1] < r.t
      CROSS JOIN LATERAL unnest(p.ts, p.vals, p.quals) AS u(t, v, q)
     WHERE u.t >= r.f AND u.t < r.t
       AND (u.q IS NULL OR u.q & 192 = 192)
       AND u.v NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)
  ), edges AS (
    SELECT r.tag_id, m.last_ts AS t, m.last_val AS v, false AS inside
      FROM ranges r CROSS JOIN LATERAL (
        SELECT x.last_ts, x.last_val FROM rollup_1m x
         WHERE x.tag_id = r.tag_id AND x.bucket < r.f AND x.n > 0 ORDER BY x.bucket DESC LIMIT 1) m
    UNION ALL
    SELECT r.tag_id, m.first_ts, m.first_val, false
      FROM ranges r CROSS JOIN LATERAL (
        SELECT x.first_ts, x.first_val FROM rollup_1m x
         WHERE x.tag_id = r.tag_id AND x.bucket >= r.t AND x.n > 0 ORDER BY x.bucket LIMIT 1) m
  ), o AS (
    SELECT s.tag_id, s.t, s.v, s.inside, lead(s.t) OVER w AS nt, lead(s.v) OVER w AS nv
      FROM (SELECT * FROM raw UNION ALL SELECT * FROM edges) s
    WINDOW w AS (PARTITION BY s.tag_id ORDER BY s.t, s.v)
  ), agg AS (
    SELECT o.tag_id, date_bin(p_width, o.t, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
           count(*)::integer AS n, min(o.v) AS min, max(o.v) AS max, sum(o.v) AS sum,
           min(o.t) AS first_ts, (array_agg(o.v ORDER BY o.t, o.v))[1] AS first_val,
           max(o.t) AS last_ts, (array_agg(o.v ORDER BY o.t DESC, o.v DESC))[1] AS last_val,
           (array_agg(o.nt ORDER BY o.t DESC, o.v DESC))[1] AS next_ts,
           sum(o.v * extract(epoch FROM coalesce(o.nt, o.t) - o.t)::float8) AS tw_ext
      FROM o WHERE o.inside
     GROUP BY 1, 2
  ), seg AS (
    SELECT o.tag_id, o.t AS t0, o.v AS v0, o.nt AS t1, o.nv AS v1, g.kind, g.counter_modulus, g.rate_period_s, r.f, r.t
      FROM o JOIN tags g ON g.id = o.tag_id JOIN ranges r ON r.tag_id = o.tag_id
     WHERE o.nt > o.t AND g.kind <> 'gauge'
  ), vol AS (
    SELECT seg.tag_id, b.bucket,
           sum(rollup_increment(seg.kind, seg.counter_modulus, seg.rate_period_s, seg.t0, seg.v0, seg.t1, seg.v1,
                                greatest(seg.t0, b.bucket), least(seg.t1, b.bucket + p_width))) AS volume
      FROM seg CROSS JOIN LATERAL generate_series(
             greatest(date_bin(p_width, seg.t0, TIMESTAMPTZ '2000-01-01 00:00:00+00'), seg.f),
             least(seg.t1, seg.t - interval '1 microsecond'), p_width) AS b(bucket)
     GROUP BY 1, 2
  )
  SELECT coalesce(a.tag_id, v.tag_id), coalesce(a.bucket, v.bucket), coalesce(a.n, 0), a.min, a.max, a.sum,
         a.first_ts, a.first_val, a.last_ts, a.last_val, a.next_ts, coalesce(a.tw_ext, 0),
         CASE WHEN g.kind = 'gauge' THEN NULL ELSE coalesce(v.volume, 0) END
    FROM agg a FULL JOIN vol v ON v.tag_id = a.tag_id AND v.bucket = a.bucket
    JOIN tags g ON g.id = coalesce(a.tag_id, v.tag_id)
$$;

-- Recompute the 1-hour and 1-day rows over the given 1-minute ranges from the level below.
-- Nothing to do on TimescaleDB, where those levels are continuous aggregates.
CREATE OR REPLACE FUNCTION rollup_parents(p_tags integer[], p_from timestamptz[], p_to timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = 'rollup_1h'::regclass) <> 'r' THEN RETURN; END IF;
  CREATE TEMP TABLE IF NOT EXISTS rollup_parent_ranges (tag_id integer, level text, f timestamptz, t timestamptz) ON COMMIT DROP;
  TRUNCATE rollup_parent_ranges;
  INSERT INTO rollup_parent_ranges
    SELECT r.tag_id, l.level, date_bin(l.width, min(r.f), TIMESTAMPTZ '2000-01-01 00:00:00+00'),
           date_bin(l.width, max(r.t) - interval '1 microsecond', TIMESTAMPTZ '2000-01-01 00:00:00+00') + l.width
      FROM unnest(p_tags, p_from, p_to) AS r(tag_id, f, t),
           (VALUES ('1h', interval '1 hour'), ('1d', interval '1 day')) AS l(level, width)
     GROUP BY r.tag_id, l.level, l.width;

  DELETE FROM rollup_1h x USING rollup_parent_ranges r
   WHERE r.level = '1h' AND x.tag_id = r.tag_id AND x.bucket >= r.f AND x.bucket < r.t;
  INSERT INTO rollup_1h
    SELECT c.tag_id, date_bin('1 hour', c.bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00'), sum(c.n)::integer, min(c.min), max(c.max), sum(c.sum),
           min(c.first_ts), (array_agg(c.first_val ORDER BY c.first_ts) FILTER (WHERE c.n > 0))[1],
           max(c.last_ts), (array_agg(c.last_val ORDER BY c.last_ts DESC) FILTER (WHERE c.n > 0))[1],
           max(c.next_ts), sum(c.tw_ext), sum(c.volume)
      FROM rollup_parent_ranges r JOIN rollup_1m c ON c.tag_id = r.tag_id AND c.bucket >= r.f AND c.bucket < r.t
     WHERE r.level = '1h'
     GROUP BY 1, 2;

  DELETE FROM rollup_1d x USING rollup_parent_ranges r
   WHERE r.level = '1d' AND x.tag_id = r.tag_id AND x.bucket >= r.f AND x.bucket < r.t;
  INSERT INTO rollup_1d
    SELECT c.tag_id, date_bin('1 day', c.bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00'), sum(c.n)::integer, min(c.min), max(c.max), sum(c.sum),
           min(c.first_ts), (array_agg(c.first_val ORDER BY c.first_ts) FILTER (WHERE c.n > 0))[1],
           max(c.last_ts), (array_agg(c.last_val ORDER BY c.last_ts DESC) FILTER (WHERE c.n > 0))[1],
           max(c.next_ts), sum(c.tw_ext), sum(c.volume)
      FROM rollup_parent_ranges r JOIN rollup_1h c ON c.tag_id = r.tag_id AND c.bucket >= r.f AND c.bucket < r.t
     WHERE r.level = '1d'
     GROUP BY 1, 2;
END
$$;

-- Recompute the rollups that points of tag p_tags[i] in [p_from[i], p_to[i]] can change: the
-- minutes from the one holding the sample before p_from[i] to the one holding the sample after
-- p_to[i]. Returns the 1-minute rows written. Tags must be distinct.
CREATE OR REPLACE FUNCTION rollup_refresh(p_tags integer[], p_from timestamptz[], p_to timestamptz[])
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_tags integer[];
  v_from timestamptz[];
  v_to timestamptz[];
  v_rows bigint;
BEGIN
  SELECT array_agg(d.tag_id), array_agg(w.rs), array_agg(w.re)
    INTO v_tags, v_from, v_to
    FROM unnest(p_tags, p_from, p_to) AS d(tag_id, f, t)
    CROSS JOIN LATERAL (
      SELECT coalesce((SELECT x.bucket FROM rollup_1m x
                        WHERE x.tag_id = d.tag_id AND x.n > 0
                          AND x.bucket < date_bin('1 minute', d.f, TIMESTAMPTZ '2000-01-01 00:00:00+00')
                        ORDER BY x.bucket DESC LIMIT 1),
                      date_bin('1 minute', d.f, TIMESTAMPTZ '2000-01-01 00:00:00+00')) AS rs,
             coalesce((SELECT x.bucket FROM rollup_1m x
                        WHERE x.tag_id = d.tag_id AND x.n > 0
                          AND x.bucket > date_bin('1 minute', d.t, TIMESTAMPTZ '2000-01-01 00:00:00+00')
                        ORDER BY x.bucket LIMIT 1),
                      date_bin('1 minute', d.t, TIMESTAMPTZ '2000-01-01 00:00:00+00')) + interval '1 minute' AS re) w;
  IF v_tags IS NULL THEN RETURN 0; END IF;

  DELETE FROM rollup_1m x USING unnest(v_tags, v_from, v_to) AS r(tag_id, f, t)
   WHERE x.tag_id = r.tag_id AND x.bucket >= r.f AND x.bucket < r.t;
  INSERT INTO rollup_1m SELECT * FROM rollup_compute(v_tags, v_from, v_to, interval '1 minute');
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  PERFORM rollup_parents(v_tags, v_from, v_to);
  RETURN v_rows;
END
$$;

-- Rebuild the rollups of the given tags over [p_from, p_to) from the raw points, e.g. after a
-- tag's kind changed or for data loaded around the workers.
CREATE OR REPLACE FUNCTION rollup_rebuild(p_tags integer[], p_from timestamptz, p_to timestamptz)
RETURNS bigint LANGUAGE sql AS $$
  SELECT rollup_refresh(array_agg(g.id), array_agg(p_from), array_agg(p_to - interval '1 microsecond'))
    FROM (SELECT DISTINCT unnest(p_tags) AS id) g
$$;
