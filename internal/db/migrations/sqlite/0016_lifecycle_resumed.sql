-- A lifecycle run that a later one took up after an interruption (kill, crash, shutdown) says so,
-- with when it was taken up (issue 7): the DPO sees which runs were cut off.
ALTER TABLE lifecycle_runs ADD COLUMN resumed_at TIMESTAMP;
