-- Usage for billing and the audit log of control-plane changes. Portable SQL.

-- Usage per UTC day, function, version and memory size (a function's memory can change
-- within a day; GB-seconds are computed per row). Written in batches by the server.
CREATE TABLE usage_daily (
    day TEXT NOT NULL,
    function_name TEXT NOT NULL,
    version TEXT NOT NULL,
    memory_mb BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    billed_ms BIGINT NOT NULL,
    PRIMARY KEY (day, function_name, version, memory_mb)
);

-- One row per state-changing control-plane call: who, what, on which resource, and how it
-- ended. Never request bodies, secrets or environment values. `seq` orders the rows (strictly
-- increasing microseconds since the epoch).
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    access_key_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    operation TEXT NOT NULL,
    resource TEXT NOT NULL,
    status BIGINT NOT NULL,
    error_type TEXT
);
