-- Layers: published layer versions and their permission policies. Portable SQL: runs on
-- SQLite and PostgreSQL.

-- The highest version ever published per layer: version numbers are never reused, even after
-- every version of a layer was deleted.
CREATE TABLE layers (
    name TEXT PRIMARY KEY,
    last_version BIGINT NOT NULL
);

-- One row per existing layer version. `compatible_runtimes` and `compatible_architectures` are
-- JSON arrays, NULL when the publisher gave none. The zip is the blob `code_sha256`.
CREATE TABLE layer_versions (
    layer_name TEXT NOT NULL,
    version BIGINT NOT NULL,
    description TEXT NOT NULL,
    license_info TEXT,
    compatible_runtimes TEXT,
    compatible_architectures TEXT,
    code_sha256 TEXT NOT NULL,
    code_size BIGINT NOT NULL,
    unzipped_size BIGINT NOT NULL,
    created_date TEXT NOT NULL,
    policy_revision_id TEXT NOT NULL,
    PRIMARY KEY (layer_name, version)
);
CREATE INDEX layer_versions_code_sha256 ON layer_versions (code_sha256);

-- AddLayerVersionPermission statements: the statement's JSON exactly as returned, in the order
-- they were added (`position`). Deleted with their layer version.
CREATE TABLE layer_version_statements (
    layer_name TEXT NOT NULL,
    version BIGINT NOT NULL,
    sid TEXT NOT NULL,
    position BIGINT NOT NULL,
    statement TEXT NOT NULL,
    PRIMARY KEY (layer_name, version, sid)
);
