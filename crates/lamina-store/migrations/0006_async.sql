-- The asynchronous invocation queue and event invoke configs. Portable SQL.
CREATE TABLE async_events (
    id TEXT PRIMARY KEY,
    function_name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    payload BLOB NOT NULL,
    request_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    enqueued_at BIGINT NOT NULL,
    failed_attempts BIGINT NOT NULL,
    invokes BIGINT NOT NULL,
    throttles BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL
);
CREATE INDEX async_events_due ON async_events (next_attempt_at);

-- Events that ended in failure (dropped or sent to a failure destination), for operators.
CREATE TABLE async_failures (
    id TEXT PRIMARY KEY,
    function_name TEXT NOT NULL,
    condition TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);

CREATE TABLE event_invoke_configs (
    function_name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (function_name, qualifier)
);
