-- The statistics snapshot is built here first (issue 8, found at 1M persons): the live quotes are
-- read and decrypted outside any write transaction and written in short ones, each row marked with
-- its build; one last transaction moves a finished build into statistics. Decrypting a million
-- quotes inside one transaction held SQLite's write lock for tens of seconds, and every other
-- writer (sign-ins, the audit fold) failed with "database is locked".
CREATE TABLE statistics_building (
    id INTEGER PRIMARY KEY,
    month CHAR(7) NOT NULL,
    age_band VARCHAR(8),
    departement VARCHAR(3),
    vehicle_energy VARCHAR(12),
    vehicle_usage VARCHAR(16),
    vehicle_age_band VARCHAR(8),
    coverage VARCHAR(16),
    bonus_malus_band VARCHAR(12),
    price_band INTEGER,
    channel VARCHAR(16),
    insurer VARCHAR(40),
    converted BOOLEAN NOT NULL,
    contract_duration_band VARCHAR(12),
    origin VARCHAR(8) NOT NULL,
    cell BIGINT
);
CREATE INDEX statistics_building_origin ON statistics_building (origin);
