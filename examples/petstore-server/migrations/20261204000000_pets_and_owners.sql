-- The petstore demo's data. One portable set of SQL for SQLite and
-- PostgreSQL (run through sqlx's Any driver): TEXT, INTEGER and DOUBLE
-- PRECISION only; booleans are INTEGER 0/1 because SQLite has none.

CREATE TABLE pets (
    -- A UUID as text, assigned by the server; listing is ordered by it.
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- dog, cat, bird or fish (the spec's enum).
    species TEXT NOT NULL,
    age INTEGER,
    weight_kg DOUBLE PRECISION,
    -- NULL when the client sent no `adopted`; else 0 or 1.
    adopted INTEGER CHECK (adopted IN (0, 1)),
    -- 1 when the client sent `tags` (even empty), 0 when it sent none.
    has_tags INTEGER NOT NULL CHECK (has_tags IN (0, 1))
);

CREATE TABLE pet_tags (
    pet_id TEXT NOT NULL REFERENCES pets (id) ON DELETE CASCADE,
    -- The tag's index in the array the client sent.
    position INTEGER NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (pet_id, position)
);

CREATE INDEX pet_tags_by_tag ON pet_tags (tag, pet_id);

-- Owner accounts. The password is not kept: the API has no operation that
-- reads it (no login), and a secret that is never stored cannot leak.
CREATE TABLE owners (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    website TEXT
);
