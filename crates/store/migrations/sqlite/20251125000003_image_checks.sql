-- The automatic photo and signature checks, one per image (content-addressed like blobs):
-- the citizen sees them at upload, submission is refused on a fail, the officer sees the
-- warnings. The perceptual hash finds the same photo on another person's application.
CREATE TABLE image_checks (
    digest          TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('photo', 'signature')),
    verdict         TEXT NOT NULL CHECK (verdict IN ('pass', 'warn', 'fail')),
    perceptual_hash TEXT,
    report          TEXT NOT NULL,
    checked_at      INTEGER NOT NULL
);
CREATE INDEX image_checks_perceptual_hash ON image_checks (perceptual_hash);
