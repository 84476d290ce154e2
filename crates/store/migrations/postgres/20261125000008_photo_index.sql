-- "The same photo on another person's application": found by the photo's digest. Without this
-- index every officer view and every ticket lookup read every application. Keep it equivalent
-- to migrations/sqlite.
CREATE INDEX applications_photo_idx ON applications ((data ->> 'photo'));
