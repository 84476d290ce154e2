-- Proactive reminders: a citizen whose identity card enters the online window is told once
-- per card that they can renew online (unless they opted out).

-- The card's last valid day, from the person's record, indexed for the daily sweep.
ALTER TABLE people ADD COLUMN last_valid_day TEXT COLLATE "C"
    GENERATED ALWAYS AS (data -> 'document' ->> 'last_valid_day') STORED;
CREATE INDEX people_last_valid_day ON people (last_valid_day);

-- One row per (person, card) reminded: the primary key makes a second reminder impossible.
CREATE TABLE reminders (
    iin            TEXT NOT NULL,
    last_valid_day TEXT NOT NULL,
    sent_at        BIGINT NOT NULL,
    CONSTRAINT reminders_pkey PRIMARY KEY (iin, last_valid_day)
);

CREATE TABLE reminder_opt_outs (
    iin TEXT PRIMARY KEY NOT NULL,
    at  BIGINT NOT NULL
);
