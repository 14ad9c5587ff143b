//! CSV import (data.md "CSV import"; issue 15). Built in steps: the file's
//! shape first (encoding, delimiter, column mapping); the upload, the job
//! that applies rows in committed batches, merging and the review queue
//! follow.

pub mod mapping;
