-- Version 8: accounts an administrator disabled.
--
-- A disabled account keeps its name, its messages and its memberships, but
-- cannot sign in, and its sessions are gone (deleted when it was disabled;
-- session lookups also refuse it, so no session of it counts again).
-- 0 means enabled; otherwise the time it was disabled.
ALTER TABLE users ADD COLUMN disabled_at INTEGER NOT NULL DEFAULT 0;
