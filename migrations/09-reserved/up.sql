-- 09: reserved for another branch's migration (rusqlite_migration needs
-- consecutive numbers); this placeholder changes nothing. When no branch
-- takes 09, 10-rollups is renumbered 09 and this file goes.
SELECT 1;
