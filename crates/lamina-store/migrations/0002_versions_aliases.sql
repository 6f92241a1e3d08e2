-- Published versions (immutable snapshots of $LATEST) and aliases. Portable SQL.
CREATE TABLE function_versions (
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    config TEXT NOT NULL,
    environment BLOB,
    code_sha256 TEXT NOT NULL,
    code_size BIGINT NOT NULL,
    revision_id TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE INDEX function_versions_code_sha256 ON function_versions (code_sha256);

CREATE TABLE function_aliases (
    function_name TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (function_name, name)
);

-- The highest version number ever published: numbers are never reused.
ALTER TABLE functions ADD COLUMN last_version BIGINT NOT NULL DEFAULT 0;
