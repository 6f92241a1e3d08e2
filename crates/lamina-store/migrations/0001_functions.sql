-- Functions ($LATEST). Portable SQL: runs on SQLite and PostgreSQL.
CREATE TABLE functions (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    environment BLOB,
    code_sha256 TEXT NOT NULL,
    code_size BIGINT NOT NULL,
    revision_id TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    state TEXT NOT NULL,
    last_update_status TEXT NOT NULL,
    tags TEXT NOT NULL
);
CREATE INDEX functions_code_sha256 ON functions (code_sha256);
