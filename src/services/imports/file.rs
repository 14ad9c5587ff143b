//! An import's file: spooled from the upload to an anonymous temporary file,
//! sniffed (is it text, which encoding, which delimiter), kept in the
//! database in chunks of [`CHUNK`] bytes so the job can read it on any
//! instance, and read back as rows by the `csv` crate on a blocking thread
//! (parsing is CPU work; the async side only receives batches).

use std::io::{Read, Seek, SeekFrom};

use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::run;
use crate::services::imports::mapping::{Encoding, detect_delimiter};

/// The size of a stored chunk.
pub const CHUNK: usize = 1024 * 1024;

/// How much of the start of a file is looked at for NUL bytes (a binary
/// file) and for the delimiter.
const SNIFF: usize = 64 * 1024;

/// An uploaded file, spooled to disk.
#[derive(Debug)]
pub struct Spooled {
    pub file: std::fs::File,
    pub size: u64,
    pub name: Option<String>,
}

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub encoding: Encoding,
    pub delimiter: u8,
}

impl Shape {
    pub fn encoding_name(self) -> &'static str {
        match self.encoding {
            Encoding::Utf8 => "utf-8",
            Encoding::Windows1252 => "windows-1252",
        }
    }

    pub fn from_stored(encoding: &str, delimiter: &str) -> Shape {
        Shape {
            encoding: if encoding == "windows-1252" {
                Encoding::Windows1252
            } else {
                Encoding::Utf8
            },
            delimiter: delimiter.bytes().next().unwrap_or(b','),
        }
    }
}

/// Reads the whole spooled file once: refuses what is not text, then finds
/// its encoding (UTF-8 when every byte sequence is, else Windows-1252) and
/// the delimiter of its header line. Blocking.
pub fn sniff(file: &mut std::fs::File) -> Result<Shape, String> {
    let io = |e: std::io::Error| format!("could not be read: {e}");
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut start = Vec::with_capacity(SNIFF);
    file.by_ref().take(SNIFF as u64).read_to_end(&mut start).map_err(io)?;
    if start.is_empty() {
        return Err("is empty".into());
    }
    if start.contains(&0) {
        return Err("is not a text (CSV) file: it holds NUL bytes".into());
    }
    // UTF-8 over the whole file, a buffer at a time; a character cut by a
    // buffer's end is carried into the next.
    let mut utf8 = true;
    let mut carry: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; SNIFF];
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        carry.extend_from_slice(&buf[..n]);
        match std::str::from_utf8(&carry) {
            Ok(_) => carry.clear(),
            Err(e) if e.error_len().is_none() => {
                carry.drain(..e.valid_up_to());
            }
            Err(_) => {
                utf8 = false;
                break;
            }
        }
    }
    let encoding = if utf8 && carry.is_empty() {
        Encoding::Utf8
    } else {
        Encoding::Windows1252
    };
    let head = super::mapping::decode(&start, encoding);
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok(Shape {
        encoding,
        delimiter: detect_delimiter(&head),
    })
}

/// Text in UTF-8 from bytes in `encoding`, without a byte-order mark, with
/// `\r\n` line ends made `\n`. Windows-1252 maps each byte to one
/// character, so decoding a buffer at a time is exact.
///
/// Why the line ends: the `csv` crate counts a record's line where its
/// reading starts, and after a `\r\n` it starts on the `\n` it left: every
/// line number of a Windows file came out one short. With `\n` alone they
/// are the physical lines.
struct Decoded<R> {
    inner: R,
    encoding: Encoding,
    raw: Vec<u8>,
    pending: Vec<u8>,
    pos: usize,
    first: bool,
    /// The last buffer ended on `\r`: kept until the next shows what follows.
    carriage_return: bool,
}

impl<R: Read> Decoded<R> {
    fn new(inner: R, encoding: Encoding) -> Self {
        Decoded {
            inner,
            encoding,
            raw: vec![0; SNIFF],
            pending: Vec::new(),
            pos: 0,
            first: true,
            carriage_return: false,
        }
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.pending.len() {
            let n = self.inner.read(&mut self.raw)?;
            if n == 0 {
                if std::mem::take(&mut self.carriage_return) {
                    self.pending = b"\r".to_vec();
                    self.pos = 0;
                    continue;
                }
                return Ok(0);
            }
            let mut bytes = &self.raw[..n];
            if std::mem::take(&mut self.first) && self.encoding == Encoding::Utf8 {
                bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
            }
            let text = match self.encoding {
                Encoding::Utf8 => bytes.to_vec(),
                Encoding::Windows1252 => encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(bytes)
                    .0
                    .into_owned()
                    .into_bytes(),
            };
            self.pending.clear();
            self.pos = 0;
            let mut held = std::mem::take(&mut self.carriage_return);
            for byte in text {
                if held && byte != b'\n' {
                    self.pending.push(b'\r');
                }
                held = byte == b'\r';
                if !held {
                    self.pending.push(byte);
                }
            }
            self.carriage_return = held;
        }
        let n = out.len().min(self.pending.len() - self.pos);
        out[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// One record of the file: the physical line it starts on (the header is
/// line 1) and its cells.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<String>,
}

/// What the reading thread sends, in order: the header, then batches of
/// rows, or why it stopped.
#[derive(Debug)]
pub enum Parsed {
    Headers(Vec<String>),
    Rows(Vec<Row>),
    Failed(String),
}

/// Reads `source` on a blocking thread: the header, then the rows after the
/// first `skip` in batches of `batch`. The channel holds two batches, so
/// memory stays bounded however large the file; dropping the receiver stops
/// the thread at its next batch.
pub fn read(source: Box<dyn Read + Send>, shape: Shape, skip: u64, batch: usize) -> mpsc::Receiver<Parsed> {
    let (tx, rx) = mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(shape.delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(Decoded::new(source, shape.encoding));
        let mut record = csv::StringRecord::new();
        let mut headers = None;
        let mut rows = Vec::with_capacity(batch);
        let mut seen = 0u64;
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let _ = tx.blocking_send(Parsed::Failed(e.to_string()));
                    return;
                }
            }
            let line = record.position().map_or(0, |p| p.line());
            let cells: Vec<String> = record.iter().map(str::to_string).collect();
            if headers.is_none() {
                let names: Vec<String> = cells.iter().map(|h| h.trim().to_string()).collect();
                if tx.blocking_send(Parsed::Headers(names)).is_err() {
                    return;
                }
                headers = Some(());
                continue;
            }
            // A blank line is no record.
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            seen += 1;
            if seen <= skip {
                continue;
            }
            rows.push(Row { line, cells });
            if rows.len() == batch && tx.blocking_send(Parsed::Rows(std::mem::take(&mut rows))).is_err() {
                return;
            }
        }
        if headers.is_none() {
            let _ = tx.blocking_send(Parsed::Headers(Vec::new()));
        }
        if !rows.is_empty() {
            let _ = tx.blocking_send(Parsed::Rows(rows));
        }
    });
    rx
}

/// A spooled file as a source of [`read`] (its own handle, from the start).
pub fn from_spooled(spooled: &Spooled) -> std::io::Result<Box<dyn Read + Send>> {
    let mut file = spooled.file.try_clone()?;
    file.seek(SeekFrom::Start(0))?;
    Ok(Box::new(std::io::BufReader::new(file)))
}

/// Stores the spooled file as the chunks of `import` on `c` (the
/// transaction that adds the import). Returns how many.
pub async fn store(mut c: Exec<'_>, org: Uuid, import: Uuid, spooled: &Spooled) -> anyhow::Result<i32> {
    let file = spooled.file.try_clone()?;
    let mut file = tokio::fs::File::from_std(file);
    tokio::io::AsyncSeekExt::seek(&mut file, SeekFrom::Start(0)).await?;
    let mut seq = 0i32;
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        (&mut file).take(CHUNK as u64).read_to_end(&mut chunk).await?;
        if chunk.is_empty() {
            return Ok(seq);
        }
        run!(c.re(), conn => sqlx::query(
            "INSERT INTO import_chunks (organization_id, import_id, seq, data) VALUES ($1, $2, $3, $4)",
        )
        .bind(org)
        .bind(import)
        .bind(seq)
        .bind(chunk)
        .execute(conn)
        .await
        .map(drop))?;
        seq += 1;
    }
}

/// Deletes an import's chunks (it has finished).
pub async fn forget(c: Exec<'_>, org: Uuid, import: Uuid) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query("DELETE FROM import_chunks WHERE organization_id = $1 AND import_id = $2")
        .bind(org)
        .bind(import)
        .execute(conn)
        .await
        .map(drop))
}

/// The stored chunks of an import as one byte stream, each fetched when the
/// reading thread needs it.
pub struct Chunks {
    state: App,
    handle: tokio::runtime::Handle,
    org: Uuid,
    import: Uuid,
    next: i32,
    current: Vec<u8>,
    pos: usize,
}

impl Chunks {
    /// Made on the runtime (it keeps its handle for the reading thread).
    pub fn new(state: &App, org: Uuid, import: Uuid) -> Self {
        Chunks {
            state: state.clone(),
            handle: tokio::runtime::Handle::current(),
            org,
            import,
            next: 0,
            current: Vec::new(),
            pos: 0,
        }
    }

    async fn fetch(state: &App, org: Uuid, import: Uuid, seq: i32) -> Result<Option<Vec<u8>>, sqlx::Error> {
        let mut conn = state.db.read().await?;
        run!(conn.exec(), c => sqlx::query_scalar(
            "SELECT data FROM import_chunks WHERE organization_id = $1 AND import_id = $2 AND seq = $3",
        )
        .bind(org)
        .bind(import)
        .bind(seq)
        .fetch_optional(c)
        .await)
    }
}

impl Read for Chunks {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.current.len() {
            let fetched = self
                .handle
                .block_on(Self::fetch(&self.state, self.org, self.import, self.next))
                .map_err(std::io::Error::other)?;
            match fetched {
                None => return Ok(0),
                Some(chunk) => {
                    self.current = chunk;
                    self.pos = 0;
                    self.next += 1;
                }
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
