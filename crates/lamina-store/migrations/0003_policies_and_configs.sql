-- Resource-based policies (one row per statement) and per-function settings. Portable SQL:
-- runs on SQLite and PostgreSQL. Rows are keyed by function name (and qualifier: `$LATEST`,
-- a version number or an alias name) and deleted with the function.

-- `statement` is the statement's JSON exactly as AddPermission returned it; `position` keeps
-- the order statements were added in, which is the order GetPolicy lists them.
CREATE TABLE function_policy_statements (
    function_name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    sid TEXT NOT NULL,
    position BIGINT NOT NULL,
    statement TEXT NOT NULL,
    PRIMARY KEY (function_name, qualifier, sid)
);

-- PutFunctionRecursionConfig (function-wide). No row: `Terminate`.
CREATE TABLE function_recursion_configs (
    function_name TEXT PRIMARY KEY,
    recursive_loop TEXT NOT NULL
);

-- PutRuntimeManagementConfig (per version). No row: `Auto`.
CREATE TABLE function_runtime_management_configs (
    function_name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    update_runtime_on TEXT NOT NULL,
    runtime_version_arn TEXT,
    PRIMARY KEY (function_name, qualifier)
);
