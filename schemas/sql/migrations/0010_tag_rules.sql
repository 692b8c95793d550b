-- Tag metadata from configuration: `tags.rules` in the config file is copied here by the
-- workers at start (workers/store/tag-rules.ts), and the first matching rule (by position)
-- fills a tag's kind, unit, asset and production parameters when the tag is registered. A tag
-- no rule gives an asset gets the part of its name before the last '/' (pad1/pump3/speed ->
-- pad1/pump3), the device it came from.
CREATE TABLE IF NOT EXISTS tag_rules (
  position         integer PRIMARY KEY,
  pattern          text NOT NULL,             -- POSIX regular expression on the tag name
  kind             text CHECK (kind IN ('gauge', 'counter', 'rate')),
  unit             text,
  asset            text,                      -- regexp_replace template, e.g. '\1'
  counter_modulus  double precision CHECK (counter_modulus > 0),
  rate_period_s    double precision CHECK (rate_period_s > 0)
);

CREATE OR REPLACE FUNCTION tag_rule_fill(INOUT t tags) LANGUAGE plpgsql STABLE AS $$
DECLARE
  r tag_rules;
BEGIN
  SELECT * INTO r FROM tag_rules WHERE t.name ~ pattern ORDER BY position LIMIT 1;
  IF FOUND THEN
    t.kind := coalesce(r.kind, t.kind);
    t.unit := coalesce(r.unit, t.unit);
    t.asset := coalesce(regexp_replace(t.name, r.pattern, r.asset), t.asset);
    t.counter_modulus := coalesce(r.counter_modulus, t.counter_modulus);
    t.rate_period_s := coalesce(r.rate_period_s, t.rate_period_s);
  END IF;
  IF t.asset IS NULL AND strpos(t.name, '/') > 0 THEN
    t.asset := regexp_replace(t.name, '/[^/]*$', '');
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION tags_fill_from_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW := tag_rule_fill(NEW);
  RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS tags_fill_from_rules ON tags;
CREATE TRIGGER tags_fill_from_rules BEFORE INSERT ON tags FOR EACH ROW EXECUTE FUNCTION tags_fill_from_rules();

-- Existing tags get a default asset too.
UPDATE tags SET asset = regexp_replace(name, '/[^/]*$', '') WHERE asset IS NULL AND strpos(name, '/') > 0;
