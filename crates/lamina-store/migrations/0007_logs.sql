-- CloudWatch Logs-compatible log groups: metadata only. The events themselves stay in the
-- data dir (logs/<group>/<stream>.jsonl), appended by the engine. Portable SQL.
CREATE TABLE log_groups (
    name TEXT PRIMARY KEY,
    -- Milliseconds since the epoch, as the Logs API reports it.
    creation_time BIGINT NOT NULL,
    -- NULL: events never expire.
    retention_in_days BIGINT
);
