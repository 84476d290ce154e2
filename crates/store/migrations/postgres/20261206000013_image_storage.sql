-- Image bytes are JPEG and PNG: compressed already. PostgreSQL tried to compress every one
-- again (pglz, ≈ 3 ms per upload and a few per cent of the database's CPU on a busy day) and
-- kept the result only when it saved a quarter. EXTERNAL keeps them out of line, uncompressed:
-- nothing to try on write and nothing to undo on read. Applies to rows written from now on.
ALTER TABLE blobs ALTER COLUMN bytes SET STORAGE EXTERNAL;
ALTER TABLE register_photos ALTER COLUMN bytes SET STORAGE EXTERNAL;
