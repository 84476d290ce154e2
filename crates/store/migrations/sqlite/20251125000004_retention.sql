-- Retention: the photos and signatures of finished applications are deleted after a
-- configured time; this records which applications were purged, when, and of how much.
CREATE TABLE purged_applications (
    application_id TEXT PRIMARY KEY NOT NULL,
    purged_at      INTEGER NOT NULL,
    images_deleted INTEGER NOT NULL
);
