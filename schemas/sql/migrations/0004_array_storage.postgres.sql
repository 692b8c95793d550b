-- Keep the point arrays uncompressed out of line (STORAGE EXTERNAL): float and timestamp
-- arrays gain little from pglz (14.8 vs ~17 bytes per point measured), while reading a
-- compacted tag-hour no longer pays for decompression (a tag-day read went from ~21 ms to
-- ~10 ms of server time). Plain PostgreSQL only: TimescaleDB refuses storage changes on a
-- hypertable with compression enabled, and compresses old chunks into its own columnar form.
ALTER TABLE points
  ALTER COLUMN ts SET STORAGE EXTERNAL,
  ALTER COLUMN vals SET STORAGE EXTERNAL,
  ALTER COLUMN quals SET STORAGE EXTERNAL;
