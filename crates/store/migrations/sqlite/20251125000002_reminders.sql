-- Proactive reminders: a citizen whose identity card enters the online window is told once
-- per card that they can renew online (unless they opted out).

-- The card's last valid day, from the person's record, indexed for the daily sweep.
ALTER TABLE people ADD COLUMN last_valid_day TEXT
    GENERATED ALWAYS AS (json_extract(data, '$.document.last_valid_day')) VIRTUAL;
CREATE INDEX people_last_valid_day ON people (last_valid_day);

-- One row per (person, card) reminded: the primary key makes a second reminder impossible.
CREATE TABLE reminders (
    iin            TEXT NOT NULL,
    last_valid_day TEXT NOT NULL,
    sent_at        INTEGER NOT NULL,
    PRIMARY KEY (iin, last_valid_day)
);

CREATE TABLE reminder_opt_outs (
    iin TEXT PRIMARY KEY NOT NULL,
    at  INTEGER NOT NULL
);
