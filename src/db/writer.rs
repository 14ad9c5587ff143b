//! SQLite's group-commit writer.
//!
//! SQLite has one writer at a time. Committing each request's transaction on
//! its own made the write connection the limit (551 contacts/s, the server
//! at 92 % of one core with the machine half idle): every commit writes every
//! page the request dirtied to the WAL, and a contact dirties about 30 (its
//! row, a dozen indexes, full text, ~15 search terms), most of them the same
//! right-hand leaf pages the previous contact dirtied (ids and dates grow).
//!
//! So requests share transactions. One task at a time holds the connection
//! (a fair, first-come lock); the first request opens the outer transaction
//! (`BEGIN IMMEDIATE`) and every request runs inside its own `SAVEPOINT`. A
//! request that succeeds releases its savepoint; a request that fails (or is
//! dropped) rolls back to it, so each request stays all-or-nothing and gets
//! its own error. The outer transaction commits when nobody else is waiting
//! for the connection, or when it holds [`MAX_MEMBERS`] requests or is
//! [`MAX_AGE`] old; otherwise the request hands the connection on and waits
//! for the commit of its group. Its [`WriteTx::commit`] returns only once its
//! writes are committed (visible to the readers and, in WAL mode with
//! `synchronous=NORMAL`, as durable as a commit of its own), so nothing is
//! answered before it is true.
//!
//! Under light load a request finds nobody waiting and commits at once, as
//! before. Under heavy load the group grows with the queue, and the pages the
//! group's requests share are written once.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::{Executor, SqliteConnection};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, oneshot, watch};

/// The most requests one commit carries.
const MAX_MEMBERS: usize = 64;
/// The longest a group stays open: the first request of a group waits for
/// the others to run, so a group is closed after this long.
const MAX_AGE: Duration = Duration::from_millis(20);

/// How long a statement waits for another process's lock on the file.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests committed between two checkpoints: a contact dirties about 30
/// pages, so about 6,000 pages (24 MB) of WAL when the pages are not shared.
const CHECKPOINT_EVERY: usize = 200;
/// Background checkpoints per WAL restart. The writer's part of a restart
/// syncs the WAL and the database file (30 ms here, however little is left
/// to copy), so it is rare; between restarts the WAL grows, but readers skip
/// its checkpointed part.
const RESTART_EVERY: u64 = 8;
/// A background checkpoint pass this short leaves little for the writer's.
const SHORT_PASS: Duration = Duration::from_millis(4);
/// Background passes before the writer's part at the latest.
const MAX_PASSES: usize = 4;
/// How long the writer's part of a checkpoint waits for readers of older
/// snapshots to finish before it gives up until the next one.
const RESTART_WAIT_MS: u32 = 5;

/// What a group's members learn when it ends: `None` while it is open, then
/// whether its commit succeeded (the error's text when it did not).
type Outcome = Option<Result<(), String>>;

/// The write connection and the group open on it.
#[derive(Debug)]
struct State {
    conn: SqliteConnection,
    group: Option<Group>,
    /// Commits made so far.
    commits: u64,
    /// Requests committed since the last checkpoint.
    since_checkpoint: usize,
    /// Wakes the checkpointer, when there is one.
    checkpoint_due: Option<Arc<Notify>>,
}

/// An open outer transaction and the requests it holds so far.
#[derive(Debug)]
struct Group {
    started: Instant,
    /// Requests that released their savepoint into this group.
    members: usize,
    /// A flusher task is queued for the connection to commit this group.
    flush_queued: bool,
    done: watch::Sender<Outcome>,
}

/// The single write connection of a SQLite database, shared by groups of
/// requests (see the module's documentation).
#[derive(Debug, Clone)]
pub struct Writer {
    state: Arc<Mutex<State>>,
    /// Tasks waiting for the connection: while some are, a finished request
    /// leaves the group open for them.
    waiting: Arc<AtomicUsize>,
    acquire_timeout: Duration,
    /// Dropped with the last handle of the database: stops the checkpointer
    /// (whose own handle holds `None`).
    _alive: Option<Arc<Alive>>,
}

/// Tells the checkpointer to stop when the database's last handle goes.
#[derive(Debug)]
struct Alive {
    due: Arc<Notify>,
    stopped: Arc<AtomicBool>,
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.due.notify_one();
    }
}

impl Writer {
    /// The writer on `conn`. With `checkpointer`, a second connection to the
    /// same file, WAL checkpoints run beside the writer (see [`checkpointer`])
    /// and `conn` should have its automatic checkpoint set high, as a backstop.
    pub fn new(conn: SqliteConnection, checkpointer: Option<SqliteConnection>, acquire_timeout: Duration) -> Writer {
        let due = Arc::new(Notify::new());
        let stopped = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            state: Arc::new(Mutex::new(State {
                conn,
                group: None,
                commits: 0,
                since_checkpoint: 0,
                checkpoint_due: checkpointer.is_some().then(|| due.clone()),
            })),
            waiting: Arc::new(AtomicUsize::new(0)),
            acquire_timeout,
            _alive: Some(Arc::new(Alive {
                due: due.clone(),
                stopped: stopped.clone(),
            })),
        };
        if let Some(conn) = checkpointer {
            let handle = Writer {
                _alive: None,
                ..writer.clone()
            };
            tokio::spawn(checkpoint_loop(handle, conn, due, stopped));
        }
        writer
    }

    /// Waits for the connection (in arrival order), at most the acquire
    /// timeout (then `PoolTimedOut`, a 503).
    async fn lock(&self, counted: bool) -> Result<OwnedMutexGuard<State>, sqlx::Error> {
        struct Waiting<'a>(Option<&'a AtomicUsize>);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                if let Some(w) = self.0 {
                    w.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
        let _waiting = Waiting(counted.then(|| {
            self.waiting.fetch_add(1, Ordering::SeqCst);
            &*self.waiting
        }));
        tokio::time::timeout(self.acquire_timeout, self.state.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)
    }

    /// The connection alone, outside any group, for statements that cannot
    /// run inside a transaction (migrations, `VACUUM`, pragmas, checkpoints).
    /// An open group is committed first.
    pub async fn connection(&self) -> Result<Exclusive, sqlx::Error> {
        let mut state = self.lock(true).await?;
        if state.group.is_some() {
            commit_group(&mut state).await?;
        }
        Ok(Exclusive(state))
    }

    /// Starts a request's transaction: joins the open group (or opens one)
    /// and sets the request's savepoint.
    pub async fn begin(&self) -> Result<WriteTx, sqlx::Error> {
        let state = self.lock(true).await?;
        // A task opens the transaction, so that a request dropped meanwhile
        // (its timeout, a client gone) cannot leave the connection inside a
        // transaction nobody knows of: the task then undoes what it opened.
        let (hand_over, received) = oneshot::channel();
        let writer = self.clone();
        tokio::spawn(async move {
            let mut state = state;
            match open_request(&writer, &mut state).await {
                Ok(savepoint) => {
                    if let Err(Ok((mut state, _))) = hand_over.send(Ok((state, savepoint))) {
                        rollback_request(&mut state, savepoint).await;
                        settle(&writer, &mut state).await;
                    }
                }
                Err(e) => {
                    let _ = hand_over.send(Err(e));
                }
            }
        });
        let (state, savepoint) = received
            .await
            .map_err(|_| group_failed("the task opening the transaction ended"))??;
        Ok(WriteTx {
            state: Some(state),
            savepoint,
            writer: self.clone(),
        })
    }

    /// `(open, idle)` for the pool metrics: one connection, idle when no
    /// request holds it.
    pub fn usage(&self) -> (u32, usize) {
        (1, usize::from(self.state.try_lock().is_ok()))
    }
}

/// The write connection held alone (see [`Writer::connection`]).
pub struct Exclusive(OwnedMutexGuard<State>);

impl Deref for Exclusive {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.0.conn
    }
}

impl DerefMut for Exclusive {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.0.conn
    }
}

/// One request's writes: a savepoint in its group's transaction. Dropped
/// without [`WriteTx::commit`], it rolls back to its savepoint.
pub struct WriteTx {
    /// `None` once committed or handed to the drop's clean-up.
    state: Option<OwnedMutexGuard<State>>,
    /// Whether the request runs in a savepoint (it joined a group), or is
    /// the first of its group (whose transaction is then its own so far).
    savepoint: bool,
    writer: Writer,
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteTx")
    }
}

// `state` is `None` only inside `commit` and `drop`, which consume the
// transaction: no one can dereference it then.
impl Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        match &self.state {
            Some(state) => &state.conn,
            None => unreachable!("a write transaction is used after its end"),
        }
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match &mut self.state {
            Some(state) => &mut state.conn,
            None => unreachable!("a write transaction is used after its end"),
        }
    }
}

impl WriteTx {
    /// Keeps the request's writes and returns once they are committed with
    /// its group.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let Some(state) = self.state.take() else {
            unreachable!("a write transaction is committed once");
        };
        // A task runs the release to its end even if the request is dropped
        // meanwhile (a client that went away): other requests' writes may
        // ride on the commit it makes.
        let released = tokio::spawn(release(self.writer.clone(), state, self.savepoint))
            .await
            .map_err(|e| group_failed(&e.to_string()))??;
        let Some(mut done) = released else {
            return Ok(());
        };
        match done.wait_for(Option::is_some).await {
            Ok(outcome) => match outcome.as_ref() {
                Some(Ok(())) => Ok(()),
                Some(Err(e)) => Err(group_failed(e)),
                None => unreachable!("wait_for returns a decided outcome"),
            },
            Err(_) => Err(group_failed("the group ended without a commit")),
        }
    }
}

/// Releases a request's savepoint into its group and commits the group when
/// nobody waits for the connection (or the group is full). Otherwise leaves
/// the group open for those who wait, makes sure a flusher queues behind
/// them, and returns what tells the group's outcome.
async fn release(
    writer: Writer,
    mut state: OwnedMutexGuard<State>,
    savepoint: bool,
) -> Result<Option<watch::Receiver<Outcome>>, sqlx::Error> {
    if savepoint && let Err(e) = state.conn.execute("RELEASE request").await {
        // The savepoint is still there: undo the request's part only.
        rollback_request(&mut state, true).await;
        settle(&writer, &mut state).await;
        return Err(e);
    }
    let Some(group) = state.group.as_mut() else {
        unreachable!("a request runs in a group");
    };
    group.members += 1;
    let full = group.members >= MAX_MEMBERS || group.started.elapsed() >= MAX_AGE;
    if full || writer.waiting.load(Ordering::SeqCst) == 0 {
        return commit_group(&mut state).await.map(|()| None);
    }
    let done = group.done.subscribe();
    queue_flush(&writer, group);
    Ok(Some(done))
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(mut state) = self.state.take() else {
            return;
        };
        // Undoing takes statements, which are async: a task does it while
        // holding the connection, so nobody else runs before it is done.
        let writer = self.writer.clone();
        let savepoint = self.savepoint;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    rollback_request(&mut state, savepoint).await;
                    settle(&writer, &mut state).await;
                });
            }
            Err(_) => tracing::error!("a SQLite write transaction was dropped outside the runtime"),
        }
    }
}

/// Opens a request's part of the group: the group's transaction when none
/// is open (the request is its first member and needs no savepoint), else a
/// savepoint in it. Returns whether the request runs in a savepoint.
async fn open_request(writer: &Writer, state: &mut State) -> Result<bool, sqlx::Error> {
    // The first request of a group needs no savepoint: when it fails, the
    // whole transaction rolls back. (It also keeps a long request, an
    // import, from filling a savepoint journal when it runs alone.)
    if state.group.is_some() {
        if let Err(e) = state.conn.execute("SAVEPOINT request").await {
            settle(writer, state).await;
            return Err(e);
        }
        return Ok(true);
    }
    state.conn.execute("BEGIN IMMEDIATE").await?;
    state.group = Some(Group {
        started: Instant::now(),
        members: 0,
        flush_queued: false,
        done: watch::channel(None).0,
    });
    Ok(false)
}

/// Undoes a request's writes: back to its savepoint, or the whole
/// transaction when it was the first of its group (which is then empty).
async fn rollback_request(state: &mut State, savepoint: bool) {
    if !savepoint {
        if let Err(e) = state.conn.execute("ROLLBACK").await {
            tracing::error!(error = %e, "could not roll back a write transaction");
        }
        state.group = None;
        return;
    }
    if let Err(e) = state.conn.execute("ROLLBACK TO request; RELEASE request").await {
        // SQLite rolled the whole transaction back itself (an I/O error, a
        // full disk): the group's commit will fail and tell its members.
        tracing::error!(error = %e, "could not roll back a request's savepoint");
    }
}

/// After a request ended without joining the group: ends an empty group, or
/// makes sure a non-empty one gets committed.
async fn settle(writer: &Writer, state: &mut State) {
    let Some(group) = state.group.as_mut() else {
        return;
    };
    if group.members == 0 {
        if let Err(e) = state.conn.execute("ROLLBACK").await {
            tracing::error!(error = %e, "could not end an empty write transaction");
        }
        state.group = None;
    } else if writer.waiting.load(Ordering::SeqCst) == 0 {
        let _ = commit_group(state).await;
    } else {
        queue_flush(writer, group);
    }
}

/// Makes sure one flusher is queued behind the waiting requests to commit
/// `group` if none of them does.
fn queue_flush(writer: &Writer, group: &mut Group) {
    if !group.flush_queued {
        group.flush_queued = true;
        tokio::spawn(flush(writer.clone()));
    }
}

/// Queues for the connection behind the requests waiting now and commits
/// the group they joined (unless one of them did).
async fn flush(writer: Writer) {
    // The connection may be held for longer than the acquire timeout (a long
    // import): then queue again.
    loop {
        if let Ok(mut state) = writer.lock(false).await {
            if state.group.is_some() {
                let _ = commit_group(&mut state).await;
            }
            return;
        }
    }
}

/// Checkpoints the WAL beside the writer, in two steps, so that writers
/// never wait for the bulk of it.
///
/// A checkpoint copies the WAL's pages into the database file and syncs it;
/// the sync is most of its time (a 16 MB WAL: 100 ms with it, 17 ms
/// without). Run by the writer itself (SQLite's automatic checkpoint), every
/// write waited for it: the p99 of writes at 500/s was that wait. Run only
/// beside the writer (tried in run 6), it never catches up with a busy writer
/// and the WAL never starts over: it grew to 235 MB in 20 s.
///
/// So: first a passive checkpoint on this connection, while requests go on
/// writing (the copy and the long sync); then, holding the write connection
/// for a moment, a `RESTART` checkpoint there: it copies only what was
/// written meanwhile, waits at most [`RESTART_WAIT_MS`] for readers of older
/// snapshots, and lets the next write start the WAL over.
async fn checkpoint_loop(writer: Writer, mut conn: SqliteConnection, due: Arc<Notify>, stopped: Arc<AtomicBool>) {
    let mut rounds: u64 = 0;
    loop {
        due.notified().await;
        if stopped.load(Ordering::SeqCst) {
            return;
        }
        // Each pass copies what the writer wrote during the previous one, so
        // the passes shorten; the writer waits only for the last bit.
        let mut passes = 0;
        let started_at = Instant::now();
        loop {
            let started = Instant::now();
            if let Err(e) = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").await {
                tracing::warn!(error = %e, "the background WAL checkpoint failed");
                break;
            }
            passes += 1;
            if started.elapsed() < SHORT_PASS || passes == MAX_PASSES {
                break;
            }
        }
        let background = started_at.elapsed();
        rounds += 1;
        let Ok(mut state) = writer.lock(true).await else {
            continue;
        };
        if !rounds.is_multiple_of(RESTART_EVERY) {
            state.since_checkpoint = 0;
            tracing::debug!(passes, background_ms = background.as_secs_f64() * 1e3, "WAL checkpoint");
            continue;
        }
        let held = Instant::now();
        restart_wal(&mut state).await;
        tracing::debug!(
            passes,
            background_ms = background.as_secs_f64() * 1e3,
            writer_ms = held.elapsed().as_secs_f64() * 1e3,
            "WAL checkpoint and restart"
        );
    }
}

/// The writer's part of a checkpoint (see [`checkpoint_loop`]).
async fn restart_wal(state: &mut State) {
    if state.group.is_some() && commit_group(state).await.is_err() {
        return;
    }
    state.since_checkpoint = 0;
    let restart = format!(
        "PRAGMA busy_timeout = {RESTART_WAIT_MS}; PRAGMA wal_checkpoint(RESTART); PRAGMA busy_timeout = {}",
        BUSY_TIMEOUT.as_millis()
    );
    if let Err(e) = state.conn.execute(restart.as_str()).await {
        tracing::warn!(error = %e, "the WAL checkpoint on the writer failed");
    }
}

/// Commits the open group and tells its members how it went.
async fn commit_group(state: &mut State) -> Result<(), sqlx::Error> {
    let Some(group) = state.group.take() else {
        return Ok(());
    };
    let result = state.conn.execute("COMMIT").await.map(|_| ());
    state.commits += 1;
    let before = state.since_checkpoint;
    state.since_checkpoint += group.members;
    if before < CHECKPOINT_EVERY
        && state.since_checkpoint >= CHECKPOINT_EVERY
        && let Some(due) = &state.checkpoint_due
    {
        due.notify_one();
    }
    // How many requests a commit carries, on /metrics: the mean group size is
    // the ratio of the two counters.
    metrics::counter!("sqlite_group_commits_total").increment(1);
    metrics::counter!("sqlite_group_commit_requests_total").increment(group.members as u64);
    if result.is_err() {
        // A failed COMMIT may leave the transaction open; outside one, this
        // fails harmlessly.
        let _ = state.conn.execute("ROLLBACK").await;
    }
    group
        .done
        .send_replace(Some(result.as_ref().map(|_| ()).map_err(|e| e.to_string())));
    result
}

/// The error a member of a group whose commit failed gets: the database
/// could not keep the writes, so the client may try again (503).
fn group_failed(reason: &str) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(format!(
        "the write transaction could not commit: {reason}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Row};

    async fn open(file: &std::path::Path, read_only: bool) -> SqliteConnection {
        let options = SqliteConnectOptions::new()
            .filename(file)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .read_only(read_only);
        match options.connect().await {
            Ok(conn) => conn,
            Err(e) => panic!("cannot open {}: {e}", file.display()),
        }
    }

    /// Many requests at once: each one's writes are kept or undone alone,
    /// each is visible to a reader when its commit returns, and they share
    /// far fewer commits than there are requests.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_commits_and_fail_alone() -> Result<(), sqlx::Error> {
        let file = std::env::temp_dir().join(format!("crm-writer-{}.sqlite", uuid::Uuid::new_v4()));
        let mut setup = open(&file, false).await;
        setup.execute("CREATE TABLE t (v INTEGER PRIMARY KEY)").await?;
        let writer = Writer::new(setup, None, Duration::from_secs(30));
        let mut tasks = Vec::new();
        for i in 0..60_i64 {
            let writer = writer.clone();
            let file = file.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = writer.begin().await?;
                sqlx::query("INSERT INTO t (v) VALUES ($1)")
                    .bind(i)
                    .execute(&mut *tx)
                    .await?;
                tokio::task::yield_now().await;
                if i % 5 == 0 {
                    // A failing request: its first write must not survive.
                    let refused = sqlx::query("INSERT INTO t (v) VALUES ($1)")
                        .bind(i)
                        .execute(&mut *tx)
                        .await;
                    assert!(refused.is_err(), "a duplicate key is refused");
                    drop(tx);
                    return Ok::<bool, sqlx::Error>(false);
                }
                tx.commit().await?;
                let mut reader = open(&file, true).await;
                let seen: i64 = sqlx::query("SELECT COUNT(*) FROM t WHERE v = $1")
                    .bind(i)
                    .fetch_one(&mut reader)
                    .await?
                    .get(0);
                assert_eq!(seen, 1, "request {i}'s write is visible once its commit returned");
                Ok(true)
            }));
        }
        for task in tasks {
            match task.await {
                Ok(result) => {
                    result?;
                }
                Err(e) => panic!("a request task failed: {e}"),
            }
        }
        let mut reader = open(&file, true).await;
        let kept: Vec<i64> = sqlx::query_scalar("SELECT v FROM t ORDER BY v")
            .fetch_all(&mut reader)
            .await?;
        let expected: Vec<i64> = (0..60).filter(|i| i % 5 != 0).collect();
        assert_eq!(kept, expected);
        let commits = writer.state.lock().await.commits;
        assert!(commits < 30, "48 requests took {commits} commits");
        let _ = std::fs::remove_file(&file);
        Ok(())
    }

    /// A request alone commits at once; one that fails alone leaves nothing
    /// and no transaction open.
    #[tokio::test]
    async fn a_lone_request_commits_or_rolls_back_whole() -> Result<(), sqlx::Error> {
        let file = std::env::temp_dir().join(format!("crm-writer-{}.sqlite", uuid::Uuid::new_v4()));
        let mut setup = open(&file, false).await;
        setup.execute("CREATE TABLE t (v INTEGER PRIMARY KEY)").await?;
        let writer = Writer::new(setup, None, Duration::from_secs(30));
        let mut tx = writer.begin().await?;
        sqlx::query("INSERT INTO t (v) VALUES (1)").execute(&mut *tx).await?;
        drop(tx);
        let mut tx = writer.begin().await?;
        sqlx::query("INSERT INTO t (v) VALUES (2)").execute(&mut *tx).await?;
        tx.commit().await?;
        let mut conn = writer.connection().await?;
        let kept: Vec<i64> = sqlx::query_scalar("SELECT v FROM t").fetch_all(&mut *conn).await?;
        assert_eq!(kept, vec![2]);
        // Outside a transaction: VACUUM refuses to run inside one.
        conn.execute("VACUUM").await?;
        drop(conn);
        let _ = std::fs::remove_file(&file);
        Ok(())
    }
    /// The checkpointer keeps the WAL from growing without end: after more
    /// requests than a restart takes, the log has started over.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_starts_the_wal_over() -> Result<(), sqlx::Error> {
        let file = std::env::temp_dir().join(format!("crm-writer-{}.sqlite", uuid::Uuid::new_v4()));
        let mut setup = open(&file, false).await;
        sqlx::raw_sql("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (v INTEGER PRIMARY KEY, pad BLOB)")
            .execute(&mut setup)
            .await?;
        let checkpointer = open(&file, false).await;
        let writer = Writer::new(setup, Some(checkpointer), Duration::from_secs(30));
        // One request at a time: each commits alone and writes a page of its
        // own, so without a restart the WAL would hold a frame per request.
        let requests = CHECKPOINT_EVERY * RESTART_EVERY as usize + CHECKPOINT_EVERY;
        for i in 0..requests {
            let mut tx = writer.begin().await?;
            sqlx::query("INSERT INTO t (v, pad) VALUES ($1, zeroblob(3000))")
                .bind(i as i64)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        let mut probe = open(&file, false).await;
        let (_, frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut probe)
            .await?;
        assert!(
            frames > 0 && (frames as usize) < requests,
            "the WAL holds {frames} frames after {requests} requests"
        );
        drop(writer);
        let _ = std::fs::remove_file(&file);
        Ok(())
    }
}
