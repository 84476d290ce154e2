-- Issuance replaces the document: the person's documents as this service changed them.
-- A hand-over writes two rows in its own transaction: the card it replaced, invalidated
-- (reason `replaced`, when, by which application, whether the card was surrendered), and
-- the new document, valid; the person's current document (people.data) becomes the new one.
-- A register document the service never changed has no row here.
CREATE TABLE documents (
    kind           TEXT NOT NULL,
    number         TEXT NOT NULL,
    holder         TEXT NOT NULL,
    issued_on      TEXT NOT NULL,
    last_valid_day TEXT NOT NULL,
    -- The application it was issued for, when this service issued it.
    issued_for     UUID,
    status         TEXT NOT NULL CHECK (status IN ('valid', 'invalidated')),
    reason         TEXT CHECK (reason IN ('replaced', 'reported_lost', 'expired')),
    invalidated_at BIGINT,
    invalidated_by UUID,
    old_card       TEXT CHECK (old_card IN ('surrendered', 'not_presented')),
    CHECK ((status = 'valid') = (reason IS NULL AND invalidated_at IS NULL)),
    CONSTRAINT documents_pkey PRIMARY KEY (kind, number)
);
CREATE INDEX documents_holder ON documents (holder);

-- The public validity check finds a register document the service never changed by its
-- number (an expression index: no table rewrite on a large register; the build reads the
-- table once, see OPERATIONS.md).
CREATE INDEX people_document_number ON people ((data -> 'document' ->> 'number'));
