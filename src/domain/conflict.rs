//! Sync conflicts in staff's words: what the cloud refused and what to do about it. The
//! cloud's reason codes are machine-readable; a stall worker needs a sentence and a next step.

/// How the Sync screen states one conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// What happened, in one line.
    pub title: String,
    /// What staff should do, ending with how to clear it.
    pub advice: String,
}

const CLEAR: &str = "Then tap Dealt with.";

/// Explains a refused event from its kind (`sale.completed`…) and the cloud's reason code.
/// The cloud's own message (naming the piece and the other stall or sale) is shown as well.
pub fn explain(kind: &str, reason: &str) -> Explained {
    let what = match kind {
        "sale.completed" => "A sale made here",
        "reservation.created" | "reservation.collected" => "A reservation made here",
        "reservation.refused" => "An online reservation",
        _ => "A change made here",
    };
    let (title, advice) = match (kind, reason) {
        ("sale.completed", "piece_sold_elsewhere") => (
            format!("{what} was refused: the piece was sold elsewhere first"),
            "The piece was sold twice while this stall was offline. Keep the customer's receipt and call the \
             atelier: they arrange a refund or another piece with the customer.",
        ),
        (_, "piece_allocated_elsewhere") => (
            format!("{what} was refused: the piece belongs to another stall"),
            "The atelier had allocated this piece to another stall. Call the atelier: they move it to this \
             stall or arrange its return.",
        ),
        ("reservation.refused", _) => (
            format!("{what} could not be kept at this stall"),
            "The atelier has been told. If the customer comes to collect, apologise and call the atelier \
             with them.",
        ),
        (_, "event_changed") => (
            format!("{what} reached the cloud twice, with different details"),
            "The cloud keeps the version it received first; this kiosk keeps its own. Call the atelier and read \
             them the details below, so they can tell which is right.",
        ),
        (_, "malformed") => (
            format!("{what} could not be read by the cloud"),
            "Nothing is lost: it is kept on this kiosk. Tell support the time shown below.",
        ),
        _ => (format!("{what} was refused by the cloud"), "Call the atelier and read them the details below."),
    };
    Explained { title, advice: format!("{advice} {CLEAR}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_gets_its_own_words_and_a_way_to_clear_it() {
        let sold = explain("sale.completed", "piece_sold_elsewhere");
        let away = explain("sale.completed", "piece_allocated_elsewhere");
        let online = explain("reservation.refused", "piece_unavailable");
        let unknown = explain("hold.created", "quota_exceeded");
        let changed = explain("sale.completed", "event_changed");
        let titles = [&sold.title, &away.title, &online.title, &unknown.title, &changed.title];
        for (i, a) in titles.iter().enumerate() {
            assert!(titles[i + 1..].iter().all(|b| a != b), "{a} is said twice");
        }
        assert!(sold.title.contains("sold elsewhere") && sold.advice.contains("refund"));
        assert!(away.title.contains("another stall"));
        assert!(online.title.starts_with("An online reservation"));
        assert!(unknown.title.contains("refused") && unknown.advice.contains("atelier"));
        assert!(changed.title.contains("different details") && changed.advice.contains("first"));
        assert!([sold, away, online, unknown, changed].iter().all(|e| e.advice.ends_with("Then tap Dealt with.")));
    }
}
