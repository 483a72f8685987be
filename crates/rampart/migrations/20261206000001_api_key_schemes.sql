-- The apiKey security schemes a key was issued for (space-separated; empty:
-- every scheme). Portable SQL (PostgreSQL and SQLite).
ALTER TABLE rampart_api_keys ADD COLUMN schemes TEXT NOT NULL DEFAULT '';
