-- "The same photo on another person's application": found by the photo's digest. Without this
-- index every officer view and every ticket lookup read every application's JSON.
CREATE INDEX applications_photo_idx ON applications (json_extract(data, '$.photo'));
