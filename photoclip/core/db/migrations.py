"""The schema, as named migrations applied in order, and the rules for applying them.

- A copy of the file is taken (SQLite's backup API) before a library that already has
  data is migrated; all pending migrations then run in one write transaction, so a
  failure leaves the library exactly as it was.
- A library with migrations this app does not know was written by a newer photoclip
  and is refused, untouched, rather than damaged.
- New migrations are appended at the end of this module (m004, m005, ...): the order
  of registration is the order of application.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import sqlite_utils
from sqlite_utils import Migrations

from photoclip.core.db.errors import shown
from photoclip.core.db.identity import APPLICATION_ID, MIGRATION_SET
from photoclip.core.db.transactions import TransactionalStore
from photoclip.core.errors import DatabaseTooNew

MIGRATIONS = Migrations(MIGRATION_SET)


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Run `;`-separated DDL inside the migration's transaction.

    (`executescript` would commit first and break the migration's atomicity.)
    """
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def refuse_newer(db: sqlite_utils.Database, path: Path) -> None:
    """DatabaseTooNew when the file has migrations this version does not know. Reads only."""
    applied = {m.name for m in MIGRATIONS.applied(db)}
    unknown = applied - {m.name for m in MIGRATIONS._migrations}
    if unknown:
        raise DatabaseTooNew(
            f"The library {shown(path)} was written by a newer version of photoclip "
            f"(it has changes this version does not know: {', '.join(sorted(unknown))}). "
            "Update photoclip to open it; the file was left untouched."
        )


def migrate(store: TransactionalStore, db: sqlite_utils.Database, path: Path) -> None:
    """Bring the schema up to date and stamp the file as a photoclip library."""
    pending = MIGRATIONS.pending(db)
    stamped = db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    if not pending and stamped:
        return
    if pending and MIGRATIONS.applied(db):
        backup(store.conn, path, f"before-{pending[0].name}")
    with store.transaction():
        # Inside this one transaction sqlite-utils runs each migration in a savepoint;
        # a second process migrating at the same time waits here, then finds nothing pending.
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        MIGRATIONS.apply(db)


def backup(conn: sqlite3.Connection, path: Path, tag: str) -> Path:
    """Copy the database (consistently, through SQLite's backup API) beside itself."""
    target = path.with_name(f"{path.name}.{tag}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
    dest = sqlite3.connect(target)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    return target


@MIGRATIONS()
def m001_initial(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE folders (
            id INTEGER PRIMARY KEY,
            path BLOB NOT NULL UNIQUE,
            added_at REAL NOT NULL
        );
        CREATE TABLE photos (
            id INTEGER PRIMARY KEY,
            path BLOB NOT NULL UNIQUE,
            folder_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            hash TEXT,
            width INTEGER,
            height INTEGER,
            taken_at TEXT,
            taken_source TEXT,
            camera TEXT,
            gps_lat REAL,
            gps_lon REAL,
            status TEXT NOT NULL DEFAULT 'new',
            skip_reason TEXT,
            companion BLOB,
            added_at REAL NOT NULL,
            missing_since REAL
        );
        CREATE INDEX photos_hash ON photos(hash);
        CREATE INDEX photos_status ON photos(status);
        CREATE INDEX photos_folder ON photos(folder_id);
        CREATE INDEX photos_taken ON photos(taken_at);
        CREATE TABLE models (
            model_id TEXT PRIMARY KEY,
            dim INTEGER NOT NULL,
            description TEXT,
            added_at REAL NOT NULL
        );
        CREATE TABLE vectors (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            model_id TEXT NOT NULL REFERENCES models(model_id),
            dim INTEGER NOT NULL,
            vec BLOB NOT NULL,
            PRIMARY KEY (photo_id, model_id)
        );
        CREATE INDEX vectors_model ON vectors(model_id);
        CREATE TABLE labels (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            descriptions TEXT NOT NULL DEFAULT '[]',
            threshold REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE tags (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            label_id INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
            source TEXT NOT NULL CHECK (source IN ('auto', 'manual')),
            score REAL,
            created_at REAL NOT NULL,
            PRIMARY KEY (photo_id, label_id)
        );
        CREATE INDEX tags_label ON tags(label_id);
        """,
    )


@MIGRATIONS()
def m002_tagging(db: sqlite_utils.Database) -> None:
    """Tagging state: how each label's threshold was set, a text-vector cache and feedback.

    - labels.threshold stays the effective cut-off last used (cosine score); threshold_z
      is its position in the label's score distribution (robust z: (t - median) / scale),
      which survives changes of the label's vector; threshold_source says who set it
      ('calibrated', 'user' or 'feedback'); threshold_model the model it was computed for.
    - text_vectors caches one embedded prompt per (model, exact text).
    - tag_feedback keeps confirm/reject verdicts, so a rejection sticks across re-tagging.
    """
    run_script(
        db,
        """
        ALTER TABLE labels ADD COLUMN threshold_z REAL;
        ALTER TABLE labels ADD COLUMN threshold_source TEXT;
        ALTER TABLE labels ADD COLUMN threshold_model TEXT;
        CREATE TABLE text_vectors (
            model_id TEXT NOT NULL,
            text TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vec BLOB NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (model_id, text)
        );
        CREATE TABLE tag_feedback (
            label_id INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            verdict TEXT NOT NULL CHECK (verdict IN ('confirm', 'reject')),
            score REAL,
            created_at REAL NOT NULL,
            PRIMARY KEY (label_id, photo_id)
        );
        CREATE INDEX tag_feedback_photo ON tag_feedback(photo_id)
        """,
    )


@MIGRATIONS()
def m003_sidecar_keywords(db: sqlite_utils.Database) -> None:
    """Which keywords photoclip itself put into each photo's XMP sidecar.

    Export may only take out what it put in (or what the user rejected): a keyword
    digiKam or Lightroom wrote must survive even when it equals a label's name.
    `name` is the label name as written, kept as text so that the keyword can still
    be removed after its label is renamed or deleted; `label_id` (cleared when the
    label goes) lets an export scoped to one label find its keywords written under
    an older name. `subject_added` says whether photoclip also put the flat keyword
    (the leaf, `Dogs`) into dc:subject, or found it there already, written by another app.
    """
    run_script(
        db,
        """
        CREATE TABLE sidecar_keywords (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            label_id INTEGER REFERENCES labels(id) ON DELETE SET NULL,
            written_at REAL NOT NULL,
            subject_added INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (photo_id, name)
        );
        CREATE INDEX sidecar_keywords_label ON sidecar_keywords(label_id)
        """,
    )


@MIGRATIONS()
def m004_threshold_provisional(db: sqlite_utils.Database) -> None:
    """Whether a label's threshold is provisional, and how many photos it was calibrated on.

    The indexer tags photos as their vectors are committed, so a label first meets a
    library on the first batch of a first index (a few dozen photos): a threshold
    calibrated there is a guess. It stays provisional until a pass ends and is then
    recalibrated over every photo; `threshold_photos` lets a watcher that never ends a
    pass recalibrate when the library has doubled since. Thresholds already stored were
    calibrated on an unknown number of photos, possibly that first batch: they are
    marked provisional so that the next pass to end recalibrates them once.
    """
    run_script(
        db,
        """
        ALTER TABLE labels ADD COLUMN threshold_photos INTEGER;
        ALTER TABLE labels ADD COLUMN threshold_provisional INTEGER NOT NULL DEFAULT 0;
        UPDATE labels SET threshold_provisional = 1
            WHERE threshold IS NOT NULL AND COALESCE(threshold_source, 'calibrated') <> 'user'
        """,
    )


@MIGRATIONS()
def m005_places_albums(db: sqlite_utils.Database) -> None:
    """Places found for photos' GPS coordinates, and smart albums (saved searches).

    - places: one row per photo whose coordinates were looked up, with the coordinates
      it was found for (a changed file with new GPS is looked up again); a row with no
      city says the lookup found nothing near (open sea, a (0, 0) "no fix").
    - albums: a name and the saved query as JSON (terms, weights, filters, minimum score,
      sort); an album is evaluated again with the current model each time it is opened.
    """
    run_script(
        db,
        """
        CREATE TABLE places (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            gps_lat REAL NOT NULL,
            gps_lon REAL NOT NULL,
            city TEXT,
            region TEXT,
            country TEXT,
            country_code TEXT,
            distance_km REAL
        );
        CREATE INDEX places_city ON places(city COLLATE NOCASE);
        CREATE INDEX places_country ON places(country COLLATE NOCASE);
        CREATE TABLE albums (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            query TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )
        """,
    )


@MIGRATIONS()
def m006_presence_counter(db: sqlite_utils.Database) -> None:
    """A counter that moves whenever a photo stops or starts being present (its status goes
    to or from missing/skipped, or the row is deleted).

    Search keeps a per-vector "present" mask in memory; with this counter it rebuilds that
    mask from the whole photos table only when presence changed, and otherwise looks up
    only the rows whose vectors just arrived (at 1M photos, 0.3 s saved per refresh).
    """
    present = "IN ('ok', 'new')"  # records.OK and records.NEW, as filters._PRESENT says
    bump = "UPDATE change_counters SET value = value + 1 WHERE name = 'photo_presence';"
    # One statement per execute: the trigger bodies hold semicolons, which run_script splits on.
    for statement in (
        "CREATE TABLE change_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL DEFAULT 0)",
        "INSERT INTO change_counters (name, value) VALUES ('photo_presence', 0)",
        f"""CREATE TRIGGER photos_presence_update AFTER UPDATE OF status ON photos
            WHEN (OLD.status {present}) IS NOT (NEW.status {present}) BEGIN {bump} END""",
        f"CREATE TRIGGER photos_presence_delete AFTER DELETE ON photos BEGIN {bump} END",
    ):
        db.execute(statement)


@MIGRATIONS()
def m007_label_background_rule(db: sqlite_utils.Database) -> None:
    """Whether a label tags every photo past its line, overruling the background rule.

    By default a photo past a label's line is tagged only when the label's text beats
    the generic background prompts ("a photo"); for a label whose subject is the whole
    scene (e.g. "Landscape") that rule can hold back the very photos the user wants.
    `ignore_background` = 1 lets the user overrule it for that label alone.
    """
    run_script(db, "ALTER TABLE labels ADD COLUMN ignore_background INTEGER NOT NULL DEFAULT 0")


@MIGRATIONS()
def m008_region_names(db: sqlite_utils.Database) -> None:
    """Places found before regions were named outside the US get their region on the next pass.

    The backfill (ingest/places.assign_places, at the end of every indexing pass) looks up
    again every place whose stored coordinates differ from its photo's. Marking the
    places that have a city but no region with a latitude no photo can have (-999) sends
    them through it once more, now with region names, while their city and country stay
    shown until then (nothing reads a place's own coordinates but that comparison).
    """
    db.execute("UPDATE places SET gps_lat = -999 WHERE city IS NOT NULL AND region IS NULL")


@MIGRATIONS()
def m009_vector_counter(db: sqlite_utils.Database) -> None:
    """A counter that moves whenever a stored image vector is deleted (a changed file, a
    purged photo, a removed folder).

    The approximate search index beside the library (core/search/approximate.py) takes in
    new vectors by rowid; a deletion is what it cannot see that way, so the file records
    this counter and is rebuilt when it has moved. A vector replaced by INSERT OR REPLACE
    counts too: sqlite-utils turns recursive_triggers on, under which REPLACE fires delete
    triggers.
    """
    for statement in (
        "INSERT INTO change_counters (name, value) VALUES ('vectors_removed', 0)",
        "CREATE TRIGGER vectors_removed_delete AFTER DELETE ON vectors BEGIN "
        "UPDATE change_counters SET value = value + 1 WHERE name = 'vectors_removed'; END",
    ):
        db.execute(statement)


@MIGRATIONS()
def m010_verdict_moves_vector(db: sqlite_utils.Database) -> None:
    """Whether a confirm/reject verdict moves its label's vector.

    Feedback used to move the vector (Rocchio) with every verdict; now an answer that
    agrees with the label's decision moves nothing, and one that disagrees moves the
    vector only when, held out, the move misclassifies no more earlier answers
    (core/tagging/converge.py). The vector is rebuilt from the verdicts with
    `moves_vector` = 1. Verdicts given before this migration all moved it, so they keep 1
    and every label's vector stays what it was.
    """
    run_script(db, "ALTER TABLE tag_feedback ADD COLUMN moves_vector INTEGER NOT NULL DEFAULT 1")


@MIGRATIONS()
def m011_vector_removals(db: sqlite_utils.Database) -> None:
    """Which vectors were deleted, not only how many: the approximate index takes them out.

    m009's counter told the approximate search index (core/search/approximate.py) only that
    something was deleted, so any deletion (a changed file, a purged photo) cost a rebuild
    of the whole graph. Each deletion is now also logged, numbered with the counter's new
    value, so a graph that covers the counter up to N removes the photos logged after N.
    The log keeps the last million deletions (a graph further behind is rebuilt anyway);
    it starts empty, so a graph made before this migration is rebuilt if anything was
    deleted after it, as before.
    """
    for statement in (
        "CREATE TABLE vector_removals (seq INTEGER PRIMARY KEY, photo_id INTEGER NOT NULL, model_id TEXT NOT NULL)",
        "DROP TRIGGER vectors_removed_delete",
        "CREATE TRIGGER vectors_removed_delete AFTER DELETE ON vectors BEGIN "
        "UPDATE change_counters SET value = value + 1 WHERE name = 'vectors_removed'; "
        "INSERT INTO vector_removals (seq, photo_id, model_id) "
        "SELECT value, OLD.photo_id, OLD.model_id FROM change_counters WHERE name = 'vectors_removed'; "
        "DELETE FROM vector_removals WHERE seq <= "
        "(SELECT value FROM change_counters WHERE name = 'vectors_removed') - 1000000; END",
    ):
        db.execute(statement)


@MIGRATIONS()
def m012_vector_rowid_mark(db: sqlite_utils.Database) -> None:
    """A high-water mark for the rowids of vectors, so that none is ever given out twice.

    The in-memory store and the approximate index read "rows after the last rowid I saw".
    SQLite gives a new row max(rowid) + 1, so after the newest vector was deleted (its
    photo purged) the next photo's vector took the same rowid and both readers passed over
    it until a full reload. `put_vectors` now numbers rows itself above this mark.
    """
    db.execute("INSERT INTO change_counters (name, value) VALUES ('vectors_rowid_high', (SELECT IFNULL(MAX(rowid), 0) FROM vectors))")
