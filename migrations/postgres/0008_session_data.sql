-- tower-sessions keeps its record (axum-login's user id and auth hash, our session meta) as JSON.
ALTER TABLE sessions ADD COLUMN data TEXT NOT NULL DEFAULT '{}';
