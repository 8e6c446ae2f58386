//! Real-time status (`DLE EOT n`) answers, as Epson-compatible printers send them.
//!
//! Each answer is one byte whose bits 1 and 4 are always 1 and bits 0 and 7 always 0;
//! anything else is line noise or a printer that does not implement the command.

use crate::PrinterStatus;

/// `DLE EOT n`: 1 printer status, 2 offline cause, 4 paper roll sensor.
pub fn query(n: u8) -> [u8; 3] {
    [0x10, 0x04, n]
}

/// Whether a byte has the fixed bits of a real-time status answer.
pub fn is_status_byte(b: u8) -> bool {
    b & 0b1001_0011 == 0b0001_0010
}

/// Whether a byte can be the answer to `GS r 1` (paper sensor status): bits 4 and 7 are
/// always 0 there, so it can never be mistaken for a `DLE EOT n` answer, nor the reverse.
pub fn is_gs_r_answer(b: u8) -> bool {
    b & 0b1001_0000 == 0
}

/// The three answers a status check collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusBytes {
    pub printer: u8,
    pub offline_cause: u8,
    pub paper: u8,
}

impl StatusBytes {
    /// Whether the three answers can come from one printer at one moment. A lid that is
    /// open, paper that stopped the printer or an error all take it offline, so an offline
    /// cause with the offline bit clear means an answer was read for the wrong question
    /// (a late byte from an earlier one): ask again rather than believe it.
    pub fn consistent(&self) -> bool {
        let offline = self.printer & 0x08 != 0;
        let stopping_cause = self.offline_cause & 0b0110_0100 != 0;
        offline || !stopping_cause
    }

    /// What staff need to know, most urgent first.
    pub fn status(&self) -> PrinterStatus {
        let all = [self.printer, self.offline_cause, self.paper];
        if !all.iter().all(|b| is_status_byte(*b)) {
            return PrinterStatus::Error(format!("unexpected status bytes {all:02x?}"));
        }
        let bit = |b: u8, n: u8| b & (1 << n) != 0;
        if bit(self.offline_cause, 2) {
            PrinterStatus::CoverOpen
        } else if bit(self.offline_cause, 5) || bit(self.paper, 5) || bit(self.paper, 6) {
            PrinterStatus::PaperOut
        } else if bit(self.offline_cause, 6) {
            PrinterStatus::Error("the printer reports an error: switch it off and on".into())
        } else if bit(self.printer, 3) {
            PrinterStatus::Error("the printer is offline".into())
        } else if bit(self.paper, 2) || bit(self.paper, 3) {
            PrinterStatus::PaperLow
        } else {
            PrinterStatus::Ready
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: u8 = 0x12;

    #[test]
    fn status_bytes_map_to_what_staff_must_do() {
        let s = |printer, offline_cause, paper| StatusBytes { printer, offline_cause, paper }.status();
        assert_eq!(s(OK, OK, OK), PrinterStatus::Ready);
        assert_eq!(s(OK, OK, OK | 0x0c), PrinterStatus::PaperLow);
        assert_eq!(s(OK | 0x08, OK | 0x20, OK | 0x60), PrinterStatus::PaperOut);
        assert_eq!(s(OK | 0x08, OK | 0x04, OK), PrinterStatus::CoverOpen);
        assert!(matches!(s(OK | 0x08, OK | 0x40, OK), PrinterStatus::Error(_)));
        assert!(matches!(s(0xff, OK, OK), PrinterStatus::Error(_)));
    }

    #[test]
    fn answers_read_for_the_wrong_question_are_not_believed() {
        let b = |printer, offline_cause, paper| StatusBytes { printer, offline_cause, paper };
        // The printer's own answer with the drawer bit (0x16) read as the offline cause: the
        // printer says it is online, so the "lid open" bit cannot be true.
        assert!(!b(OK, 0x16, OK).consistent());
        assert!(b(OK | 0x08, 0x16, OK).consistent());
        assert!(b(0x16, OK, OK).consistent(), "an open drawer is not a printer problem");
        assert!(!b(OK, OK | 0x20, OK).consistent());
        assert!(!is_status_byte(0x00) && is_gs_r_answer(0x00) && is_gs_r_answer(0x0c));
        assert!(!is_gs_r_answer(OK) && !is_gs_r_answer(0x16));
    }
}
