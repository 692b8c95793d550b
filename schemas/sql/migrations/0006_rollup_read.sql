-- The rollup read surface, the same on both flavors (tables on plain PostgreSQL, continuous
-- aggregates on TimescaleDB): one row per tag and bucket with the derived statistics.
CREATE OR REPLACE FUNCTION rollup_stats(
  n integer, sum double precision, first_ts timestamptz, first_val double precision,
  last_ts timestamptz, last_val double precision, next_ts timestamptz, tw_ext double precision,
  OUT avg double precision, OUT twa double precision)
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN n > 0 THEN sum / n END,
         CASE WHEN n = 0 THEN NULL
              WHEN last_ts = first_ts THEN first_val
              ELSE (tw_ext - last_val * extract(epoch FROM greatest(next_ts, last_ts) - last_ts))
                   / extract(epoch FROM last_ts - first_ts) END
$$;

-- Rollups of the tags p_tags at level p_level ('1m', '1h' or '1d') for buckets starting in
-- [p_from, p_to), ordered by tag and bucket.
CREATE OR REPLACE FUNCTION rollups(p_level text, p_tags integer[], p_from timestamptz, p_to timestamptz)
RETURNS TABLE (tag_id integer, bucket timestamptz, n integer, min double precision, max double precision,
               avg double precision, twa double precision, sum double precision,
               first double precision, last double precision, volume double precision)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_level NOT IN ('1m', '1h', '1d') THEN
    RAISE EXCEPTION 'rollup level must be 1m, 1h or 1d (got %)', p_level USING ERRCODE = '22023';
  END IF;
  RETURN QUERY EXECUTE format(
    'SELECT r.tag_id, r.bucket, r.n, r.min, r.max, s.avg, s.twa, r.sum, r.first_val, r.last_val, r.volume
       FROM %I r, rollup_stats(r.n, r.sum, r.first_ts, r.first_val, r.last_ts, r.last_val, r.next_ts, r.tw_ext) s
      WHERE r.tag_id = ANY($1) AND r.bucket >= $2 AND r.bucket < $3
      ORDER BY r.tag_id, r.bucket', 'rollup_' || p_level)
  USING p_tags, p_from, p_to;
END
$$;
