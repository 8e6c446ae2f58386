//! The print queue. A job is written in the same transaction as what it prints (a sale's
//! receipt), so a sale can never exist without its receipt job, and a job moves through
//! queued → printing → printed, or is held by staff ("print later").
//!
//! A job found in `printing` at start-up was cut off mid-way (power cut, crash): it goes
//! back to the queue marked as a reprint, because part of it may already be on paper.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use uuid::Uuid;

use super::{Result, Store, StoreError, from_ms, to_ms};
use crate::domain::printout::Printout;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Printing,
    Printed,
    /// Staff chose "print later": not printed until they release it.
    Held,
}

impl JobState {
    fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "queued" => JobState::Queued,
            "printing" => JobState::Printing,
            "printed" => JobState::Printed,
            "held" => JobState::Held,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PrintJob {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub title: String,
    pub sale_id: Option<Uuid>,
    pub printout: Printout,
    pub state: JobState,
    pub reprint: bool,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub printed_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, created_at, title, sale_id, payload, state, reprint, attempts, last_error, printed_at";

fn job(row: &Row<'_>) -> rusqlite::Result<(PrintJob, String)> {
    let state: String = row.get(5)?;
    let payload: String = row.get(4)?;
    let sale_id: Option<String> = row.get(3)?;
    let job = PrintJob {
        id: row.get(0)?,
        created_at: from_ms(row.get(1)?),
        title: row.get(2)?,
        sale_id: sale_id.and_then(|s| Uuid::parse_str(&s).ok()),
        // Replaced below; parsing errors are reported as store errors, not SQL ones.
        printout: Printout::Test { stall: String::new(), at: DateTime::UNIX_EPOCH },
        state: JobState::parse(&state).unwrap_or(JobState::Held),
        reprint: row.get(6)?,
        attempts: row.get(7)?,
        last_error: row.get(8)?,
        printed_at: row.get::<_, Option<i64>>(9)?.map(from_ms),
    };
    Ok((job, payload))
}

fn with_payload((mut job, payload): (PrintJob, String)) -> Result<PrintJob> {
    job.printout = serde_json::from_str(&payload)
        .map_err(|e| StoreError::Invalid(format!("print job {} has an unreadable payload: {e}", job.id)))?;
    Ok(job)
}

/// Queues `printout` inside an open transaction.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    printout: &Printout,
    sale_id: Option<Uuid>,
    reprint: bool,
    at: DateTime<Utc>,
) -> Result<i64> {
    let payload = serde_json::to_string(printout).map_err(|e| StoreError::Invalid(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO print_jobs(created_at, kind, title, sale_id, payload, reprint) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        to_ms(at),
        printout.kind(),
        printout.title(),
        sale_id.map(|s| s.to_string()),
        payload,
        reprint
    ])?;
    Ok(tx.last_insert_rowid())
}

impl Store {
    /// Queues printouts in one transaction (a drop's stickers go in together or not at all).
    pub fn enqueue_prints(&mut self, printouts: &[Printout], at: DateTime<Utc>) -> Result<Vec<i64>> {
        self.in_transaction(|tx| printouts.iter().map(|p| insert(tx, p, None, false, at)).collect())
    }

    /// Queues a copy of a sale's receipt, marked as a reprint.
    pub fn enqueue_reprint(&mut self, printout: &Printout, sale_id: Uuid, at: DateTime<Utc>) -> Result<i64> {
        self.in_transaction(|tx| insert(tx, printout, Some(sale_id), true, at))
    }

    /// The next job to print: the oldest queued one. A job whose stored content cannot be
    /// read is held with the reason instead of blocking every job behind it.
    pub fn next_print_job(&mut self) -> Result<Option<PrintJob>> {
        loop {
            let row = self
                .conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM print_jobs WHERE state = 'queued' ORDER BY id LIMIT 1"
                ))?
                .query_row([], job)
                .optional()?;
            let Some(row) = row else { return Ok(None) };
            let id = row.0.id;
            match with_payload(row) {
                Ok(job) => return Ok(Some(job)),
                Err(e) => self.hold_print(id, &e.to_string())?,
            }
        }
    }

    pub fn print_job(&self, id: i64) -> Result<Option<PrintJob>> {
        let row = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM print_jobs WHERE id = ?1"))?
            .query_row([id], job)
            .optional()?;
        row.map(with_payload).transpose()
    }

    /// The most recent jobs, newest first, for the printer screen.
    pub fn recent_print_jobs(&self, limit: usize) -> Result<Vec<PrintJob>> {
        let mut stmt =
            self.conn.prepare_cached(&format!("SELECT {COLUMNS} FROM print_jobs ORDER BY id DESC LIMIT ?1"))?;
        let rows = stmt.query_map([limit as i64], job)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(with_payload).collect()
    }

    /// The latest receipt job of a sale.
    pub fn receipt_job(&self, sale_id: Uuid) -> Result<Option<PrintJob>> {
        let row = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM print_jobs WHERE sale_id = ?1 AND kind = 'receipt' ORDER BY id DESC LIMIT 1"
            ))?
            .query_row([sale_id.to_string()], job)
            .optional()?;
        row.map(with_payload).transpose()
    }

    /// Jobs waiting to print (not held, not done).
    pub fn waiting_print_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM print_jobs WHERE state IN ('queued', 'printing')", [], |r| r.get(0))?)
    }

    /// At start-up: jobs cut off mid-print go back to the queue as reprints.
    pub fn recover_interrupted_prints(&mut self) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE print_jobs SET state = 'queued', reprint = 1,
                 last_error = coalesce(last_error, 'interrupted while printing')
             WHERE state = 'printing'",
            [],
        )?)
    }

    /// Claims a queued job for printing; false if staff held it meanwhile. A job left in
    /// `printing` is never claimed again in the same run: it may be on paper already.
    pub fn start_print(&mut self, id: i64) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE print_jobs SET state = 'printing', attempts = attempts + 1
             WHERE id = ?1 AND state = 'queued'",
            [id],
        )? == 1)
    }

    pub fn finish_print(&mut self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE print_jobs SET state = 'printed', printed_at = ?2, last_error = NULL WHERE id = ?1",
            params![id, to_ms(at)],
        )?;
        Ok(())
    }

    /// Puts a job back to wait for the printer. `partly_printed`: some bytes reached the
    /// printer, so the whole job prints again, marked as a reprint; otherwise nothing was
    /// sent and the claim does not count as an attempt (a printer without paper is asked
    /// many times before a job goes out once).
    pub fn requeue_print(&mut self, id: i64, error: &str, partly_printed: bool) -> Result<()> {
        self.conn.execute(
            "UPDATE print_jobs SET state = CASE state WHEN 'printing' THEN 'queued' ELSE state END,
                 last_error = ?2, reprint = reprint OR ?3,
                 attempts = CASE WHEN ?3 OR state != 'printing' THEN attempts ELSE max(attempts - 1, 0) END
             WHERE id = ?1",
            params![id, error, partly_printed],
        )?;
        Ok(())
    }

    /// "Print later": every waiting job is held until staff print it.
    pub fn hold_waiting_prints(&mut self) -> Result<usize> {
        Ok(self.conn.execute("UPDATE print_jobs SET state = 'held' WHERE state = 'queued'", [])?)
    }

    /// Holds one job that cannot print at all (its content does not fit any printer).
    pub fn hold_print(&mut self, id: i64, error: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE print_jobs SET state = 'held', last_error = ?2 WHERE id = ?1 AND state != 'printed'",
            params![id, error],
        )?;
        Ok(())
    }

    /// Holds one job if it has not been claimed by the printer: a job already going out is
    /// left to finish. True if it was held.
    pub fn hold_print_if_queued(&mut self, id: i64, error: &str) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE print_jobs SET state = 'held', last_error = ?2 WHERE id = ?1 AND state = 'queued'",
            params![id, error],
        )? == 1)
    }

    /// Jobs held for staff to look at.
    pub fn held_print_count(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT count(*) FROM print_jobs WHERE state = 'held'", [], |r| r.get(0))?)
    }

    /// A held job goes back to the queue.
    pub fn release_print(&mut self, id: i64) -> Result<bool> {
        Ok(self.conn.execute("UPDATE print_jobs SET state = 'queued' WHERE id = ?1 AND state = 'held'", [id])? == 1)
    }

    /// A new job printing the same content again, marked as a reprint.
    pub fn reprint(&mut self, id: i64, at: DateTime<Utc>) -> Result<i64> {
        let original = self.print_job(id)?.ok_or_else(|| StoreError::NotFound(format!("print job {id}")))?;
        self.in_transaction(|tx| insert(tx, &original.printout, original.sale_id, true, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
        (dir, store)
    }

    fn test_page(n: i64) -> Printout {
        Printout::Test { stall: format!("stall {n}"), at: DateTime::from_timestamp(n, 0).unwrap() }
    }

    #[test]
    fn jobs_print_in_order_and_are_never_lost() {
        let (_dir, mut s) = store();
        let now = Utc::now();
        let ids = s.enqueue_prints(&[test_page(1), test_page(2)], now).unwrap();
        let first = s.next_print_job().unwrap().unwrap();
        assert_eq!((first.id, first.printout.clone(), first.state), (ids[0], test_page(1), JobState::Queued));
        assert!(s.start_print(first.id).unwrap());
        // Paper ran out half-way: back in the queue, whole, as a reprint.
        s.requeue_print(first.id, "Paper out", true).unwrap();
        let again = s.next_print_job().unwrap().unwrap();
        assert_eq!((again.id, again.reprint, again.attempts), (first.id, true, 1));
        assert_eq!(again.last_error.as_deref(), Some("Paper out"));
        assert!(s.start_print(first.id).unwrap());
        s.finish_print(first.id, now).unwrap();
        assert_eq!(s.next_print_job().unwrap().unwrap().id, ids[1]);
        assert_eq!(s.waiting_print_count().unwrap(), 1);
    }

    #[test]
    fn a_claim_that_sent_nothing_is_not_an_attempt() {
        let (_dir, mut s) = store();
        let id = s.enqueue_prints(&[test_page(1)], Utc::now()).unwrap()[0];
        for _ in 0..3 {
            assert!(s.start_print(id).unwrap());
            s.requeue_print(id, "Paper out", false).unwrap();
        }
        let job = s.print_job(id).unwrap().unwrap();
        assert_eq!((job.attempts, job.reprint, job.state), (0, false, JobState::Queued));
        assert!(s.start_print(id).unwrap());
        assert!(!s.hold_print_if_queued(id, "test page timed out").unwrap(), "a job going out is left alone");
        s.requeue_print(id, "Paper out", true).unwrap();
        assert_eq!(s.print_job(id).unwrap().unwrap().attempts, 1);
        assert!(s.hold_print_if_queued(id, "test page timed out").unwrap());
        assert_eq!(s.held_print_count().unwrap(), 1);
    }

    #[test]
    fn a_job_cut_off_by_a_crash_comes_back_as_a_reprint() {
        let (dir, mut s) = store();
        let id = s.enqueue_prints(&[test_page(1)], Utc::now()).unwrap()[0];
        s.start_print(id).unwrap();
        drop(s);
        let mut s = Store::open(&dir.path().join("s.sqlite")).unwrap();
        assert_eq!(s.recover_interrupted_prints().unwrap(), 1);
        let job = s.print_job(id).unwrap().unwrap();
        assert_eq!((job.state, job.reprint), (JobState::Queued, true));
    }

    #[test]
    fn a_job_left_printing_is_not_printed_again_until_a_restart_marks_it_reprint() {
        let (_dir, mut s) = store();
        let id = s.enqueue_prints(&[test_page(1)], Utc::now()).unwrap()[0];
        assert!(s.start_print(id).unwrap());
        // Printed, but recording it failed: it must not come round again unmarked.
        assert!(s.next_print_job().unwrap().is_none());
        assert!(!s.start_print(id).unwrap());
    }

    #[test]
    fn an_unreadable_job_is_held_and_the_queue_moves_on() {
        let (_dir, mut s) = store();
        let ids = s.enqueue_prints(&[test_page(1), test_page(2)], Utc::now()).unwrap();
        s.conn.execute("UPDATE print_jobs SET payload = '{\"kind\":\"mystery\"}' WHERE id = ?1", [ids[0]]).unwrap();
        assert_eq!(s.next_print_job().unwrap().unwrap().id, ids[1]);
        let (state, error): (String, String) = s
            .conn
            .query_row("SELECT state, last_error FROM print_jobs WHERE id = ?1", [ids[0]], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(state, "held");
        assert!(error.contains("unreadable"), "{error}");
    }

    #[test]
    fn held_jobs_wait_for_staff_and_cannot_be_claimed() {
        let (_dir, mut s) = store();
        let id = s.enqueue_prints(&[test_page(1)], Utc::now()).unwrap()[0];
        assert_eq!(s.hold_waiting_prints().unwrap(), 1);
        assert!(s.next_print_job().unwrap().is_none());
        assert!(!s.start_print(id).unwrap(), "a held job must not print");
        assert!(s.release_print(id).unwrap());
        assert_eq!(s.next_print_job().unwrap().unwrap().id, id);
        let copy = s.reprint(id, Utc::now()).unwrap();
        let copy = s.print_job(copy).unwrap().unwrap();
        assert!(copy.reprint);
        assert_eq!(copy.printout, test_page(1));
        assert_eq!(s.recent_print_jobs(10).unwrap().len(), 2);
    }
}
