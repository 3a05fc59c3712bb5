-- Master key versions (issue 3, item 8: `vigie keys rotate`). The first master key is version 1
-- and needs no row until the first rotation. Each later version records the check that names its
-- key file, the database's first master key (the root of the blind-index, pseudonym, signing and
-- secret-sealing keys, which must outlive rotations) wrapped under it, and its state: rotating
-- while subject keys are re-wrapped under it, current, then retired once no key is wrapped under
-- it. Key material: never inside a data backup (`vigie backup keys` exports it with the subject
-- keys).
CREATE TABLE master_keys (
    version INTEGER PRIMARY KEY,
    key_check CHAR(32) NOT NULL UNIQUE,
    wrapped_root BYTEA,
    state VARCHAR(16) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ
);
