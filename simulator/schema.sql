-- The simulator's whole state. Times are stored twice: ISO text for people, epoch seconds (ts)
-- for range queries. JSON columns are listed in store.JSON_COLUMNS and decoded on read.

CREATE TABLE IF NOT EXISTS offers (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    landing_url  TEXT NOT NULL,
    payout       REAL NOT NULL,
    currency     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    network      TEXT                       -- the persona of its postbacks; NULL: the default
);

-- The partner's postback settings: offer_id NULL is the global postback.
CREATE TABLE IF NOT EXISTS postbacks (
    id           INTEGER PRIMARY KEY,
    offer_id     INTEGER REFERENCES offers(id),
    url          TEXT NOT NULL,
    method       TEXT NOT NULL DEFAULT 'GET',
    body_format  TEXT,                       -- NULL for GET, 'form' or 'json' for POST
    enabled      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    -- The network persona whose dialect the template speaks (simulator/personas.py).
    network      TEXT NOT NULL DEFAULT 'inflektion',
    -- Set when the persona's deactivation rule disabled the postback after repeated failures.
    disabled_reason TEXT,
    disabled_at  TEXT
);

CREATE TABLE IF NOT EXISTS links (
    id           INTEGER PRIMARY KEY,
    offer_id     INTEGER NOT NULL REFERENCES offers(id),
    sub1 TEXT NOT NULL DEFAULT '', sub2 TEXT NOT NULL DEFAULT '', sub3 TEXT NOT NULL DEFAULT '',
    sub4 TEXT NOT NULL DEFAULT '', sub5 TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS clicks (
    id              INTEGER PRIMARY KEY,
    unique_click_id TEXT NOT NULL UNIQUE,
    offer_id        INTEGER NOT NULL REFERENCES offers(id),
    link_id         INTEGER REFERENCES links(id),
    sub1 TEXT NOT NULL DEFAULT '', sub2 TEXT NOT NULL DEFAULT '', sub3 TEXT NOT NULL DEFAULT '',
    sub4 TEXT NOT NULL DEFAULT '', sub5 TEXT NOT NULL DEFAULT '',
    ip              TEXT NOT NULL,
    user_agent      TEXT NOT NULL,
    country         TEXT NOT NULL,
    is_test         INTEGER NOT NULL DEFAULT 0,  -- made by a test conversion
    created_at      TEXT NOT NULL,
    ts              REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS clicks_offer ON clicks(offer_id);

-- Conversions and post-conversion events (kind = 'conversion' | 'event'); each has its own
-- conversion_id, payout and postback.
CREATE TABLE IF NOT EXISTS conversions (
    id             INTEGER PRIMARY KEY,
    conversion_id  TEXT NOT NULL UNIQUE,
    click_id       INTEGER NOT NULL REFERENCES clicks(id),
    parent_id      INTEGER REFERENCES conversions(id),
    kind           TEXT NOT NULL DEFAULT 'conversion',
    event_name     TEXT NOT NULL,
    payout         REAL NOT NULL,
    currency       TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'approved',
    ip             TEXT NOT NULL,
    user_agent     TEXT NOT NULL,
    is_test        INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    ts             REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversions_click ON conversions(click_id);

CREATE TABLE IF NOT EXISTS deliveries (
    id               INTEGER PRIMARY KEY,
    conversion_id    INTEGER NOT NULL REFERENCES conversions(id),
    postback_id      INTEGER REFERENCES postbacks(id),
    method           TEXT NOT NULL DEFAULT 'GET',
    url              TEXT NOT NULL,
    body             TEXT,
    content_type     TEXT,
    status           TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL,
    -- Set while a worker owns the row (epoch); a lease left by a crash expires and the row is
    -- due again, so nothing is lost (delivery.py).
    lease_until      REAL,
    -- Which engine holds the lease (delivery_engines.owner): a dead owner's lease is taken over
    -- at once instead of waiting for lease_until.
    lease_owner      TEXT,
    last_status_code INTEGER,
    last_error       TEXT,
    redelivery_of    INTEGER REFERENCES deliveries(id),
    -- The persona's retry waits (comma-separated seconds); NULL: the simulator's schedule.
    retry_schedule   TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(status, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_conversion ON deliveries(conversion_id);
-- `/api/deliveries?status=`, newest first: the index keeps each status's rows in id order, so a
-- page is read without sorting every delivery of that status.
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries(status);

CREATE TABLE IF NOT EXISTS attempts (
    id             INTEGER PRIMARY KEY,
    delivery_id    INTEGER NOT NULL REFERENCES deliveries(id),
    number         INTEGER NOT NULL,
    started_at     TEXT NOT NULL,
    method         TEXT NOT NULL,
    url            TEXT NOT NULL,
    status_code    INTEGER,
    response_body  TEXT,
    latency_ms     REAL,
    error          TEXT,
    outcome        TEXT NOT NULL            -- success | retry | final
);
CREATE INDEX IF NOT EXISTS attempts_delivery ON attempts(delivery_id);

-- Click IDs issued by the mock ad platforms (the platform "knows" them for attribution).
CREATE TABLE IF NOT EXISTS ad_clicks (
    id          INTEGER PRIMARY KEY,
    platform    TEXT NOT NULL,              -- meta | tiktok | google
    kind        TEXT NOT NULL,              -- fbclid | ttclid | gclid
    click_id    TEXT NOT NULL UNIQUE,
    variant     TEXT NOT NULL DEFAULT 'normal',
    created_at  TEXT NOT NULL,
    ts          REAL NOT NULL
);
-- Attribution's near-match lookup (a case-changed click ID) without reading the whole table.
-- (Not on kind: SQLite would then read every click of a kind rather than probe click_id.)
CREATE INDEX IF NOT EXISTS ad_clicks_click_lower ON ad_clicks(lower(click_id));

-- Every request the mock platforms received, with what they answered and concluded.
CREATE TABLE IF NOT EXISTS journal (
    id           INTEGER PRIMARY KEY,
    platform     TEXT NOT NULL,             -- meta | tiktok | google_ads | datamanager
    api          TEXT NOT NULL,             -- capi | events2 | events1 | upload | ingest
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    query        TEXT NOT NULL DEFAULT '{}',
    headers      TEXT NOT NULL DEFAULT '{}',
    body         TEXT NOT NULL DEFAULT '',
    status       INTEGER NOT NULL,
    response     TEXT NOT NULL DEFAULT '{}',
    accepted     INTEGER NOT NULL DEFAULT 0,
    fault        TEXT,
    findings     TEXT NOT NULL DEFAULT '[]',
    events       TEXT NOT NULL DEFAULT '[]',
    received_at  TEXT NOT NULL,
    ts           REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_platform_ts ON journal(platform, ts);
-- `/api/journal?since=` without a platform (the runner's poll): journal.search reads a recent
-- window through it instead of walking the whole journal.
CREATE INDEX IF NOT EXISTS journal_ts ON journal(ts);

-- The dedup keys of accepted journal entries, one row per event that has an event_id (written by
-- journal.record in the entry's transaction), so a platform finds an earlier event by an index
-- lookup rather than by reading every recent journal body (docs/performance.md, Mock ingest).
CREATE TABLE IF NOT EXISTS journal_events (
    journal_id    INTEGER NOT NULL REFERENCES journal(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,          -- index in the entry's `events`
    platform      TEXT NOT NULL,
    event_name    TEXT,
    event_id      TEXT NOT NULL,
    field_prefix  TEXT,                      -- the event's path in the request, e.g. data[0]
    ts            REAL NOT NULL,             -- the journal entry's ts
    PRIMARY KEY (journal_id, position)
);
CREATE INDEX IF NOT EXISTS journal_events_key
    ON journal_events(platform, event_id, event_name, ts);

-- Journal entries answered but not yet diagnosed (events, attribution, findings), written in the
-- entry's transaction; the analyser (platforms/analyser.py) claims, diagnoses and deletes them.
-- `recipe` names the diagnosis (meta, tiktok:events2, ...); readers wait until it is empty.
CREATE TABLE IF NOT EXISTS journal_backlog (
    journal_id  INTEGER PRIMARY KEY REFERENCES journal(id) ON DELETE CASCADE,
    recipe      TEXT NOT NULL,
    claimed_by  TEXT,
    claimed_at  REAL
);

-- A database made before journal_events existed: index its accepted entries once
-- (user_version 1 = journal_events is complete).
INSERT OR IGNORE INTO journal_events
    (journal_id, position, platform, event_name, event_id, field_prefix, ts)
SELECT j.id, e.key, j.platform, json_extract(e.value, '$.event_name'),
       json_extract(e.value, '$.event_id'), json_extract(e.value, '$.field_prefix'), j.ts
FROM journal AS j,
     json_each(CASE WHEN json_valid(j.events) THEN j.events ELSE '[]' END) AS e
WHERE (SELECT user_version FROM pragma_user_version) < 1 AND j.accepted = 1
  AND json_type(e.value, '$.event_id') = 'text';
PRAGMA user_version = 1;

CREATE TABLE IF NOT EXISTS faults (
    id           INTEGER PRIMARY KEY,
    platform     TEXT NOT NULL,
    kind         TEXT NOT NULL,             -- status | delay | reset
    status       INTEGER,
    retry_after  REAL,
    delay        REAL,
    remaining    INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);

-- Answers to creating API calls sent with an Idempotency-Key header: a retry with the same key
-- gets the first answer and creates nothing (idempotency.py). Written in the transaction that
-- creates, so a crash keeps both or neither.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key          TEXT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,                -- sha256 of the query string and body
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    ts           REAL NOT NULL,
    PRIMARY KEY (key, method, path)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_ts ON idempotency_keys(ts);

-- Running delivery engines and their last heartbeat (wall-clock epoch): an engine whose
-- heartbeat is stale has died (kill -9, power loss), so its leases are free (delivery.py).
CREATE TABLE IF NOT EXISTS delivery_engines (
    owner     TEXT PRIMARY KEY,             -- host:pid:random, one per engine start
    pid       INTEGER NOT NULL,
    heartbeat REAL NOT NULL
);
