-- Anonymised statistics (issue 8): besides the rows the lifecycle leaves when it anonymises a
-- quote (origin 'archive', kept), the statistics hold a snapshot of the live quotes of people who
-- consented to the performance purpose (origin 'live'), rebuilt whole whenever the data it came
-- from changed, so a withdrawal or an objection leaves the next extract. Each row's bands are also
-- packed in one integer, its cell, so the extract reads one column; insurers are numbered for it.
ALTER TABLE statistics ADD COLUMN origin VARCHAR(8) NOT NULL DEFAULT 'archive';
ALTER TABLE statistics ADD COLUMN cell BIGINT;
CREATE INDEX statistics_cell ON statistics (cell);
CREATE INDEX statistics_origin ON statistics (origin);

CREATE TABLE statistics_insurers (
    code INTEGER PRIMARY KEY,
    name VARCHAR(40) NOT NULL
);
CREATE UNIQUE INDEX statistics_insurers_name ON statistics_insurers (name);

CREATE TABLE statistics_snapshots (
    id INTEGER PRIMARY KEY,
    fingerprint VARCHAR(400) NOT NULL,
    refreshed_at TIMESTAMP NOT NULL,
    live_rows BIGINT NOT NULL
);

-- What the snapshot's fingerprint reads: the latest change of each source, found in an index.
CREATE INDEX quotes_updated ON quotes (updated_at);
CREATE INDEX persons_updated ON persons (updated_at);
CREATE INDEX contracts_updated ON contracts (updated_at);
