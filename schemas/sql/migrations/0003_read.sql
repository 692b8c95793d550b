-- The read surface, the same on both flavors: callers ask for points, not segments.

-- Points of one tag in [p_from, p_to), in time order. date_bin keeps the hour buckets in
-- UTC whatever the session time zone (date_trunc would follow it).
CREATE OR REPLACE FUNCTION points_in_range(p_tag integer, p_from timestamptz, p_to timestamptz)
RETURNS TABLE ("time" timestamptz, value double precision, quality smallint)
LANGUAGE sql STABLE AS $$
  SELECT u.t, u.v, coalesce(u.q, 192::smallint)
  FROM points p, unnest(p.ts, p.vals, p.quals) AS u(t, v, q)
  WHERE p.tag_id = p_tag
    AND p.bucket >= date_bin('1 hour', p_from, TIMESTAMPTZ '2000-01-01 00:00:00+00')
    AND p.bucket < p_to
    AND u.t >= p_from AND u.t < p_to
  ORDER BY u.t
$$;

-- Raw points as narrow rows, for ad-hoc SQL (filter by tag_id and bucket to stay fast).
CREATE OR REPLACE VIEW points_flat AS
  SELECT p.tag_id, p.bucket, u.t AS time, u.v AS value, coalesce(u.q, 192::smallint) AS quality
  FROM points p, unnest(p.ts, p.vals, p.quals) AS u(t, v, q);
