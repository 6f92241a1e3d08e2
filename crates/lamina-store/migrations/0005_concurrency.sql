-- Reserved and provisioned concurrency. Portable SQL.
CREATE TABLE function_concurrency (
    name TEXT PRIMARY KEY,
    reserved BIGINT NOT NULL
);

CREATE TABLE provisioned_concurrency (
    name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    requested BIGINT NOT NULL,
    last_modified TEXT NOT NULL,
    PRIMARY KEY (name, qualifier)
);
