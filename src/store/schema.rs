//! Schema migrations, applied in order at start-up; `PRAGMA user_version` records how
//! many have run. Append only: a shipped migration is never edited.

pub const MIGRATIONS: &[&str] = &[
    // 1: the foundation.
    r#"
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE drops (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    opens_at        INTEGER NOT NULL,
    general_sale_at INTEGER NOT NULL,
    closes_at       INTEGER NOT NULL,
    CHECK (opens_at <= general_sale_at AND general_sale_at <= closes_at)
) STRICT;

CREATE TABLE pieces (
    id             INTEGER PRIMARY KEY,
    serial         TEXT NOT NULL UNIQUE,
    drop_id        TEXT REFERENCES drops(id),
    edition_number INTEGER NOT NULL,
    edition_size   INTEGER NOT NULL,
    title          TEXT NOT NULL,
    maker          TEXT NOT NULL,
    materials      TEXT NOT NULL DEFAULT '',
    origin_notes   TEXT NOT NULL DEFAULT '',
    price_minor    INTEGER NOT NULL CHECK (price_minor >= 0),
    currency       TEXT NOT NULL,
    assay_hash     TEXT,
    status         TEXT NOT NULL CHECK (status IN ('available','held','reserved','sold','in_transit','lost')),
    held_for       TEXT,
    CHECK (edition_number BETWEEN 1 AND edition_size)
) STRICT;
CREATE INDEX pieces_by_drop ON pieces(drop_id, edition_number);

CREATE TABLE members (
    id    TEXT PRIMARY KEY,
    name  TEXT NOT NULL,
    email TEXT NOT NULL
) STRICT;

CREATE TABLE waitlist (
    member_id TEXT NOT NULL REFERENCES members(id),
    drop_id   TEXT NOT NULL REFERENCES drops(id),
    PRIMARY KEY (member_id, drop_id)
) STRICT;

-- One row per device: the last receipt number handed out. Bumped inside the sale's
-- transaction, so a rolled-back sale gives its number back and numbers stay gap-free.
CREATE TABLE receipt_counter (
    device   TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
) STRICT;

CREATE TABLE sales (
    id              TEXT PRIMARY KEY,
    device          TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    member_id       TEXT,
    currency        TEXT NOT NULL,
    subtotal_minor  INTEGER NOT NULL,
    discount_minor  INTEGER NOT NULL,
    total_minor     INTEGER NOT NULL,
    vat_minor       INTEGER NOT NULL,
    vat_rate_bp     INTEGER NOT NULL,
    change_minor    INTEGER NOT NULL,
    line_count      INTEGER NOT NULL,
    voided_at       INTEGER,
    void_reason     TEXT,
    UNIQUE (device, seq)
) STRICT;
CREATE INDEX sales_by_time ON sales(at);

CREATE TABLE sale_lines (
    sale_id         TEXT NOT NULL REFERENCES sales(id),
    line_no         INTEGER NOT NULL,
    piece_id        INTEGER NOT NULL REFERENCES pieces(id),
    serial          TEXT NOT NULL,
    title           TEXT NOT NULL,
    edition         TEXT NOT NULL,
    drop_id         TEXT,
    unit_minor      INTEGER NOT NULL,
    discount_minor  INTEGER NOT NULL,
    discount_reason TEXT,
    net_minor       INTEGER NOT NULL,
    vat_minor       INTEGER NOT NULL,
    -- 1 while the piece belongs to this sale; 0 once voided or returned.
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    returned_at     INTEGER,
    PRIMARY KEY (sale_id, line_no)
) STRICT;
-- The last word on "a piece is in one sale at most", whatever the code above it does.
CREATE UNIQUE INDEX one_live_sale_per_piece ON sale_lines(piece_id) WHERE active = 1;

CREATE TABLE tenders (
    sale_id      TEXT NOT NULL REFERENCES sales(id),
    idx          INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('cash', 'card')),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    reference    TEXT,
    PRIMARY KEY (sale_id, idx)
) STRICT;

CREATE TABLE refunds (
    id           TEXT PRIMARY KEY,
    sale_id      TEXT NOT NULL REFERENCES sales(id),
    at           INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('void', 'return')),
    reason       TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    serials      TEXT NOT NULL
) STRICT;

-- Every state change appends here in its own transaction; sync drains it in `seq` order.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    synced_at  INTEGER
) STRICT;
CREATE INDEX outbox_unsynced ON outbox(seq) WHERE synced_at IS NULL;

CREATE TABLE staff_auth (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    pin_hash        TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER
) STRICT;
"#,
    // 2: the print queue. A job holds a snapshot of what to print (JSON of
    // `domain::printout::Printout`), laid out for the printer at print time.
    r#"
CREATE TABLE print_jobs (
    id          INTEGER PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    sale_id     TEXT REFERENCES sales(id),
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'printing', 'printed', 'held')),
    reprint     INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    printed_at  INTEGER
) STRICT;
CREATE INDEX print_jobs_waiting ON print_jobs(id) WHERE state IN ('queued', 'printing');
CREATE INDEX print_jobs_sale ON print_jobs(sale_id) WHERE sale_id IS NOT NULL;
"#,
    // 3: holds and reservations, the member limit of a drop, and which reservation a sale
    // line collected. The piece's `status`/`held_for` stay the quick answer for the grid;
    // the reservation row is the record.
    r#"
ALTER TABLE drops ADD COLUMN member_limit INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sale_lines ADD COLUMN reservation_id TEXT;

CREATE TABLE reservations (
    id               TEXT PRIMARY KEY,
    code             TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL CHECK (kind IN ('hold', 'reservation')),
    source           TEXT NOT NULL CHECK (source IN ('stall', 'online')),
    piece_id         INTEGER NOT NULL REFERENCES pieces(id),
    serial           TEXT NOT NULL,
    customer_name    TEXT NOT NULL,
    customer_contact TEXT NOT NULL,
    member_id        TEXT,
    price_minor      INTEGER NOT NULL,
    currency         TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    state            TEXT NOT NULL DEFAULT 'active'
                     CHECK (state IN ('active', 'collected', 'released', 'expired')),
    ended_at         INTEGER,
    end_reason       TEXT,
    sale_id          TEXT REFERENCES sales(id)
) STRICT;
-- The last word on "a piece is kept for one customer at most".
CREATE UNIQUE INDEX one_active_reservation_per_piece ON reservations(piece_id) WHERE state = 'active';
CREATE INDEX reservations_expiry ON reservations(expires_at) WHERE state = 'active';
CREATE INDEX reservations_name ON reservations(customer_name COLLATE NOCASE);
CREATE INDEX reservations_serial ON reservations(serial);
"#,
    // 4: provenance. The keyring of atelier keys this kiosk trusts (from the cloud or an
    // imported file) and each piece's signed certificate, printed on its sticker.
    r#"
CREATE TABLE trusted_keys (
    key_id         TEXT PRIMARY KEY,
    atelier        TEXT NOT NULL,
    public_key     BLOB NOT NULL CHECK (length(public_key) = 32),
    valid_from     TEXT NOT NULL,
    valid_until    TEXT,
    revoked_on     TEXT,
    revoked_reason TEXT,
    updated_at     INTEGER NOT NULL
) STRICT;
ALTER TABLE pieces ADD COLUMN certificate TEXT;
"#,
    // 5: dispatch. Orders to hand to a courier (sold here to ship, or online orders from the
    // cloud) and the signed proof of each hand-over; its photo lives on disk, named by hash.
    r#"
CREATE TABLE shipments (
    id            TEXT PRIMARY KEY,
    sale_id       TEXT REFERENCES sales(id),
    buyer         TEXT NOT NULL,
    pieces        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    dispatched_at INTEGER
) STRICT;
CREATE INDEX shipments_awaiting ON shipments(created_at) WHERE dispatched_at IS NULL;

CREATE TABLE dispatch_proofs (
    shipment_id       TEXT PRIMARY KEY REFERENCES shipments(id),
    record            TEXT NOT NULL,
    photo_sha256      TEXT NOT NULL,
    photo_uploaded_at INTEGER,
    created_at        INTEGER NOT NULL
) STRICT;
"#,
    // 6: the local copy of a dispatch photo may go once the cloud has it; the record stays
    // and says so, so a removed photo is never mistaken for a lost one.
    r#"
ALTER TABLE dispatch_proofs ADD COLUMN photo_removed_at INTEGER;
CREATE INDEX dispatch_photos_uploaded ON dispatch_proofs(photo_uploaded_at)
    WHERE photo_uploaded_at IS NOT NULL AND photo_removed_at IS NULL;
"#,
    // 7: events the cloud refused (a piece sold elsewhere meanwhile...), kept for staff to
    // see and act on; the event itself counts as delivered.
    r#"
CREATE TABLE sync_conflicts (
    event_id    TEXT PRIMARY KEY REFERENCES outbox(id),
    kind        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    message     TEXT NOT NULL,
    at          INTEGER NOT NULL,
    resolved_at INTEGER
) STRICT;
"#,
    // 8: the other stall a piece is allocated to, as the cloud says (NULL: this stall or
    // none); such a piece is not for sale here.
    r#"
ALTER TABLE pieces ADD COLUMN away TEXT;
"#,
    // 9: photos this store has begun to keep and not yet recorded. Start-up removes only
    // these when no record came: a photo folder can be shared by several stores, and what
    // another store wrote is never this one's to judge.
    r#"
CREATE TABLE photo_writes (
    sha256     TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL
) STRICT;
"#,
    // 10: the cash drawer (the day's float, cash in and out, counts), and where each
    // refund's money went. Refunds from before were paid back as the Z report then
    // assumed: returns in cash, voids in the cash their sale took and the rest to the card.
    r#"
CREATE TABLE cash_movements (
    id           TEXT PRIMARY KEY,
    device       TEXT NOT NULL,
    at           INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('float', 'paid_in', 'paid_out', 'count')),
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency     TEXT NOT NULL,
    reason       TEXT NOT NULL
) STRICT;
CREATE INDEX cash_movements_by_day ON cash_movements(device, at);
ALTER TABLE refunds ADD COLUMN cash_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN card_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN card_reference TEXT;
UPDATE refunds SET cash_minor = CASE kind WHEN 'return' THEN amount_minor ELSE min(amount_minor, max(0,
    (SELECT coalesce(sum(t.amount_minor), 0) FROM tenders t WHERE t.sale_id = refunds.sale_id AND t.kind = 'cash')
    - (SELECT s.change_minor FROM sales s WHERE s.id = refunds.sale_id))) END;
UPDATE refunds SET card_minor = amount_minor - cash_minor,
    card_reference = CASE WHEN amount_minor > cash_minor THEN (SELECT t.reference FROM tenders t
        WHERE t.sale_id = refunds.sale_id AND t.kind = 'card' ORDER BY t.idx LIMIT 1) END;
"#,
    // 11: the SHA-256 of each piece's photo as the cloud names it (NULL: none). The bytes
    // live in `piece-photos/` beside the database, fetched by the sync worker.
    r#"
ALTER TABLE pieces ADD COLUMN photo TEXT;
"#,
];
