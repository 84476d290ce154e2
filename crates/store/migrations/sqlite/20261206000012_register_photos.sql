-- The population register's photo of a person's current document (the officer compares it
-- with the uploaded one). The register's own data, as the people table is: filled by the
-- register (the demo's people have one) and replaced when a hand-over gives the person a
-- new document with the application's photo — a copy, so the application's images can be
-- purged after their retention period without taking the register's photo with them.
CREATE TABLE register_photos (
    iin             TEXT PRIMARY KEY NOT NULL,
    document_number TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    bytes           BLOB NOT NULL
);
